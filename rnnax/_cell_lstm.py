"""The LSTM as a ``Cell``: the explainer's equations (``rnnax.lstm_cell``), its GEMM + pointwise
split (which gives it the generic hand-written backward pass), and its specialised strategies
(Pallas, cuDNN, the native C++ loop)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from rnnax._cells import _lstm_step, check_cell_inputs
from rnnax._cudnn import check_cudnn_dtype, lstm_cudnn
from rnnax._init import lstm_init
from rnnax._params import LSTMParams, LSTMState
from rnnax._protocol import Cell, GemmSplit, register_cell


def _carry_init(hidden_size: int, batch_shape: tuple[int, ...], dtype: Any) -> LSTMState:
    zeros = jnp.zeros((*batch_shape, hidden_size), dtype)
    return LSTMState(zeros, zeros)


def _weights(params: LSTMParams) -> tuple[jax.Array, jax.Array, jax.Array, None]:
    return params.w_x, params.b, params.w_h, None


def _pointwise(
    params: LSTMParams, carry: LSTMState, a_x: jax.Array, a_h: jax.Array
) -> tuple[LSTMState, jax.Array]:
    i, f, g, o = jnp.split(a_x + a_h, 4, axis=-1)
    c = jax.nn.sigmoid(f) * carry.c + jax.nn.sigmoid(i) * jnp.tanh(g)
    h = jax.nn.sigmoid(o) * jnp.tanh(c)
    return LSTMState(h, c), h


def _pallas(params, xs, carry, lengths, *, reverse, unroll):
    from rnnax._pallas import lstm_pallas  # lazy: Pallas' Triton lowering is ~0.1 s to import

    h, c, ys = lstm_pallas(params, xs, carry.h, carry.c, lengths, reverse)
    return LSTMState(h, c), ys


def _native(params, xs, carry, lengths, *, reverse, unroll):
    from rnnax._native._rnn import LSTM as KIND  # lazy: loads the C++ library
    from rnnax._native._rnn import rnn_native

    h, c, ys = rnn_native(KIND, params, xs, carry.h, carry.c, lengths, reverse)
    return LSTMState(h, c), ys


def _cudnn(params, xs, carry, lengths, *, reverse, unroll):
    backend = jax.default_backend()
    if backend != "gpu":
        raise ValueError(
            "strategy='cudnn' needs a GPU (cuDNN through jax.experimental.rnn), but the default "
            f"backend is {backend!r}; use strategy='pallas' (Pallas interpret mode off-GPU), "
            "'custom_vjp' or 'scan'"
        )
    check_cudnn_dtype(params.w_h.dtype)
    h, c, ys = lstm_cudnn(params, xs, carry.h, carry.c, lengths, reverse)
    return LSTMState(h, c), ys


LSTM = register_cell(
    Cell(
        name="lstm",
        init=lstm_init,
        step=_lstm_step,
        layout={"w_h": ("H", "4H"), "w_x": ("I", "4H"), "b": ("4H",)},
        carry_init=_carry_init,
        params_type=LSTMParams,
        # 2*I*4H + 2*H*4H (products) + 8H (adding the products and b) + 9H (3 sigmoids,
        # 2 tanh, 3 multiplies, 1 add).
        flops=lambda i, h: 8 * h * (i + h) + 17 * h,
        split=GemmSplit(_weights, _pointwise, lambda carry: carry.h, additive=True),
        # "custom_vjp" is the generic hand-written backward pass built from the split: it
        # replaced a tuned LSTM kernel, being 0.89-0.91x its time in float32 with the same
        # memory (benchmarks/results/cpu-2core/custom-vjp/).
        kernels={"pallas": _pallas, "cudnn": _cudnn, "native": _native},
        # benchmarks/results/cpu-2core/native/: the native loop wins on CPU (float32 and
        # bfloat16); where it is not installed, the hand-written backward pass.
        auto={"cpu": "native"},
        description="LSTM (input, forget, output gates; separate cell state)",
    )
)
"""The LSTM: ``rnnax.lstm_cell`` with ``LSTMParams`` and an ``LSTMState`` carry."""


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
    check_cell_inputs(LSTM, params, carry, x)
    return _lstm_step(params, carry, x)
