"""Truncated BPTT: exact at full length, carry passed on, no gradient across a chunk boundary."""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import rnnax
from rnnax.training import DivergenceWarning, tbptt_fit, tbptt_grad, tbptt_update

I, H, T = 2, 6, 40


class Model(NamedTuple):
    rnn: rnnax.GRUParams
    w: jax.Array  # readout [H, 1]


def init(dtype=jnp.float32):
    return Model(
        rnnax.gru_init(jax.random.key(0), I, H, dtype=dtype), 0.1 * jnp.ones((H, 1), dtype)
    )


def loss_fn(params, h, chunk):
    """Next-value regression: mean over the chunk's steps of (readout - target)^2."""
    xs, targets = chunk
    h, ys = rnnax.gru(params.rnn, xs, h, reset_after=True)
    return jnp.mean((ys @ params.w - targets) ** 2), h


def make_data(dtype=jnp.float32, batch=(3,)):
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(*batch, T, I))
    targets = np.cumsum(xs[..., :1], axis=-2) / 10  # depends on the whole past
    return jnp.asarray(xs, dtype), jnp.asarray(targets, dtype)


def one_pass_loss(params, h, data):
    return loss_fn(params, h, data)[0]


def test_full_length_chunks_are_full_bptt_and_short_ones_sum_chunk_gradients():
    with jax.enable_x64(True):
        params, data = init(jnp.float64), make_data(jnp.float64)
        h0 = jnp.full((3, H), 0.1, jnp.float64)
        close = functools.partial(np.testing.assert_allclose, rtol=1e-12, atol=1e-15)
        full_loss, full_grads = jax.jit(jax.value_and_grad(one_pass_loss))(params, h0, data)
        result = tbptt_grad(loss_fn, params, h0, data, chunk_length=T)
        close(result.loss, full_loss)
        jax.tree.map(close, result.grads, full_grads)

        # Chunks of 15, 15 and 10 steps: the weighted sum of each chunk's gradient with the
        # carry entering it held fixed (an argument, not differentiated).
        result = tbptt_grad(loss_fn, params, h0, data, chunk_length=15)
        chunk_grad = jax.jit(jax.grad(loss_fn, has_aux=True))
        expected, h = jax.tree.map(jnp.zeros_like, params), h0
        for start, length in ((0, 15), (15, 15), (30, 10)):
            chunk = jax.tree.map(lambda leaf: leaf[:, start : start + length], data)
            grads, h = chunk_grad(params, h, chunk)
            expected = jax.tree.map(lambda e, g: e + length / T * g, expected, grads)
        jax.tree.map(close, result.grads, expected)
        # Truncation changes gradients only: the carry is passed on, so the final carry and
        # the loss are the one-pass ones.
        close(result.carry, rnnax.gru(params.rnn, data[0], h0, reset_after=True)[0])
        close(result.loss, full_loss)
        assert not np.allclose(result.grads.rnn.w_h, full_grads.rnn.w_h, rtol=1e-3)


def test_time_major_chunks_slice_the_first_axis():
    """A loss simple enough to check by hand: chunks of 5, 5, 5, 5 and 3 of 23 steps."""
    xs = jnp.arange(23 * 2, dtype=jnp.float32).reshape(23, 2, 1)  # [T, B, F], time first

    def running_sum_loss(w, total, chunk):
        (x,) = chunk
        return jnp.mean(w * x), total + jnp.sum(x, axis=0)

    result = tbptt_grad(
        running_sum_loss, jnp.ones(()), jnp.zeros((2, 1)), (xs,), chunk_length=5, time_major=True
    )
    close = functools.partial(np.testing.assert_allclose, rtol=1e-6)
    close(result.carry, jnp.sum(xs, axis=0))  # every step reached the carry, once
    # Chunk means weighted by steps / T: the mean over the whole sequence (and its gradient).
    close(result.loss, jnp.mean(xs))
    close(result.grads, jnp.mean(xs))


def test_no_gradient_crosses_a_chunk_boundary():
    """A parameter that acts only in chunk 0 on a loss only in chunk 1 gets zero gradient."""
    xs, targets = make_data(batch=())
    first_chunk = (jnp.arange(T) < 20).astype(jnp.float32)[:, None]  # 1 in chunk 0, else 0
    params = {"model": init(), "gain": jnp.ones(())}

    def gated_loss(params, h, chunk):
        xs, targets, first = chunk
        # gain scales the inputs of chunk 0 only; the loss counts chunk 1 only.
        inputs = xs * (1 + first * (params["gain"] - 1))
        h, ys = rnnax.gru(params["model"].rnn, inputs, h, reset_after=True)
        errors = (1 - first) * (ys @ params["model"].w - targets) ** 2
        return jnp.mean(errors), h

    data = (xs, targets, first_chunk)
    h0 = jnp.zeros(H)
    full = jax.jit(jax.grad(lambda p: gated_loss(p, h0, data)[0]))(params)
    assert abs(float(full["gain"])) > 1e-4  # through the carry, full BPTT sees it
    truncated = tbptt_grad(gated_loss, params, h0, data, chunk_length=20)
    assert float(truncated.grads["gain"]) == 0.0


def test_update_per_chunk_equals_a_manual_loop(standard_promotion):
    params, data = init(), make_data()
    optimizer = optax.sgd(0.05)
    h0 = jnp.zeros((3, H))
    result = tbptt_update(
        loss_fn, optimizer, params, optimizer.init(params), h0, data, chunk_length=20
    )
    expected_params, h, losses = params, h0, []
    value_and_grad = jax.jit(jax.value_and_grad(loss_fn, has_aux=True))
    for start, length in ((0, 20), (20, 20)):
        chunk = jax.tree.map(lambda leaf: leaf[:, start : start + length], data)
        (loss, new_h), grads = value_and_grad(expected_params, h, chunk)
        expected_params = jax.tree.map(lambda p, g: p - 0.05 * g, expected_params, grads)
        h, losses = new_h, [*losses, loss]
    close = functools.partial(np.testing.assert_allclose, rtol=1e-5, atol=1e-6)
    jax.tree.map(close, result.params, expected_params)
    close(result.carry, h)
    close(result.losses, losses)


def sine_data():
    t = np.arange(1201, dtype=np.float32)
    series = (0.8 * np.sin(2 * np.pi * t / 40))[:, None]
    return jnp.asarray(series[:-1]), jnp.asarray(series[1:])  # [1200, 1] each


def sine_loss(params, h, chunk):
    xs, targets = chunk
    h, ys = rnnax.gru(params.rnn, xs, h)
    return jnp.mean((ys @ params.w - targets) ** 2), h


def sine_model():
    return Model(rnnax.gru_init(jax.random.key(0), 1, 8), 0.1 * jnp.ones((8, 1)))


def test_fit_learns_a_sine_with_short_chunks():
    params, data = sine_model(), sine_data()
    result = tbptt_fit(
        sine_loss, params, jnp.zeros(8), data, chunk_length=25, epochs=8, learning_rate=2e-2
    )
    assert result.losses.shape == (8, 48) and not result.diverged
    assert result.losses[-1].mean() < 0.1 * result.losses[0].mean()
    again = tbptt_fit(
        sine_loss, params, jnp.zeros(8), data, chunk_length=25, epochs=8, learning_rate=2e-2
    )
    np.testing.assert_array_equal(again.losses, result.losses)  # deterministic


def test_fit_stops_on_divergence_and_keeps_the_last_good_parameters():
    params, (xs, targets) = sine_model(), sine_data()
    poisoned = (xs, targets.at[80].set(jnp.nan))
    with pytest.warns(DivergenceWarning, match="TBPTT diverged in epoch 0, chunk 3"):
        result = tbptt_fit(
            sine_loss, params, jnp.zeros(8), poisoned, chunk_length=25, epochs=8, learning_rate=2e-2
        )
    assert result.diverged and result.losses.shape == (0, 48)
    jax.tree.map(np.testing.assert_array_equal, result.params, params)


def test_errors():
    params, (xs, targets) = init(), make_data()
    h0 = jnp.zeros((3, H))
    with pytest.raises(
        ValueError,
        match=r"data\[1\] has 39 steps on its time axis "
        r"\(\[\.\.\., T, F\]\) but data\[0\] has 40",
    ):
        tbptt_grad(loss_fn, params, h0, (xs, targets[:, :-1]), chunk_length=10)
    with pytest.raises(ValueError, match="must have a time axis"):
        tbptt_grad(loss_fn, params, h0, (xs, targets[:, 0, 0]), chunk_length=10)
    with pytest.raises(ValueError, match="chunk_length must be a positive int, got 0"):
        tbptt_grad(loss_fn, params, h0, (xs, targets), chunk_length=0)
    with pytest.raises(
        ValueError,
        match=r"loss_fn must return \(scalar loss, carry\), got a "
        r"loss of shape \(3,\)",
    ):
        tbptt_grad(
            lambda p, h, c: (jnp.mean(loss_fn(p, h, c)[0]) * jnp.ones(3), h),
            params,
            h0,
            (xs, targets),
            chunk_length=10,
        )
    with pytest.raises(
        ValueError,
        match=r"loss_fn must return carry with the shape and dtype "
        r"it got, \(\(3, 6\), 'float32'\), got \(\(6,\), "
        r"'float32'\)",
    ):
        tbptt_grad(
            lambda p, h, c: (loss_fn(p, h, c)[0], h[0]), params, h0, (xs, targets), chunk_length=10
        )
    with pytest.raises(ValueError, match="loss_fn must return a carry of the structure"):
        tbptt_grad(
            lambda p, h, c: (loss_fn(p, h, c)[0], (h, h)),
            params,
            h0,
            (xs, targets),
            chunk_length=10,
        )
    with pytest.raises(TypeError, match=r"loss_fn must return \(loss, carry\), got "):
        tbptt_grad(lambda p, h, c: loss_fn(p, h, c)[0], params, h0, (xs, targets), chunk_length=10)
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        tbptt_fit(loss_fn, params, h0, (xs, targets), chunk_length=10, epochs=0)
    with pytest.raises(ValueError, match="pass learning_rate only with the default optimizer"):
        tbptt_fit(
            loss_fn,
            params,
            h0,
            (xs, targets),
            chunk_length=10,
            optimizer=optax.sgd(0.1),
            learning_rate=0.1,
        )
