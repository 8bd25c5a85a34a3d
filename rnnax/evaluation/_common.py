"""Argument handling shared by the metrics and the baselines."""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike


def as_float_arrays(arrays: dict[str, ArrayLike]) -> list[jax.Array]:
    """Converts named inputs to JAX arrays of one common floating dtype.

    The dtype is the widest floating dtype among the inputs (JAX's default float
    if none is floating), chosen explicitly so that the functions work under
    ``jax_numpy_dtype_promotion="strict"``.

    Raises:
        TypeError: If an input is complex or not numeric.
    """
    converted = []
    for argument, value in arrays.items():
        array = jnp.asarray(value)
        if not (jnp.issubdtype(array.dtype, jnp.floating) or jnp.issubdtype(array.dtype, jnp.integer)
                or array.dtype == jnp.bool_):
            raise TypeError(f"{argument} must be a real numeric array, got dtype {array.dtype}")
        converted.append(array)
    float_dtypes = [array.dtype for array in converted if jnp.issubdtype(array.dtype, jnp.floating)]
    if float_dtypes:
        dtype = max(float_dtypes, key=lambda candidate: jnp.dtype(candidate).itemsize)
    else:
        dtype = jax.dtypes.canonicalize_dtype(jnp.float64)
    return [array.astype(dtype) for array in converted]


def check_same_shape(reference: jax.Array, reference_name: str, other: jax.Array, other_name: str) -> None:
    """Raises ValueError unless the two arrays have equal shapes (no implicit broadcasting)."""
    if reference.shape != other.shape:
        raise ValueError(
            f"{other_name} must have the same shape as {reference_name} {tuple(reference.shape)}, "
            f"got {tuple(other.shape)}"
        )


def check_int(value: object, argument: str, *, minimum: int) -> int:
    """Returns ``value`` as an int, raising TypeError/ValueError naming ``argument`` if it is not one >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{argument} must be an integer, got {value!r} of type {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{argument} must be an integer >= {minimum}, got {value}")
    return int(value)


def safe_ratio(numerator: jax.Array, denominator: jax.Array) -> jax.Array:
    """``numerator / denominator`` with a stated rule for zero denominators.

    Where the denominator is 0 the ratio is 0 if the numerator is 0 too (a
    perfect forecast of a zero) and ``+inf`` otherwise, never NaN. The safe
    denominator keeps gradients finite on the branch that ``where`` discards.
    """
    is_zero = denominator == 0
    safe_denominator = jnp.where(is_zero, jnp.ones_like(denominator), denominator)
    zero_case = jnp.where(numerator == 0, jnp.zeros_like(numerator), jnp.full_like(numerator, jnp.inf))
    return jnp.where(is_zero, zero_case, numerator / safe_denominator)
