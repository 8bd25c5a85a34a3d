"""The cuDNN backend (``strategy="cudnn"``, ``rnnax._cudnn``): weight conversion and sequence
handling, checked on any backend through ``jax.experimental.rnn.lstm_ref`` (its pure-JAX
transcription of cuDNN's LSTM); the cuDNN call itself only where a GPU is present."""

from __future__ import annotations

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import rnn as jax_rnn

import rnnax
from rnnax import _cudnn
from tests.test_cores import make_case, reference_run
from tests.test_gradients import loss_fn

LENGTHS = jnp.array([6, 2, 0], jnp.int32)
on_gpu = pytest.mark.skipif(jax.default_backend() != "gpu", reason="cuDNN needs a GPU")


@pytest.fixture(autouse=True)
def _full_float32_products():
    """Exact float32 products everywhere: on a GPU, JAX's default precision lets XLA, Triton
    and cuDNN round float32 operands to TF32, each in its own way (a no-op on CPU)."""
    with jax.default_matmul_precision("highest"):
        yield


def _flat_case(rng):
    params, xs, carry = make_case(rng, "lstm", (3,))
    return params, jnp.asarray(xs), carry


def _via_cudnn_layout(implementation, params, xs, carry, **kwargs):
    """``rnnax.lstm``'s signature over batch-major ``xs [B, T, I]``, through ``lstm_cudnn``."""
    h, c, ys = _cudnn.lstm_cudnn(
        params,
        jnp.swapaxes(xs, 0, 1),
        carry.h,
        carry.c,
        kwargs.get("seq_lengths"),
        kwargs.get("reverse", False),
        implementation=implementation,
    )
    return rnnax.LSTMState(h, c), jnp.swapaxes(ys, 0, 1)


def test_weights_round_trip_and_layout(rng):
    params, _, _ = _flat_case(rng)
    weights = _cudnn.to_cudnn_weights(params)
    assert weights.shape == (jax_rnn.get_num_params_in_lstm(3, 5, 1, False),)
    w_ih, w_hh, b_ih, b_hh = jax_rnn.unpack_lstm_weights(weights, 3, 5, 1, False)
    # PyTorch's layout: matrices act on the left, gate order i, f, g, o (ours), two biases.
    np.testing.assert_array_equal(w_ih[0], params.w_x.T)
    np.testing.assert_array_equal(w_hh[0], params.w_h.T)
    np.testing.assert_array_equal(b_ih[0], params.b)
    np.testing.assert_array_equal(b_hh[0], np.zeros(20))
    ((back,),) = _cudnn.unpack_to_params(weights, 3, 5)
    jax.tree.map(np.testing.assert_array_equal, back, params)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("with_lengths", [False, True])
def test_reference_equals_scan_and_float64_reference(rng, with_lengths, reverse):
    """Values and gradients of our weights run through cuDNN's reference LSTM."""
    params, xs, carry = _flat_case(rng)
    kwargs = dict(seq_lengths=LENGTHS if with_lengths else None, reverse=reverse)
    final, ys = _via_cudnn_layout("reference", params, xs, carry, **kwargs)
    h_ref, c_ref, ys_ref = reference_run(
        "lstm", params, np.asarray(xs), carry, kwargs["seq_lengths"], reverse
    )
    np.testing.assert_allclose(ys, ys_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(final.h, h_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(final.c, c_ref, rtol=1e-5, atol=1e-6)

    def loss(core):
        def f(params, xs, carry):
            state, ys = core(params, xs, carry, **kwargs)
            return jnp.sum(ys**2) + jnp.sum(jnp.sin(state.h)) + jnp.sum(state.c**2)

        return f

    expected = jax.value_and_grad(
        loss(functools.partial(rnnax.lstm, strategy="scan")), argnums=(0, 1, 2)
    )(params, xs, carry)
    got = jax.value_and_grad(
        loss(functools.partial(_via_cudnn_layout, "reference")), argnums=(0, 1, 2)
    )(params, xs, carry)
    chex.assert_trees_all_close(got, expected, rtol=1e-5, atol=1e-5)


def test_padded_inputs_never_reach_the_reference(rng):
    params, xs, carry = _flat_case(rng)
    padded = np.arange(6) >= np.asarray(LENGTHS)[:, None]
    poisoned = jnp.where(jnp.asarray(padded)[..., None], jnp.nan, xs)
    grad = jax.jit(
        jax.value_and_grad(
            lambda *a: jnp.sum(
                _via_cudnn_layout("reference", *a, seq_lengths=LENGTHS, reverse=True)[1] ** 2
            ),
            argnums=(0, 1),
        )
    )
    clean, dirty = grad(params, xs, carry), grad(params, poisoned, carry)
    jax.tree.map(np.testing.assert_array_equal, clean, dirty)
    assert np.all(np.asarray(dirty[1][1])[padded] == 0.0)


def test_stack_packing_matches_a_bidirectional_two_layer_stack(rng):
    """cuDNN's pseudo-layer order (layer 0 forward, layer 0 reverse, layer 1 ...) against
    ``rnnax.lstm_stack``, through the reference's own bidirectional, multi-layer loop."""
    layers = rnnax.lstm_stack_init(jax.random.key(0), 3, 4, num_layers=2, bidirectional=True)
    # Random biases, so each layer's bias is seen to land in its own slot.
    keys = iter(jax.random.split(jax.random.key(1), 4))
    layers = [
        [p._replace(b=jax.random.normal(next(keys), p.b.shape)) for p in layer] for layer in layers
    ]
    xs = jnp.asarray(rng.normal(size=(3, 6, 3)), jnp.float32)
    lengths = jnp.array([6, 4, 1], jnp.int32)
    weights = _cudnn.pack_lstm_weights(layers)
    assert weights.shape == (jax_rnn.get_num_params_in_lstm(3, 4, 2, True),)
    zeros = jnp.zeros((4, 3, 4))
    with jax.numpy_dtype_promotion("standard"):
        ys, h_n, c_n = jax_rnn.lstm_ref(
            xs,
            zeros,
            zeros,
            *jax_rnn.unpack_lstm_weights(weights, 3, 4, 2, True),
            lengths,
            3,
            4,
            2,
            0.0,
            True,
        )
    finals, ys_stack = rnnax.lstm_stack(layers, xs, seq_lengths=lengths, strategy="scan")
    np.testing.assert_allclose(ys, ys_stack, rtol=1e-5, atol=1e-6)
    for index, (layer, direction) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
        np.testing.assert_allclose(h_n[index], finals[layer][direction].h, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(c_n[index], finals[layer][direction].c, rtol=1e-5, atol=1e-6)
    back = _cudnn.unpack_to_params(weights, 3, 4, 2, True)
    jax.tree.map(np.testing.assert_array_equal, back, layers)


def test_stack_packing_rejects_what_cudnn_cannot_hold():
    lstm = rnnax.lstm_init(jax.random.key(0), 3, 4)
    with pytest.raises(ValueError, match="non-empty"):
        _cudnn.pack_lstm_weights([])
    with pytest.raises(ValueError, match="same 1 or 2 directions"):
        _cudnn.pack_lstm_weights([[lstm], [lstm, lstm]])
    with pytest.raises(ValueError, match=r"layer 1: cuDNN needs w_x \[4, 16\]"):
        _cudnn.pack_lstm_weights([[lstm], [lstm]])
    with pytest.raises(TypeError, match="LSTMParams, got GRUParams"):
        _cudnn.pack_lstm_weights([[rnnax.gru_init(jax.random.key(0), 3, 4)]])


@pytest.mark.skipif(jax.default_backend() == "gpu", reason="checks the error off-GPU")
def test_cudnn_strategy_errors_off_gpu():
    params = rnnax.lstm_init(jax.random.key(0), 3, 4)
    xs = jnp.ones((2, 5, 3))
    with pytest.raises(
        ValueError,
        match=r"strategy='cudnn' needs a GPU .* default backend is "
        r"'cpu'",
    ):
        rnnax.lstm(params, xs, strategy="cudnn")
    with pytest.raises(ValueError, match="runs on a GPU only"):
        _cudnn.lstm_cudnn(params, jnp.ones((5, 2, 3)), jnp.zeros((2, 4)), jnp.zeros((2, 4)))
    with pytest.raises(ValueError, match="implementation must be one of"):
        _cudnn.lstm_cudnn(
            params,
            jnp.ones((5, 2, 3)),
            jnp.zeros((2, 4)),
            jnp.zeros((2, 4)),
            implementation="torch",
        )


def test_cudnn_strategy_errors_for_a_gru_and_other_dtypes():
    gru = rnnax.gru_init(jax.random.key(0), 3, 4)
    with pytest.raises(ValueError, match="strategy='cudnn' runs the LSTM only"):
        rnnax.gru(gru, jnp.ones((2, 5, 3)), strategy="cudnn")
    params = rnnax.lstm_init(jax.random.key(0), 3, 4, dtype=jnp.bfloat16)
    with pytest.raises(TypeError, match=r"float32 only .* got bfloat16"):
        _cudnn.lstm_cudnn(
            params,
            jnp.ones((5, 2, 3), jnp.bfloat16),
            jnp.zeros((2, 4), jnp.bfloat16),
            jnp.zeros((2, 4), jnp.bfloat16),
        )


@on_gpu
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("with_lengths", [False, True])
def test_cudnn_strategy_equals_scan_on_gpu(rng, with_lengths, reverse):
    params, xs, carry = _flat_case(rng)
    kwargs = dict(seq_lengths=LENGTHS if with_lengths else None, reverse=reverse)
    # HIGHEST: no TF32 in either, so the two agree to float32 rounding.
    with jax.default_matmul_precision("highest"):
        expected = jax.value_and_grad(
            functools.partial(loss_fn, "lstm", strategy="scan", **kwargs), argnums=(0, 1, 2)
        )(params, xs, carry)
        got = jax.value_and_grad(
            functools.partial(loss_fn, "lstm", strategy="cudnn", **kwargs), argnums=(0, 1, 2)
        )(params, xs, carry)
    chex.assert_trees_all_close(got, expected, rtol=1e-4, atol=1e-5)
