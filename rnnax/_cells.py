"""The LSTM and GRU cells: one time step, ``cell(params, carry, x) -> (carry, y)``."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from rnnax._checks import (
    check_bool,
    check_floating,
    check_last_dim,
    check_same_dtype,
    check_shape,
)
from rnnax._params import GRUParams, LSTMParams, LSTMState


def check_params(params: Any, num_gates: int) -> tuple[int, int]:
    """Checks a parameter NamedTuple's layout; returns ``(input_size, hidden_size)``."""
    kind = "LSTMParams" if num_gates == 4 else "GRUParams"
    expected_type = LSTMParams if num_gates == 4 else GRUParams
    if not isinstance(params, expected_type):
        raise TypeError(f"params must be {kind}, got {type(params).__name__}")
    w_h = params.w_h
    check_floating("params.w_h", w_h)
    if np.ndim(w_h) != 2 or w_h.shape[1] != num_gates * w_h.shape[0]:
        raise ValueError(
            f"params.w_h must have shape [H, {num_gates}H], got {tuple(np.shape(w_h))}"
        )
    if w_h.shape[0] == 0:
        raise ValueError(f"params.w_h must have a hidden size H >= 1, got shape {w_h.shape}")
    hidden_size = w_h.shape[0]
    gates = num_gates * hidden_size
    check_floating("params.w_x", params.w_x)
    if np.ndim(params.w_x) != 2 or params.w_x.shape[1] != gates:
        raise ValueError(
            f"params.w_x must have shape [I, {gates}] (the hidden size is {hidden_size}), "
            f"got {tuple(np.shape(params.w_x))}"
        )
    for field in params._fields:
        value = getattr(params, field)
        check_floating(f"params.{field}", value)
        check_same_dtype(f"params.{field}", value, w_h.dtype, "params.w_h")
        if field.startswith("b"):
            check_shape(f"params.{field}", value, (gates,))
    return params.w_x.shape[0], hidden_size


def check_step_inputs(
    name: str,
    x: jax.Array,
    carry_leaves: list[tuple[str, jax.Array]],
    input_size: int,
    hidden_size: int,
    dtype: Any,
) -> None:
    """Checks one step's input and carry: features, dtypes and identical batch shapes."""
    check_floating(name, x)
    check_last_dim(name, x, input_size, "the input size I")
    check_same_dtype(name, x, dtype, "params")
    for carry_name, leaf in carry_leaves:
        check_floating(carry_name, leaf)
        check_shape(carry_name, leaf, (*x.shape[:-1], hidden_size), "(batch shape of x, then H)")
        check_same_dtype(carry_name, leaf, dtype, "params")


def lstm_cell(params: LSTMParams, carry: LSTMState, x: jax.Array) -> tuple[LSTMState, jax.Array]:
    r"""One LSTM step.

    .. math::

        a &= x W_x + h W_h + b, \qquad i, f, g, o = \mathrm{split}(a, 4) \\
        c' &= \sigma(f) \odot c + \sigma(i) \odot \tanh(g) \\
        h' &= \sigma(o) \odot \tanh(c')

    Type: ``(LSTMParams, LSTMState[..., H], x[..., I]) -> (LSTMState[..., H], h'[..., H])``.
    All axes before the last are batch axes (any number, including none), identical for ``x``
    and the carry.

    Args:
        params: ``LSTMParams`` with ``w_x [I, 4H]``, ``w_h [H, 4H]``, ``b [4H]``.
        carry: ``LSTMState(h, c)``, each ``[..., H]``.
        x: the input at this step, ``[..., I]``.

    Returns:
        ``(LSTMState(h', c'), h')``; the output is the new hidden state.

    Examples:
        >>> import jax, jax.numpy as jnp, rnnax
        >>> params = rnnax.lstm_init(jax.random.key(0), 3, 4)
        >>> carry = rnnax.LSTMState(jnp.zeros(4), jnp.zeros(4))
        >>> carry, y = rnnax.lstm_cell(params, carry, jnp.ones(3))
        >>> y.shape
        (4,)
    """
    input_size, hidden_size = check_params(params, 4)
    if not isinstance(carry, LSTMState):
        raise TypeError(f"carry must be LSTMState(h, c), got {type(carry).__name__}")
    check_step_inputs(
        "x",
        x,
        [("carry.h", carry.h), ("carry.c", carry.c)],
        input_size,
        hidden_size,
        params.w_h.dtype,
    )
    return _lstm_step(params, carry, x)


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


def gru_cell(
    params: GRUParams, h: jax.Array, x: jax.Array, *, reset_after: bool = False
) -> tuple[jax.Array, jax.Array]:
    r"""One GRU step.

    The default form (``reset_after=False``) is the explainer's: the reset gate scales ``h``
    before the recurrent product, and ``z`` weights the NEW candidate:

    .. math::

        z &= \sigma(x W_x^z + b_x^z + h W_h^z + b_h^z) \\
        r &= \sigma(x W_x^r + b_x^r + h W_h^r + b_h^r) \\
        n &= \tanh(x W_x^n + b_x^n + (r \odot h) W_h^n + b_h^n) \\
        h' &= (1 - z) \odot h + z \odot n

    With ``reset_after=True`` (the cuDNN / PyTorch / Keras / Flax placement of ``r``):

    .. math::

        n = \tanh(x W_x^n + b_x^n + r \odot (h W_h^n + b_h^n))

    PyTorch and Flax write ``h' = (1 - z) n + z h``: their ``z`` is our ``1 - z``.

    Type: ``(GRUParams, h[..., H], x[..., I]) -> (h'[..., H], h'[..., H])``.

    Args:
        params: ``GRUParams`` with ``w_x [I, 3H]``, ``w_h [H, 3H]``, ``b_x [3H]``, ``b_h [3H]``
            in gate order ``z, r, n``.
        h: the hidden state ``[..., H]`` (the GRU carry is this plain array).
        x: the input at this step, ``[..., I]``.
        reset_after: where the reset gate applies (see above).

    Returns:
        ``(h', h')``.

    Examples:
        >>> import jax, jax.numpy as jnp, rnnax
        >>> params = rnnax.gru_init(jax.random.key(0), 3, 4)
        >>> h, y = rnnax.gru_cell(params, jnp.zeros(4), jnp.ones(3))
        >>> y.shape
        (4,)
    """
    input_size, hidden_size = check_params(params, 3)
    check_step_inputs("x", x, [("h", h)], input_size, hidden_size, params.w_h.dtype)
    return _gru_step(params, h, x, reset_after=check_bool("reset_after", reset_after))


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
