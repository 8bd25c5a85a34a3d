"""Scores of probabilistic forecasts: Student's t likelihood and the CRPS (closed form for a
Gaussian, from quantiles for any forecast).

The continuous ranked probability score of a predictive CDF ``F`` at the actual ``y`` is
``CRPS(F, y) = integral (F(x) - 1[x >= y])^2 dx``: the mean absolute error for a point
forecast, smaller for a sharper and calibrated distribution, in the data's units. It equals
twice the pinball loss integrated over all levels, ``2 * integral_0^1 pinball_q(y, F^-1(q)) dq``,
which :func:`crps_quantiles` approximates on the levels a forecast gives.

Like the other metrics, each averages over ``axis`` (time by default), works under ``jit`` and
``vmap``, is differentiable and refuses shapes that differ.
"""

# jaxtyping's Float[Array, "..."] (any shape) is a shape string, not a quoted annotation.
# ruff: noqa: UP037

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike
from jaxtyping import Array, Float

from rnnax._distributions import student_t_logpdf
from rnnax.evaluation._common import as_float_arrays, check_same_shape, checked_mean
from rnnax.evaluation._metrics import Axis, _check_quantile


def _positive_spread(name: str, spread: jax.Array, actual: jax.Array) -> jax.Array:
    """``spread`` of ``actual``'s shape (a scalar is broadcast); the shapes must match."""
    if spread.ndim == 0:
        return jnp.broadcast_to(spread, actual.shape)
    check_same_shape(name, spread, "y_true", actual)
    return spread


def student_t_nll(
    y_true: ArrayLike, loc: ArrayLike, scale: ArrayLike, df: ArrayLike, *, axis: Axis = -1
) -> Float[Array, "..."]:
    """Mean negative log-likelihood of the actuals under independent Student's t forecasts.

    Per step ``-log p(y) = log(scale) - log t_df((y - loc) / scale)``, with ``t_df`` the
    standard t density. A non-positive ``scale`` or ``df`` makes the step ``+inf``.

    Args:
        y_true: Actual values ``[..., H]``.
        loc: Forecast locations, same shape.
        scale: Forecast scales, same shape or a scalar, > 0.
        df: Degrees of freedom, same shape or a scalar, > 0.
        axis: Axis or axes to average over; ``None`` for all.

    Returns:
        The negative log-likelihood (nats per step) with ``axis`` reduced away.

    Examples:
        >>> round(float(student_t_nll(jnp.array([0.0]), jnp.array([0.0]), 1.0, 1e6)), 4)
        0.9189
    """
    actual, center, spread, freedom = as_float_arrays(
        {"y_true": y_true, "loc": loc, "scale": scale, "df": df}
    )
    check_same_shape("loc", center, "y_true", actual)
    spread = _positive_spread("scale", spread, actual)
    freedom = _positive_spread("df", freedom, actual)
    valid = (spread > 0) & (freedom > 0)
    safe_spread = jnp.where(valid, spread, jnp.ones_like(spread))
    safe_freedom = jnp.where(valid, freedom, jnp.ones_like(freedom))
    z = (actual - center) / safe_spread
    per_step = jnp.log(safe_spread) - student_t_logpdf(z, safe_freedom)
    per_step = jnp.where(valid, per_step, jnp.full_like(per_step, jnp.inf))
    return checked_mean(per_step, axis, actual, "y_true")


def crps_gaussian(
    y_true: ArrayLike, mean: ArrayLike, std: ArrayLike, *, axis: Axis = -1
) -> Float[Array, "..."]:
    """The CRPS of Gaussian forecasts, in closed form (Gneiting et al., 2005)::

        std * (z (2 Phi(z) - 1) + 2 phi(z) - 1 / sqrt(pi)),   z = (y - mean) / std

    Args:
        y_true: Actual values ``[..., H]``.
        mean: Forecast means, same shape.
        std: Forecast standard deviations, same shape or a scalar, > 0 (a non-positive one
            makes the step ``+inf``).
        axis: Axis or axes to average over; ``None`` for all.

    Returns:
        The CRPS in the data's units with ``axis`` reduced away.

    Examples:
        >>> round(float(crps_gaussian(jnp.array([0.0]), jnp.array([0.0]), 1.0)), 4)
        0.2337
    """
    actual, center, spread = as_float_arrays({"y_true": y_true, "mean": mean, "std": std})
    check_same_shape("mean", center, "y_true", actual)
    spread = _positive_spread("std", spread, actual)
    positive = spread > 0
    safe_spread = jnp.where(positive, spread, jnp.ones_like(spread))
    z = (actual - center) / safe_spread
    density = jnp.exp(-0.5 * jnp.square(z)) / jnp.asarray(math.sqrt(2 * math.pi), z.dtype)
    cdf = jax.scipy.special.ndtr(z)
    per_step = safe_spread * (
        z * (2 * cdf - 1) + 2 * density - jnp.asarray(1 / math.sqrt(math.pi), z.dtype)
    )
    per_step = jnp.where(positive, per_step, jnp.full_like(per_step, jnp.inf))
    return checked_mean(per_step, axis, actual, "y_true")


def _check_levels(levels: Sequence[float]) -> tuple[float, ...]:
    if isinstance(levels, (str, bytes)) or not isinstance(levels, (Sequence, np.ndarray)):
        raise TypeError(
            f"levels must be a sequence of quantile levels in (0, 1), got {type(levels).__name__}"
        )
    checked = tuple(_check_quantile(level) for level in levels)
    if not checked:
        raise ValueError("levels must hold at least one quantile level, got none")
    if any(b <= a for a, b in itertools.pairwise(checked)):
        raise ValueError(f"levels must be strictly increasing, got {list(checked)}")
    return checked


def crps_quantiles(
    y_true: ArrayLike, quantiles: ArrayLike, levels: Sequence[float], *, axis: Axis = -1
) -> Float[Array, "..."]:
    """The CRPS approximated from quantile forecasts: twice the mean pinball loss over levels.

    ``2 * mean_k pinball(y, quantiles[..., k], levels[k])``, the quantile score of the
    M5 and GluonTS evaluations. With evenly spread levels it tends to the exact CRPS as their
    number grows (99 levels are within about 1% for a Gaussian); with few levels it is a
    coarser score of the same kind.

    Args:
        y_true: Actual values ``[..., H]``.
        quantiles: Quantile forecasts ``[..., H, K]``, one per level on the last axis.
        levels: The ``K`` quantile levels, strictly increasing, each in ``(0, 1)``.
        axis: Axis or axes of ``y_true`` to average over; ``None`` for all.

    Returns:
        The approximate CRPS in the data's units with ``axis`` reduced away.

    Examples:
        >>> y = jnp.array([1.0, 2.0])
        >>> round(float(crps_quantiles(y, jnp.stack([y - 1, y, y + 1], axis=-1), (0.1, 0.5, 0.9))), 4)
        0.1333
    """
    checked = _check_levels(levels)
    actual, predicted = as_float_arrays({"y_true": y_true, "quantiles": quantiles})
    expected = (*actual.shape, len(checked))
    if tuple(predicted.shape) != expected:
        raise ValueError(
            f"quantiles must have shape {expected} (y_true's shape, then one per level), got "
            f"{tuple(predicted.shape)}"
        )
    difference = actual[..., None] - predicted
    level = jnp.asarray(checked, predicted.dtype).reshape((1,) * actual.ndim + (-1,))
    pinball = jnp.maximum(level * difference, (level - 1) * difference)
    return checked_mean(2 * jnp.mean(pinball, axis=-1), axis, actual, "y_true")
