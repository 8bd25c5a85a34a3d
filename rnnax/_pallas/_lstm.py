r"""Fused Pallas kernels for the LSTM: forward and backward time loops, wired with a VJP.

Outside the kernels, as single large GEMMs over all ``T B`` rows (autodiff supplies their
transposes):

.. math::

    X_w = X W_x + b \qquad (\text{forward}), \qquad
    dW_x = X^\top dA,\; dX = dA\, W_x^\top,\; db = \textstyle\sum dA \qquad (\text{backward})

Inside the forward kernel, one program per batch tile loops over time with the recurrent
weights on chip and the gate math fused with the recurrent product:

.. math::

    a_t &= X_w[t] + h_{t-1} W_h, \qquad i, f, g, o = \mathrm{split}(a_t, 4) \\
    c_t &= \sigma(f) \odot c_{t-1} + \sigma(i) \odot \tanh(g), \qquad
    h_t = \sigma(o) \odot \tanh(c_t)

When differentiating it also stores the activations ``\sigma(i), \sigma(f), \tanh(g),
\sigma(o)`` and the carries. The backward kernel runs time in reverse and does only the
sequential part, ``dh_{t-1} = dA_t W_h^\top`` (with ``dc_{t-1} = dc_t \odot \sigma(f)``):

.. math::

    dA_t = \big[\, dc\,\tanh(g)\,\sigma'(i),\; dc\, c_{t-1}\,\sigma'(f),\;
    dc\,\sigma(i)\,(1 - \tanh^2 g),\; dh\,\tanh(c_t)\,\sigma'(o) \,\big],
    \quad dc = dc_t + dh\,\sigma(o)(1 - \tanh^2 c_t)

and ``dW_h = H_{prev}^\top dA`` is again one GEMM outside. Padded steps (``t >= length``)
write ``ys = 0`` and hold the carry, forward and backward, exactly like ``rnnax.scan_cell``.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from rnnax._backward import previous_carries, weight_gradient
from rnnax._masking import keep, masked_inputs, step_mask, zero_padded
from rnnax._pallas import _common as common
from rnnax._pallas._common import KernelPlan
from rnnax._params import LSTMParams

_GATES = 4


def _forward_kernel(
    kplan: KernelPlan, reverse: bool, has_lengths: bool, save: bool, *all_refs: Any
) -> None:
    refs = list(all_refs)
    xw_ref, w_ref, h0_ref, c0_ref = refs[:4]
    lengths_ref = refs[4] if has_lengths else None
    outputs = refs[4 + has_lengths :]
    ys_ref, h_last_ref, c_last_ref = outputs[:3]
    residual_refs: list[Any] = outputs[3:]  # gates, hs, cs when save
    n, acc = kplan.num_tiles, h0_ref.dtype
    weights = common.WeightTiles(w_ref, kplan, range(_GATES))
    lengths = None if lengths_ref is None else lengths_ref[...]

    def step(s: jax.Array, carry: Any) -> Any:
        hs, cs = carry
        t = common.time_index(s, kplan.num_steps, reverse)
        valid = step_mask(lengths, t)
        new_h, new_c = [], []
        for j in range(n):
            pre = []
            for gate in range(_GATES):
                # The gate math is fused with the recurrent product: a tile's pre-activation
                # never leaves the chip.
                a = xw_ref[t, :, kplan.cols(gate, j)]
                for row in range(n):
                    a = a + common.matmul(hs[row], weights.tile(row, gate, j), acc)
                pre.append(a)
            si, sf = jax.nn.sigmoid(pre[0]), jax.nn.sigmoid(pre[1])
            tg, so = jnp.tanh(pre[2]), jax.nn.sigmoid(pre[3])
            c_new = sf * cs[j] + si * tg
            h_new = so * jnp.tanh(c_new)
            new_h.append(keep(valid, h_new, hs[j]))
            new_c.append(keep(valid, c_new, cs[j]))
            ys_ref[t, :, kplan.rows(j)] = zero_padded(valid, h_new).astype(ys_ref.dtype)
            if save:
                gates_ref, hs_ref, cs_ref = residual_refs
                for gate, value in enumerate((si, sf, tg, so)):
                    gates_ref[t, :, kplan.cols(gate, j)] = value
                hs_ref[t, :, kplan.rows(j)] = new_h[j]
                cs_ref[t, :, kplan.rows(j)] = new_c[j]
        return tuple(new_h), tuple(new_c)

    initial = (
        tuple(h0_ref[:, kplan.rows(j)] for j in range(n)),
        tuple(c0_ref[:, kplan.rows(j)] for j in range(n)),
    )
    hs, cs = jax.lax.fori_loop(0, kplan.num_steps, step, initial)
    for j in range(n):
        h_last_ref[:, kplan.rows(j)] = hs[j]
        c_last_ref[:, kplan.rows(j)] = cs[j]


def _backward_kernel(kplan: KernelPlan, reverse: bool, has_lengths: bool, *all_refs: Any) -> None:
    refs = list(all_refs)
    d_ys_ref, d_h_ref, d_c_ref, gates_ref, cs_ref, c0_ref, w_ref = refs[:7]
    lengths_ref = refs[7] if has_lengths else None
    d_a_ref, d_h0_ref, d_c0_ref = refs[7 + has_lengths :]
    n, acc = kplan.num_tiles, d_h_ref.dtype
    weights = common.WeightTiles(w_ref, kplan, range(_GATES))
    lengths = None if lengths_ref is None else lengths_ref[...]

    def step(s: jax.Array, carry: Any) -> Any:
        d_hs, d_cs = carry
        # The backward pass visits the steps in the opposite order to the forward pass.
        t = common.time_index(s, kplan.num_steps, not reverse)
        valid = step_mask(lengths, t)
        d_a, new_dc = [], []
        for j in range(n):
            rows = kplan.rows(j)
            si, sf, tg, so = (gates_ref[t, :, kplan.cols(gate, j)] for gate in range(_GATES))
            tanh_c = jnp.tanh(cs_ref[t, :, rows])  # recomputed: one tanh instead of T B H words
            c_prev = common.previous_tile(cs_ref, c0_ref, t, rows, kplan.num_steps, reverse)
            d_h = d_hs[j] + d_ys_ref[t, :, rows]
            d_c = d_cs[j] + d_h * so * (1 - tanh_c * tanh_c)
            tile = tuple(
                zero_padded(valid, value)
                for value in (
                    d_c * tg * si * (1 - si),
                    d_c * c_prev * sf * (1 - sf),
                    d_c * si * (1 - tg * tg),
                    d_h * tanh_c * so * (1 - so),
                )
            )
            for gate, value in enumerate(tile):
                d_a_ref[t, :, kplan.cols(gate, j)] = value
            d_a.append(tile)
            new_dc.append(keep(valid, d_c * sf, d_cs[j]))
        new_dh = []
        for row in range(n):
            # dh_{t-1} = dA_t W_h^T, the only sequential product of the backward pass.
            total = jnp.zeros_like(d_hs[row])
            for j in range(n):
                for gate in range(_GATES):
                    total = total + common.matmul_t(d_a[j][gate], weights.tile(row, gate, j), acc)
            new_dh.append(keep(valid, total, d_hs[row]))
        return tuple(new_dh), tuple(new_dc)

    initial = (
        tuple(d_h_ref[:, kplan.rows(j)] for j in range(n)),
        tuple(d_c_ref[:, kplan.rows(j)] for j in range(n)),
    )
    d_hs, d_cs = jax.lax.fori_loop(0, kplan.num_steps, step, initial)
    for j in range(n):
        d_h0_ref[:, kplan.rows(j)] = d_hs[j]
        d_c0_ref[:, kplan.rows(j)] = d_cs[j]


def _forward(
    kplan: KernelPlan,
    reverse: bool,
    save: bool,
    xw: jax.Array,
    w_h: jax.Array,
    h0: jax.Array,
    c0: jax.Array,
    lengths: jax.Array | None,
    out_dtype: Any,
):
    acc = h0.dtype
    shape_t, shape_b = (kplan.num_steps, kplan.batch, kplan.hidden), (kplan.batch, kplan.hidden)
    outputs = [(shape_t, out_dtype, "tbg"), (shape_b, acc, "bg"), (shape_b, acc, "bg")]
    if save:
        outputs += [
            ((kplan.num_steps, kplan.batch, _GATES * kplan.hidden), acc, "tbg"),
            (shape_t, acc, "tbg"),
            (shape_t, acc, "tbg"),
        ]
    kernel = functools.partial(_forward_kernel, kplan, reverse, lengths is not None, save)
    return common.call(
        kernel,
        kplan,
        "rnnax_lstm_forward",
        [(xw, "tbg"), (w_h, "full"), (h0, "bg"), (c0, "bg"), (lengths, "b")],
        outputs,
    )


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1, 7))
def _recurrence(
    kplan: KernelPlan,
    reverse: bool,
    xw: jax.Array,
    w_h: jax.Array,
    h0: jax.Array,
    c0: jax.Array,
    lengths: jax.Array | None,
    out_dtype: Any,
):
    """``(ys, h_last, c_last)`` of the padded recurrence; inputs already projected."""
    return _forward(kplan, reverse, False, xw, w_h, h0, c0, lengths, out_dtype)


def _recurrence_fwd(kplan, reverse, xw, w_h, h0, c0, lengths, out_dtype):
    ys, h_last, c_last, gates, hs, cs = _forward(
        kplan, reverse, True, xw, w_h, h0, c0, lengths, out_dtype
    )
    return (ys, h_last, c_last), (w_h, h0, c0, lengths, gates, hs, cs)


def _recurrence_bwd(kplan, reverse, out_dtype, residuals, cotangents):
    del out_dtype
    w_h, h0, c0, lengths, gates, hs, cs = residuals
    d_ys, d_h_last, d_c_last = cotangents
    acc = h0.dtype
    shape_b = (kplan.batch, kplan.hidden)
    kernel = functools.partial(_backward_kernel, kplan, reverse, lengths is not None)
    d_a, d_h0, d_c0 = common.call(
        kernel,
        kplan,
        "rnnax_lstm_backward",
        [
            (d_ys.astype(acc), "tbg"),
            (d_h_last, "bg"),
            (d_c_last, "bg"),
            (gates, "tbg"),
            (cs, "tbg"),
            (c0, "bg"),
            (w_h, "full"),
            (lengths, "b"),
        ],
        [
            ((kplan.num_steps, kplan.batch, _GATES * kplan.hidden), acc, "tbg"),
            (shape_b, acc, "bg"),
            (shape_b, acc, "bg"),
        ],
    )
    # The weight gradient of the recurrent product: one GEMM over all T Bp rows.
    h_prev = previous_carries(hs, h0, reverse)
    d_w_h = weight_gradient(h_prev, d_a).astype(w_h.dtype)
    return d_a, d_w_h, d_h0, d_c0, None


_recurrence.defvjp(_recurrence_fwd, _recurrence_bwd)


def lstm_pallas(
    params: LSTMParams,
    xs: Float[Array, "T B I"],
    h0: Float[Array, "B H"],
    c0: Float[Array, "B H"],
    lengths: Int[Array, " B"] | None = None,
    reverse: bool = False,
    *,
    interpret: bool | None = None,
    block_b: int | None = None,
    block_h: int | None = None,
    resident: bool | None = None,
    num_warps: int | None = None,
    num_stages: int | None = None,
) -> tuple[Float[Array, "B H"], Float[Array, "B H"], Float[Array, "T B H"]]:
    """The LSTM over time-major ``xs [T, B, I]`` with fused Pallas kernels.

    Computes exactly ``rnnax.lstm(params, xs, LSTMState(h0, c0), seq_lengths=lengths,
    reverse=reverse, time_major=True)`` (one batch axis), with the forward and backward time
    loops in Pallas kernels (see the module docstring) and a hand-written VJP. The gate math
    and the carries are float32 inside the kernel (float64 for float64 parameters), also for
    bfloat16 parameters, whose products run in bfloat16 with float32 accumulation.

    Args:
        params: ``LSTMParams`` (``w_x [I, 4H]``, ``w_h [H, 4H]``, ``b [4H]``).
        xs: inputs ``[T, B, I]`` in the dtype of ``params``.
        h0: initial hidden state ``[B, H]``.
        c0: initial cell state ``[B, H]``.
        lengths: optional ``[B]`` integer lengths (right padding).
        reverse: run each sequence from its last valid step back to its first.
        interpret: Pallas interpret mode; default on every backend but GPU.
        block_b, block_h, resident, num_warps, num_stages: tiling (see
            ``rnnax._pallas._common.plan``).

    Returns:
        ``(h, c, ys)``: the final carry ``[B, H]`` each and ``ys [T, B, H]``.
    """
    num_steps, batch, _ = xs.shape
    hidden = h0.shape[-1]
    dtype = params.w_h.dtype
    if num_steps == 0:
        return h0, c0, jnp.zeros((0, batch, hidden), dtype)
    kplan = common.plan(
        num_steps,
        batch,
        hidden,
        _GATES,
        dtype,
        block_b=block_b,
        block_h=block_h,
        resident=resident,
        interpret=interpret,
        num_warps=num_warps,
        num_stages=num_stages,
    )
    xs = masked_inputs(xs, lengths)
    ys, h, c = _recurrence(
        kplan,
        bool(reverse),
        common.input_projection(xs, params.w_x, params.b, _GATES, kplan),
        common.recurrent_weights(params.w_h, _GATES, kplan),
        common.padded_state(h0, kplan),
        common.padded_state(c0, kplan),
        common.padded_lengths(lengths, kplan),
        jnp.dtype(dtype),
    )
    return (
        h[:batch, :hidden].astype(dtype),
        c[:batch, :hidden].astype(dtype),
        ys[:, :batch, :hidden],
    )
