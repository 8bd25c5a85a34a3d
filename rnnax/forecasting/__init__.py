"""Recurrent forecasters for rnnax: direct or autoregressive, point or probabilistic (Gaussian,
Student's t, quantiles), and rolling backtests.

Everything is a pure function over NamedTuple parameters, bundled optax-style:

* :class:`ForecasterConfig`: frozen, validated configuration (cell, size, strategy, head).
* :func:`forecaster` bundles :func:`init`, :func:`apply` and :func:`loss` with the config
  bound, as a :class:`Forecaster`.
* :func:`interval`, :func:`quantiles` and :func:`point_forecast` read a probabilistic forecast:
  :class:`GaussianForecast`, :class:`StudentTForecast` or :class:`QuantileForecast`.
* :func:`backtest` scores a fitted forecaster at many rolling origins (:func:`rolling_origins`)
  in one compiled call, beside the naive and seasonal-naive baselines;
  :func:`backtest_panel` does it for every series of a (ragged) panel, with per-series
  and pooled scores (:class:`PanelBacktestResult`).
* :func:`save` writes a trained forecaster (config, parameters, scaler, column names) to one
  self-checking file; :func:`load` reads it back in any process as a
  :class:`SavedForecaster`.

Train with :func:`rnnax.training.fit`.

Examples:
    >>> import jax, jax.numpy as jnp
    >>> from rnnax import forecasting
    >>> model = forecasting.forecaster(
    ...     forecasting.ForecasterConfig(horizon=12, cell="gru", hidden=4, likelihood="gaussian"))
    >>> params = model.init(jax.random.key(0))
    >>> forecast = model.apply(params, jnp.zeros((8, 24, 1)))
    >>> lower, upper = forecasting.interval(forecast, level=0.9)
    >>> forecast.mean.shape, bool((lower < upper).all())
    ((8, 12, 1), True)
"""

from rnnax.forecasting._backtest import BacktestResult, backtest, rolling_origins
from rnnax.forecasting._config import ForecasterConfig
from rnnax.forecasting._model import (
    DenseParams,
    Forecast,
    ForecastBatch,
    Forecaster,
    ForecasterParams,
    GaussianForecast,
    QuantileForecast,
    StudentTForecast,
    apply,
    forecaster,
    init,
    interval,
    loss,
    point_forecast,
    quantiles,
)
from rnnax.forecasting._panel import PanelBacktestResult, backtest_panel
from rnnax.forecasting._saved import SavedForecaster, load, save

__all__ = [
    "BacktestResult",
    "DenseParams",
    "Forecast",
    "ForecastBatch",
    "Forecaster",
    "ForecasterConfig",
    "ForecasterParams",
    "GaussianForecast",
    "PanelBacktestResult",
    "QuantileForecast",
    "SavedForecaster",
    "StudentTForecast",
    "apply",
    "backtest",
    "backtest_panel",
    "forecaster",
    "init",
    "interval",
    "load",
    "loss",
    "point_forecast",
    "quantiles",
    "rolling_origins",
    "save",
]
