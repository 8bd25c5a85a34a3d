"""The forecast after a series' end: point, interval at a stated level, and its time stamps.

A :class:`FittedModel` is what a forecast needs (the forecaster, its parameters, the
:class:`~rnnax.pipeline._transform.Transform`, the lookback and the interval: the head's own
for a probabilistic forecaster, a split-conformal one from validation residuals for a point
forecaster). :func:`forecast_after` forecasts the ``horizon`` steps after the last one of a
history as a :class:`FutureForecast`; a run that trains and a run that loads the saved model
both forecast through it, so their numbers are the same.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np

from rnnax import forecasting
from rnnax.pipeline._transform import Transform


class FutureForecast(NamedTuple):
    """The forecast of the ``horizon`` steps after a series' end, in the data's units.

    Attributes:
        timestamps: ``[horizon]`` time stamps continuing the series' (the same dtype).
        point: ``float64 [horizon, K]`` point forecasts, one column per target.
        lower: ``float64 [horizon, K]`` lower ends of the central interval, or ``None``.
        upper: ``float64 [horizon, K]`` upper ends, or ``None``.
        level: the interval's nominal coverage (``0.8`` for 80%), or ``None``.
        columns: the ``K`` target column names.
    """

    timestamps: np.ndarray
    point: np.ndarray
    lower: np.ndarray | None
    upper: np.ndarray | None
    level: float | None
    columns: tuple[str, ...]


class FittedModel(NamedTuple):
    """A trained forecaster with everything a forecast in the data's units needs.

    Attributes:
        config: the forecaster's configuration.
        params: its parameters.
        transform: data units <-> model units.
        lookback: the steps it reads before each origin.
        level: the nominal coverage of its intervals.
        halfwidth: ``float64 [horizon, K]`` split-conformal half-widths in model units for a
            point forecaster (``None`` for a probabilistic one, or a point forecaster without
            intervals).
    """

    config: forecasting.ForecasterConfig
    params: forecasting.ForecasterParams
    transform: Transform
    lookback: int
    level: float
    halfwidth: np.ndarray | None


def future_timestamps(timestamps: np.ndarray, horizon: int) -> np.ndarray:
    """The ``horizon`` time stamps after ``timestamps``, one step of the series apart.

    The step is the series' smallest step (a month for monthly data, whatever the unit):
    a series read by ``rnnax.data.from_csv`` lies on a regular grid.

    Examples:
        >>> stamps = np.array(["2024-10", "2024-11", "2024-12"], dtype="datetime64[M]")
        >>> future_timestamps(stamps, 2).astype(str).tolist()
        ['2025-01', '2025-02']
        >>> future_timestamps(np.arange(5), 3).tolist()
        [5, 6, 7]
    """
    step = np.diff(timestamps).min() if timestamps.size > 1 else np.ones((), int)
    return timestamps[-1] + step * np.arange(1, horizon + 1)


def _point_and_band(
    model: FittedModel, inputs: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Point forecasts and interval bounds in model units (float64) for ``inputs [..., L, K]``."""
    forecaster = forecasting.forecaster(model.config)
    forecast = forecaster.apply(model.params, jnp.asarray(inputs, jnp.float32))
    point = np.asarray(forecasting.point_forecast(forecast), np.float64)
    if model.config.likelihood != "point":
        low, high = forecasting.interval(forecast, model.level)
        return point, np.asarray(low, np.float64), np.asarray(high, np.float64)
    if model.halfwidth is None:
        return point, None, None
    return point, point - model.halfwidth, point + model.halfwidth


def forecast_after(
    model: FittedModel, values: np.ndarray, timestamps: np.ndarray, columns: tuple[str, ...]
) -> FutureForecast:
    """Forecasts the ``horizon`` steps after the last of ``values [T, K]`` (data units).

    The model reads the last ``lookback`` steps; its forecast and interval are mapped back to
    the data's units.
    """
    inputs = model.transform.to_model(values[-model.lookback :])
    point, low, high = _point_and_band(model, inputs)
    to_units = model.transform
    banded = low is not None and high is not None
    return FutureForecast(
        timestamps=future_timestamps(timestamps, model.config.horizon),
        point=to_units(point),
        lower=to_units(low) if banded else None,
        upper=to_units(high) if banded else None,
        level=model.level if banded else None,
        columns=columns,
    )


def conformal_halfwidth(
    config: forecasting.ForecasterConfig, params: Any, windows: Any, level: float
) -> np.ndarray:
    """Split-conformal half-widths ``[horizon, K]`` of a point forecaster, in model units.

    Per horizon step and target: the ``level`` quantile (the next observed value above it) of
    the absolute errors on ``windows`` (the validation windows, unseen by the optimizer).
    """
    forecast = forecasting.forecaster(config).apply(params, jnp.asarray(windows.inputs))
    errors = np.abs(np.asarray(windows.targets, np.float64) - np.asarray(forecast, np.float64))
    return np.quantile(errors, level, axis=0, method="higher")


def backtest_band(
    model: FittedModel, result: forecasting.BacktestResult
) -> tuple[Any, Any] | tuple[None, None]:
    """The backtest forecasts' interval bounds in the data's units: the backtest's own for a
    probabilistic forecaster, the conformal band around its point forecasts for a point one."""
    if result.lower is not None or model.halfwidth is None:
        return result.lower, result.upper
    centre = model.transform.to_model(np.asarray(result.forecasts["model"]))
    return (
        model.transform(centre - model.halfwidth),
        model.transform(centre + model.halfwidth),
    )
