"""Hand-written backward passes: the pieces they share, on time-major ``[T, B, ...]`` arrays.

Used by the custom VJPs (``rnnax._custom_vjp``, ``rnnax._generic_vjp``) and the Pallas kernels
(``rnnax._pallas``). All move the work that is not sequential out of the time loop: the carry
each step read is rebuilt from what the steps left behind instead of being stored, and every
weight gradient is one GEMM over all ``T * B`` rows. (Padded inputs are masked once, with
``rnnax._masking.masked_inputs``.)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int


def previous_carries(
    carries: Float[Array, "T B H"],
    initial: Float[Array, "B H"],
    reverse: bool,
    lengths: Int[Array, " B"] | None = None,
) -> Float[Array, "T B H"]:
    """The carry *before* each step, from what each step left behind.

    Going forward step ``t`` reads the carry after ``t - 1``; with ``reverse`` it reads the
    carry after ``t + 1``; the first step processed reads ``initial``. ``carries`` may be the
    carries after each step, held at padded steps, or the outputs, which are zero there: pass
    ``lengths`` with outputs, so that a reversed sequence's last valid step reads ``initial``
    instead of a padded zero. Entries at padded steps are never read and are unspecified.
    """
    if carries.shape[0] == 0:
        return carries
    if not reverse:
        return jnp.concatenate([initial[None], carries[:-1]], axis=0)
    following = jnp.concatenate([carries[1:], initial[None]], axis=0)
    if lengths is None:
        return following
    steps = jnp.arange(carries.shape[0], dtype=lengths.dtype)[:, None]
    return jnp.where((steps + 1 < lengths[None, :])[..., None], following, initial[None])


def previous_carry_at(
    outputs: Float[Array, "T B H"],
    initial: Float[Array, "B H"],
    t: Int[Array, ""],
    reverse: bool,
    lengths: Int[Array, " B"] | None = None,
) -> Float[Array, "B H"]:
    """``previous_carries(outputs, initial, reverse, lengths)[t]``, read inside a loop over
    ``t`` without building the stacked array: going forward step ``t`` read the output of step
    ``t - 1`` (``initial`` at 0); with ``reverse`` that of step ``t + 1``, or ``initial`` where
    ``t + 1`` is past the sequence's length."""
    num_steps = outputs.shape[0]
    if num_steps == 0:  # the loop body is traced but never runs
        return initial
    if not reverse:
        neighbour = jax.lax.dynamic_index_in_dim(outputs, jnp.maximum(t - 1, 0), keepdims=False)
        first = t == 0
    else:
        neighbour = jax.lax.dynamic_index_in_dim(
            outputs, jnp.minimum(t + 1, num_steps - 1), keepdims=False
        )
        first = t + 1 >= (num_steps if lengths is None else lengths[:, None])
    return jnp.where(first, initial, neighbour)


def weight_gradient(
    inputs: Float[Array, "T B I"], d_pre: Float[Array, "T B G"]
) -> Float[Array, "I G"]:
    """``sum_t inputs[t]^T @ d_pre[t]``, as one GEMM over the merged ``T * B`` axis.

    Contracting that axis of both operands directly: an einsum over ``t`` and ``b`` made
    XLA:CPU copy both operands transposed first (``benchmarks/profile_step.py``; see
    ``benchmarks/README.md``, "Where the time goes").
    """
    rows = inputs.shape[0] * inputs.shape[1]  # explicit, since T or B may be 0
    flat = (inputs.reshape(rows, inputs.shape[-1]), d_pre.reshape(rows, d_pre.shape[-1]))
    return jax.lax.dot_general(*flat, (((0,), (0,)), ((), ())))
