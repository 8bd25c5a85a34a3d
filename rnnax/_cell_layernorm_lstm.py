"""The layer-normalized LSTM of Ba, Kiros & Hinton (2016, "Layer Normalization", the LSTM of
section 3.1's recurrent networks) as a ``Cell``: ``LAYERNORM_LSTM`` with
``LayerNormLSTMParams`` and an ``LSTMState`` carry.

The two GEMMs are the LSTM's (``x W_x`` and ``h W_h``, no bias); everything else (the three
layer norms, the bias, the gates) is the pointwise part of its ``GemmSplit``, so the generic
hand-written backward pass (``strategy="custom_vjp"``) applies and sums the gradients of the
gains and shifts over the steps.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from rnnax._cell_lstm import LSTM
from rnnax._cells import check_cell_inputs
from rnnax._checks import check_finite_real
from rnnax._init import (
    Initializer,
    _check_init_arguments,
    _check_sizes,
    _gate_blocks,
    glorot_uniform,
    orthogonal,
)
from rnnax._params import LSTMState
from rnnax._protocol import Cell, GemmSplit, register_cell, split_step

EPSILON = 1e-5
"""Added to the variance inside the square root of every layer norm (fixed, as in
``torch.nn.LayerNorm``'s and Flax's defaults)."""


class LayerNormLSTMParams(NamedTuple):
    """Parameters of one layer-normalized LSTM cell; gate order ``i, f, g, o`` (as the LSTM's).

    Attributes:
        w_x: input weights ``[I, 4H]`` (matrices act on the right: ``x @ w_x``).
        w_h: recurrent weights ``[H, 4H]``.
        b: bias ``[4H]``, added after the two layer norms.
        gain_x: gain of the input projection's layer norm ``[4H]``.
        shift_x: shift of the input projection's layer norm ``[4H]``.
        gain_h: gain of the recurrent projection's layer norm ``[4H]``.
        shift_h: shift of the recurrent projection's layer norm ``[4H]``.
        gain_c: gain of the cell state's layer norm ``[H]``.
        shift_c: shift of the cell state's layer norm ``[H]``.
    """

    w_x: Float[Array, "I H4"]
    w_h: Float[Array, "H H4"]
    b: Float[Array, " H4"]
    gain_x: Float[Array, " H4"]
    shift_x: Float[Array, " H4"]
    gain_h: Float[Array, " H4"]
    shift_h: Float[Array, " H4"]
    gain_c: Float[Array, " H"]
    shift_c: Float[Array, " H"]


_LAYOUT = {
    "w_h": ("H", "4H"),
    "w_x": ("I", "4H"),
    "b": ("4H",),
    "gain_x": ("4H",),
    "shift_x": ("4H",),
    "gain_h": ("4H",),
    "shift_h": ("4H",),
    "gain_c": ("H",),
    "shift_c": ("H",),
}


def _layer_norm(z: jax.Array, gain: jax.Array, shift: jax.Array) -> jax.Array:
    """``gain * (z - mean) / sqrt(var + EPSILON) + shift`` over the last axis.

    The statistics and the affine map are computed in at least float32 (a bfloat16 mean of
    ``4H`` values loses most of its bits) and the result is cast back to ``z``'s dtype.
    """
    wide = z.dtype if jnp.finfo(z.dtype).bits >= 32 else jnp.dtype(jnp.float32)
    z_wide = z.astype(wide)
    mean = jnp.mean(z_wide, axis=-1, keepdims=True)
    centred = z_wide - mean
    variance = jnp.mean(jnp.square(centred), axis=-1, keepdims=True)
    normalized = centred * jax.lax.rsqrt(variance + EPSILON)
    lead = (1,) * (z.ndim - 1)
    out = normalized * gain.astype(wide).reshape(lead + gain.shape)
    return (out + shift.astype(wide).reshape(lead + shift.shape)).astype(z.dtype)


def _weights(params: LayerNormLSTMParams) -> tuple[jax.Array, None, jax.Array, None]:
    return params.w_x, None, params.w_h, None


def _pointwise(
    params: LayerNormLSTMParams, carry: LSTMState, a_x: jax.Array, a_h: jax.Array
) -> tuple[LSTMState, jax.Array]:
    a = _layer_norm(a_x, params.gain_x, params.shift_x)
    a = a + _layer_norm(a_h, params.gain_h, params.shift_h)
    a = a + params.b.reshape((1,) * (a.ndim - 1) + params.b.shape)
    i, f, g, o = jnp.split(a, 4, axis=-1)
    c = jax.nn.sigmoid(f) * carry.c + jax.nn.sigmoid(i) * jnp.tanh(g)
    h = jax.nn.sigmoid(o) * jnp.tanh(_layer_norm(c, params.gain_c, params.shift_c))
    return LSTMState(h, c), h


_SPLIT = GemmSplit(_weights, _pointwise, lambda carry: carry.h)


def _flops(input_size: int, hidden_size: int) -> int:
    # Products 2*I*4H + 2*H*4H. A layer norm of n values counts 7n + 4: n + 1 for the mean
    # (sum, divide), n to centre, 2n + 1 for the variance (square, sum, divide), 2 to add
    # epsilon and take rsqrt, n to normalize, 2n for the gain and shift. Two of them on 4H
    # values, one on H; 8H to add the two norms and b; 9H for the LSTM's gates (3 sigmoids,
    # 2 tanh, 3 multiplies, 1 add).
    h = hidden_size
    return 8 * h * (input_size + h) + 2 * (7 * 4 * h + 4) + (7 * h + 4) + 8 * h + 9 * h


def layernorm_lstm_init(
    key: jax.Array,
    input_size: int,
    hidden_size: int,
    *,
    forget_bias: float = 1.0,
    dtype: Any = jnp.float32,
    input_init: Initializer = glorot_uniform,
    recurrent_init: Initializer = orthogonal,
) -> LayerNormLSTMParams:
    """Initializes layer-normalized LSTM parameters.

    The weights as ``rnnax.lstm_init`` (per-gate Glorot uniform ``[I, H]`` input blocks and
    orthogonal ``[H, H]`` recurrent blocks; the layer norms make their scale matter less); the
    bias zero but the forget gate's, ``forget_bias``; every gain 1 and every shift 0, so each
    layer norm starts as a plain normalization.

    Args:
        key: a PRNG key.
        input_size: number of input features ``I``.
        hidden_size: number of hidden units ``H``.
        forget_bias: initial value of the forget gate's entries of ``b``.
        dtype: dtype of every parameter.
        input_init: initializer for each ``[I, H]`` gate block of ``w_x``.
        recurrent_init: initializer for each ``[H, H]`` gate block of ``w_h``.

    Returns:
        ``LayerNormLSTMParams``, gate order ``i, f, g, o``.

    Raises:
        TypeError, ValueError: as ``rnnax.lstm_init``.

    Examples:
        >>> import jax
        >>> from rnnax._cell_layernorm_lstm import layernorm_lstm_init
        >>> params = layernorm_lstm_init(jax.random.key(0), 3, 8)
        >>> params.w_x.shape, params.gain_x.shape, params.gain_c.shape
        ((3, 32), (32,), (8,))
        >>> float(params.b[8:16].mean()), float(params.gain_h.min()), float(params.shift_c.max())
        (1.0, 1.0, 0.0)
    """
    input_size, hidden_size = _check_sizes(input_size, hidden_size)
    dtype = _check_init_arguments(key, dtype, input_init=input_init, recurrent_init=recurrent_init)
    forget_bias = check_finite_real("forget_bias", forget_bias)
    k_x, k_h = jax.random.split(key)
    h = hidden_size
    ones, zeros = jnp.ones((4 * h,), dtype), jnp.zeros((4 * h,), dtype)
    return LayerNormLSTMParams(
        w_x=_gate_blocks(k_x, input_init, input_size, h, 4, dtype, "input_init"),
        w_h=_gate_blocks(k_h, recurrent_init, h, h, 4, dtype, "recurrent_init"),
        b=zeros.at[h : 2 * h].set(jnp.asarray(forget_bias, dtype)),
        gain_x=ones,
        shift_x=zeros,
        gain_h=ones,
        shift_h=zeros,
        gain_c=jnp.ones((h,), dtype),
        shift_c=jnp.zeros((h,), dtype),
    )


# "auto" on CPU is the generic hand-written backward pass: with the batch split over 2 CPU
# devices it took 0.50-0.66x the scan's fwd+bwd time and about half its temporary memory at
# the three bar shapes (benchmarks/results/cpu-2core/auto-choice/new-cells-float32.md).
LAYERNORM_LSTM = register_cell(
    Cell(
        name="layernorm_lstm",
        init=layernorm_lstm_init,
        step=split_step(_SPLIT),
        layout=_LAYOUT,
        carry_init=LSTM.carry_init,
        params_type=LayerNormLSTMParams,
        flops=_flops,
        split=_SPLIT,
        auto={"cpu": "custom_vjp"},
        description="LSTM with layer normalization (Ba, Kiros & Hinton 2016)",
    )
)
"""The layer-normalized LSTM: ``layernorm_lstm_cell`` with ``LayerNormLSTMParams``."""


def layernorm_lstm_cell(
    params: LayerNormLSTMParams, carry: LSTMState, x: jax.Array
) -> tuple[LSTMState, jax.Array]:
    r"""One step of the layer-normalized LSTM (Ba, Kiros & Hinton 2016).

    .. math::

        a &= \mathrm{LN}(x W_x; g_x, \beta_x) + \mathrm{LN}(h W_h; g_h, \beta_h) + b,
            \qquad i, f, g, o = \mathrm{split}(a, 4) \\
        c' &= \sigma(f) \odot c + \sigma(i) \odot \tanh(g) \\
        h' &= \sigma(o) \odot \tanh(\mathrm{LN}(c'; g_c, \beta_c))

    where :math:`\mathrm{LN}(z; g, \beta) = g \odot (z - \mu) / \sqrt{\sigma^2 + \epsilon}
    + \beta` with the mean :math:`\mu` and the (biased) variance :math:`\sigma^2` of the
    vector's entries and :math:`\epsilon = 10^{-5}` (fixed). As in the paper, each projection's
    layer norm normalizes the whole ``4H`` pre-activation vector (all four gates together), not
    each gate on its own; the cell state's normalizes its ``H`` values. The statistics are
    computed in at least float32, so bfloat16 parameters keep their precision there. The new
    cell state ``c'`` is carried unnormalized. (``b``, ``shift_x`` and ``shift_h`` are all
    added to ``a``: only their sum matters, but the paper's parameterization is kept so
    weights map one to one.)

    Type: ``(LayerNormLSTMParams, LSTMState[..., H], x[..., I])
    -> (LSTMState[..., H], h'[..., H])``. All axes before the last are batch axes.

    Args:
        params: ``LayerNormLSTMParams`` (``w_x [I, 4H]``, ``w_h [H, 4H]``, ``b`` and the
            projections' gains and shifts ``[4H]``, the cell state's ``[H]``).
        carry: ``LSTMState(h, c)``, each ``[..., H]``.
        x: the input at this step, ``[..., I]``.

    Returns:
        ``(LSTMState(h', c'), h')``.

    Raises:
        TypeError: a carry that is not an ``LSTMState``, parameters of another type, or a
            non-floating or mismatched dtype.
        ValueError: a parameter, input or carry of the wrong shape.

    Examples:
        >>> import jax, jax.numpy as jnp, rnnax
        >>> from rnnax._cell_layernorm_lstm import layernorm_lstm_cell, layernorm_lstm_init
        >>> params = layernorm_lstm_init(jax.random.key(0), 3, 4)
        >>> carry = rnnax.LSTMState(jnp.zeros(4), jnp.zeros(4))
        >>> carry, y = layernorm_lstm_cell(params, carry, jnp.ones(3))
        >>> y.shape
        (4,)
    """
    if not isinstance(carry, LSTMState):
        raise TypeError(f"carry must be LSTMState(h, c), got {type(carry).__name__}")
    check_cell_inputs(LAYERNORM_LSTM, params, carry, x)
    return LAYERNORM_LSTM.step(params, carry, x)
