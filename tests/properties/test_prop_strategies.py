"""Properties of the fast paths: every strategy, ``unroll`` and ``remat_chunk`` computes the
plain scan's function, in values and in gradients; forward and reverse mode agree; padding is
inert for every strategy."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import rnnax
from tests.properties.strategies import (
    FAST_STRATEGIES,
    Problem,
    assert_close,
    assert_equal,
    problems,
    property_settings,
    run_core,
)


def _vjp(problem: Problem, **overrides):
    """``(params, xs, carry, lengths) -> ((final, ys), grads)``: the VJP of the problem's
    fixed random cotangents, with respect to parameters, inputs and initial carry."""
    cotangents = problem.cotangents()

    def vjp(params, xs, carry, lengths):
        def call(params, xs, carry):
            return run_core(
                problem.kind, params, xs, carry, **problem.options(seq_lengths=lengths, **overrides)
            )

        out, pullback = jax.vjp(call, params, xs, carry)
        return out, pullback(cotangents)

    return vjp


def _args(problem: Problem, xs=None):
    return (problem.params, problem.xs if xs is None else xs, problem.carry, problem.lengths)


# What runs instead of the plain scan: a strategy, with or without ``unroll`` (steps per loop
# iteration, dividing T or not, or all of them). The Pallas kernels run in interpret mode off
# GPU ("cudnn" is GPU-only and float32-only, so it is not drawn here).
VARIANTS = (
    *({"strategy": strategy} for strategy in FAST_STRATEGIES),
    {"strategy": "scan", "unroll": 2},
    {"strategy": "scan", "unroll": True},
    {"strategy": "remat", "unroll": 3},
    {"strategy": "custom_vjp", "unroll": 2},
)


@property_settings(15)
@given(problem=problems(), variant=st.sampled_from(VARIANTS))
def test_fast_paths_equal_the_plain_scan_in_values_and_gradients(problem, variant):
    """``custom_vjp``, ``remat``, ``auto`` (and ``pallas``) and ``unroll`` against the plain
    scan: outputs, final carries and the gradients for parameters, inputs and initial carry, to
    the dtype's precision."""

    @jax.jit
    def both(*args):
        return _vjp(problem, strategy="scan")(*args), _vjp(problem, **variant)(*args)

    (out_scan, grads_scan), (out_fast, grads_fast) = both(*_args(problem))
    assert_close(out_fast, out_scan, problem.dtype, err_msg=str(variant))
    assert_close(grads_fast, grads_scan, problem.dtype, grad=True, err_msg=str(variant))


@property_settings(6)
@given(problem=problems(dtypes=(jnp.float32,)), strategy=st.sampled_from(("scan", "remat")))
def test_forward_mode_equals_reverse_mode(problem, strategy):
    """For the strategies with forward-mode AD: ``<jvp(t), c> == <t, vjp(c)>`` for random
    tangents ``t`` of (params, xs, carry) and cotangents ``c`` of (final, ys)."""
    rng = np.random.default_rng(problem.seed + 2)
    carry = (
        problem.carry
        if problem.carry is not None
        else jax.tree.map(jnp.zeros_like, problem.cotangents()[0])
    )
    primals = (problem.params, problem.xs, carry)
    tangents = jax.tree.map(
        lambda leaf: jnp.asarray(rng.normal(size=leaf.shape).astype(np.float32)), primals
    )
    cotangents = problem.cotangents()

    @jax.jit
    def modes(primals, tangents):
        def call(params, xs, carry):
            return run_core(problem.kind, params, xs, carry, **problem.options(strategy=strategy))

        _, out_tangent = jax.jvp(call, primals, tangents)
        _, pullback = jax.vjp(call, *primals)
        return out_tangent, pullback(cotangents)

    out_tangent, in_cotangent = modes(primals, tangents)

    def inner(a, b):
        products = [
            np.asarray(x, np.float64) * np.asarray(y, np.float64)
            for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)
        ]
        return sum(p.sum() for p in products), sum(np.abs(p).sum() for p in products)

    forward, scale_f = inner(out_tangent, cotangents)
    reverse, scale_r = inner(tangents, in_cotangent)
    np.testing.assert_allclose(forward, reverse, rtol=1e-4, atol=1e-5 * max(scale_f, scale_r))


@property_settings(8)
@given(
    problem=problems(lengths=True),
    strategy=st.sampled_from(("scan", *FAST_STRATEGIES)),
    poison=st.sampled_from((np.nan, np.inf, 1e4)),
)
def test_padding_is_inert_for_every_strategy(problem, strategy, poison):
    """NaN, infinity or huge values at padded steps change no value and no gradient (bit for
    bit), and padded inputs get exactly zero gradient."""
    padded = ~problem.valid()
    mask = padded if not problem.time_major else np.moveaxis(padded, -1, 0)
    poisoned = jnp.where(
        jnp.asarray(mask[..., None]), jnp.asarray(poison, problem.dtype), problem.xs
    )
    vjp = jax.jit(_vjp(problem, strategy=strategy))
    clean = vjp(*_args(problem))
    dirty = vjp(*_args(problem, poisoned))
    assert_equal(dirty, clean)
    d_xs = np.asarray(dirty[1][1].astype(jnp.float32))
    assert np.all(d_xs[mask] == 0.0)


@property_settings(6)
@given(problem=problems(kinds=("gru", "lstm"), dtypes=(jnp.float32,)), data=st.data())
def test_scan_cell_remat_chunks_equal_the_plain_scan(problem, data):
    """``scan_cell(remat_chunk=k)`` for any ``k`` (dividing ``T`` or not, larger than ``T``)
    equals ``scan_cell`` without chunks, in values and gradients."""
    chunk = data.draw(st.integers(1, problem.num_steps + 2), label="remat_chunk")
    cell = rnnax.lstm_cell if problem.kind == "lstm" else rnnax.gru_cell
    carry = (
        problem.carry
        if problem.carry is not None
        else jax.tree.map(jnp.zeros_like, problem.cotangents()[0])
    )
    cotangents = problem.cotangents()

    def vjp(remat_chunk, params, xs, carry):
        def call(params, xs, carry):
            return rnnax.scan_cell(
                cell, params, xs, carry, remat_chunk=remat_chunk, **problem.options()
            )

        out, pullback = jax.vjp(call, params, xs, carry)
        return out, pullback(cotangents)

    both = jax.jit(lambda *args: (vjp(None, *args), vjp(chunk, *args)))
    plain, chunked = both(problem.params, problem.xs, carry)
    assert_close(chunked, plain, problem.dtype, grad=True)
