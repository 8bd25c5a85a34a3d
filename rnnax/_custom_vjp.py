"""Hand-written backward passes for both GRU forms (their ``"custom_vjp"`` strategy).

The LSTM's is the generic one (``rnnax._generic_vjp``, from its ``GemmSplit``), which measured
faster than the tuned LSTM kernel that used to live here. The GRUs keep theirs: the explainer's
form is not of the GEMM + pointwise form (the reset gate scales ``h`` before the candidate's
product), and for the reset-after form the generic pass is 1.04-1.10x slower and keeps 1.45x
the temporaries (``benchmarks/results/cpu-2core/custom-vjp/``).

Autodiff through ``lax.scan`` stores every intermediate of every step and, in the backward loop,
computes the weight gradients one step at a time (``T`` small ``[B, H]^T @ [B, 3H]`` products).
Here the forward pass keeps only the gate activations, and the backward loop does only what is
inherently sequential, ``dh = dA @ W_h^T``; the weight and input gradients then come out of the
loop as single large GEMMs over all steps::

    dW_x = X^T dA,   dW_h = H_prev^T dA,   db = sum(dA),   dX = dA @ W_x^T

All functions here work on time-major ``[T, B, ...]`` arrays with exactly one batch axis; the
public cores flatten and restore the batch axes around them. Reverse-mode only (``jax.jvp``
through a ``custom_vjp`` is not defined); second-order reverse mode works.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from rnnax._backward import previous_carries, previous_carry_at, weight_gradient
from rnnax._masking import keep, masked_inputs, step_indices, step_mask, zero_padded
from rnnax._params import GRUParams
from rnnax._scan import scan_stacking_wide


def _bias(bias: jax.Array) -> jax.Array:
    return bias[None, :]


# ---------------------------------------------------------------------------------------- GRU


def _gru_forward(
    params: GRUParams,
    xs: jax.Array,
    h0: jax.Array,
    lengths: jax.Array | None,
    reverse: bool,
    reset_after: bool,
    unroll: int | bool,
):
    xs = masked_inputs(xs, lengths)
    hidden = h0.shape[-1]
    zr = 2 * hidden
    b_x, b_h = _bias(params.b_x), _bias(params.b_h)

    def step(h, inputs):
        x, t = inputs
        valid = step_mask(lengths, t)
        ax_z, ax_r, ax_n = jnp.split(x @ params.w_x + b_x, 3, axis=-1)
        if reset_after:
            ah_z, ah_r, ah_n = jnp.split(h @ params.w_h + b_h, 3, axis=-1)
            z, r = jax.nn.sigmoid(ax_z + ah_z), jax.nn.sigmoid(ax_r + ah_r)
            n = jnp.tanh(ax_n + r * ah_n)
            # The candidate's recurrent pre-activation is needed for dr.
            saved = ah_n
        else:
            ah_z, ah_r = jnp.split(h @ params.w_h[:, :zr] + b_h[:, :zr], 2, axis=-1)
            z, r = jax.nn.sigmoid(ax_z + ah_z), jax.nn.sigmoid(ax_r + ah_r)
            n = jnp.tanh(ax_n + (r * h) @ params.w_h[:, zr:] + b_h[:, zr:])
            saved = jnp.zeros((h.shape[0], 0), h.dtype)
        h_new = (1 - z) * h + z * n
        gates = jnp.concatenate([z, r, n, saved], axis=-1)
        return keep(valid, h_new, h), (zero_padded(valid, h_new), gates)

    h, (ys, gates) = scan_stacking_wide(
        step, h0, (xs, step_indices(xs, lengths)), reverse=reverse, unroll=unroll
    )
    return (h, ys), (params, xs, h0, lengths, gates, ys)


def _gru_backward(reverse: bool, reset_after: bool, unroll: int | bool, residuals, cotangents):
    params, xs, h0, lengths, gates, ys = residuals
    d_h_final, d_ys = cotangents
    hidden = h0.shape[-1]
    zr = 2 * hidden
    w_h_t = params.w_h.T
    w_hzr_t, w_hn_t = params.w_h[:, :zr].T, params.w_h[:, zr:].T

    def step(d_h, inputs):
        d_y, gate, t = inputs
        valid = step_mask(lengths, t)
        # The carry this step read, indexed out of ys rather than stacked beforehand: one
        # [T, B, H] buffer less while the loop's gradients are being stacked.
        h = previous_carry_at(ys, h0, t, reverse, lengths)
        z, r, n = gate[:, :hidden], gate[:, hidden:zr], gate[:, zr : 3 * hidden]
        d_h_total = d_h + d_y
        d_z_pre = d_h_total * (n - h) * z * (1 - z)
        d_n_pre = d_h_total * z * (1 - n * n)
        d_h_direct = d_h_total * (1 - z)
        # d_a_h equals d_a_x but for the candidate's block with reset_after (r * d_n_pre
        # there): the loop emits d_a_x, and that block alone, instead of two [T, B, 3H] stacks.
        if reset_after:
            ah_n = gate[:, 3 * hidden :]
            d_ah_n = d_n_pre * r
            d_r_pre = d_n_pre * ah_n * r * (1 - r)
            d_ah = jnp.concatenate([d_z_pre, d_r_pre, d_ah_n], axis=-1)
            d_h_prev = d_h_direct + d_ah @ w_h_t
        else:
            d_rh = d_n_pre @ w_hn_t
            d_r_pre = d_rh * h * r * (1 - r)
            d_ah_n = d_n_pre[:, :0]  # nothing extra: d_a_h is d_a_x
            d_h_prev = (
                d_h_direct + d_rh * r + jnp.concatenate([d_z_pre, d_r_pre], axis=-1) @ w_hzr_t
            )
        d_ax = jnp.concatenate([d_z_pre, d_r_pre, d_n_pre], axis=-1)
        d_ax, d_ah_n = zero_padded(valid, d_ax), zero_padded(valid, d_ah_n)
        return keep(valid, d_h_prev, d_h), (d_ax, d_ah_n)

    d_h0, (d_ax, d_ah_n) = scan_stacking_wide(
        step,
        d_h_final,
        (d_ys, gates, step_indices(xs, lengths)),
        reverse=not reverse,
        unroll=unroll,
    )
    h_prev = previous_carries(ys, h0, reverse, lengths)
    d_azr = d_ax[..., :zr]
    if reset_after:
        d_w_h_n = weight_gradient(h_prev, d_ah_n)
        d_b_h_n = d_ah_n.sum(axis=(0, 1))
    else:
        # The candidate's recurrent product reads r * h, so its weight gradient does too.
        reset_h = gates[..., hidden:zr] * h_prev
        d_w_h_n = weight_gradient(reset_h, d_ax[..., zr:])
        d_b_h_n = d_ax[..., zr:].sum(axis=(0, 1))
    d_params = type(params)(
        w_x=weight_gradient(xs, d_ax),
        w_h=jnp.concatenate([weight_gradient(h_prev, d_azr), d_w_h_n], axis=-1),
        b_x=d_ax.sum(axis=(0, 1)),
        b_h=jnp.concatenate([d_azr.sum(axis=(0, 1)), d_b_h_n], axis=-1),
    )
    return d_params, d_ax @ params.w_x.T, d_h0, None


@functools.partial(jax.custom_vjp, nondiff_argnums=(4, 5, 6))
def gru_custom_vjp(
    params: GRUParams,
    xs: jax.Array,
    h0: jax.Array,
    lengths: jax.Array | None,
    reverse: bool,
    reset_after: bool,
    unroll: int | bool = 1,
) -> tuple[jax.Array, jax.Array]:
    """GRU over time-major ``xs [T, B, I]`` with a hand-written VJP; returns ``(h, ys)``."""
    return _gru_forward(params, xs, h0, lengths, reverse, reset_after, unroll)[0]


gru_custom_vjp.defvjp(
    lambda params, xs, h0, lengths, reverse, reset_after, unroll: _gru_forward(
        params, xs, h0, lengths, reverse, reset_after, unroll
    ),
    _gru_backward,
)
