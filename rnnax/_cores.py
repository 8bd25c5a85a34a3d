"""Whole-sequence LSTM and GRU cores: argument checks, then the cells composed over time by
``scan_cell`` or a faster strategy (``rnnax._strategies``)."""

from __future__ import annotations

import math
from typing import Any, overload

import jax
import jax.numpy as jnp
import numpy as np

from rnnax._cell_gru import gru_form
from rnnax._cell_lstm import LSTM
from rnnax._checks import (
    check_bool,
    check_last_dim,
    check_same_dtype,
    check_seq_lengths,
    check_unroll,
)
from rnnax._params import GRUParams, LSTMParams, LSTMState
from rnnax._protocol import (
    Cell,
    cell_of,
    check_carry,
    check_params,
    check_step_output,
    params_dtype,
)
from rnnax._scan import sequence_shape
from rnnax._strategies import run_flat


def _to_flat_time_major(xs: jax.Array, time_major: bool) -> jax.Array:
    """``[..., T, I]`` (or ``[T, ..., I]``) to ``[T, B, I]`` with the batch axes flattened."""
    xs = xs if time_major else jnp.moveaxis(xs, -2, 0)
    # The batch size spelled out, not -1: reshape cannot infer it when T or I is 0.
    return xs.reshape(xs.shape[0], math.prod(xs.shape[1:-1]), xs.shape[-1])


def _from_flat_time_major(
    ys: jax.Array, batch_shape: tuple[int, ...], time_major: bool
) -> jax.Array:
    ys = ys.reshape(ys.shape[0], *batch_shape, ys.shape[-1])
    return ys if time_major else jnp.moveaxis(ys, 0, -2)


@overload
def _flat(array: jax.Array, batch_shape: tuple[int, ...]) -> jax.Array: ...
@overload
def _flat(array: None, batch_shape: tuple[int, ...]) -> None: ...
@overload
def _flat(array: jax.Array | None, batch_shape: tuple[int, ...]) -> jax.Array | None: ...
def _flat(array: jax.Array | None, batch_shape: tuple[int, ...]) -> jax.Array | None:
    """Flattens the batch axes of a carry ``[..., H]`` or lengths ``[...]`` into one."""
    if array is None:
        return None
    trailing = array.shape[len(batch_shape) :]
    return array.reshape(math.prod(batch_shape), *trailing)


def _check_xs(xs: Any, input_size: int, dtype: Any, time_major: bool) -> tuple[int, ...]:
    check_bool("time_major", time_major)
    batch_shape, _ = sequence_shape(xs, time_major=time_major)
    check_last_dim("xs", xs, input_size, "the input size I of params")
    check_same_dtype("xs", xs, dtype, "params")
    return batch_shape


def check_cell_step(
    cell: Cell, params: Any, carry: Any, hidden: int, batch_shape: tuple[int, ...], x: Any
) -> None:
    """Traces one step abstractly, so a malformed cell is named before any loop runs."""
    step_x = jax.ShapeDtypeStruct((*batch_shape, x.shape[-1]), x.dtype)
    carry_shapes = jax.tree.map(lambda leaf: jax.ShapeDtypeStruct(leaf.shape, leaf.dtype), carry)
    new_carry, y = jax.eval_shape(cell.step, params, carry_shapes, step_x)
    check_step_output(cell, carry_shapes, new_carry, y, hidden, batch_shape)


def rnn(
    params: Any,
    xs: jax.Array,
    carry: Any = None,
    *,
    cell: str | Cell | None = None,
    seq_lengths: jax.Array | None = None,
    reverse: bool = False,
    time_major: bool = False,
    unroll: int | bool = 1,
    strategy: str = "auto",
) -> tuple[Any, jax.Array]:
    """Runs any cell over whole sequences: the core every other core is.

    Type: ``(P, xs[..., T, I], C[..., H] | None) -> (C[..., H], ys[..., T, H])``.

    Equivalent to ``scan_cell(cell.step, params, xs, carry, ...)`` (see ``scan_cell`` for the
    reference loop and the ``seq_lengths`` / ``reverse`` semantics), with the arguments checked
    once, up front, against the cell's description, and run by the chosen strategy.

    Args:
        params: the cell's parameters; the cell is found from their type when ``cell`` is not
            given (``LSTMParams``, ``GRUParams``, ``GRUResetAfterParams``, and every
            registered cell's type).
        xs: inputs ``[..., T, I]`` (``[T, ..., I]`` with ``time_major=True``), the dtype of
            ``params``; any number of leading batch axes, including none.
        carry: the initial carry, in the cell's form, each leaf ``[..., H]``; ``None`` means
            the cell's zero carry.
        cell: an ``rnnax.Cell`` or a registered cell's name; ``None`` finds it from ``params``.
        seq_lengths: optional integer lengths of the batch shape (right padding).
        reverse: run each sequence from its last valid step back to its first.
        time_major: whether time is the first axis of ``xs`` and ``ys``.
        unroll: steps per loop iteration of the strategies that loop with ``lax.scan``
            (``"scan"``, ``"remat"``, ``"custom_vjp"``, and ``"auto"`` where it picks one); an
            error for those that loop inside one kernel or run a parallel scan.
        strategy: one of ``rnnax.STRATEGIES`` that the cell has (``rnnax.strategies_of``);
            all compute the same function.

    Returns:
        ``(final carry, ys)`` with ``ys`` in the layout of ``xs`` and ``H`` features.

    Raises:
        TypeError: parameters of no known cell, a non-floating or mismatched dtype, a carry of
            the wrong structure, or a malformed cell.
        ValueError: a wrong feature size, rank, carry shape, ``seq_lengths`` shape/range, or a
            strategy the cell does not have.

    Examples:
        >>> import jax, jax.numpy as jnp, rnnax
        >>> params = rnnax.LSTM.init(jax.random.key(0), 3, 8)
        >>> state, ys = rnnax.rnn(params, jnp.ones((4, 10, 3)))
        >>> state.h.shape, ys.shape
        ((4, 8), (4, 10, 8))
    """
    cell = cell_of(params, cell)
    input_size, hidden = check_params(cell, params)
    dtype = params_dtype(cell, params)
    batch_shape = _check_xs(xs, input_size, dtype, time_major)
    if carry is None:
        carry = cell.carry_init(hidden, batch_shape, dtype)
    else:
        meaning = "the batch shape of xs, then H"
        check_carry(cell, "carry", carry, hidden, batch_shape, dtype, meaning, optional=True)
    check_cell_step(cell, params, carry, hidden, batch_shape, xs)
    num_steps = xs.shape[0 if time_major else -2]
    if seq_lengths is not None:
        check_seq_lengths(seq_lengths, batch_shape, num_steps)
    reverse = check_bool("reverse", reverse)
    check_unroll(unroll)
    final, ys = run_flat(
        cell,
        params,
        _to_flat_time_major(xs, time_major),
        jax.tree.map(lambda leaf: _flat(leaf, batch_shape), carry),
        _flat(seq_lengths, batch_shape),
        reverse=bool(reverse),
        unroll=unroll,
        strategy=strategy,
    )
    final = jax.tree.map(lambda new, old: new.reshape(old.shape), final, carry)
    return final, _from_flat_time_major(ys, batch_shape, time_major)


def lstm(
    params: LSTMParams,
    xs: jax.Array,
    carry: LSTMState | None = None,
    *,
    seq_lengths: jax.Array | None = None,
    reverse: bool = False,
    time_major: bool = False,
    unroll: int | bool = 1,
    strategy: str = "auto",
) -> tuple[LSTMState, jax.Array]:
    """Runs an LSTM over whole sequences.

    Type: ``(LSTMParams, xs[..., T, I], LSTMState[..., H] | None)
    -> (LSTMState[..., H], ys[..., T, H])``.

    Equivalent to ``scan_cell(lstm_cell, params, xs, carry, ...)`` (see ``scan_cell`` for the
    reference loop and the ``seq_lengths`` / ``reverse`` semantics), with the arguments checked
    once, up front, against ``params``.

    Args:
        params: ``LSTMParams`` (``w_x [I, 4H]``, ``w_h [H, 4H]``, ``b [4H]``).
        xs: inputs ``[..., T, I]`` (``[T, ..., I]`` with ``time_major=True``), same dtype as
            ``params``; any number of leading batch axes, including none.
        carry: initial ``LSTMState(h, c)``, each ``[..., H]``; ``None`` means zeros.
        seq_lengths: optional integer lengths of the batch shape (right padding).
        reverse: run each sequence from its last valid step back to its first.
        time_major: whether time is the first axis of ``xs`` and ``ys``.
        unroll: steps per loop iteration (see ``rnnax.rnn``).
        strategy: one of ``rnnax.STRATEGIES``: ``"scan"``, ``"custom_vjp"`` (hand-written
            backward pass, weight gradients as single GEMMs; reverse-mode only), ``"remat"``
            (backward memory growing like ``sqrt(T)``, for very long sequences) or ``"auto"``
            (the fastest measured on the backend; splits the batch over several local CPU
            devices, see ``set_cpu_device_count``). All compute the same function.

    Returns:
        ``(final LSTMState, ys)`` with ``ys`` in the layout of ``xs`` and ``H`` features.

    Raises:
        TypeError: a non-floating or mismatched dtype, or a carry of the wrong type.
        ValueError: a wrong feature size, rank, carry shape, or ``seq_lengths`` shape/range.

    Examples:
        >>> import jax, jax.numpy as jnp, rnnax
        >>> params = rnnax.lstm_init(jax.random.key(0), 3, 8)
        >>> xs = jnp.ones((4, 10, 3))  # batch 4, 10 steps, 3 features
        >>> state, ys = rnnax.lstm(params, xs)
        >>> state.h.shape, state.c.shape, ys.shape
        ((4, 8), (4, 8), (4, 10, 8))
    """
    return rnn(
        params,
        xs,
        carry,
        cell=LSTM,
        seq_lengths=seq_lengths,
        reverse=reverse,
        time_major=time_major,
        unroll=unroll,
        strategy=strategy,
    )


def gru(
    params: GRUParams,
    xs: jax.Array,
    carry: jax.Array | None = None,
    *,
    reset_after: bool | None = None,
    seq_lengths: jax.Array | None = None,
    reverse: bool = False,
    time_major: bool = False,
    unroll: int | bool = 1,
    strategy: str = "auto",
) -> tuple[jax.Array, jax.Array]:
    """Runs a GRU over whole sequences.

    Type: ``(GRUParams, xs[..., T, I], h[..., H] | None) -> (h[..., H], ys[..., T, H])``.

    Equivalent to ``scan_cell(partial(gru_cell, reset_after=reset_after), params, xs, carry,
    ...)``; see ``gru_cell`` for the two forms and ``scan_cell`` for the reference loop.

    Args:
        params: ``GRUParams`` (``w_x [I, 3H]``, ``w_h [H, 3H]``, ``b_x [3H]``, ``b_h [3H]``).
        xs: inputs ``[..., T, I]`` (``[T, ..., I]`` with ``time_major=True``), same dtype as
            ``params``.
        carry: initial hidden state ``[..., H]``; ``None`` means zeros.
        reset_after: ``False`` for the explainer's form (reset before the recurrent product),
            ``True`` for the cuDNN / PyTorch / Flax form; ``None`` (the default) takes the
            form from the parameters' type: reset-after for ``GRUResetAfterParams`` (what the
            converters return), the explainer's for plain ``GRUParams``. ``False`` with
            ``GRUResetAfterParams`` is an error.
        seq_lengths: optional integer lengths of the batch shape (right padding).
        reverse: run each sequence from its last valid step back to its first.
        time_major: whether time is the first axis of ``xs`` and ``ys``.
        unroll: steps per loop iteration (see ``rnnax.rnn``).
        strategy: one of ``STRATEGIES`` (see ``lstm``).

    Returns:
        ``(final h, ys)`` with ``ys`` in the layout of ``xs`` and ``H`` features.

    Raises:
        TypeError: a non-floating or mismatched dtype.
        ValueError: a wrong feature size, rank, carry shape, or ``seq_lengths`` shape/range.

    Examples:
        >>> import jax, jax.numpy as jnp, rnnax
        >>> params = rnnax.gru_init(jax.random.key(0), 3, 8)
        >>> h, ys = rnnax.gru(params, jnp.ones((10, 3)))  # one unbatched sequence
        >>> h.shape, ys.shape
        ((8,), (10, 8))
    """
    return rnn(
        params,
        xs,
        carry,
        cell=gru_form(params, reset_after),
        seq_lengths=seq_lengths,
        reverse=reverse,
        time_major=time_major,
        unroll=unroll,
        strategy=strategy,
    )


def zero_carry(
    params: Any, batch_shape: tuple[int, ...] = (), *, cell: str | Cell | None = None
) -> Any:
    """The zero initial carry for ``params``: ``LSTMState`` for an LSTM, an array for a GRU,
    the cell's ``carry_init`` for any cell."""
    cell = cell_of(params, cell)
    _, hidden = check_params(cell, params)
    if not isinstance(batch_shape, (tuple, list)) or not all(
        isinstance(size, (int, np.integer)) and not isinstance(size, bool) for size in batch_shape
    ):
        raise TypeError(f"batch_shape must be a tuple of ints, got {batch_shape!r}")
    if any(size < 0 for size in batch_shape):
        raise ValueError(f"batch_shape must hold non-negative sizes, got {tuple(batch_shape)}")
    return cell.carry_init(hidden, tuple(int(n) for n in batch_shape), params_dtype(cell, params))
