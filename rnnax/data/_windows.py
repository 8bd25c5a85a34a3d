"""Sliding windows for supervised sequence-to-sequence forecasting, and leak-free splits.

A window starting its forecast at time ``t`` pairs the ``lookback`` steps
``[t - lookback, t)`` (the inputs, with any past covariates) with the
``horizon`` steps ``[t, t + horizon)`` (the targets, with any future
covariates). Consecutive windows are ``stride`` steps apart.

A panel of several series is an array ``[N, T(, D)]`` of equally long series, or
a ragged sequence (a list or tuple) of series of different lengths ``[T_i(, D)]``.
Every series is aligned at its own start: its time index ``0`` is its own first
step, whatever calendar date that is, and its windows are cut from its own
steps only. Each series may carry static covariates (one row ``[S]`` per series,
such as a store's size or a product's category), copied to each of its windows.

:func:`chronological_split` cuts the time axis at two points into a training,
a validation and a test segment and keeps, for each split, only the windows
whose *targets* lie wholly inside its segment. A window's inputs may reach back
into earlier segments (that is information available at forecast time), but no
target of a split ever comes from a later segment, and every test target lies
strictly after every validation target, which lies strictly after every
training target. :func:`panel_split` does the same for a ragged panel, cutting
each series at its own points (fractions or counts of its own length) and
pooling the windows of each segment.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, NamedTuple

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
            target step, counted from the start of its own series; its targets
            are steps ``[target_start, target_start + horizon)``.
        static_covariates: ``[W, S]``, the static covariates of each window's
            series, or ``None`` if none were given.
    """

    inputs: np.ndarray
    targets: np.ndarray
    past_covariates: np.ndarray | None
    future_covariates: np.ndarray | None
    series_index: np.ndarray
    target_start: np.ndarray
    static_covariates: np.ndarray | None = None


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


class PanelSplit(NamedTuple):
    """Train, validation and test windows of a panel whose series are split at their own points.

    Attributes:
        train: The training windows of every series, series after series.
        validation: The validation windows of every series (``W = 0`` if the
            validation segments are empty).
        test: The test windows of every series.
        points: One :class:`SplitPoints` per series, in the panel's order.
    """

    train: Windows
    validation: Windows
    test: Windows
    points: tuple[SplitPoints, ...]


class _Prepared(NamedTuple):
    """Series brought to [T_i, features] float arrays, one per series, missing values handled.

    Attributes:
        values: ``[T_i, D]`` per series.
        past_covariates: ``[T_i, D_past]`` per series, or ``None``.
        future_covariates: ``[T_i, D_future]`` per series, or ``None``.
        static_covariates: ``[N, S]``, or ``None``.
        target_columns: the target feature indices.
        ragged: whether the panel was given as a sequence of series (their lengths may differ).
    """

    values: list[np.ndarray]
    past_covariates: list[np.ndarray] | None
    future_covariates: list[np.ndarray] | None
    static_covariates: np.ndarray | None
    target_columns: np.ndarray
    ragged: bool


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


def _is_ragged(values: object, panel: bool) -> bool:
    """Whether ``values`` is a panel given as a sequence of series (a list or tuple)."""
    return panel and isinstance(values, (list, tuple))


def _array_series(values: ArrayLike, panel: bool, name: str) -> list[np.ndarray]:
    """A single series or an [N, T(, D)] panel as a list of [T, D] series."""
    main = _to_panel("values", as_float_array("values", values), panel)
    if 0 in main.shape:
        raise ValueError(
            f"values of series {name!r} must hold at least one series, time step and feature, "
            f"got shape {np.shape(values)}"
        )
    return list(main)


def _sequence_series(values: Sequence[ArrayLike], name: str) -> list[np.ndarray]:
    """A ragged panel (a sequence of [T_i] or [T_i, D] series) as a list of [T_i, D] series."""
    if len(values) == 0:
        raise ValueError(
            f"values of series {name!r} must hold at least one series, time step and feature, "
            f"got an empty {type(values).__name__}"
        )
    series: list[np.ndarray] = []
    for index, item in enumerate(values):
        array = _sequence_item(f"values[{index}]", item)
        if 0 in array.shape:
            raise ValueError(
                f"values[{index}] of series {name!r} must hold at least one time step and "
                f"feature, got shape {np.shape(item)}"
            )
        if series and array.shape[1] != series[0].shape[1]:
            raise ValueError(
                f"every series of a panel must have the same features: values[{index}] has "
                f"{array.shape[1]}, values[0] has {series[0].shape[1]}"
            )
        series.append(array)
    return series


def _sequence_item(name: str, item: ArrayLike) -> np.ndarray:
    """One series of a ragged panel, [T] or [T, D], as a [T, D] float array."""
    array = as_float_array(name, item)
    if array.ndim not in (1, 2):
        raise ValueError(
            f"{name} must have shape [T] or [T, D] (one series of the panel), got shape {array.shape}"
        )
    return array[:, None] if array.ndim == 1 else array


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
    values: ArrayLike | Sequence[ArrayLike],
    past_covariates: ArrayLike | Sequence[ArrayLike] | None,
    future_covariates: ArrayLike | Sequence[ArrayLike] | None,
    static_covariates: ArrayLike | None,
    target_columns: int | Sequence[int] | None,
    panel: bool,
    nan_policy: NanPolicy,
    name: str,
) -> _Prepared:
    """Checks the series arguments of the windowing functions and handles missing values."""
    nan_policy = check_nan_policy(nan_policy)
    panel = check_bool("panel", panel)
    ragged = _is_ragged(values, panel)
    series = (
        _sequence_series(values, name)  # type: ignore[arg-type]
        if ragged
        else _array_series(values, panel, name)  # type: ignore[arg-type]
    )
    covariates = {"past_covariates": past_covariates, "future_covariates": future_covariates}
    extras = (
        _sequence_covariates(covariates, series)
        if ragged
        else _array_covariates(covariates, len(series), series[0].shape[0], panel)
    )
    static = _static_covariates(static_covariates, len(series), panel)
    if nan_policy == "drop":
        if panel:
            raise ValueError(
                "nan_policy='drop' is not supported with panel=True: dropping time steps would "
                "misalign the series; use 'ffill' or 'interpolate'"
            )
        # Drop a time step from the series and its covariates together, keeping them aligned.
        stacked = np.concatenate([series[0]] + [arrays[0] for arrays in extras.values()], axis=1)
        keep = np.isfinite(stacked).all(axis=1)
        series = [series[0][keep]]
        extras = {argument: [arrays[0][keep]] for argument, arrays in extras.items()}
    else:
        series = _fill_panel(series, nan_policy, name, panel)
        extras = {
            argument: _fill_panel(arrays, nan_policy, name, panel, f" {argument}")
            for argument, arrays in extras.items()
        }
    return _Prepared(
        values=series,
        past_covariates=extras.get("past_covariates"),
        future_covariates=extras.get("future_covariates"),
        static_covariates=static,
        target_columns=_check_target_columns(target_columns, series[0].shape[1]),
        ragged=ragged,
    )


def _array_covariates(
    covariates: dict[str, Any],
    num_series: int,
    length: int,
    panel: bool,
) -> dict[str, list[np.ndarray]]:
    """The covariates given (not ``None``) as [T, features] arrays per series, aligned with
    the values of a single series or an array panel."""
    extras: dict[str, list[np.ndarray]] = {}
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
        extras[argument] = list(array)
    return extras


def _sequence_covariates(
    covariates: dict[str, Any], series: list[np.ndarray]
) -> dict[str, list[np.ndarray]]:
    """The covariates given (not ``None``) of a ragged panel: one [T_i, features] array per
    series, from a sequence of arrays or (equal lengths only) an [N, T(, D)] array."""
    extras: dict[str, list[np.ndarray]] = {}
    for argument, covariate in covariates.items():
        if covariate is None:
            continue
        items = covariate if isinstance(covariate, (list, tuple)) else None
        if items is None:
            array = as_float_array(argument, covariate)
            if array.ndim not in (2, 3):
                raise ValueError(
                    f"{argument} of a panel given as a sequence of series must be a sequence of "
                    f"one array per series (or an [N, T] or [N, T, D] array), got shape {array.shape}"
                )
            items = list(array)
        if len(items) != len(series):
            raise ValueError(
                f"{argument} must hold one array per series of values ({len(series)}), "
                f"got {len(items)}"
            )
        arrays: list[np.ndarray] = []
        for index, (item, values) in enumerate(zip(items, series, strict=True)):
            array = _sequence_item(f"{argument}[{index}]", item)
            if array.shape[0] != values.shape[0]:
                raise ValueError(
                    f"{argument}[{index}] must cover the same time steps as values[{index}], "
                    f"expected shape [{values.shape[0]}, ...], got {np.shape(item)}"
                )
            if arrays and array.shape[1] != arrays[0].shape[1]:
                raise ValueError(
                    f"every series must have the same {argument}: {argument}[{index}] has "
                    f"{array.shape[1]} features, {argument}[0] has {arrays[0].shape[1]}"
                )
            arrays.append(array)
        extras[argument] = arrays
    return extras


def _static_covariates(
    static_covariates: ArrayLike | None, num_series: int, panel: bool
) -> np.ndarray | None:
    """The static covariates as a finite [N, S] array (``[S]`` for a single series)."""
    if static_covariates is None:
        return None
    array = as_float_array("static_covariates", static_covariates)
    if panel and (array.ndim != 2 or array.shape[0] != num_series):
        raise ValueError(
            f"static_covariates must have shape [N={num_series}, S], one row per series of the "
            f"panel, got shape {array.shape}"
        )
    if not panel and array.ndim != 1:
        raise ValueError(
            "static_covariates must have shape [S] for one series (pass panel=True for a "
            f"panel's [N, S]), got shape {array.shape}"
        )
    array = array.reshape(num_series, -1)
    if array.shape[1] == 0:
        raise ValueError(
            f"static_covariates must hold at least one covariate per series, got shape "
            f"{np.shape(static_covariates)}"
        )
    bad = np.flatnonzero(~np.isfinite(array).all(axis=1))
    if bad.size:
        raise ValueError(
            "static_covariates must be finite (nan_policy does not fill them), got NaN or Inf "
            f"in the rows of series {bad[:10].tolist()}"
        )
    return array


def _fill_panel(
    arrays: list[np.ndarray], nan_policy: NanPolicy, name: str, panel: bool, suffix: str = ""
) -> list[np.ndarray]:
    """Applies a fill policy (or ``"raise"``) to each series [T, features] of a panel; errors
    name the series ``name`` (with its index in a panel) followed by ``suffix``."""
    return [
        apply_nan_policy(series, nan_policy, name=_series_name(name, index, panel) + suffix)
        for index, series in enumerate(arrays)
    ]


def _series_name(name: str, index: int, panel: bool) -> str:
    return f"{name}[{index}]" if panel else name


def _cut(
    prepared: _Prepared,
    lookback: int,
    horizon: int,
    stride: int,
    bounds: Sequence[tuple[int, int]],
    dtype: np.dtype,
) -> Windows:
    """Windows whose targets lie in ``[first_target, target_end)`` of each series, given as
    ``bounds[i] = (first_target, target_end)``, starts ``stride`` apart."""
    input_offsets = np.arange(-lookback, 0, dtype=np.int64)[None, :]
    target_offsets = np.arange(horizon, dtype=np.int64)[None, :]
    starts: list[np.ndarray] = []
    pieces: dict[str, list[np.ndarray]] = {
        key: [] for key in ("inputs", "targets", "past", "future")
    }
    for index, (values, (first_target, target_end)) in enumerate(
        zip(prepared.values, bounds, strict=True)
    ):
        # The last admissible first-target index is target_end - horizon.
        series_starts = np.arange(
            max(first_target, lookback), target_end - horizon + 1, stride, dtype=np.int64
        )
        input_rows = series_starts[:, None] + input_offsets  # [W_i, lookback]
        target_rows = series_starts[:, None] + target_offsets  # [W_i, horizon]
        starts.append(series_starts)
        pieces["inputs"].append(values[input_rows])
        pieces["targets"].append(values[:, prepared.target_columns][target_rows])
        if prepared.past_covariates is not None:
            pieces["past"].append(prepared.past_covariates[index][input_rows])
        if prepared.future_covariates is not None:
            pieces["future"].append(prepared.future_covariates[index][target_rows])

    def stack(key: str) -> np.ndarray | None:
        return np.concatenate(pieces[key]).astype(dtype) if pieces[key] else None

    counts = [series_starts.size for series_starts in starts]
    series_index = np.repeat(np.arange(len(starts), dtype=np.int64), counts)
    static = prepared.static_covariates
    return Windows(
        inputs=np.concatenate(pieces["inputs"]).astype(dtype),
        targets=np.concatenate(pieces["targets"]).astype(dtype),
        past_covariates=stack("past"),
        future_covariates=stack("future"),
        series_index=series_index,
        target_start=np.concatenate(starts),
        static_covariates=None if static is None else static[series_index].astype(dtype),
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
    values: ArrayLike | Sequence[ArrayLike],
    lookback: int,
    horizon: int,
    *,
    stride: int = 1,
    target_columns: int | Sequence[int] | None = None,
    past_covariates: ArrayLike | Sequence[ArrayLike] | None = None,
    future_covariates: ArrayLike | Sequence[ArrayLike] | None = None,
    static_covariates: ArrayLike | None = None,
    panel: bool = False,
    nan_policy: NanPolicy = "raise",
    name: str = "series",
    dtype: DTypeLike = np.float32,
) -> Windows:
    """Cuts every (lookback, horizon) window from a series or a panel of series.

    Args:
        values: One series ``[T]`` or ``[T, D]``; or with ``panel=True`` a panel:
            an array ``[N, T]`` or ``[N, T, D]`` of equally long series, or a
            sequence (list or tuple) of ``N`` series ``[T_i]`` or ``[T_i, D]`` of
            any lengths (a ragged panel; every series has the same ``D``
            features and is aligned at its own start).
        lookback: Number of past steps each window sees (>= 1).
        horizon: Number of future steps each window predicts (>= 1).
        stride: Steps between the starts of consecutive windows (>= 1).
        target_columns: Feature index or indices forming the targets; all
            features by default. The inputs always hold all features.
        past_covariates: Extra inputs known only up to the forecast time,
            aligned with ``values`` (``[T]``/``[T, D_past]``, or ``[N, T(, D_past)]``
            for a panel; for a ragged panel a sequence of one ``[T_i(, D_past)]``
            array per series); windowed over the lookback.
        future_covariates: Extra inputs known in advance (calendar features,
            planned events), aligned the same way; windowed over the horizon.
        static_covariates: Features of each series that do not change in time:
            ``[S]`` for one series, ``[N, S]`` (one row per series) for a
            panel; each window carries its series' row. Must be finite.
        panel: Whether ``values`` is a panel with the series on axis 0 (or a
            sequence of series).
        nan_policy: Treatment of NaN/Inf in ``values`` and covariates, see
            :data:`rnnax.data.NanPolicy`; ``"drop"`` removes the affected time
            steps from series and covariates together (single series only),
            so windows may then straddle the removed steps.
        name: Name of the series, used in error messages.
        dtype: Floating dtype of the returned arrays (``float32`` suits JAX).

    Returns:
        :class:`Windows`, with ``(T_i - lookback - horizon) // stride + 1``
        windows from each series (``W = N * ((T - lookback - horizon) // stride + 1)``
        for equally long series).

    Raises:
        ValueError: For wrong ranks or mismatched covariate shapes, non-positive
            ``lookback``/``horizon``/``stride``, a series shorter than
            ``lookback + horizon`` (in a ragged panel, the message names its
            index: leave it out of the panel, no series is skipped silently),
            bad ``target_columns``, non-finite values under ``nan_policy="raise"``,
            or static covariates of the wrong shape or not finite.
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

        A ragged panel of two series, with a static covariate per series:

        >>> ragged = sliding_windows(
        ...     [np.arange(6.0), np.arange(8.0)], 3, 2, panel=True, static_covariates=[[1.0], [2.0]])
        >>> ragged.series_index.tolist(), ragged.target_start.tolist()
        ([0, 0, 1, 1, 1, 1], [3, 4, 3, 4, 5, 6])
        >>> ragged.static_covariates[:, 0].tolist()
        [1.0, 1.0, 2.0, 2.0, 2.0, 2.0]
    """
    resolved_dtype = _check_window_arguments(lookback, horizon, stride, dtype)
    prepared = _prepare(
        values,
        past_covariates,
        future_covariates,
        static_covariates,
        target_columns,
        panel,
        nan_policy,
        name,
    )
    for index, series in enumerate(prepared.values):
        length = series.shape[0]
        if length < lookback + horizon:
            which = f"{name}[{index}]" if prepared.ragged else name
            hint = "; leave it out of the panel" if prepared.ragged else ""
            raise ValueError(
                f"series {which!r} has {length} time steps, fewer than lookback + horizon = "
                f"{lookback + horizon}{hint}"
            )
    bounds = [(lookback, series.shape[0]) for series in prepared.values]
    return _cut(prepared, lookback, horizon, stride, bounds, resolved_dtype)


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


def _segment_points(
    length: int,
    validation: float | int,
    test: float | int,
    lookback: int,
    horizon: int,
    which: str,
    *,
    name_every_error: bool = False,
) -> SplitPoints:
    """The split points of series ``which`` of ``length`` steps, checked to leave a training
    segment of at least one window and no validation or test segment too short for one target
    window; with ``name_every_error``, the errors of :func:`split_points` name the series too."""
    try:
        points = split_points(length, validation=validation, test=test)
    except ValueError as error:
        if not name_every_error:
            raise
        raise ValueError(f"series {which!r} ({length} time steps): {error}") from None
    if points.train_end < lookback + horizon:
        raise ValueError(
            f"the training segment of series {which!r} has {points.train_end} time steps, fewer than "
            f"lookback + horizon = {lookback + horizon}; use a longer series or smaller validation/test"
        )
    segments = {
        "validation": (points.train_end, points.validation_end),
        "test": (points.validation_end, points.length),
    }
    for segment, (start, end) in segments.items():
        if 0 < end - start < horizon:
            raise ValueError(
                f"the {segment} segment of series {which!r} has {end - start} time steps, fewer than "
                f"horizon = {horizon}, so it holds no complete target window; enlarge {segment} or set it to 0"
            )
    return points


def _split_windows(
    prepared: _Prepared,
    points: Sequence[SplitPoints],
    lookback: int,
    horizon: int,
    stride: int,
    dtype: np.dtype,
) -> tuple[Windows, Windows, Windows]:
    """The train, validation and test windows of the series, each cut at its own ``points``."""
    segments = [
        [(0, p.train_end), (p.train_end, p.validation_end), (p.validation_end, p.length)]
        for p in points
    ]
    train, validation, test = (
        _cut(prepared, lookback, horizon, stride, [bounds[segment] for bounds in segments], dtype)
        for segment in range(3)
    )
    return train, validation, test


def chronological_split(
    values: ArrayLike | Sequence[ArrayLike],
    lookback: int,
    horizon: int,
    *,
    validation: float | int = 0.2,
    test: float | int = 0.2,
    stride: int = 1,
    target_columns: int | Sequence[int] | None = None,
    past_covariates: ArrayLike | Sequence[ArrayLike] | None = None,
    future_covariates: ArrayLike | Sequence[ArrayLike] | None = None,
    static_covariates: ArrayLike | None = None,
    panel: bool = False,
    nan_policy: NanPolicy = "raise",
    name: str = "series",
    dtype: DTypeLike = np.float32,
) -> Split:
    """Windows a series (or panel) and splits them in time without leaking the future.

    The time axis is cut by :func:`split_points`; a window belongs to the split
    whose segment holds all of its targets, and windows whose targets straddle a
    cut are discarded. Inputs may reach back into earlier segments. For a panel
    the same cut points apply to every series (so its series must be equally
    long; :func:`panel_split` cuts each series of a ragged panel at its own
    points). Within each split, window starts are ``stride`` apart beginning at
    the segment's first admissible step.

    Fit any scaler on the training segment only, before windowing::

        points = split_points(len(y), validation=0.2, test=0.2)
        scaler = fit_standard_scaler(y[: points.train_end])
        split = chronological_split(transform(scaler, y), 24, 12, validation=0.2, test=0.2)

    Args:
        values: As for :func:`sliding_windows` (a sequence of series must hold
            equally long series here).
        lookback: Number of past steps each window sees (>= 1).
        horizon: Number of future steps each window predicts (>= 1).
        validation: Validation segment size, fraction (float) or count (int).
        test: Test segment size, fraction (float) or count (int).
        stride: Steps between consecutive window starts (>= 1).
        target_columns: As for :func:`sliding_windows`.
        past_covariates: As for :func:`sliding_windows`.
        future_covariates: As for :func:`sliding_windows`.
        static_covariates: As for :func:`sliding_windows`.
        panel: As for :func:`sliding_windows`.
        nan_policy: As for :func:`sliding_windows`; the cut points are computed
            on the series after any ``"drop"``.
        name: Name of the series, used in error messages.
        dtype: Floating dtype of the returned arrays.

    Returns:
        A :class:`Split` of train, validation and test :class:`Windows`.

    Raises:
        ValueError: As :func:`sliding_windows` and :func:`split_points`, if
            the training segment is shorter than ``lookback + horizon`` or a
            non-empty validation or test segment is shorter than ``horizon``,
            and for a sequence of series of different lengths.
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
        values,
        past_covariates,
        future_covariates,
        static_covariates,
        target_columns,
        panel,
        nan_policy,
        name,
    )
    lengths = sorted({series.shape[0] for series in prepared.values})
    if len(lengths) > 1:
        raise ValueError(
            f"chronological_split cuts every series of a panel at the same time points, but the "
            f"series of {name!r} have different lengths ({lengths[0]} to {lengths[-1]} time "
            "steps); use panel_split, which cuts each series at its own points"
        )
    points = _segment_points(lengths[0], validation, test, lookback, horizon, name)
    train, validation_windows, test_windows = _split_windows(
        prepared, [points] * len(prepared.values), lookback, horizon, stride, resolved_dtype
    )
    return Split(train=train, validation=validation_windows, test=test_windows, points=points)


def panel_split(
    values: ArrayLike | Sequence[ArrayLike],
    lookback: int,
    horizon: int,
    *,
    validation: float | int = 0.2,
    test: float | int = 0.2,
    stride: int = 1,
    target_columns: int | Sequence[int] | None = None,
    past_covariates: ArrayLike | Sequence[ArrayLike] | None = None,
    future_covariates: ArrayLike | Sequence[ArrayLike] | None = None,
    static_covariates: ArrayLike | None = None,
    nan_policy: NanPolicy = "raise",
    name: str = "series",
    dtype: DTypeLike = np.float32,
) -> PanelSplit:
    """Splits every series of a (ragged) panel in time at its own points, pooling the windows.

    Each series ``i`` is cut by ``split_points(T_i, validation=validation, test=test)``:
    a fraction is a fraction of its own length, a count the same number of steps
    at the end of every series. Its windows are assigned to the segments as by
    :func:`chronological_split`, and the windows of all series are pooled per
    segment (series after series), so no target of any series leaks into an
    earlier segment of that series. Series are aligned at their own starts;
    their segments need not cover the same calendar dates. For equally long
    series this gives the windows :func:`chronological_split` gives with
    ``panel=True``.

    Fit scalers on each series' training segment only (``values[i][: split.points[i].train_end]``).

    Args:
        values: A panel: a sequence (list or tuple) of ``N`` series ``[T_i]`` or
            ``[T_i, D]``, or an array ``[N, T]`` or ``[N, T, D]``.
        lookback: Number of past steps each window sees (>= 1).
        horizon: Number of future steps each window predicts (>= 1).
        validation: Validation segment size of each series, fraction (float) or count (int).
        test: Test segment size of each series, fraction (float) or count (int).
        stride: Steps between consecutive window starts (>= 1).
        target_columns: As for :func:`sliding_windows`.
        past_covariates: As for :func:`sliding_windows` with ``panel=True``.
        future_covariates: As for :func:`sliding_windows` with ``panel=True``.
        static_covariates: ``[N, S]``, one row per series (see :func:`sliding_windows`).
        nan_policy: As for :func:`sliding_windows`, except ``"drop"`` (not for panels).
        name: Name of the panel, used in error messages (series ``i`` is ``name[i]``).
        dtype: Floating dtype of the returned arrays.

    Returns:
        A :class:`PanelSplit` whose ``points`` holds each series' :class:`SplitPoints`.

    Raises:
        ValueError: As :func:`chronological_split`, naming the series whose
            length does not allow the split (no series is skipped silently).
        TypeError: As :func:`chronological_split`.

    Examples:
        >>> split = panel_split([np.arange(20.0), np.arange(30.0)], 4, 2, validation=4, test=0.2)
        >>> [tuple(p) for p in split.points]
        [(12, 16, 20), (20, 24, 30)]
        >>> split.test.series_index.tolist(), split.test.target_start.tolist()
        ([0, 0, 0, 1, 1, 1, 1, 1], [16, 17, 18, 24, 25, 26, 27, 28])
    """
    resolved_dtype = _check_window_arguments(lookback, horizon, stride, dtype)
    prepared = _prepare(
        values,
        past_covariates,
        future_covariates,
        static_covariates,
        target_columns,
        True,
        nan_policy,
        name,
    )
    points = tuple(
        _segment_points(
            series.shape[0],
            validation,
            test,
            lookback,
            horizon,
            f"{name}[{index}]",
            name_every_error=True,
        )
        for index, series in enumerate(prepared.values)
    )
    train, validation_windows, test_windows = _split_windows(
        prepared, points, lookback, horizon, stride, resolved_dtype
    )
    return PanelSplit(train=train, validation=validation_windows, test=test_windows, points=points)
