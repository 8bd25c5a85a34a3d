"""Ragged panels (series of different lengths) and static covariates per series: windows,
splits at each series' own points, and the errors that name the series."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnax import data

LENGTHS = (12, 17, 9)


def _time_coded(length: int, series: int, num_features: int = 1) -> np.ndarray:
    """Series ``series`` at time t, feature f is 10000 * series + 1000 * f + t."""
    times = np.arange(length, dtype=np.float64)[:, None]
    return times + 1000.0 * np.arange(num_features)[None, :] + 10000.0 * series


def _panel(num_features: int = 1) -> list[np.ndarray]:
    return [_time_coded(length, index, num_features) for index, length in enumerate(LENGTHS)]


ALL_FIELDS = ("inputs", "targets", "past_covariates", "future_covariates", "target_start")


def _concatenated(
    per_series: list[data.Windows], fields: tuple[str, ...] = ALL_FIELDS
) -> dict[str, np.ndarray]:
    """Each field of the windows of the series, one series after the other."""
    return {
        field: np.concatenate([getattr(windows, field) for windows in per_series])
        for field in fields
    }


@pytest.mark.parametrize("stride", [1, 3])
def test_ragged_windows_are_each_series_windows_concatenated(stride: int) -> None:
    panel = _panel(2)
    past = [series[:, :1] + 0.5 for series in panel]
    future = [-series[:, 0] for series in panel]
    options = dict(stride=stride, target_columns=[1], dtype=np.float64)
    ragged = data.sliding_windows(
        panel, 3, 2, panel=True, past_covariates=past, future_covariates=future, **options
    )
    alone = [
        data.sliding_windows(
            series, 3, 2, past_covariates=past[index], future_covariates=future[index], **options
        )
        for index, series in enumerate(panel)
    ]
    for field, expected in _concatenated(alone).items():
        np.testing.assert_array_equal(getattr(ragged, field), expected, err_msg=field)
    counts = [windows.inputs.shape[0] for windows in alone]
    assert counts == [(length - 5) // stride + 1 for length in LENGTHS]
    np.testing.assert_array_equal(ragged.series_index, np.repeat([0, 1, 2], counts))
    # Every window reads its own series: the series code of its values is its index.
    np.testing.assert_array_equal(ragged.inputs[:, 0, 0] // 10000, ragged.series_index)
    assert ragged.static_covariates is None


def test_a_sequence_of_equal_series_gives_the_array_panel_windows() -> None:
    panel = np.stack([_time_coded(10, index)[:, 0] for index in range(3)])
    static = np.arange(6.0).reshape(3, 2)
    from_array = data.sliding_windows(panel, 3, 2, panel=True, static_covariates=static)
    from_list = data.sliding_windows(list(panel), 3, 2, panel=True, static_covariates=static)
    for field, expected in zip(from_array._fields, from_array, strict=True):
        np.testing.assert_array_equal(getattr(from_list, field), expected, err_msg=field)
    split = data.chronological_split(tuple(panel), 3, 2, panel=True, validation=2, test=2)
    assert split.points == data.SplitPoints(6, 8, 10)


def test_static_covariates_follow_each_window_series() -> None:
    static = np.array([[1.0, -1.0], [2.0, -2.0], [3.0, -3.0]])
    windows = data.sliding_windows(_panel(), 4, 1, panel=True, static_covariates=static)
    assert windows.static_covariates.shape == (windows.inputs.shape[0], 2)
    assert windows.static_covariates.dtype == np.float32
    np.testing.assert_array_equal(windows.static_covariates, static[windows.series_index])

    single = data.sliding_windows(np.arange(10.0), 3, 2, static_covariates=[7.0, 8.0])
    assert single.static_covariates.shape == (6, 2)
    np.testing.assert_array_equal(single.static_covariates, np.tile([7.0, 8.0], (6, 1)))
    # Without static covariates the field stays None, and six-field Windows still build.
    plain = data.sliding_windows(np.arange(10.0), 3, 2)
    assert plain.static_covariates is None
    assert data.Windows(*plain[:6]).static_covariates is None


def test_static_covariates_reach_every_split() -> None:
    static = np.array([[1.0], [2.0]])
    split = data.chronological_split(
        np.zeros((2, 30)), 4, 2, panel=True, static_covariates=static, validation=6, test=6
    )
    for windows in split[:3]:
        np.testing.assert_array_equal(windows.static_covariates, static[windows.series_index])


def test_missing_values_of_a_ragged_series_are_named_or_filled_per_series() -> None:
    panel = [np.arange(8.0), np.arange(10.0)]
    panel[1][4] = np.nan
    with pytest.raises(ValueError, match=r"series 'shops\[1\]' has 1 non-finite .* \[4\]"):
        data.sliding_windows(panel, 3, 1, panel=True, name="shops")
    filled = data.sliding_windows(panel, 3, 1, panel=True, nan_policy="interpolate")
    assert np.isfinite(filled.inputs).all()
    with pytest.raises(ValueError, match=r"nan_policy='drop' is not supported with panel=True"):
        data.sliding_windows(panel, 3, 1, panel=True, nan_policy="drop")


def test_panel_split_cuts_each_series_at_its_own_points() -> None:
    panel = [_time_coded(length, index)[:, 0] for index, length in enumerate((20, 30, 25))]
    static = np.array([[0.0], [1.0], [2.0]])
    split = data.panel_split(panel, 4, 2, validation=0.2, test=3, static_covariates=static)
    assert split.points == tuple(
        data.split_points(len(series), validation=0.2, test=3) for series in panel
    )
    for segment in ("train", "validation", "test"):
        pooled = getattr(split, segment)
        alone = [
            getattr(data.chronological_split(series, 4, 2, validation=0.2, test=3), segment)
            for series in panel
        ]
        fields = ("inputs", "targets", "target_start")
        for field, expected in _concatenated(alone, fields).items():
            np.testing.assert_array_equal(getattr(pooled, field), expected, err_msg=field)
        np.testing.assert_array_equal(pooled.static_covariates[:, 0], pooled.series_index)
    # No target of a series lies outside its segment.
    for index, points in enumerate(split.points):
        test = split.test.target_start[split.test.series_index == index]
        assert test.min() >= points.validation_end and test.max() + 2 <= points.length
        train = split.train.target_start[split.train.series_index == index]
        assert train.max() + 2 <= points.train_end


def test_panel_split_of_equal_series_matches_chronological_split() -> None:
    panel = np.stack([np.arange(30.0), np.arange(30.0) + 100])
    pooled = data.panel_split(panel, 4, 2, validation=0.2, test=0.2)
    common = data.chronological_split(panel, 4, 2, validation=0.2, test=0.2, panel=True)
    assert pooled.points == (common.points, common.points)
    for mine, theirs in zip(pooled[:3], common[:3], strict=True):
        for field, expected in zip(theirs._fields, theirs, strict=True):
            if expected is not None:
                np.testing.assert_array_equal(getattr(mine, field), expected, err_msg=field)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: data.sliding_windows([np.arange(10.0), np.arange(4.0)], 3, 2, panel=True),
            ValueError,
            r"series 'series\[1\]' has 4 time steps, fewer than lookback \+ horizon = 5; "
            r"leave it out of the panel",
        ),
        (
            lambda: data.sliding_windows([], 3, 2, panel=True),
            ValueError,
            r"must hold at least one series, time step and feature, got an empty list",
        ),
        (
            lambda: data.sliding_windows([np.arange(10.0), np.ones((0,))], 3, 2, panel=True),
            ValueError,
            r"values\[1\] of series 'series' must hold at least one time step and feature",
        ),
        (
            lambda: data.sliding_windows([np.arange(10.0), np.ones((2, 9, 1))], 3, 2, panel=True),
            ValueError,
            r"values\[1\] must have shape \[T\] or \[T, D\] \(one series of the panel\), "
            r"got shape \(2, 9, 1\)",
        ),
        (
            lambda: data.sliding_windows([np.ones((10, 2)), np.ones((9, 3))], 3, 2, panel=True),
            ValueError,
            r"every series of a panel must have the same features: values\[1\] has 3, "
            r"values\[0\] has 2",
        ),
        (
            lambda: data.sliding_windows([np.arange(10.0), ["a"] * 9], 3, 2, panel=True),
            TypeError,
            r"values\[1\] must be a numeric \(real\) array",
        ),
        (
            lambda: data.sliding_windows(
                [np.arange(10.0), np.arange(9.0)], 3, 2, panel=True, past_covariates=[np.ones(10)]
            ),
            ValueError,
            r"past_covariates must hold one array per series of values \(2\), got 1",
        ),
        (
            lambda: data.sliding_windows(
                [np.arange(10.0), np.arange(9.0)],
                3,
                2,
                panel=True,
                future_covariates=[np.ones(10), np.ones(10)],
            ),
            ValueError,
            r"future_covariates\[1\] must cover the same time steps as values\[1\], "
            r"expected shape \[9, \.\.\.\], got \(10,\)",
        ),
        (
            lambda: data.sliding_windows(
                [np.arange(10.0), np.arange(9.0)],
                3,
                2,
                panel=True,
                future_covariates=[np.ones((10, 1)), np.ones((9, 2))],
            ),
            ValueError,
            r"every series must have the same future_covariates: future_covariates\[1\] has 2 "
            r"features, future_covariates\[0\] has 1",
        ),
        (
            lambda: data.sliding_windows(
                [np.arange(10.0), np.arange(9.0)], 3, 2, panel=True, past_covariates=np.ones(10)
            ),
            ValueError,
            r"past_covariates of a panel given as a sequence of series must be a sequence",
        ),
        (
            lambda: data.sliding_windows(
                [np.arange(10.0), np.arange(9.0)], 3, 2, panel=True, static_covariates=[1.0, 2.0]
            ),
            ValueError,
            r"static_covariates must have shape \[N=2, S\], one row per series of the panel, "
            r"got shape \(2,\)",
        ),
        (
            lambda: data.sliding_windows(np.arange(10.0), 3, 2, static_covariates=[[1.0]]),
            ValueError,
            r"static_covariates must have shape \[S\] for one series \(pass panel=True",
        ),
        (
            lambda: data.sliding_windows(np.arange(10.0), 3, 2, static_covariates=[]),
            ValueError,
            r"static_covariates must hold at least one covariate per series, got shape \(0,\)",
        ),
        (
            lambda: data.sliding_windows(
                np.zeros((3, 10)), 3, 2, panel=True, static_covariates=[[1.0], [np.nan], [2.0]]
            ),
            ValueError,
            r"static_covariates must be finite \(nan_policy does not fill them\), got NaN or "
            r"Inf in the rows of series \[1\]",
        ),
        (
            lambda: data.sliding_windows(np.arange(10.0), 3, 2, static_covariates="ab"),
            TypeError,
            r"static_covariates must be a numeric \(real\) array",
        ),
        (
            lambda: data.chronological_split([np.arange(30.0), np.arange(25.0)], 3, 2, panel=True),
            ValueError,
            r"the series of 'series' have different lengths \(25 to 30 time steps\); "
            r"use panel_split",
        ),
        (
            lambda: data.panel_split([np.arange(30.0), np.arange(12.0)], 8, 2, name="shops"),
            ValueError,
            r"the training segment of series 'shops\[1\]' has 8 time steps, fewer than "
            r"lookback \+ horizon = 10",
        ),
        (
            lambda: data.panel_split([np.arange(30.0), np.arange(12.0)], 4, 2, test=12),
            ValueError,
            r"series 'series\[1\]' \(12 time steps\): test as a count of time steps must lie "
            r"in \[0, 12\), got 12",
        ),
        (
            lambda: data.panel_split([np.arange(30.0), np.arange(12.0)], 4, 2, test="0.2"),
            TypeError,
            r"test must be a fraction \(float\) or a count \(int\)",
        ),
        (
            lambda: data.panel_split([np.arange(30.0)], 4, 2, nan_policy="drop"),
            ValueError,
            r"nan_policy='drop' is not supported with panel=True",
        ),
        (
            lambda: data.panel_split(np.arange(30.0), 4, 2),
            ValueError,
            r"values must have shape \[N, T\] or \[N, T, D\] when panel=True",
        ),
    ],
)
def test_bad_panels_are_refused_by_name(call, error, message) -> None:
    with pytest.raises(error, match=message):
        call()


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    lengths=st.lists(st.integers(7, 30), min_size=1, max_size=4),
    lookback=st.integers(1, 4),
    horizon=st.integers(1, 3),
    stride=st.integers(1, 4),
)
def test_random_ragged_panels_window_each_series_alone(lengths, lookback, horizon, stride) -> None:
    panel = [_time_coded(length, index)[:, 0] for index, length in enumerate(lengths)]
    ragged = data.sliding_windows(panel, lookback, horizon, panel=True, stride=stride)
    alone = [data.sliding_windows(series, lookback, horizon, stride=stride) for series in panel]
    np.testing.assert_array_equal(ragged.inputs, np.concatenate([w.inputs for w in alone]))
    np.testing.assert_array_equal(ragged.targets, np.concatenate([w.targets for w in alone]))
    np.testing.assert_array_equal(
        ragged.target_start, np.concatenate([w.target_start for w in alone])
    )
