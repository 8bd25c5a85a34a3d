"""The statistics behind the comparison's verdicts: intervals against SciPy, a known-different
pair told apart, a known-equal pair called similar, determinism, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from rnnax import evaluation


def test_t_interval_matches_scipy():
    values = np.array([0.91, 0.84, 0.88, 0.95, 0.80, 0.86])
    interval = evaluation.mean_interval(values, level=0.9)
    low, high = stats.t.interval(0.9, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
    np.testing.assert_allclose([interval.low, interval.high], [low, high], rtol=1e-12)
    assert interval.n == 6 and interval.method == "t" and interval.level == 0.9


def test_a_known_different_pair_is_told_apart_and_a_known_equal_pair_is_similar():
    rng = np.random.default_rng(0)
    shared = rng.normal(1.0, 0.3, size=8)  # what the seeds share (data order, initialization)
    better = shared - 0.10 + rng.normal(0, 0.01, size=8)
    same = shared + rng.normal(0, 0.01, size=8)
    for method in ("t", "bootstrap"):
        difference = evaluation.paired_difference(better, shared, method=method)
        assert evaluation.verdict(difference, margin=0.02) == "lower", method
        equal = evaluation.paired_difference(same, shared, method=method)
        assert evaluation.verdict(equal, margin=0.02) == "similar", method
    # Unpaired intervals of the same numbers overlap: only the pairing tells them apart.
    a, b = evaluation.mean_interval(better), evaluation.mean_interval(shared)
    assert a.high > b.low
    # Two seeds cannot call anything similar at a tight margin.
    few = evaluation.paired_difference(same[:2] + np.array([0.0, 0.02]), shared[:2])
    assert evaluation.verdict(few, margin=0.005) == "inconclusive"


def test_beats_needs_the_whole_interval_below_the_reference():
    # The explainer-style trap: a mean below the baseline with a wide spread does not beat it.
    assert not evaluation.beats(evaluation.mean_interval([0.1, 1.5, 2.7]), 1.762)
    assert evaluation.beats(evaluation.mean_interval([0.70, 0.72, 0.69, 0.71]), 1.0)


def test_paired_ratio_is_geometric_and_symmetric():
    fast, slow = [2.0, 2.2, 1.9, 2.1], [1.0, 1.1, 0.95, 1.05]
    forward = evaluation.paired_ratio(fast, slow)
    backward = evaluation.paired_ratio(slow, fast)
    np.testing.assert_allclose(forward.estimate * backward.estimate, 1.0, rtol=1e-12)
    assert evaluation.verdict(forward, margin=0.05, reference=1.0) == "higher"


def test_bootstrap_is_deterministic_by_seed():
    values = [0.3, 0.5, 0.4, 0.9, 0.6]
    first = evaluation.mean_interval(values, method="bootstrap", seed=3)
    assert first == evaluation.mean_interval(values, method="bootstrap", seed=3)
    assert first != evaluation.mean_interval(values, method="bootstrap", seed=4)
    assert first.low <= np.mean(values) <= first.high


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: evaluation.mean_interval([1.0]), ValueError, r"values must be .* at least 2"),
        (
            lambda: evaluation.mean_interval([1.0, np.nan]),
            ValueError,
            r"non-finite values at positions \[1\]",
        ),
        (lambda: evaluation.mean_interval([1.0, 2.0], level=1.0), ValueError, r"level"),
        (lambda: evaluation.mean_interval([1.0, 2.0], level="0.9"), TypeError, r"level"),
        (lambda: evaluation.mean_interval([1.0, 2.0], method="z"), ValueError, r"method"),
        (lambda: evaluation.paired_difference([1.0, 2.0], [1.0, 2.0, 3.0]), ValueError, r"paired"),
        (lambda: evaluation.paired_ratio([1.0, -2.0], [1.0, 2.0]), ValueError, r"positive"),
        (lambda: evaluation.verdict((0.0, -1.0, 1.0), margin=0.1), TypeError, r"Interval"),
        (
            lambda: evaluation.verdict(evaluation.mean_interval([1.0, 2.0]), margin=-1.0),
            ValueError,
            r"margin",
        ),
    ],
)
def test_bad_arguments_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_combined_ratio_multiplies_estimates_and_widens_the_interval():
    """A product of two measured ratios: estimates multiply; the interval is wider than
    either factor's on the log scale; a zero-width factor adds nothing."""
    steps = evaluation.paired_ratio([100.0, 120.0, 80.0, 90.0], [140.0, 160.0, 120.0, 130.0])
    seconds = evaluation.paired_ratio([1.0, 1.1, 0.9, 1.0, 1.05], [1.2, 1.3, 1.2, 1.1, 1.25])
    product = evaluation.combined_ratio(steps, seconds)
    assert product.estimate == pytest.approx(steps.estimate * seconds.estimate)
    width = np.log(product.high) - np.log(product.low)
    assert width > np.log(steps.high) - np.log(steps.low)
    assert width > np.log(seconds.high) - np.log(seconds.low)
    exact = evaluation.paired_ratio([2.0, 4.0], [1.0, 2.0])  # both ratios exactly 2
    alone = evaluation.combined_ratio(seconds, exact)
    assert alone.estimate == pytest.approx(2 * seconds.estimate)
    with pytest.raises(TypeError, match="paired_ratio"):
        evaluation.combined_ratio(evaluation.mean_interval([1.0, 2.0], method="bootstrap"))
