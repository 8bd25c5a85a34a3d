"""The log-space parallel scan of ``rnnax._parallel`` against a float64 loop: any initial
carry (negative, zero), lengths (0 and T), reverse, T = 0 and 1, zero ``b``, long sequences;
gradients finite and equal to a sequential loop's; finite differences; ``g`` and ``log g``;
float32 computation for bfloat16."""

from __future__ import annotations

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from rnnax._parallel import LOG_ZERO, compute_dtype, g, linear_recurrence, log_g, parallel_runner

B, H = 4, 3


def reference(log_a, log_b, h0, lengths=None, reverse=False):
    """``h_t = a_t h_{t-1} + b_t`` one step at a time in float64, per ``scan_cell``'s
    semantics: padded steps neither read nor write, and their outputs are zero."""
    a = np.exp(np.asarray(log_a, np.float64))
    b = np.exp(np.asarray(log_b, np.float64))  # exp(LOG_ZERO) is exactly 0
    num_steps = a.shape[0]
    hs = np.zeros(a.shape)
    finals = np.zeros(np.shape(h0))
    for batch in range(a.shape[1]):
        length = num_steps if lengths is None else int(lengths[batch])
        h = np.asarray(h0[batch], np.float64)
        for t in reversed(range(length)) if reverse else range(length):
            h = a[t, batch] * h + b[t, batch]
            hs[t, batch] = h
        finals[batch] = h
    return finals, hs


def random_inputs(rng, num_steps, dtype=jnp.float32):
    log_a = -np.log1p(np.exp(rng.normal(size=(num_steps, B, H))))  # a in (0, 1)
    log_b = rng.normal(size=(num_steps, B, H))
    log_b[rng.random(log_b.shape) < 0.2] = LOG_ZERO  # some b exactly 0 at valid steps
    h0 = rng.normal(0.0, 2.0, size=(B, H))
    h0[0] = 0.0  # a zero carry next to carries of both signs
    return tuple(jnp.asarray(v, dtype) for v in (log_a, log_b, h0))


@functools.partial(jax.jit, static_argnames="reverse")
def run(log_a, log_b, h0, lengths, *, reverse):
    return linear_recurrence(log_a, log_b, h0, lengths, reverse=reverse)


def loss(log_a, log_b, h0, lengths, reverse):
    h, hs = linear_recurrence(log_a, log_b, h0, lengths, reverse=reverse)
    return jnp.sum(hs**2) + jnp.sum(jnp.sin(h))


@functools.partial(jax.jit, static_argnames="reverse")
def grads(log_a, log_b, h0, lengths, *, reverse):
    return jax.grad(loss, argnums=(0, 1, 2))(log_a, log_b, h0, lengths, reverse)


def sequential_loss(log_a, log_b, h0, lengths, reverse):
    """The same loss through a plain ``lax.scan`` of the recurrence (masked like the scan)."""
    num_steps = log_a.shape[0]

    def step(h, inputs):
        la, lb, t = inputs
        valid = (t < lengths)[:, None]
        new = jnp.exp(la) * h + jnp.exp(lb)
        return jnp.where(valid, new, h), jnp.where(valid, new, 0.0)

    steps = jnp.arange(num_steps, dtype=lengths.dtype)
    h, hs = jax.lax.scan(step, h0, (log_a, log_b, steps), reverse=reverse)
    return jnp.sum(hs**2) + jnp.sum(jnp.sin(h))


@functools.partial(jax.jit, static_argnames="reverse")
def sequential_grads(log_a, log_b, h0, lengths, *, reverse):
    return jax.grad(sequential_loss, argnums=(0, 1, 2))(log_a, log_b, h0, lengths, reverse)


LENGTHS = np.array([7, 0, 3, 1], np.int32)  # T = 7 (odd: both halves of the scan's recursion)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("num_steps", [7, 1, 0])
def test_matches_the_loop(rng, num_steps, reverse):
    log_a, log_b, h0 = random_inputs(rng, num_steps)
    for lengths in [None, jnp.asarray(np.minimum(LENGTHS, num_steps))]:
        h, hs = run(log_a, log_b, h0, lengths, reverse=reverse)
        h_ref, hs_ref = reference(log_a, log_b, h0, lengths, reverse)
        assert hs.shape == (num_steps, B, H) and h.dtype == hs.dtype == jnp.float32
        np.testing.assert_allclose(hs, hs_ref, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(h, h_ref, rtol=1e-5, atol=1e-6)
        if lengths is not None:
            padded = np.arange(num_steps)[:, None] >= np.asarray(lengths)[None, :]
            assert not np.any(np.asarray(hs)[padded])
            np.testing.assert_array_equal(h[1], h0[1])  # length 0: the initial carry exactly


def test_long_sequences_stay_accurate(rng):
    """A thousand steps with a close to 1 (long memory), b spanning many orders of magnitude
    and large carries of both signs: float32 in log space stays within a few ulps of the
    float64 loop, measured against the size of the terms (where a negative carry's decay and
    the b terms nearly cancel, h_t = e^A h0 + e^B is a difference of two such numbers)."""
    num_steps = 1000
    log_a = jnp.asarray(-np.abs(rng.normal(0.0, 1e-3, (num_steps, 2, H))), jnp.float32)
    log_b = jnp.asarray(rng.uniform(-30.0, 2.0, (num_steps, 2, H)), jnp.float32)
    h0 = jnp.asarray(rng.normal(0.0, 100.0, (2, H)), jnp.float32)
    scale = float(jnp.abs(h0).max())
    h, hs = run(log_a, log_b, h0, None, reverse=False)  # reverse: the same scan, flipped
    h_ref, hs_ref = reference(log_a, log_b, h0)
    np.testing.assert_allclose(hs, hs_ref, rtol=2e-5, atol=2e-6 * scale)
    np.testing.assert_allclose(h, h_ref, rtol=2e-5, atol=2e-6 * scale)


@pytest.mark.parametrize("reverse", [False, True])
def test_gradients_are_finite_and_equal_a_sequential_loop(rng, reverse):
    log_a, log_b, h0 = random_inputs(rng, 7)
    for lengths in [LENGTHS, np.zeros(B, np.int32)]:  # all padded: only log LOG_ZERO terms
        lengths = jnp.asarray(lengths)
        actual = grads(log_a, log_b, h0, lengths, reverse=reverse)
        expected = sequential_grads(log_a, log_b, h0, lengths, reverse=reverse)
        assert all(bool(jnp.isfinite(leaf).all()) for leaf in actual)
        chex.assert_trees_all_close(actual, expected, rtol=1e-5, atol=1e-5)
        padded = np.arange(7)[:, None] >= np.asarray(lengths)[None, :]
        assert not np.any(np.asarray(actual[0])[padded])  # padded steps read nothing
        assert not np.any(np.asarray(actual[1])[padded])


def test_passes_finite_differences():
    with jax.enable_x64(True):
        log_a, log_b, h0 = random_inputs(np.random.default_rng(1), 5, jnp.float64)
        log_b = jnp.where(log_b == LOG_ZERO, -1.0, log_b)  # differentiate through every b
        lengths = jnp.array([5, 0, 3, 1], jnp.int32)
        f = jax.jit(functools.partial(loss, lengths=lengths, reverse=True))
        check_grads(f, (log_a, log_b, h0), order=1, modes=("rev",), atol=1e-5, rtol=1e-5, eps=1e-6)


def test_g_and_its_log():
    with jax.enable_x64(True):
        x = jnp.asarray([-700.0, -30.0, -1.0, -1e-9, 0.0, 1e-9, 1.0, 30.0, 1e6], jnp.float64)
        values = np.asarray(g(x))
        assert np.all(values > 0)
        np.testing.assert_allclose(log_g(x), np.log(values), rtol=1e-12)
        np.testing.assert_allclose(values[3:6], 0.5, atol=1e-9)  # continuous at 0
        # d log g = g' / g, finite everywhere, including where sigma(x) underflows.
        d_log_g, d_g = jax.jit(lambda x: (jax.vmap(jax.grad(log_g))(x), jax.vmap(jax.grad(g))(x)))(
            x
        )
        np.testing.assert_allclose(d_log_g, np.asarray(d_g) / values, rtol=1e-12)
    # In float32 log_g stays finite (and exact) far below where sigma(x) underflows to 0.
    far = jnp.asarray([-200.0, -1e4], jnp.float32)
    np.testing.assert_allclose(log_g(far), far, rtol=1e-6)
    assert bool(jnp.isfinite(jax.vmap(jax.grad(log_g))(far)).all())


def test_narrow_dtypes_compute_in_float32(rng):
    assert compute_dtype(jnp.bfloat16) == compute_dtype(jnp.float16) == jnp.float32
    assert compute_dtype(jnp.float32) == jnp.float32
    with jax.enable_x64(True):
        assert compute_dtype(jnp.float64) == jnp.float64

    def coefficients(params, xs):  # h_t = a h_{t-1} + x_t^2 + 1, all in the widened dtype
        assert xs.dtype == params.dtype == jnp.float32
        log_a = jnp.broadcast_to(params, (*xs.shape[:-1], H))
        return log_a, jnp.log1p(jnp.square(xs))

    runner = parallel_runner(coefficients)
    xs = jnp.asarray(rng.normal(size=(6, B, H)), jnp.bfloat16)
    h0 = jnp.asarray(rng.normal(size=(B, H)), jnp.bfloat16)
    param = jnp.asarray(-0.3, jnp.bfloat16)
    h, hs = runner(param, xs, h0, None, reverse=False, unroll=1)
    assert h.dtype == hs.dtype == jnp.bfloat16
    wide = jax.tree.map(lambda leaf: leaf.astype(jnp.float32), (param, xs, h0))
    h32, hs32 = runner(*wide, None, reverse=False, unroll=1)
    np.testing.assert_array_equal(hs, hs32.astype(jnp.bfloat16))  # one rounding, at the end
    np.testing.assert_array_equal(h, h32.astype(jnp.bfloat16))
    # Gradients come back in bfloat16, finite, and close to the float32 ones.
    lengths = jnp.asarray(LENGTHS - 1)

    @jax.jit
    def gradients(param, xs, h0):
        def f(param, xs, h0):
            h, hs = runner(param, xs, h0, lengths, reverse=True, unroll=1)
            return jnp.sum(hs.astype(jnp.float32) ** 2) + jnp.sum(h.astype(jnp.float32))

        return jax.grad(f, argnums=(0, 1, 2))(param, xs, h0)

    narrow, wide_grads = gradients(param, xs, h0), gradients(*wide)
    assert [leaf.dtype for leaf in narrow] == [jnp.bfloat16] * 3
    for a, b in zip(narrow, wide_grads, strict=True):
        np.testing.assert_allclose(np.asarray(a, np.float32), b, rtol=2e-2, atol=2e-2)
