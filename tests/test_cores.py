"""Whole-sequence cores against the float64 reference: both GRU forms, lengths, reverse,
batch-major and time-major, 0, 1 and 2 batch axes, initial carries."""

from __future__ import annotations

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rnnax
from tests import reference as ref
from tests.test_cells import random_gru, random_lstm

RTOL, ATOL = 1e-5, 1e-6
T, I, H = 6, 3, 5
KINDS = ["lstm", "gru", "gru_reset_after"]


def run_core(kind, params, xs, carry, **kwargs):
    if kind == "lstm":
        return rnnax.lstm(params, xs, carry, **kwargs)
    return rnnax.gru(params, xs, carry, reset_after=kind == "gru_reset_after", **kwargs)


def reference_run(kind, params, xs_bm, carry, lengths, reverse):
    """Loops the unbatched reference over every batch index of batch-major ``xs [..., T, I]``."""
    batch_shape = xs_bm.shape[:-2]
    ys = np.zeros((*batch_shape, T, H))
    h_final = np.zeros((*batch_shape, H))
    c_final = np.zeros((*batch_shape, H))
    for index in np.ndindex(batch_shape):
        length = None if lengths is None else int(np.asarray(lengths)[index])
        if kind == "lstm":
            (h, c), y = ref.lstm_sequence(
                params,
                xs_bm[index],
                np.asarray(carry.h[index]),
                np.asarray(carry.c[index]),
                length,
                reverse,
            )
            c_final[index] = c
        else:
            h, y = ref.gru_sequence(
                params,
                xs_bm[index],
                np.asarray(carry[index]),
                kind == "gru_reset_after",
                length,
                reverse,
            )
        ys[index], h_final[index] = y, h
    return h_final, c_final, ys


def make_case(rng, kind, batch_shape):
    params = random_lstm(rng, I, H) if kind == "lstm" else random_gru(rng, I, H)
    xs = rng.normal(size=(*batch_shape, T, I)).astype(np.float32)
    h0 = jnp.asarray(rng.normal(size=(*batch_shape, H)), jnp.float32)
    carry = (
        rnnax.LSTMState(h0, jnp.asarray(rng.normal(size=(*batch_shape, H)), jnp.float32))
        if kind == "lstm"
        else h0
    )
    return params, xs, carry


@pytest.mark.parametrize("strategy", ["scan", "custom_vjp"])
@pytest.mark.parametrize("time_major", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("with_lengths", [False, True])
@pytest.mark.parametrize("batch_shape", [(), (4,), (2, 3)])
@pytest.mark.parametrize("kind", KINDS)
def test_core_matches_reference(
    rng, kind, batch_shape, with_lengths, reverse, time_major, strategy
):
    params, xs, carry = make_case(rng, kind, batch_shape)
    lengths = None
    if with_lengths:
        # Cover 0, 1, partial and full lengths whenever the batch is big enough.
        choices = np.array([T, 0, 1, 3, T, 2])
        lengths = jnp.asarray(np.resize(choices, batch_shape).astype(np.int32))
    xs_in = np.moveaxis(xs, -2, 0) if time_major else xs
    final, ys = run_core(
        kind,
        params,
        jnp.asarray(xs_in),
        carry,
        seq_lengths=lengths,
        reverse=reverse,
        time_major=time_major,
        strategy=strategy,
    )
    if time_major:
        ys = jnp.moveaxis(ys, 0, -2)
    h_ref, c_ref, ys_ref = reference_run(kind, params, xs, carry, lengths, reverse)
    np.testing.assert_allclose(ys, ys_ref, rtol=RTOL, atol=ATOL)
    h_final = final.h if kind == "lstm" else final
    np.testing.assert_allclose(h_final, h_ref, rtol=RTOL, atol=ATOL)
    if kind == "lstm":
        np.testing.assert_allclose(final.c, c_ref, rtol=RTOL, atol=ATOL)
    if with_lengths:
        steps = np.arange(T)
        padded = steps >= np.asarray(lengths)[..., None]
        assert np.all(np.asarray(ys)[padded] == 0.0), "ys must be exactly zero at padded steps"


@pytest.mark.parametrize("kind", KINDS)
def test_carry_none_means_zeros(rng, kind):
    params, xs, carry = make_case(rng, kind, (2,))
    zeros = jax.tree.map(jnp.zeros_like, carry)
    final_default, ys_default = run_core(kind, params, jnp.asarray(xs), None)
    final_zeros, ys_zeros = run_core(kind, params, jnp.asarray(xs), zeros)
    np.testing.assert_array_equal(ys_default, ys_zeros)
    jax.tree.map(np.testing.assert_array_equal, final_default, final_zeros)


@pytest.mark.parametrize("kind", KINDS)
def test_core_equals_scan_cell_with_public_cell(rng, kind):
    """The cores are scan_cell over the public cells, not a copy of them."""
    params, xs, carry = make_case(rng, kind, (3,))
    if kind == "lstm":
        cell = rnnax.lstm_cell
    else:
        cell = functools.partial(rnnax.gru_cell, reset_after=kind == "gru_reset_after")
    lengths = jnp.array([6, 2, 0], jnp.int32)
    expected = rnnax.scan_cell(
        cell, params, jnp.asarray(xs), carry, seq_lengths=lengths, reverse=True
    )
    got = run_core(
        kind, params, jnp.asarray(xs), carry, seq_lengths=lengths, reverse=True, strategy="scan"
    )
    jax.tree.map(np.testing.assert_array_equal, got, expected)


def test_scan_cell_runs_a_user_cell():
    """Any (params, carry, x) -> (carry, y) cell: here a running sum with a pytree output."""

    def cumulative(scale, total, x):
        total = total + scale * x
        return total, {"total": total, "double": 2 * total}

    xs = jnp.arange(12.0).reshape(2, 3, 2)
    total, ys = rnnax.scan_cell(
        cumulative, 1.0, xs, jnp.zeros((2, 2)), seq_lengths=jnp.array([3, 1])
    )
    np.testing.assert_array_equal(total, [[6.0, 9.0], [6.0, 7.0]])
    np.testing.assert_array_equal(ys["double"][1], [[12.0, 14.0], [0.0, 0.0], [0.0, 0.0]])


@pytest.mark.parametrize("unroll", [2, True])
def test_unroll_gives_the_same_numbers(rng, unroll):
    params, xs, carry = make_case(rng, "lstm", (2,))
    base = rnnax.lstm(params, jnp.asarray(xs), carry)
    unrolled = rnnax.lstm(params, jnp.asarray(xs), carry, unroll=unroll)
    chex.assert_trees_all_close(base, unrolled, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("kind", KINDS)
def test_bfloat16_runs_and_stays_finite(kind):
    key = jax.random.key(0)
    if kind == "lstm":
        params = rnnax.lstm_init(key, I, H, dtype=jnp.bfloat16)
    else:
        params = rnnax.gru_init(key, I, H, dtype=jnp.bfloat16)
    xs = 3.0 * jax.random.normal(jax.random.key(1), (4, 200, I), jnp.bfloat16)
    _, ys = jax.jit(functools.partial(run_core, kind))(params, xs, None)
    assert ys.dtype == jnp.bfloat16
    assert bool(jnp.isfinite(ys).all())
    # bfloat16 tracks the float32 run to bfloat16 precision.
    params32 = jax.tree.map(lambda leaf: leaf.astype(jnp.float32), params)
    _, ys32 = run_core(kind, params32, xs.astype(jnp.float32), None)
    np.testing.assert_allclose(ys.astype(jnp.float32), ys32, atol=0.1)
