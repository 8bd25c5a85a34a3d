"""Classical baseline forecasts, batched over leading axes and jit-able.

Each baseline maps a history ``[..., T]`` (time on the last axis) to a forecast
``[..., horizon]`` of the steps ``T, ..., T + horizon - 1``. ``horizon`` and
``period`` fix output shapes, so under ``jax.jit`` mark them static, e.g.
``jax.jit(seasonal_naive_forecast, static_argnames=("horizon", "period"))``.
Non-finite history values propagate into the forecasts; clean the history
first (see :func:`rnnax.data.handle_missing`).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike
from jaxtyping import Array, Float

from rnnax._checks import check_int
from rnnax.evaluation._common import as_float_arrays


def _history(history: ArrayLike, minimum_length: int, requirement: str) -> jax.Array:
    (array,) = as_float_arrays({"history": history})
    if array.ndim == 0:
        raise ValueError("history must have a time axis (last axis), got a 0-d array")
    if array.shape[-1] < minimum_length:
        raise ValueError(
            f"history must have at least {minimum_length} time steps on its last axis{requirement}, "
            f"got shape {tuple(array.shape)}"
        )
    return array


def _level_forecast(
    history: ArrayLike, horizon: int, level: Callable[[jax.Array], jax.Array]
) -> jax.Array:
    """Repeats ``level(history)`` (shape ``[..., 1]``) at every one of ``horizon`` steps."""
    horizon = check_int("horizon", horizon, minimum=1)
    array = _history(history, 1, "")
    return jnp.broadcast_to(level(array), (*array.shape[:-1], horizon))


def _step_row(array: jax.Array, values: jax.Array) -> jax.Array:
    """Reshapes a [H] vector to [1, ..., 1, H] matching ``array``'s rank (no implicit rank promotion)."""
    return values.reshape((1,) * (array.ndim - 1) + (values.shape[0],))


def naive_forecast(history: ArrayLike, horizon: int) -> Float[Array, "... horizon"]:
    """Repeats the last observed value: ``forecast[h] = y[T - 1]``.

    Args:
        history: Observed series ``[..., T]``, ``T >= 1``.
        horizon: Number of steps to forecast (>= 1).

    Returns:
        Forecasts ``[..., horizon]``.

    Examples:
        >>> naive_forecast(jnp.array([[1.0, 2.0, 3.0], [5.0, 4.0, 0.0]]), 2)
        Array([[3., 3.],
               [0., 0.]], dtype=float32)
    """
    return _level_forecast(history, horizon, lambda array: array[..., -1:])


def seasonal_naive_forecast(
    history: ArrayLike, horizon: int, period: int
) -> Float[Array, "... horizon"]:
    """Repeats the last observed season: ``forecast[h] = y[T - period + (h mod period)]``.

    Args:
        history: Observed series ``[..., T]``, ``T >= period``.
        horizon: Number of steps to forecast (>= 1).
        period: Seasonal period ``m`` (>= 1); ``period=1`` is the naive forecast.

    Returns:
        Forecasts ``[..., horizon]``.

    Raises:
        ValueError: If the history is shorter than one period.

    Examples:
        >>> seasonal_naive_forecast(jnp.array([1.0, 2.0, 3.0, 4.0, 5.0]), 5, period=3)
        Array([3., 4., 5., 3., 4.], dtype=float32)
    """
    horizon = check_int("horizon", horizon, minimum=1)
    period = check_int("period", period, minimum=1)
    array = _history(history, period, f" (one full period, period={period})")
    length = array.shape[-1]
    # Static indices: shapes are fixed at trace time, so this stays jit-friendly.
    indices = length - period + np.arange(horizon) % period
    return jnp.take(array, jnp.asarray(indices), axis=-1)


def drift_forecast(history: ArrayLike, horizon: int) -> Float[Array, "... horizon"]:
    """Extends the line through the first and last observations.

    ``forecast[h] = y[T - 1] + (h + 1) * (y[T - 1] - y[0]) / (T - 1)`` for
    ``h = 0, ..., horizon - 1``: the naive forecast plus the average change.

    Args:
        history: Observed series ``[..., T]``, ``T >= 2``.
        horizon: Number of steps to forecast (>= 1).

    Returns:
        Forecasts ``[..., horizon]``.

    Raises:
        ValueError: If the history has fewer than 2 steps.

    Examples:
        >>> drift_forecast(jnp.array([1.0, 2.0, 5.0]), 3)
        Array([ 7.,  9., 11.], dtype=float32)
    """
    horizon = check_int("horizon", horizon, minimum=1)
    array = _history(history, 2, " (the drift needs a first and a last value)")
    length = array.shape[-1]
    last = array[..., -1:]
    slope = (last - array[..., :1]) / float(length - 1)
    steps = _step_row(array, jnp.arange(1, horizon + 1, dtype=array.dtype))
    return last + slope * steps


def mean_forecast(history: ArrayLike, horizon: int) -> Float[Array, "... horizon"]:
    """Forecasts the mean of the whole history at every step.

    Args:
        history: Observed series ``[..., T]``, ``T >= 1``.
        horizon: Number of steps to forecast (>= 1).

    Returns:
        Forecasts ``[..., horizon]``.

    Examples:
        >>> mean_forecast(jnp.array([1.0, 2.0, 6.0]), 2)
        Array([3., 3.], dtype=float32)
    """
    return _level_forecast(history, horizon, lambda array: jnp.mean(array, axis=-1, keepdims=True))
