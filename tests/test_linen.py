"""The Flax Linen wrappers against the pure stack functions they wrap.

Most checks run under ``jax.jit`` with shared, module-level jitted functions (the module is a
static argument), so a compiled program serves several tests (eager scans recompile every call).
"""

from __future__ import annotations

import functools

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax.traverse_util import flatten_dict

import rnnax
from rnnax import linen as rlinen
from tests.flax_helpers import (
    BATCH,
    FEATURES,
    HIDDEN,
    LENGTHS,
    STEPS,
    assert_trees_equal,
    inputs,
    random_carry,
)

KEY = jax.random.key(0)

KINDS = {
    "lstm": functools.partial(rlinen.LSTM, HIDDEN),
    "gru": functools.partial(rlinen.GRU, HIDDEN, reset_after=False),
    "gru_reset_after": functools.partial(rlinen.GRU, HIDDEN, reset_after=True),
}


def make_model(kind="lstm", *, num_layers=2, bidirectional=True, **fields):
    return KINDS[kind](num_layers=num_layers, bidirectional=bidirectional, **fields)


def init_variables(model, xs):
    """``model.init(KEY, xs)`` without running the recurrence (Flax's ``lazy_init``)."""
    return model.lazy_init(KEY, jax.ShapeDtypeStruct(xs.shape, xs.dtype))


def pure_stack(model, layers, *args, **kwargs):
    """The pure stack function the model wraps."""
    if isinstance(model, rlinen.GRU):
        return rnnax.gru_stack(layers, *args, reset_after=model.reset_after, **kwargs)
    return rnnax.lstm_stack(layers, *args, **kwargs)


@functools.partial(jax.jit, static_argnums=0)
def module_and_pure(model, variables, xs, xs_time_major, carry):
    """Module and pure stack: batch-major from zeros, and time-major with lengths and carry."""
    layers = rlinen.to_params(variables)
    return (
        (model.apply(variables, xs), pure_stack(model, layers, xs)),
        (
            model.apply(variables, xs_time_major, carry, seq_lengths=LENGTHS, time_major=True),
            pure_stack(model, layers, xs_time_major, carry, seq_lengths=LENGTHS, time_major=True),
        ),
    )


@pytest.mark.parametrize(
    ("kind", "num_layers", "bidirectional"),
    # Each class sees 1 and 2 layers, one and two directions; the GRU both forms.
    [("lstm", 1, False), ("lstm", 2, True), ("gru", 2, False), ("gru_reset_after", 1, True)],
)
def test_module_matches_pure_stack(rng, kind, num_layers, bidirectional):
    model = make_model(kind, num_layers=num_layers, bidirectional=bidirectional)
    xs, xs_time_major = inputs(rng), inputs(rng, time_major=True)
    variables = init_variables(model, xs)
    carry = random_carry(rng, kind, num_layers, bidirectional)
    for actual, expected in module_and_pure(model, variables, xs, xs_time_major, carry):
        assert_trees_equal(actual, expected)
        final, ys = actual
        assert len(final) == num_layers and len(final[0]) == (2 if bidirectional else 1)
        assert ys.shape[-1] == (2 if bidirectional else 1) * HIDDEN
    assert bool((expected[1][:, 1] == 0).all())  # the empty sequence's outputs


def test_eager_apply_equals_pure_stack(rng):
    model = make_model("gru", num_layers=1, bidirectional=False)
    xs = inputs(rng)
    variables = init_variables(model, xs)
    lengths = jnp.array([STEPS, 1])
    assert_trees_equal(
        model.apply(variables, xs, seq_lengths=lengths),
        pure_stack(model, rlinen.to_params(variables), xs, seq_lengths=lengths),
    )


class FirstParamsKey(nn.Module):
    """Returns the first key a top-level module draws from its ``params`` stream."""

    @nn.compact
    def __call__(self, xs):
        return self.make_rng("params")


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_init_is_stack_init_with_the_first_params_key(kind):
    xs = jnp.ones((STEPS, FEATURES))
    model = make_model(kind, forget_bias=2.0) if kind == "lstm" else make_model(kind)
    variables = init_variables(model, xs)
    if kind == "lstm":  # lazy_init (used throughout) is init without the recurrence
        assert_trees_equal(model.init(KEY, xs), variables)
    layers = rlinen.to_params(variables)
    key, _ = FirstParamsKey().init_with_output(KEY, xs)
    sizes = {"num_layers": 2, "bidirectional": True}
    if kind == "lstm":
        expected = rnnax.lstm_stack_init(key, FEATURES, HIDDEN, forget_bias=2.0, **sizes)
    else:
        expected = rnnax.gru_stack_init(key, FEATURES, HIDDEN, **sizes)
    assert_trees_equal(layers, expected)


def test_param_names_and_shapes():
    variables = init_variables(make_model(), jnp.ones((STEPS, FEATURES)))
    shapes = {"/".join(path): value.shape for path, value in flatten_dict(variables).items()}
    assert shapes == {
        f"params/layer_{layer}/{direction}/{field}": shape
        for layer, rows in ((0, FEATURES), (1, 2 * HIDDEN))
        for direction in ("forward", "backward")
        for field, shape in (
            ("w_x", (rows, 4 * HIDDEN)),
            ("w_h", (HIDDEN, 4 * HIDDEN)),
            ("b", (4 * HIDDEN,)),
        )
    }


@pytest.mark.parametrize(
    ("kind", "num_layers", "bidirectional"),
    [("lstm", 2, True), ("gru", 2, False), ("gru_reset_after", 1, True)],  # compiled above
)
def test_round_trip_and_from_params(rng, kind, num_layers, bidirectional):
    model = make_model(kind, num_layers=num_layers, bidirectional=bidirectional)
    xs = inputs(rng)
    variables = init_variables(model, xs)
    layers = rlinen.to_params(variables)
    rebuilt = rlinen.from_params(layers)
    assert_trees_equal(rebuilt, variables)
    assert_trees_equal(rlinen.to_params(rebuilt["params"]), layers)  # the params dict alone
    # Pure parameters from the stack init run through the module unchanged.
    init = rnnax.lstm_stack_init if kind == "lstm" else rnnax.gru_stack_init
    other = init(
        jax.random.key(9), FEATURES, HIDDEN, num_layers=num_layers, bidirectional=bidirectional
    )
    carry = random_carry(rng, kind, num_layers, bidirectional)
    for actual, expected in module_and_pure(
        model, rlinen.from_params(other), xs, inputs(rng, time_major=True), carry
    ):
        assert_trees_equal(actual, expected)


def test_to_params_of_a_submodule_and_bfloat16():
    class Model(nn.Module):
        @nn.compact
        def __call__(self, xs):
            return nn.Dense(2, dtype=jnp.bfloat16, param_dtype=jnp.bfloat16)(
                rlinen.GRU(HIDDEN, reset_after=True, dtype=jnp.bfloat16, name="rnn")(xs)[1]
            )

    xs = jnp.ones((STEPS, FEATURES), jnp.bfloat16)
    outputs, variables = Model().init_with_output(KEY, xs)
    (layer,) = rlinen.to_params(variables["params"]["rnn"])
    assert isinstance(layer[0], rnnax.GRUParams) and layer[0].w_h.dtype == jnp.bfloat16
    assert outputs.dtype == jnp.bfloat16


def test_conversion_errors():
    layers = rnnax.lstm_stack_init(KEY, FEATURES, HIDDEN, num_layers=2)
    params = rlinen.from_params(layers)["params"]
    with pytest.raises(ValueError, match=r"layer_0 ... layer_<L-1>"):
        rlinen.to_params({"params": {"layer_1": params["layer_1"]}})
    with pytest.raises(ValueError, match="forward"):
        rlinen.to_params({"layer_0": {"backward": params["layer_0"]["forward"]}})
    with pytest.raises(ValueError, match="layer_0/forward"):
        rlinen.to_params({"layer_0": {"forward": {"w_x": layers[0][0].w_x}}})
    with pytest.raises(ValueError, match="layers"):
        rlinen.from_params([])
    with pytest.raises(TypeError, match="LSTMParams or GRUParams"):
        rlinen.from_params([[(1, 2, 3)]])


@functools.partial(jax.jit, static_argnums=0)
def train_and_eval_outputs(model, variables, xs, dropout_key):
    """The output with dropout (``deterministic=False``) and without."""
    train = model.apply(variables, xs, deterministic=False, rngs={"dropout": dropout_key})
    return train[1], model.apply(variables, xs)[1]


def test_dropout_train_eval_and_reproducibility(rng):
    xs = inputs(rng)
    model = make_model(bidirectional=False, dropout_rate=0.5)
    variables = init_variables(model, xs)  # deterministic by default: no dropout rng needed
    train_1, eval_1 = train_and_eval_outputs(model, variables, xs, jax.random.key(1))
    train_2, eval_2 = train_and_eval_outputs(model, variables, xs, jax.random.key(1))
    train_3, _ = train_and_eval_outputs(model, variables, xs, jax.random.key(2))
    np.testing.assert_array_equal(eval_1, eval_2)
    np.testing.assert_array_equal(train_1, train_2)  # same dropout rng, same mask
    assert not np.array_equal(train_1, eval_1)
    assert not np.array_equal(train_1, train_3)
    # Not after the last layer: the outputs are the last layer's own hidden states (|h| < 1,
    # no zeros, no 1 / (1 - rate) scaling).
    assert float(jnp.abs(train_1).max()) < 1.0 and bool((train_1 != 0).all())
    with pytest.raises(flax.errors.InvalidRngError, match="dropout"):
        model.apply(variables, xs, deterministic=False)


def test_single_layer_has_no_dropout(rng):
    xs = inputs(rng)
    model = make_model("gru", num_layers=1, dropout_rate=0.5)
    variables = init_variables(model, xs)
    train, evaluation = train_and_eval_outputs(model, variables, xs, jax.random.key(1))
    np.testing.assert_array_equal(train, evaluation)


def test_grad_is_finite_and_training_step_decreases_loss(rng):
    xs = inputs(rng, batch=4)
    lengths = jnp.array([STEPS, 2, 3, 1])
    targets = jnp.full((4, STEPS, HIDDEN), 0.3, jnp.float32)
    model = make_model("lstm", num_layers=1, bidirectional=False)
    params = init_variables(model, xs)["params"]
    optimizer = optax.sgd(2.0)
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
    for _ in range(6):
        params, opt_state, loss, grads = train_step(params, opt_state)
        losses.append(float(loss))
        leaves = jax.tree.leaves(grads)
        assert len(leaves) == 3 and all(bool(jnp.isfinite(g).all()) for g in leaves)
    assert losses[-1] < 0.9 * losses[0]


def test_bad_inputs_raise_naming_xs():
    model = make_model()
    variables = init_variables(model, jnp.ones((STEPS, FEATURES)))
    with pytest.raises(ValueError, match="xs"):
        model.apply(variables, jnp.ones((BATCH, STEPS, FEATURES + 1)))
    with pytest.raises(ValueError, match="xs"):
        model.init(KEY, jnp.ones((FEATURES,)))
    with pytest.raises(TypeError, match="xs"):
        model.apply(variables, jnp.ones((STEPS, FEATURES), jnp.bfloat16))
    with pytest.raises(ValueError, match="strategy"):  # passed through to the pure stack
        model.apply(variables, jnp.ones((STEPS, FEATURES)), strategy="fastest")
