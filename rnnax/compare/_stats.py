"""Small statistics helpers: mean and 95% t-interval over seeds, JSON-safe floats."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

# Two-sided 95% quantiles of Student's t, t_{0.975, df}, for df = 1..30 (beyond: 1.96).
_T975 = (
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
)


def t975(df: int) -> float:
    """The 0.975 quantile of Student's t with ``df`` degrees of freedom (normal beyond 30)."""
    if df < 1:
        raise ValueError(f"df must be >= 1, got {df}")
    return _T975[df - 1] if df <= len(_T975) else 1.96


def mean_ci(values: Iterable[float]) -> list[float | None]:
    """``[mean, ci95_halfwidth]`` over seeds; the half-width is ``None`` for a single seed.

    Examples:
        >>> mean_ci([1.0, 2.0, 3.0])
        [2.0, 2.484338]
    """
    array = np.asarray(list(values), dtype=np.float64)
    mean = float(np.mean(array))
    if array.size < 2:
        return [finite(mean), None]
    half = t975(array.size - 1) * float(np.std(array, ddof=1)) / math.sqrt(array.size)
    return [finite(round(mean, 6)), finite(round(half, 6))]


def finite(value: float | None) -> float | None:
    """``value`` as a float, or ``None`` if it is missing, NaN or infinite (JSON has no NaN)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def overlap(a: Sequence[float | None], b: Sequence[float | None]) -> bool:
    """Whether two ``[mean, half-width]`` intervals overlap (a missing half-width counts as 0)."""
    (ma, ha), (mb, hb) = a, b
    if ma is None or mb is None:
        return False
    return abs(ma - mb) <= (ha or 0.0) + (hb or 0.0)
