"""Sliding windows and chronological splits: shapes, contents, and no leakage of the future."""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnax import data


def _time_coded(length: int, num_features: int = 1) -> np.ndarray:
    """A series whose value at time t, feature f is 1000 * f + t: every value names its time."""
    return np.arange(length, dtype=np.float64)[:, None] + 1000.0 * np.arange(num_features)[None, :]


def test_univariate_windows_contents() -> None:
    windows = data.sliding_windows(np.arange(10.0), lookback=4, horizon=3, dtype=np.float64)
    assert windows.inputs.shape == (4, 4, 1) and windows.targets.shape == (4, 3, 1)
    assert windows.past_covariates is None and windows.future_covariates is None
    np.testing.assert_array_equal(windows.inputs[0, :, 0], [0, 1, 2, 3])
    np.testing.assert_array_equal(windows.targets[0, :, 0], [4, 5, 6])
    np.testing.assert_array_equal(windows.inputs[-1, :, 0], [3, 4, 5, 6])
    np.testing.assert_array_equal(windows.targets[-1, :, 0], [7, 8, 9])
    np.testing.assert_array_equal(windows.target_start, [4, 5, 6, 7])
    np.testing.assert_array_equal(windows.series_index, [0, 0, 0, 0])


def test_default_dtype_is_float32() -> None:
    windows = data.sliding_windows(np.arange(10), lookback=2, horizon=1)
    assert windows.inputs.dtype == windows.targets.dtype == np.float32


@pytest.mark.parametrize(
    ("length", "lookback", "horizon", "stride"),
    [(30, 5, 2, 1), (30, 5, 2, 3), (17, 4, 4, 5), (8, 4, 4, 2)],
)
def test_window_count_and_alignment(length: int, lookback: int, horizon: int, stride: int) -> None:
    windows = data.sliding_windows(
        _time_coded(length, 2), lookback, horizon, stride=stride, dtype=np.float64
    )
    expected = (length - lookback - horizon) // stride + 1
    assert windows.inputs.shape == (expected, lookback, 2)
    assert windows.targets.shape == (expected, horizon, 2)
    for window, start in enumerate(windows.target_start):
        np.testing.assert_array_equal(
            windows.inputs[window, :, 0], np.arange(start - lookback, start)
        )
        np.testing.assert_array_equal(
            windows.targets[window, :, 1], 1000 + np.arange(start, start + horizon)
        )
    np.testing.assert_array_equal(np.diff(windows.target_start), stride)


def test_target_column_selection() -> None:
    values = _time_coded(12, 3)
    windows = data.sliding_windows(values, 3, 2, target_columns=[2, 0], dtype=np.float64)
    assert windows.inputs.shape[-1] == 3 and windows.targets.shape[-1] == 2
    np.testing.assert_array_equal(windows.targets[0], [[2003, 3], [2004, 4]])
    single = data.sliding_windows(values, 3, 2, target_columns=1, dtype=np.float64)
    np.testing.assert_array_equal(single.targets[0, :, 0], [1003, 1004])


def test_past_and_future_covariates_are_aligned() -> None:
    length = 15
    values = np.arange(length, dtype=np.float64)
    past = 100.0 + np.arange(length)
    future = np.stack([200.0 + np.arange(length), 300.0 + np.arange(length)], axis=1)
    windows = data.sliding_windows(
        values, 4, 3, past_covariates=past, future_covariates=future, dtype=np.float64
    )
    assert windows.past_covariates is not None and windows.future_covariates is not None
    assert windows.past_covariates.shape == (9, 4, 1)
    assert windows.future_covariates.shape == (9, 3, 2)
    for window, start in enumerate(windows.target_start):
        # Past covariates stop before the forecast time; future ones cover exactly the horizon.
        np.testing.assert_array_equal(
            windows.past_covariates[window, :, 0], 100 + np.arange(start - 4, start)
        )
        np.testing.assert_array_equal(
            windows.future_covariates[window, :, 1], 300 + np.arange(start, start + 3)
        )


def test_panel_windows_are_grouped_by_series() -> None:
    panel = np.stack([np.arange(8.0), 100 + np.arange(8.0), 200 + np.arange(8.0)])
    windows = data.sliding_windows(panel, 3, 2, panel=True, dtype=np.float64)
    assert windows.inputs.shape == (3 * 4, 3, 1)
    np.testing.assert_array_equal(windows.series_index, np.repeat([0, 1, 2], 4))
    np.testing.assert_array_equal(windows.target_start, np.tile([3, 4, 5, 6], 3))
    np.testing.assert_array_equal(windows.inputs[4, :, 0], [100, 101, 102])
    np.testing.assert_array_equal(windows.targets[-1, :, 0], [206, 207])
    multivariate = data.sliding_windows(np.zeros((2, 9, 4)), 3, 2, panel=True, target_columns=[1])
    assert multivariate.inputs.shape == (10, 3, 4) and multivariate.targets.shape == (10, 2, 1)


def _assert_no_leak(split: data.Split, lookback: int, horizon: int) -> None:
    points = split.points
    segments = {
        "train": (0, points.train_end),
        "validation": (points.train_end, points.validation_end),
        "test": (points.validation_end, points.length),
    }
    for segment_name, windows in zip(("train", "validation", "test"), split[:3], strict=True):
        low, high = segments[segment_name]
        if windows.targets.shape[0] == 0:
            continue
        # Series values encode time, so the targets themselves prove where they come from.
        target_times = windows.targets[..., 0]
        assert target_times.min() >= low, segment_name
        assert target_times.max() < high, segment_name
        input_times = windows.inputs[..., 0]
        assert (input_times.max(axis=1) < target_times.min(axis=1)).all()
        assert (input_times.min(axis=1) >= 0).all()
    non_empty = [w.targets[..., 0] for w in split[:3] if w.targets.shape[0]]
    for earlier, later in pairwise(non_empty):
        assert earlier.max() < later.min()


def test_split_by_fractions_never_leaks() -> None:
    split = data.chronological_split(
        np.arange(100.0), 10, 5, validation=0.2, test=0.2, dtype=np.float64
    )
    assert split.points == data.SplitPoints(train_end=60, validation_end=80, length=100)
    _assert_no_leak(split, 10, 5)
    np.testing.assert_array_equal(split.train.target_start, np.arange(10, 56))
    np.testing.assert_array_equal(split.validation.target_start, np.arange(60, 76))
    np.testing.assert_array_equal(split.test.target_start, np.arange(80, 96))
    # Validation inputs may look back into the training segment: that is known at forecast time.
    np.testing.assert_array_equal(split.validation.inputs[0, :, 0], np.arange(50, 60))


@settings(max_examples=60, deadline=None)
@given(
    length=st.integers(20, 120),
    lookback=st.integers(1, 12),
    horizon=st.integers(1, 6),
    stride=st.integers(1, 4),
    validation=st.one_of(st.floats(0.0, 0.45), st.integers(0, 30)),
    test=st.one_of(st.floats(0.0, 0.45), st.integers(0, 30)),
    num_series=st.integers(1, 3),
)
def test_split_never_leaks_property(
    length: int,
    lookback: int,
    horizon: int,
    stride: int,
    validation: float | int,
    test: float | int,
    num_series: int,
) -> None:
    panel = np.stack([_time_coded(length)[:, 0]] * num_series)
    try:
        split = data.chronological_split(
            panel,
            lookback,
            horizon,
            validation=validation,
            test=test,
            stride=stride,
            panel=True,
            dtype=np.float64,
        )
    except ValueError as error:
        # Only the documented refusals: too little data for the requested segments.
        assert any(
            text in str(error) for text in ("must lie in", "must leave training data", "fewer than")
        ), error
        return
    _assert_no_leak(split, lookback, horizon)
    for windows in split[:3]:
        np.testing.assert_array_equal(
            np.bincount(windows.series_index, minlength=num_series),
            [windows.inputs.shape[0] // num_series] * num_series,
        )


def test_split_with_counts_and_empty_validation() -> None:
    split = data.chronological_split(np.arange(30.0), 4, 2, validation=0, test=6, dtype=np.float64)
    assert split.points == data.SplitPoints(24, 24, 30)
    assert split.validation.inputs.shape == (0, 4, 1) and split.validation.targets.shape == (
        0,
        2,
        1,
    )
    _assert_no_leak(split, 4, 2)


def test_split_points_fractions_and_counts() -> None:
    assert data.split_points(10, validation=0.25, test=0.25) == (
        4,
        7,
        10,
    )  # 2.5 steps round up to 3
    assert data.split_points(10, validation=3, test=0.0) == (7, 10, 10)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"validation": 0.6, "test": 0.4}, r"validation \+ test must leave training data"),
        ({"validation": 0.7, "test": 0.5}, r"validation \+ test must leave training data"),
        ({"validation": 1.2}, r"validation as a fraction must lie in \[0, 1\), got 1.2"),
        ({"test": -0.1}, r"test as a fraction must lie in \[0, 1\), got -0.1"),
        ({"test": 100}, r"test as a count of time steps must lie in \[0, 100\), got 100"),
    ],
)
def test_split_points_bad_sizes(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        data.split_points(100, **kwargs)


def test_split_points_type_errors() -> None:
    with pytest.raises(TypeError, match="validation must be a fraction"):
        data.split_points(10, validation="0.2")  # type: ignore[arg-type]


def test_split_refuses_segments_too_short() -> None:
    with pytest.raises(
        ValueError,
        match=r"training segment of series 'tiny' has 6 time steps, fewer than lookback \+ horizon = 8",
    ):
        data.chronological_split(np.arange(10.0), 5, 3, validation=2, test=2, name="tiny")
    with pytest.raises(
        ValueError,
        match=r"the test segment of series 'series' has 2 time steps, fewer than horizon = 3",
    ):
        data.chronological_split(np.arange(40.0), 5, 3, validation=10, test=2)


def test_nan_in_windows_raises_by_default_and_can_be_filled() -> None:
    values = np.arange(12.0)
    values[[3, 7]] = np.nan
    with pytest.raises(
        ValueError, match=r"series 'demand' has 2 non-finite values .* positions \[3, 7\]"
    ):
        data.sliding_windows(values, 3, 1, name="demand")
    filled = data.sliding_windows(values, 3, 1, nan_policy="interpolate", dtype=np.float64)
    np.testing.assert_array_equal(filled.inputs[0, :, 0], [0, 1, 2])
    np.testing.assert_array_equal(filled.targets[0, :, 0], [3])
    dropped = data.sliding_windows(values, 3, 1, nan_policy="drop", dtype=np.float64)
    assert dropped.inputs.shape[0] == 10 - 3
    assert np.isfinite(dropped.inputs).all()


def test_nan_in_covariates_is_named() -> None:
    covariate = np.ones(10)
    covariate[4] = np.inf
    with pytest.raises(
        ValueError, match=r"series 'sales past_covariates' has 1 non-finite values .* \[4\]"
    ):
        data.sliding_windows(np.arange(10.0), 3, 1, past_covariates=covariate, name="sales")


def test_drop_keeps_series_and_covariates_aligned() -> None:
    values = np.arange(10.0)
    covariate = 100 + np.arange(10.0)
    covariate[2] = np.nan
    windows = data.sliding_windows(
        values, 2, 1, past_covariates=covariate, nan_policy="drop", dtype=np.float64
    )
    np.testing.assert_array_equal(windows.inputs[..., 0] + 100, windows.past_covariates[..., 0])


def test_nan_in_panel_names_the_series() -> None:
    panel = np.zeros((3, 10))
    panel[1, 5] = np.nan
    with pytest.raises(ValueError, match=r"series 'stores\[1\]' has 1 non-finite values .* \[5\]"):
        data.sliding_windows(panel, 3, 1, panel=True, name="stores")
    with pytest.raises(ValueError, match="nan_policy='drop' is not supported with panel=True"):
        data.sliding_windows(panel, 3, 1, panel=True, nan_policy="drop")


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: data.sliding_windows(np.arange(10.0), 0, 1),
            ValueError,
            "lookback must be an integer >= 1, got 0",
        ),
        (
            lambda: data.sliding_windows(np.arange(10.0), 2, -1),
            ValueError,
            "horizon must be an integer >= 1, got -1",
        ),
        (
            lambda: data.sliding_windows(np.arange(10.0), 2, 1, stride=0),
            ValueError,
            "stride must be an integer >= 1, got 0",
        ),
        (
            lambda: data.sliding_windows(np.arange(10.0), 2.5, 1),
            TypeError,
            "lookback must be an integer, got 2.5",
        ),
        (
            lambda: data.sliding_windows(np.arange(10.0), 8, 3),
            ValueError,
            r"has 10 time steps, fewer than lookback \+ horizon = 11",
        ),
        (
            lambda: data.sliding_windows(np.zeros((2, 3, 4)), 1, 1),
            ValueError,
            r"values must have shape \[T\] or \[T, D\] \(pass panel=True.*got shape \(2, 3, 4\)",
        ),
        (
            lambda: data.sliding_windows(np.zeros(10), 1, 1, panel=True),
            ValueError,
            r"values must have shape \[N, T\] or \[N, T, D\] when panel=True, got shape \(10,\)",
        ),
        (
            lambda: data.sliding_windows(np.zeros((10, 2)), 1, 1, target_columns=[2]),
            ValueError,
            r"target_columns entries must lie in \[0, 2\).*got 2",
        ),
        (
            lambda: data.sliding_windows(np.zeros((10, 2)), 1, 1, target_columns=[]),
            ValueError,
            "target_columns must name at least one column",
        ),
        (
            lambda: data.sliding_windows(np.zeros((10, 2)), 1, 1, target_columns=[1, 1]),
            ValueError,
            "target_columns must not repeat",
        ),
        (
            lambda: data.sliding_windows(np.zeros(10), 1, 1, past_covariates=np.zeros(9)),
            ValueError,
            r"past_covariates must cover the same series and time steps as values, expected shape \[10, ...\], got \(9,\)",
        ),
        (
            lambda: data.sliding_windows(np.zeros(10), 1, 1, dtype=np.int32),
            TypeError,
            "dtype must be a floating-point dtype, got int32",
        ),
        (
            lambda: data.sliding_windows(np.array(["a", "b"]), 1, 1),
            TypeError,
            "values must be a numeric",
        ),
        (
            lambda: data.sliding_windows(np.zeros(10), 1, 1, nan_policy="mean"),
            ValueError,
            r"nan_policy must be one of \['raise', 'ffill', 'interpolate', 'drop'\], got 'mean'",
        ),
    ],
)
def test_bad_window_arguments_are_named(
    call: Callable[[], object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        call()
