"""The hand-written backward pass of any cell in the GEMM + pointwise form (``GemmSplit``).

For a step ``a_x = x W_x + b_x``, ``a_h = h W_h + b_h``, ``(carry, y) = pointwise(carry, a_x,
a_h)``, the forward loop keeps only the pre-activations (their sum for an additive cell) and
the carry leaves that the outputs do not already hold. The backward loop does only what is
sequential: the pointwise backward of each step, taken from the cell's own ``pointwise`` by
``jax.vjp`` (recomputing the elementwise forward from the pre-activations), and
``dh = d_a_h W_h^T``. The weight and input gradients of all steps then come out of the loop as
single GEMMs::

    dW_x = X^T dA_x,   dW_h = H_prev^T dA_h,   db = sum(dA),   dX = dA_x W_x^T

Works on time-major ``[T, B, ...]`` arrays with one batch axis; reverse-mode only.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
from jax.extend.core import Var

from rnnax._backward import previous_carries, weight_gradient
from rnnax._masking import keep, masked_inputs, step_indices, step_mask, zero_padded
from rnnax._protocol import Cell, GemmSplit, project
from rnnax._scan import scan_stacking_wide


def _output_leaves(split: GemmSplit, carry: Any, y: jax.Array) -> list[bool]:
    """Which carry leaves the output already holds: the recurrent input, when the step returns
    that very array as ``y`` (the LSTM's ``h``, the GRU's state). Those are rebuilt from
    ``ys`` instead of being stored."""
    h = split.recurrent_input(carry)
    return [leaf is h and y is h for leaf in jax.tree.leaves(carry)]


def _used_params(split: GemmSplit, params: Any, carry: Any, a: jax.Array) -> list[bool]:
    """Which parameter leaves ``pointwise`` reads: only those get a gradient in the loop."""
    flat, tree = jax.tree.flatten(params)

    def pointwise(*leaves: Any) -> Any:
        return split.pointwise(jax.tree.unflatten(tree, leaves), carry, a, a)

    jaxpr = jax.make_jaxpr(pointwise)(*flat).jaxpr
    read = {v for eqn in jaxpr.eqns for v in eqn.invars if isinstance(v, Var)}
    read |= {v for v in jaxpr.outvars if isinstance(v, Var)}
    return [v in read for v in jaxpr.invars]


def _forward(cell: Cell, params, xs, carry, lengths, reverse, unroll):
    split = cell.split
    assert split is not None
    xs = masked_inputs(xs, lengths)
    from_output: list[bool] = []

    def step(carry, inputs):
        x, t = inputs
        valid = step_mask(lengths, t)
        a_x, a_h = project(split, params, carry, x)
        new, y = split.pointwise(params, carry, a_x, a_h)
        if not from_output:
            from_output.extend(_output_leaves(split, new, y))
        kept = [
            leaf for leaf, out in zip(jax.tree.leaves(new), from_output, strict=True) if not out
        ]
        pre = a_x if split.additive else (a_x, a_h)  # additive: a_h is zero
        new = keep(valid, new, carry)
        return new, (
            zero_padded(valid, y),
            pre,
            keep(
                valid,
                kept,
                [
                    leaf
                    for leaf, out in zip(jax.tree.leaves(carry), from_output, strict=True)
                    if not out
                ],
            ),
        )

    final, (ys, pre, kept) = scan_stacking_wide(
        step, carry, (xs, step_indices(xs, lengths)), reverse=reverse, unroll=unroll
    )
    residuals = (params, xs, carry, lengths, pre, kept, ys, tuple(from_output))
    return (final, ys), residuals


def _previous(carry0, ys, kept, from_output, reverse, lengths):
    """The carry each step read, stacked ``[T, B, ...]``: from ``ys`` for the leaves the
    outputs hold, from the stored leaves for the rest."""
    leaves, tree = jax.tree.flatten(carry0)
    stored = iter(kept)
    previous = [
        previous_carries(ys if out else next(stored), leaf, reverse, lengths)
        for leaf, out in zip(leaves, from_output, strict=True)
    ]
    return jax.tree.unflatten(tree, previous)


def _backward(cell: Cell, reverse, unroll, residuals, cotangents):
    split = cell.split
    assert split is not None
    params, xs, carry0, lengths, pre, kept, ys, from_output = residuals
    d_final, d_ys = cotangents
    weights = split.weights(params)
    w_x, _, w_h, _ = weights
    w_h_t = w_h.T
    previous = _previous(carry0, ys, kept, from_output, reverse, lengths)

    flat_params, params_tree = jax.tree.flatten(params)
    a_example = pre if split.additive else pre[0]
    used = _used_params(
        split,
        params,
        carry0,
        a_example[0] if a_example.shape[0] else jnp.zeros(a_example.shape[1:], a_example.dtype),
    )
    trainable = [leaf for leaf, u in zip(flat_params, used, strict=True) if u]

    def pointwise(leaves, carry, a_x, a_h):
        it = iter(leaves)
        full = [next(it) if u else leaf for leaf, u in zip(flat_params, used, strict=True)]
        return split.pointwise(jax.tree.unflatten(params_tree, full), carry, a_x, a_h)

    def step(state, inputs):
        d_carry, d_leaves = state
        d_y, pre_t, prev, t = inputs
        valid = step_mask(lengths, t)
        a_x, a_h = (pre_t, jnp.zeros_like(pre_t)) if split.additive else pre_t
        _, vjp = jax.vjp(pointwise, trainable, prev, a_x, a_h)
        # Padded steps contribute nothing: zero their cotangents before the pointwise backward,
        # which sums the batch into the gradients of the pointwise parameters.
        d_step, d_prev, d_a_x, d_a_h = vjp((zero_padded(valid, d_carry), zero_padded(valid, d_y)))
        _, read_vjp = jax.vjp(split.recurrent_input, prev)
        (d_read,) = read_vjp(d_a_h @ w_h_t)
        d_prev = jax.tree.map(jnp.add, d_prev, d_read)
        d_a_x, d_a_h = zero_padded(valid, d_a_x), zero_padded(valid, d_a_h)
        d_leaves = jax.tree.map(jnp.add, d_leaves, d_step)
        out = d_a_x if split.additive else (d_a_x, d_a_h)
        return (keep(valid, d_prev, d_carry), d_leaves), out

    zeros = [jnp.zeros_like(leaf) for leaf in trainable]
    (d_carry0, d_leaves), d_pre = scan_stacking_wide(
        step,
        (d_final, zeros),
        (d_ys, pre, previous, step_indices(xs, lengths)),
        reverse=not reverse,
        unroll=unroll,
    )
    d_a_x, d_a_h = (d_pre, d_pre) if split.additive else d_pre
    h_prev = split.recurrent_input(previous)
    _, weights_vjp = jax.vjp(split.weights, params)
    d_weights = (
        weight_gradient(xs, d_a_x),
        None if weights[1] is None else d_a_x.sum(axis=(0, 1)),
        weight_gradient(h_prev, d_a_h),
        None if weights[3] is None else d_a_h.sum(axis=(0, 1)),
    )
    (d_params,) = weights_vjp(d_weights)
    it = iter(d_leaves)
    d_flat = [
        d + next(it) if u else d for d, u in zip(jax.tree.leaves(d_params), used, strict=True)
    ]
    d_params = jax.tree.unflatten(params_tree, d_flat)
    return d_params, d_a_x @ w_x.T, d_carry0, None


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 5, 6))
def split_custom_vjp(
    cell: Cell,
    params: Any,
    xs: jax.Array,
    carry: Any,
    lengths: jax.Array | None,
    reverse: bool,
    unroll: int | bool,
) -> tuple[Any, jax.Array]:
    """Runs a ``GemmSplit`` cell over time-major ``xs [T, B, I]`` with the generic hand-written
    VJP; returns ``(final carry, ys)``."""
    return _forward(cell, params, xs, carry, lengths, reverse, unroll)[0]


split_custom_vjp.defvjp(
    lambda cell, params, xs, carry, lengths, reverse, unroll: _forward(
        cell, params, xs, carry, lengths, reverse, unroll
    ),
    _backward,
)
