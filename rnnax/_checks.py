"""Trace-time argument checks with messages that name the argument, the expected and the actual.

Everything here runs in Python while JAX traces, so a mistake surfaces as a ``ValueError`` or
``TypeError`` at the call site rather than as an XLA error or silent broadcasting.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(np.shape(x))


def _dtype_name(dtype: Any) -> str:
    return jnp.dtype(dtype).name


def check_array(name: str, x: Any) -> None:
    """Raises ``TypeError`` unless ``x`` is an array (JAX, NumPy or a tracer)."""
    if not isinstance(x, (jax.Array, np.ndarray, np.generic)):
        raise TypeError(f"{name} must be an array, got {type(x).__name__}")


def check_floating(name: str, x: Any) -> None:
    """Raises ``TypeError`` unless ``x`` has a floating dtype."""
    check_array(name, x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise TypeError(
            f"{name} must have a floating dtype (float32, bfloat16, ...), got "
            f"{_dtype_name(x.dtype)}"
        )


def check_same_dtype(name: str, x: Any, expected: Any, what: str) -> None:
    """Raises ``TypeError`` if ``x.dtype`` differs from ``expected`` (no silent promotion)."""
    if jnp.dtype(x.dtype) != jnp.dtype(expected):
        raise TypeError(
            f"{name} has dtype {_dtype_name(x.dtype)} but {what} has dtype "
            f"{_dtype_name(expected)}; cast one of them so the dtypes match"
        )


def check_min_rank(name: str, x: Any, min_rank: int, layout: str) -> None:
    """Raises ``ValueError`` if ``x`` has fewer than ``min_rank`` axes."""
    if np.ndim(x) < min_rank:
        raise ValueError(
            f"{name} must have at least {min_rank} axes {layout}, got shape {_shape(x)}"
        )


def check_last_dim(name: str, x: Any, expected: int, meaning: str) -> None:
    """Raises ``ValueError`` if the last axis of ``x`` is not ``expected`` long."""
    shape = _shape(x)
    if not shape or shape[-1] != expected:
        raise ValueError(
            f"{name} must have {meaning} = {expected} on its last axis, got shape {shape}"
        )


def check_shape(name: str, x: Any, expected: Sequence[int], meaning: str = "") -> None:
    """Raises ``ValueError`` if ``x.shape`` is not exactly ``expected`` (no broadcasting)."""
    shape = _shape(x)
    if shape != tuple(expected):
        suffix = f" {meaning}" if meaning else ""
        raise ValueError(f"{name} must have shape {tuple(expected)}{suffix}, got {shape}")


def check_positive_int(name: str, value: Any) -> int:
    """Returns ``value`` as an int, raising unless it is a positive integer."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a positive int, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value}")
    return int(value)


def check_seq_lengths(seq_lengths: Any, batch_shape: tuple[int, ...], num_steps: int) -> None:
    """Checks ``seq_lengths``: integer dtype, exactly the batch shape, values in ``[0, T]``.

    The range is checked only where the values are concrete (outside ``jit``). Under ``jit``
    values outside the range act as if clipped to it: a length above ``T`` reads every step and
    a negative one reads none.
    """
    check_array("seq_lengths", seq_lengths)
    if not jnp.issubdtype(seq_lengths.dtype, jnp.integer):
        raise TypeError(
            f"seq_lengths must have an integer dtype, got {_dtype_name(seq_lengths.dtype)}"
        )
    check_shape("seq_lengths", seq_lengths, batch_shape, "(the batch shape of xs)")
    if isinstance(seq_lengths, jax.core.Tracer):
        return
    values = np.asarray(seq_lengths)
    if values.size and (values.min() < 0 or values.max() > num_steps):
        raise ValueError(
            f"seq_lengths must lie in [0, {num_steps}] (the number of time steps), got values "
            f"from {values.min()} to {values.max()}"
        )
