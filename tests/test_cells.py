"""Single steps of the cells against the float64 NumPy transcription of the equations."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rnnax
from tests import reference as ref

RTOL, ATOL = 1e-5, 1e-6


def random_lstm(rng, input_size=3, hidden=5):
    params = rnnax.lstm_init(jax.random.key(1), input_size, hidden)
    # Non-trivial biases: the init's zeros would hide a bias that is dropped or misplaced.
    return params._replace(b=jnp.asarray(rng.normal(size=4 * hidden), jnp.float32))


def random_gru(rng, input_size=3, hidden=5):
    params = rnnax.gru_init(jax.random.key(1), input_size, hidden)
    return params._replace(
        b_x=jnp.asarray(rng.normal(size=3 * hidden), jnp.float32),
        b_h=jnp.asarray(rng.normal(size=3 * hidden), jnp.float32),
    )


@pytest.mark.parametrize("batch_shape", [(), (4,), (2, 3)])
def test_lstm_cell_matches_reference(rng, batch_shape):
    params = random_lstm(rng)
    x = rng.normal(size=(*batch_shape, 3)).astype(np.float32)
    h = rng.normal(size=(*batch_shape, 5)).astype(np.float32)
    c = rng.normal(size=(*batch_shape, 5)).astype(np.float32)
    (h_new, c_new), y = rnnax.lstm_cell(
        params, rnnax.LSTMState(jnp.asarray(h), jnp.asarray(c)), jnp.asarray(x)
    )
    h_ref, c_ref = ref.lstm_step(
        params, h.astype(np.float64), c.astype(np.float64), x.astype(np.float64)
    )
    np.testing.assert_allclose(h_new, h_ref, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(c_new, c_ref, rtol=RTOL, atol=ATOL)
    np.testing.assert_array_equal(y, h_new)


@pytest.mark.parametrize("reset_after", [False, True])
@pytest.mark.parametrize("batch_shape", [(), (4,), (2, 3)])
def test_gru_cell_matches_reference(rng, batch_shape, reset_after):
    params = random_gru(rng)
    x = rng.normal(size=(*batch_shape, 3)).astype(np.float32)
    h = rng.normal(size=(*batch_shape, 5)).astype(np.float32)
    h_new, y = rnnax.gru_cell(params, jnp.asarray(h), jnp.asarray(x), reset_after=reset_after)
    h_ref = ref.gru_step(params, h.astype(np.float64), x.astype(np.float64), reset_after)
    np.testing.assert_allclose(h_new, h_ref, rtol=RTOL, atol=ATOL)
    np.testing.assert_array_equal(y, h_new)


def test_gru_forms_differ(rng):
    """The two GRU forms are different functions once h and the candidate bias are nonzero."""
    params = random_gru(rng)
    h = jnp.asarray(rng.normal(size=5), jnp.float32)
    x = jnp.asarray(rng.normal(size=3), jnp.float32)
    before, _ = rnnax.gru_cell(params, h, x)
    after, _ = rnnax.gru_cell(params, h, x, reset_after=True)
    assert float(jnp.abs(before - after).max()) > 1e-3


def test_gru_update_gate_weights_the_new_candidate():
    """z -> 1 (large z bias) makes h' the candidate n; z -> 0 keeps h (the seed's convention)."""
    params = rnnax.gru_init(jax.random.key(0), 2, 3)
    h = jnp.array([0.5, -0.5, 0.25])
    x = jnp.array([1.0, -1.0])
    open_z = params._replace(b_x=params.b_x.at[:3].set(50.0))
    closed_z = params._replace(b_x=params.b_x.at[:3].set(-50.0))
    kept, _ = rnnax.gru_cell(closed_z, h, x)
    np.testing.assert_allclose(kept, h, atol=1e-6)
    replaced, _ = rnnax.gru_cell(open_z, h, x)
    assert float(jnp.abs(replaced - h).max()) > 1e-2


def test_cell_is_a_scan_body(rng):
    """functools.partial(cell, params) is exactly the body lax.scan wants."""
    import functools

    params = random_gru(rng)
    xs = jnp.asarray(rng.normal(size=(7, 3)), jnp.float32)
    _, ys = jax.lax.scan(functools.partial(rnnax.gru_cell, params), jnp.zeros(5), xs)
    _, ref_ys = ref.gru_sequence(params, np.asarray(xs), np.zeros(5), reset_after=False)
    np.testing.assert_allclose(ys, ref_ys, rtol=RTOL, atol=ATOL)


def test_lstm_init_layout_and_forget_bias():
    params = rnnax.lstm_init(jax.random.key(0), 3, 4, forget_bias=2.5, dtype=jnp.bfloat16)
    assert params.w_x.shape == (3, 16) and params.w_h.shape == (4, 16) and params.b.shape == (16,)
    assert all(leaf.dtype == jnp.bfloat16 for leaf in params)
    np.testing.assert_array_equal(
        np.asarray(params.b, np.float32), np.r_[np.zeros(4), np.full(4, 2.5), np.zeros(8)]
    )


@pytest.mark.parametrize("init, gates", [(rnnax.lstm_init, 4), (rnnax.gru_init, 3)])
def test_recurrent_blocks_are_orthogonal(init, gates):
    params = init(jax.random.key(0), 3, 6)
    for k in range(gates):
        block = np.asarray(params.w_h[:, 6 * k : 6 * (k + 1)], np.float64)
        np.testing.assert_allclose(block.T @ block, np.eye(6), atol=1e-5)
    # Glorot uniform bound for each [I, H] block: sqrt(6 / (fan_in + fan_out)).
    assert float(jnp.abs(params.w_x).max()) <= np.sqrt(6 / (3 + 6))


def test_init_is_deterministic_and_key_dependent():
    a = rnnax.gru_init(jax.random.key(0), 3, 4)
    b = rnnax.gru_init(jax.random.key(0), 3, 4)
    c = rnnax.gru_init(jax.random.key(1), 3, 4)
    for leaf_a, leaf_b in zip(a, b, strict=True):
        np.testing.assert_array_equal(leaf_a, leaf_b)
    assert not np.array_equal(a.w_h, c.w_h)


@pytest.mark.parametrize("bad", [0, -3, 2.0, True])
def test_init_rejects_bad_sizes(bad):
    with pytest.raises((ValueError, TypeError), match="hidden_size"):
        rnnax.lstm_init(jax.random.key(0), 3, bad)
    with pytest.raises((ValueError, TypeError), match="input_size"):
        rnnax.gru_init(jax.random.key(0), bad, 3)
