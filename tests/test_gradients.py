"""Gradients and transformations: finite differences, padding, jit, vmap, grad, recompilation."""

from __future__ import annotations

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import rnnax
from tests.test_cores import KINDS, make_case, run_core


def loss_fn(kind, params, xs, carry, **kwargs):
    final, ys = run_core(kind, params, xs, carry, **kwargs)
    h = final.h if kind == "lstm" else final
    return jnp.sum(ys**2) + jnp.sum(jnp.sin(h))


def make_float64_case(rng, kind):
    """A ``make_case`` in float64, for finite differences; call inside ``jax.enable_x64``."""
    params, xs, carry = make_case(rng, kind, (3,))
    return jax.tree.map(lambda leaf: jnp.asarray(leaf, jnp.float64), (params, xs, carry))


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_gradients_match_finite_differences(rng, kind, reverse):
    with jax.enable_x64(True):
        params, xs, carry = make_float64_case(rng, kind)
        lengths = jnp.array([6, 2, 0], jnp.int32)
        # The scan strategy: forward mode too (custom_vjp has its own checks, reverse only).
        f = functools.partial(loss_fn, kind, seq_lengths=lengths, reverse=reverse, strategy="scan")
        check_grads(
            f, (params, xs, carry), order=1, modes=["fwd", "rev"], atol=1e-5, rtol=1e-5, eps=1e-6
        )
        # Second derivatives (Hessian-vector products, as in meta-learning or Newton methods):
        # finite differences of a gradient are less accurate, hence the looser tolerance.
        check_grads(f, (params, xs, carry), order=2, modes=["rev"], atol=1e-4, rtol=1e-4, eps=1e-5)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_padded_inputs_have_no_effect(rng, kind, reverse):
    params, xs, carry = make_case(rng, kind, (3,))
    lengths = jnp.array([6, 2, 0], jnp.int32)
    padded = np.arange(6) >= np.asarray(lengths)[:, None]
    xs = jnp.asarray(xs)
    poisoned = jnp.where(jnp.asarray(padded)[..., None], jnp.nan, xs)
    f = functools.partial(loss_fn, kind, seq_lengths=lengths, reverse=reverse)
    value, grads = jax.value_and_grad(f, argnums=(0, 1, 2))(params, xs, carry)
    value_p, grads_p = jax.value_and_grad(f, argnums=(0, 1, 2))(params, poisoned, carry)
    assert np.isfinite(value_p) and value == value_p
    jax.tree.map(np.testing.assert_array_equal, grads, grads_p)
    d_xs = np.asarray(grads[1])
    assert np.all(d_xs[padded] == 0.0), "padded inputs must get exactly zero gradient"
    assert np.all(np.isfinite(d_xs)) and np.abs(d_xs[~padded]).sum() > 0


@pytest.mark.parametrize("kind", KINDS)
def test_jit_vmap_grad_agree_with_eager(rng, kind):
    params, xs, carry = make_case(rng, kind, (4,))
    xs = jnp.asarray(xs)
    eager = run_core(kind, params, xs, carry)
    jitted = jax.jit(functools.partial(run_core, kind))(params, xs, carry)
    chex.assert_trees_all_close(eager, jitted, rtol=1e-6, atol=1e-6)
    # vmap over the batch axis equals native batching (the cell sees no batch axis).
    vmapped = jax.vmap(functools.partial(run_core, kind), in_axes=(None, 0, 0))(params, xs, carry)
    chex.assert_trees_all_close(eager, vmapped, rtol=1e-6, atol=1e-6)
    # vmap over parameters (an ensemble) equals running each member alone.
    stacked = jax.tree.map(lambda leaf: jnp.stack([leaf, 0.5 * leaf]), params)
    ensemble = jax.vmap(functools.partial(run_core, kind), in_axes=(0, None, None))(
        stacked, xs, carry
    )
    halved = run_core(kind, jax.tree.map(lambda leaf: 0.5 * leaf, params), xs, carry)
    np.testing.assert_allclose(ensemble[1][1], halved[1], rtol=1e-6, atol=1e-6)
    grads = jax.jit(jax.grad(functools.partial(loss_fn, kind)))(params, xs, carry)
    assert all(bool(jnp.isfinite(g).all()) for g in jax.tree.leaves(grads))


@pytest.mark.parametrize("kind", KINDS)
def test_no_recompilation_for_the_same_shapes(rng, kind):
    traces = []

    @jax.jit
    def step(params, xs, lengths):
        traces.append(1)
        return jax.grad(loss_fn, argnums=1)(kind, params, xs, None, seq_lengths=lengths)

    params, xs, _ = make_case(rng, kind, (3,))
    lengths = jnp.array([6, 2, 0], jnp.int32)
    step(params, jnp.asarray(xs), lengths)
    step(params, jnp.asarray(xs) + 1.0, jnp.array([1, 1, 1], jnp.int32))
    assert len(traces) == 1


def test_seq_lengths_under_jit_clip_out_of_range_values(rng):
    """Traced lengths can't be range-checked; they act as clipped to [0, T] (documented)."""
    params, xs, _ = make_case(rng, "gru", (2,))
    f = jax.jit(lambda lengths: rnnax.gru(params, jnp.asarray(xs), seq_lengths=lengths))
    over = f(jnp.array([99, -5], jnp.int32))
    clipped = f(jnp.array([6, 0], jnp.int32))
    jax.tree.map(np.testing.assert_array_equal, over, clipped)
