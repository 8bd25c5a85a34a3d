"""The fused Pallas kernels (``strategy="pallas"``, ``rnnax._pallas``) compute the same function
as the scan: values, final carries and gradients, against the scan and the float64 reference,
with lengths, reverse, both GRU forms, bfloat16, several hidden tiles and ``w_h`` reloaded
every step. Off-GPU the kernels run in Pallas interpret mode (small shapes: it is slow), and
their lowering to Triton IR is checked too, so a kernel Triton cannot take fails here, not
first on a GPU. On a GPU the compiled kernels are also checked at a larger shape."""

from __future__ import annotations

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import rnnax
from rnnax._pallas import gru_pallas, lstm_pallas, plan
from tests.test_cores import KINDS, make_case, reference_run, run_core

LENGTHS = jnp.array([6, 2, 0], jnp.int32)
# Interpret mode (off-GPU) turns each kernel into a large XLA program whose LLVM optimization
# takes most of this file's time (about 3x the rest); the values do not depend on it. On a GPU
# the kernels are Triton's and XLA compiles as usual.
_jit = (
    jax.jit
    if jax.default_backend() == "gpu"
    else functools.partial(jax.jit, compiler_options={"xla_backend_optimization_level": 0})
)
on_gpu = pytest.mark.skipif(jax.default_backend() != "gpu", reason="needs a GPU (Triton)")


@pytest.fixture(autouse=True)
def _full_float32_products():
    """Exact float32 products everywhere: on a GPU, JAX's default precision lets XLA, Triton
    and cuDNN round float32 operands to TF32, each in its own way (a no-op on CPU)."""
    with jax.default_matmul_precision("highest"):
        yield


def _final_h(kind, final):
    return final.h if kind == "lstm" else final


def _loss_and_outputs(kind, strategy, params, xs, carry, **kwargs):
    final, ys = run_core(kind, params, xs, carry, strategy=strategy, **kwargs)
    h = _final_h(kind, final)
    loss = jnp.sum((ys**2).astype(h.dtype if h.dtype != jnp.bfloat16 else jnp.float32))
    loss = loss + jnp.sum(jnp.sin(h))
    if kind == "lstm":
        loss = loss + jnp.sum(final.c**2)  # a cotangent for the final c too
    return loss, (final, ys)


def _value_grad_outputs(kind, strategy, **kwargs):
    """One compile: the loss, its gradients w.r.t. params, xs and carry, and the outputs."""
    return _jit(
        jax.value_and_grad(
            functools.partial(_loss_and_outputs, kind, strategy, **kwargs),
            argnums=(0, 1, 2),
            has_aux=True,
        )
    )


# The masking and reverse logic is shared by the three kernels (rnnax._pallas._common), and
# interpret mode compiles slowly, so each kernel gets one or two combinations here and the
# tests below add the others: lengths going forward (two tiles), lengths in reverse
# (finite differences, forward-only kernel) and reverse without lengths (vmap).
CASES = [
    ("lstm", False, False),
    ("lstm", True, True),
    ("gru", True, True),
    ("gru_reset_after", False, False),
]


@pytest.mark.parametrize("kind, with_lengths, reverse", CASES)
def test_values_and_gradients_equal_scan_and_reference(rng, kind, with_lengths, reverse):
    params, xs, carry = make_case(rng, kind, (3,))
    lengths = LENGTHS if with_lengths else None
    kwargs = dict(seq_lengths=lengths, reverse=reverse)
    (loss, (final, ys)), grads = _value_grad_outputs(kind, "pallas", **kwargs)(
        params, jnp.asarray(xs), carry
    )

    h_ref, c_ref, ys_ref = reference_run(kind, params, xs, carry, lengths, reverse)
    np.testing.assert_allclose(ys, ys_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_final_h(kind, final), h_ref, rtol=1e-5, atol=1e-6)
    if kind == "lstm":
        np.testing.assert_allclose(final.c, c_ref, rtol=1e-5, atol=1e-6)

    (loss_s, _), grads_s = _value_grad_outputs(kind, "scan", **kwargs)(
        params, jnp.asarray(xs), carry
    )
    chex.assert_trees_all_close((loss, grads), (loss_s, grads_s), rtol=1e-5, atol=1e-5)

    if with_lengths:
        # Padded inputs are never read: NaN there changes no value and no gradient.
        padded = np.arange(6) >= np.asarray(LENGTHS)[:, None]
        poisoned = jnp.where(jnp.asarray(padded)[..., None], jnp.nan, jnp.asarray(xs))
        (loss_p, _), grads_p = _value_grad_outputs(kind, "pallas", **kwargs)(
            params, poisoned, carry
        )
        assert loss_p == loss
        jax.tree.map(np.testing.assert_array_equal, grads_p, grads)


@pytest.mark.parametrize("kind", KINDS)
def test_forward_only_kernel_and_batch_axes(rng, kind):
    """Without differentiation the forward kernel stores no residuals: its own code path.
    Two batch axes and time-major input exercise the flattening around the kernel."""
    params, xs, carry = make_case(rng, kind, (2, 3))
    lengths = jnp.array([[6, 2, 0], [1, 5, 6]], jnp.int32)
    core = _jit(
        functools.partial(
            run_core, kind, seq_lengths=lengths, reverse=True, time_major=True, strategy="pallas"
        )
    )
    final, ys = core(params, jnp.moveaxis(jnp.asarray(xs), -2, 0), carry)
    h_ref, c_ref, ys_ref = reference_run(kind, params, xs, carry, lengths, True)
    np.testing.assert_allclose(jnp.moveaxis(ys, 0, -2), ys_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_final_h(kind, final), h_ref, rtol=1e-5, atol=1e-6)
    if kind == "lstm":
        np.testing.assert_allclose(final.c, c_ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_check_grads_float64(rng, kind):
    """Finite differences against the hand-written VJP (reverse mode, first order)."""
    with jax.enable_x64(True):
        params, xs, carry = make_case(rng, kind, (2,))
        params, xs, carry = jax.tree.map(
            lambda leaf: jnp.asarray(leaf, jnp.float64), (params, xs, carry)
        )
        f = functools.partial(
            lambda *args, **kwargs: _loss_and_outputs(*args, **kwargs)[0],
            kind,
            "pallas",
            seq_lengths=jnp.array([6, 3], jnp.int32),
            reverse=True,
        )
        check_grads(f, (params, xs, carry), order=1, modes=("rev",), atol=1e-5, rtol=1e-5, eps=1e-6)


def _direct(kind, params, xs, carry, lengths, reverse, **options):
    """The kernels' own entry points (time-major, one batch axis), with tiling options."""
    if kind == "lstm":
        h, c, ys = lstm_pallas(params, xs, carry.h, carry.c, lengths, reverse, **options)
        return rnnax.LSTMState(h, c), ys
    return gru_pallas(params, xs, carry, lengths, reverse, kind == "gru_reset_after", **options)


@pytest.mark.parametrize("kind", KINDS)
def test_two_hidden_tiles_and_weights_reloaded_each_step(rng, kind):
    """H = 20 pads to 32 = two 16-unit tiles; for the LSTM ``resident=False`` also reloads w_h
    every step (the tile loader is shared by the kernels, and it doubles the compile time)."""
    from tests.test_cells import random_gru, random_lstm

    params = random_lstm(rng, 3, 20) if kind == "lstm" else random_gru(rng, 3, 20)
    xs = jnp.asarray(rng.normal(size=(6, 3, 3)), jnp.float32)
    h0 = jnp.asarray(rng.normal(size=(3, 20)), jnp.float32)
    carry = rnnax.LSTMState(h0, -h0) if kind == "lstm" else h0

    def loss(core, params, xs, carry):
        final, ys = core(params, xs, carry)
        return jnp.sum(ys**2) + jnp.sum(jnp.sin(_final_h(kind, final)))

    tiled = functools.partial(
        _direct, kind, lengths=LENGTHS, reverse=False, block_h=16, resident=kind != "lstm"
    )
    scan = functools.partial(run_core, kind, seq_lengths=LENGTHS, time_major=True, strategy="scan")
    got = _jit(jax.value_and_grad(functools.partial(loss, tiled), argnums=(0, 1, 2)))(
        params, xs, carry
    )
    expected = jax.value_and_grad(functools.partial(loss, scan), argnums=(0, 1, 2))(
        params, xs, carry
    )
    chex.assert_trees_all_close(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_bfloat16_forward(rng, kind):
    """bfloat16 parameters: products in bfloat16, gate math and carries in float32 inside the
    kernel, so the outputs are within bfloat16 rounding of the float64 reference."""
    params, xs, carry = make_case(rng, kind, (3,))
    to_bf16 = functools.partial(jax.tree.map, lambda leaf: jnp.asarray(leaf, jnp.bfloat16))
    final, ys = _jit(functools.partial(run_core, kind, seq_lengths=LENGTHS, strategy="pallas"))(
        to_bf16(params), to_bf16(xs), to_bf16(carry)
    )
    assert ys.dtype == jnp.bfloat16 and _final_h(kind, final).dtype == jnp.bfloat16
    # The reference reads the same bfloat16-rounded numbers, in float64.
    as_f32 = functools.partial(jax.tree.map, lambda leaf: np.asarray(leaf, np.float32))
    _, _, ys_ref = reference_run(
        kind, as_f32(to_bf16(params)), as_f32(to_bf16(xs)), as_f32(to_bf16(carry)), LENGTHS, False
    )
    np.testing.assert_allclose(np.asarray(ys, np.float32), ys_ref, rtol=0, atol=2e-2)
    assert np.all(np.asarray(ys, np.float32)[1, 2:] == 0)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_vmap_over_parameters_in_reverse(rng, kind):
    """An ensemble: ``vmap`` over stacked parameters batches the kernel's grid."""
    params, xs, carry = make_case(rng, kind, (2,))
    stacked = jax.tree.map(lambda leaf: jnp.stack([leaf, 0.5 * leaf]), params)

    def member(strategy, params):
        return run_core(kind, params, jnp.asarray(xs), carry, reverse=True, strategy=strategy)

    members = _jit(jax.vmap(functools.partial(member, "pallas")))(stacked)
    expected = jax.vmap(functools.partial(member, "scan"))(stacked)
    chex.assert_trees_all_close(members, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
@pytest.mark.parametrize("kind", KINDS)
def test_kernels_lower_to_triton(kind, dtype):
    """The compiled (not interpreted) kernels lower to Triton IR for CUDA, without a GPU: every
    operation, tile shape and dtype is one Triton's lowering accepts. Forward with residuals
    and backward: two Triton calls; the forward alone: one."""
    hidden = 20  # padded to 32: two 16-unit tiles
    if kind == "lstm":
        params = rnnax.lstm_init(jax.random.key(0), 3, hidden, dtype=dtype)
    else:
        params = rnnax.gru_init(jax.random.key(0), 3, hidden, dtype=dtype)
    xs, h0 = jnp.ones((6, 3, 3), dtype), jnp.zeros((3, hidden), dtype)
    carry = rnnax.LSTMState(h0, h0) if kind == "lstm" else h0
    core = functools.partial(
        _direct, kind, lengths=LENGTHS, reverse=True, interpret=False, block_h=16
    )

    def loss(params, xs, carry):
        return jnp.sum(core(params, xs, carry)[1].astype(jnp.float32) ** 2)

    for function, calls in ((jax.value_and_grad(loss, argnums=(0, 1, 2)), 2), (core, 1)):
        lowered = jax.jit(function).trace(params, xs, carry).lower(lowering_platforms=("cuda",))
        assert lowered.as_text().count("__gpu$xla.gpu.triton") == calls


def test_plan_and_option_errors():
    assert "pallas" in rnnax.STRATEGIES
    # H = 768 (the FlashRNN shape): 128-unit tiles; the batch pads to Triton's 16-row dot.
    kplan = plan(1024, 10, 768, 4, jnp.bfloat16, interpret=False)
    assert (kplan.hidden, kplan.block_h, kplan.batch, kplan.grid) == (768, 128, 16, (1,))
    assert not kplan.resident  # 4 * 768^2 * 2 bytes is far beyond the on-chip budget
    assert plan(8, 64, 32, 3, jnp.bfloat16, interpret=False).resident
    assert plan(8, 4, 5, 4, jnp.float32).hidden == 16
    with pytest.raises(ValueError, match="block_b must be at least 16 when compiling"):
        plan(8, 4, 32, 4, jnp.float32, block_b=8, interpret=False)
    with pytest.raises(ValueError, match="block_h must be a power of 2"):
        plan(8, 4, 32, 4, jnp.float32, block_h=24)
    params = rnnax.lstm_init(jax.random.key(0), 3, 4)
    state, ys = rnnax.lstm(params, jnp.ones((2, 0, 3)), strategy="pallas")  # no steps at all
    assert ys.shape == (2, 0, 4) and not np.any(np.asarray(state.h))


@on_gpu
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
@pytest.mark.parametrize("kind", KINDS)
def test_compiled_kernels_equal_scan_on_gpu(kind, dtype):
    """The Triton-compiled kernels at a shape with three hidden tiles and three batch
    programs, against the scan in float32 on the same (bfloat16-rounded) numbers."""
    batch, steps, inputs, hidden = 40, 64, 24, 96
    keys = jax.random.split(jax.random.key(0), 3)
    if kind == "lstm":
        params = rnnax.lstm_init(keys[0], inputs, hidden, dtype=dtype)
    else:
        params = rnnax.gru_init(keys[0], inputs, hidden, dtype=dtype)
    xs = jax.random.normal(keys[1], (batch, steps, inputs)).astype(dtype)
    lengths = jax.random.randint(keys[2], (batch,), 0, steps + 1)
    kwargs = dict(seq_lengths=lengths, reverse=True)
    to_f32 = functools.partial(jax.tree.map, lambda leaf: leaf.astype(jnp.float32))
    # HIGHEST: no TF32 in either, so float32 agrees to rounding.
    with jax.default_matmul_precision("highest"):
        (loss, (_, ys)), grads = _value_grad_outputs(kind, "pallas", **kwargs)(params, xs, None)
        (loss_s, (_, ys_s)), grads_s = _value_grad_outputs(kind, "scan", **kwargs)(
            to_f32(params), to_f32(xs), None
        )
    if dtype == jnp.float32:
        np.testing.assert_allclose(ys, ys_s, rtol=1e-4, atol=1e-5)
        chex.assert_trees_all_close((loss, grads), (loss_s, grads_s), rtol=1e-3, atol=1e-4)
    else:
        # bfloat16 products and outputs, float32 gate math and carries.
        np.testing.assert_allclose(np.asarray(ys, np.float32), ys_s, rtol=0, atol=3e-2)
        assert all(bool(jnp.isfinite(g).all()) for g in jax.tree.leaves(grads))
