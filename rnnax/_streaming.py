"""Streaming (stateful) inference: feed a series chunk by chunk, keeping the recurrent state.

A ``StreamState`` holds the carry of one cell or of a whole unidirectional stack, plus the
number of steps each sequence has consumed. ``stream_apply`` advances it by one chunk; feeding a
series in chunks of any sizes gives exactly the outputs and final state of one pass over the
whole series, because the cores run the same step on the same carry either way::

    state = stream_init(params, batch_shape=(B,))
    for chunk in chunks:                       # each [B, T_k, I], any T_k
        state, ys = stream_apply(params, state, chunk)
    # concatenate(all ys, axis=-2), state.carry == rnnax.lstm(params, concatenate(chunks))

``rnnax.stream_scan`` runs the same loop inside one compiled program for very long series.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
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
    check_last_dim,
    check_min_rank,
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
