"""Multi-layer and bidirectional stacks of the cores, with dropout between layers.

A stack's parameters are ``layers[layer][direction]``: a sequence of layers, each a sequence of
one (forward) or two (forward, backward) parameter tuples. This is the layout
``rnnax.interop.from_torch`` returns, so an imported ``torch.nn.LSTM`` runs as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from rnnax._cell_gru import gru_form
from rnnax._cell_lstm import LSTM
from rnnax._checks import (
    MAX_LAYERS,
    check_bool,
    check_key,
    check_positive_int,
    check_rate,
)
from rnnax._cores import rnn
from rnnax._init import Initializer, glorot_uniform, gru_init, lstm_init, orthogonal
from rnnax._params import GRUParams, LSTMParams
from rnnax._protocol import Cell, cell_of, check_params, get_cell

Layers = Sequence[Sequence[Any]]


def _stack_init(
    init: Callable[..., Any],
    key: jax.Array,
    input_size: int,
    hidden_size: int,
    num_layers: int,
    bidirectional: bool,
    **init_kwargs: Any,
) -> list[list[Any]]:
    num_layers = check_positive_int("num_layers", num_layers, MAX_LAYERS)
    num_directions = 2 if check_bool("bidirectional", bidirectional) else 1
    check_key("key", key)
    # One key per layer and direction, in row-major order. Indexed, not reshaped: a raw
    # uint32 key (jax.random.PRNGKey) splits into [n, 2], not [n].
    keys = jax.random.split(key, num_layers * num_directions)
    layers = []
    for layer in range(num_layers):
        layer_input = input_size if layer == 0 else hidden_size * num_directions
        layers.append(
            [
                init(
                    keys[layer * num_directions + direction],
                    layer_input,
                    hidden_size,
                    **init_kwargs,
                )
                for direction in range(num_directions)
            ]
        )
    return layers


def rnn_stack_init(
    cell: str | Cell,
    key: jax.Array,
    input_size: int,
    hidden_size: int,
    *,
    num_layers: int = 1,
    bidirectional: bool = False,
    **init_options: Any,
) -> list[list[Any]]:
    """Initializes a stack of any cell's layers with ``cell.init``, one key per layer and
    direction.

    Layer 0 reads ``input_size`` features; every later layer reads the previous layer's output,
    ``hidden_size`` features (twice that when bidirectional). ``init_options`` (``dtype``,
    ``forget_bias``, ...) are passed to every ``cell.init``.

    Returns:
        ``layers[layer][direction]``, the layout ``rnn_stack`` takes.

    Examples:
        >>> import jax, rnnax
        >>> layers = rnnax.rnn_stack_init("gru_reset_after", jax.random.key(0), 3, 8,
        ...                               num_layers=2)
        >>> type(layers[1][0]).__name__, layers[1][0].w_x.shape
        ('GRUResetAfterParams', (8, 24))
    """
    return _stack_init(
        get_cell(cell).init, key, input_size, hidden_size, num_layers, bidirectional, **init_options
    )


def lstm_stack_init(
    key: jax.Array,
    input_size: int,
    hidden_size: int,
    *,
    num_layers: int = 1,
    bidirectional: bool = False,
    forget_bias: float = 1.0,
    dtype: Any = jnp.float32,
    input_init: Initializer = glorot_uniform,
    recurrent_init: Initializer = orthogonal,
) -> list[list[LSTMParams]]:
    """Initializes a stack of LSTM layers with ``lstm_init``, one key per layer and direction.

    Layer 0 reads ``input_size`` features; every later layer reads the previous layer's output,
    ``hidden_size`` features (twice that when bidirectional). ``forget_bias``, ``dtype``,
    ``input_init`` and ``recurrent_init`` are passed to every ``lstm_init``.

    Returns:
        ``layers[layer][direction]``, the layout ``lstm_stack`` takes.

    Examples:
        >>> import jax, rnnax
        >>> layers = rnnax.lstm_stack_init(jax.random.key(0), 3, 8, num_layers=2,
        ...                                bidirectional=True)
        >>> len(layers), len(layers[0]), layers[1][0].w_x.shape
        (2, 2, (16, 32))
    """
    return _stack_init(
        lstm_init,
        key,
        input_size,
        hidden_size,
        num_layers,
        bidirectional,
        forget_bias=forget_bias,
        dtype=dtype,
        input_init=input_init,
        recurrent_init=recurrent_init,
    )


def gru_stack_init(
    key: jax.Array,
    input_size: int,
    hidden_size: int,
    *,
    num_layers: int = 1,
    bidirectional: bool = False,
    dtype: Any = jnp.float32,
    input_init: Initializer = glorot_uniform,
    recurrent_init: Initializer = orthogonal,
) -> list[list[GRUParams]]:
    """Initializes a stack of GRU layers with ``gru_init``; see ``lstm_stack_init``."""
    return _stack_init(
        gru_init,
        key,
        input_size,
        hidden_size,
        num_layers,
        bidirectional,
        dtype=dtype,
        input_init=input_init,
        recurrent_init=recurrent_init,
    )


def check_layers(layers: Any, cell: Cell) -> tuple[int, int]:
    """Checks a ``layers[layer][direction]`` stack; returns ``(num_directions, hidden_size)``."""
    if not isinstance(layers, Sequence) or not layers:
        raise ValueError(f"layers must be a non-empty sequence of layers, got {layers!r:.80}")
    num_directions = None
    previous_output = None
    for index, layer in enumerate(layers):
        if not isinstance(layer, Sequence) or len(layer) not in (1, 2):
            raise ValueError(
                f"layers[{index}] must be a sequence of 1 (forward) or 2 (forward, backward) "
                f"parameter tuples, got {type(layer).__name__} of length "
                f"{len(layer) if isinstance(layer, Sequence) else 'n/a'}"
            )
        if num_directions is None:
            num_directions = len(layer)
        elif len(layer) != num_directions:
            raise ValueError(
                f"layers[{index}] has {len(layer)} directions but layers[0] has {num_directions}"
            )
        sizes = [check_params(cell, params) for params in layer]
        if len(set(sizes)) != 1:
            raise ValueError(
                f"layers[{index}]: both directions must have the same (input, hidden) sizes, "
                f"got {sizes}"
            )
        input_size, hidden_size = sizes[0]
        if previous_output is not None and input_size != previous_output:
            raise ValueError(
                f"layers[{index}][0] must have input size I = {previous_output} (the output size "
                f"of layers[{index - 1}]), got {input_size}"
            )
        previous_output = hidden_size * len(layer)
    assert num_directions is not None and previous_output is not None
    return num_directions, previous_output // num_directions


def _is_layer_list(value: Any) -> bool:
    """A list of layers or of directions, as opposed to one cell's parameter NamedTuple."""
    return isinstance(value, Sequence) and not hasattr(value, "_fields") and len(value) > 0


def first_params(layers: Any) -> Any:
    """``layers[0][0]`` of a ``layers[layer][direction]`` stack, or ``None`` if it has none."""
    if _is_layer_list(layers) and _is_layer_list(layers[0]):
        return layers[0][0]
    return None


def layers_cell(layers: Any, cell: str | Cell | None) -> Cell:
    """The cell of a ``layers[layer][direction]`` stack: ``cell``, or found from the type of
    its first parameters."""
    first = first_params(layers)
    if cell is None and first is None:
        raise ValueError(f"layers must be a non-empty sequence of layers, got {layers!r:.80}")
    return cell_of(first, cell) if first is not None else get_cell(cell)  # type: ignore[arg-type]


def _run_stack(
    cell: Cell,
    layers: Layers,
    xs: jax.Array,
    carry: Sequence[Sequence[Any]] | None,
    *,
    seq_lengths: jax.Array | None,
    time_major: bool,
    dropout_rate: float,
    dropout_key: jax.Array | None,
    unroll: int | bool,
    strategy: str,
) -> tuple[list[list[Any]], jax.Array]:
    num_directions, _ = check_layers(layers, cell)
    dropout_rate = check_rate("dropout_rate", dropout_rate)
    if dropout_key is not None:
        check_key("dropout_key", dropout_key)
    if carry is not None:

        def is_sequence(value: Any) -> bool:
            return isinstance(value, Sequence) and not isinstance(value, str)

        carry_layout = (
            [len(layer) if is_sequence(layer) else None for layer in carry]
            if is_sequence(carry)
            else None
        )
        if carry_layout != [num_directions] * len(layers):
            raise ValueError(
                f"carry must be None or carry[layer][direction] for {len(layers)} layers of "
                f"{num_directions} direction(s), got layout {carry_layout}"
            )
    keys = (
        jax.random.split(dropout_key, len(layers))
        if dropout_key is not None and dropout_rate > 0.0
        else None
    )

    finals: list[list[Any]] = []
    inputs = xs
    for index, layer in enumerate(layers):
        if index > 0 and keys is not None:
            keep = jax.random.bernoulli(keys[index], 1.0 - dropout_rate, inputs.shape)
            scale = jnp.asarray(1.0 / (1.0 - dropout_rate), inputs.dtype)
            inputs = jnp.where(keep, inputs * scale, jnp.zeros_like(inputs))
        outputs, layer_finals = [], []
        for direction, params in enumerate(layer):
            final, ys = rnn(
                params,
                inputs,
                None if carry is None else carry[index][direction],
                cell=cell,
                seq_lengths=seq_lengths,
                reverse=direction == 1,
                time_major=time_major,
                unroll=unroll,
                strategy=strategy,
            )
            outputs.append(ys)
            layer_finals.append(final)
        finals.append(layer_finals)
        inputs = outputs[0] if len(outputs) == 1 else jnp.concatenate(outputs, axis=-1)
    return finals, inputs


def rnn_stack(
    layers: Sequence[Sequence[Any]],
    xs: jax.Array,
    carry: Sequence[Sequence[Any]] | None = None,
    *,
    cell: str | Cell | None = None,
    seq_lengths: jax.Array | None = None,
    time_major: bool = False,
    dropout_rate: float = 0.0,
    dropout_key: jax.Array | None = None,
    unroll: int | bool = 1,
    strategy: str = "auto",
) -> tuple[list[list[Any]], jax.Array]:
    """Runs a multi-layer, optionally bidirectional stack of any cell; see ``lstm_stack`` for
    the semantics (the reference loop, dropout and the carry layout).

    Args:
        layers: ``layers[layer][direction]`` of one cell's parameters (``rnn_stack_init``).
        xs: inputs ``[..., T, I]`` (``[T, ..., I]`` with ``time_major=True``).
        carry: initial ``carry[layer][direction]`` in the cell's carry form; ``None``: zeros.
        cell: the cell (an ``rnnax.Cell`` or a registered name); ``None`` finds it from the
            type of ``layers[0][0]``.
        seq_lengths, time_major, dropout_rate, dropout_key, unroll, strategy: as
            ``lstm_stack``.

    Returns:
        ``(finals, ys)``: ``finals[layer][direction]`` the final carries and the last layer's
        outputs ``[..., T, D*H]``.

    Examples:
        >>> import jax, jax.numpy as jnp, rnnax
        >>> layers = rnnax.rnn_stack_init("lstm", jax.random.key(0), 3, 8, bidirectional=True)
        >>> finals, ys = rnnax.rnn_stack(layers, jnp.ones((4, 10, 3)))
        >>> ys.shape, finals[0][1].c.shape
        ((4, 10, 16), (4, 8))
    """
    return _run_stack(
        layers_cell(layers, cell),
        layers,
        xs,
        carry,
        seq_lengths=seq_lengths,
        time_major=time_major,
        dropout_rate=dropout_rate,
        dropout_key=dropout_key,
        unroll=unroll,
        strategy=strategy,
    )


def lstm_stack(
    layers: Sequence[Sequence[LSTMParams]],
    xs: jax.Array,
    carry: Sequence[Sequence[Any]] | None = None,
    *,
    seq_lengths: jax.Array | None = None,
    time_major: bool = False,
    dropout_rate: float = 0.0,
    dropout_key: jax.Array | None = None,
    unroll: int | bool = 1,
    strategy: str = "auto",
) -> tuple[list[list[Any]], jax.Array]:
    """Runs a multi-layer, optionally bidirectional LSTM (``torch.nn.LSTM`` semantics).

    Type: ``(layers[L][D], xs[..., T, I], carry[L][D] | None) -> (carry[L][D], ys[..., T, D*H])``.

    Reference::

        inputs = xs
        for l, layer in enumerate(layers):
            if l > 0: inputs = dropout(inputs)              # only with a dropout_key
            fwd = lstm(layer[0], inputs, carry[l][0])
            bwd = lstm(layer[1], inputs, carry[l][1], reverse=True)   # if bidirectional
            inputs = concatenate([fwd.ys, bwd.ys], axis=-1)           # forward first
        return [[fwd.final, bwd.final] for each layer], inputs

    Args:
        layers: ``layers[layer][direction]`` of ``LSTMParams`` (``lstm_stack_init`` or
            ``interop.from_torch``); one direction, or two for a bidirectional stack.
        xs: inputs ``[..., T, I]`` (``[T, ..., I]`` with ``time_major=True``).
        carry: initial ``carry[layer][direction]`` of ``LSTMState``; ``None`` means zeros.
        seq_lengths: optional lengths of the batch shape, shared by every layer.
        time_major: whether time is the first axis of ``xs`` and ``ys``.
        dropout_rate: probability of zeroing each input of layers 1 and above (inverted
            dropout, as in ``torch.nn.LSTM``'s ``dropout``).
        dropout_key: PRNG key for dropout. Dropout is applied only when a key is given, so
            passing ``None`` is inference mode.
        unroll: passed to ``jax.lax.scan``.
        strategy: how each core runs (``rnnax.STRATEGIES``; see ``rnnax.lstm``).

    Returns:
        ``(finals, ys)``: ``finals[layer][direction]`` the final ``LSTMState`` of each run, and
        the last layer's outputs ``[..., T, D*H]``.

    Examples:
        >>> import jax, jax.numpy as jnp, rnnax
        >>> layers = rnnax.lstm_stack_init(jax.random.key(0), 3, 8, num_layers=2,
        ...                                bidirectional=True)
        >>> finals, ys = rnnax.lstm_stack(layers, jnp.ones((4, 10, 3)))
        >>> ys.shape, finals[1][1].h.shape
        ((4, 10, 16), (4, 8))
    """
    return _run_stack(
        layers_cell(layers, LSTM),
        layers,
        xs,
        carry,
        seq_lengths=seq_lengths,
        time_major=time_major,
        dropout_rate=dropout_rate,
        dropout_key=dropout_key,
        unroll=unroll,
        strategy=strategy,
    )


def gru_stack(
    layers: Sequence[Sequence[GRUParams]],
    xs: jax.Array,
    carry: Sequence[Sequence[Any]] | None = None,
    *,
    reset_after: bool | None = None,
    seq_lengths: jax.Array | None = None,
    time_major: bool = False,
    dropout_rate: float = 0.0,
    dropout_key: jax.Array | None = None,
    unroll: int | bool = 1,
    strategy: str = "auto",
) -> tuple[list[list[Any]], jax.Array]:
    """Runs a multi-layer, optionally bidirectional GRU; see ``lstm_stack`` for the semantics.

    Args:
        layers: ``layers[layer][direction]`` of ``GRUParams``.
        xs: inputs ``[..., T, I]`` (``[T, ..., I]`` with ``time_major=True``).
        carry: initial ``carry[layer][direction]`` hidden states; ``None`` means zeros.
        reset_after: the GRU form of every layer (see ``gru_cell``); ``None`` takes it from
            the parameters' type.
        seq_lengths: optional lengths of the batch shape, shared by every layer.
        time_major: whether time is the first axis of ``xs`` and ``ys``.
        dropout_rate: dropout probability between layers.
        dropout_key: PRNG key for dropout; ``None`` means no dropout (inference).
        unroll: passed to ``jax.lax.scan``.
        strategy: how each core runs (``rnnax.STRATEGIES``; see ``rnnax.lstm``).

    Returns:
        ``(finals, ys)``: ``finals[layer][direction]`` final hidden states and the last layer's
        outputs ``[..., T, D*H]``.

    Examples:
        >>> import jax, jax.numpy as jnp, rnnax
        >>> layers = rnnax.gru_stack_init(jax.random.key(0), 3, 8, num_layers=3)
        >>> finals, ys = rnnax.gru_stack(layers, jnp.ones((10, 3)), reset_after=True)
        >>> ys.shape, len(finals)
        ((10, 8), 3)
    """
    first = first_params(layers)
    return _run_stack(
        layers_cell(layers, gru_form(first, reset_after) if first is not None else "gru"),
        layers,
        xs,
        carry,
        seq_lengths=seq_lengths,
        time_major=time_major,
        dropout_rate=dropout_rate,
        dropout_key=dropout_key,
        unroll=unroll,
        strategy=strategy,
    )
