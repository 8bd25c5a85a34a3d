"""minGRU against a float64 NumPy loop: every strategy, lengths (0 and T), reverse, batch
shapes, negative carries, T = 0 and 1; the parallel scan's values and gradients against the
sequential scan; finite differences; bfloat16; extreme inputs; errors; the registry.

Compilation dominates the run time, so the tests share a few shapes and one compiled
``run_and_grads`` per (shape, options, strategy)."""

from __future__ import annotations

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import rnnax
from rnnax._cell_mingru import MINGRU, MinGRUParams, mingru_cell, mingru_init
from rnnax._protocol import cell_of

RTOL, ATOL = 1e-5, 1e-6
T, I, H = 5, 3, 4
STRATEGIES = ["scan", "parallel", "remat", "auto"]


# ------------------------------------------------------------------ float64 NumPy reference


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def reference_step(params, h, x):
    """The paper's minGRU: z = sigma(x W_z + b_z), h~ = g(x W_h + b_h), h' = (1 - z) h + z h~,
    with g(u) = u + 1/2 for u >= 0 and sigma(u) below."""
    w_x, b = (np.asarray(leaf, np.float64) for leaf in params)
    a = np.asarray(x, np.float64) @ w_x + b
    z = _sigmoid(a[:H])
    pre = a[H:]
    candidate = np.where(pre >= 0, pre + 0.5, _sigmoid(pre))
    return (1.0 - z) * h + z * candidate


def reference_sequence(params, xs, h0, length=None, reverse=False):
    """One unbatched sequence ``xs [T, I]``, one step at a time; padded outputs are zero."""
    xs = np.asarray(xs, np.float64)
    length = xs.shape[0] if length is None else length
    h = np.asarray(h0, np.float64)
    ys = np.zeros((xs.shape[0], H))
    for t in reversed(range(length)) if reverse else range(length):
        h = reference_step(params, h, xs[t])
        ys[t] = h
    return h, ys


def reference_run(params, xs, h0, lengths=None, reverse=False):
    """The unbatched reference looped over every batch index of ``xs [..., T, I]``."""
    xs, h0 = np.asarray(xs, np.float64), np.asarray(h0, np.float64)
    batch_shape = xs.shape[:-2]
    ys = np.zeros((*batch_shape, xs.shape[-2], H))
    h_final = np.zeros((*batch_shape, H))
    for index in np.ndindex(batch_shape):
        length = None if lengths is None else int(np.asarray(lengths)[index])
        h_final[index], ys[index] = reference_sequence(
            params, xs[index], h0[index], length, reverse
        )
    return h_final, ys


def random_params(rng, dtype=jnp.float32, scale=0.8):
    """Random parameters (a nonzero bias: a dropped or misplaced bias must show)."""
    shapes = [(I, 2 * H), (2 * H,)]
    return MinGRUParams(*(jnp.asarray(rng.normal(0.0, scale, shape), dtype) for shape in shapes))


def random_case(rng, batch_shape, dtype=jnp.float32, num_steps=T):
    params = random_params(rng, dtype)
    xs = jnp.asarray(rng.normal(size=(*batch_shape, num_steps, I)), dtype)
    # A carry of both signs: the parallel scan must not take its log.
    h0 = jnp.asarray(rng.normal(0.0, 2.0, size=(*batch_shape, H)), dtype)
    return params, xs, h0


def loss(params, xs, h0, **options):
    h, ys = rnnax.rnn(params, xs, h0, **options)
    return jnp.sum(ys**2) + jnp.sum(jnp.sin(h)), (h, ys)


@functools.partial(jax.jit, static_argnums=(4, 5, 6))
def _run_and_grads(params, xs, h0, lengths, strategy, reverse, time_major):
    options = dict(seq_lengths=lengths, reverse=reverse, time_major=time_major, strategy=strategy)
    return jax.value_and_grad(loss, argnums=(0, 1, 2), has_aux=True)(params, xs, h0, **options)


def run_and_grads(params, xs, h0, lengths, *, strategy, reverse=False, time_major=False):
    """``((loss, (h, ys)), (d_params, d_xs, d_h0))``, compiled once per shape and options
    (passed positionally, so defaults and explicit values share one compilation)."""
    return _run_and_grads(params, xs, h0, lengths, strategy, reverse, time_major)


def assert_finite(tree, case=""):
    assert all(bool(jnp.isfinite(leaf).all()) for leaf in jax.tree.leaves(tree)), case


# (batch shape, lengths, reverse, time_major): one and two batch axes, lengths 0 and T, both
# directions. Shared by the value and gradient tests (one compilation each); runs without
# lengths, unbatched, are test_zero_carry_and_bidirectional_stack's (values, both directions)
# and test_parallel_passes_finite_differences' (gradients).
CASES = [
    ((4,), [5, 0, 3, 1], False, False),
    ((2, 3), [[5, 0, 2], [1, 5, 4]], True, True),
]


def _case(rng, batch_shape, lengths, time_major, dtype=jnp.float32):
    params, xs, h0 = random_case(rng, batch_shape, dtype)
    lengths = None if lengths is None else jnp.asarray(lengths, jnp.int32)
    inputs = jnp.moveaxis(xs, -2, 0) if time_major else xs
    return params, xs, inputs, h0, lengths


# ----------------------------------------------------------------------------------- values


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_rnn_matches_the_reference(rng, strategy):
    # The generic strategies (remat, and auto, which runs the scan here) on the richest case.
    cases = CASES if strategy in ("scan", "parallel") else CASES[-1:]
    for batch_shape, lengths, reverse, time_major in cases:
        params, xs, inputs, h0, lengths = _case(rng, batch_shape, lengths, time_major)
        options = dict(reverse=reverse, time_major=time_major)
        if strategy in ("scan", "parallel"):
            (_, (h, ys)), _ = run_and_grads(
                params, inputs, h0, lengths, strategy=strategy, **options
            )
        else:
            h, ys = rnnax.rnn(params, inputs, h0, seq_lengths=lengths, strategy=strategy, **options)
        ys = jnp.moveaxis(ys, 0, -2) if time_major else ys
        h_ref, ys_ref = reference_run(params, xs, h0, lengths, reverse)
        case = f"batch {batch_shape}, lengths {lengths}, reverse {reverse}"
        np.testing.assert_allclose(ys, ys_ref, rtol=RTOL, atol=ATOL, err_msg=case)
        np.testing.assert_allclose(h, h_ref, rtol=RTOL, atol=ATOL, err_msg=case)
        if lengths is not None:  # padded outputs are exactly zero
            padded = np.arange(T) >= np.asarray(lengths)[..., None]
            assert not np.any(np.asarray(ys)[padded]), case


@pytest.mark.parametrize("strategy", ["scan", "parallel"])
@pytest.mark.parametrize("num_steps", [0, 1])
def test_zero_and_one_steps(rng, strategy, num_steps):
    params, xs, h0 = random_case(rng, (3,), num_steps=num_steps)
    for lengths, reverse in [(None, False), (jnp.array([num_steps, 0, num_steps]), True)]:
        h, ys = rnnax.rnn(params, xs, h0, seq_lengths=lengths, reverse=reverse, strategy=strategy)
        h_ref, ys_ref = reference_run(params, xs, h0, lengths, reverse)
        assert ys.shape == (3, num_steps, H)
        np.testing.assert_allclose(ys, ys_ref, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(h, h_ref, rtol=RTOL, atol=ATOL)
    if num_steps == 0:
        np.testing.assert_array_equal(h, h0)  # no step: the initial carry, exactly
        _, grads = run_and_grads(params, xs, h0, None, strategy=strategy)
        np.testing.assert_array_equal(grads[2], jnp.cos(h0))
        assert not np.any(np.asarray(grads[0].w_x))


def test_zero_carry_and_bidirectional_stack(rng):
    """A bidirectional stack on the parallel strategy over one unbatched sequence (zero
    carries, no lengths) concatenates the forward run and the reverse run."""
    params, xs, _ = random_case(rng, ())
    backward = random_params(rng)
    _, ys_stack = rnnax.rnn_stack([[params, backward]], xs, strategy="parallel")
    _, ys_forward = reference_run(params, xs, np.zeros(H))
    _, ys_back = reference_run(backward, xs, np.zeros(H), None, True)
    expected = np.concatenate([ys_forward, ys_back], -1)
    np.testing.assert_allclose(ys_stack, expected, rtol=RTOL, atol=ATOL)


def test_mingru_cell_matches_the_reference(rng):
    for batch_shape in [(), (2, 3)]:
        params, _, h = random_case(rng, batch_shape)
        x = jnp.asarray(rng.normal(size=(*batch_shape, I)), jnp.float32)
        h_new, y = mingru_cell(params, h, x)
        expected = np.zeros((*batch_shape, H))
        for index in np.ndindex(batch_shape):
            expected[index] = reference_step(params, np.asarray(h[index], np.float64), x[index])
        np.testing.assert_allclose(h_new, expected, rtol=RTOL, atol=ATOL)
        np.testing.assert_array_equal(y, h_new)


# ------------------------------------------------------------------------------- gradients


def test_parallel_gradients_equal_the_scan(rng):
    for batch_shape, lengths, reverse, time_major in CASES:
        params, _, inputs, h0, lengths = _case(rng, batch_shape, lengths, time_major)
        options = dict(reverse=reverse, time_major=time_major)
        case = f"batch {batch_shape}, lengths {lengths}, reverse {reverse}"
        expected = run_and_grads(params, inputs, h0, lengths, strategy="scan", **options)
        actual = run_and_grads(params, inputs, h0, lengths, strategy="parallel", **options)
        chex.assert_trees_all_close(actual, expected, rtol=1e-5, atol=1e-5)
        assert_finite(actual, case)
        if lengths is not None:  # padded inputs get exactly zero gradient
            d_xs = np.asarray(actual[1][1])
            d_xs = np.moveaxis(d_xs, 0, -2) if time_major else d_xs
            padded = np.arange(T) >= np.asarray(lengths)[..., None]
            assert not np.any(d_xs[padded]), case


def test_nan_in_padding_reaches_nothing(rng):
    params, xs, h0 = random_case(rng, (4,))
    lengths = jnp.array([2, 0, 5, 1])
    poisoned = xs.at[0, 2:].set(jnp.nan).at[1].set(jnp.inf).at[3, 1:].set(-jnp.inf)
    (_, (h, ys)), grads = run_and_grads(params, poisoned, h0, lengths, strategy="parallel")
    h_ref, ys_ref = reference_run(params, xs, h0, lengths)
    np.testing.assert_allclose(ys, ys_ref, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(h, h_ref, rtol=RTOL, atol=ATOL)
    assert_finite(grads)


def test_parallel_passes_finite_differences():
    with jax.enable_x64(True):
        params, xs, h0 = random_case(np.random.default_rng(3), (3,), dtype=jnp.float64)

        @jax.jit
        def f(params, xs, h0):
            return loss(params, xs, h0, strategy="parallel")[0]

        check_grads(f, (params, xs, h0), order=1, modes=("rev",), atol=1e-5, rtol=1e-5, eps=1e-6)


def test_extreme_preactivations_stay_finite_and_agree(rng):
    """Gates saturated to 0 and 1 in float32 and candidates far on both sides of g's kink:
    the log-space scan neither overflows nor produces NaN, and matches the sequential one."""
    params, xs, h0 = random_case(rng, (4,))
    params = jax.tree.map(lambda leaf: 60.0 * leaf, params)
    lengths = jnp.array([5, 3, 0, 1])
    expected = run_and_grads(params, xs, h0, lengths, strategy="scan")
    actual = run_and_grads(params, xs, h0, lengths, strategy="parallel")
    chex.assert_trees_all_close(actual[0], expected[0], rtol=1e-5, atol=1e-4)
    assert_finite(actual)


def test_bfloat16_runs_close_to_float32(rng):
    params, xs, h0 = random_case(rng, (2,), dtype=jnp.bfloat16)
    _, expected = reference_run(params, xs, h0)
    # (The runner's float32 computation and bfloat16 gradients: tests/test_parallel.py.)
    h, ys = rnnax.rnn(params, xs, h0, strategy="parallel")
    assert ys.dtype == h.dtype == jnp.bfloat16
    np.testing.assert_allclose(np.asarray(ys, np.float32), expected, rtol=5e-2, atol=5e-2)


# ----------------------------------------------------------------------- init and registry


def test_init_layout_and_dtype():
    params = mingru_init(jax.random.key(0), I, 6)
    assert type(params) is MinGRUParams
    assert [leaf.shape for leaf in params] == [(I, 12), (12,)]
    assert float(jnp.abs(params.w_x).max()) <= np.sqrt(6 / (I + 6))  # Glorot uniform per gate
    assert not np.any(params.b)
    layers = rnnax.rnn_stack_init("mingru", jax.random.key(0), I, 6, num_layers=2)
    assert type(layers[1][0]) is MinGRUParams and layers[1][0].w_x.shape == (6, 12)
    with pytest.raises((TypeError, ValueError), match="hidden_size"):
        mingru_init(jax.random.key(0), I, 0)


def test_registry_counting_and_strategies(rng):
    params = random_params(rng)
    assert rnnax.get_cell("mingru") is MINGRU and cell_of(params) is MINGRU
    assert "mingru" in rnnax.registered_cells()
    # No recurrent GEMM, so no GemmSplit and no generic custom_vjp; the parallel scan instead.
    assert rnnax.available_strategies(MINGRU) == ("auto", "scan", "remat", "parallel")
    # 2*I*2H (product) + 2H (bias) + 2H (two sigmoids) + H (g) + 3H (h' = (1-z) h + z h~).
    assert rnnax.flops_per_step("mingru", 3, 4) == 2 * 3 * 8 + 8 + 8 + 4 + 12
    assert rnnax.stack_param_count("mingru", 3, 4) == 3 * 8 + 8
    assert MINGRU.description


# ----------------------------------------------------------------------------------- errors


def test_wrong_layouts_are_named(rng):
    params, xs, h0 = random_case(rng, (2,))
    with pytest.raises(ValueError, match=r"params\.w_x must have shape \[I, 2H\], got \(3, 9\)"):
        rnnax.rnn(params._replace(w_x=jnp.zeros((I, 9))), xs)
    with pytest.raises(ValueError, match=r"params\.b must have shape \(8,\).*\(12,\)"):
        rnnax.rnn(params._replace(b=jnp.zeros(3 * H)), xs)
    with pytest.raises(TypeError, match=r"params\.b has dtype bfloat16"):
        rnnax.rnn(params._replace(b=params.b.astype(jnp.bfloat16)), xs)
    with pytest.raises(ValueError, match=r"xs must have the input size I of params = 3"):
        rnnax.rnn(params, xs[..., :2], strategy="parallel")
    with pytest.raises(ValueError, match=r"h must have shape \(2, 4\)"):
        mingru_cell(params, jnp.zeros((3, H)), xs[:, 0])
    with pytest.raises(ValueError, match=r"carry must have shape \(2, 4\)"):
        rnnax.rnn(params, xs, h0[:1], strategy="parallel")


def test_wrong_types_and_options_are_named(rng):
    params, xs, _ = random_case(rng, (2,))
    gru_params = rnnax.GRUParams(
        jnp.zeros((I, 3 * H)), jnp.zeros((H, 3 * H)), jnp.zeros(3 * H), jnp.zeros(3 * H)
    )
    with pytest.raises(TypeError, match="params must be MinGRUParams, got GRUParams"):
        mingru_cell(gru_params, jnp.zeros(H), xs[0, 0])
    with pytest.raises(TypeError, match="params must be MinGRUParams, got tuple"):
        rnnax.rnn(tuple(params), xs, cell="mingru")
    with pytest.raises(ValueError, match=r"unroll=2 has no meaning for strategy='parallel'"):
        rnnax.rnn(params, xs, strategy="parallel", unroll=2)
    with pytest.raises(
        ValueError, match="strategy='custom_vjp' is not available for cell 'mingru'"
    ):
        rnnax.rnn(params, xs, strategy="custom_vjp")
