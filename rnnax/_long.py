"""Very long series in bounded memory: ``stream_scan``, a ``lax.scan`` over chunks of a stream.

One pass of a core over ``T`` steps keeps every output, ``T * B * H`` values: 4 GB at
``T = 10**6``, ``B = 8``, ``H = 128`` in float32. ``stream_scan`` runs ``stream_apply`` on
chunks of ``chunk_length`` steps inside one compiled ``lax.scan`` and keeps only the carry and
what you ask for (every ``keep_every``-th output, or a running reduction), so its working
memory depends on ``chunk_length``, not on ``T``. Chunks are sliced out of the input inside the
loop (never a reshaped or transposed copy of it), and the input itself may be a function of
the step index, generated chunk by chunk, so that nothing of size ``T`` exists at all.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from rnnax._checks import check_bool, check_positive_int
from rnnax._protocol import Cell
from rnnax._streaming import (
    STEPS_DTYPE,
    StreamState,
    _Model,
    advance,
    check_chunk,
    check_state,
    describe,
)

InputFn = Callable[[Int[Array, "*batch k"]], Float[Array, "*batch k I"]]
"""``xs(t) -> chunk``: the inputs at global step indices ``t`` (``[..., k]``, or ``[k, ...]``
with ``time_major=True``) as ``[..., k, I]`` (``[k, ..., I]``)."""

ReduceFn = Callable[[Any, jax.Array, jax.Array], Any]
"""``reduce_fn(acc, xs_chunk, ys_chunk) -> acc``, both chunks in the layout of ``xs``."""


def _time_axis(time_major: bool) -> int:
    return 0 if time_major else -2


def _chunk_steps(state: StreamState, length: int, time_major: bool) -> jax.Array:
    """The global step index of every (sequence, step) of the next chunk, in the layout of
    ``xs``: the state's step count (which already includes the earlier chunks) onwards."""
    local = jnp.arange(length, dtype=STEPS_DTYPE)
    if time_major:
        return state.steps[None] + local.reshape((length,) + (1,) * state.steps.ndim)
    return state.steps[..., None] + local.reshape((1,) * state.steps.ndim + (length,))


def _get_chunk(
    xs: Any,
    state: StreamState,
    start: int | jax.Array,
    length: int,
    model: _Model,
    time_major: bool,
) -> jax.Array:
    if callable(xs):
        chunk = xs(_chunk_steps(state, length, time_major))
        check_chunk(
            chunk,
            model,
            tuple(state.steps.shape),
            time_major,
            name=f"xs(steps) for a chunk of {length} steps",
        )
        actual = chunk.shape[0] if time_major else chunk.shape[-2]
        if actual != length:
            raise ValueError(
                f"xs(steps) must return {length} steps for steps of {length} "
                f"steps, got shape {tuple(chunk.shape)}"
            )
        return chunk
    axis = xs.ndim - 2 if not time_major else 0
    return jax.lax.dynamic_slice_in_dim(xs, start, length, axis=axis)


def _check_accumulator(new: Any, old: Any) -> Any:
    """The accumulator goes round a ``lax.scan``: it must keep its structure, shapes, dtypes."""

    def describe(tree: Any) -> Any:
        return jax.tree.map(lambda leaf: (tuple(np.shape(leaf)), jnp.result_type(leaf).name), tree)

    # The ignore: jax annotates PyTreeDef as an alias of a jaxlib class that ships no stub,
    # which mypy cannot resolve (nor compare); at run time PyTreeDefs compare as usual.
    if (
        jax.tree.structure(new) != jax.tree.structure(old)  # type: ignore[operator]
        or describe(new) != describe(old)
    ):
        raise ValueError(
            "reduce_fn must return an accumulator of the structure, shapes and dtypes of "
            f"reduce_init (as (shape, dtype)): {describe(old)}, got {describe(new)}"
        )
    return new


@functools.partial(
    jax.jit,
    static_argnames=(
        "model",
        "xs_fn",
        "num_steps",
        "chunk_length",
        "keep_every",
        "reduce_fn",
        "time_major",
        "strategy",
    ),
)
def _scan_compiled(
    model: _Model,
    params: Any,
    state: StreamState,
    xs_array: jax.Array | None,
    reduce_init: Any,
    *,
    xs_fn: InputFn | None,
    num_steps: int,
    chunk_length: int,
    keep_every: int | None,
    reduce_fn: ReduceFn | None,
    time_major: bool,
    strategy: str,
) -> tuple[StreamState, Any]:
    xs = xs_fn if xs_fn is not None else xs_array
    axis = _time_axis(time_major)

    def run(
        state: StreamState, acc: Any, start: int | jax.Array, length: int
    ) -> tuple[StreamState, Any, jax.Array]:
        chunk = _get_chunk(xs, state, start, length, model, time_major)
        state, ys = advance(
            model, params, state, chunk, None, time_major=time_major, strategy=strategy
        )
        if reduce_fn is not None:
            acc = _check_accumulator(reduce_fn(acc, chunk, ys), acc)
        return state, acc, ys

    def every(ys: jax.Array, first: int, stride: int) -> jax.Array:
        """``ys[first::stride]`` along the time axis."""
        size = ys.shape[axis]
        return jax.lax.slice_in_dim(ys, min(first, size), size, stride, axis=axis % ys.ndim)

    Carry = tuple[StreamState, Any, jax.Array]

    def full_chunks(
        carry: Carry, count: int, emit: Callable[[jax.Array], jax.Array] | None
    ) -> tuple[Carry, Any]:
        """``count`` chunks of ``chunk_length`` steps in a ``lax.scan``; stacks ``emit(ys)``."""

        def body(carry: Carry, _: None) -> tuple[Carry, Any]:
            state, acc, start = carry
            state, acc, ys = run(state, acc, start, chunk_length)
            next_start = start + jnp.asarray(chunk_length, STEPS_DTYPE)
            return (state, acc, next_start), None if emit is None else emit(ys)

        if count == 0:
            return carry, None
        # The chunk's start rides in the carry: scanning over an arange(count) would allocate
        # count indices, the one buffer that would still grow with T.
        return jax.lax.scan(body, carry, None, length=count)

    def to_layout(kept: jax.Array) -> jax.Array:
        """``[n, ..., m, H]`` (``[n, m, ..., H]``) stacked per chunk to ``[..., n * m, H]``."""
        if time_major:
            return kept.reshape(kept.shape[0] * kept.shape[1], *kept.shape[2:])
        kept = jnp.moveaxis(kept, 0, -3)
        return kept.reshape(*kept.shape[:-3], kept.shape[-3] * kept.shape[-2], kept.shape[-1])

    num_full, tail = divmod(num_steps, chunk_length)
    carry: Carry = (state, reduce_init, jnp.zeros((), STEPS_DTYPE))
    kept_parts = []
    if keep_every is None:
        carry, _ = full_chunks(carry, num_full, None)
    elif chunk_length % keep_every == 0:
        carry, kept = full_chunks(carry, num_full, lambda ys: every(ys, keep_every - 1, keep_every))
        if kept is not None:
            kept_parts.append(to_layout(kept))
    else:
        # keep_every is a multiple of chunk_length: one output per group of chunks, the last
        # step of its last chunk.
        group = keep_every // chunk_length
        num_groups = num_full // group

        def group_body(carry: Carry, _: None) -> tuple[Carry, jax.Array]:
            carry, _ = full_chunks(carry, group - 1, None)
            state, acc, start = carry
            state, acc, ys = run(state, acc, start, chunk_length)
            next_start = start + jnp.asarray(chunk_length, STEPS_DTYPE)
            return (state, acc, next_start), every(ys, chunk_length - 1, 1)

        if num_groups:
            carry, kept = jax.lax.scan(group_body, carry, None, length=num_groups)
            kept_parts.append(to_layout(kept))
        carry, _ = full_chunks(carry, num_full - num_groups * group, None)
    state, acc, _ = carry
    if tail:
        state, acc, ys = run(state, acc, num_full * chunk_length, tail)
        if keep_every is not None and chunk_length % keep_every == 0:
            kept_parts.append(every(ys, keep_every - 1, keep_every))
    if keep_every is not None:
        if not kept_parts:  # fewer than keep_every steps
            shape = (0, *state.steps.shape) if time_major else (*state.steps.shape, 0)
            return state, jnp.zeros((*shape, model.hidden), model.dtype)
        kept = kept_parts[0] if len(kept_parts) == 1 else jnp.concatenate(kept_parts, axis=axis)
        return state, kept
    return state, acc if reduce_fn is not None else None


def stream_scan(
    params: Any,
    state: StreamState,
    xs: Float[Array, "*batch T I"] | InputFn,
    *,
    chunk_length: int,
    num_steps: int | None = None,
    keep_every: int | None = None,
    reduce_fn: ReduceFn | None = None,
    reduce_init: Any = None,
    cell: str | Cell | None = None,
    reset_after: bool | None = None,
    time_major: bool = False,
    strategy: str = "auto",
) -> tuple[StreamState, Any]:
    """Streams a whole long series through ``params`` in one compiled loop, in bounded memory.

    Equivalent to ``stream_apply`` on consecutive chunks of ``chunk_length`` steps (the last
    one shorter if ``chunk_length`` does not divide ``T``), run as a ``lax.scan`` over chunks.
    Only the carry and the requested results live across chunks: the working memory is that of
    one chunk, ``O(chunk_length * B * H)``, whatever ``T`` (see ``benchmarks/long_inference.py``
    for measurements at ``T = 10**6``). What comes back:

    - ``keep_every=e``: the outputs at every ``e``-th step, ``ys[..., e-1::e, :]`` of the
      whole pass, ``[..., T // e, H]`` (``e`` must divide ``chunk_length`` or be a multiple
      of it);
    - ``reduce_fn``: ``acc = reduce_fn(acc, xs_chunk, ys_chunk)`` folded over the chunks from
      ``reduce_init`` (e.g. a running error of a readout), returned as it ends;
    - neither: ``None``; the final state is always returned.

    Args:
        params: one cell's parameters or a unidirectional stack ``layers[layer][0]``.
        state: the ``StreamState`` to continue (``stream_init`` for a fresh stream).
        xs: the inputs ``[..., T, I]`` (``[T, ..., I]`` with ``time_major=True``), or a
            function ``xs(t) -> chunk`` giving the inputs at the global step indices ``t``
            (``int32 [..., k]`` or ``[k, ...]``, counted from the stream's start, so a stream
            continued over several calls sees consecutive indices) as ``[..., k, I]``. With a
            function nothing of size ``T`` is ever allocated. It must be traceable with
            ``jax.numpy``; it is a static argument, so pass the same function object to reuse
            the compiled loop.
        chunk_length: steps per chunk; memory grows with it, per-chunk overhead shrinks.
        num_steps: ``T``; required when ``xs`` is a function, else ``None`` or ``T``.
        keep_every: keep every ``keep_every``-th output (see above).
        reduce_fn: ``reduce_fn(acc, xs_chunk, ys_chunk) -> acc`` with the chunks in the
            layout of ``xs`` (static: pass the same function object to reuse the compile).
        reduce_init: the initial accumulator (any pytree of arrays), with ``reduce_fn``.
        cell: the cell for parameters of a cell of your own (see ``rnnax.stream_init``).
        reset_after: the GRU form (see ``rnnax.gru_cell``); GRU parameters only. ``None``
            takes it from the parameters' type.
        time_major: whether time is the first axis of ``xs`` and of the outputs.
        strategy: how the cores run (``rnnax.STRATEGIES``).

    Returns:
        ``(state, out)``: the ``StreamState`` after all ``T`` steps (``steps`` grown by ``T``)
        and the kept outputs, the final accumulator, or ``None``.

    Raises:
        TypeError: a wrong state type, a non-floating or mismatched dtype, or a non-int size.
        ValueError: a shape that does not match the stream, ``keep_every`` neither dividing
            nor a multiple of ``chunk_length``, both ``keep_every`` and ``reduce_fn``, a
            missing or inconsistent ``num_steps``, or what ``stream_apply`` refuses.

    Examples:
        >>> import jax, jax.numpy as jnp, rnnax
        >>> params = rnnax.gru_init(jax.random.key(0), 1, 16)
        >>> sine = lambda t: jnp.sin(t.astype(jnp.float32) / 50)[..., None]  # [k] -> [k, 1]
        >>> state, kept = rnnax.stream_scan(params, rnnax.stream_init(params), sine,
        ...                                 num_steps=100_000, chunk_length=1000,
        ...                                 keep_every=10_000)
        >>> state.steps, kept.shape  # the output at steps 9999, 19999, ..., 99999
        (Array(100000, dtype=int32), (10, 16))
    """
    time_major = check_bool("time_major", time_major)
    model = describe(params, cell, reset_after)
    batch_shape = check_state(state, model)
    chunk_length = check_positive_int("chunk_length", chunk_length)
    if callable(xs):
        if num_steps is None:
            raise ValueError("num_steps is required when xs is a function of the step index")
        num_steps = _check_steps(num_steps)
    else:
        total = check_chunk(xs, model, batch_shape, time_major, name="xs")
        if num_steps is not None and _check_steps(num_steps) != total:
            raise ValueError(
                f"num_steps must be None or the number of steps of xs, {total}, got {num_steps}"
            )
        num_steps = total
    if keep_every is not None:
        keep_every = check_positive_int("keep_every", keep_every)
        if chunk_length % keep_every and keep_every % chunk_length:
            raise ValueError(
                f"keep_every must divide chunk_length = {chunk_length} or be a "
                f"multiple of it, got {keep_every}"
            )
        if reduce_fn is not None:
            raise ValueError(
                "pass keep_every or reduce_fn, not both (reduce the kept outputs "
                "yourself, or keep them inside reduce_fn's accumulator)"
            )
    if reduce_fn is not None and not callable(reduce_fn):
        raise TypeError(f"reduce_fn must be callable, got {type(reduce_fn).__name__}")
    if reduce_fn is None and reduce_init is not None:
        raise ValueError("reduce_init is used only with reduce_fn")
    return _scan_compiled(
        model,
        params,
        state,
        None if callable(xs) else xs,
        reduce_init,
        xs_fn=xs if callable(xs) else None,
        num_steps=num_steps,
        chunk_length=chunk_length,
        keep_every=keep_every,
        reduce_fn=reduce_fn,
        time_major=bool(time_major),
        strategy=strategy,
    )


def _check_steps(num_steps: Any) -> int:
    if isinstance(num_steps, bool) or not isinstance(num_steps, (int, np.integer)) or num_steps < 0:
        raise ValueError(f"num_steps must be a non-negative int, got {num_steps!r}")
    # Step indices are int32 (StreamState.steps): past 2**31 - 1 they would wrap around.
    if num_steps > np.iinfo(np.int32).max:
        raise ValueError(
            f"num_steps must be at most 2**31 - 1 (step indices are int32), got {num_steps}"
        )
    return int(num_steps)
