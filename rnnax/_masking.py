"""Right padding: which steps of each sequence are real, and masking the padded ones away.

A batch of sequences of different lengths is right-padded to ``T`` steps; ``lengths[b]`` says
how many steps of sequence ``b`` are real. Every runner treats the padding the same way: its
inputs are zeroed (so not even a NaN there reaches a value or a gradient), the carry is held
across it, and its outputs are exactly zero. The helpers here are those three operations, used
by the scan (``rnnax._scan``), the parallel scan, cuDNN, the hand-written backward passes and
the Pallas kernels alike. ``valid`` is ``None`` when there are no lengths: nothing is masked.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int


def step_mask(lengths: Int[Array, "*B"] | None, t: Int[Array, ""]) -> Bool[Array, "*B 1"] | None:
    """``[..., 1]``: whether step ``t`` is within each sequence's length (``None``: all are)."""
    return None if lengths is None else (t < lengths)[..., None]


def steps_mask(num_steps: int, lengths: Int[Array, " B"]) -> Bool[Array, "T B 1"]:
    """``[T, B, 1]``: whether step ``t`` of sequence ``b`` is within its length."""
    steps = jnp.arange(num_steps, dtype=lengths.dtype)
    return (steps[:, None] < lengths[None, :])[..., None]


def step_indices(xs: jax.Array, lengths: jax.Array | None) -> Int[Array, " T"]:
    """``0, 1, ..., T - 1`` for a time-major ``xs``, in the dtype of ``lengths`` (int32)."""
    return jnp.arange(xs.shape[0], dtype=jnp.int32 if lengths is None else lengths.dtype)


def keep(valid: jax.Array | None, new: Any, old: Any) -> Any:
    """``new`` where ``valid``, else ``old`` (leaf by leaf): the carry is held over padding."""
    if valid is None:
        return new
    return jax.tree.map(lambda n, o: jnp.where(valid, n, o), new, old)


def zero_padded(valid: jax.Array | None, value: Any) -> Any:
    """``value`` where ``valid``, else exactly zero (leaf by leaf)."""
    if valid is None:
        return value
    return jax.tree.map(lambda v: jnp.where(valid, v, jnp.zeros_like(v)), value)


def masked_inputs(
    xs: Float[Array, "T B I"], lengths: Int[Array, " B"] | None
) -> Float[Array, "T B I"]:
    """Zeroes padded inputs so not even a NaN there reaches a projection or its gradient."""
    if lengths is None:
        return xs
    return zero_padded(steps_mask(xs.shape[0], lengths), xs)
