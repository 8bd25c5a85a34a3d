"""Per-feature scalers fitted on training data only, as pure functions.

Each ``fit_*`` function returns an immutable :class:`Scaler` holding the
statistics, and :func:`transform` / :func:`inverse_transform` apply them. All
three scalers are affine maps ``(x - center) / scale``, so one pair of pure
functions serves them all, for numpy and JAX arrays (and inside ``jax.jit``;
a :class:`Scaler` is a pytree).

Fit on the training part of a chronological split only; fitting on the whole
series would leak the future's level and spread into the training inputs.

Feature layout: a 1-D input ``[T]`` is one feature, and its statistics are 0-d.
For input with two or more axes the *last* axis holds the features and the
statistics, of shape ``[D]``, are taken over all other axes (``[T, D]``, or a
panel ``[N, T, D]`` pooled over series and time). To scale a panel ``[N, T]``
of univariate series with one shared scaler, reshape it to ``[N, T, 1]``.

Constant features: when a feature's spread statistic is zero (a constant
feature, or a robust scaler whose inter-quantile range is zero), its ``scale``
is set to 1, so the transform only shifts that feature (to 0 for the standard
and robust scalers, to the lower end of ``feature_range`` for min-max) and never
divides by zero. The inverse stays exact.
"""

# jaxtyping's Float[Array, "..."] (any shape) is a shape string, not a quoted annotation.
# ruff: noqa: UP037

from __future__ import annotations

import types
from collections.abc import Iterable
from typing import NamedTuple, cast

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float
from numpy.typing import ArrayLike

from rnnax._checks import check_real
from rnnax.data._validation import apply_nan_policy, as_float_array


class Scaler(NamedTuple):
    """Statistics of a fitted affine scaler: ``scaled = (x - center) / scale``.

    Attributes:
        center: ``float64`` array, 0-d for 1-D training data, else ``[D]``.
        scale: ``float64`` array of the same shape, strictly positive.
    """

    center: np.ndarray
    scale: np.ndarray


def _training_array(train_values: ArrayLike) -> tuple[np.ndarray, tuple[int, ...]]:
    array = as_float_array("train_values", train_values).astype(np.float64)
    if array.ndim == 0:
        raise ValueError("train_values must have at least one axis (time), got a 0-d array")
    if array.shape[0] == 0 or array.size == 0:
        raise ValueError(f"train_values must hold at least one value, got shape {array.shape}")
    # Statistics of non-finite data would be NaN and poison every transform.
    apply_nan_policy(array.reshape(array.shape[0], -1), "raise", name="train_values")
    reduce_axes = (0,) if array.ndim == 1 else tuple(range(array.ndim - 1))
    return array, reduce_axes


def _check_pair(name: str, value: object) -> tuple[float, float]:
    """``value`` as two finite floats ``(low, high)``."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
        raise TypeError(f"{name} must be a pair (low, high) of numbers, got {value!r:.80}")
    low, high = cast("Iterable[object]", value)  # of length 2, checked above
    return check_real(f"{name}[0]", low), check_real(f"{name}[1]", high)


def _finish(center: np.ndarray, scale: np.ndarray, is_degenerate: np.ndarray) -> Scaler:
    if not (np.isfinite(center).all() and np.isfinite(scale).all()):
        raise ValueError(
            "train_values are too large to scale: their statistics overflow float64 (got center "
            f"{center} and scale {scale}); divide the data by a constant first"
        )
    scale = np.where(is_degenerate | (scale == 0.0), 1.0, scale)
    center = np.asarray(center, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    center.flags.writeable = False
    scale.flags.writeable = False
    return Scaler(center=center, scale=scale)


def fit_standard_scaler(train_values: ArrayLike) -> Scaler:
    """Fits a standard scaler: zero mean and unit (population) standard deviation.

    Args:
        train_values: Training data, ``[T]`` or ``[..., D]``; must be finite.

    Returns:
        A :class:`Scaler` with ``center = mean`` and ``scale = std`` (``ddof=0``),
        ``scale = 1`` for constant features.

    Raises:
        ValueError: If ``train_values`` is empty, 0-d or has NaN/Inf.
        TypeError: If ``train_values`` is not a real numeric array.

    Examples:
        >>> scaler = fit_standard_scaler(np.array([1.0, 2.0, 3.0, 4.0]))
        >>> transform(scaler, np.array([1.0, 4.0]))
        array([-1.34164079,  1.34164079])
    """
    array, axes = _training_array(train_values)
    constant = array.max(axis=axes) == array.min(axis=axes)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is checked in _finish
        mean, std = array.mean(axis=axes), array.std(axis=axes)
    return _finish(mean, std, constant)


def fit_min_max_scaler(
    train_values: ArrayLike, feature_range: tuple[float, float] = (0.0, 1.0)
) -> Scaler:
    """Fits a min-max scaler mapping the training minimum and maximum onto ``feature_range``.

    Args:
        train_values: Training data, ``[T]`` or ``[..., D]``; must be finite.
        feature_range: ``(low, high)`` with ``low < high``.

    Returns:
        A :class:`Scaler` such that ``transform`` maps each feature's training
        minimum to ``low`` and maximum to ``high``. Later values outside the
        training range map outside ``feature_range`` (no clipping).

    Raises:
        ValueError: If ``feature_range`` is not increasing or not finite, or as
            :func:`fit_standard_scaler`.
        TypeError: If ``feature_range`` is not a pair of real numbers, or as
            :func:`fit_standard_scaler`.

    Examples:
        >>> scaler = fit_min_max_scaler(np.array([[0.0, 10.0], [5.0, 30.0]]))
        >>> transform(scaler, np.array([[5.0, 20.0]]))
        array([[1. , 0.5]])
    """
    low, high = _check_pair("feature_range", feature_range)
    if not low < high:
        raise ValueError(
            f"feature_range must be finite (low, high) with low < high, got {feature_range!r}"
        )
    array, axes = _training_array(train_values)
    minimum, maximum = array.min(axis=axes), array.max(axis=axes)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is checked in _finish
        span = maximum - minimum
        constant = span == 0.0
        scale = np.where(constant, 1.0, span / (high - low))
        center = minimum - low * scale
    return _finish(center, scale, constant)


def fit_robust_scaler(
    train_values: ArrayLike, quantile_range: tuple[float, float] = (25.0, 75.0)
) -> Scaler:
    """Fits a robust scaler: subtract the median, divide by the inter-quantile range.

    Args:
        train_values: Training data, ``[T]`` or ``[..., D]``; must be finite.
        quantile_range: Percentiles ``(q_low, q_high)``, ``0 <= q_low < q_high <= 100``;
            the default is the inter-quartile range (IQR).

    Returns:
        A :class:`Scaler` with ``center = median`` and ``scale = q_high - q_low``
        percentile difference (1 where that is zero).

    Raises:
        ValueError: If ``quantile_range`` is invalid, or as :func:`fit_standard_scaler`.
        TypeError: If ``quantile_range`` is not a pair of real numbers, or as
            :func:`fit_standard_scaler`.

    Examples:
        >>> scaler = fit_robust_scaler(np.array([1.0, 2.0, 3.0, 4.0, 100.0]))
        >>> scaler.center, scaler.scale
        (array(3.), array(2.))
    """
    q_low, q_high = _check_pair("quantile_range", quantile_range)
    if not (0.0 <= q_low < q_high <= 100.0):
        raise ValueError(
            f"quantile_range must be (q_low, q_high) with 0 <= q_low < q_high <= 100, got {quantile_range!r}"
        )
    array, axes = _training_array(train_values)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is checked in _finish
        lower, median, upper = np.percentile(array, [q_low, 50.0, q_high], axis=axes)
        spread = upper - lower
    return _finish(median, spread, np.zeros(np.shape(median), dtype=bool))


def _statistics_for(
    scaler: Scaler, values: ArrayLike
) -> tuple[np.ndarray | jax.Array, np.ndarray | jax.Array, np.ndarray | jax.Array]:
    """Returns (values, center, scale) as one array type and dtype, broadcast-ready."""
    if not isinstance(scaler, Scaler):
        raise TypeError(
            "scaler must be a Scaler from fit_standard_scaler, fit_min_max_scaler or "
            f"fit_robust_scaler, got {type(scaler).__name__}"
        )
    xp: types.ModuleType  # jax.numpy or numpy, matching the input
    array: jax.Array | np.ndarray
    # Statistics are JAX arrays when a Scaler is passed through jax.jit as a pytree.
    if isinstance(values, jax.Array) or isinstance(scaler.center, jax.Array):
        xp = jnp
        dtype = getattr(values, "dtype", None)
        if dtype is None:
            dtype = as_float_array("values", values).dtype
        if not (
            jnp.issubdtype(dtype, jnp.floating)
            or jnp.issubdtype(dtype, jnp.integer)
            or dtype == jnp.bool_
        ):
            raise TypeError(f"values must be a numeric (real) array, got dtype {dtype}")
        array = jnp.asarray(values)
        if not jnp.issubdtype(array.dtype, jnp.inexact):
            array = array.astype(jnp.float32)
    else:
        xp = np
        array = as_float_array("values", values)
    center = xp.asarray(scaler.center).astype(array.dtype)
    scale = xp.asarray(scaler.scale).astype(array.dtype)
    if center.ndim == 0:
        return array, center, scale
    if center.ndim != 1 or scale.shape != center.shape:
        raise ValueError(
            f"scaler statistics must be 0-d or [D] and of equal shape, got center {center.shape} "
            f"and scale {scale.shape}"
        )
    num_features = center.shape[0]
    if array.ndim == 0 or array.shape[-1] != num_features:
        raise ValueError(
            f"values must have the scaler's {num_features} features on their last axis, "
            f"got shape {tuple(array.shape)}"
        )
    # Match ranks explicitly: rnnax runs JAX with implicit rank promotion disabled.
    broadcast_shape = (1,) * (array.ndim - 1) + (num_features,)
    return array, center.reshape(broadcast_shape), scale.reshape(broadcast_shape)


def transform(scaler: Scaler, values: ArrayLike) -> Float[Array, "..."] | np.ndarray:
    """Scales ``values`` with fitted statistics: ``(values - center) / scale``.

    Args:
        scaler: A fitted :class:`Scaler`.
        values: numpy or JAX array; its last axis must hold the ``D`` features
            (any shape for a scaler fitted on 1-D data).

    Returns:
        An array of the same type (numpy in, numpy out; JAX in, JAX out), shape
        and floating dtype as ``values`` (integers become floats).

    Raises:
        ValueError: If the last axis of ``values`` does not have ``D`` entries.
        TypeError: If ``scaler`` is not a :class:`Scaler` or ``values`` is not a
            real numeric array.

    Examples:
        >>> scaler = fit_min_max_scaler(np.array([2.0, 4.0]))
        >>> transform(scaler, jnp.array([2.0, 3.0, 4.0]))
        Array([0. , 0.5, 1. ], dtype=float32)
    """
    array, center, scale = _statistics_for(scaler, values)
    return (array - center) / scale


def inverse_transform(scaler: Scaler, scaled_values: ArrayLike) -> Float[Array, "..."] | np.ndarray:
    """Undoes :func:`transform`: ``scaled_values * scale + center``.

    Args:
        scaler: The :class:`Scaler` used to scale.
        scaled_values: numpy or JAX array in scaled units.

    Returns:
        The values in original units, same type, shape and dtype as the input.
        ``inverse_transform(s, transform(s, x))`` equals ``x`` up to floating
        point rounding (a few ulps).

    Examples:
        >>> y = np.array([3.0, 5.0, 11.0])
        >>> scaler = fit_robust_scaler(y)
        >>> inverse_transform(scaler, transform(scaler, y))
        array([ 3.,  5., 11.])
    """
    array, center, scale = _statistics_for(scaler, scaled_values)
    return array * scale + center
