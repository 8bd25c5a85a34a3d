"""The data a comparison forecasts: the series, its transform and its leak-free split.

:func:`prepare` loads ``config.dataset`` (a shipped data set) or ``config.csv`` (your own file,
through ``rnnax.data.from_csv``), log-transforms it when strictly positive, scales it on the
training segment only and cuts chronological windows (:class:`Prepared`); the window sizes
default per data set (``rnnax.compare._config.DATASET_WINDOWS``; for any other series from its
period). :func:`check_data` prepares every data set a config names, so a series too short for
its windows is an error before anything runs.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from rnnax import data
from rnnax.compare._config import DATASET_WINDOWS, CompareConfig, per_dataset


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


def windows_for(
    series: data.Series, lookback: int | None, horizon: int | None, *, shipped: bool = True
) -> tuple[int, int]:
    """``(lookback, horizon)``: the ones given, else the shipped data set's
    (``DATASET_WINDOWS``; ``shipped=False`` for your own file, even one named like a shipped
    data set), else horizon = period (5 without seasonality) and lookback = twice the larger
    of the two."""
    known = DATASET_WINDOWS.get(series.name) if shipped else None
    default_lookback, default_horizon = known or (None, None)
    if horizon is None:
        horizon = default_horizon or (series.period if series.period > 1 else 5)
    if lookback is None:
        lookback = default_lookback or 2 * max(series.period, horizon)
    return lookback, horizon


def load_series(config: CompareConfig) -> data.Series:
    """The one series ``config`` compares on: the shipped data set, or the CSV file's value
    column (``config.column``, default the first).

    Raises:
        ValueError: the CSV file is missing, unreadable or not a series (the message names the
            file, and the column and line where ``rnnax.data.from_csv`` found the problem).
    """
    if config.csv is None:
        return data.load(config.data_name)
    path = config.csv
    if os.path.isdir(path):
        raise ValueError(f"csv: {path!r} is a folder, not a CSV file")
    if not os.path.isfile(path):
        raise ValueError(f"csv: no such file {path!r}")
    read = functools.partial(data.from_csv, path, time_column=config.time_column)
    try:
        series = read(column=config.column, period=config.period)
        if series.values.ndim == 2:  # several value columns: the first, read as the only one
            series = read(column=series.columns[0], period=config.period)
    except OSError as error:
        raise ValueError(f"csv: cannot read {path!r} ({error.strerror or error})") from None
    return series


def needed_length(lookback: int, horizon: int) -> int:
    """The fewest steps from which on a series is long enough for ``lookback`` and
    ``horizon``: a training window beside validation and test segments of
    ``max(2 * horizon, 15%)`` steps each.

    Examples:
        >>> needed_length(24, 12)
        84
    """

    def fits(length: int) -> bool:
        return length - 2 * _segment(length, horizon) >= lookback + horizon

    # Every length from here on fits: 15% rounds to at most 0.15 * length + 0.5 steps.
    length = max(lookback + 5 * horizon, math.ceil((lookback + horizon + 1) / 0.7))
    while fits(length - 1):
        length -= 1
    return length


def _segment(length: int, horizon: int) -> int:
    """Steps of the validation segment, and of the test segment, of a series of ``length``."""
    return max(2 * horizon, round(0.15 * length))


def prepare(config: CompareConfig) -> Prepared:
    """Loads the series (:func:`load_series`), log-transforms it when strictly positive, scales
    it on the training segment only and cuts leak-free windows; validation and test each take
    the larger of ``2 * horizon`` steps and 15% of the series.

    Raises:
        ValueError: the series is too short for the windows (the message names the data set
            or the file, its length and the length needed), or the CSV file cannot be read.
    """
    series = load_series(config)
    values = np.asarray(series.values, np.float64)
    lookback, horizon = windows_for(
        series, config.lookback, config.horizon, shipped=config.csv is None
    )
    length = values.shape[0]
    segment = _segment(length, horizon)
    if length - 2 * segment < lookback + horizon:
        what = f"CSV file {config.csv!r}" if config.csv else f"data set {series.name!r}"
        raise ValueError(
            f"{what} has {length} steps: too short for lookback={lookback} and "
            f"horizon={horizon} with validation and test segments of {segment} steps each "
            f"(it needs at least {needed_length(lookback, horizon)} steps); use a smaller "
            "--lookback or --horizon" + (" (or --period)" if config.csv else "")
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


def check_data(config: CompareConfig) -> None:
    """Prepares every data set ``config`` names (each shipped one for ``dataset="all"``), so
    a series too short for the windows, or a CSV file that cannot be read, is an error before
    the comparison starts.

    Raises:
        ValueError: as :func:`prepare`.
    """
    for one in per_dataset(config):
        prepare(one)
