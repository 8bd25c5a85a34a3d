"""``stream_scan``: long series in one compiled loop, equal to one pass, in bounded memory."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rnnax

I, H = 2, 4


def wave(t):
    """Inputs as a function of the step index ``[..., k] -> [..., k, I]``."""
    t = t.astype(jnp.float32)
    return jnp.stack([jnp.sin(t / 37.0), jnp.cos(t / 11.0)], axis=-1)


# Every 5th output with chunks of 20 (5 divides 20), every 40th (a multiple of 20), none.
@pytest.mark.parametrize(
    ("kind", "time_major", "keeps"), [("lstm", False, (5, None)), ("gru_stack", True, (40,))]
)
def test_kept_outputs_and_final_state_equal_one_pass(kind, time_major, keeps):
    key = jax.random.key(0)
    if kind == "lstm":
        params, one_pass, options = rnnax.lstm_init(key, I, H), rnnax.lstm, {}
    else:
        params = rnnax.gru_stack_init(key, I, H, num_layers=2)
        one_pass, options = (
            functools.partial(rnnax.gru_stack, reset_after=True),
            {"reset_after": True},
        )
    xs = jax.random.normal(jax.random.key(1), (103, 2, I) if time_major else (2, 103, I))
    carry, ys = one_pass(params, xs, time_major=time_major)
    axis = 0 if time_major else 1
    state = rnnax.stream_init(params, (2,))
    for keep_every in keeps:
        final, kept = rnnax.stream_scan(
            params,
            state,
            xs,
            chunk_length=20,
            keep_every=keep_every,
            time_major=time_major,
            **options,
        )
        jax.tree.map(np.testing.assert_array_equal, final.carry, carry)
        np.testing.assert_array_equal(final.steps, [103, 103])
        if keep_every is None:
            assert kept is None
        else:
            expected = jax.lax.slice_in_dim(ys, keep_every - 1, 103, keep_every, axis=axis)
            np.testing.assert_array_equal(kept, expected)


def test_input_function_continues_across_calls_and_matches_an_input_array():
    params = rnnax.gru_init(jax.random.key(0), I, H)
    steps = jnp.broadcast_to(jnp.arange(200, dtype=jnp.int32), (3, 200))
    xs = jax.jit(wave)(steps)  # [3, 200, I], computed as the loop computes it
    h, ys = rnnax.gru(params, xs)
    state = rnnax.stream_init(params, (3,))
    # Two calls of 100 steps: the function sees the global indices, so the stream continues.
    state, first = rnnax.stream_scan(
        params, state, wave, num_steps=100, chunk_length=30, keep_every=1
    )
    state, second = rnnax.stream_scan(
        params, state, wave, num_steps=100, chunk_length=30, keep_every=1
    )
    close = functools.partial(np.testing.assert_allclose, rtol=1e-6, atol=1e-6)
    close(jnp.concatenate([first, second], axis=1), ys)
    close(state.carry, h)
    np.testing.assert_array_equal(state.steps, [200, 200, 200])


def test_reduce_fn_folds_inputs_and_outputs():
    params = rnnax.gru_init(jax.random.key(0), I, H)
    xs = jax.random.normal(jax.random.key(1), (2, 90, I))
    h, ys = rnnax.gru(params, xs)

    def reduce_fn(acc, xs_chunk, ys_chunk):
        # The running squared error of "output unit 0 predicts input feature 0", and the max.
        error = jnp.sum((ys_chunk[..., 0] - xs_chunk[..., 0]) ** 2, axis=-1)
        return acc[0] + error, jnp.maximum(acc[1], jnp.max(ys_chunk, axis=-2))

    init = (jnp.zeros(2), jnp.full((2, H), -jnp.inf))
    state, (error, peak) = rnnax.stream_scan(
        params,
        rnnax.stream_init(params, (2,)),
        xs,
        chunk_length=25,
        reduce_fn=reduce_fn,
        reduce_init=init,
    )
    np.testing.assert_allclose(error, jnp.sum((ys[..., 0] - xs[..., 0]) ** 2, axis=-1), rtol=1e-5)
    np.testing.assert_array_equal(peak, jnp.max(ys, axis=-2))
    np.testing.assert_array_equal(state.carry, h)


def temp_bytes(params, num_steps, *, xs=None):
    """XLA's temporary-buffer size for the compiled ``stream_scan``."""
    batch = (8,)
    if xs is None:
        run = functools.partial(rnnax.stream_scan, xs=wave, num_steps=num_steps, chunk_length=500)
        lowered = jax.jit(run).lower(params, rnnax.stream_init(params, batch))
    else:
        run = functools.partial(rnnax.stream_scan, chunk_length=500)
        lowered = jax.jit(run).lower(
            params,
            rnnax.stream_init(params, batch),
            jax.ShapeDtypeStruct((*batch, num_steps, I), jnp.float32),
        )
    return lowered.compile().memory_analysis()


def test_working_memory_does_not_grow_with_the_number_of_steps():
    params = rnnax.lstm_init(jax.random.key(0), I, 32)
    generated = [temp_bytes(params, t) for t in (10_000, 100_000)]
    from_array = [temp_bytes(params, t, xs=True) for t in (10_000, 100_000)]
    # Bounded: the same temporary buffers for 10x the steps, whether the inputs are generated
    # in the loop or sliced out of an input array (which is an argument, not a temporary).
    assert generated[0].temp_size_in_bytes == generated[1].temp_size_in_bytes
    assert from_array[0].temp_size_in_bytes == from_array[1].temp_size_in_bytes
    assert generated[1].argument_size_in_bytes == generated[0].argument_size_in_bytes
    # One chunk's worth (500 steps x 8 x 4H gates, float32, is 256 KB), against the 102 MB of
    # outputs alone that one pass over 100k steps returns.
    assert generated[1].temp_size_in_bytes < 1_000_000
    one_pass = (
        jax.jit(rnnax.lstm)
        .lower(params, jax.ShapeDtypeStruct((8, 100_000, I), jnp.float32))
        .compile()
        .memory_analysis()
    )
    assert one_pass.output_size_in_bytes > 100 * generated[1].temp_size_in_bytes


def test_a_million_steps():
    """T = 10**6 in one call: the final state and kept outputs equal one pass (about 3 s)."""
    params = rnnax.gru_init(jax.random.key(0), I, 8)
    num_steps = 1_000_000
    state, kept = rnnax.stream_scan(
        params,
        rnnax.stream_init(params),
        wave,
        num_steps=num_steps,
        chunk_length=2000,
        keep_every=100_000,
    )
    assert int(state.steps) == num_steps and kept.shape == (10, 8)
    xs = jax.jit(wave)(jnp.arange(num_steps, dtype=jnp.int32))  # 8 MB of inputs
    h, ys = rnnax.gru(params, xs)
    # Inputs generated per chunk can differ from the whole-array ones in the last bit of a
    # sine; the contracting recurrence keeps that at rounding level.
    np.testing.assert_allclose(state.carry, h, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(kept, ys[99_999::100_000], rtol=1e-5, atol=1e-5)


def test_errors():
    params = rnnax.gru_init(jax.random.key(0), I, H)
    state = rnnax.stream_init(params, (2,))
    xs = jnp.ones((2, 50, I))
    with pytest.raises(
        ValueError, match="keep_every must divide chunk_length = 20 or be a multiple of it, got 15"
    ):
        rnnax.stream_scan(params, state, xs, chunk_length=20, keep_every=15)
    with pytest.raises(ValueError, match="pass keep_every or reduce_fn, not both"):
        rnnax.stream_scan(
            params,
            state,
            xs,
            chunk_length=20,
            keep_every=5,
            reduce_fn=lambda acc, x, y: acc,
            reduce_init=jnp.zeros(()),
        )
    with pytest.raises(
        ValueError,
        match=r"reduce_fn must return an accumulator of the "
        r"structure, shapes and dtypes of reduce_init",
    ):
        rnnax.stream_scan(
            params,
            state,
            xs,
            chunk_length=20,
            reduce_init=jnp.zeros(()),
            reduce_fn=lambda acc, x, y: acc + jnp.sum(y, axis=(-2, -1)),
        )
    with pytest.raises(ValueError, match="reduce_init is used only with reduce_fn"):
        rnnax.stream_scan(params, state, xs, chunk_length=20, reduce_init=jnp.zeros(()))
    with pytest.raises(ValueError, match="num_steps is required when xs is a function"):
        rnnax.stream_scan(params, state, wave, chunk_length=20)
    with pytest.raises(
        ValueError, match="num_steps must be None or the number of steps of xs, 50, got 60"
    ):
        rnnax.stream_scan(params, state, xs, chunk_length=20, num_steps=60)
    with pytest.raises(ValueError, match="chunk_length must be a positive int, got 0"):
        rnnax.stream_scan(params, state, xs, chunk_length=0)
    with pytest.raises(ValueError, match=r"xs must have batch shape \(2,\)"):
        rnnax.stream_scan(params, state, jnp.ones((3, 50, I)), chunk_length=20)
    with pytest.raises(
        ValueError,
        match=r"xs\(steps\) for a chunk of 20 steps must have the "
        r"input size I of params = 2",
    ):
        rnnax.stream_scan(params, state, lambda t: wave(t)[..., :1], num_steps=50, chunk_length=20)
    with pytest.raises(ValueError, match="reset_after=True applies only to GRU parameters"):
        lstm = rnnax.lstm_init(jax.random.key(0), I, H)
        rnnax.stream_scan(
            lstm, rnnax.stream_init(lstm, (2,)), xs, chunk_length=20, reset_after=True
        )
