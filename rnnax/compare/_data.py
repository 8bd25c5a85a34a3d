"""The data a comparison forecasts: the shipped series, its transform and its leak-free split.

:func:`prepare` loads ``config.dataset``, log-transforms it when strictly positive, scales it on
the training segment only and cuts chronological windows (:class:`Prepared`); the window sizes
default per data set (``rnnax.compare._config.DATASET_WINDOWS``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from rnnax import data
from rnnax.compare._config import DATASET_WINDOWS, CompareConfig


class _Inverse:
    """Model units -> original units: undo the standard scaling, then the log if one was taken.

    Hashable by value, so ``forecasting.backtest`` compiles once for every seed and model.
    """

    def __init__(self, center: float, scale: float, log: bool) -> None:
        self.center, self.scale, self.log = float(center), float(scale), bool(log)

    def __call__(self, values: Any) -> Any:
        xp = jnp if isinstance(values, jax.Array) else np
        dtype = values.dtype
        out = values * xp.asarray(self.scale, dtype) + xp.asarray(self.center, dtype)
        return xp.exp(out) if self.log else out

    def __hash__(self) -> int:
        return hash((self.center, self.scale, self.log))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Inverse) and (self.center, self.scale, self.log) == (
            other.center,
            other.scale,
            other.log,
        )


@dataclasses.dataclass
class Prepared:
    """The data set, its transform and its chronological split."""

    series: data.Series
    lookback: int
    horizon: int
    log: bool
    scaled: np.ndarray  # float32 [T], model units
    split: data.Split
    inverse: _Inverse


def windows_for(series: data.Series, lookback: int | None, horizon: int | None) -> tuple[int, int]:
    default_lookback, default_horizon = DATASET_WINDOWS.get(series.name, (None, None))
    if horizon is None:
        horizon = default_horizon or (series.period if series.period > 1 else 5)
    if lookback is None:
        lookback = default_lookback or 2 * max(series.period, horizon)
    return lookback, horizon


def prepare(config: CompareConfig) -> Prepared:
    """Loads the data set (or the CSV file, ``config.csv``), log-transforms it when strictly positive, scales it on the training
    segment only and cuts leak-free windows; validation and test each take the larger of
    ``2 * horizon`` steps and 15% of the series."""
    series = (
        data.load(config.dataset)
        if config.csv is None
        else data.from_csv(
            config.csv,
            column=config.column,
            time_column=config.time_column,
            period=config.period,
        )
    )
    values = np.asarray(series.values, np.float64)
    if values.ndim != 1:
        values = values[:, 0]
    lookback, horizon = windows_for(series, config.lookback, config.horizon)
    length = values.shape[0]
    segment = max(2 * horizon, round(0.15 * length))
    if length - 2 * segment < lookback + horizon:
        raise ValueError(
            f"{'CSV file' if config.csv else 'data set'} {series.name!r} has {length} steps: too short for lookback={lookback} and "
            f"horizon={horizon} with validation and test segments of {segment} steps each; use a "
            "smaller --lookback or --horizon"
        )
    log = bool(np.all(values > 0))
    transformed = np.log(values) if log else values
    points = data.split_points(length, validation=segment, test=segment)
    scaler = data.fit_standard_scaler(transformed[: points.train_end])
    scaled = np.asarray(data.transform(scaler, transformed), np.float32)
    split = data.chronological_split(
        scaled, lookback, horizon, validation=segment, test=segment, name=series.name
    )
    inverse = _Inverse(float(scaler.center), float(scaler.scale), log)
    return Prepared(
        series=series,
        lookback=lookback,
        horizon=horizon,
        log=log,
        scaled=scaled,
        split=split,
        inverse=inverse,
    )
