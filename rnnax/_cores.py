"""Whole-sequence LSTM and GRU cores: argument checks, then the cells composed over time by
``scan_cell`` or a faster strategy (``rnnax._strategies``)."""

from __future__ import annotations

import math
from typing import Any, overload

import jax
import jax.numpy as jnp
import numpy as np

from rnnax._cells import check_params
from rnnax._checks import (
    check_bool,
    check_floating,
    check_last_dim,
    check_same_dtype,
    check_seq_lengths,
    check_shape,
    check_unroll,
)
from rnnax._params import GRUParams, LSTMParams, LSTMState
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


def _check_carry_leaf(
    name: str, leaf: Any, batch_shape: tuple[int, ...], hidden: int, dtype: Any
) -> None:
    check_floating(name, leaf)
    check_shape(name, leaf, (*batch_shape, hidden), "(the batch shape of xs, then H)")
    check_same_dtype(name, leaf, dtype, "params")


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
        unroll: steps per loop iteration, passed to ``jax.lax.scan`` (``"scan"`` strategy).
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
    input_size, hidden = check_params(params, 4)
    dtype = params.w_h.dtype
    batch_shape = _check_xs(xs, input_size, dtype, time_major)
    if carry is None:
        zeros = jnp.zeros((*batch_shape, hidden), dtype)
        carry = LSTMState(zeros, zeros)
    else:
        if not isinstance(carry, LSTMState):
            raise TypeError(f"carry must be LSTMState(h, c) or None, got {type(carry).__name__}")
        _check_carry_leaf("carry.h", carry.h, batch_shape, hidden, dtype)
        _check_carry_leaf("carry.c", carry.c, batch_shape, hidden, dtype)
    if seq_lengths is not None:
        check_seq_lengths(seq_lengths, batch_shape, xs.shape[0 if time_major else -2])
    reverse = check_bool("reverse", reverse)
    check_unroll(unroll)
    h, c, ys = run_flat(
        params,
        _to_flat_time_major(xs, time_major),
        (_flat(carry.h, batch_shape), _flat(carry.c, batch_shape)),
        _flat(seq_lengths, batch_shape),
        reverse=bool(reverse),
        reset_after=False,
        unroll=unroll,
        strategy=strategy,
    )
    final = LSTMState(h.reshape(carry.h.shape), c.reshape(carry.c.shape))
    return final, _from_flat_time_major(ys, batch_shape, time_major)


def gru(
    params: GRUParams,
    xs: jax.Array,
    carry: jax.Array | None = None,
    *,
    reset_after: bool = False,
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
            ``True`` for the cuDNN / PyTorch / Flax form.
        seq_lengths: optional integer lengths of the batch shape (right padding).
        reverse: run each sequence from its last valid step back to its first.
        time_major: whether time is the first axis of ``xs`` and ``ys``.
        unroll: steps per loop iteration, passed to ``jax.lax.scan`` (``"scan"`` strategy).
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
    input_size, hidden = check_params(params, 3)
    dtype = params.w_h.dtype
    batch_shape = _check_xs(xs, input_size, dtype, time_major)
    if carry is None:
        carry = jnp.zeros((*batch_shape, hidden), dtype)
    else:
        _check_carry_leaf("carry", carry, batch_shape, hidden, dtype)
    if seq_lengths is not None:
        check_seq_lengths(seq_lengths, batch_shape, xs.shape[0 if time_major else -2])
    reverse = check_bool("reverse", reverse)
    reset_after = check_bool("reset_after", reset_after)
    check_unroll(unroll)
    h, ys = run_flat(
        params,
        _to_flat_time_major(xs, time_major),
        (_flat(carry, batch_shape),),
        _flat(seq_lengths, batch_shape),
        reverse=bool(reverse),
        reset_after=bool(reset_after),
        unroll=unroll,
        strategy=strategy,
    )
    return h.reshape(carry.shape), _from_flat_time_major(ys, batch_shape, time_major)


def zero_carry(params: LSTMParams | GRUParams, batch_shape: tuple[int, ...] = ()) -> Any:
    """The zero initial carry for ``params``: ``LSTMState`` for an LSTM, an array for a GRU."""
    if not isinstance(params, (LSTMParams, GRUParams)):
        raise TypeError(f"params must be LSTMParams or GRUParams, got {type(params).__name__}")
    if not isinstance(batch_shape, (tuple, list)) or not all(
        isinstance(size, (int, np.integer)) and not isinstance(size, bool) for size in batch_shape
    ):
        raise TypeError(f"batch_shape must be a tuple of ints, got {batch_shape!r}")
    if any(size < 0 for size in batch_shape):
        raise ValueError(f"batch_shape must hold non-negative sizes, got {tuple(batch_shape)}")
    hidden = int(np.shape(params.w_h)[0])
    zeros = jnp.zeros((*batch_shape, hidden), params.w_h.dtype)
    return LSTMState(zeros, zeros) if isinstance(params, LSTMParams) else zeros
