"""The LSTM and GRU equations: one unchecked time step, ``step(params, carry, x) -> (carry, y)``.

The checked public cells (``rnnax.lstm_cell``, ``rnnax.gru_cell``) and the cell descriptions
live beside their instances, in ``_cell_lstm`` and ``_cell_gru``."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from rnnax._checks import check_floating, check_last_dim, check_same_dtype
from rnnax._params import GRUParams, LSTMParams, LSTMState
from rnnax._protocol import Cell, check_carry, check_params, params_dtype


def check_cell_inputs(
    cell: Cell, params: Any, carry: Any, x: Any, carry_name: str = "carry"
) -> None:
    """Checks one step's parameters, input and carry against ``cell``: features, dtypes and
    identical batch shapes (``rnnax.lstm_cell``, ``rnnax.gru_cell`` and the cell modules)."""
    input_size, hidden_size = check_params(cell, params)
    dtype = params_dtype(cell, params)
    check_floating("x", x)
    check_last_dim("x", x, input_size, "the input size I")
    check_same_dtype("x", x, dtype, "params")
    batch_shape = tuple(np.shape(x))[:-1]
    meaning = "batch shape of x, then H"
    check_carry(cell, carry_name, carry, hidden_size, batch_shape, dtype, meaning)


def _with_batch_axes(bias: jax.Array, like: jax.Array) -> jax.Array:
    """Gives a ``[G]`` bias the leading unit axes of ``like`` (explicit, not rank promotion)."""
    return bias.reshape((1,) * (like.ndim - 1) + bias.shape)


def _lstm_step(params: LSTMParams, carry: LSTMState, x: jax.Array) -> tuple[LSTMState, jax.Array]:
    a = x @ params.w_x + carry.h @ params.w_h
    a = a + _with_batch_axes(params.b, a)
    i, f, g, o = jnp.split(a, 4, axis=-1)
    c = jax.nn.sigmoid(f) * carry.c + jax.nn.sigmoid(i) * jnp.tanh(g)
    h = jax.nn.sigmoid(o) * jnp.tanh(c)
    return LSTMState(h, c), h


def _gru_step(
    params: GRUParams, h: jax.Array, x: jax.Array, *, reset_after: bool
) -> tuple[jax.Array, jax.Array]:
    ax = x @ params.w_x
    ax_z, ax_r, ax_n = jnp.split(ax + _with_batch_axes(params.b_x, ax), 3, axis=-1)
    if reset_after:
        ah = h @ params.w_h
        ah_z, ah_r, ah_n = jnp.split(ah + _with_batch_axes(params.b_h, ah), 3, axis=-1)
        z = jax.nn.sigmoid(ax_z + ah_z)
        r = jax.nn.sigmoid(ax_r + ah_r)
        n = jnp.tanh(ax_n + r * ah_n)
    else:
        # r must scale h before the candidate's product, so z and r get their own product.
        zr = 2 * h.shape[-1]
        ah_zr = h @ params.w_h[:, :zr]
        ah_z, ah_r = jnp.split(ah_zr + _with_batch_axes(params.b_h[:zr], ah_zr), 2, axis=-1)
        z = jax.nn.sigmoid(ax_z + ah_z)
        r = jax.nn.sigmoid(ax_r + ah_r)
        ah_n = (r * h) @ params.w_h[:, zr:]
        n = jnp.tanh(ax_n + ah_n + _with_batch_axes(params.b_h[zr:], ah_n))
    h_new = (1 - z) * h + z * n
    return h_new, h_new
