"""The forecasting problem a series poses: window sizes, transform and leak-free split.

:func:`prepare` turns a :class:`rnnax.data.Series` and a horizon into a :class:`Problem`: the
lookback (twice the larger of the seasonal period and the horizon, as ``rnnax compare`` does),
validation and test segments (each the larger of ``2 * horizon`` steps and 15% of the series),
the :class:`~rnnax.pipeline._transform.Transform` fitted on the training segment only, and the
chronological windows of each segment. Every value column is a target.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from rnnax import data
from rnnax.pipeline._transform import Transform, fit_transform


@dataclasses.dataclass(frozen=True)
class Problem:
    """A series ready to train on: its windows, segments and transform.

    Attributes:
        series: the series as read.
        values: ``float64 [T, K]``, the value columns in the data's units.
        columns: the ``K`` value column names (the targets).
        horizon: steps forecast from each origin.
        lookback: steps the model reads before each origin.
        transform: data units <-> model units, fitted on the training segment.
        scaled: ``float32 [T, K]``, ``values`` in model units.
        split: the chronological train, validation and test windows.
    """

    series: data.Series
    values: np.ndarray
    columns: tuple[str, ...]
    horizon: int
    lookback: int
    transform: Transform
    scaled: np.ndarray
    split: data.Split


def default_lookback(period: int, horizon: int) -> int:
    """Twice the larger of the seasonal period and the horizon: two seasons, or two horizons.

    Examples:
        >>> default_lookback(12, 6), default_lookback(1, 5)
        (24, 10)
    """
    return 2 * max(period, horizon)


def segment_size(length: int, horizon: int) -> int:
    """Steps of the validation segment and of the test segment: the larger of two horizons and
    15% of the series.

    Examples:
        >>> segment_size(150, 12), segment_size(1000, 12)
        (24, 150)
    """
    return max(2 * horizon, round(0.15 * length))


def series_values(series: data.Series) -> np.ndarray:
    """The series' values as ``float64 [T, K]``."""
    return np.asarray(series.values, np.float64).reshape(len(series), -1)


def column_names(series: data.Series) -> tuple[str, ...]:
    """The value column names (the series' name for a series without them)."""
    width = series_values(series).shape[1]
    if len(series.columns) == width:
        return tuple(series.columns)
    return (series.name,) if width == 1 else tuple(f"{series.name}_{k}" for k in range(width))


def prepare(series: data.Series, horizon: int, lookback: int | None) -> Problem:
    """Windows, segments and the transform of ``series`` for a ``horizon``-step forecast.

    Args:
        series: the series (from ``rnnax.data.from_csv``).
        horizon: steps to forecast (>= 1, checked by the caller).
        lookback: steps the model reads, or ``None`` for :func:`default_lookback`.

    Raises:
        ValueError: if the series is too short for the validation and test segments and a
            training segment of a whole window and more than one season.
    """
    values = series_values(series)
    length = values.shape[0]
    lookback = default_lookback(series.period, horizon) if lookback is None else lookback
    segment = segment_size(length, horizon)
    # The training segment holds a whole window and, for the seasonal-naive baseline's scale,
    # more than one season.
    needed = 2 * segment + max(lookback + horizon, series.period + 1)
    if length < needed:
        raise ValueError(
            f"series {series.name!r} has {length} time steps: too short for lookback={lookback} "
            f"and horizon={horizon} (period {series.period}) with validation and test segments "
            f"of {segment} steps each (it needs at least {needed}); use a smaller horizon or "
            "lookback"
        )
    points = data.split_points(length, validation=segment, test=segment)
    transform = fit_transform(values, points.train_end)
    scaled = transform.to_model(values).astype(np.float32)
    split = data.chronological_split(
        scaled, lookback, horizon, validation=segment, test=segment, name=series.name
    )
    return Problem(
        series=series,
        values=values,
        columns=column_names(series),
        horizon=horizon,
        lookback=lookback,
        transform=transform,
        scaled=scaled,
        split=split,
    )
