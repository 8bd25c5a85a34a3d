"""What the metrics and the baselines share: their array inputs, axes and zero denominators.

:func:`as_float_arrays` brings the inputs to one floating dtype, :func:`check_same_shape`
and :func:`check_axis` refuse implicit broadcasting and bad ``axis`` arguments,
:func:`checked_mean` averages only over something, and :func:`safe_ratio` states the rule
for a zero denominator. The generic checks (integers, reals) live in :mod:`rnnax._checks`.
"""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp
import numpy as np
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
        dtype = getattr(value, "dtype", None)
        if dtype is None:  # a list, a Python number or something that is not an array at all
            try:
                dtype = np.asarray(value).dtype
            except (TypeError, ValueError):  # ragged nested lists, for instance
                raise TypeError(
                    f"{argument} must be a real numeric array, got {type(value).__name__}"
                ) from None
        if not (
            jnp.issubdtype(dtype, jnp.floating)
            or jnp.issubdtype(dtype, jnp.integer)
            or dtype == jnp.bool_
        ):
            raise TypeError(f"{argument} must be a real numeric array, got dtype {dtype}")
        converted.append(jnp.asarray(value))
    float_dtypes = [array.dtype for array in converted if jnp.issubdtype(array.dtype, jnp.floating)]
    if float_dtypes:
        dtype = max(float_dtypes, key=lambda candidate: jnp.dtype(candidate).itemsize)
    else:
        dtype = jax.dtypes.canonicalize_dtype(jnp.float64)
    return [array.astype(dtype) for array in converted]


def check_same_shape(
    name: str, value: jax.Array, reference_name: str, reference: jax.Array
) -> None:
    """Raises ValueError unless ``value`` has the shape of ``reference`` (no implicit broadcasting)."""
    if value.shape != reference.shape:
        raise ValueError(
            f"{name} must have the same shape as {reference_name} {tuple(reference.shape)}, "
            f"got {tuple(value.shape)}"
        )


def safe_ratio(numerator: jax.Array, denominator: jax.Array) -> jax.Array:
    """``numerator / denominator`` with a stated rule for zero denominators.

    Where the denominator is 0 the ratio is 0 if the numerator is 0 too (a
    perfect forecast of a zero) and ``+inf`` otherwise, never NaN. The safe
    denominator keeps gradients finite on the branch that ``where`` discards.
    """
    is_zero = denominator == 0
    safe_denominator = jnp.where(is_zero, jnp.ones_like(denominator), denominator)
    zero_case = jnp.where(
        numerator == 0, jnp.zeros_like(numerator), jnp.full_like(numerator, jnp.inf)
    )
    return jnp.where(is_zero, zero_case, numerator / safe_denominator)


def check_axis(
    axis: object, ndim: int, array_name: str, *, allow_none: bool = True, allow_tuple: bool = True
) -> tuple[int, ...]:
    """Validates an ``axis`` argument for an array of ``ndim`` axes; returns the axes it names.

    Raises:
        TypeError: ``axis`` is not an int, a tuple of ints or ``None`` (where allowed).
        ValueError: an axis is out of range or repeated.
    """
    if axis is None and allow_none:
        return tuple(range(ndim))
    axes = axis if (allow_tuple and isinstance(axis, tuple)) else (axis,)
    kinds = (
        "an int" + (", a tuple of ints" if allow_tuple else "") + (" or None" if allow_none else "")
    )
    for entry in axes:
        if isinstance(entry, bool) or not isinstance(entry, numbers.Integral):
            raise TypeError(f"axis must be {kinds}, got {axis!r}")
        if not -ndim <= int(entry) < ndim:
            raise ValueError(f"axis {entry} is out of range for {array_name} with {ndim} axes")
    normalized = tuple(int(entry) % ndim for entry in axes)
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"axis must not repeat an axis, got {axis!r}")
    return normalized


def checked_mean(
    values: jax.Array, axis: object, reference: jax.Array, reference_name: str
) -> jax.Array:
    """``jnp.mean(values, axis)`` after checking ``axis`` against ``reference`` (the metric's
    input, of ``values``' shape) and that every mean averages at least one value."""
    axes = check_axis(axis, reference.ndim, reference_name)
    if any(reference.shape[index] == 0 for index in axes):
        raise ValueError(
            f"{reference_name} has no values to average over axis {axis!r} (shape "
            f"{tuple(reference.shape)}); a mean of nothing is undefined"
        )
    return jnp.mean(values, axis=None if axis is None else axes)
