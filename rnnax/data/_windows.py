"""Sliding windows for supervised sequence-to-sequence forecasting, and leak-free splits.

A window starting its forecast at time ``t`` pairs the ``lookback`` steps
``[t - lookback, t)`` (the inputs, with any past covariates) with the
``horizon`` steps ``[t, t + horizon)`` (the targets, with any future
covariates). Consecutive windows are ``stride`` steps apart.

:func:`chronological_split` cuts the time axis at two points into a training,
a validation and a test segment and keeps, for each split, only the windows
whose *targets* lie wholly inside its segment. A window's inputs may reach back
into earlier segments (that is information available at forecast time), but no
target of a split ever comes from a later segment, and every test target lies
strictly after every validation target, which lies strictly after every
training target.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from rnnax._checks import check_bool, check_int, is_real_number
from rnnax.data._validation import (
    NanPolicy,
    apply_nan_policy,
    as_float_array,
    check_nan_policy,
)


class Windows(NamedTuple):
    """Windows cut from one series or a panel, stacked along the first axis.

    For a panel, all windows of series 0 come first (in time order), then those
    of series 1, and so on.

    Attributes:
        inputs: ``[W, lookback, D]``, all ``D`` features over the lookback.
        targets: ``[W, horizon, D_target]``, the target columns over the horizon.
        past_covariates: ``[W, lookback, D_past]``, or ``None`` if none were given.
        future_covariates: ``[W, horizon, D_future]``, or ``None`` if none were given.
        series_index: ``int64 [W]``, the series each window comes from (0 for a
            single series).
        target_start: ``int64 [W]``, the time index of each window's first
            target step; its targets are steps ``[target_start, target_start + horizon)``.
    """

    inputs: np.ndarray
    targets: np.ndarray
    past_covariates: np.ndarray | None
    future_covariates: np.ndarray | None
    series_index: np.ndarray
    target_start: np.ndarray


class SplitPoints(NamedTuple):
    """Where a chronological split cuts the time axis.

    Training targets lie in ``[0, train_end)``, validation targets in
    ``[train_end, validation_end)`` and test targets in ``[validation_end, length)``.
    Fit scalers on ``values[:train_end]`` (the time axis) only.

    Attributes:
        train_end: First time index after the training segment.
        validation_end: First time index after the validation segment.
        length: Number of time steps ``T``.
    """

    train_end: int
    validation_end: int
    length: int


class Split(NamedTuple):
    """Train, validation and test windows of a chronological split.

    Attributes:
        train: Windows whose targets lie in ``[0, points.train_end)``.
        validation: Windows whose targets lie in ``[points.train_end, points.validation_end)``;
            empty (``W = 0``) if the validation segment is empty.
        test: Windows whose targets lie in ``[points.validation_end, points.length)``;
            empty if the test segment is empty.
        points: The :class:`SplitPoints` used.
    """

    train: Windows
    validation: Windows
    test: Windows
    points: SplitPoints


class _Prepared(NamedTuple):
    """Inputs brought to [N, T, features] float arrays, with missing values handled."""

    values: np.ndarray
    past_covariates: np.ndarray | None
    future_covariates: np.ndarray | None
    target_columns: np.ndarray


def _to_panel(name: str, array: np.ndarray, panel: bool) -> np.ndarray:
    """Reshapes [T], [T, D] (single) or [N, T], [N, T, D] (panel) to [N, T, D]."""
    if panel:
        if array.ndim not in (2, 3):
            raise ValueError(
                f"{name} must have shape [N, T] or [N, T, D] when panel=True, got shape {array.shape}"
            )
        return array[:, :, None] if array.ndim == 2 else array
    if array.ndim not in (1, 2):
        raise ValueError(
            f"{name} must have shape [T] or [T, D] (pass panel=True for [N, T] or [N, T, D]), "
            f"got shape {array.shape}"
        )
    return array[None, :, None] if array.ndim == 1 else array[None]


def _check_target_columns(
    target_columns: int | Sequence[int] | None, num_features: int
) -> np.ndarray:
    if target_columns is None:
        return np.arange(num_features)
    if isinstance(target_columns, numbers.Integral) and not isinstance(target_columns, bool):
        columns = [int(target_columns)]
    elif isinstance(target_columns, (str, bytes)) or not hasattr(target_columns, "__iter__"):
        raise TypeError(
            f"target_columns must be an int or a sequence of ints, got {target_columns!r:.80}"
        )
    else:
        columns = list(target_columns)
    if not columns:
        raise ValueError("target_columns must name at least one column, got an empty sequence")
    for column in columns:
        if isinstance(column, bool) or not isinstance(column, numbers.Integral):
            raise TypeError(f"target_columns must hold integers, got {column!r}")
        if not 0 <= column < num_features:
            raise ValueError(
                f"target_columns entries must lie in [0, {num_features}) for values with "
                f"{num_features} features, got {column}"
            )
    if len(set(columns)) != len(columns):
        raise ValueError(f"target_columns must not repeat a column, got {columns}")
    return np.asarray(columns, dtype=np.int64)


def _prepare(
    values: ArrayLike,
    past_covariates: ArrayLike | None,
    future_covariates: ArrayLike | None,
    target_columns: int | Sequence[int] | None,
    panel: bool,
    nan_policy: NanPolicy,
    name: str,
) -> _Prepared:
    """Checks the series arguments of the windowing functions and handles missing values."""
    nan_policy = check_nan_policy(nan_policy)
    panel = check_bool("panel", panel)
    main = _to_panel("values", as_float_array("values", values), panel)
    num_series, length, num_features = main.shape
    if num_series == 0 or length == 0 or num_features == 0:
        raise ValueError(
            f"values of series {name!r} must hold at least one series, time step and feature, "
            f"got shape {np.shape(values)}"
        )
    extras = _covariates(
        {"past_covariates": past_covariates, "future_covariates": future_covariates},
        num_series,
        length,
        panel,
    )
    if nan_policy == "drop":
        if panel:
            raise ValueError(
                "nan_policy='drop' is not supported with panel=True: dropping time steps would "
                "misalign the series; use 'ffill' or 'interpolate'"
            )
        # Drop a time step from the series and its covariates together, keeping them aligned.
        stacked = np.concatenate([main[0]] + [array[0] for array in extras.values()], axis=1)
        keep = np.isfinite(stacked).all(axis=1)
        main = main[:, keep]
        extras = {argument: array[:, keep] for argument, array in extras.items()}
    else:
        main = _fill_panel(main, nan_policy, name, panel)
        extras = {
            argument: _fill_panel(array, nan_policy, name, panel, f" {argument}")
            for argument, array in extras.items()
        }
    return _Prepared(
        values=main,
        past_covariates=extras.get("past_covariates"),
        future_covariates=extras.get("future_covariates"),
        target_columns=_check_target_columns(target_columns, main.shape[2]),
    )


def _covariates(
    covariates: dict[str, ArrayLike | None], num_series: int, length: int, panel: bool
) -> dict[str, np.ndarray]:
    """The covariates given (not ``None``) as [N, T, features] arrays aligned with the values."""
    extras: dict[str, np.ndarray] = {}
    for argument, covariate in covariates.items():
        if covariate is None:
            continue
        array = _to_panel(argument, as_float_array(argument, covariate), panel)
        if array.shape[:2] != (num_series, length):
            expected = f"[{num_series}, {length}, ...]" if panel else f"[{length}, ...]"
            raise ValueError(
                f"{argument} must cover the same series and time steps as values, "
                f"expected shape {expected}, got {np.shape(covariate)}"
            )
        extras[argument] = array
    return extras


def _fill_panel(
    array: np.ndarray, nan_policy: NanPolicy, name: str, panel: bool, suffix: str = ""
) -> np.ndarray:
    """Applies a fill policy (or ``"raise"``) to each series [T, features] of a panel; errors
    name the series ``name`` (with its index in a panel) followed by ``suffix``."""
    return np.stack(
        [
            apply_nan_policy(series, nan_policy, name=_series_name(name, index, panel) + suffix)
            for index, series in enumerate(array)
        ]
    )


def _series_name(name: str, index: int, panel: bool) -> str:
    return f"{name}[{index}]" if panel else name


def _cut(
    prepared: _Prepared,
    lookback: int,
    horizon: int,
    stride: int,
    first_target: int,
    target_end: int,
    dtype: np.dtype,
) -> Windows:
    """Windows whose targets lie in [first_target, target_end), starts `stride` apart."""
    num_series = prepared.values.shape[0]
    first_target = max(first_target, lookback)
    last_start = target_end - horizon  # the last admissible first-target index
    starts = np.arange(first_target, last_start + 1, stride, dtype=np.int64)
    input_rows = starts[:, None] + np.arange(-lookback, 0, dtype=np.int64)[None, :]
    target_rows = starts[:, None] + np.arange(horizon, dtype=np.int64)[None, :]

    def gather(array: np.ndarray, rows: np.ndarray) -> np.ndarray:
        # [N, T, F] indexed by [W, S] -> [N, W, S, F] -> [N * W, S, F]
        taken = array[:, rows]
        return taken.reshape(num_series * starts.size, rows.shape[1], array.shape[2]).astype(dtype)

    targets = prepared.values[:, :, prepared.target_columns]
    return Windows(
        inputs=gather(prepared.values, input_rows),
        targets=gather(targets, target_rows),
        past_covariates=None
        if prepared.past_covariates is None
        else gather(prepared.past_covariates, input_rows),
        future_covariates=(
            None
            if prepared.future_covariates is None
            else gather(prepared.future_covariates, target_rows)
        ),
        series_index=np.repeat(np.arange(num_series, dtype=np.int64), starts.size),
        target_start=np.tile(starts, num_series),
    )


def _check_window_arguments(lookback: int, horizon: int, stride: int, dtype: DTypeLike) -> np.dtype:
    """Checks the window sizes and returns ``dtype`` as a floating numpy dtype."""
    check_int("lookback", lookback, minimum=1)
    check_int("horizon", horizon, minimum=1)
    check_int("stride", stride, minimum=1)
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be a floating-point dtype, got {dtype!r}") from None
    if resolved.kind != "f":
        raise TypeError(f"dtype must be a floating-point dtype, got {resolved}")
    return resolved


def sliding_windows(
    values: ArrayLike,
    lookback: int,
    horizon: int,
    *,
    stride: int = 1,
    target_columns: int | Sequence[int] | None = None,
    past_covariates: ArrayLike | None = None,
    future_covariates: ArrayLike | None = None,
    panel: bool = False,
    nan_policy: NanPolicy = "raise",
    name: str = "series",
    dtype: DTypeLike = np.float32,
) -> Windows:
    """Cuts every (lookback, horizon) window from a series or a panel of series.

    Args:
        values: One series ``[T]`` or ``[T, D]``, or with ``panel=True`` a panel
            ``[N, T]`` or ``[N, T, D]`` of equally long series.
        lookback: Number of past steps each window sees (>= 1).
        horizon: Number of future steps each window predicts (>= 1).
        stride: Steps between the starts of consecutive windows (>= 1).
        target_columns: Feature index or indices forming the targets; all
            features by default. The inputs always hold all features.
        past_covariates: Extra inputs known only up to the forecast time,
            aligned with ``values`` (``[T]``/``[T, D_past]``, or ``[N, T(, D_past)]``
            for a panel); windowed over the lookback.
        future_covariates: Extra inputs known in advance (calendar features,
            planned events), aligned the same way; windowed over the horizon.
        panel: Whether ``values`` is a panel with the series on axis 0.
        nan_policy: Treatment of NaN/Inf in ``values`` and covariates, see
            :data:`rnnax.data.NanPolicy`; ``"drop"`` removes the affected time
            steps from series and covariates together (single series only),
            so windows may then straddle the removed steps.
        name: Name of the series, used in error messages.
        dtype: Floating dtype of the returned arrays (``float32`` suits JAX).

    Returns:
        :class:`Windows` with ``W = N * ((T - lookback - horizon) // stride + 1)``.

    Raises:
        ValueError: For wrong ranks or mismatched covariate shapes, non-positive
            ``lookback``/``horizon``/``stride``, a series shorter than
            ``lookback + horizon``, bad ``target_columns`` or non-finite values
            under ``nan_policy="raise"``.
        TypeError: For non-integer sizes, a non-float ``dtype``, a non-numeric
            series or covariate, a non-bool ``panel``, a non-string
            ``nan_policy`` or ``target_columns`` that are not integers.

    Examples:
        >>> windows = sliding_windows(np.arange(6.0), lookback=3, horizon=2)
        >>> windows.inputs.shape, windows.targets.shape
        ((2, 3, 1), (2, 2, 1))
        >>> windows.inputs[1, :, 0], windows.targets[1, :, 0]
        (array([1., 2., 3.], dtype=float32), array([4., 5.], dtype=float32))
        >>> sliding_windows(np.arange(4.0), lookback=3, horizon=2, name="short")
        Traceback (most recent call last):
        ...
        ValueError: series 'short' has 4 time steps, fewer than lookback + horizon = 5
    """
    resolved_dtype = _check_window_arguments(lookback, horizon, stride, dtype)
    prepared = _prepare(
        values, past_covariates, future_covariates, target_columns, panel, nan_policy, name
    )
    length = prepared.values.shape[1]
    if length < lookback + horizon:
        raise ValueError(
            f"series {name!r} has {length} time steps, fewer than lookback + horizon = {lookback + horizon}"
        )
    return _cut(prepared, lookback, horizon, stride, lookback, length, resolved_dtype)


def _segment_size(name: str, amount: float | int, length: int) -> int:
    """A segment size given as a fraction of ``length`` (a float) or a count (an int), in steps."""
    if isinstance(amount, (bool, np.bool_)) or not is_real_number(amount):
        raise TypeError(f"{name} must be a fraction (float) or a count (int), got {amount!r}")
    if isinstance(amount, numbers.Integral):
        if not 0 <= amount < length:
            raise ValueError(
                f"{name} as a count of time steps must lie in [0, {length}), got {amount}"
            )
        return int(amount)
    if not 0.0 <= amount < 1.0:
        raise ValueError(f"{name} as a fraction must lie in [0, 1), got {amount}")
    # Round halves up (not to even), so equal fractions always give equal segments.
    return int(np.floor(float(amount) * length + 0.5))


def split_points(
    length: int, *, validation: float | int = 0.2, test: float | int = 0.2
) -> SplitPoints:
    """Computes where a chronological split cuts a time axis of ``length`` steps.

    Args:
        length: Number of time steps ``T``.
        validation: Size of the validation segment: a fraction of ``T`` in
            ``[0, 1)`` (a float; ``fraction * length`` is rounded to the nearest
            step, halves up) or a count of
            time steps (an int).
        test: Size of the final test segment, in the same way.

    Returns:
        The :class:`SplitPoints`.

    Raises:
        ValueError: If a size is out of range, or if validation and test leave
            no training steps (fractions summing to 1 or more).
        TypeError: If ``length`` is not an int, or a size is neither float nor int.

    Examples:
        >>> split_points(100, validation=0.2, test=10)
        SplitPoints(train_end=70, validation_end=90, length=100)
    """
    length = check_int("length", length, minimum=1)
    num_validation = _segment_size("validation", validation, length)
    num_test = _segment_size("test", test, length)
    train_end = length - num_validation - num_test
    if train_end <= 0:
        raise ValueError(
            f"validation + test must leave training data: validation={validation!r} and test={test!r} "
            f"take {num_validation + num_test} of {length} time steps (fractions must sum to less than 1)"
        )
    return SplitPoints(
        train_end=train_end, validation_end=train_end + num_validation, length=length
    )


def chronological_split(
    values: ArrayLike,
    lookback: int,
    horizon: int,
    *,
    validation: float | int = 0.2,
    test: float | int = 0.2,
    stride: int = 1,
    target_columns: int | Sequence[int] | None = None,
    past_covariates: ArrayLike | None = None,
    future_covariates: ArrayLike | None = None,
    panel: bool = False,
    nan_policy: NanPolicy = "raise",
    name: str = "series",
    dtype: DTypeLike = np.float32,
) -> Split:
    """Windows a series (or panel) and splits them in time without leaking the future.

    The time axis is cut by :func:`split_points`; a window belongs to the split
    whose segment holds all of its targets, and windows whose targets straddle a
    cut are discarded. Inputs may reach back into earlier segments. For a panel
    the same cut points apply to every series. Within each split, window starts
    are ``stride`` apart beginning at the segment's first admissible step.

    Fit any scaler on the training segment only, before windowing::

        points = split_points(len(y), validation=0.2, test=0.2)
        scaler = fit_standard_scaler(y[: points.train_end])
        split = chronological_split(transform(scaler, y), 24, 12, validation=0.2, test=0.2)

    Args:
        values: As for :func:`sliding_windows`.
        lookback: Number of past steps each window sees (>= 1).
        horizon: Number of future steps each window predicts (>= 1).
        validation: Validation segment size, fraction (float) or count (int).
        test: Test segment size, fraction (float) or count (int).
        stride: Steps between consecutive window starts (>= 1).
        target_columns: As for :func:`sliding_windows`.
        past_covariates: As for :func:`sliding_windows`.
        future_covariates: As for :func:`sliding_windows`.
        panel: As for :func:`sliding_windows`.
        nan_policy: As for :func:`sliding_windows`; the cut points are computed
            on the series after any ``"drop"``.
        name: Name of the series, used in error messages.
        dtype: Floating dtype of the returned arrays.

    Returns:
        A :class:`Split` of train, validation and test :class:`Windows`.

    Raises:
        ValueError: As :func:`sliding_windows` and :func:`split_points`, and if
            the training segment is shorter than ``lookback + horizon`` or a
            non-empty validation or test segment is shorter than ``horizon``.
        TypeError: As :func:`sliding_windows` and :func:`split_points`.

    Examples:
        >>> split = chronological_split(np.arange(20.0), lookback=4, horizon=2, validation=4, test=4)
        >>> split.points
        SplitPoints(train_end=12, validation_end=16, length=20)
        >>> [s.target_start.tolist() for s in split[:3]]
        [[4, 5, 6, 7, 8, 9, 10], [12, 13, 14], [16, 17, 18]]
    """
    resolved_dtype = _check_window_arguments(lookback, horizon, stride, dtype)
    prepared = _prepare(
        values, past_covariates, future_covariates, target_columns, panel, nan_policy, name
    )
    points = split_points(prepared.values.shape[1], validation=validation, test=test)
    if points.train_end < lookback + horizon:
        raise ValueError(
            f"the training segment of series {name!r} has {points.train_end} time steps, fewer than "
            f"lookback + horizon = {lookback + horizon}; use a longer series or smaller validation/test"
        )
    segments = {
        "validation": (points.train_end, points.validation_end),
        "test": (points.validation_end, points.length),
    }
    for segment, (start, end) in segments.items():
        if 0 < end - start < horizon:
            raise ValueError(
                f"the {segment} segment of series {name!r} has {end - start} time steps, fewer than "
                f"horizon = {horizon}, so it holds no complete target window; enlarge {segment} or set it to 0"
            )

    def cut(start: int, end: int) -> Windows:
        return _cut(prepared, lookback, horizon, stride, start, end, resolved_dtype)

    return Split(
        train=cut(0, points.train_end),
        validation=cut(points.train_end, points.validation_end),
        test=cut(points.validation_end, points.length),
        points=points,
    )
