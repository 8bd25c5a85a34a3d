"""Honest statistics for comparing two models over seeds or repeated measurements: intervals
for a mean, a paired difference and a paired ratio, and the verdicts they support.

Everything here runs on the host with NumPy and SciPy (a handful of numbers per claim, no JAX).
The rules:

* **Paired.** Two models trained with the same seeds (or timed in the same interleaved rounds)
  are compared through the per-seed differences ``a - b`` (or log-ratios), which removes the
  variation the seeds share.
* **Interval, not mean.** A difference is "lower" or "higher" only when its whole confidence
  interval lies on one side of zero, and a value "beats" a reference only when the interval's
  upper bound is below it.
* **Similar means equivalent.** Two models are "similar" only when the interval of their
  difference lies inside ``[-margin, margin]`` (the two one-sided tests' rule); overlapping
  intervals, or a difference that is merely not significant, are "inconclusive".

Examples:
    >>> lstm = [0.81, 0.78, 0.85, 0.80, 0.83]
    >>> gru = [0.72, 0.70, 0.79, 0.71, 0.74]
    >>> difference = paired_difference(lstm, gru)
    >>> round(difference.estimate, 3), difference.low > 0
    (0.082, True)
    >>> verdict(difference, margin=0.02)
    'higher'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal, NamedTuple

import numpy as np
from scipy import stats

from rnnax._checks import check_choice, check_int, check_real

Method = Literal["t", "bootstrap"]
Verdict = Literal["lower", "higher", "similar", "inconclusive"]


class Interval(NamedTuple):
    """A point estimate with its two-sided confidence interval.

    Attributes:
        estimate: the mean (of the values, of the paired differences, or the geometric mean of
            the paired ratios).
        low: the interval's lower end.
        high: the interval's upper end.
        level: its confidence level, e.g. 0.95.
        n: how many values or pairs it rests on.
        method: ``"t"`` (Student's t on the values) or ``"bootstrap"`` (percentile bootstrap).
    """

    estimate: float
    low: float
    high: float
    level: float
    n: int
    method: str

    def as_dict(self) -> dict[str, float | int | str]:
        """The interval as plain JSON-able values."""
        return self._asdict()


def _values(name: str, values: Sequence[float] | np.ndarray) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size < 2:
        raise ValueError(
            f"{name} must be a 1-D sequence of at least 2 numbers, got shape {array.shape}"
        )
    if not np.isfinite(array).all():
        raise ValueError(
            f"{name} has non-finite values at positions {np.flatnonzero(~np.isfinite(array)).tolist()}"
        )
    return array


def _pairs(a: Sequence[float], b: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    first, second = _values("a", a), _values("b", b)
    if first.shape != second.shape:
        raise ValueError(
            f"a and b must be paired (one value each per seed or round), got {first.size} and {second.size}"
        )
    return first, second


def mean_interval(
    values: Sequence[float] | np.ndarray,
    *,
    level: float = 0.95,
    method: Method = "t",
    resamples: int = 10_000,
    seed: int = 0,
) -> Interval:
    """The mean of ``values`` with its confidence interval.

    ``"t"``: ``mean +- t_{(1+level)/2, n-1} * sd / sqrt(n)``. ``"bootstrap"``: the
    ``(1-level)/2`` and ``(1+level)/2`` percentiles of the means of ``resamples`` resamples
    with replacement, drawn with ``numpy.random.default_rng(seed)`` (same seed, same interval).

    Examples:
        >>> interval = mean_interval([1.0, 2.0, 3.0])
        >>> interval.estimate, round(interval.low, 3), round(interval.high, 3)
        (2.0, -0.484, 4.484)
    """
    array = _values("values", values)
    level = check_real("level", level, minimum=0.0, maximum=1.0, exclusive=True)
    method = check_choice("method", method, ("t", "bootstrap"))  # type: ignore[assignment]
    estimate = float(array.mean())
    if method == "t":
        spread = float(array.std(ddof=1)) / math.sqrt(array.size)
        half = float(stats.t.ppf(0.5 + 0.5 * level, array.size - 1)) * spread
        return Interval(estimate, estimate - half, estimate + half, level, array.size, "t")
    resamples = check_int("resamples", resamples, minimum=100)
    seed = check_int("seed", seed, minimum=0)
    draws = np.random.default_rng(seed).integers(0, array.size, size=(resamples, array.size))
    means = array[draws].mean(axis=1)
    low, high = np.quantile(means, [0.5 - 0.5 * level, 0.5 + 0.5 * level])
    return Interval(estimate, float(low), float(high), level, array.size, "bootstrap")


def paired_difference(
    a: Sequence[float],
    b: Sequence[float],
    *,
    level: float = 0.95,
    method: Method = "t",
    resamples: int = 10_000,
    seed: int = 0,
) -> Interval:
    """The mean paired difference ``mean(a - b)`` with its confidence interval.

    ``a[i]`` and ``b[i]`` must come from the same seed (or the same interleaved round).

    Examples:
        >>> paired_difference([1.0, 2.0, 3.0], [0.5, 1.4, 2.6]).estimate
        0.5
    """
    first, second = _pairs(a, b)
    return mean_interval(first - second, level=level, method=method, resamples=resamples, seed=seed)


def paired_ratio(a: Sequence[float], b: Sequence[float], *, level: float = 0.95) -> Interval:
    """The geometric mean of the paired ratios ``a / b`` with its confidence interval.

    A t interval on ``log(a / b)``, exponentiated: the right scale for times and throughputs
    (a ratio of 2 and one of 1/2 are equally far from 1). Values must be positive.

    Examples:
        >>> round(paired_ratio([2.0, 4.0, 8.0], [1.0, 2.0, 4.0]).estimate, 6)
        2.0
    """
    first, second = _pairs(a, b)
    if (first <= 0).any() or (second <= 0).any():
        raise ValueError("paired_ratio needs positive values (times or throughputs)")
    logs = mean_interval(np.log(first) - np.log(second), level=level)
    return Interval(
        math.exp(logs.estimate), math.exp(logs.low), math.exp(logs.high), level, logs.n, "t"
    )


def combined_ratio(*ratios: Interval, level: float = 0.95) -> Interval:
    """The product of independent ratios, each from :func:`paired_ratio`, with its interval.

    For a quantity that is a product of independently measured factors, e.g. time to a target
    = (steps to it, paired over seeds) x (seconds per step, paired over timing rounds): the
    logs add, so do their variances (each recovered from its t interval), and the interval is
    a t interval with Welch-Satterthwaite degrees of freedom, exponentiated.

    Examples:
        >>> steps = paired_ratio([100.0, 120.0, 80.0], [140.0, 160.0, 120.0])
        >>> seconds = paired_ratio([1.0, 1.1, 0.9, 1.0], [1.2, 1.3, 1.2, 1.1])
        >>> product = combined_ratio(steps, seconds)
        >>> round(product.estimate, 4) == round(steps.estimate * seconds.estimate, 4)
        True
    """
    if not ratios or not all(
        isinstance(ratio, Interval) and ratio.method == "t" for ratio in ratios
    ):
        raise TypeError("combined_ratio takes Intervals from paired_ratio (t intervals)")
    level = check_real("level", level, minimum=0.0, maximum=1.0, exclusive=True)
    log_estimate, variance, welch = 0.0, 0.0, 0.0
    for ratio in ratios:
        df = ratio.n - 1
        half = 0.5 * (math.log(ratio.high) - math.log(ratio.low))
        se = half / float(stats.t.ppf(0.5 + 0.5 * ratio.level, df))
        log_estimate += math.log(ratio.estimate)
        variance += se**2
        welch += se**4 / df
    n = sum(ratio.n for ratio in ratios)
    if variance == 0.0:
        estimate = math.exp(log_estimate)
        return Interval(estimate, estimate, estimate, level, n, "t")
    df_total = variance**2 / welch
    half = float(stats.t.ppf(0.5 + 0.5 * level, df_total)) * math.sqrt(variance)
    return Interval(
        math.exp(log_estimate),
        math.exp(log_estimate - half),
        math.exp(log_estimate + half),
        level,
        n,
        "t",
    )


def verdict(difference: Interval, *, margin: float, reference: float = 0.0) -> Verdict:
    """What an interval of a difference (or ratio) says against ``reference`` (0 for a
    difference, 1 for a ratio), with an equivalence ``margin``.

    * ``"similar"``: it lies inside ``[reference - margin, reference + margin]`` (checked
      first: a difference too small to matter is "similar" even where it is significant);
    * ``"lower"`` / ``"higher"``: else, the whole interval lies below / above ``reference``;
    * ``"inconclusive"``: neither (too few seeds, or a real but small difference).

    Examples:
        >>> verdict(Interval(0.01, -0.02, 0.03, 0.95, 5, "t"), margin=0.05)
        'similar'
        >>> verdict(Interval(0.01, -0.02, 0.03, 0.95, 5, "t"), margin=0.025)
        'inconclusive'
    """
    if not isinstance(difference, Interval):
        raise TypeError(f"difference must be an Interval, got {type(difference).__name__}")
    margin = check_real("margin", margin, minimum=0.0)
    reference = check_real("reference", reference)
    if reference - margin <= difference.low and difference.high <= reference + margin:
        return "similar"
    if difference.high < reference:
        return "lower"
    if difference.low > reference:
        return "higher"
    return "inconclusive"


def beats(values: Interval, reference: float) -> bool:
    """Whether a lower-is-better quantity beats ``reference``: its interval's upper end is
    below it (a mean below it is not enough).

    Examples:
        >>> beats(mean_interval([1.443 - 1.4, 1.443, 1.443 + 1.4]), 1.762)
        False
    """
    if not isinstance(values, Interval):
        raise TypeError(f"values must be an Interval, got {type(values).__name__}")
    return values.high < check_real("reference", reference)
