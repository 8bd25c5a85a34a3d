"""The Elman cells (tanh and relu) against a float64 NumPy loop: every strategy, lengths,
reverse, batch shapes; the generic custom VJP's gradients; bfloat16; errors; the registry."""

from __future__ import annotations

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import rnnax
from rnnax._cell_elman import (
    ELMAN,
    ELMAN_RELU,
    ElmanParams,
    ElmanReluParams,
    elman_cell,
    elman_init,
)
from rnnax._protocol import cell_of

RTOL, ATOL = 1e-5, 1e-6
T, I, H = 5, 3, 4
STRATEGIES = ["scan", "custom_vjp", "remat", "auto"]
NONLINEARITIES = ["tanh", "relu"]


# ------------------------------------------------------------------ float64 NumPy reference


def reference_step(params, h, x, nonlinearity):
    w_x, w_h, b_x, b_h = (np.asarray(leaf, np.float64) for leaf in params)
    a = x @ w_x + b_x + h @ w_h + b_h
    return np.tanh(a) if nonlinearity == "tanh" else np.maximum(a, 0.0)


def reference_sequence(params, xs, h0, nonlinearity, length=None, reverse=False):
    """One unbatched sequence ``xs [T, I]``, one step at a time; padded outputs are zero."""
    xs = np.asarray(xs, np.float64)
    length = xs.shape[0] if length is None else length
    h = np.asarray(h0, np.float64)
    ys = np.zeros((xs.shape[0], h.shape[-1]))
    for t in reversed(range(length)) if reverse else range(length):
        h = reference_step(params, h, xs[t], nonlinearity)
        ys[t] = h
    return h, ys


def reference_run(params, xs, h0, nonlinearity, lengths, reverse):
    """The unbatched reference looped over every batch index of ``xs [..., T, I]``."""
    batch_shape = xs.shape[:-2]
    ys = np.zeros((*batch_shape, xs.shape[-2], H))
    h_final = np.zeros((*batch_shape, H))
    for index in np.ndindex(batch_shape):
        length = None if lengths is None else int(np.asarray(lengths)[index])
        h_final[index], ys[index] = reference_sequence(
            params, xs[index], h0[index], nonlinearity, length, reverse
        )
    return h_final, ys


def random_params(rng, nonlinearity="tanh", dtype=jnp.float32, input_size=I):
    """Random parameters (nonzero biases: a dropped or misplaced bias must show)."""
    kind = ElmanReluParams if nonlinearity == "relu" else ElmanParams
    shapes = [(input_size, H), (H, H), (H,), (H,)]
    return kind(*(jnp.asarray(rng.normal(0.0, 0.6, shape), dtype) for shape in shapes))


def random_case(rng, nonlinearity, batch_shape, dtype=jnp.float32):
    params = random_params(rng, nonlinearity, dtype)
    xs = jnp.asarray(rng.normal(size=(*batch_shape, T, I)), dtype)
    h0 = jnp.asarray(rng.normal(0.0, 0.5, size=(*batch_shape, H)), dtype)
    return params, xs, h0


# (batch shape, lengths or None, reverse): every batch shape, a zero length, both directions.
CASES = [
    ((), None, False),
    ((), 3, True),
    ((4,), [5, 0, 3, 1], True),
    ((2, 3), [[5, 0, 2], [1, 5, 4]], False),
]


@pytest.mark.parametrize("nonlinearity", NONLINEARITIES)
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_rnn_matches_the_reference(rng, strategy, nonlinearity):
    for batch_shape, lengths, reverse in CASES:
        params, xs, h0 = random_case(rng, nonlinearity, batch_shape)
        lengths = None if lengths is None else jnp.asarray(lengths, jnp.int32)
        h, ys = rnnax.rnn(params, xs, h0, seq_lengths=lengths, reverse=reverse, strategy=strategy)
        h_ref, ys_ref = reference_run(
            params, np.asarray(xs), np.asarray(h0), nonlinearity, lengths, reverse
        )
        case = f"batch {batch_shape}, lengths {lengths}, reverse {reverse}"
        np.testing.assert_allclose(ys, ys_ref, rtol=RTOL, atol=ATOL, err_msg=case)
        np.testing.assert_allclose(h, h_ref, rtol=RTOL, atol=ATOL, err_msg=case)


def test_zero_carry_time_major_and_stacks(rng):
    """``carry=None`` is zeros; ``time_major`` moves only the layout; a bidirectional stack
    concatenates the forward run and the reverse run."""
    params, xs, _ = random_case(rng, "relu", (2,))
    _, ys = rnnax.rnn(params, xs)
    _, ys_ref = reference_run(params, np.asarray(xs), np.zeros((2, H)), "relu", None, False)
    np.testing.assert_allclose(ys, ys_ref, rtol=RTOL, atol=ATOL)
    _, ys_tm = rnnax.rnn(params, jnp.moveaxis(xs, 1, 0), time_major=True)
    np.testing.assert_allclose(jnp.moveaxis(ys_tm, 0, 1), ys, rtol=RTOL, atol=ATOL)
    backward = random_params(rng, "relu")
    _, ys_stack = rnnax.rnn_stack([[params, backward]], xs)
    _, ys_back = reference_run(backward, np.asarray(xs), np.zeros((2, H)), "relu", None, True)
    np.testing.assert_allclose(
        ys_stack, np.concatenate([ys_ref, ys_back], -1), rtol=RTOL, atol=ATOL
    )


@pytest.mark.parametrize("nonlinearity", NONLINEARITIES)
@pytest.mark.parametrize("batch_shape", [(), (4,), (2, 3)])
def test_elman_cell_matches_the_reference(rng, nonlinearity, batch_shape):
    params, _, h = random_case(rng, nonlinearity, batch_shape)
    x = jnp.asarray(rng.normal(size=(*batch_shape, I)), jnp.float32)
    h_new, y = elman_cell(params, h, x)
    expected = reference_step(
        params, np.asarray(h, np.float64), np.asarray(x, np.float64), nonlinearity
    )
    np.testing.assert_allclose(h_new, expected, rtol=RTOL, atol=ATOL)
    np.testing.assert_array_equal(y, h_new)


def test_the_type_carries_the_nonlinearity(rng):
    params, xs, h0 = random_case(rng, "tanh", (3,))
    _, tanh_ys = rnnax.rnn(params, xs, h0)
    _, relu_ys = rnnax.rnn(ElmanReluParams(*params), xs, h0)
    assert float(jnp.abs(tanh_ys).max()) < 1.0
    assert float(relu_ys.min()) == 0.0 and float(relu_ys.max()) > 1.0
    assert cell_of(params) is ELMAN and cell_of(ElmanReluParams(*params)) is ELMAN_RELU
    # jit, grad and vmap keep the type (and with it the nonlinearity).
    grads = jax.grad(lambda p: jnp.sum(rnnax.rnn(p, xs, h0)[1]))(ElmanReluParams(*params))
    assert type(grads) is ElmanReluParams
    assert type(jax.jit(lambda p: p)(ElmanReluParams(*params))) is ElmanReluParams


# ------------------------------------------------------------------------------- gradients


def loss(params, xs, h0, **options):
    h, ys = rnnax.rnn(params, xs, h0, **options)
    return jnp.sum(ys**2) + jnp.sum(jnp.sin(h))


@pytest.mark.parametrize("nonlinearity", NONLINEARITIES)
def test_custom_vjp_gradients_equal_the_scan(rng, nonlinearity):
    params, xs, h0 = random_case(rng, nonlinearity, (3,))
    grad = jax.grad(loss, argnums=(0, 1, 2))
    configurations = [(jnp.array([5, 0, 2]), True, False)]
    if nonlinearity == "tanh":  # the layouts and masks do not depend on the nonlinearity
        configurations += [(None, False, False), (jnp.array([3, 5, 0]), False, True)]
    for lengths, reverse, time_major in configurations:
        inputs = jnp.moveaxis(xs, 1, 0) if time_major else xs
        options = dict(seq_lengths=lengths, reverse=reverse, time_major=time_major)
        expected = grad(params, inputs, h0, strategy="scan", **options)
        actual = grad(params, inputs, h0, strategy="custom_vjp", **options)
        chex.assert_trees_all_close(actual, expected, rtol=1e-5, atol=1e-6)
        if reverse:
            remat = grad(params, inputs, h0, strategy="remat", **options)
            chex.assert_trees_all_close(remat, expected, rtol=1e-5, atol=1e-6)
        if lengths is not None:  # padded inputs get exactly zero gradient
            d_xs = np.asarray(actual[1])
            padded = np.arange(T)[None, :] >= np.asarray(lengths)[:, None]
            assert not np.any((d_xs.swapaxes(0, 1) if time_major else d_xs)[padded])


@pytest.mark.parametrize("nonlinearity", NONLINEARITIES)
def test_custom_vjp_passes_finite_differences(nonlinearity):
    with jax.enable_x64(True):
        params, xs, h0 = random_case(
            np.random.default_rng(3), nonlinearity, (3,), dtype=jnp.float64
        )
        for lengths, reverse in [(None, False), (jnp.array([5, 2, 0], jnp.int32), True)]:
            f = functools.partial(loss, seq_lengths=lengths, reverse=reverse, strategy="custom_vjp")
            check_grads(
                f, (params, xs, h0), order=1, modes=("rev",), atol=1e-5, rtol=1e-5, eps=1e-6
            )


@pytest.mark.parametrize("nonlinearity", NONLINEARITIES)
def test_bfloat16_runs_close_to_float32(rng, nonlinearity):
    params, xs, h0 = random_case(rng, nonlinearity, (2,), dtype=jnp.bfloat16)
    wide = jax.tree.map(lambda leaf: leaf.astype(jnp.float32), (params, xs, h0))
    _, expected = rnnax.rnn(*wide, strategy="scan")
    for strategy in STRATEGIES:
        h, ys = rnnax.rnn(params, xs, h0, strategy=strategy)
        assert ys.dtype == h.dtype == jnp.bfloat16
        np.testing.assert_allclose(np.asarray(ys, np.float32), expected, rtol=5e-2, atol=5e-2)
    grads = jax.grad(loss)(params, xs, h0, strategy="custom_vjp")
    assert type(grads) is type(params)
    assert all(g.dtype == jnp.bfloat16 and bool(jnp.isfinite(g).all()) for g in grads)


# ----------------------------------------------------------------------- init and registry


def test_init_layout_types_and_dtype():
    params = elman_init(jax.random.key(0), I, 6)
    assert type(params) is ElmanParams
    assert [leaf.shape for leaf in params] == [(I, 6), (6, 6), (6,), (6,)]
    block = np.asarray(params.w_h, np.float64)
    np.testing.assert_allclose(block.T @ block, np.eye(6), atol=1e-5)  # orthogonal
    assert float(jnp.abs(params.w_x).max()) <= np.sqrt(6 / (I + 6))  # Glorot uniform
    assert not np.any(params.b_x) and not np.any(params.b_h)
    relu = elman_init(jax.random.key(0), I, 6, nonlinearity="relu", dtype=jnp.bfloat16)
    assert type(relu) is ElmanReluParams and all(leaf.dtype == jnp.bfloat16 for leaf in relu)
    assert type(ELMAN_RELU.init(jax.random.key(0), I, 6)) is ElmanReluParams
    layers = rnnax.rnn_stack_init("elman", jax.random.key(0), I, 6, nonlinearity="relu")
    assert type(layers[0][0]) is ElmanReluParams


def test_registry_counting_and_strategies():
    assert rnnax.get_cell("elman") is ELMAN and rnnax.get_cell("elman_relu") is ELMAN_RELU
    assert {"elman", "elman_relu"} <= set(rnnax.registered_cells())
    for cell in (ELMAN, ELMAN_RELU):
        assert "custom_vjp" in rnnax.available_strategies(cell)
    # 2*I*H + 2*H*H + 3H adds + H activations; two biases of H.
    assert rnnax.flops_per_step("elman", 3, 4) == 2 * 4 * 7 + 16
    assert rnnax.stack_param_count("elman_relu", 3, 4) == 12 + 16 + 8
    assert rnnax.stack_param_count("elman", 3, 4, num_layers=2, bidirectional=True) == 2 * (
        36 + (8 * 4 + 16 + 8)
    )


# ----------------------------------------------------------------------------------- errors


def test_wrong_layouts_are_named(rng):
    params, xs, _ = random_case(rng, "tanh", (2,))
    with pytest.raises(ValueError, match=r"params\.w_h must have shape .*got \(4, 5\)"):
        rnnax.rnn(params._replace(w_h=jnp.zeros((H, H + 1))), xs)
    with pytest.raises(ValueError, match=r"params\.w_x must have shape .*got \(3, 5\)"):
        rnnax.rnn(params._replace(w_x=jnp.zeros((I, H + 1))), xs)
    with pytest.raises(ValueError, match=r"params\.b_h must have shape .*got \(8,\)"):
        rnnax.rnn(params._replace(b_h=jnp.zeros(2 * H)), xs)
    with pytest.raises(TypeError, match=r"params\.b_x has dtype bfloat16"):
        rnnax.rnn(params._replace(b_x=params.b_x.astype(jnp.bfloat16)), xs)
    with pytest.raises(ValueError, match=r"xs must have the input size I of params = 3"):
        rnnax.rnn(params, xs[..., :2])
    with pytest.raises(ValueError, match=r"params\.w_h must have shape .*got \(4, 1\)"):
        elman_cell(params._replace(w_h=jnp.zeros((H, 1))), jnp.zeros(H), xs[0, 0])
    with pytest.raises(ValueError, match=r"carry must have shape \(2, 4\)"):
        elman_cell(params, jnp.zeros((3, H)), xs[:, 0])


def test_wrong_types_are_named(rng):
    params, xs, _ = random_case(rng, "relu", (2,))
    with pytest.raises(
        TypeError, match="params must be ElmanParams or ElmanReluParams, got GRUParams"
    ):
        elman_cell(rnnax.gru_init(jax.random.key(0), I, H), jnp.zeros(H), xs[0, 0])
    # Relu weights run as the tanh cell would silently compute another function.
    with pytest.raises(TypeError, match="belong to cell 'elman_relu', not 'elman'"):
        rnnax.rnn(params, xs, cell="elman")
    with pytest.raises(
        ValueError, match=r"nonlinearity must be one of \('tanh', 'relu'\), got 'sigmoid'"
    ):
        elman_init(jax.random.key(0), I, H, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="contradicts"):
        ELMAN_RELU.init(jax.random.key(0), I, H, nonlinearity="tanh")
    with pytest.raises((TypeError, ValueError), match="hidden_size"):
        elman_init(jax.random.key(0), I, 0)
