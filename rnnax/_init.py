"""Initializers: orthogonal recurrent blocks, Glorot input blocks, LSTM forget bias 1.0."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from rnnax._checks import (
    MAX_DIMENSION,
    check_finite_real,
    check_float_dtype,
    check_key,
    check_positive_int,
)
from rnnax._params import GRUParams, LSTMParams

Initializer = Callable[[jax.Array, tuple[int, ...], Any], jax.Array]
"""``init(key, shape, dtype) -> array``, the ``jax.nn.initializers`` signature."""

glorot_uniform: Initializer = jax.nn.initializers.glorot_uniform()
lecun_normal: Initializer = jax.nn.initializers.lecun_normal()
orthogonal: Initializer = jax.nn.initializers.orthogonal()


def _gate_blocks(
    key: jax.Array,
    init: Initializer,
    rows: int,
    hidden_size: int,
    num_gates: int,
    dtype: Any,
    name: str,
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
    block = blocks[0]
    if not hasattr(block, "shape") or not hasattr(block, "dtype"):
        raise TypeError(f"{name} must return an array, got {type(block).__name__}")
    if tuple(block.shape) != (rows, hidden_size) or not jnp.issubdtype(block.dtype, jnp.floating):
        raise ValueError(
            f"{name} must return a floating array of the requested shape {(rows, hidden_size)}, "
            f"got {block.dtype} of shape {tuple(block.shape)}"
        )
    return jnp.concatenate(blocks, axis=-1).astype(dtype)


def _check_init_arguments(key: Any, dtype: Any, **initializers: Any) -> np.dtype:
    """Checks the arguments every initializer shares; returns the resolved dtype."""
    check_key("key", key)
    for name, init in initializers.items():
        if not callable(init):
            raise TypeError(
                f"{name} must be an initializer init(key, shape, dtype) -> array, got {init!r:.80}"
            )
    return check_float_dtype("dtype", dtype)


def _check_sizes(input_size: Any, hidden_size: Any) -> tuple[int, int]:
    return (
        check_positive_int("input_size", input_size, MAX_DIMENSION),
        check_positive_int("hidden_size", hidden_size, MAX_DIMENSION),
    )


def input_gate_params(
    key: Any,
    input_size: Any,
    hidden_size: Any,
    num_gates: int,
    dtype: Any,
    input_init: Initializer,
) -> tuple[jax.Array, jax.Array]:
    """Checked ``(w_x [I, G*H], b [G*H])`` of a cell whose gates read only the input (minGRU,
    minLSTM): one ``input_init`` block per gate, and a zero bias."""
    input_size, hidden_size = _check_sizes(input_size, hidden_size)
    dtype = _check_init_arguments(key, dtype, input_init=input_init)
    w_x = _gate_blocks(key, input_init, input_size, hidden_size, num_gates, dtype, "input_init")
    return w_x, jnp.zeros((num_gates * hidden_size,), dtype)


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

    Raises:
        TypeError: ``key`` is not a PRNG key, a size is not an int, ``dtype`` is not floating,
            or an initializer is not callable.
        ValueError: a size is not positive, ``forget_bias`` is not finite, or an initializer
            returns the wrong shape.

    Examples:
        >>> import jax, rnnax
        >>> params = rnnax.lstm_init(jax.random.key(0), 3, 8)
        >>> params.w_x.shape, params.w_h.shape, params.b.shape
        ((3, 32), (8, 32), (32,))
        >>> float(params.b[8:16].mean())  # the forget gate's block
        1.0
    """
    input_size, hidden_size = _check_sizes(input_size, hidden_size)
    dtype = _check_init_arguments(key, dtype, input_init=input_init, recurrent_init=recurrent_init)
    forget_bias = check_finite_real("forget_bias", forget_bias)
    k_x, k_h = jax.random.split(key)
    h = hidden_size
    b = jnp.zeros((4 * h,), dtype).at[h : 2 * h].set(jnp.asarray(forget_bias, dtype))
    return LSTMParams(
        w_x=_gate_blocks(k_x, input_init, input_size, h, 4, dtype, "input_init"),
        w_h=_gate_blocks(k_h, recurrent_init, h, h, 4, dtype, "recurrent_init"),
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

    Raises:
        TypeError, ValueError: as ``lstm_init``.

    Examples:
        >>> import jax, rnnax
        >>> params = rnnax.gru_init(jax.random.key(0), 3, 8)
        >>> params.w_x.shape, params.w_h.shape, params.b_x.shape, params.b_h.shape
        ((3, 24), (8, 24), (24,), (24,))
    """
    input_size, hidden_size = _check_sizes(input_size, hidden_size)
    dtype = _check_init_arguments(key, dtype, input_init=input_init, recurrent_init=recurrent_init)
    k_x, k_h = jax.random.split(key)
    h = hidden_size
    return GRUParams(
        w_x=_gate_blocks(k_x, input_init, input_size, h, 3, dtype, "input_init"),
        w_h=_gate_blocks(k_h, recurrent_init, h, h, 3, dtype, "recurrent_init"),
        b_x=jnp.zeros((3 * h,), dtype),
        b_h=jnp.zeros((3 * h,), dtype),
    )
