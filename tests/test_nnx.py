"""The Flax NNX wrappers against the pure stack functions they wrap.

Most checks run under ``nnx.jit`` with shared, module-level jitted functions and one main
configuration, so a compiled program serves several tests (eager scans recompile every call).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import rnnax
import rnnax.nnx as rnnx
from tests.flax_helpers import (
    BATCH,
    FEATURES,
    HIDDEN,
    LENGTHS,
    STEPS,
    assert_trees_close,
    assert_trees_equal,
    inputs,
    random_carry,
)

# name: (module class, its GRU-form keyword for the constructor and from_params)
KINDS = {
    "lstm": (rnnx.LSTM, {}),
    "gru": (rnnx.GRU, {"reset_after": False}),
    "gru_reset_after": (rnnx.GRU, {"reset_after": True}),
}


def make_model(kind="lstm", *, seed=0, num_layers=2, bidirectional=True, **kwargs):
    cls, form = KINDS[kind]
    return cls(
        FEATURES,
        HIDDEN,
        num_layers=num_layers,
        bidirectional=bidirectional,
        rngs=nnx.Rngs(seed),
        **form,
        **kwargs,
    )


def make_dropout_model(**kwargs):
    """The configuration of the dropout tests: two layers (dropout sits between them)."""
    return make_model(bidirectional=False, dropout_rate=0.5, **kwargs)


def pure_stack(model, *args, **kwargs):
    """The pure stack function the model wraps, run on ``model.to_params()``."""
    if isinstance(model, rnnx.GRU):
        return rnnax.gru_stack(model.to_params(), *args, reset_after=model.reset_after, **kwargs)
    return rnnax.lstm_stack(model.to_params(), *args, **kwargs)


@nnx.jit
def forward(model, xs):
    return model(xs)


@nnx.jit
def module_and_pure(model, xs, xs_time_major, carry):
    """Module and pure stack: batch-major from zeros, and time-major with lengths and carry."""
    return (
        (model(xs), pure_stack(model, xs)),
        (
            model(xs_time_major, carry, seq_lengths=LENGTHS, time_major=True),
            pure_stack(model, xs_time_major, carry, seq_lengths=LENGTHS, time_major=True),
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
    carry = random_carry(rng, kind, num_layers, bidirectional)
    for actual, expected in module_and_pure(model, xs, xs_time_major, carry):
        assert_trees_equal(actual, expected)
        final, ys = actual
        assert len(final) == num_layers and len(final[0]) == (2 if bidirectional else 1)
        assert ys.shape[-1] == (2 if bidirectional else 1) * HIDDEN
    ys_time_major = expected[1]
    assert bool((ys_time_major[:, 1] == 0).all())  # the empty sequence's outputs


def test_eager_call_equals_pure_stack_and_jit(rng):
    model = make_model(num_layers=1, bidirectional=False)
    xs = inputs(rng)
    eager = model(xs, seq_lengths=jnp.array([STEPS, 1]))
    assert_trees_equal(eager, pure_stack(model, xs, seq_lengths=jnp.array([STEPS, 1])))
    assert_trees_close(forward(model, xs), model(xs))


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_init_equals_stack_init_with_rngs_params_key(kind):
    kwargs = {"num_layers": 2, "bidirectional": True}
    if kind == "lstm":
        model = rnnx.LSTM(FEATURES, HIDDEN, forget_bias=2.0, rngs=nnx.Rngs(7), **kwargs)
        expected = rnnax.lstm_stack_init(
            nnx.Rngs(7).params(), FEATURES, HIDDEN, forget_bias=2.0, **kwargs
        )
    else:
        model = rnnx.GRU(FEATURES, HIDDEN, rngs=nnx.Rngs(params=7, dropout=1), **kwargs)
        expected = rnnax.gru_stack_init(nnx.Rngs(7).params(), FEATURES, HIDDEN, **kwargs)
    assert_trees_equal(model.to_params(), expected)


def test_params_are_nnx_params_in_stack_layout():
    model = make_model("gru")
    params = nnx.state(model, nnx.Param)
    paths = {tuple(path) for path, _ in nnx.to_flat_state(params)}
    assert paths == {
        ("layers", layer, direction, field)
        for layer in (0, 1)
        for direction in (0, 1)
        for field in ("w_x", "w_h", "b_x", "b_h")
    }
    assert model.layers[1][0].w_x.shape == (2 * HIDDEN, 3 * HIDDEN)
    assert (model.in_features, model.hidden_size, model.num_layers, model.bidirectional) == (
        FEATURES,
        HIDDEN,
        2,
        True,
    )
    assert model.dropout_rngs is None  # no dropout stream without dropout


@pytest.mark.parametrize("kind", list(KINDS))
def test_from_params_round_trip(rng, kind):
    model = make_model(kind)
    cls, form = KINDS[kind]
    rebuilt = cls.from_params(model.to_params(), **form)
    assert type(rebuilt) is cls
    assert getattr(rebuilt, "reset_after", None) == getattr(model, "reset_after", None)
    assert nnx.graphdef(rebuilt) == nnx.graphdef(model)
    assert_trees_equal(rebuilt.to_params(), model.to_params())
    xs = inputs(rng)
    assert_trees_equal(forward(rebuilt, xs), forward(model, xs))


def test_from_params_keeps_dtype_and_checks_layout():
    layers = rnnax.gru_stack_init(jax.random.key(0), FEATURES, HIDDEN, dtype=jnp.bfloat16)
    model = rnnx.GRU.from_params(layers, reset_after=True)
    assert model.dtype == jnp.bfloat16 and model.reset_after
    assert model.layers[0][0].b_h[...].dtype == jnp.bfloat16
    with pytest.raises(TypeError, match="LSTMParams"):
        rnnx.LSTM.from_params(layers)
    with pytest.raises(ValueError, match="layers"):
        rnnx.LSTM.from_params([])
    with pytest.raises(ValueError, match="dropout_rate"):
        rnnx.GRU.from_params(layers, dropout_rate=-0.1)


@nnx.jit
def train_and_eval_outputs(model, xs):
    """The output in the model's mode, and with ``deterministic=True`` for this call."""
    return model(xs)[1], model(xs, deterministic=True)[1]


@nnx.jit
def call_rngs_and_pure(model, xs, rngs, key):
    """The module with ``rngs`` given to the call, and the pure stack with dropout ``key``."""
    return model(xs, rngs=rngs), pure_stack(
        model, xs, dropout_rate=model.dropout_rate, dropout_key=key
    )


def test_dropout_train_eval_and_reproducibility(rng):
    xs = inputs(rng)
    model = make_dropout_model()
    assert not model.deterministic  # training mode by default, as nnx.Dropout
    train_1, eval_1 = train_and_eval_outputs(model, xs)
    train_2, eval_2 = train_and_eval_outputs(model, xs)  # the stream advanced: a new mask
    np.testing.assert_array_equal(eval_1, eval_2)
    assert not np.array_equal(train_1, eval_1)
    assert not np.array_equal(train_1, train_2)

    # Same seed, same masks: a fresh model replays the same sequence of training outputs.
    twin = make_dropout_model()
    np.testing.assert_array_equal(train_and_eval_outputs(twin, xs)[0], train_1)
    np.testing.assert_array_equal(train_and_eval_outputs(twin, xs)[0], train_2)

    model.eval()  # sets deterministic: the mode-dependent output is now the eval one
    assert model.deterministic
    mode_output, _ = train_and_eval_outputs(model, xs)
    np.testing.assert_array_equal(mode_output, eval_1)
    model.train()
    assert not model.deterministic


def test_dropout_without_stream_needs_call_rngs_that_reach_the_pure_stack(rng):
    xs = inputs(rng)
    layers = make_dropout_model().to_params()
    model = rnnx.LSTM.from_params(layers, dropout_rate=0.5)
    assert model.dropout_rngs is None and not model.deterministic
    with pytest.raises(ValueError, match="dropout rng"):
        model(xs)
    key = nnx.Rngs(dropout=1).dropout()  # the key the call draws from nnx.Rngs(dropout=1)
    actual, expected = call_rngs_and_pure(model, xs, nnx.Rngs(dropout=1), key)
    assert_trees_close(actual, expected)
    again, _ = call_rngs_and_pure(model, xs, nnx.Rngs(dropout=1), key)
    assert_trees_equal(again, actual)
    # from_params with rngs forks a dropout stream as the constructor does (the same graph);
    # the masks then come from that stream, reproducibly.
    streams = [rnnx.LSTM.from_params(layers, dropout_rate=0.5, rngs=nnx.Rngs(5)) for _ in "ab"]
    assert nnx.graphdef(streams[0]) == nnx.graphdef(make_dropout_model())
    first = train_and_eval_outputs(streams[0], xs)[0]
    np.testing.assert_array_equal(first, train_and_eval_outputs(streams[1], xs)[0])
    assert not np.array_equal(first, train_and_eval_outputs(streams[0], xs)[0])


def test_no_dropout_after_the_last_layer(rng):
    xs = inputs(rng)
    single = make_model("gru_reset_after", num_layers=1, dropout_rate=0.5)
    train, evaluation = train_and_eval_outputs(single, xs)
    np.testing.assert_array_equal(train, evaluation)
    # With two layers the outputs are still the last layer's own hidden states: |h| < 1, no
    # zeros and no 1 / (1 - rate) scaling.
    train, _ = train_and_eval_outputs(make_dropout_model(), xs)
    assert float(jnp.abs(train).max()) < 1.0 and bool((train != 0).all())


def test_constructor_rejects_bad_dropout_rate():
    with pytest.raises(ValueError, match="dropout_rate"):
        make_model(dropout_rate=1.0)


def test_grad_is_finite_and_training_step_decreases_loss(rng):
    xs = inputs(rng, batch=4)
    lengths = jnp.array([STEPS, 2, 3, 1])
    targets = jnp.full((4, STEPS, HIDDEN), 0.3, jnp.float32)
    model = make_model("gru_reset_after", bidirectional=False, dropout_rate=0.1)

    def loss_fn(model, deterministic=None):
        ys = model(xs, seq_lengths=lengths, deterministic=deterministic)[1]
        return jnp.mean(jnp.square(ys - targets))

    optimizer = nnx.Optimizer(model, optax.sgd(0.5), wrt=nnx.Param)

    @nnx.jit
    def train_step(model, optimizer):
        eval_loss = loss_fn(model, deterministic=True)
        grads = nnx.grad(loss_fn)(model)  # training mode: dropout from the module's stream
        optimizer.update(model, grads)
        return eval_loss, grads

    eval_losses = []
    for _ in range(6):
        eval_loss, grads = train_step(model, optimizer)
        eval_losses.append(float(eval_loss))
        leaves = jax.tree.leaves(grads)
        assert len(leaves) == 8 and all(bool(jnp.isfinite(g).all()) for g in leaves)
    assert eval_losses[-1] < 0.9 * eval_losses[0]


def test_wrong_feature_size_raises_naming_xs():
    model = make_model()
    with pytest.raises(ValueError, match="xs"):
        model(jnp.ones((BATCH, STEPS, FEATURES + 1)))
    with pytest.raises(ValueError, match="xs"):
        make_model("gru")(jnp.ones((FEATURES,)))
    with pytest.raises(ValueError, match="strategy"):  # passed through to the pure stack
        model(jnp.ones((STEPS, FEATURES)), strategy="fastest")


def test_gru_from_params_takes_the_form_from_the_params_type(rng):
    """Converted reset-after weights (``GRUResetAfterParams``, what ``rnnax.interop`` returns)
    run in the reset-after form without ``reset_after``; a contradicting ``False`` is an error."""
    xs = inputs(rng)
    layers = rnnax.rnn_stack_init("gru_reset_after", jax.random.key(4), FEATURES, HIDDEN)
    model = rnnx.GRU.from_params(layers)
    assert model.reset_after and model.cell == rnnax.GRU_RESET_AFTER
    assert isinstance(model, rnnx.RNN)
    assert_trees_equal(model.to_params(), layers)  # the type survives the round trip
    plain = [[rnnax.GRUParams(*params) for params in layer] for layer in layers]
    expected = rnnax.gru_stack(plain, xs, reset_after=True)
    assert_trees_equal(forward(model, xs), expected)
    explainer = rnnax.gru_stack(plain, xs, reset_after=False)[1]
    assert not np.allclose(forward(model, xs)[1], explainer)
    assert rnnx.GRU.from_params(layers, reset_after=True).reset_after
    with pytest.raises(ValueError, match="reset_after=False contradicts"):
        rnnx.GRU.from_params(layers, reset_after=False)
    with pytest.raises(TypeError, match="reset_after must be a bool"):
        rnnx.GRU.from_params(layers, reset_after="yes")
    # Plain GRUParams: the explainer's form unless told, as before.
    assert not rnnx.GRU.from_params(plain).reset_after
    assert rnnx.GRU.from_params(plain, reset_after=True).cell == rnnax.GRU_RESET_AFTER


def test_reset_after_module_params_carry_their_form(rng):
    model = make_model("gru_reset_after")
    layers = model.to_params()
    assert type(layers[0][0]) is rnnax.GRUResetAfterParams
    # The same values as gru_stack_init with the rngs.params() key, typed reset-after.
    expected = rnnax.gru_stack_init(
        nnx.Rngs(0).params(), FEATURES, HIDDEN, num_layers=2, bidirectional=True
    )
    for actual_layer, expected_layer in zip(layers, expected, strict=True):
        for actual, wanted in zip(actual_layer, expected_layer, strict=True):
            assert_trees_equal(tuple(actual), tuple(wanted))
    # The pure stack needs no reset_after for them, and from_params keeps the form.
    xs = inputs(rng)
    assert_trees_equal(forward(model, xs), rnnax.gru_stack(layers, xs))
    assert rnnx.GRU.from_params(layers).reset_after


def test_lstm_and_gru_are_rnn_with_a_fixed_cell():
    lstm, gru = make_model("lstm"), make_model("gru")
    assert isinstance(lstm, rnnx.RNN) and lstm.cell == rnnax.LSTM
    assert isinstance(gru, rnnx.RNN) and gru.cell == rnnax.GRU and not gru.reset_after
    generic = rnnx.RNN(
        FEATURES, HIDDEN, cell="gru", num_layers=2, bidirectional=True, rngs=nnx.Rngs(0)
    )
    assert_trees_equal(generic.to_params(), gru.to_params())
