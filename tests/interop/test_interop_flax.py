"""rnnax.interop's Flax converters: linen and nnx cells (LSTM, GRU, SimpleCell), stacks,
seq_lengths, round trips; imported GRUs run reset-after from their type alone."""

from __future__ import annotations

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import rnnax
import rnnax.interop._flax
from rnnax._cell_elman import ElmanParams, ElmanReluParams
from rnnax.interop import from_flax_linen, from_flax_nnx, to_flax_linen, to_flax_nnx
from tests.interop.interop_helpers import random_params

RTOL, ATOL = 1e-5, 1e-6
BATCH, STEPS, INPUT, HIDDEN = 3, 6, 4, 5


def _random_like(shapes, seed: int = 0):
    """Random arrays (biases included: flax initialises those to zero) in the layout ``shapes``.

    Flax builds the layout abstractly (``eval_shape``) and NumPy fills it: running flax's own
    initialisers would compile them, the bulk of these tests' time otherwise.
    """
    rng = np.random.default_rng(seed)
    return jax.tree_util.tree_map(
        lambda leaf: jnp.asarray(rng.normal(0.0, 0.5, leaf.shape), leaf.dtype), shapes
    )


def _linen_variables(module, *args, seed: int = 0):
    return _random_like(jax.eval_shape(module.init, jax.random.key(0), *args), seed)


def _inputs(key: int = 1, shape=(BATCH, STEPS, INPUT)) -> jax.Array:
    return jnp.asarray(np.random.default_rng(key).normal(size=shape), jnp.float32)


def _carry(kind: str, key: int = 2):
    """The same random initial state as (flax carry, rnnax carry); flax's LSTM carry is (c, h)."""
    h, c = jnp.asarray(np.random.default_rng(key).normal(size=(2, BATCH, HIDDEN)), jnp.float32)
    if kind != "lstm":  # the GRU's and the simple cell's carry is h
        return h, h
    return (c, h), rnnax.LSTMState(h, c)


def _run_ours(params, xs, carry=None, **options):
    if isinstance(params, ElmanParams):
        return rnnax.rnn(params, xs, carry, **options)
    if isinstance(params, rnnax.GRUParams):
        return rnnax.gru(params, xs, carry, reset_after=True, **options)
    return rnnax.lstm(params, xs, carry, **options)


def _assert_carry_close(kind, flax_carry, our_carry):
    if kind != "lstm":
        np.testing.assert_allclose(our_carry, flax_carry, rtol=RTOL, atol=ATOL)
    else:
        c, h = flax_carry
        np.testing.assert_allclose(our_carry.h, h, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(our_carry.c, c, rtol=RTOL, atol=ATOL)


LINEN_CELLS = {
    "optimized_lstm": ("lstm", nn.OptimizedLSTMCell),
    "lstm": ("lstm", nn.LSTMCell),
    "gru": ("gru", nn.GRUCell),
    "simple": ("elman", nn.SimpleCell),
}


@pytest.mark.parametrize("name", list(LINEN_CELLS))
@pytest.mark.parametrize("time_major", [False, True])
def test_linen_rnn_matches(name, time_major):
    kind, cell_type = LINEN_CELLS[name]
    rnn = nn.RNN(cell_type(HIDDEN), return_carry=True, time_major=time_major)
    xs = _inputs()
    if time_major:
        xs = jnp.swapaxes(xs, 0, 1)
    variables = _linen_variables(rnn, xs)
    flax_carry0, our_carry0 = _carry(kind)
    flax_final, expected = rnn.apply(variables, xs, initial_carry=flax_carry0)

    params = from_flax_linen(variables)  # nn.RNN's variables: the 'cell' level is unwrapped
    our_final, ys = _run_ours(params, xs, our_carry0, time_major=time_major)
    np.testing.assert_allclose(ys, expected, rtol=RTOL, atol=ATOL)
    _assert_carry_close(kind, flax_final, our_final)


def test_linen_lstm_and_optimized_lstm_share_a_layout():
    xs = _inputs()
    variables = _linen_variables(nn.RNN(nn.LSTMCell(HIDDEN)), xs)
    expected = nn.RNN(nn.OptimizedLSTMCell(HIDDEN)).apply(variables, xs)
    _, ys = rnnax.lstm(from_flax_linen(variables["params"]["cell"]), xs)
    np.testing.assert_allclose(ys, expected, rtol=RTOL, atol=ATOL)


class _BidirectionalStack(nn.Module):
    """Two bidirectional layers, built the way flax documents ``nn.Bidirectional``."""

    cell_type: type
    num_layers: int = 2

    @nn.compact
    def __call__(self, xs, seq_lengths=None):
        carry = None
        for layer in range(self.num_layers):
            carry, xs = nn.Bidirectional(
                nn.RNN(self.cell_type(HIDDEN, name=f"forward_{layer}")),
                nn.RNN(self.cell_type(HIDDEN, name=f"backward_{layer}")),
                return_carry=True,
            )(xs, seq_lengths=seq_lengths)
        return carry, xs  # the last layer's (forward, backward) carries


def _layers_from_stack(variables, num_layers=2):
    cells = variables["params"]
    return [
        [from_flax_linen(cells[f"{direction}_{layer}"]) for direction in ("forward", "backward")]
        for layer in range(num_layers)
    ]


@pytest.mark.parametrize("name", ["optimized_lstm", "gru", "simple"])
def test_linen_bidirectional_stack_matches(name):
    """Two bidirectional layers with right-padded seq_lengths (one row full length)."""
    kind, cell_type = LINEN_CELLS[name]
    module = _BidirectionalStack(cell_type)
    xs = _inputs()
    # Every length >= 1: for length 0 flax's final carry is the one after the LAST (padded)
    # step (its index is length - 1 = -1), ours is the initial carry.
    seq_lengths = jnp.array([STEPS, 2, 4])
    variables = _linen_variables(module, xs)
    (flax_forward, flax_backward), expected = module.apply(variables, xs, seq_lengths)

    layers = _layers_from_stack(variables)
    if kind == "lstm":
        finals, ys = rnnax.lstm_stack(layers, xs, seq_lengths=seq_lengths)
    elif kind == "gru":
        finals, ys = rnnax.gru_stack(layers, xs, reset_after=True, seq_lengths=seq_lengths)
    else:
        finals, ys = rnnax.rnn_stack(layers, xs, seq_lengths=seq_lengths)

    # flax concatenates forward first, like us. flax keeps computing on padded steps (its
    # outputs there are garbage), ours are exactly zero: compare the valid steps only.
    valid = np.arange(STEPS)[None, :] < np.asarray(seq_lengths)[:, None]
    np.testing.assert_allclose(
        np.where(valid[..., None], ys, 0.0),
        np.where(valid[..., None], expected, 0.0),
        rtol=RTOL,
        atol=ATOL,
    )
    assert not np.any(np.asarray(ys)[~valid])
    _assert_carry_close(kind, flax_forward, finals[-1][0])
    _assert_carry_close(kind, flax_backward, finals[-1][1])


def test_linen_reverse_with_lengths_matches_keep_order_true():
    """Our reverse=True is flax's reverse=True with keep_order=True (nn.Bidirectional's choice):
    each sequence runs from its last VALID step back to step 0, outputs aligned with inputs, and
    the final carry is the one after step 0. With keep_order=False flax returns the outputs in
    processing order instead (reversed within each sequence's valid prefix)."""
    rnn = nn.RNN(nn.GRUCell(HIDDEN), return_carry=True)
    xs = _inputs()
    seq_lengths = jnp.array([STEPS, 3, 1])
    variables = _linen_variables(rnn, xs)
    flax_carry0, our_carry0 = _carry("gru")
    params = from_flax_linen(variables)
    final, ys = _run_ours(params, xs, our_carry0, seq_lengths=seq_lengths, reverse=True)
    valid = np.arange(STEPS)[None, :] < np.asarray(seq_lengths)[:, None]

    flax_final, expected = rnn.apply(
        variables,
        xs,
        initial_carry=flax_carry0,
        seq_lengths=seq_lengths,
        reverse=True,
        keep_order=True,
    )
    np.testing.assert_allclose(
        np.asarray(ys)[valid], np.asarray(expected)[valid], rtol=RTOL, atol=ATOL
    )
    np.testing.assert_allclose(final, flax_final, rtol=RTOL, atol=ATOL)

    _, processing_order = rnn.apply(
        variables,
        xs,
        initial_carry=flax_carry0,
        seq_lengths=seq_lengths,
        reverse=True,
        keep_order=False,
    )
    for row, length in enumerate(np.asarray(seq_lengths)):
        np.testing.assert_allclose(
            ys[row, :length][::-1], processing_order[row, :length], rtol=RTOL, atol=ATOL
        )


def test_linen_round_trip_is_exact():
    xs = _inputs()
    h = jnp.zeros((BATCH, HIDDEN))
    for cell, carry in (
        (nn.OptimizedLSTMCell(HIDDEN), (h, h)),
        (nn.GRUCell(HIDDEN), h),
        (nn.SimpleCell(HIDDEN), h),
    ):
        variables = _linen_variables(cell, carry, xs[:, 0])
        back = to_flax_linen(from_flax_linen(variables))
        assert jax.tree_util.tree_structure(back) == jax.tree_util.tree_structure(variables)
        equal = jax.tree_util.tree_map(lambda a, b: bool(np.array_equal(a, b)), back, variables)
        assert all(jax.tree_util.tree_leaves(equal))
    params = random_params("lstm", INPUT, HIDDEN)
    assert all(
        jax.tree_util.tree_leaves(
            jax.tree_util.tree_map(np.array_equal, from_flax_linen(to_flax_linen(params)), params)
        )
    )


def test_to_flax_linen_gru_folds_the_recurrent_gate_biases():
    """Our GRU with nonzero b_h for z and r: flax has no hz/hr bias, so they fold into iz/ir."""
    params = random_params("gru", INPUT, HIDDEN)
    xs = _inputs()
    _, ys = rnnax.gru(params, xs, reset_after=True)
    expected = nn.RNN(nn.GRUCell(HIDDEN)).apply(
        {"params": {"cell": to_flax_linen(params)["params"]}}, xs
    )
    np.testing.assert_allclose(ys, expected, rtol=RTOL, atol=ATOL)


def test_linen_errors():
    with pytest.raises(TypeError, match="variables"):
        from_flax_linen([1, 2])
    with pytest.raises(ValueError, match="GRUCell parameters"):
        from_flax_linen({"params": {"Dense_0": {"kernel": jnp.ones((2, 2))}}})
    variables = to_flax_linen(random_params("lstm", INPUT, HIDDEN))
    variables["params"]["hi"]["bias"] = variables["params"]["hi"]["bias"].astype(jnp.bfloat16)
    with pytest.raises(TypeError, match="mixes parameter dtypes"):
        from_flax_linen(variables)
    with pytest.raises(TypeError, match="LSTMParams or GRUParams"):
        to_flax_linen([[random_params("lstm", INPUT, HIDDEN)]])


def test_from_flax_linen_dtype_frozen_and_boxed_variables():
    params = random_params("lstm", INPUT, HIDDEN)
    variables = to_flax_linen(params)
    assert from_flax_linen(variables, dtype=jnp.bfloat16).w_h.dtype == jnp.bfloat16
    assert from_flax_linen(flax.core.freeze(variables)).w_h.dtype == jnp.float32
    boxed = jax.tree_util.tree_map(
        lambda leaf: nn.Partitioned(leaf, (None,) * leaf.ndim), variables
    )  # as nn.with_partitioning leaves them
    for array, array_back in zip(params, from_flax_linen(boxed), strict=True):
        np.testing.assert_array_equal(array_back, array)


NNX_CELLS = {
    "optimized_lstm": ("lstm", nnx.OptimizedLSTMCell),
    "lstm": ("lstm", nnx.LSTMCell),
    "gru": ("gru", nnx.GRUCell),
    "simple": ("elman", nnx.SimpleCell),
}


def _nnx_cell(cell_type, seed: int = 0):
    """An nnx cell with random parameters, built abstractly and filled by NumPy (fast)."""
    graphdef, state = nnx.split(nnx.eval_shape(lambda: cell_type(INPUT, HIDDEN, rngs=nnx.Rngs(0))))
    return nnx.merge(graphdef, _random_like(state, seed))


@pytest.mark.parametrize("name", list(NNX_CELLS))
def test_nnx_rnn_matches(name):
    kind, cell_type = NNX_CELLS[name]
    rnn = nnx.RNN(_nnx_cell(cell_type), return_carry=True)
    xs = _inputs()
    flax_carry0, our_carry0 = _carry(kind)
    flax_final, expected = rnn(xs, initial_carry=flax_carry0)
    our_final, ys = _run_ours(from_flax_nnx(rnn.cell), xs, our_carry0)
    np.testing.assert_allclose(ys, expected, rtol=RTOL, atol=ATOL)
    _assert_carry_close(kind, flax_final, our_final)


@pytest.mark.parametrize("name", list(NNX_CELLS))
def test_nnx_round_trip_is_exact(name):
    _, cell_type = NNX_CELLS[name]
    params = from_flax_nnx(_nnx_cell(cell_type))
    cell = to_flax_nnx(params, cell_type=cell_type)
    assert type(cell) is cell_type
    back = from_flax_nnx(cell)
    for field, array, array_back in zip(params._fields, params, back, strict=True):
        np.testing.assert_array_equal(array_back, array, err_msg=field)


def test_to_flax_nnx_gru_runs_like_ours_and_refuses_a_candidate_bias():
    params = random_params("gru", INPUT, HIDDEN)
    params = params._replace(b_h=params.b_h.at[2 * HIDDEN :].set(0.0))
    xs = _inputs()
    _, ys = rnnax.gru(params, xs, reset_after=True)
    np.testing.assert_allclose(nnx.RNN(to_flax_nnx(params))(xs), ys, rtol=RTOL, atol=ATOL)
    with pytest.raises(ValueError, match="no recurrent candidate bias"):
        to_flax_nnx(params._replace(b_h=params.b_h + 1.0))


def test_nnx_errors():
    with pytest.raises(TypeError, match="OptimizedLSTMCell, LSTMCell, GRUCell and SimpleCell"):
        from_flax_nnx(nnx.Linear(2, 3, rngs=nnx.Rngs(0)))
    relu_cell = nnx.GRUCell(INPUT, HIDDEN, activation_fn=jax.nn.relu, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="activation_fn=relu"):
        from_flax_nnx(relu_cell)
    with pytest.raises(TypeError, match="cell_type"):
        to_flax_nnx(random_params("lstm", INPUT, HIDDEN), cell_type=nnx.GRUCell)


# ----------------------------------------------------------- GRU types and the simple cell


def test_imported_grus_run_reset_after_without_being_told():
    """linen's and nnx's GRUs come back as GRUResetAfterParams: rnnax.gru and rnnax.rnn run
    them in Flax's form with no reset_after argument."""
    xs = _inputs()
    flax_carry0, our_carry0 = _carry("gru")
    rnn = nn.RNN(nn.GRUCell(HIDDEN), return_carry=True)
    variables = _linen_variables(rnn, xs)
    _, expected = rnn.apply(variables, xs, initial_carry=flax_carry0)
    nnx_rnn = nnx.RNN(_nnx_cell(nnx.GRUCell, seed=3))
    nnx_expected = nnx_rnn(xs, initial_carry=flax_carry0)
    for params, want in (
        (from_flax_linen(variables), expected),
        (from_flax_nnx(nnx_rnn.cell), nnx_expected),
    ):
        assert type(params) is rnnax.GRUResetAfterParams
        for run in (rnnax.gru, rnnax.rnn):
            _, ys = run(params, xs, our_carry0)
            np.testing.assert_allclose(ys, want, rtol=RTOL, atol=ATOL)


def test_plain_gru_params_need_reset_after_to_export():
    """Plain GRUParams are rnnax's default form, which Flax's GRUCell does not compute."""
    params = random_params("gru", INPUT, HIDDEN)
    plain = rnnax.GRUParams(*params)
    for export in (to_flax_linen, to_flax_nnx):
        with pytest.raises(ValueError, match=r"reset_after=False\) has no (flax|nnx) equivalent"):
            export(plain)
        with pytest.raises(ValueError, match="reset_after=False contradicts"):
            export(params, reset_after=False)
    assert jax.tree_util.tree_all(
        jax.tree_util.tree_map(
            np.array_equal, to_flax_linen(plain, reset_after=True), to_flax_linen(params)
        )
    )
    no_candidate_bias = params._replace(b_h=params.b_h.at[2 * HIDDEN :].set(0.0))
    cell = to_flax_nnx(rnnax.GRUParams(*no_candidate_bias), reset_after=True)
    assert type(from_flax_nnx(cell)) is rnnax.GRUResetAfterParams


def test_linen_relu_simple_cell():
    """linen variables do not record the activation: nonlinearity="relu" says it."""
    rnn = nn.RNN(nn.SimpleCell(HIDDEN, activation_fn=nn.relu))
    xs = _inputs()
    variables = _linen_variables(rnn, xs)
    params = from_flax_linen(variables, nonlinearity="relu")
    assert type(params) is ElmanReluParams and not np.any(params.b_h)
    _, ys = rnnax.rnn(params, xs)
    np.testing.assert_allclose(ys, rnn.apply(variables, xs), rtol=RTOL, atol=ATOL)
    assert type(from_flax_linen(variables)) is ElmanParams
    with pytest.raises(ValueError, match="nonlinearity must be one of"):
        from_flax_linen(variables, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="nonlinearity applies to SimpleCell variables only"):
        from_flax_linen(to_flax_linen(random_params("lstm", INPUT, HIDDEN)), nonlinearity="tanh")


@pytest.mark.parametrize("kind", ["elman", "elman_relu"])
def test_elman_to_flax_folds_the_recurrent_bias(kind):
    """Our two biases (nonzero b_h) fold into the SimpleCell's one; linen and nnx cells built
    from them (relu for ElmanReluParams) compute our cell."""
    params = random_params(kind, INPUT, HIDDEN)
    xs = _inputs()
    _, ys = rnnax.rnn(params, xs)
    activation = nn.relu if kind == "elman_relu" else nn.tanh
    linen_ys = nn.RNN(nn.SimpleCell(HIDDEN, activation_fn=activation)).apply(
        {"params": {"cell": to_flax_linen(params)["params"]}}, xs
    )
    np.testing.assert_allclose(linen_ys, ys, rtol=RTOL, atol=ATOL)
    cell = to_flax_nnx(params)
    assert type(cell) is nnx.SimpleCell and cell.activation_fn is activation
    np.testing.assert_allclose(nnx.RNN(cell)(xs), ys, rtol=RTOL, atol=ATOL)
    back = from_flax_nnx(cell)
    assert type(back) is type(params)
    np.testing.assert_array_equal(back.b_x, params.b_x + params.b_h)


def test_nnx_simple_cell_relu_residual_and_errors():
    xs = _inputs()
    graphdef, state = nnx.split(
        nnx.eval_shape(
            lambda: nnx.SimpleCell(
                INPUT, HIDDEN, activation_fn=nnx.relu, residual=True, rngs=nnx.Rngs(0)
            )
        )
    )
    cell = nnx.merge(graphdef, _random_like(state, 4))
    params = from_flax_nnx(cell)
    assert type(params) is ElmanReluParams
    # residual=True adds h before the nonlinearity: the identity folded into w_h.
    np.testing.assert_allclose(nnx.RNN(cell)(xs), rnnax.rnn(params, xs)[1], rtol=RTOL, atol=ATOL)
    other = nnx.SimpleCell(INPUT, HIDDEN, activation_fn=jax.nn.sigmoid, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="SimpleCell uses activation_fn=sigmoid"):
        from_flax_nnx(other)
    with pytest.raises(
        TypeError, match=r"cell_type for ElmanParams must be one of \['SimpleCell'\]"
    ):
        to_flax_nnx(random_params("elman", INPUT, HIDDEN), cell_type=nnx.GRUCell)
