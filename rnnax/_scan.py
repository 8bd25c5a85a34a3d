"""The generic scan driver every recurrent core is built on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import jax
import jax.numpy as jnp
import numpy as np

from rnnax._checks import (
    check_bool,
    check_floating,
    check_min_rank,
    check_positive_int,
    check_seq_lengths,
    check_unroll,
)
from rnnax._masking import keep, step_mask, zero_padded

Carry = TypeVar("Carry")
Params = TypeVar("Params")
Cell = Callable[[Params, Carry, jax.Array], tuple[Carry, Any]]

NARROW_FLOATS = (jnp.dtype(jnp.bfloat16), jnp.dtype(jnp.float16))


def scan_stacking_wide(
    body: Callable[[Carry, Any], tuple[Carry, Any]], carry: Carry, xs: Any, **scan_kwargs: Any
) -> tuple[Carry, Any]:
    """``jax.lax.scan``, with bfloat16/float16 outputs stacked in float32 on CPU.

    XLA:CPU turns each step's write of a narrow float into the stacked output into a conversion
    of the whole stacked buffer, so a bfloat16 scan costs O(T^2) (0.84 s forward at T = 10,000
    against 0.006 s when stacked in float32). Widening is exact, and the result is cast back.
    """
    if jax.default_backend() != "cpu":
        return jax.lax.scan(body, carry, xs, **scan_kwargs)
    # The body's own output dtypes, recorded while lax.scan traces it (an eval_shape on
    # ShapeDtypeStructs would drop the inputs' varying-manual-axes types under shard_map).
    out_dtypes: list[Any] = []

    def widen(leaf: jax.Array) -> jax.Array:
        return leaf.astype(jnp.float32) if leaf.dtype in NARROW_FLOATS else leaf

    def wide_body(carry: Carry, x: Any) -> tuple[Carry, Any]:
        carry, ys = body(carry, x)
        out_dtypes[:] = [jax.tree.map(lambda leaf: leaf.dtype, ys)]
        return carry, jax.tree.map(widen, ys)

    carry, ys = jax.lax.scan(wide_body, carry, xs, **scan_kwargs)
    return carry, jax.tree.map(lambda leaf, dtype: leaf.astype(dtype), ys, out_dtypes[0])


def sequence_shape(xs: Any, *, time_major: bool) -> tuple[tuple[int, ...], int]:
    """Checks ``xs`` is a floating sequence ``[..., T, I]`` (or ``[T, ..., I]``).

    Returns:
        ``(batch_shape, num_steps)``.
    """
    layout = "[T, ..., I]" if time_major else "[..., T, I]"
    check_floating("xs", xs)
    check_min_rank("xs", xs, 2, layout)
    shape = tuple(np.shape(xs))
    if time_major:
        return shape[1:-1], shape[0]
    return shape[:-2], shape[-2]


def scan_cell(
    cell: Cell,
    params: Params,
    xs: jax.Array,
    carry: Carry,
    *,
    seq_lengths: jax.Array | None = None,
    reverse: bool = False,
    time_major: bool = False,
    unroll: int | bool = 1,
    remat_chunk: int | None = None,
) -> tuple[Carry, Any]:
    """Runs ``cell`` over the time axis of ``xs``, with right-padded variable lengths.

    Type: ``(cell: (P, C, x[..., I]) -> (C, y[..., H]), P, xs[..., T, I], C)
    -> (C, ys[..., T, H])``.

    Any cell with the ``cell(params, carry, x) -> (carry, y)`` signature works, including user
    cells; every axis of ``xs`` other than time and features is a batch axis. Semantically
    (``T`` the time axis, ``length`` the sequence's entry of ``seq_lengths``, default ``T``)::

        def scan_cell(cell, params, xs, carry, seq_lengths, reverse):
            ys = [0] * T
            for t in (reversed(range(T)) if reverse else range(T)):
                if t < length:  # padded steps neither read nor write
                    carry, ys[t] = cell(params, carry, xs[t])
            return carry, stack(ys)  # ys[t] is the output after reading xs[t]

    So the final carry is the carry after step ``length - 1`` going forward, after step 0 with
    ``reverse=True``, and the initial carry where ``length`` is 0. Padded inputs are replaced
    by zeros before the cell sees them, so even a NaN there cannot reach a value or a gradient.
    Without ``seq_lengths`` no masking code is emitted at all.

    Args:
        cell: the step function.
        params: the cell's parameters (any pytree), passed unchanged to every step.
        xs: inputs ``[..., T, I]``, or ``[T, ..., I]`` with ``time_major=True``.
        carry: the initial carry, a pytree of ``[..., H]`` arrays.
        seq_lengths: optional integer array of the batch shape, values in ``[0, T]``.
        reverse: run each sequence from its last valid step back to the first.
        time_major: whether the time axis is the first axis of ``xs`` (and of ``ys``).
        unroll: passed to ``jax.lax.scan`` (how many steps one loop iteration runs).
        remat_chunk: if given, run time in chunks of this many steps under
            ``jax.checkpoint``: the backward pass stores one carry per chunk and recomputes
            each chunk's steps, so its memory grows like ``T / remat_chunk + remat_chunk``
            (``sqrt(T)`` with a chunk of ``sqrt(T)``) instead of ``T``, for about one more
            forward pass of compute. Same values and gradients.

    Returns:
        ``(final_carry, ys)``, ``ys`` in the layout of ``xs``, exactly 0 at padded steps.

    Examples:
        >>> import jax, jax.numpy as jnp, rnnax
        >>> params = rnnax.gru_init(jax.random.key(0), 2, 3)
        >>> xs = jnp.ones((5, 7, 2))  # 5 sequences of 7 steps
        >>> h, ys = rnnax.scan_cell(rnnax.gru_cell, params, xs, jnp.zeros((5, 3)),
        ...                         seq_lengths=jnp.array([7, 3, 0, 1, 7]))
        >>> ys.shape, bool((ys[1, 3:] == 0).all()), bool((h[2] == 0).all())
        ((5, 7, 3), True, True)
    """
    if not callable(cell):
        raise TypeError(f"cell must be a function cell(params, carry, x), got {cell!r:.80}")
    reverse = check_bool("reverse", reverse)
    time_major = check_bool("time_major", time_major)
    check_unroll(unroll)
    batch_shape, num_steps = sequence_shape(xs, time_major=time_major)
    xs_time_major = xs if time_major else jnp.moveaxis(xs, -2, 0)
    if seq_lengths is not None:
        check_seq_lengths(seq_lengths, batch_shape, num_steps)

    def step(carry: Carry, x: jax.Array) -> tuple[Carry, Any]:
        return cell(params, carry, x)

    padding = 0
    if remat_chunk is not None:
        chunk = check_positive_int("remat_chunk", remat_chunk)
        num_chunks = -(-num_steps // chunk)
        padding = num_chunks * chunk - num_steps
        if padding and seq_lengths is None:
            # The padded tail must not move the carry: mask it like right padding.
            seq_lengths = jnp.full(batch_shape, num_steps, jnp.int32)
        xs_time_major = jnp.pad(xs_time_major, [(0, padding)] + [(0, 0)] * (xs.ndim - 1))

    body: Callable[[Carry, Any], tuple[Carry, Any]] = step
    inputs: Any = xs_time_major
    if seq_lengths is not None:
        # Defined here, after seq_lengths' last assignment, so it closes over an Array.
        def masked_step(carry: Carry, inputs: tuple[jax.Array, jax.Array]) -> tuple[Carry, Any]:
            x, t = inputs
            valid = step_mask(seq_lengths, t)
            new_carry, y = cell(params, carry, zero_padded(valid, x))
            return keep(valid, new_carry, carry), zero_padded(valid, y)

        body = masked_step
        inputs = (xs_time_major, jnp.arange(num_steps + padding, dtype=seq_lengths.dtype))

    if remat_chunk is None:
        carry, ys = scan_stacking_wide(body, carry, inputs, reverse=reverse, unroll=unroll)
    else:

        @jax.checkpoint
        def run_chunk(carry: Carry, chunk_inputs: Any) -> tuple[Carry, Any]:
            return scan_stacking_wide(body, carry, chunk_inputs, reverse=reverse, unroll=unroll)

        chunked = jax.tree.map(
            lambda leaf: leaf.reshape(num_chunks, chunk, *leaf.shape[1:]), inputs
        )
        carry, ys = scan_stacking_wide(run_chunk, carry, chunked, reverse=reverse)
        ys = jax.tree.map(
            lambda leaf: leaf.reshape(num_chunks * chunk, *leaf.shape[2:])[:num_steps], ys
        )

    if not time_major:
        ys = jax.tree.map(lambda leaf: jnp.moveaxis(leaf, 0, -2), ys)
    return carry, ys
