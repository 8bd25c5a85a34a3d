"""The layer-normalized LSTM (Ba, Kiros & Hinton 2016) against a float64 NumPy loop: every
strategy, lengths, reverse, batch shapes; the generic custom VJP's gradients (the layer-norm
gains and shifts included); bfloat16; errors; the registry."""

from __future__ import annotations

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import rnnax
from rnnax._cell_layernorm_lstm import (
    LAYERNORM_LSTM,
    LayerNormLSTMParams,
    layernorm_lstm_cell,
    layernorm_lstm_init,
)

RTOL, ATOL = 1e-5, 1e-6
T, I, H = 5, 3, 4
STRATEGIES = ["scan", "custom_vjp", "remat", "auto"]


# ------------------------------------------------------------------ float64 NumPy reference


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def layer_norm(z, gain, shift, eps=1e-5):
    """The paper's LN over the whole vector (biased variance, epsilon inside the root)."""
    mean = z.mean(axis=-1, keepdims=True)
    variance = ((z - mean) ** 2).mean(axis=-1, keepdims=True)
    return gain * (z - mean) / np.sqrt(variance + eps) + shift


def reference_step(params, h, c, x):
    p = LayerNormLSTMParams(*(np.asarray(leaf, np.float64) for leaf in params))
    a = (
        layer_norm(x @ p.w_x, p.gain_x, p.shift_x)
        + layer_norm(h @ p.w_h, p.gain_h, p.shift_h)
        + p.b
    )
    i, f, g, o = np.split(a, 4, axis=-1)
    c_new = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    h_new = sigmoid(o) * np.tanh(layer_norm(c_new, p.gain_c, p.shift_c))
    return h_new, c_new


def reference_sequence(params, xs, h, c, length=None, reverse=False):
    """One unbatched sequence ``xs [T, I]``, one step at a time; padded outputs are zero."""
    xs = np.asarray(xs, np.float64)
    length = xs.shape[0] if length is None else length
    h, c = np.asarray(h, np.float64), np.asarray(c, np.float64)
    ys = np.zeros((xs.shape[0], h.shape[-1]))
    for t in reversed(range(length)) if reverse else range(length):
        h, c = reference_step(params, h, c, xs[t])
        ys[t] = h
    return h, c, ys


def reference_run(params, xs, carry, lengths, reverse):
    batch_shape = xs.shape[:-2]
    ys = np.zeros((*batch_shape, xs.shape[-2], H))
    h_final, c_final = np.zeros((*batch_shape, H)), np.zeros((*batch_shape, H))
    for index in np.ndindex(batch_shape):
        length = None if lengths is None else int(np.asarray(lengths)[index])
        h_final[index], c_final[index], ys[index] = reference_sequence(
            params,
            xs[index],
            np.asarray(carry.h[index]),
            np.asarray(carry.c[index]),
            length,
            reverse,
        )
    return h_final, c_final, ys


def random_params(rng, dtype=jnp.float32):
    """Random weights, gains around 1 and nonzero shifts and bias (a dropped one must show)."""
    fields = {
        "w_x": rng.normal(0.0, 0.6, (I, 4 * H)),
        "w_h": rng.normal(0.0, 0.6, (H, 4 * H)),
        "b": rng.normal(0.0, 0.5, 4 * H),
        "gain_x": rng.uniform(0.5, 1.5, 4 * H),
        "shift_x": rng.normal(0.0, 0.3, 4 * H),
        "gain_h": rng.uniform(0.5, 1.5, 4 * H),
        "shift_h": rng.normal(0.0, 0.3, 4 * H),
        "gain_c": rng.uniform(0.5, 1.5, H),
        "shift_c": rng.normal(0.0, 0.3, H),
    }
    return LayerNormLSTMParams(**{k: jnp.asarray(v, dtype) for k, v in fields.items()})


def random_case(rng, batch_shape, dtype=jnp.float32):
    params = random_params(rng, dtype)
    xs = jnp.asarray(rng.normal(size=(*batch_shape, T, I)), dtype)
    h, c = (jnp.asarray(rng.normal(0.0, 0.5, (*batch_shape, H)), dtype) for _ in "hc")
    return params, xs, rnnax.LSTMState(h, c)


# (batch shape, lengths or None, reverse): every batch shape, a zero length, both directions.
CASES = [
    ((), None, False),
    ((), 3, True),
    ((4,), [5, 0, 3, 1], True),
    ((2, 3), [[5, 0, 2], [1, 5, 4]], False),
]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_rnn_matches_the_reference(rng, strategy):
    for batch_shape, lengths, reverse in CASES:
        params, xs, carry = random_case(rng, batch_shape)
        lengths = None if lengths is None else jnp.asarray(lengths, jnp.int32)
        final, ys = rnnax.rnn(
            params, xs, carry, seq_lengths=lengths, reverse=reverse, strategy=strategy
        )
        h_ref, c_ref, ys_ref = reference_run(params, np.asarray(xs), carry, lengths, reverse)
        case = f"batch {batch_shape}, lengths {lengths}, reverse {reverse}"
        assert isinstance(final, rnnax.LSTMState)
        np.testing.assert_allclose(ys, ys_ref, rtol=RTOL, atol=ATOL, err_msg=case)
        np.testing.assert_allclose(final.h, h_ref, rtol=RTOL, atol=ATOL, err_msg=case)
        np.testing.assert_allclose(final.c, c_ref, rtol=RTOL, atol=ATOL, err_msg=case)


@pytest.mark.parametrize("batch_shape", [(), (4,), (2, 3)])
def test_cell_matches_the_reference(rng, batch_shape):
    params, _, carry = random_case(rng, batch_shape)
    x = jnp.asarray(rng.normal(size=(*batch_shape, I)), jnp.float32)
    new, y = layernorm_lstm_cell(params, carry, x)
    h_ref, c_ref = reference_step(
        params, np.asarray(carry.h, np.float64), np.asarray(carry.c, np.float64), np.asarray(x)
    )
    np.testing.assert_allclose(new.h, h_ref, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(new.c, c_ref, rtol=RTOL, atol=ATOL)
    np.testing.assert_array_equal(y, new.h)


def test_layer_norm_spans_all_four_gates(rng):
    """Scaling the weights leaves the cell (almost: epsilon) unchanged, and shifting ONE gate's
    input columns by a constant changes the other gates too: the statistics are taken over the
    whole 4H vector, as in the paper, not per gate."""
    params, xs, carry = random_case(rng, (2,))
    _, ys = rnnax.rnn(params, xs, carry)
    scaled = params._replace(w_x=3.0 * params.w_x, w_h=0.5 * params.w_h)
    np.testing.assert_allclose(rnnax.rnn(scaled, xs, carry)[1], ys, rtol=1e-3, atol=1e-4)
    x = jnp.asarray(rng.normal(size=I), jnp.float32)
    state = rnnax.LSTMState(jnp.zeros(H), jnp.zeros(H))
    moved = params._replace(w_x=params.w_x.at[:, :H].add(2.0))  # the input gate's block only
    (_, c), _ = layernorm_lstm_cell(params, state, x)
    (_, c_moved), _ = layernorm_lstm_cell(moved, state, x)
    _, c_ref = reference_step(moved, np.zeros(H), np.zeros(H), np.asarray(x, np.float64))
    np.testing.assert_allclose(c_moved, c_ref, rtol=RTOL, atol=ATOL)
    assert float(jnp.abs(c_moved - c).max()) > 1e-3


def test_zero_carry_and_a_bidirectional_stack(rng):
    params, xs, _ = random_case(rng, (2,))
    backward = random_params(rng)
    zeros = rnnax.LSTMState(jnp.zeros((2, H)), jnp.zeros((2, H)))
    finals, ys = rnnax.rnn_stack([[params, backward]], xs)
    *_, forward_ref = reference_run(params, np.asarray(xs), zeros, None, False)
    h_back, _, backward_ref = reference_run(backward, np.asarray(xs), zeros, None, True)
    np.testing.assert_allclose(
        ys, np.concatenate([forward_ref, backward_ref], -1), rtol=RTOL, atol=ATOL
    )
    np.testing.assert_allclose(finals[0][1].h, h_back, rtol=RTOL, atol=ATOL)


# ------------------------------------------------------------------------------- gradients


def loss(params, xs, carry, **options):
    final, ys = rnnax.rnn(params, xs, carry, **options)
    return jnp.sum(ys**2) + jnp.sum(jnp.sin(final.h)) + jnp.sum(final.c**2)


# The generic VJP sums the pointwise parameters' gradients of each step over the batch, then
# masks that sum with the per-row length mask, which broadcasts [4H] to [B, 4H]: with
# seq_lengths, a cell whose pointwise part reads parameters (the layer-norm gains here) fails
# (rnnax/_generic_vjp.py, _backward's step). Strict, so the fix shows as an XPASS.

GRADIENT_CASES = [
    pytest.param(None, False, id="full"),
    pytest.param(None, True, id="full-reverse"),
    pytest.param([5, 0, 2], True, id="lengths-reverse"),
    pytest.param([5, 5, 5], False, id="full-lengths"),
]


@pytest.mark.parametrize(("lengths", "reverse"), GRADIENT_CASES)
def test_custom_vjp_gradients_equal_the_scan(rng, lengths, reverse):
    params, xs, carry = random_case(rng, (3,))
    grad = jax.grad(loss, argnums=(0, 1, 2))
    lengths = None if lengths is None else jnp.asarray(lengths, jnp.int32)
    options = dict(seq_lengths=lengths, reverse=reverse)
    actual = grad(params, xs, carry, strategy="custom_vjp", **options)
    expected = grad(params, xs, carry, strategy="scan", **options)
    chex.assert_trees_all_close(actual, expected, rtol=1e-5, atol=1e-5)
    # The gains and shifts, read only by the pointwise part, do get gradients.
    assert all(float(jnp.abs(g).max()) > 0 for g in actual[0][3:])
    if lengths is not None:
        padded = np.arange(T)[None, :] >= np.asarray(lengths)[:, None]
        assert not np.any(np.asarray(actual[1])[padded])


@pytest.mark.parametrize(("lengths", "reverse"), GRADIENT_CASES[1:3])
def test_custom_vjp_passes_finite_differences(lengths, reverse):
    with jax.enable_x64(True):
        params, xs, carry = random_case(np.random.default_rng(5), (3,), dtype=jnp.float64)
        lengths = None if lengths is None else jnp.asarray(lengths, jnp.int32)
        f = functools.partial(loss, seq_lengths=lengths, reverse=reverse, strategy="custom_vjp")
        check_grads(f, (params, xs, carry), order=1, modes=("rev",), atol=1e-5, rtol=1e-5, eps=1e-6)


def test_bfloat16_runs_close_to_float32(rng):
    params, xs, carry = random_case(rng, (2,), dtype=jnp.bfloat16)
    wide = jax.tree.map(lambda leaf: leaf.astype(jnp.float32), (params, xs, carry))
    _, expected = rnnax.rnn(*wide, strategy="scan")
    for strategy in ("scan", "custom_vjp", "auto"):
        final, ys = rnnax.rnn(params, xs, carry, strategy=strategy)
        assert ys.dtype == final.h.dtype == final.c.dtype == jnp.bfloat16
        np.testing.assert_allclose(np.asarray(ys, np.float32), expected, rtol=5e-2, atol=5e-2)
    grads = jax.grad(loss)(params, xs, carry, strategy="custom_vjp")
    assert type(grads) is LayerNormLSTMParams
    assert all(g.dtype == jnp.bfloat16 and bool(jnp.isfinite(g).all()) for g in grads)


def test_bfloat16_statistics_are_computed_wide(rng):
    """Projections with a large common offset (entries 256, 258, ..., exact in bfloat16, through
    a one-hot input so the GEMM is exact): bfloat16 statistics would be off by a whole unit of
    the centred values (an error of ~0.27 in h); computed in float32 only the cell's own
    bfloat16 rounding remains."""
    params = random_params(rng)
    offset = 256 + 2 * jnp.arange(4 * H, dtype=jnp.float32)
    narrow = jax.tree.map(
        lambda leaf: leaf.astype(jnp.bfloat16), params._replace(w_x=params.w_x.at[0].set(offset))
    )
    x = jnp.zeros(I, jnp.bfloat16).at[0].set(1)
    zeros = jnp.zeros(H, jnp.bfloat16)
    (h, c), _ = layernorm_lstm_cell(narrow, rnnax.LSTMState(zeros, zeros), x)
    h_ref, c_ref = reference_step(narrow, np.zeros(H), np.zeros(H), np.asarray(x, np.float64))
    np.testing.assert_allclose(np.asarray(h, np.float32), h_ref, atol=3e-2)
    np.testing.assert_allclose(np.asarray(c, np.float32), c_ref, atol=5e-3)


# ----------------------------------------------------------------------- init and registry


def test_init():
    params = layernorm_lstm_init(jax.random.key(0), I, 6, forget_bias=2.0, dtype=jnp.bfloat16)
    assert type(params) is LayerNormLSTMParams
    assert [leaf.shape for leaf in params] == [(I, 24), (6, 24)] + [(24,)] * 5 + [(6,)] * 2
    assert all(leaf.dtype == jnp.bfloat16 for leaf in params)
    np.testing.assert_array_equal(
        np.asarray(params.b, np.float32), np.r_[np.zeros(6), np.full(6, 2.0), np.zeros(12)]
    )
    for gain in (params.gain_x, params.gain_h, params.gain_c):
        assert bool((gain == 1).all())
    for shift in (params.shift_x, params.shift_h, params.shift_c):
        assert not np.any(np.asarray(shift, np.float32))
    with pytest.raises(ValueError, match="forget_bias"):
        layernorm_lstm_init(jax.random.key(0), I, 6, forget_bias=float("nan"))


def test_registry_counting_and_strategies():
    assert rnnax.get_cell("layernorm_lstm") is LAYERNORM_LSTM
    assert "custom_vjp" in rnnax.available_strategies(LAYERNORM_LSTM)
    assert rnnax.stack_param_count("layernorm_lstm", 3, 4) == (3 + 4) * 16 + 5 * 16 + 2 * 4
    # 8H(I + H) + two layer norms of 4H (7n + 4 each) + one of H + 8H adds + 9H gates.
    assert rnnax.flops_per_step("layernorm_lstm", 3, 4) == 8 * 4 * 7 + 2 * 116 + 32 + 32 + 36
    zero = rnnax.zero_carry(random_params(np.random.default_rng(0)), (2,))
    assert isinstance(zero, rnnax.LSTMState) and zero.c.shape == (2, H)


# ----------------------------------------------------------------------------------- errors


def test_wrong_layouts_and_types_are_named(rng):
    params, xs, carry = random_case(rng, (2,))
    with pytest.raises(ValueError, match=r"params\.w_h must have shape .*got \(4, 12\)"):
        rnnax.rnn(params._replace(w_h=jnp.zeros((H, 3 * H))), xs)
    with pytest.raises(ValueError, match=r"params\.gain_c must have shape .*got \(16,\)"):
        rnnax.rnn(params._replace(gain_c=jnp.ones(4 * H)), xs)
    with pytest.raises(ValueError, match=r"params\.shift_x must have shape .*got \(4,\)"):
        rnnax.rnn(params._replace(shift_x=jnp.zeros(H)), xs)
    with pytest.raises(TypeError, match=r"params\.gain_h has dtype bfloat16"):
        rnnax.rnn(params._replace(gain_h=params.gain_h.astype(jnp.bfloat16)), xs)
    with pytest.raises(TypeError, match="carry must be LSTMState"):
        layernorm_lstm_cell(params, (carry.h, carry.c), xs[:, 0])
    with pytest.raises(TypeError, match=r"params must be LayerNormLSTMParams"):
        layernorm_lstm_cell(rnnax.lstm_init(jax.random.key(0), I, H), carry, xs[:, 0])
    with pytest.raises(TypeError, match=r"params must be LayerNormLSTMParams"):
        rnnax.rnn(rnnax.lstm_init(jax.random.key(0), I, H), xs, cell="layernorm_lstm")
    with pytest.raises(ValueError, match=r"carry\.c must have shape \(2, 4\)"):
        rnnax.rnn(params, xs, carry._replace(c=jnp.zeros((3, H))))
