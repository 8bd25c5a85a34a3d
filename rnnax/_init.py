"""Initializers: orthogonal recurrent blocks, Glorot input blocks, LSTM forget bias 1.0."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from rnnax._checks import check_positive_int
from rnnax._params import GRUParams, LSTMParams

Initializer = Callable[[jax.Array, tuple[int, ...], Any], jax.Array]
"""``init(key, shape, dtype) -> array``, the ``jax.nn.initializers`` signature."""

glorot_uniform: Initializer = jax.nn.initializers.glorot_uniform()
lecun_normal: Initializer = jax.nn.initializers.lecun_normal()
orthogonal: Initializer = jax.nn.initializers.orthogonal()


def _gate_blocks(
    key: jax.Array, init: Initializer, rows: int, hidden_size: int, num_gates: int, dtype: Any
) -> jax.Array:
    """Initializes ``num_gates`` independent ``[rows, H]`` blocks and lays them side by side.

    Per-gate blocks keep each gate's matrix well conditioned on its own (an orthogonal
    ``[H, 4H]`` matrix would not make each ``[H, H]`` block orthogonal).
    """
    keys = jax.random.split(key, num_gates)
    # Draw in at least float32 (QR, which orthogonal init needs, has no bfloat16 kernel), then
    # cast, so a bfloat16 model starts from the rounded float32 initialization.
    draw_dtype = dtype if jnp.finfo(dtype).bits >= 32 else jnp.float32
    blocks = [init(k, (rows, hidden_size), draw_dtype) for k in keys]
    return jnp.concatenate(blocks, axis=-1).astype(dtype)


def _check_sizes(input_size: Any, hidden_size: Any) -> tuple[int, int]:
    return (
        check_positive_int("input_size", input_size),
        check_positive_int("hidden_size", hidden_size),
    )


def lstm_init(
    key: jax.Array,
    input_size: int,
    hidden_size: int,
    *,
    forget_bias: float = 1.0,
    dtype: Any = jnp.float32,
    input_init: Initializer = glorot_uniform,
    recurrent_init: Initializer = orthogonal,
) -> LSTMParams:
    """Initializes LSTM parameters.

    Each gate's ``[I, H]`` input block comes from ``input_init`` (Glorot uniform by default) and
    each gate's ``[H, H]`` recurrent block from ``recurrent_init`` (orthogonal by default). Biases
    are zero except the forget gate's, which is ``forget_bias`` (1.0 by default, as recommended by
    Jozefowicz et al. 2015, so the cell remembers by default early in training).

    Args:
        key: a PRNG key.
        input_size: number of input features ``I``.
        hidden_size: number of hidden units ``H``.
        forget_bias: initial value of the forget-gate bias.
        dtype: dtype of every parameter.
        input_init: initializer for each ``[I, H]`` gate block of ``w_x``.
        recurrent_init: initializer for each ``[H, H]`` gate block of ``w_h``.

    Returns:
        ``LSTMParams(w_x [I, 4H], w_h [H, 4H], b [4H])``, gate order ``i, f, g, o``.

    Examples:
        >>> import jax, rnnax
        >>> params = rnnax.lstm_init(jax.random.key(0), 3, 8)
        >>> params.w_x.shape, params.w_h.shape, params.b.shape
        ((3, 32), (8, 32), (32,))
        >>> float(params.b[8:16].mean())  # the forget gate's block
        1.0
    """
    input_size, hidden_size = _check_sizes(input_size, hidden_size)
    k_x, k_h = jax.random.split(key)
    h = hidden_size
    b = jnp.zeros((4 * h,), dtype).at[h : 2 * h].set(forget_bias)
    return LSTMParams(
        w_x=_gate_blocks(k_x, input_init, input_size, h, 4, dtype),
        w_h=_gate_blocks(k_h, recurrent_init, h, h, 4, dtype),
        b=b,
    )


def gru_init(
    key: jax.Array,
    input_size: int,
    hidden_size: int,
    *,
    dtype: Any = jnp.float32,
    input_init: Initializer = glorot_uniform,
    recurrent_init: Initializer = orthogonal,
) -> GRUParams:
    """Initializes GRU parameters (the same for both ``reset_after`` forms).

    Each gate's ``[I, H]`` input block comes from ``input_init`` (Glorot uniform by default), each
    ``[H, H]`` recurrent block from ``recurrent_init`` (orthogonal by default); biases are zero.

    Args:
        key: a PRNG key.
        input_size: number of input features ``I``.
        hidden_size: number of hidden units ``H``.
        dtype: dtype of every parameter.
        input_init: initializer for each ``[I, H]`` gate block of ``w_x``.
        recurrent_init: initializer for each ``[H, H]`` gate block of ``w_h``.

    Returns:
        ``GRUParams(w_x [I, 3H], w_h [H, 3H], b_x [3H], b_h [3H])``, gate order ``z, r, n``.

    Examples:
        >>> import jax, rnnax
        >>> params = rnnax.gru_init(jax.random.key(0), 3, 8)
        >>> params.w_x.shape, params.w_h.shape, params.b_x.shape, params.b_h.shape
        ((3, 24), (8, 24), (24,), (24,))
    """
    input_size, hidden_size = _check_sizes(input_size, hidden_size)
    k_x, k_h = jax.random.split(key)
    h = hidden_size
    return GRUParams(
        w_x=_gate_blocks(k_x, input_init, input_size, h, 3, dtype),
        w_h=_gate_blocks(k_h, recurrent_init, h, h, 3, dtype),
        b_x=jnp.zeros((3 * h,), dtype),
        b_h=jnp.zeros((3 * h,), dtype),
    )
