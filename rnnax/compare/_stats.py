"""JSON-safe numbers for the reports: a mean and its 95% t-interval half-width over seeds
(``rnnax._statistics.mean_interval``), and floats that JSON can hold."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from rnnax._statistics import mean_interval


def mean_ci(values: Iterable[float]) -> list[float | None]:
    """``[mean, ci95_halfwidth]`` over seeds, each to 6 digits; the half-width is ``None`` for a
    single seed, and either is ``None`` where it is not finite (a diverged seed).

    Examples:
        >>> mean_ci([1.0, 2.0, 3.0])
        [2.0, 2.484138]
        >>> mean_ci([4.0])
        [4.0, None]
    """
    array = np.asarray(list(values), dtype=np.float64)
    mean = float(np.mean(array))
    if array.size < 2 or not np.isfinite(array).all():
        return [finite(round(mean, 6)), None]
    interval = mean_interval(array)
    return [finite(round(mean, 6)), finite(round(interval.high - interval.estimate, 6))]


def finite(value: float | None) -> float | None:
    """``value`` as a float, or ``None`` if it is missing, NaN or infinite (JSON has no NaN)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
