"""Streaming (stateful) inference: a series fed chunk by chunk, the recurrent state kept.

A ``StreamState`` holds the carry of one cell or of a whole unidirectional stack, plus the
number of steps each sequence has consumed. ``stream_apply`` advances it by one chunk; feeding a
series in chunks of any sizes gives exactly the outputs and final state of one pass over the
whole series, because the cores run the same step on the same carry either way::

    state = stream_init(params, batch_shape=(B,))
    for chunk in chunks:                       # each [B, T_k, I], any T_k
        state, ys = stream_apply(params, state, chunk)
    # concatenate(all ys, axis=-2), state.carry == rnnax.lstm(params, concatenate(chunks))

``stream_scan`` runs the same loop inside one compiled ``lax.scan`` over chunks, for very long
series in bounded memory. One pass of a core over ``T`` steps keeps every output,
``T * B * H`` values: 4 GB at ``T = 10**6``, ``B = 8``, ``H = 128`` in float32.
``stream_scan`` keeps only the carry and what you ask for (every ``keep_every``-th output, or
a running reduction), so its working memory depends on ``chunk_length``, not on ``T``. Chunks
are sliced out of the input inside the loop (never a reshaped or transposed copy of it), and
the input itself may be a function of the step index, generated chunk by chunk, so that
nothing of size ``T`` exists at all.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from rnnax._cell_gru import apply_reset_after
from rnnax._checks import (
    check_array,
    check_bool,
    check_floating,
    check_int,
    check_last_dim,
    check_min_rank,
    check_positive_int,
    check_same_dtype,
    check_seq_lengths,
)
from rnnax._cores import rnn
from rnnax._layers import check_layers, first_params, layers_cell, rnn_stack
from rnnax._protocol import Cell, cell_of, check_params, params_dtype
from rnnax._protocol import check_carry as check_carry_of

# int32, not the default integer: the count must not change dtype (and retrace) with x64.
STEPS_DTYPE = jnp.int32


class StreamState(NamedTuple):
    """The state of a stream: the recurrent carry and the steps consumed so far.

    Attributes:
        carry: the carry in the form the cores take, so it can be handed to them directly:
            ``LSTMState(h, c)`` (LSTM) or ``h`` (GRU), each ``[..., H]``, for one cell;
            ``carry[layer][0]`` of those for a stack (``rnnax.lstm_stack`` layout).
        steps: ``int32 [...]`` (the batch shape): time steps each sequence has consumed.
            Counts past ``2**31 - 1`` steps wrap around; the carry is unaffected.
    """

    carry: Any
    steps: Int[Array, "*batch"]


class _Model(NamedTuple):
    """What a stream needs to know about its parameters (all static)."""

    cell: Cell
    stacked: bool
    num_layers: int
    input_size: int
    hidden: int
    dtype: Any


def describe(params: Any, cell: str | Cell | None = None, reset_after: Any = None) -> _Model:
    """Checks ``params`` (one cell or a unidirectional stack) and describes it.

    ``cell`` names the cell (else it is found from the parameters' type); ``reset_after`` is
    the GRU option of ``rnnax.gru`` (``None``: the parameters' own form).
    """
    if not _is_stack(params):
        stack = " (or a stack layers[layer][direction] of them, rnnax.rnn_stack_init)"
        found = apply_reset_after(cell_of(params, cell, stack), reset_after)
        input_size, hidden = check_params(found, params)
        return _Model(found, False, 1, int(input_size), int(hidden), params_dtype(found, params))
    found = apply_reset_after(layers_cell(params, cell), reset_after)
    num_directions, hidden = check_layers(params, found)
    if num_directions != 1:
        raise ValueError(
            "params is a bidirectional stack (2 directions per layer), which cannot stream: its "
            "backward direction starts from the end of the series, which a stream has not seen "
            "yet. Stream a unidirectional stack, or run rnnax.rnn_stack on the whole series"
        )
    first = params[0][0]
    return _Model(
        found,
        True,
        len(params),
        int(check_params(found, first)[0]),
        int(hidden),
        params_dtype(found, first),
    )


def _is_stack(params: Any) -> bool:
    """A ``layers[layer][direction]`` list, as opposed to one cell's NamedTuple."""
    return first_params(params) is not None


def _layer_zero(model: _Model, batch_shape: tuple[int, ...]) -> Any:
    return model.cell.carry_init(model.hidden, batch_shape, model.dtype)


def _check_layer_carry(name: str, carry: Any, model: _Model, batch_shape: tuple[int, ...]) -> None:
    meaning = "the stream's batch shape, then H"
    check_carry_of(model.cell, name, carry, model.hidden, batch_shape, model.dtype, meaning)


def check_carry(name: str, carry: Any, model: _Model, batch_shape: tuple[int, ...]) -> None:
    """Checks a stream carry against ``params``: layout, shapes ``(*batch_shape, H)``, dtype."""
    if not model.stacked:
        _check_layer_carry(name, carry, model, batch_shape)
        return
    layout = (
        [
            len(layer) if isinstance(layer, Sequence) and not hasattr(layer, "_fields") else None
            for layer in carry
        ]
        if isinstance(carry, Sequence) and not hasattr(carry, "_fields")
        else None
    )
    if layout != [1] * model.num_layers:
        raise ValueError(
            f"{name} must be carry[layer][0] for {model.num_layers} layer(s) of 1 direction "
            f"(the rnnax.lstm_stack layout), got layout {layout}"
        )
    for index, layer in enumerate(carry):
        _check_layer_carry(f"{name}[{index}][0]", layer[0], model, batch_shape)


def _check_batch_shape(batch_shape: Any) -> tuple[int, ...]:
    if not isinstance(batch_shape, Sequence) or not all(
        isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 0 for n in batch_shape
    ):
        raise TypeError(f"batch_shape must be a tuple of non-negative ints, got {batch_shape!r}")
    return tuple(int(n) for n in batch_shape)


def stream_init(
    params: Any,
    batch_shape: tuple[int, ...] = (),
    *,
    carry: Any = None,
    cell: str | Cell | None = None,
) -> StreamState:
    """Starts a stream: a zero (or the given) carry and no steps consumed.

    Args:
        params: one cell's parameters (``LSTMParams``, ``GRUParams``, any cell's), or a
            unidirectional stack
            ``layers[layer][0]`` (``rnnax.lstm_stack_init`` / ``rnnax.gru_stack_init``).
        batch_shape: the batch axes of every chunk (``()`` for one unbatched series).
        carry: an initial carry in the cores' form (``LSTMState`` or ``h`` for one cell,
            ``carry[layer][0]`` for a stack), each leaf ``[*batch_shape, H]``; ``None`` means
            zeros.
        cell: the cell (``rnnax.Cell`` or a registered name) for parameters of a cell of your
            own; ``None`` finds it from the parameters' type.

    Returns:
        A ``StreamState`` with ``steps`` all zero.

    Raises:
        TypeError: ``params`` is not a cell or stack, or a carry of the wrong type or dtype.
        ValueError: a bidirectional stack, or a carry of the wrong layout or shape.

    Examples:
        >>> import jax, rnnax
        >>> params = rnnax.lstm_init(jax.random.key(0), 3, 8)
        >>> state = rnnax.stream_init(params, (4,))
        >>> state.carry.h.shape, state.steps
        ((4, 8), Array([0, 0, 0, 0], dtype=int32))
    """
    model = describe(params, cell)
    batch_shape = _check_batch_shape(batch_shape)
    if carry is None:
        layer = _layer_zero(model, batch_shape)
        carry = [[layer] for _ in range(model.num_layers)] if model.stacked else layer
    else:
        check_carry("carry", carry, model, batch_shape)
    return StreamState(carry=carry, steps=jnp.zeros(batch_shape, STEPS_DTYPE))


def check_chunk(
    chunk: Any, model: _Model, batch_shape: tuple[int, ...], time_major: bool, name: str = "chunk"
) -> int:
    """Checks a chunk ``[..., T, I]`` against the stream; returns its number of steps ``T``."""
    layout = "[T, ..., I]" if time_major else "[..., T, I]"
    check_floating(name, chunk)
    check_min_rank(name, chunk, 2, layout)
    check_last_dim(name, chunk, model.input_size, "the input size I of params")
    check_same_dtype(name, chunk, model.dtype, "params")
    shape = tuple(np.shape(chunk))
    chunk_batch = shape[1:-1] if time_major else shape[:-2]
    if chunk_batch != batch_shape:
        raise ValueError(
            f"{name} must have batch shape {batch_shape} (the stream's, from stream_init) in "
            f"the layout {layout}, got shape {shape}"
        )
    return shape[0] if time_major else shape[-2]


def check_state(state: Any, model: _Model) -> tuple[int, ...]:
    """Checks a ``StreamState`` against ``params``; returns the stream's batch shape."""
    if not isinstance(state, StreamState):
        raise TypeError(
            f"state must be a StreamState (from rnnax.stream_init), got {type(state).__name__}"
        )
    check_array("state.steps", state.steps)
    if jnp.dtype(state.steps.dtype) != jnp.dtype(STEPS_DTYPE):
        raise TypeError(
            f"state.steps must have dtype int32, got {jnp.dtype(state.steps.dtype).name}"
        )
    batch_shape = tuple(np.shape(state.steps))
    check_carry("state.carry", state.carry, model, batch_shape)
    return batch_shape


def advance(
    model: _Model,
    params: Any,
    state: StreamState,
    chunk: jax.Array,
    seq_lengths: jax.Array | None,
    *,
    time_major: bool,
    strategy: str,
) -> tuple[StreamState, jax.Array]:
    """One chunk, unchecked (the callers check): the cores on the state's carry."""
    num_steps = chunk.shape[0] if time_major else chunk.shape[-2]
    if num_steps == 0:  # nothing to read; the cores cannot reshape an empty time axis
        return state, jnp.zeros((*chunk.shape[:-1], model.hidden), model.dtype)
    options: dict[str, Any] = {
        "cell": model.cell,
        "seq_lengths": seq_lengths,
        "time_major": time_major,
        "strategy": strategy,
    }
    carry: Any
    if model.stacked:
        carry, ys = rnn_stack(params, chunk, state.carry, **options)
    else:
        carry, ys = rnn(params, chunk, state.carry, **options)
    if seq_lengths is None:
        consumed = jnp.full(state.steps.shape, num_steps, STEPS_DTYPE)
    else:
        # The cores read a length outside [0, T] as clipped to it (under jit), so count so too.
        consumed = jnp.clip(seq_lengths, 0, num_steps).astype(STEPS_DTYPE)
    return StreamState(carry=carry, steps=state.steps + consumed), ys


@functools.partial(jax.jit, static_argnames=("model", "time_major", "strategy"))
def _advance_compiled(
    model: _Model,
    params: Any,
    state: StreamState,
    chunk: jax.Array,
    seq_lengths: jax.Array | None,
    *,
    time_major: bool,
    strategy: str,
) -> tuple[StreamState, jax.Array]:
    return advance(
        model, params, state, chunk, seq_lengths, time_major=time_major, strategy=strategy
    )


def stream_apply(
    params: Any,
    state: StreamState,
    chunk: Float[Array, "*batch T I"],
    *,
    seq_lengths: Int[Array, "*batch"] | None = None,
    cell: str | Cell | None = None,
    reset_after: bool | None = None,
    time_major: bool = False,
    strategy: str = "auto",
) -> tuple[StreamState, Float[Array, "*batch T H"]]:
    """Feeds one chunk of a series to a stream; returns the advanced state and the outputs.

    Type: ``(params, StreamState[..., H], chunk[..., T, I]) -> (StreamState, ys[..., T, H])``.

    Feeding a series in consecutive chunks of any lengths (1 included) gives the outputs of one
    pass over the whole series, concatenated, and the same final carry: the cores run the
    same steps on the same carry. Compiled once per chunk shape (the call is ``jax.jit``-ed
    inside, with the checks run first), so a stream of equal chunks compiles once; it also
    works under your own ``jit``, ``vmap`` and ``grad`` (``rnnax.training.tbptt_grad`` builds
    on it).

    Args:
        params: one cell's parameters or a unidirectional stack ``layers[layer][0]``.
        state: the ``StreamState`` from ``stream_init`` or the previous ``stream_apply``.
        chunk: the next steps ``[..., T, I]`` (``[T, ..., I]`` with ``time_major=True``), the
            batch shape of ``state``, the dtype of ``params``.
        seq_lengths: optional integer lengths of the batch shape: sequence ``b`` consumes only
            its first ``seq_lengths[b]`` steps of this chunk (right padding, as in the cores:
            its carry stops there, its ``ys`` are 0 past it, its ``steps`` grow by the length).
            For series that end at different times.
        cell: the cell for parameters of a cell of your own (see ``stream_init``).
        reset_after: the GRU form (see ``rnnax.gru_cell``); GRU parameters only. ``None``
            takes it from the parameters' type.
        time_major: whether time is the first axis of ``chunk`` and ``ys``.
        strategy: how the cores run (``rnnax.STRATEGIES``); all give the same values.

    Returns:
        ``(state, ys)``: the state after the chunk and the outputs ``[..., T, H]`` (the last
        layer's, for a stack) in the layout of ``chunk``.

    Raises:
        TypeError: a wrong state type, a non-floating or mismatched dtype.
        ValueError: a chunk whose features or batch shape differ from the stream's, a carry of
            the wrong layout or shape, bad ``seq_lengths``, a bidirectional stack, or
            ``reset_after=True`` with LSTM parameters.

    Examples:
        >>> import jax, jax.numpy as jnp, rnnax
        >>> params = rnnax.gru_init(jax.random.key(0), 1, 8)
        >>> series = jnp.sin(jnp.arange(100.0) / 5)[None, :, None]  # [1, 100, 1]
        >>> state = rnnax.stream_init(params, (1,))
        >>> outputs = []
        >>> for start in range(0, 100, 30):  # chunks of 30, 30, 30 and 10 steps
        ...     state, ys = rnnax.stream_apply(params, state, series[:, start:start + 30])
        ...     outputs.append(ys)
        >>> h, ys = rnnax.gru(params, series)  # one pass over the whole series
        >>> bool(jnp.allclose(jnp.concatenate(outputs, axis=1), ys, atol=1e-6))
        True
        >>> bool(jnp.allclose(state.carry, h, atol=1e-6)), state.steps
        (True, Array([100], dtype=int32))
    """
    time_major = check_bool("time_major", time_major)
    model = describe(params, cell, reset_after)
    batch_shape = check_state(state, model)
    num_steps = check_chunk(chunk, model, batch_shape, time_major)
    if seq_lengths is not None:
        check_seq_lengths(seq_lengths, batch_shape, num_steps)
    return _advance_compiled(
        model,
        params,
        state,
        chunk,
        seq_lengths,
        time_major=bool(time_major),
        strategy=strategy,
    )


# ------------------------------------------------------------------ long series: stream_scan

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

    def signature(tree: Any) -> Any:
        return jax.tree.map(lambda leaf: (tuple(np.shape(leaf)), jnp.result_type(leaf).name), tree)

    # The ignore: jax annotates PyTreeDef as an alias of a jaxlib class that ships no stub,
    # which mypy cannot resolve (nor compare); at run time PyTreeDefs compare as usual.
    if (
        jax.tree.structure(new) != jax.tree.structure(old)  # type: ignore[operator]
        or signature(new) != signature(old)
    ):
        raise ValueError(
            "reduce_fn must return an accumulator of the structure, shapes and dtypes of "
            f"reduce_init (as (shape, dtype)): {signature(old)}, got {signature(new)}"
        )
    return new


_Carry = tuple[StreamState, Any, jax.Array]
"""What goes round the loop over chunks: the state, the accumulator, the next chunk's start."""

_RunChunk = Callable[[StreamState, Any, Any, int], tuple[StreamState, Any, jax.Array]]
"""``run(state, acc, start, length) -> (state, acc, ys)``: one chunk of the stream."""


def _every(ys: jax.Array, first: int, stride: int, axis: int) -> jax.Array:
    """``ys[first::stride]`` along the time axis ``axis``."""
    size = ys.shape[axis]
    return jax.lax.slice_in_dim(ys, min(first, size), size, stride, axis=axis % ys.ndim)


def _to_layout(kept: jax.Array, time_major: bool) -> jax.Array:
    """``[n, ..., m, H]`` (``[n, m, ..., H]``) stacked per chunk to ``[..., n * m, H]``."""
    if time_major:
        return kept.reshape(kept.shape[0] * kept.shape[1], *kept.shape[2:])
    kept = jnp.moveaxis(kept, 0, -3)
    return kept.reshape(*kept.shape[:-3], kept.shape[-3] * kept.shape[-2], kept.shape[-1])


def _run_and_move_on(run: _RunChunk, carry: _Carry, length: int) -> tuple[_Carry, jax.Array]:
    """One chunk of ``length`` steps from the carry's start; the start moves past it."""
    state, acc, start = carry
    state, acc, ys = run(state, acc, start, length)
    return (state, acc, start + jnp.asarray(length, STEPS_DTYPE)), ys


def _full_chunks(
    run: _RunChunk,
    carry: _Carry,
    count: int,
    chunk_length: int,
    emit: Callable[[jax.Array], jax.Array] | None,
) -> tuple[_Carry, Any]:
    """``count`` chunks of ``chunk_length`` steps in a ``lax.scan``; stacks ``emit(ys)``."""

    def body(carry: _Carry, _: None) -> tuple[_Carry, Any]:
        carry, ys = _run_and_move_on(run, carry, chunk_length)
        return carry, None if emit is None else emit(ys)

    if count == 0:
        return carry, None
    # The chunk's start rides in the carry: scanning over an arange(count) would allocate
    # count indices, the one buffer that would still grow with T.
    return jax.lax.scan(body, carry, None, length=count)


def _kept_outputs(
    run: _RunChunk,
    carry: _Carry,
    num_full: int,
    chunk_length: int,
    keep_every: int,
    time_major: bool,
) -> tuple[_Carry, list[jax.Array]]:
    """The full chunks, keeping every ``keep_every``-th output in the layout of ``xs``.

    When ``keep_every`` divides ``chunk_length``, each chunk keeps its own outputs; when it is
    a multiple of it, the chunks go in groups and each group keeps the last step of its last
    chunk.
    """
    axis = _time_axis(time_major)
    if chunk_length % keep_every == 0:
        carry, kept = _full_chunks(
            run,
            carry,
            num_full,
            chunk_length,
            lambda ys: _every(ys, keep_every - 1, keep_every, axis),
        )
        return carry, [] if kept is None else [_to_layout(kept, time_major)]
    group = keep_every // chunk_length
    num_groups = num_full // group

    def group_body(carry: _Carry, _: None) -> tuple[_Carry, jax.Array]:
        carry, _ = _full_chunks(run, carry, group - 1, chunk_length, None)
        carry, ys = _run_and_move_on(run, carry, chunk_length)
        return carry, _every(ys, chunk_length - 1, 1, axis)

    kept_parts = []
    if num_groups:
        carry, kept = jax.lax.scan(group_body, carry, None, length=num_groups)
        kept_parts.append(_to_layout(kept, time_major))
    carry, _ = _full_chunks(run, carry, num_full - num_groups * group, chunk_length, None)
    return carry, kept_parts


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

    num_full, tail = divmod(num_steps, chunk_length)
    carry: _Carry = (state, reduce_init, jnp.zeros((), STEPS_DTYPE))
    if keep_every is None:
        carry, _ = _full_chunks(run, carry, num_full, chunk_length, None)
        state, acc, _ = carry
        if tail:
            state, acc, _ = run(state, acc, num_full * chunk_length, tail)
        return state, acc if reduce_fn is not None else None
    carry, kept_parts = _kept_outputs(run, carry, num_full, chunk_length, keep_every, time_major)
    state, acc, _ = carry  # no reduce_fn with keep_every: acc stays reduce_init
    if tail:
        state, _, ys = run(state, acc, num_full * chunk_length, tail)
        if chunk_length % keep_every == 0:
            kept_parts.append(_every(ys, keep_every - 1, keep_every, axis))
    if not kept_parts:  # fewer than keep_every steps
        shape = (0, *state.steps.shape) if time_major else (*state.steps.shape, 0)
        return state, jnp.zeros((*shape, model.hidden), model.dtype)
    return state, kept_parts[0] if len(kept_parts) == 1 else jnp.concatenate(kept_parts, axis=axis)


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
    # Step indices are int32 (StreamState.steps): past 2**31 - 1 they would wrap around.
    return check_int("num_steps", num_steps, minimum=0, maximum=int(np.iinfo(np.int32).max))
