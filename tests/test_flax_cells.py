"""The generic Flax modules (``rnnax.nnx.RNN``, ``rnnax.linen.RNN``) with cells other than the
LSTM and the explainer's GRU: the reset-after GRU and a cell written here, in the test file,
through the cell protocol alone. Each module must equal ``rnnax.rnn_stack`` on its parameters
(bidirectional, with lengths and a carry), apply dropout between layers, and train under jit.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import flax.linen as linen
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx
from flax.core import FrozenDict

import rnnax
import rnnax.nnx as rnnx
from rnnax import linen as rlinen
from tests.flax_helpers import (
    BATCH,
    FEATURES,
    HIDDEN,
    LENGTHS,
    STEPS,
    assert_trees_equal,
    inputs,
)

KEY = jax.random.key(0)


# ------------------------------------------------------------------ a cell of the test's own


class ToyParams(NamedTuple):
    """An Elman-like cell's parameters. The field names are the LSTM's on purpose: the modules
    must dispatch on their cell, never on field names."""

    w_x: jax.Array  # [I, H]
    w_h: jax.Array  # [H, H]
    b: jax.Array  # [H]


def toy_init(key, input_size, hidden_size, *, dtype=jnp.float32, scale=1.0):
    k_x, k_h, k_b = jax.random.split(key, 3)
    return ToyParams(
        (scale / math.sqrt(input_size))
        * jax.random.normal(k_x, (input_size, hidden_size), jnp.float32).astype(dtype),
        (scale / math.sqrt(hidden_size))
        * jax.random.normal(k_h, (hidden_size, hidden_size), jnp.float32).astype(dtype),
        0.1 * jax.random.normal(k_b, (hidden_size,), jnp.float32).astype(dtype),
    )


def toy_step(params, h, x):
    bias = params.b.reshape((1,) * (h.ndim - 1) + params.b.shape)  # no rank promotion
    h = jnp.tanh(x @ params.w_x + h @ params.w_h + bias)
    return h, h


# Not registered: the modules take it as an object. Its own params_type lets the stacks check
# that the parameters are its own; TOY_UNTYPED has none (its type is read from its init).
TOY = rnnax.Cell(
    name="test_flax_cells_toy",
    init=toy_init,
    step=toy_step,
    layout={"w_x": ("I", "H"), "w_h": ("H", "H"), "b": ("H",)},
    carry_init=lambda hidden, batch_shape, dtype: jnp.zeros((*batch_shape, hidden), dtype),
    params_type=ToyParams,
)
TOY_UNTYPED = TOY._replace(params_type=None)
CELLS = {"gru_reset_after": "gru_reset_after", "toy": TOY, "toy_untyped": TOY_UNTYPED}
PARAMS_TYPES = {
    "gru_reset_after": rnnax.GRUResetAfterParams,
    "toy": ToyParams,
    "toy_untyped": ToyParams,
}


def random_carry(rng, num_layers, bidirectional):
    """A non-zero ``carry[layer][direction]`` (both cells carry one array ``[B, H]``)."""
    return [
        [
            jnp.asarray(rng.normal(size=(BATCH, HIDDEN)) * 0.5, jnp.float32)
            for _ in range(2 if bidirectional else 1)
        ]
        for _ in range(num_layers)
    ]


def reference_sequence(params, xs, h, length, reverse):
    """The toy cell, one unbatched sequence, float64 NumPy: what the stacks must compute."""
    w_x, w_h, b = (np.asarray(leaf, np.float64) for leaf in params)
    ys = np.zeros((xs.shape[0], w_h.shape[0]))
    for t in reversed(range(length)) if reverse else range(length):
        h = np.tanh(xs[t] @ w_x + h @ w_h + b)
        ys[t] = h
    return h, ys


# ------------------------------------------------------------------------------------- NNX


def nnx_model(cell_name, *, num_layers=2, bidirectional=True, seed=0, **kwargs):
    return rnnx.RNN(
        FEATURES,
        HIDDEN,
        cell=CELLS[cell_name],
        num_layers=num_layers,
        bidirectional=bidirectional,
        rngs=nnx.Rngs(seed),
        **kwargs,
    )


@nnx.jit
def nnx_module_and_pure(model, xs, xs_time_major, carry):
    layers = model.to_params()
    return (
        (model(xs), rnnax.rnn_stack(layers, xs, cell=model.cell)),
        (
            model(xs_time_major, carry, seq_lengths=LENGTHS, time_major=True),
            rnnax.rnn_stack(
                layers, xs_time_major, carry, cell=model.cell, seq_lengths=LENGTHS, time_major=True
            ),
        ),
    )


@pytest.mark.parametrize("cell_name", list(CELLS))
def test_nnx_rnn_equals_rnn_stack_on_its_params(rng, cell_name):
    model = nnx_model(cell_name)
    cell = rnnax.get_cell(CELLS[cell_name])
    assert model.cell == cell
    layers = model.to_params()
    assert type(layers[1][1]) is PARAMS_TYPES[cell_name]
    # One key, rngs.params(), for the whole stack: rnn_stack_init with that key.
    expected = rnnax.rnn_stack_init(
        cell, nnx.Rngs(0).params(), FEATURES, HIDDEN, num_layers=2, bidirectional=True
    )
    assert_trees_equal(layers, expected)
    assert layers[1][0].w_x.shape[0] == 2 * HIDDEN  # layer 1 reads both directions
    carry = random_carry(rng, 2, True)
    for actual, pure in nnx_module_and_pure(
        model, inputs(rng), inputs(rng, time_major=True), carry
    ):
        assert_trees_equal(actual, pure)
        final, ys = actual
        assert ys.shape[-1] == 2 * HIDDEN and len(final) == 2 and len(final[0]) == 2
    assert bool((pure[1][:, 1] == 0).all())  # the empty sequence's outputs


def test_nnx_toy_cell_equals_a_numpy_loop(rng):
    """The generic path computes the cell's own equations (not the LSTM's, whose field names
    the toy cell shares): one layer, one direction, against a float64 loop."""
    model = nnx_model("toy", num_layers=1, bidirectional=True)
    xs = inputs(rng)
    final, ys = model(xs, seq_lengths=jnp.array([STEPS, 2]))
    (forward, backward) = model.to_params()[0]
    for index, length in enumerate([STEPS, 2]):
        x = np.asarray(xs[index], np.float64)
        h_f, ys_f = reference_sequence(forward, x, np.zeros(HIDDEN), length, False)
        h_b, ys_b = reference_sequence(backward, x, np.zeros(HIDDEN), length, True)
        np.testing.assert_allclose(ys[index], np.concatenate([ys_f, ys_b], -1), atol=1e-5)
        np.testing.assert_allclose(final[0][0][index], h_f, atol=1e-5)
        np.testing.assert_allclose(final[0][1][index], h_b, atol=1e-5)


def test_nnx_rnn_from_params_round_trip_and_errors(rng):
    model = nnx_model("toy")
    layers = model.to_params()
    rebuilt = rnnx.RNN.from_params(layers, cell=TOY)
    assert type(rebuilt) is rnnx.RNN and rebuilt.cell == TOY
    assert nnx.graphdef(rebuilt) == nnx.graphdef(model)
    assert_trees_equal(rebuilt.to_params(), layers)
    xs = inputs(rng)
    assert_trees_equal(rebuilt(xs), model(xs))
    # An unregistered cell's parameters do not name it: the error says to pass cell=.
    with pytest.raises(TypeError, match="pass cell="):
        rnnx.RNN.from_params(layers)
    # Registered cells are found from the parameters' type.
    gru = rnnx.RNN.from_params(rnnax.rnn_stack_init("gru_reset_after", KEY, FEATURES, HIDDEN))
    assert gru.cell == rnnax.GRU_RESET_AFTER and (gru.in_features, gru.hidden_size) == (3, 5)
    with pytest.raises(TypeError, match="params must be ToyParams, got LSTMParams"):
        rnnx.RNN.from_params(rnnax.lstm_stack_init(KEY, FEATURES, HIDDEN), cell=TOY)
    with pytest.raises(ValueError, match=r"cell must be one of \(.*'lstm'"):
        rnnx.RNN(FEATURES, HIDDEN, cell="no_such_cell", rngs=nnx.Rngs(0))
    with pytest.raises(TypeError, match=r"cell must be a cell name or an rnnax\.Cell"):
        rnnx.RNN(FEATURES, HIDDEN, cell=3, rngs=nnx.Rngs(0))


def test_nnx_rnn_init_options_reach_the_cell_init():
    scaled = nnx_model("toy", num_layers=1, bidirectional=False, scale=2.0).to_params()
    plain = nnx_model("toy", num_layers=1, bidirectional=False).to_params()
    np.testing.assert_allclose(scaled[0][0].w_h, 2.0 * plain[0][0].w_h, rtol=1e-6)
    # The LSTM through RNN is the LSTM module: same parameters for the same options.
    lstm = rnnx.RNN(FEATURES, HIDDEN, cell="lstm", forget_bias=2.0, rngs=nnx.Rngs(3))
    assert_trees_equal(
        lstm.to_params(), rnnx.LSTM(FEATURES, HIDDEN, forget_bias=2.0, rngs=nnx.Rngs(3)).to_params()
    )


@nnx.jit
def nnx_train_eval_and_pure(model, xs, key):
    """The module in training mode with ``key`` for dropout, in eval mode, and the pure stack
    with the same key."""
    return (
        model(xs, rngs=key)[1],
        model(xs, deterministic=True)[1],
        rnnax.rnn_stack(
            model.to_params(),
            xs,
            cell=model.cell,
            dropout_rate=model.dropout_rate,
            dropout_key=key,
        )[1],
    )


@pytest.mark.parametrize("cell_name", ["gru_reset_after", "toy"])
def test_nnx_rnn_dropout_between_layers(rng, cell_name):
    xs = inputs(rng)
    model = nnx_model(cell_name, bidirectional=False, dropout_rate=0.5)
    train, evaluation, pure = nnx_train_eval_and_pure(model, xs, jax.random.key(1))
    assert_trees_equal(train, pure)
    assert not np.array_equal(train, evaluation)
    other, _, _ = nnx_train_eval_and_pure(model, xs, jax.random.key(2))
    assert not np.array_equal(train, other)
    # No dropout after the last layer: the outputs are tanh states, |h| < 1 and nonzero.
    assert float(jnp.abs(train).max()) < 1.0 and bool((train != 0).all())
    # The module's own stream (built with rngs, training mode by default) applies dropout too.
    assert not np.array_equal(model(xs)[1], evaluation)


@pytest.mark.parametrize("cell_name", ["gru_reset_after", "toy"])
def test_nnx_rnn_trains_under_jit_and_grad(rng, cell_name):
    xs = inputs(rng, batch=4)
    lengths = jnp.array([STEPS, 2, 3, 1])
    targets = jnp.full((4, STEPS, 2 * HIDDEN), 0.3, jnp.float32)
    model = nnx_model(cell_name, num_layers=2, bidirectional=True, dropout_rate=0.1)

    def loss_fn(model, deterministic=None):
        ys = model(xs, seq_lengths=lengths, deterministic=deterministic)[1]
        return jnp.mean(jnp.square(ys - targets))

    optimizer = nnx.Optimizer(model, optax.sgd(0.5), wrt=nnx.Param)

    @nnx.jit
    def train_step(model, optimizer):
        eval_loss = loss_fn(model, deterministic=True)
        grads = nnx.grad(loss_fn)(model)  # dropout from the module's stream
        optimizer.update(model, grads)
        return eval_loss, grads

    losses = []
    for _ in range(5):
        eval_loss, grads = train_step(model, optimizer)
        losses.append(float(eval_loss))
        leaves = jax.tree.leaves(grads)
        assert len(leaves) == 2 * 2 * len(model.to_params()[0][0])
        assert all(bool(jnp.isfinite(g).all()) and bool((g != 0).any()) for g in leaves)
    assert losses[-1] < 0.9 * losses[0]
    assert type(model.to_params()[0][0]) is PARAMS_TYPES[cell_name]  # training keeps the type


# ----------------------------------------------------------------------------------- Linen


def linen_model(cell_name, *, num_layers=2, bidirectional=True, **fields):
    return rlinen.RNN(
        HIDDEN,
        cell=CELLS[cell_name],
        num_layers=num_layers,
        bidirectional=bidirectional,
        **fields,
    )


class FirstParamsKey(linen.Module):
    """Returns the first key a top-level module draws from its ``params`` stream."""

    @linen.compact
    def __call__(self, xs):
        return self.make_rng("params")


def init_variables(model, xs):
    return model.lazy_init(KEY, jax.ShapeDtypeStruct(xs.shape, xs.dtype))


@functools.partial(jax.jit, static_argnums=0)
def linen_module_and_pure(model, variables, xs, xs_time_major, carry):
    cell = rnnax.get_cell(model.cell)
    layers = rlinen.to_params(variables, cell=cell)
    return (
        (model.apply(variables, xs), rnnax.rnn_stack(layers, xs, cell=cell)),
        (
            model.apply(variables, xs_time_major, carry, seq_lengths=LENGTHS, time_major=True),
            rnnax.rnn_stack(
                layers, xs_time_major, carry, cell=cell, seq_lengths=LENGTHS, time_major=True
            ),
        ),
    )


@pytest.mark.parametrize("cell_name", list(CELLS))
def test_linen_rnn_equals_rnn_stack_on_its_params(rng, cell_name):
    model = linen_model(cell_name)
    xs = inputs(rng)
    variables = init_variables(model, xs)
    cell = rnnax.get_cell(CELLS[cell_name])
    layers = rlinen.to_params(variables, cell=cell)
    assert type(layers[1][1]) is PARAMS_TYPES[cell_name]
    # Initialized from the first key of the params stream, as LSTM and GRU are.
    key, _ = FirstParamsKey().init_with_output(KEY, xs)
    expected = rnnax.rnn_stack_init(cell, key, FEATURES, HIDDEN, num_layers=2, bidirectional=True)
    assert_trees_equal(layers, expected)
    carry = random_carry(rng, 2, True)
    for actual, pure in linen_module_and_pure(
        model, variables, xs, inputs(rng, time_major=True), carry
    ):
        assert_trees_equal(actual, pure)
    # from_params of the pure layers gives the same variables back.
    assert_trees_equal(rlinen.from_params(layers), variables)


def test_linen_gru_reset_after_is_rnn_gru_reset_after(rng):
    xs = inputs(rng)
    generic = linen_model("gru_reset_after", num_layers=1)
    variables = init_variables(generic, xs)
    gru = rlinen.GRU(HIDDEN, bidirectional=True, reset_after=True)
    assert_trees_equal(init_variables(gru, xs), variables)  # the same initialization
    assert_trees_equal(gru.apply(variables, xs), generic.apply(variables, xs))
    # The explainer's form is another function of the same weights.
    explainer = rlinen.GRU(HIDDEN, bidirectional=True).apply(variables, xs)[1]
    assert not np.allclose(explainer, generic.apply(variables, xs)[1])


def test_linen_rnn_fields_and_conversion_errors(rng):
    model = rlinen.RNN(HIDDEN, cell="lstm", init_options={"forget_bias": 2.0})
    assert isinstance(model.init_options, FrozenDict)
    assert hash(model) == hash(rlinen.RNN(HIDDEN, cell="lstm", init_options={"forget_bias": 2.0}))
    xs = jnp.ones((STEPS, FEATURES))
    assert_trees_equal(
        init_variables(model, xs), init_variables(rlinen.LSTM(HIDDEN, forget_bias=2.0), xs)
    )

    toy = init_variables(linen_model("toy", num_layers=1, bidirectional=False), xs)
    assert type(rlinen.to_params(toy, cell=TOY)[0][0]) is ToyParams
    assert type(rlinen.to_params(toy, cell=TOY_UNTYPED)[0][0]) is ToyParams  # from its init
    # Parameters of another cell are named by type (the LSTM's and GRU's keys are known).
    with pytest.raises(TypeError, match="params must be ToyParams, got GRUParams"):
        rlinen.to_params(rlinen.from_params(rnnax.gru_stack_init(KEY, FEATURES, HIDDEN)), cell=TOY)
    with pytest.raises(TypeError, match="params must be GRUParams, got LSTMParams"):
        rlinen.to_params(toy, cell="gru")
    missing = {"layer_0": {"forward": {"w_x": toy["params"]["layer_0"]["forward"]["w_x"]}}}
    with pytest.raises(
        ValueError, match=r"must have the keys \['b', 'w_h', 'w_x'\] \(cell 'test_flax_cells_toy'\)"
    ):
        rlinen.to_params(missing, cell=TOY)
    with pytest.raises(ValueError, match="pass cell= for another cell"):
        rlinen.to_params(missing)
    with pytest.raises(ValueError, match="cell must be one of"):
        rlinen.RNN(HIDDEN, cell="no_such_cell").lazy_init(KEY, xs)
    with pytest.raises(TypeError, match="init_options must be a mapping"):
        rlinen.RNN(HIDDEN, init_options=3).lazy_init(KEY, xs)


class FirstDropoutKey(linen.Module):
    """Returns the first key a top-level module draws from its ``dropout`` stream."""

    @linen.compact
    def __call__(self):
        return self.make_rng("dropout")


@functools.partial(jax.jit, static_argnums=0)
def linen_train_eval_and_pure(model, variables, xs, key):
    """With dropout from ``rngs={"dropout": key}``, without, and the pure stack with the key
    the module draws from that stream."""
    cell = rnnax.get_cell(model.cell)
    return (
        model.apply(variables, xs, deterministic=False, rngs={"dropout": key})[1],
        model.apply(variables, xs)[1],
        rnnax.rnn_stack(
            rlinen.to_params(variables, cell=cell),
            xs,
            cell=cell,
            dropout_rate=model.dropout_rate,
            dropout_key=FirstDropoutKey().apply({}, rngs={"dropout": key}),
        )[1],
    )


def test_linen_rnn_dropout_between_layers(rng):
    xs = inputs(rng)
    model = linen_model("toy", bidirectional=False, dropout_rate=0.5)
    variables = init_variables(model, xs)
    train, evaluation, pure = linen_train_eval_and_pure(model, variables, xs, jax.random.key(1))
    assert_trees_equal(train, pure)
    assert not np.array_equal(train, evaluation)
    assert float(jnp.abs(train).max()) < 1.0 and bool((train != 0).all())


@pytest.mark.parametrize("cell_name", ["gru_reset_after", "toy"])
def test_linen_rnn_trains_under_jit_and_grad(rng, cell_name):
    xs = inputs(rng, batch=4)
    lengths = jnp.array([STEPS, 2, 3, 1])
    targets = jnp.full((4, STEPS, HIDDEN), 0.3, jnp.float32)
    model = linen_model(cell_name, num_layers=1, bidirectional=False)
    params = init_variables(model, xs)["params"]
    optimizer = optax.sgd(1.0)
    opt_state = optimizer.init(params)

    def loss_fn(params):
        ys = model.apply({"params": params}, xs, seq_lengths=lengths)[1]
        return jnp.mean(jnp.square(ys - targets))

    @jax.jit
    def train_step(params, opt_state):
        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt_state = optimizer.update(grads, opt_state)
        return optax.apply_updates(params, updates), opt_state, loss, grads

    losses = []
    for _ in range(5):
        params, opt_state, loss, grads = train_step(params, opt_state)
        losses.append(float(loss))
        assert all(bool(jnp.isfinite(g).all()) for g in jax.tree.leaves(grads))
    assert losses[-1] < 0.9 * losses[0]
