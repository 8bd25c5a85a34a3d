"""Forecast accuracy metrics as pure ``jax.numpy`` functions.

Every metric averages over ``axis`` (the last axis, time, by default) and keeps
all other axes, so a batch ``[B, H]`` of forecasts gives ``[B]`` scores; pass
``axis=None`` to average over everything. They work on numpy or JAX input,
inside ``jax.jit`` and ``jax.vmap``, and are differentiable. Inputs that are
compared must have the same shape (no implicit broadcasting); they are cast to
their widest floating dtype.

Zero denominators: MAPE, sMAPE and MASE divide by quantities that can be 0. A
term whose denominator is 0 counts as 0 when its numerator is 0 too (a zero
forecast of a zero actual is perfect) and as ``+inf`` otherwise, so an
undefined score shows up as ``inf``, never as a silent NaN or a huge finite
number.
"""

# jaxtyping's Float[Array, "..."] (any shape) is a shape string, not a quoted annotation.
# ruff: noqa: UP037

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike
from jaxtyping import Array, Float

from rnnax._checks import check_int, is_real_number
from rnnax.evaluation._common import (
    as_float_arrays,
    check_axis,
    check_same_shape,
    checked_mean,
    safe_ratio,
)

Axis = int | tuple[int, ...] | None


def _pair(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[jax.Array, jax.Array]:
    actual, predicted = as_float_arrays({"y_true": y_true, "y_pred": y_pred})
    check_same_shape("y_pred", predicted, "y_true", actual)
    return actual, predicted


def mae(y_true: ArrayLike, y_pred: ArrayLike, *, axis: Axis = -1) -> Float[Array, "..."]:
    """Mean absolute error, ``mean(|y_true - y_pred|)``.

    Args:
        y_true: Actual values, shape ``[..., H]``.
        y_pred: Forecasts, same shape.
        axis: Axis or axes to average over; ``None`` for all.

    Returns:
        The error with ``axis`` reduced away.

    Examples:
        >>> mae(jnp.array([1.0, 2.0, 4.0]), jnp.array([2.0, 2.0, 1.0]))
        Array(1.3333334, dtype=float32)
    """
    actual, predicted = _pair(y_true, y_pred)
    return checked_mean(jnp.abs(actual - predicted), axis, actual, "y_true")


def rmse(y_true: ArrayLike, y_pred: ArrayLike, *, axis: Axis = -1) -> Float[Array, "..."]:
    """Root mean squared error, ``sqrt(mean((y_true - y_pred) ** 2))``.

    Args:
        y_true: Actual values, shape ``[..., H]``.
        y_pred: Forecasts, same shape.
        axis: Axis or axes to average over; ``None`` for all.

    Returns:
        The error with ``axis`` reduced away.

    Examples:
        >>> rmse(jnp.array([[0.0, 0.0], [1.0, 1.0]]), jnp.array([[3.0, 4.0], [1.0, 1.0]]))
        Array([3.535534, 0.      ], dtype=float32)
    """
    actual, predicted = _pair(y_true, y_pred)
    return jnp.sqrt(checked_mean(jnp.square(actual - predicted), axis, actual, "y_true"))


def mape(y_true: ArrayLike, y_pred: ArrayLike, *, axis: Axis = -1) -> Float[Array, "..."]:
    """Mean absolute percentage error in percent, ``100 * mean(|y_true - y_pred| / |y_true|)``.

    A step with ``y_true == 0`` counts 0 if ``y_pred == 0`` there too, else
    ``+inf`` (MAPE is undefined for zero actuals; prefer sMAPE or MASE then).

    Args:
        y_true: Actual values, shape ``[..., H]``.
        y_pred: Forecasts, same shape.
        axis: Axis or axes to average over; ``None`` for all.

    Returns:
        The error in percent with ``axis`` reduced away.

    Examples:
        >>> mape(jnp.array([100.0, 200.0]), jnp.array([110.0, 150.0]))
        Array(17.5, dtype=float32)
        >>> mape(jnp.array([0.0, 1.0]), jnp.array([0.5, 1.0]))
        Array(inf, dtype=float32)
    """
    actual, predicted = _pair(y_true, y_pred)
    return 100.0 * checked_mean(
        safe_ratio(jnp.abs(actual - predicted), jnp.abs(actual)), axis, actual, "y_true"
    )


def smape(y_true: ArrayLike, y_pred: ArrayLike, *, axis: Axis = -1) -> Float[Array, "..."]:
    """Symmetric MAPE on the 0..200 scale (the M4 competition's definition).

    ``200 * mean(|y_true - y_pred| / (|y_true| + |y_pred|))``. A step where both
    are 0 counts 0; otherwise the denominator is positive, so the result is
    always finite and within ``[0, 200]``.

    Args:
        y_true: Actual values, shape ``[..., H]``.
        y_pred: Forecasts, same shape.
        axis: Axis or axes to average over; ``None`` for all.

    Returns:
        The error with ``axis`` reduced away, between 0 and 200.

    Examples:
        >>> smape(jnp.array([100.0, 0.0, 1.0]), jnp.array([300.0, 0.0, -1.0]))
        Array(100., dtype=float32)
    """
    actual, predicted = _pair(y_true, y_pred)
    ratio = safe_ratio(jnp.abs(actual - predicted), jnp.abs(actual) + jnp.abs(predicted))
    return 200.0 * checked_mean(ratio, axis, actual, "y_true")


def seasonal_naive_scale(
    y_train: ArrayLike, period: int = 1, *, axis: int = -1
) -> Float[Array, "..."]:
    """In-sample MAE of the seasonal-naive forecast: ``mean(|y[t] - y[t - period]|)``.

    This is the denominator of :func:`mase`.

    Args:
        y_train: Training series, time on ``axis``; needs more than ``period`` steps.
        period: Seasonal period ``m`` (>= 1); 1 gives the naive (random-walk) scale.
        axis: Time axis.

    Returns:
        The scale with ``axis`` reduced away.

    Raises:
        ValueError: If ``y_train`` has at most ``period`` steps, ``period < 1`` or
            ``axis`` is out of range.
        TypeError: If ``period`` or ``axis`` is not an int, or ``y_train`` is not
            a real numeric array.

    Examples:
        >>> seasonal_naive_scale(jnp.array([1.0, 3.0, 2.0, 5.0]), period=2)
        Array(1.5, dtype=float32)
    """
    period = check_int("period", period, minimum=1)
    (train,) = as_float_arrays({"y_train": y_train})
    if train.ndim == 0:
        raise ValueError("y_train must have a time axis, got a 0-d array")
    check_axis(axis, train.ndim, "y_train", allow_none=False, allow_tuple=False)
    return _seasonal_scale(train, period, axis)


def _seasonal_scale(train: jax.Array, period: int, axis: int) -> jax.Array:
    """:func:`seasonal_naive_scale` of a checked array, period and axis; refuses a too short
    series (the one check that depends on all three)."""
    length = train.shape[axis]
    if length <= period:
        raise ValueError(
            f"y_train must have more than period={period} time steps on axis {axis}, got {length}"
        )
    later = jax.lax.slice_in_dim(train, period, length, axis=axis)
    earlier = jax.lax.slice_in_dim(train, 0, length - period, axis=axis)
    return jnp.mean(jnp.abs(later - earlier), axis=axis)


def mase(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    y_train: ArrayLike,
    period: int = 1,
    *,
    axis: int = -1,
) -> Float[Array, "..."]:
    """Mean absolute scaled error (Hyndman & Koehler, 2006).

    ``mae(y_true, y_pred) / seasonal_naive_scale(y_train, period)``: below 1
    means better than the in-sample seasonal-naive forecast. If the training
    series is constant (or repeats exactly with period ``m``), the scale is 0
    and the result is ``+inf``, or 0 for a perfect forecast.

    Args:
        y_true: Actual values ``[..., H]`` (time on ``axis``).
        y_pred: Forecasts, same shape.
        y_train: The training (in-sample) series ``[..., T]``: same shape as
            ``y_true`` except along ``axis``, with ``T > period``.
        period: Seasonal period ``m`` (>= 1), e.g. 12 for monthly data.
        axis: Time axis of all three arrays.

    Returns:
        The scaled error with ``axis`` reduced away.

    Raises:
        ValueError: On mismatched shapes, a too short ``y_train``, ``period < 1``
            or an ``axis`` out of range.
        TypeError: If ``period`` or ``axis`` is not an int, or an input is not a
            real numeric array.

    Examples:
        >>> mase(jnp.array([6.0, 8.0]), jnp.array([5.0, 5.0]), jnp.array([1.0, 3.0, 2.0, 5.0]), period=2)
        Array(1.3333334, dtype=float32)
    """
    actual, predicted, train = as_float_arrays(
        {"y_true": y_true, "y_pred": y_pred, "y_train": y_train}
    )
    check_same_shape("y_pred", predicted, "y_true", actual)
    if actual.ndim == 0:
        raise ValueError("y_true must have a time axis, got a 0-d array")
    (normalized_axis,) = check_axis(
        axis, actual.ndim, "y_true", allow_none=False, allow_tuple=False
    )
    batch_shape = actual.shape[:normalized_axis] + actual.shape[normalized_axis + 1 :]
    if (
        train.ndim != actual.ndim
        or train.shape[:normalized_axis] + train.shape[normalized_axis + 1 :] != batch_shape
    ):
        raise ValueError(
            f"y_train must match y_true's shape {tuple(actual.shape)} except along axis {axis}, "
            f"got {tuple(train.shape)}"
        )
    period = check_int("period", period, minimum=1)
    scale = _seasonal_scale(train, period, axis)
    return safe_ratio(checked_mean(jnp.abs(actual - predicted), axis, actual, "y_true"), scale)


def coverage(
    y_true: ArrayLike, lower: ArrayLike, upper: ArrayLike, *, axis: Axis = -1
) -> Float[Array, "..."]:
    """Fraction of actual values inside their prediction interval ``[lower, upper]`` (inclusive).

    An interval with ``lower > upper`` is empty and covers nothing.

    Args:
        y_true: Actual values ``[..., H]``.
        lower: Lower interval bounds, same shape.
        upper: Upper interval bounds, same shape.
        axis: Axis or axes to average over; ``None`` for all.

    Returns:
        Coverage in ``[0, 1]`` with ``axis`` reduced away (compare with the
        nominal level, e.g. 0.9 for a 90% interval).

    Examples:
        >>> coverage(jnp.array([1.0, 2.0, 3.0, 4.0]), jnp.array([0.0, 2.0, 3.5, 0.0]), jnp.array([2.0, 3.0, 4.0, 3.0]))
        Array(0.5, dtype=float32)
    """
    actual, low, high = as_float_arrays({"y_true": y_true, "lower": lower, "upper": upper})
    check_same_shape("lower", low, "y_true", actual)
    check_same_shape("upper", high, "y_true", actual)
    inside = (actual >= low) & (actual <= high)
    return checked_mean(inside.astype(actual.dtype), axis, actual, "y_true")


def pinball_loss(
    y_true: ArrayLike, y_pred: ArrayLike, quantile: float, *, axis: Axis = -1
) -> Float[Array, "..."]:
    """Pinball (quantile) loss of a forecast of the ``quantile``-th quantile.

    ``mean(max(q * (y_true - y_pred), (q - 1) * (y_true - y_pred)))``; at
    ``q = 0.5`` it is half the MAE.

    Args:
        y_true: Actual values ``[..., H]``.
        y_pred: Quantile forecasts, same shape.
        quantile: The quantile level ``q``, strictly between 0 and 1.
        axis: Axis or axes to average over; ``None`` for all.

    Returns:
        The loss with ``axis`` reduced away.

    Raises:
        ValueError: If ``quantile`` is not in ``(0, 1)``.
        TypeError: If ``quantile`` is not a concrete real number.

    Examples:
        >>> pinball_loss(jnp.array([10.0, 10.0]), jnp.array([8.0, 12.0]), 0.9)
        Array(1., dtype=float32)
    """
    level = _check_quantile(quantile)
    actual, predicted = _pair(y_true, y_pred)
    difference = actual - predicted
    return checked_mean(
        jnp.maximum(level * difference, (level - 1.0) * difference), axis, actual, "y_true"
    )


def _check_quantile(quantile: Any) -> float:
    """``quantile`` as a float strictly between 0 and 1: a concrete real number, or a 0-d
    floating array that is not traced (the level must be known when the loss is traced)."""
    if isinstance(quantile, (bool, np.bool_)) or not (
        is_real_number(quantile)
        or (
            np.ndim(quantile) == 0
            and hasattr(quantile, "dtype")
            and jnp.issubdtype(quantile.dtype, jnp.floating)
            and not isinstance(quantile, jax.core.Tracer)
        )
    ):
        raise TypeError(
            f"quantile must be a number strictly between 0 and 1 (a concrete Python float, static "
            f"under jit), got {quantile!r:.80}"
        )
    level = float(quantile)
    if not 0.0 < level < 1.0:
        raise ValueError(f"quantile must lie strictly between 0 and 1, got {quantile}")
    return level


def gaussian_nll(
    y_true: ArrayLike, mean: ArrayLike, std: ArrayLike, *, axis: Axis = -1
) -> Float[Array, "..."]:
    """Mean negative log-likelihood of the actuals under independent Gaussian forecasts.

    ``mean(0.5 * log(2 pi) + log(std) + 0.5 * ((y_true - mean) / std) ** 2)``.
    A non-positive ``std`` makes the likelihood degenerate: that step counts ``+inf``.

    Args:
        y_true: Actual values ``[..., H]``.
        mean: Forecast means, same shape.
        std: Forecast standard deviations, same shape or a scalar, > 0.
        axis: Axis or axes to average over; ``None`` for all.

    Returns:
        The negative log-likelihood (in nats per step) with ``axis`` reduced away.

    Examples:
        >>> gaussian_nll(jnp.array([0.0]), jnp.array([0.0]), jnp.array([1.0]))
        Array(0.9189385, dtype=float32)
    """
    actual, predicted, spread = as_float_arrays({"y_true": y_true, "mean": mean, "std": std})
    check_same_shape("mean", predicted, "y_true", actual)
    if spread.ndim != 0:
        check_same_shape("std", spread, "y_true", actual)
    else:
        spread = jnp.broadcast_to(spread, actual.shape)
    positive = spread > 0
    safe_spread = jnp.where(positive, spread, jnp.ones_like(spread))
    standardized = (actual - predicted) / safe_spread
    per_step = 0.5 * math.log(2.0 * math.pi) + jnp.log(safe_spread) + 0.5 * jnp.square(standardized)
    per_step = jnp.where(positive, per_step, jnp.full_like(per_step, jnp.inf))
    return checked_mean(per_step, axis, actual, "y_true")
