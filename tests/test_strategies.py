"""Every strategy computes the same function: values and gradients equal the plain scan's, and
the hand-written VJPs pass finite-difference checks."""

from __future__ import annotations

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import rnnax
from tests.test_cores import KINDS, make_case
from tests.test_gradients import loss_fn, make_float64_case

LENGTHS = jnp.array([6, 2, 0], jnp.int32)


@pytest.mark.parametrize("strategy", ["custom_vjp", "remat"])
@pytest.mark.parametrize("time_major", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("with_lengths", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_fast_path_gradients_equal_scan_gradients(
    rng, kind, with_lengths, reverse, time_major, strategy
):
    params, xs, carry = make_case(rng, kind, (3,))
    xs = jnp.asarray(xs)
    if time_major:
        xs = jnp.moveaxis(xs, -2, 0)
    kwargs = dict(
        seq_lengths=LENGTHS if with_lengths else None, reverse=reverse, time_major=time_major
    )
    scan = jax.value_and_grad(
        functools.partial(loss_fn, kind, strategy="scan", **kwargs), argnums=(0, 1, 2)
    )(params, xs, carry)
    fused = jax.value_and_grad(
        functools.partial(loss_fn, kind, strategy=strategy, **kwargs), argnums=(0, 1, 2)
    )(params, xs, carry)
    chex.assert_trees_all_close(scan, fused, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_custom_vjp_check_grads(rng, kind, reverse):
    with jax.enable_x64(True):
        params, xs, carry = make_float64_case(rng, kind)
        for lengths in (None, LENGTHS):
            f = functools.partial(
                loss_fn, kind, seq_lengths=lengths, reverse=reverse, strategy="custom_vjp"
            )
            check_grads(
                f, (params, xs, carry), order=1, modes=["rev"], atol=1e-5, rtol=1e-5, eps=1e-6
            )
        # Reverse-over-reverse (Hessian-vector products) differentiates the backward pass.
        check_grads(f, (params, xs, carry), order=2, modes=["rev"], atol=1e-4, rtol=1e-4, eps=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_custom_vjp_padded_inputs_have_no_effect(rng, kind):
    params, xs, carry = make_case(rng, kind, (3,))
    padded = np.arange(6) >= np.asarray(LENGTHS)[:, None]
    poisoned = jnp.where(jnp.asarray(padded)[..., None], jnp.nan, jnp.asarray(xs))
    f = functools.partial(loss_fn, kind, seq_lengths=LENGTHS, strategy="custom_vjp")
    clean = jax.grad(f, argnums=(0, 1, 2))(params, jnp.asarray(xs), carry)
    dirty = jax.grad(f, argnums=(0, 1, 2))(params, poisoned, carry)
    jax.tree.map(np.testing.assert_array_equal, clean, dirty)
    assert np.all(np.asarray(dirty[1])[padded] == 0.0)


@pytest.mark.parametrize("batch_shape", [(), (2, 3)])
@pytest.mark.parametrize("kind", KINDS)
def test_custom_vjp_batch_axes_vmap_and_bfloat16(rng, kind, batch_shape):
    params, xs, carry = make_case(rng, kind, batch_shape)
    xs = jnp.asarray(xs)
    grad = jax.grad(functools.partial(loss_fn, kind, strategy="custom_vjp"), argnums=(0, 1))
    expected = jax.grad(functools.partial(loss_fn, kind, strategy="scan"), argnums=(0, 1))
    chex.assert_trees_all_close(
        grad(params, xs, carry), expected(params, xs, carry), rtol=1e-5, atol=1e-5
    )
    if batch_shape:
        per_example = jax.vmap(grad, in_axes=(None, 0, 0))(params, xs, carry)
        batched = jax.vmap(expected, in_axes=(None, 0, 0))(params, xs, carry)
        chex.assert_trees_all_close(per_example, batched, rtol=1e-5, atol=1e-5)
    to_bf16 = functools.partial(jax.tree.map, lambda leaf: leaf.astype(jnp.bfloat16))
    grads16 = jax.jit(grad)(to_bf16(params), xs.astype(jnp.bfloat16), to_bf16(carry))
    assert all(bool(jnp.isfinite(g).all()) for g in jax.tree.leaves(grads16))


def test_stacks_pass_the_strategy_through(rng):
    layers = rnnax.gru_stack_init(jax.random.key(0), 3, 4, num_layers=2, bidirectional=True)
    xs = jnp.asarray(rng.normal(size=(2, 5, 3)), jnp.float32)

    def loss(layers, strategy):
        return jnp.sum(rnnax.gru_stack(layers, xs, strategy=strategy)[1] ** 2)

    chex.assert_trees_all_close(
        jax.grad(loss)(layers, "scan"), jax.grad(loss)(layers, "custom_vjp"), rtol=1e-5, atol=1e-6
    )


def test_unknown_strategy():
    params = rnnax.lstm_init(jax.random.key(0), 3, 4)
    with pytest.raises(
        ValueError,
        match=r"strategy must be one of \('auto', 'scan', "
        r"'custom_vjp', 'remat', 'pallas', 'cudnn', 'parallel', 'native'\), "
        r"got 'fast'",
    ):
        rnnax.lstm(params, jnp.ones((2, 5, 3)), strategy="fast")


@pytest.mark.parametrize("num_steps, chunk", [(7, 3), (9, 3), (5, 1), (4, 10)])
def test_scan_cell_remat_chunks_equal_plain_scan(rng, num_steps, chunk):
    """Chunks that do and don't divide T (the padded tail must not move the carry)."""
    params = rnnax.gru_init(jax.random.key(0), 3, 4)
    xs = jnp.asarray(rng.normal(size=(2, num_steps, 3)), jnp.float32)
    lengths = jnp.array([num_steps, 2], jnp.int32)
    for seq_lengths in (None, lengths):
        for reverse in (False, True):

            def loss(params, xs, remat_chunk):
                h, ys = rnnax.scan_cell(
                    rnnax.gru_cell,
                    params,
                    xs,
                    jnp.zeros((2, 4)),
                    seq_lengths=seq_lengths,
                    reverse=reverse,
                    remat_chunk=remat_chunk,
                )
                return jnp.sum(ys**2) + jnp.sum(h)

            # Jitted (one compilation each) rather than eager: op-by-op autodiff of a scan
            # dispatches every primitive separately and is several times slower here.
            value_and_grad = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)), static_argnums=2)
            plain = value_and_grad(params, xs, None)
            chunked = value_and_grad(params, xs, chunk)
            chex.assert_trees_all_close(plain, chunked, rtol=1e-6, atol=1e-6)


def test_remat_backward_memory_grows_like_sqrt_t():
    """XLA's own buffer accounting (not a timing): 16x the steps costs ~16x memory with the
    plain scan and ~sqrt(16) = 4x with "remat"."""
    params = rnnax.lstm_init(jax.random.key(0), 4, 32)

    def temp_bytes(strategy, num_steps):
        grad = jax.jit(jax.grad(lambda p, xs: jnp.sum(rnnax.lstm(p, xs, strategy=strategy)[0].h)))
        xs = jax.ShapeDtypeStruct((8, num_steps, 4), jnp.float32)
        return grad.lower(params, xs).compile().memory_analysis().temp_size_in_bytes

    scan_growth = temp_bytes("scan", 16000) / temp_bytes("scan", 1000)
    remat_growth = temp_bytes("remat", 16000) / temp_bytes("remat", 1000)
    assert scan_growth > 12, scan_growth
    assert remat_growth < 8, remat_growth
    assert temp_bytes("remat", 16000) < temp_bytes("scan", 16000) / 20


def test_unknown_remat_chunk():
    with pytest.raises(ValueError, match="remat_chunk must be a positive int, got 0"):
        rnnax.scan_cell(
            rnnax.gru_cell,
            rnnax.gru_init(jax.random.key(0), 3, 4),
            jnp.ones((5, 3)),
            jnp.zeros(4),
            remat_chunk=0,
        )


def test_auto_on_cpu_picks_per_cell_and_scan_serves_forward_mode(rng):
    from rnnax._strategies import resolve_strategy

    # The test suite runs on CPU, where the benchmarks measured these fastest (the native loop
    # where it is installed, else the custom VJP).
    fastest = "native" if "native" in rnnax.available_strategies("lstm") else "custom_vjp"
    assert resolve_strategy("auto", "lstm") == fastest
    assert resolve_strategy("auto", "gru") == fastest
    params, xs, carry = make_case(rng, "lstm", (2,))
    tangent = jax.tree.map(jnp.ones_like, params)
    f = functools.partial(loss_fn, "lstm", xs=jnp.asarray(xs), carry=carry, strategy="scan")
    _, directional = jax.jvp(f, (params,), (tangent,))
    reverse = jax.grad(functools.partial(loss_fn, "lstm", xs=jnp.asarray(xs), carry=carry))(params)
    expected = sum(jnp.sum(g) for g in jax.tree.leaves(reverse))
    np.testing.assert_allclose(directional, expected, rtol=1e-4)


def test_auto_uses_the_custom_vjp_for_bfloat16_on_cpu():
    from rnnax._strategies import _auto_for_dtype, resolve_strategy

    if jax.default_backend() != "cpu":
        pytest.skip("the bfloat16 choice was measured on CPU")
    native = "native" in rnnax.available_strategies("lstm")
    for cell in (rnnax.LSTM, rnnax.GRU, rnnax.GRU_RESET_AFTER):
        chosen = resolve_strategy("auto", cell)
        # bfloat16: the native loop where it is installed, else the custom VJP.
        narrow = "native" if native else "custom_vjp"
        assert _auto_for_dtype(chosen, "auto", jnp.bfloat16, cell) == narrow
        assert _auto_for_dtype(chosen, "auto", jnp.float16, cell) == "custom_vjp"
        assert _auto_for_dtype(chosen, "auto", jnp.float32, cell) == chosen
    # An explicit choice stands.
    assert _auto_for_dtype("scan", "scan", jnp.bfloat16, rnnax.LSTM) == "scan"
