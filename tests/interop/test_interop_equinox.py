"""rnnax.interop's Equinox converters: cells under jax.lax.scan match ours, round trips; imported
GRUs run reset-after from their type alone."""

from __future__ import annotations

import sys

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rnnax
import rnnax.interop._equinox
from rnnax.interop import from_equinox, to_equinox
from tests.interop.interop_helpers import random_params

RTOL, ATOL = 1e-5, 1e-6
BATCH, STEPS, INPUT, HIDDEN = 3, 6, 4, 5


def _cell(cell_type, seed: int = 0, **options):
    """An equinox cell with random parameters: built abstractly, filled by NumPy.

    Running equinox's initialisers would compile them, most of these tests' time otherwise.
    """
    shapes = eqx.filter_eval_shape(cell_type, INPUT, HIDDEN, key=jax.random.key(0), **options)
    rng = np.random.default_rng(seed)
    return jax.tree_util.tree_map(
        lambda leaf: (
            jnp.asarray(rng.normal(0.0, 0.5, leaf.shape), leaf.dtype)
            if isinstance(leaf, jax.ShapeDtypeStruct)
            else leaf
        ),
        shapes,
    )


def _scan_equinox(cell, xs, carry):
    """Runs an (unbatched) equinox cell over ``xs [B, T, I]``: vmap over batch, scan over time."""

    def run_one(xs_one, carry_one):
        def step(state, x):
            state = cell(x, state)
            return state, state[0] if isinstance(state, tuple) else state

        return jax.lax.scan(step, carry_one, xs_one)

    return jax.vmap(run_one)(xs, carry)


def _inputs():
    rng = np.random.default_rng(1)
    xs = jnp.asarray(rng.normal(size=(BATCH, STEPS, INPUT)), jnp.float32)
    h, c = jnp.asarray(rng.normal(size=(2, BATCH, HIDDEN)), jnp.float32)
    return xs, h, c


@pytest.mark.parametrize("use_bias", [True, False])
def test_lstm_matches(use_bias):
    cell = _cell(eqx.nn.LSTMCell, use_bias=use_bias)
    xs, h, c = _inputs()
    (h_final, c_final), expected = _scan_equinox(cell, xs, (h, c))  # equinox's state is (h, c)
    final, ys = rnnax.lstm(from_equinox(cell), xs, rnnax.LSTMState(h, c))
    np.testing.assert_allclose(ys, expected, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(final.h, h_final, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(final.c, c_final, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("use_bias", [True, False])
def test_gru_matches(use_bias):
    cell = _cell(eqx.nn.GRUCell, use_bias=use_bias)
    xs, h, _ = _inputs()
    h_final, expected = _scan_equinox(cell, xs, h)
    params = from_equinox(cell)
    final, ys = rnnax.gru(params, xs, h, reset_after=True)
    np.testing.assert_allclose(ys, expected, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(final, h_final, rtol=RTOL, atol=ATOL)
    # equinox's single bias is the input one; only the candidate has a recurrent bias.
    assert not np.any(np.asarray(params.b_h[: 2 * HIDDEN]))


@pytest.mark.parametrize("cell_type", [eqx.nn.LSTMCell, eqx.nn.GRUCell])
def test_round_trip_is_exact(cell_type):
    cell = _cell(cell_type)
    back = to_equinox(from_equinox(cell))
    assert type(back) is cell_type
    leaves, leaves_back = jax.tree_util.tree_leaves(cell), jax.tree_util.tree_leaves(back)
    assert len(leaves) == len(leaves_back)
    for leaf, leaf_back in zip(leaves, leaves_back, strict=True):
        np.testing.assert_array_equal(leaf_back, leaf)
    params = from_equinox(cell)
    for array, array_back in zip(params, from_equinox(to_equinox(params)), strict=True):
        np.testing.assert_array_equal(array_back, array)


def test_to_equinox_gru_folds_the_recurrent_gate_biases():
    params = random_params("gru", INPUT, HIDDEN)  # nonzero b_h for z and r
    xs, h, _ = _inputs()
    final, ys = rnnax.gru(params, xs, h, reset_after=True)
    h_final, expected = _scan_equinox(to_equinox(params), xs, h)
    np.testing.assert_allclose(ys, expected, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(final, h_final, rtol=RTOL, atol=ATOL)


def test_imported_gru_runs_reset_after_without_being_told():
    cell = _cell(eqx.nn.GRUCell, seed=2)
    xs, h, _ = _inputs()
    h_final, expected = _scan_equinox(cell, xs, h)
    params = from_equinox(cell)
    assert type(params) is rnnax.GRUResetAfterParams
    for run in (rnnax.gru, rnnax.rnn):
        final, ys = run(params, xs, h)
        np.testing.assert_allclose(ys, expected, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(final, h_final, rtol=RTOL, atol=ATOL)


def test_to_equinox_refuses_plain_gru_params_and_elman():
    params = random_params("gru", INPUT, HIDDEN)
    plain = rnnax.GRUParams(*params)
    with pytest.raises(ValueError, match=r"reset_after=False\) has no equinox equivalent"):
        to_equinox(plain)
    with pytest.raises(ValueError, match="reset_after=False contradicts"):
        to_equinox(params, reset_after=False)
    for leaf, leaf_declared in zip(
        jax.tree_util.tree_leaves(to_equinox(params)),
        jax.tree_util.tree_leaves(to_equinox(plain, reset_after=True)),
        strict=True,
    ):
        np.testing.assert_array_equal(leaf_declared, leaf)
    with pytest.raises(TypeError, match="cell 'elman' has no equinox counterpart"):
        to_equinox(random_params("elman", INPUT, HIDDEN))


def test_dtypes():
    cell = _cell(eqx.nn.LSTMCell, dtype=jnp.bfloat16)
    params = from_equinox(cell)
    assert params.w_x.dtype == jnp.bfloat16
    assert from_equinox(cell, dtype=jnp.float32).b.dtype == jnp.float32
    assert to_equinox(params).weight_ih.dtype == jnp.bfloat16


def test_errors(monkeypatch):
    with pytest.raises(TypeError, match=r"equinox.nn.LSTMCell and equinox.nn.GRUCell"):
        from_equinox(eqx.filter_eval_shape(eqx.nn.Linear, 2, 3, key=jax.random.key(0)))
    with pytest.raises(TypeError, match="LSTMParams or GRUParams"):
        to_equinox({"w_x": jnp.ones((2, 8))})
    monkeypatch.setitem(sys.modules, "equinox", None)
    with pytest.raises(ImportError, match=r"pip install rnnax\[equinox\]"):
        to_equinox(random_params("lstm", INPUT, HIDDEN))
