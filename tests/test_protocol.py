"""The cell protocol: a cell defined here, in the test, gets every strategy (the generic custom
VJP included), stacks, streams, an NNX module and a forecaster; malformed cells are named; the
GRU form travels with the parameters; forward-mode autodiff and ``unroll`` under every strategy.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import rnnax
from rnnax._protocol import _BY_TYPE, _REGISTRY

RTOL, ATOL = 1e-5, 1e-5


# A cell of the test's own, chosen to exercise what the LSTM and GRU do not: a carry with a leaf
# the output does not hold (a running mean m), a non-additive pointwise step (a per-unit gain on
# the recurrent pre-activation) and pointwise parameters of its own (gain, leak).
#   h' = (1 - s) h + s tanh(a_x + gain * a_h),  s = sigmoid(leak)
#   m' = 0.9 m + 0.1 h'
class LeakyParams(NamedTuple):
    w_x: jax.Array  # [I, H]
    w_h: jax.Array  # [H, H]
    b: jax.Array  # [H]
    gain: jax.Array  # [H]
    leak: jax.Array  # [H]


class LeakyCarry(NamedTuple):
    h: jax.Array
    m: jax.Array


def leaky_init(key, input_size, hidden_size, *, dtype=jnp.float32):
    k_x, k_h, k_g, k_l = jax.random.split(key, 4)
    return LeakyParams(
        w_x=jax.random.normal(k_x, (input_size, hidden_size), dtype) / input_size**0.5,
        w_h=jax.random.normal(k_h, (hidden_size, hidden_size), dtype) / hidden_size**0.5,
        b=jnp.zeros((hidden_size,), dtype),
        gain=1.0 + 0.1 * jax.random.normal(k_g, (hidden_size,), dtype),
        leak=jax.random.normal(k_l, (hidden_size,), dtype),
    )


def _rows(vector, like):
    """``[H]`` as ``[1, ..., 1, H]`` (the tests forbid implicit rank promotion)."""
    return vector.reshape((1,) * (like.ndim - 1) + vector.shape)


def leaky_pointwise(params, carry, a_x, a_h):
    s = _rows(jax.nn.sigmoid(params.leak), a_x)
    h = (1 - s) * carry.h + s * jnp.tanh(a_x + _rows(params.gain, a_h) * a_h)
    return LeakyCarry(h, 0.9 * carry.m + 0.1 * h), h


LEAKY_SPLIT = rnnax.GemmSplit(
    weights=lambda p: (p.w_x, p.b, p.w_h, None),
    pointwise=leaky_pointwise,
    recurrent_input=lambda carry: carry.h,
)


def leaky_carry_init(hidden_size, batch_shape, dtype):
    zeros = jnp.zeros((*batch_shape, hidden_size), dtype)
    return LeakyCarry(zeros, zeros)


LEAKY = rnnax.Cell(
    name="test_leaky",
    init=leaky_init,
    step=rnnax.split_step(LEAKY_SPLIT),
    layout={"w_x": ("I", "H"), "w_h": ("H", "H"), "b": ("H",), "gain": ("H",), "leak": ("H",)},
    carry_init=leaky_carry_init,
    params_type=LeakyParams,
    flops=lambda i, h: 2 * h * (i + h) + 10 * h,
    split=LEAKY_SPLIT,
    description="a test cell",
)
if "test_leaky" not in _REGISTRY:  # pytest may import this module twice under xdist reruns
    rnnax.register_cell(LEAKY)


def leaky_reference(params, xs, h0, m0, length, reverse):
    """Float64 NumPy loop over one sequence ``xs [T, I]``."""
    p = [np.asarray(leaf, np.float64) for leaf in params]
    w_x, w_h, b, gain, leak = p
    s = 1 / (1 + np.exp(-leak))
    h, m = np.asarray(h0, np.float64), np.asarray(m0, np.float64)
    num_steps = xs.shape[0]
    ys = np.zeros((num_steps, h.shape[-1]))
    order = range(length - 1, -1, -1) if reverse else range(length)
    for t in order:
        x = np.asarray(xs[t], np.float64)
        h = (1 - s) * h + s * np.tanh(x @ w_x + b + gain * (h @ w_h))
        m = 0.9 * m + 0.1 * h
        ys[t] = h
    return (h, m), ys


def random_case(rng, batch=4, steps=6, inputs=3, hidden=5, dtype=np.float32):
    params = leaky_init(jax.random.key(1), inputs, hidden)
    params = params._replace(b=jnp.asarray(rng.normal(size=hidden), jnp.float32))
    params = jax.tree.map(lambda leaf: jnp.asarray(leaf, dtype), params)
    xs = jnp.asarray(rng.normal(size=(batch, steps, inputs)), dtype)
    carry = LeakyCarry(
        jnp.asarray(rng.normal(size=(batch, hidden)), dtype),
        jnp.asarray(rng.normal(size=(batch, hidden)), dtype),
    )
    return params, xs, carry


STRATEGIES = ("scan", "custom_vjp", "remat", "auto")


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_test_defined_cell_matches_its_float64_reference(rng, strategy, reverse):
    params, xs, carry = random_case(rng)
    lengths = jnp.array([6, 3, 0, 1], jnp.int32)
    final, ys = rnnax.rnn(
        params, xs, carry, seq_lengths=lengths, reverse=reverse, strategy=strategy
    )
    for b in range(4):
        (h, m), expected = leaky_reference(
            params, xs[b], carry.h[b], carry.m[b], int(lengths[b]), reverse
        )
        np.testing.assert_allclose(ys[b], expected, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(final.h[b], h, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(final.m[b], m, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("batch_shape", [(), (2, 3)])
def test_any_batch_shape_and_time_major(rng, batch_shape):
    params = leaky_init(jax.random.key(0), 3, 4)
    xs = jnp.asarray(rng.normal(size=(*batch_shape, 5, 3)), jnp.float32)
    final, ys = rnnax.rnn(params, xs, strategy="custom_vjp")
    _, ys_tm = rnnax.rnn(params, jnp.moveaxis(xs, -2, 0), time_major=True)
    assert ys.shape == (*batch_shape, 5, 4) and final.m.shape == (*batch_shape, 4)
    np.testing.assert_allclose(jnp.moveaxis(ys_tm, 0, -2), ys, rtol=RTOL, atol=ATOL)


def _loss(params, xs, carry, *, strategy, lengths=None, reverse=False):
    final, ys = rnnax.rnn(
        params, xs, carry, seq_lengths=lengths, reverse=reverse, strategy=strategy
    )
    return jnp.sum(ys**2) + jnp.sum(jnp.sin(final.h)) + jnp.sum(final.m**3)


@pytest.mark.parametrize("reverse", [False, True])
def test_generic_custom_vjp_equals_the_scan_gradient(rng, reverse):
    params, xs, carry = random_case(rng)
    lengths = jnp.array([6, 3, 0, 1], jnp.int32)
    grads = {
        strategy: jax.grad(
            functools.partial(_loss, strategy=strategy, lengths=lengths, reverse=reverse),
            argnums=(0, 1, 2),
        )(params, xs, carry)
        for strategy in ("scan", "custom_vjp")
    }
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5),
        grads["custom_vjp"],
        grads["scan"],
    )


def test_generic_custom_vjp_matches_finite_differences(rng):
    with jax.enable_x64(True):
        params, xs, carry = jax.tree.map(
            lambda leaf: jnp.asarray(leaf, jnp.float64), random_case(rng, batch=3, steps=4)
        )
        lengths = jnp.array([4, 2, 0], jnp.int32)
        f = functools.partial(_loss, strategy="custom_vjp", lengths=lengths, reverse=True)
        check_grads(f, (params, xs, carry), order=1, modes=["rev"], atol=1e-5, rtol=1e-5)


def test_bidirectional_stack_with_dropout_and_remat(rng):
    _, xs, _ = random_case(rng)
    layers = rnnax.rnn_stack_init(LEAKY, jax.random.key(2), 3, 5, num_layers=2, bidirectional=True)
    finals, ys = rnnax.rnn_stack(layers, xs, strategy="remat")
    # The reference composition, layer by layer.
    _, forward = rnnax.rnn(layers[0][0], xs, strategy="scan")
    _, backward = rnnax.rnn(layers[0][1], xs, reverse=True, strategy="scan")
    _, top = rnnax.rnn(layers[1][0], jnp.concatenate([forward, backward], -1), strategy="scan")
    np.testing.assert_allclose(ys[..., :5], top, rtol=RTOL, atol=ATOL)
    assert ys.shape == (4, 6, 10) and isinstance(finals[1][1], LeakyCarry)
    dropped = rnnax.rnn_stack(layers, xs, dropout_rate=0.5, dropout_key=jax.random.key(3))[1]
    assert not np.allclose(dropped, ys)


def test_streams_equal_one_pass(rng):
    params, xs, carry = random_case(rng)
    state = rnnax.stream_init(params, (4,), carry=carry)
    state, first = rnnax.stream_apply(params, state, xs[:, :2])
    state, rest = rnnax.stream_apply(params, state, xs[:, 2:])
    final, ys = rnnax.rnn(params, xs, carry)
    np.testing.assert_allclose(jnp.concatenate([first, rest], 1), ys, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(state.carry.m, final.m, rtol=RTOL, atol=ATOL)
    scanned, kept = rnnax.stream_scan(
        params, rnnax.stream_init(params, (4,), carry=carry), xs, chunk_length=2, keep_every=2
    )
    np.testing.assert_allclose(kept, ys[:, 1::2], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(scanned.carry.m, final.m, rtol=RTOL, atol=ATOL)


def test_nnx_module_and_forecaster(rng, standard_promotion):
    from flax import nnx

    from rnnax import data, forecasting, training

    module = rnnax.nnx.RNN(3, 5, cell=LEAKY, rngs=nnx.Rngs(0))
    _, xs, _ = random_case(rng)
    _, ys = module(xs)
    layers = rnnax.rnn_stack_init(LEAKY, nnx.Rngs(0).params(), 3, 5)
    np.testing.assert_allclose(ys, rnnax.rnn_stack(layers, xs)[1], rtol=RTOL, atol=ATOL)

    series = np.sin(np.arange(120.0) / 6)[:, None].astype(np.float32)
    windows = data.sliding_windows(series, lookback=12, horizon=3)
    model = forecasting.forecaster(forecasting.ForecasterConfig(horizon=3, cell="test_leaky"))
    result = training.fit(model, model.init(jax.random.key(0)), windows, epochs=2, progress=False)
    assert np.isfinite(result.history.train_loss[-1])


def test_counters_read_the_cell():
    assert rnnax.stack_param_count(LEAKY, 3, 5) == 3 * 5 + 5 * 5 + 3 * 5
    assert rnnax.stack_param_count("test_leaky", 3, 5, num_layers=2) == 55 + (5 * 5 + 5 * 5 + 15)
    assert rnnax.flops_per_step(LEAKY, 3, 5) == 2 * 5 * 8 + 50
    assert rnnax.param_count(leaky_init(jax.random.key(0), 3, 5)) == 55


# ------------------------------------------------------------------------- malformed cells


def _with_step(step):
    return LEAKY._replace(name="test_broken", step=step, split=None)


def test_a_step_that_changes_the_carry_shape_is_named():
    def step(params, carry, x):
        carry, y = LEAKY.step(params, carry, x)
        return LeakyCarry(carry.h[..., :-1], carry.m), y

    params = leaky_init(jax.random.key(0), 3, 5)
    with pytest.raises(TypeError, match=r"cell 'test_broken': step must return a carry of the"):
        rnnax.rnn(params, jnp.ones((2, 4, 3)), cell=_with_step(step))


def test_a_step_that_changes_the_carry_dtype_is_named():
    def step(params, carry, x):
        carry, y = LEAKY.step(params, carry, x)
        return LeakyCarry(carry.h, carry.m.astype(jnp.bfloat16)), y

    params = leaky_init(jax.random.key(0), 3, 5)
    with pytest.raises(TypeError, match=r"step must return a carry of the structure, shapes and"):
        rnnax.rnn(params, jnp.ones((2, 4, 3)), cell=_with_step(step))


def test_a_step_with_a_wrong_output_is_named():
    def step(params, carry, x):
        carry, y = LEAKY.step(params, carry, x)
        return carry, jnp.concatenate([y, y], axis=-1)

    params = leaky_init(jax.random.key(0), 3, 5)
    with pytest.raises(ValueError, match=r"step must return an output y of shape \(2, 5\)"):
        rnnax.rnn(params, jnp.ones((2, 4, 3)), cell=_with_step(step))


def test_a_wrong_parameter_layout_is_named():
    params = leaky_init(jax.random.key(0), 3, 5)
    with pytest.raises(ValueError, match=r"params.gain must have shape \(5,\), got \(6,\)"):
        rnnax.rnn(params._replace(gain=jnp.ones(6)), jnp.ones((2, 4, 3)))
    with pytest.raises(TypeError, match=r"params must be LeakyParams, got LSTMParams"):
        rnnax.rnn(rnnax.lstm_init(jax.random.key(0), 3, 5), jnp.ones((2, 4, 3)), cell=LEAKY)
    with pytest.raises(TypeError, match=r"carry must be LeakyCarry\(h, m\) or None, got tuple"):
        rnnax.rnn(params, jnp.ones((2, 4, 3)), (jnp.zeros((2, 5)), jnp.zeros((2, 5))))


def test_malformed_descriptions_and_registrations():
    with pytest.raises(TypeError, match=r"layout\['w'\] must be a tuple"):
        rnnax.register_cell(LEAKY._replace(name="test_bad_layout", layout={"w": "H"}))
    with pytest.raises(TypeError, match=r"a layout entry must be 'I', 'H' or a multiple"):
        rnnax.register_cell(LEAKY._replace(name="test_bad_symbol", layout={"w": ("I", "K")}))
    with pytest.raises(ValueError, match=r"a different cell is already registered as 'lstm'"):
        rnnax.register_cell(LEAKY._replace(name="lstm"))
    with pytest.raises(ValueError, match=r"params_type LeakyParams already belongs to cell"):
        rnnax.register_cell(LEAKY._replace(name="test_other_leaky"))
    assert rnnax.register_cell(LEAKY) is LEAKY  # the same cell again is fine
    with pytest.raises(ValueError, match=r"cell must be one of .* got 'nope'"):
        rnnax.get_cell("nope")
    with pytest.raises(TypeError, match=r"params must be the parameters of a registered cell"):
        rnnax.rnn({"w": jnp.ones(3)}, jnp.ones((2, 4, 3)))
    assert _BY_TYPE[LeakyParams] is LEAKY


def test_strategies_a_cell_lacks_are_clear_errors():
    params = leaky_init(jax.random.key(0), 3, 5)
    for strategy in ("pallas", "cudnn", "parallel"):
        with pytest.raises(ValueError, match=rf"strategy='{strategy}'"):
            rnnax.rnn(params, jnp.ones((2, 4, 3)), strategy=strategy)
    no_split = LEAKY._replace(name="test_no_split", split=None)
    with pytest.raises(ValueError, match=r"strategy='custom_vjp' is not available for cell"):
        rnnax.rnn(params, jnp.ones((2, 4, 3)), cell=no_split, strategy="custom_vjp")


# ----------------------------------------------------------------------------- footguns


def test_the_gru_form_travels_with_the_parameters(rng):
    plain = rnnax.gru_init(jax.random.key(0), 3, 4)
    plain = plain._replace(b_h=jnp.asarray(rng.normal(size=12), jnp.float32))
    converted = rnnax.GRUResetAfterParams(*plain)
    xs = jnp.asarray(rng.normal(size=(2, 5, 3)), jnp.float32)
    h0 = jnp.asarray(rng.normal(size=(2, 4)), jnp.float32)
    expected = rnnax.gru(plain, xs, h0, reset_after=True)
    np.testing.assert_array_equal(rnnax.gru(converted, xs, h0)[1], expected[1])
    np.testing.assert_array_equal(rnnax.rnn(converted, xs, h0)[1], expected[1])
    assert not np.allclose(rnnax.gru(plain, xs, h0)[1], expected[1])  # the default form differs
    # Transformations keep the type, so gradients and vmapped parameters run in the same form.
    grads = jax.grad(lambda p: jnp.sum(rnnax.gru(p, xs, h0)[1]))(converted)
    assert type(grads) is rnnax.GRUResetAfterParams
    with pytest.raises(ValueError, match=r"reset_after=False contradicts params of type"):
        rnnax.gru(converted, xs, reset_after=False)
    with pytest.raises(ValueError, match=r"reset_after=False contradicts"):
        rnnax.gru_stack([[converted]], xs, reset_after=False)
    with pytest.raises(TypeError, match=r"belong to cell 'gru_reset_after', not 'gru'"):
        rnnax.rnn(converted, xs, cell="gru")
    step_h, _ = rnnax.gru_cell(converted, h0, xs[:, 0])
    np.testing.assert_allclose(step_h, expected[1][:, 0], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("cell", ["lstm", "gru", "gru_reset_after", "test_leaky"])
def test_forward_mode_autodiff_under_the_default_strategy(rng, cell):
    params = rnnax.get_cell(cell).init(jax.random.key(0), 3, 4)
    xs = jnp.asarray(rng.normal(size=(2, 5, 3)), jnp.float32)

    def loss(params):
        return jnp.sum(rnnax.rnn(params, xs)[1] ** 2)

    tangent = jax.tree.map(jnp.ones_like, params)
    _, directional = jax.jvp(loss, (params,), (tangent,))
    reverse = jax.grad(loss)(params)
    expected = sum(jnp.sum(g) for g in jax.tree.leaves(reverse))
    np.testing.assert_allclose(directional, expected, rtol=1e-4)
    jacobian = jax.jacfwd(loss)(params)
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6), jacobian, reverse
    )
    hessian = jax.hessian(lambda w_x: loss(params._replace(w_x=w_x)))(params.w_x)
    assert hessian.shape == params.w_x.shape * 2 and np.all(np.isfinite(hessian))


def test_reverse_mode_keeps_the_fast_path_under_auto(monkeypatch):
    from rnnax import _strategies

    chosen = []
    compiled = _strategies._run_flat_compiled

    def spy(*args, **kwargs):
        chosen.append(kwargs["strategy"])
        return compiled(*args, **kwargs)

    monkeypatch.setattr(_strategies, "_run_flat_compiled", spy)
    params = rnnax.lstm_init(jax.random.key(0), 3, 4)
    xs = jnp.ones((2, 5, 3))

    def loss(params):
        return jnp.sum(rnnax.lstm(params, xs)[1])

    jax.grad(loss)(params)
    jax.jvp(loss, (params,), (params,))
    jax.jit(jax.grad(loss))(params)
    fast = "native" if "native" in rnnax.available_strategies("lstm") else "custom_vjp"
    assert chosen == [fast, "scan", fast]


@pytest.mark.parametrize("strategy", ["scan", "remat", "custom_vjp", "auto"])
def test_unroll_is_honoured_where_a_scan_loops(rng, strategy):
    params = rnnax.lstm_init(jax.random.key(0), 3, 4)
    xs = jnp.asarray(rng.normal(size=(2, 6, 3)), jnp.float32)
    _, ys = rnnax.lstm(params, xs, strategy=strategy)
    _, unrolled = rnnax.lstm(params, xs, strategy=strategy, unroll=3)
    np.testing.assert_allclose(unrolled, ys, rtol=RTOL, atol=ATOL)
    if strategy == "custom_vjp":
        text = str(jax.make_jaxpr(lambda p: rnnax.lstm(p, xs, strategy=strategy, unroll=3))(params))
        assert "unroll=3" in text


@pytest.mark.parametrize("strategy", ["pallas", "cudnn"])
def test_unroll_is_an_error_where_no_scan_loops(strategy):
    params = rnnax.lstm_init(jax.random.key(0), 3, 4)
    with pytest.raises(ValueError, match=rf"unroll=2 has no meaning for strategy='{strategy}'"):
        rnnax.lstm(params, jnp.ones((2, 5, 3)), strategy=strategy, unroll=2)
