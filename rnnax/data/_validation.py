"""Missing (NaN or Inf) values in a series, and the data-specific argument checks.

The :data:`NanPolicy` says how a series' non-finite values are treated;
:func:`handle_missing` applies it. The generic checks (integers, reals, choices,
bools) live in :mod:`rnnax._checks`; the checks here are the ones only
:mod:`rnnax.data` needs: the ``nan_policy`` argument and the conversion of
user input to a floating-point array (:func:`as_float_array`). Non-finite values
are never passed on silently.
"""

from __future__ import annotations

from typing import Literal, cast, get_args

import numpy as np
from numpy.typing import ArrayLike

from rnnax._checks import check_choice

NanPolicy = Literal["raise", "ffill", "interpolate", "drop"]
"""How non-finite values (NaN, +Inf, -Inf) in a series are treated.

* ``"raise"``: raise a :class:`ValueError` naming the series and the first
  offending time positions (the default everywhere).
* ``"ffill"``: carry the last finite value forward; a leading run of missing
  values, having nothing before it, takes the first finite value.
* ``"interpolate"``: linear interpolation in time between the nearest finite
  neighbours; leading and trailing runs take the nearest finite value.
* ``"drop"``: remove every time step at which any feature is non-finite.
"""

NAN_POLICIES: tuple[str, ...] = get_args(NanPolicy)

# How many bad positions an error message lists before it elides the rest.
_MAX_POSITIONS_SHOWN = 10


def check_nan_policy(nan_policy: object) -> NanPolicy:
    """Returns ``nan_policy`` after checking that it is one of :data:`NAN_POLICIES`.

    Raises:
        TypeError: If ``nan_policy`` is not a string.
        ValueError: If it is a string but not a known policy.
    """
    return cast(NanPolicy, check_choice("nan_policy", nan_policy, NAN_POLICIES))


def as_float_array(name: str, values: ArrayLike) -> np.ndarray:
    """Converts the argument ``name`` to a floating-point numpy array, keeping float precision.

    Integer and boolean input becomes ``float64``; float input keeps its dtype.

    Raises:
        TypeError: If ``values`` cannot be read as a numeric (real) array.
    """
    try:
        array = np.asarray(values)
    except (TypeError, ValueError) as error:  # ragged nested lists, for instance
        raise TypeError(f"{name} must be a numeric array, could not convert it: {error}") from None
    if array.dtype.kind in "biu":
        return array.astype(np.float64)
    if array.dtype.kind != "f":
        raise TypeError(f"{name} must be a numeric (real) array, got dtype {array.dtype}")
    return array


def nonfinite_positions(values: np.ndarray) -> np.ndarray:
    """Time positions (indices along axis 0) at which any feature is NaN or Inf.

    Args:
        values: Array of shape ``[T]`` or ``[T, D]``.

    Returns:
        Sorted ``int64`` indices into the time axis.

    Examples:
        >>> nonfinite_positions(np.array([1.0, np.nan, 3.0, np.inf]))
        array([1, 3])
    """
    bad = ~np.isfinite(values)
    if values.ndim > 1:
        bad = bad.reshape(values.shape[0], -1).any(axis=1)
    return np.flatnonzero(bad)


def _describe_positions(positions: np.ndarray) -> str:
    shown = ", ".join(str(int(p)) for p in positions[:_MAX_POSITIONS_SHOWN])
    more = ", ..." if positions.size > _MAX_POSITIONS_SHOWN else ""
    return f"[{shown}{more}]"


def handle_missing(
    values: ArrayLike,
    *,
    nan_policy: NanPolicy = "raise",
    name: str = "series",
    sample_times: ArrayLike | None = None,
) -> np.ndarray:
    """Applies a missing-value policy to one series along its time axis (axis 0).

    NaN, +Inf and -Inf all count as missing. The input is never modified.

    Args:
        values: One series, shape ``[T]`` or ``[T, D]``.
        nan_policy: One of ``"raise"`` (default), ``"ffill"``, ``"interpolate"``
            or ``"drop"``; see :data:`NanPolicy`.
        name: Name of the series, used in error messages.
        sample_times: Optional increasing numeric times of the ``T`` samples, used
            by ``"interpolate"`` for irregularly spaced series. Defaults to
            ``0, 1, ..., T - 1``.

    Returns:
        A float array with no non-finite value: of the same shape as ``values``,
        or with fewer rows under ``"drop"``.

    Raises:
        ValueError: Under ``"raise"`` if any value is non-finite (the message
            names the series and the first bad time positions); under the fill
            policies if a feature has no finite value at all; for a wrong
            rank or bad ``sample_times``; or if ``nan_policy`` is unknown.
        TypeError: If ``values`` is not a numeric array or ``nan_policy`` is
            not a string.

    Examples:
        >>> y = np.array([1.0, np.nan, 3.0, np.nan])
        >>> handle_missing(y, nan_policy="ffill")
        array([1., 1., 3., 3.])
        >>> handle_missing(y, nan_policy="interpolate")
        array([1., 2., 3., 3.])
        >>> handle_missing(y, nan_policy="drop")
        array([1., 3.])
        >>> handle_missing(y, name="demo")
        Traceback (most recent call last):
        ...
        ValueError: series 'demo' has 2 non-finite values (NaN or Inf) at time positions [1, 3]; pass nan_policy='ffill', 'interpolate' or 'drop' to fill or remove them explicitly
    """
    nan_policy = check_nan_policy(nan_policy)
    array = as_float_array("values", values)
    if array.ndim not in (1, 2):
        raise ValueError(
            f"values of series {name!r} must have shape [T] or [T, D], got shape {array.shape}"
        )
    return apply_nan_policy(array, nan_policy, name=name, sample_times=sample_times)


def apply_nan_policy(
    array: np.ndarray,
    nan_policy: NanPolicy,
    *,
    name: str,
    sample_times: ArrayLike | None = None,
) -> np.ndarray:
    """:func:`handle_missing` for a float array ``[T]`` or ``[T, D]`` and a checked policy.

    ``sample_times`` is checked here, where it is used: only when a value must be
    interpolated.
    """
    bad_positions = nonfinite_positions(array)
    if bad_positions.size == 0:
        return array.copy()
    if nan_policy == "raise":
        raise ValueError(
            f"series {name!r} has {int((~np.isfinite(array)).sum())} non-finite values (NaN or Inf) "
            f"at time positions {_describe_positions(bad_positions)}; pass nan_policy='ffill', "
            "'interpolate' or 'drop' to fill or remove them explicitly"
        )
    if nan_policy == "drop":
        keep = np.ones(array.shape[0], dtype=bool)
        keep[bad_positions] = False
        return array[keep]
    times = _sample_times(sample_times, array.shape[0])
    columns = array.reshape(array.shape[0], -1)
    filled = np.empty_like(columns)
    for column_index in range(columns.shape[1]):
        column = columns[:, column_index]
        finite = np.isfinite(column)
        if not finite.any():
            raise ValueError(
                f"feature {column_index} of series {name!r} has no finite value, "
                f"so nan_policy={nan_policy!r} has nothing to fill from"
            )
        filled[:, column_index] = _fill_column(column, finite, times, nan_policy)
    return filled.reshape(array.shape)


def _sample_times(sample_times: ArrayLike | None, length: int) -> np.ndarray:
    """The checked ``sample_times`` as float64 ``[T]``; ``0, 1, ..., T - 1`` if ``None``."""
    if sample_times is None:
        return np.arange(length, dtype=np.float64)
    times = as_float_array("sample_times", sample_times).astype(np.float64)
    if times.shape != (length,):
        raise ValueError(
            f"sample_times must have shape ({length},) to match the series, got {times.shape}"
        )
    expected = "sample_times must be finite and strictly increasing"
    nonfinite = np.flatnonzero(~np.isfinite(times))
    if nonfinite.size:
        raise ValueError(f"{expected}, got {times[nonfinite[0]]} at position {nonfinite[0]}")
    not_increasing = np.flatnonzero(np.diff(times) <= 0)
    if not_increasing.size:
        position = not_increasing[0] + 1
        raise ValueError(
            f"{expected}, got {times[position]} at position {position} after {times[position - 1]}"
        )
    return times


def _fill_column(
    column: np.ndarray, finite: np.ndarray, times: np.ndarray, nan_policy: NanPolicy
) -> np.ndarray:
    """One feature with its non-finite values filled by ``"interpolate"`` or ``"ffill"``."""
    if nan_policy == "interpolate":
        # np.interp holds the end values constant outside the finite range.
        return np.interp(times, times[finite], column[finite])
    last_finite = np.where(finite, np.arange(column.size), -1)
    np.maximum.accumulate(last_finite, out=last_finite)
    # A leading gap has nothing to carry forward: use the first finite value.
    last_finite[last_finite < 0] = np.argmax(finite)
    return column[last_finite]
