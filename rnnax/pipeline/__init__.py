"""``rnnax forecast``: the one-call forecasting pipeline on your own CSV file.

:func:`forecast_csv` reads a CSV (``rnnax.data.from_csv``), splits it in time, scales it on
the training part only, trains a forecaster with early stopping on the validation part,
backtests it on the held-out tail beside the naive and seasonal-naive baselines, forecasts the
steps after the series' end with an interval, and writes ``forecast.csv``, ``backtest.json``,
``backtest.md``, ``forecast.png`` (with matplotlib) and the saved model ``model.rnnax``.
:func:`forecast_from_model` forecasts with a saved model, without training. Both return a
:class:`ForecastRun`. The command line is ``rnnax forecast`` (``rnnax forecast --help``).

Importing this package starts no JAX: its names are loaded on first use, so the command line's
help (``rnnax.pipeline._options``) answers at once.

Examples:
    >>> from rnnax import pipeline
    >>> pipeline.DEFAULT_LEVEL
    0.8
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rnnax._lazy import lazy_attributes

if TYPE_CHECKING:
    from rnnax.pipeline._future import FutureForecast
    from rnnax.pipeline._options import DEFAULT_LEVEL, LIKELIHOODS
    from rnnax.pipeline._run import ForecastRun, forecast_csv, forecast_from_model

__all__ = [
    "DEFAULT_LEVEL",
    "LIKELIHOODS",
    "ForecastRun",
    "FutureForecast",
    "forecast_csv",
    "forecast_from_model",
]

# Where each public name lives, imported on first use.
_LAZY = {
    "DEFAULT_LEVEL": "rnnax.pipeline._options",
    "LIKELIHOODS": "rnnax.pipeline._options",
    "FutureForecast": "rnnax.pipeline._future",
    "ForecastRun": "rnnax.pipeline._run",
    "forecast_csv": "rnnax.pipeline._run",
    "forecast_from_model": "rnnax.pipeline._run",
}


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, __all__)
