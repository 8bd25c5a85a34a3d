r"""Fused Pallas kernels for the GRU, both forms: forward and backward time loops with a VJP.

As for the LSTM (``rnnax._pallas._lstm``), the input projection is one GEMM before the kernel.
Both biases fold into it, except the candidate's recurrent bias ``b_h^n`` in the
``reset_after`` form, which the reset gate scales and so stays inside the kernel:

.. math::

    X_w = X W_x + b_x + [\,b_h^z,\; b_h^r,\; b_h^n \text{ (reset before only)}\,]

The forward kernel (one program per batch tile, time loop inside, ``w_h`` on chip) computes

.. math::

    z &= \sigma(X_w^z + h W_h^z), \qquad r = \sigma(X_w^r + h W_h^r) \\
    n &= \tanh(X_w^n + (r \odot h) W_h^n) \quad \text{(reset before, the default)} \\
    n &= \tanh(X_w^n + r \odot (h W_h^n + b_h^n)) \quad \text{(reset after)} \\
    h' &= (1 - z) \odot h + z \odot n

storing ``z, r, n`` (and ``h W_h^n + b_h^n`` for the reset-after form) when differentiating.
The backward kernel runs time in reverse; with ``dh`` the total gradient reaching ``h'``:

.. math::

    dz &= dh\,(n - h)\,\sigma'(z), \qquad dn = dh\, z\,(1 - n^2) \\
    \text{reset after:}\quad dr &= dn\,(h W_h^n + b_h^n)\,\sigma'(r), \quad
        dh_{prev} = dh\,(1 - z) + [dz, dr, dn\, r]\, W_h^\top \\
    \text{reset before:}\quad d(rh) &= dn\, (W_h^n)^\top, \quad dr = d(rh)\, h\, \sigma'(r),
        \quad dh_{prev} = dh\,(1 - z) + d(rh)\, r + [dz, dr]\, (W_h^{zr})^\top

and the weight gradients are GEMMs outside: ``dW_h^{zr} = H_{prev}^\top [dz, dr]``, and
``dW_h^n = H_{prev}^\top (dn\, r)`` (reset after) or ``(r \odot H_{prev})^\top dn`` (before).
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
from rnnax._params import GRUParams

_GATES = 3
_Z, _R, _N = 0, 1, 2


def _num_saved(reset_after: bool) -> int:
    """Gate blocks saved for the backward pass: ``z, r, n`` (and ``h W_h^n + b_h^n``)."""
    return 4 if reset_after else 3


def _forward_kernel(
    kplan: KernelPlan,
    reverse: bool,
    reset_after: bool,
    has_lengths: bool,
    save: bool,
    *all_refs: Any,
) -> None:
    refs = list(all_refs)
    xw_ref, w_ref, b_hn_ref, h0_ref = refs[:4]
    lengths_ref = refs[4] if has_lengths else None
    outputs = refs[4 + has_lengths :]
    ys_ref, h_last_ref = outputs[:2]
    residual_refs: list[Any] = outputs[2:]  # gates, hs when save
    n, acc = kplan.num_tiles, h0_ref.dtype
    weights = common.WeightTiles(w_ref, kplan, range(_GATES))
    lengths = None if lengths_ref is None else lengths_ref[...]

    def recurrent(inputs: tuple[jax.Array, ...], gate: int, j: int) -> jax.Array:
        """Tile ``j`` of ``inputs @ W_h^gate`` (``inputs`` as hidden tiles)."""
        total = common.matmul(inputs[0], weights.tile(0, gate, j), acc)
        for row in range(1, n):
            total = total + common.matmul(inputs[row], weights.tile(row, gate, j), acc)
        return total

    def step(s: jax.Array, hs: Any) -> Any:
        t = common.time_index(s, kplan.num_steps, reverse)
        valid = step_mask(lengths, t)
        xw = [[xw_ref[t, :, kplan.cols(gate, j)] for gate in range(_GATES)] for j in range(n)]
        z = [jax.nn.sigmoid(xw[j][_Z] + recurrent(hs, _Z, j)) for j in range(n)]
        r = [jax.nn.sigmoid(xw[j][_R] + recurrent(hs, _R, j)) for j in range(n)]
        if reset_after:
            ah_n = [recurrent(hs, _N, j) + b_hn_ref[:, kplan.rows(j)] for j in range(n)]
            cand = [jnp.tanh(xw[j][_N] + r[j] * ah_n[j]) for j in range(n)]
        else:
            # r scales h before the candidate's product, so every tile of r comes first.
            reset_h = tuple(r[j] * hs[j] for j in range(n))
            cand = [jnp.tanh(xw[j][_N] + recurrent(reset_h, _N, j)) for j in range(n)]
        new_h = []
        for j in range(n):
            h_new = (1 - z[j]) * hs[j] + z[j] * cand[j]
            new_h.append(keep(valid, h_new, hs[j]))
            ys_ref[t, :, kplan.rows(j)] = zero_padded(valid, h_new).astype(ys_ref.dtype)
            if save:
                gates_ref, hs_ref = residual_refs
                saved = (z[j], r[j], cand[j], *((ah_n[j],) if reset_after else ()))
                for index, value in enumerate(saved):
                    gates_ref[t, :, kplan.cols(index, j)] = value
                hs_ref[t, :, kplan.rows(j)] = new_h[j]
        return tuple(new_h)

    initial = tuple(h0_ref[:, kplan.rows(j)] for j in range(n))
    hs = jax.lax.fori_loop(0, kplan.num_steps, step, initial)
    for j in range(n):
        h_last_ref[:, kplan.rows(j)] = hs[j]


def _backward_kernel(
    kplan: KernelPlan, reverse: bool, reset_after: bool, has_lengths: bool, *all_refs: Any
) -> None:
    refs = list(all_refs)
    d_ys_ref, d_h_ref, gates_ref, hs_ref, h0_ref, w_ref = refs[:6]
    lengths_ref = refs[6] if has_lengths else None
    d_ax_ref, d_h0_ref = refs[6 + has_lengths :]
    n, acc = kplan.num_tiles, d_h_ref.dtype
    weights = common.WeightTiles(w_ref, kplan, range(_GATES))
    lengths = None if lengths_ref is None else lengths_ref[...]

    def step(s: jax.Array, d_hs: Any) -> Any:
        t = common.time_index(s, kplan.num_steps, not reverse)
        valid = step_mask(lengths, t)
        z, r, cand, h_prev, d_z, d_n, direct = [], [], [], [], [], [], []
        for j in range(n):
            z.append(gates_ref[t, :, kplan.cols(_Z, j)])
            r.append(gates_ref[t, :, kplan.cols(_R, j)])
            cand.append(gates_ref[t, :, kplan.cols(_N, j)])
            h_prev.append(
                common.previous_tile(hs_ref, h0_ref, t, kplan.rows(j), kplan.num_steps, reverse)
            )
            d_h = d_hs[j] + d_ys_ref[t, :, kplan.rows(j)]
            d_z.append(zero_padded(valid, d_h * (cand[j] - h_prev[j]) * z[j] * (1 - z[j])))
            d_n.append(zero_padded(valid, d_h * z[j] * (1 - cand[j] * cand[j])))
            direct.append(d_h * (1 - z[j]))
        if reset_after:
            d_r, d_ah_n = [], []
            for j in range(n):
                ah_n = gates_ref[t, :, kplan.cols(3, j)]
                d_ah_n.append(d_n[j] * r[j])
                d_r.append(d_n[j] * ah_n * r[j] * (1 - r[j]))
            # All three recurrent products read h: dh_prev gets [dz, dr, dn r] W_h^T.
            recurrent_grads: tuple[tuple[int, list[jax.Array]], ...] = (
                (_Z, d_z),
                (_R, d_r),
                (_N, d_ah_n),
            )
            d_r_h = None
        else:
            # The candidate's product read r * h: its gradient reaches r and h through d(rh).
            d_r_h = []
            for row in range(n):
                total = common.matmul_t(d_n[0], weights.tile(row, _N, 0), acc)
                for j in range(1, n):
                    total = total + common.matmul_t(d_n[j], weights.tile(row, _N, j), acc)
                d_r_h.append(total)
            d_r = [zero_padded(valid, d_r_h[j] * h_prev[j] * r[j] * (1 - r[j])) for j in range(n)]
            recurrent_grads = ((_Z, d_z), (_R, d_r))
        for j in range(n):
            for gate, values in ((_Z, d_z), (_R, d_r), (_N, d_n)):
                d_ax_ref[t, :, kplan.cols(gate, j)] = values[j]
            if reset_after:
                d_ax_ref[t, :, kplan.cols(3, j)] = d_ah_n[j]
        new_dh = []
        for row in range(n):
            total = direct[row] if d_r_h is None else direct[row] + d_r_h[row] * r[row]
            for gate, values in recurrent_grads:
                for j in range(n):
                    total = total + common.matmul_t(values[j], weights.tile(row, gate, j), acc)
            new_dh.append(keep(valid, total, d_hs[row]))
        return tuple(new_dh)

    initial = tuple(d_h_ref[:, kplan.rows(j)] for j in range(n))
    d_hs = jax.lax.fori_loop(0, kplan.num_steps, step, initial)
    for j in range(n):
        d_h0_ref[:, kplan.rows(j)] = d_hs[j]


def _forward(
    kplan: KernelPlan,
    reverse: bool,
    reset_after: bool,
    save: bool,
    xw: jax.Array,
    w_h: jax.Array,
    b_hn: jax.Array,
    h0: jax.Array,
    lengths: jax.Array | None,
    out_dtype: Any,
):
    acc = h0.dtype
    shape_t = (kplan.num_steps, kplan.batch, kplan.hidden)
    outputs = [(shape_t, out_dtype, "tbg"), ((kplan.batch, kplan.hidden), acc, "bg")]
    if save:
        outputs += [
            ((kplan.num_steps, kplan.batch, _num_saved(reset_after) * kplan.hidden), acc, "tbg"),
            (shape_t, acc, "tbg"),
        ]
    kernel = functools.partial(
        _forward_kernel, kplan, reverse, reset_after, lengths is not None, save
    )
    return common.call(
        kernel,
        kplan,
        "rnnax_gru_forward",
        [(xw, "tbg"), (w_h, "full"), (b_hn, "full"), (h0, "bg"), (lengths, "b")],
        outputs,
    )


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1, 2, 8))
def _recurrence(
    kplan: KernelPlan,
    reverse: bool,
    reset_after: bool,
    xw: jax.Array,
    w_h: jax.Array,
    b_hn: jax.Array,
    h0: jax.Array,
    lengths: jax.Array | None,
    out_dtype: Any,
):
    """``(ys, h_last)`` of the padded recurrence; inputs already projected."""
    return _forward(kplan, reverse, reset_after, False, xw, w_h, b_hn, h0, lengths, out_dtype)


def _recurrence_fwd(kplan, reverse, reset_after, xw, w_h, b_hn, h0, lengths, out_dtype):
    ys, h_last, gates, hs = _forward(
        kplan, reverse, reset_after, True, xw, w_h, b_hn, h0, lengths, out_dtype
    )
    return (ys, h_last), (w_h, b_hn, h0, lengths, gates, hs)


def _recurrence_bwd(kplan, reverse, reset_after, out_dtype, residuals, cotangents):
    del out_dtype
    w_h, b_hn, h0, lengths, gates, hs = residuals
    d_ys, d_h_last = cotangents
    acc, hidden = h0.dtype, kplan.hidden
    kernel = functools.partial(_backward_kernel, kplan, reverse, reset_after, lengths is not None)
    d_ax, d_h0 = common.call(
        kernel,
        kplan,
        "rnnax_gru_backward",
        [
            (d_ys.astype(acc), "tbg"),
            (d_h_last, "bg"),
            (gates, "tbg"),
            (hs, "tbg"),
            (h0, "bg"),
            (w_h, "full"),
            (lengths, "b"),
        ],
        [
            ((kplan.num_steps, kplan.batch, _num_saved(reset_after) * hidden), acc, "tbg"),
            ((kplan.batch, hidden), acc, "bg"),
        ],
    )
    # Weight gradients of the recurrent products: GEMMs over all T Bp rows.
    h_prev = previous_carries(hs, h0, reverse)
    d_zr = d_ax[..., : 2 * hidden]
    if reset_after:
        d_ah_n = d_ax[..., 3 * hidden :]
        d_w_h = weight_gradient(h_prev, jnp.concatenate([d_zr, d_ah_n], axis=-1))
        d_b_hn = d_ah_n.sum(axis=(0, 1))[None, :].astype(b_hn.dtype)
    else:
        reset_h = gates[..., hidden : 2 * hidden] * h_prev
        d_w_h = jnp.concatenate(
            [
                weight_gradient(h_prev, d_zr),
                weight_gradient(reset_h, d_ax[..., 2 * hidden : 3 * hidden]),
            ],
            axis=-1,
        )
        d_b_hn = jnp.zeros_like(b_hn)  # folded into the projection, not an input here
    return (d_ax[..., : 3 * hidden], d_w_h.astype(w_h.dtype), d_b_hn, d_h0, None)


_recurrence.defvjp(_recurrence_fwd, _recurrence_bwd)


def gru_pallas(
    params: GRUParams,
    xs: Float[Array, "T B I"],
    h0: Float[Array, "B H"],
    lengths: Int[Array, " B"] | None = None,
    reverse: bool = False,
    reset_after: bool = False,
    *,
    interpret: bool | None = None,
    block_b: int | None = None,
    block_h: int | None = None,
    resident: bool | None = None,
    num_warps: int | None = None,
    num_stages: int | None = None,
) -> tuple[Float[Array, "B H"], Float[Array, "T B H"]]:
    """The GRU (either form) over time-major ``xs [T, B, I]`` with fused Pallas kernels.

    Computes exactly ``rnnax.gru(params, xs, h0, reset_after=reset_after,
    seq_lengths=lengths, reverse=reverse, time_major=True)`` (one batch axis); see the module
    docstring for the kernels and ``rnnax._pallas.lstm_pallas`` for the precision and the
    keyword arguments.

    Args:
        params: ``GRUParams`` (``w_x [I, 3H]``, ``w_h [H, 3H]``, ``b_x [3H]``, ``b_h [3H]``).
        xs: inputs ``[T, B, I]`` in the dtype of ``params``.
        h0: initial hidden state ``[B, H]``.
        lengths: optional ``[B]`` integer lengths (right padding).
        reverse: run each sequence from its last valid step back to its first.
        reset_after: ``False`` for the explainer's form, ``True`` for the cuDNN form.
        interpret, block_b, block_h, resident, num_warps, num_stages: see ``lstm_pallas``.

    Returns:
        ``(h, ys)``: the final hidden state ``[B, H]`` and ``ys [T, B, H]``.
    """
    num_steps, batch, _ = xs.shape
    hidden = h0.shape[-1]
    dtype = params.w_h.dtype
    if num_steps == 0:
        return h0, jnp.zeros((0, batch, hidden), dtype)
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
    acc = common.acc_dtype(dtype)
    xs = masked_inputs(xs, lengths)
    # Which recurrent biases fold into the one projection GEMM (see the module docstring).
    b_h = params.b_h.astype(acc)
    folded = b_h.at[2 * hidden :].set(0) if reset_after else b_h
    xw = common.input_projection(xs, params.w_x, params.b_x.astype(acc) + folded, _GATES, kplan)
    b_hn = common.pad_axis(
        b_h[2 * hidden :] if reset_after else jnp.zeros((hidden,), acc), 0, kplan.hidden
    )[None, :]
    ys, h = _recurrence(
        kplan,
        bool(reverse),
        bool(reset_after),
        xw,
        common.recurrent_weights(params.w_h, _GATES, kplan),
        b_hn,
        common.padded_state(h0, kplan),
        common.padded_lengths(lengths, kplan),
        jnp.dtype(dtype),
    )
    return h[:batch, :hidden].astype(dtype), ys[:, :batch, :hidden]
