"""Streaming inference: a series fed chunk by chunk equals one pass over the whole series."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rnnax
from tests import reference

I, H, T = 3, 4, 12
# Chunks of 1 step and of several, the last one shorter; two chunk shapes keep compiles few.
SIZES = [5, 1, 5, 1]
# Both GRU forms; stacks of both cells.
KINDS = ["lstm", "gru", "lstm_stack", "gru_stack_reset_after"]


def make_model(kind, dtype=jnp.float32):
    """``(params, one_pass(params, xs, carry=None, **kw) -> (carry, ys), options)``."""
    key = jax.random.key(0)
    options = {"reset_after": True} if kind.endswith("reset_after") else {}
    if kind == "lstm":
        return rnnax.lstm_init(key, I, H, dtype=dtype), rnnax.lstm, options
    if kind.startswith("gru_stack"):
        layers = rnnax.gru_stack_init(key, I, H, num_layers=2, dtype=dtype)
        return layers, functools.partial(rnnax.gru_stack, **options), options
    if kind == "lstm_stack":
        return rnnax.lstm_stack_init(key, I, H, num_layers=2, dtype=dtype), rnnax.lstm_stack, {}
    return rnnax.gru_init(key, I, H, dtype=dtype), functools.partial(rnnax.gru, **options), options


def split(xs, sizes, time_major=False):
    starts = np.cumsum([0, *sizes[:-1]])
    axis = 0 if time_major else -2
    return [
        jax.lax.slice_in_dim(xs, s, s + n, axis=axis % xs.ndim)
        for s, n in zip(starts, sizes, strict=True)
    ]


def stream(params, chunks, batch_shape, **options):
    state = rnnax.stream_init(params, batch_shape)
    outputs = []
    for chunk in chunks:
        state, ys = rnnax.stream_apply(params, state, chunk, **options)
        outputs.append(ys)
    return state, outputs


@pytest.mark.parametrize("kind", KINDS)
def test_chunks_equal_one_pass(kind):
    params, one_pass, options = make_model(kind)
    xs = jax.random.normal(jax.random.key(1), (2, T, I))
    carry, ys = one_pass(params, xs)
    sizes_list = [SIZES, [1] * T] if kind == "gru" else [SIZES]  # one step at a time, too
    for sizes in sizes_list:
        state, outputs = stream(params, split(xs, sizes), (2,), **options)
        # The same steps on the same carry: equal to the last bit, not just close.
        np.testing.assert_array_equal(jnp.concatenate(outputs, axis=-2), ys)
        jax.tree.map(np.testing.assert_array_equal, state.carry, carry)
        np.testing.assert_array_equal(state.steps, [T, T])


@pytest.mark.parametrize("kind", ["gru_stack"])
def test_float64_stream_matches_the_reference_loop(kind):
    with jax.enable_x64(True):
        params, _, options = make_model(kind, jnp.float64)
        xs = np.random.default_rng(0).normal(size=(T, I))
        state, outputs = stream(params, split(jnp.asarray(xs), [6, 6]), (), **options)
        inputs = xs
        layers = params if isinstance(params, list) else [[params]]
        for layer in layers:
            p = layer[0]
            if kind == "lstm":
                (h, _), expected = reference.lstm_sequence(p, inputs, np.zeros(H), np.zeros(H))
            else:
                h, expected = reference.gru_sequence(p, inputs, np.zeros(H), kind != "gru_stack")
            inputs = expected
        np.testing.assert_allclose(
            jnp.concatenate(outputs, axis=-2), expected, rtol=1e-12, atol=1e-12
        )
        final = state.carry[-1][0] if isinstance(params, list) else state.carry
        np.testing.assert_allclose(final.h if kind == "lstm" else final, h, rtol=1e-12, atol=1e-12)


def test_batch_axes_time_major_and_initial_carry():
    params, _, _ = make_model("lstm")
    xs = jax.random.normal(jax.random.key(1), (T, 2, 3, I))  # time-major, batch (2, 3)
    carry0 = rnnax.LSTMState(jnp.full((2, 3, H), 0.5), jnp.full((2, 3, H), -0.25))
    expected_carry, expected_ys = rnnax.lstm(params, xs, carry0, time_major=True)
    state = rnnax.stream_init(params, (2, 3), carry=carry0)
    outputs = []
    for chunk in split(xs, [6, 6], time_major=True):
        state, ys = rnnax.stream_apply(params, state, chunk, time_major=True)
        outputs.append(ys)
    np.testing.assert_array_equal(jnp.concatenate(outputs, axis=0), expected_ys)
    jax.tree.map(np.testing.assert_array_equal, state.carry, expected_carry)
    assert state.steps.shape == (2, 3)


def test_series_ending_at_different_times():
    """Per-sequence lengths in a chunk: each series stops where its own data ends."""
    params, _, _ = make_model("gru")
    xs = jax.random.normal(jax.random.key(1), (3, T, I))
    lengths = np.array([8, 12, 5])  # in total, over two chunks of 6 steps
    expected_h, expected_ys = rnnax.gru(params, xs, seq_lengths=jnp.asarray(lengths))
    state, ys1 = rnnax.stream_apply(
        params,
        rnnax.stream_init(params, (3,)),
        xs[:, :6],
        seq_lengths=jnp.array([6, 6, 5], jnp.int32),
    )
    # Poisoned padding: not even a NaN past a sequence's end reaches its state.
    second = jnp.where((np.arange(6) < (lengths - 6)[:, None])[..., None], xs[:, 6:], jnp.nan)
    state, ys2 = rnnax.stream_apply(
        params, state, second, seq_lengths=jnp.array([2, 6, 0], jnp.int32)
    )
    # Masked steps fuse differently from plain ones: equal up to float32 rounding.
    close = functools.partial(np.testing.assert_allclose, rtol=1e-6, atol=1e-6)
    close(jnp.concatenate([ys1, ys2], axis=-2), expected_ys)
    close(state.carry, expected_h)
    np.testing.assert_array_equal(state.steps, lengths)


def test_jit_compiles_once_per_chunk_shape():
    params, _, _ = make_model("lstm_stack")
    traces = []

    @jax.jit
    def step(params, state, chunk):
        traces.append(chunk.shape)
        return rnnax.stream_apply(params, state, chunk)

    xs = jax.random.normal(jax.random.key(1), (2, 12, I))
    state = rnnax.stream_init(params, (2,))
    outputs = []
    for chunk in split(xs, [4, 4, 4]):
        state, ys = step(params, state, chunk)
        outputs.append(ys)
    assert traces == [(2, 4, I)]
    _, ys = rnnax.lstm_stack(params, xs)
    np.testing.assert_allclose(jnp.concatenate(outputs, axis=-2), ys, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(state.steps, [12, 12])


def test_stream_apply_compiles_once_per_chunk_shape_without_user_jit():
    from rnnax._streaming import _advance_compiled

    params, _, _ = make_model("gru")
    state = rnnax.stream_init(params, (2,))
    before = _advance_compiled._cache_size()
    for _ in range(3):
        state, _ = rnnax.stream_apply(params, state, jnp.ones((2, 7, I)))
    assert _advance_compiled._cache_size() == before + 1


def test_gradient_through_a_stream_equals_the_one_pass_gradient():
    params, _, _ = make_model("gru")
    xs = jax.random.normal(jax.random.key(1), (2, T, I))

    def streamed(params):
        _, outputs = stream(params, split(xs, [6, 6]), (2,))
        return jnp.mean(jnp.concatenate(outputs, axis=-2) ** 2)

    one_pass = lambda params: jnp.mean(rnnax.gru(params, xs)[1] ** 2)
    jax.tree.map(
        functools.partial(np.testing.assert_allclose, rtol=1e-5, atol=1e-7),
        jax.jit(jax.grad(streamed))(params),
        jax.jit(jax.grad(one_pass))(params),
    )


def test_empty_chunk_changes_nothing():
    params, _, _ = make_model("lstm")
    state = rnnax.stream_init(params, (2,))
    new_state, ys = rnnax.stream_apply(params, state, jnp.zeros((2, 0, I)))
    assert ys.shape == (2, 0, H)
    jax.tree.map(np.testing.assert_array_equal, new_state, state)


# ------------------------------------------------------------------------------------ errors


def test_errors_name_the_argument_and_the_expected_value():
    lstm, _, _ = make_model("lstm")
    gru, _, _ = make_model("gru")
    stack, _, _ = make_model("gru_stack")
    state = rnnax.stream_init(lstm, (2,))
    chunk = jnp.ones((2, 5, I))
    with pytest.raises(
        ValueError,
        match=r"chunk must have the input size I of params = 3 on "
        r"its last axis, got shape \(2, 5, 7\)",
    ):
        rnnax.stream_apply(lstm, state, jnp.ones((2, 5, 7)))
    with pytest.raises(
        ValueError,
        match=r"chunk must have batch shape \(2,\) \(the stream's, "
        r"from stream_init\).*got shape \(3, 5, 3\)",
    ):
        rnnax.stream_apply(lstm, state, jnp.ones((3, 5, I)))
    with pytest.raises(ValueError, match=r"chunk must have at least 2 axes"):
        rnnax.stream_apply(lstm, state, jnp.ones((I,)))
    with pytest.raises(TypeError, match="chunk has dtype bfloat16 but params has dtype float32"):
        rnnax.stream_apply(lstm, state, chunk.astype(jnp.bfloat16))
    with pytest.raises(TypeError, match="chunk must have a floating dtype"):
        rnnax.stream_apply(lstm, state, jnp.ones((2, 5, I), jnp.int32))
    # A state that belongs to other parameters.
    with pytest.raises(TypeError, match=r"state\.carry must be an array, got LSTMState"):
        rnnax.stream_apply(gru, state, chunk)
    with pytest.raises(TypeError, match=r"state.carry must be LSTMState\(h, c\)"):
        rnnax.stream_apply(lstm, rnnax.stream_init(gru, (2,)), chunk)
    with pytest.raises(
        ValueError,
        match=r"state.carry must be carry\[layer\]\[0\] for 2 "
        r"layer\(s\)",
    ):
        rnnax.stream_apply(stack, rnnax.stream_init(gru, (2,)), chunk)
    wide = rnnax.stream_init(rnnax.lstm_init(jax.random.key(0), I, H + 1), (2,))
    with pytest.raises(
        ValueError,
        match=r"state.carry.h must have shape \(2, 4\) \(the "
        r"stream's batch shape, then H\), got \(2, 5\)",
    ):
        rnnax.stream_apply(lstm, wide, chunk)
    with pytest.raises(TypeError, match="state must be a StreamState"):
        rnnax.stream_apply(lstm, state.carry, chunk)
    with pytest.raises(TypeError, match=r"state\.steps must have dtype int32, got float32"):
        rnnax.stream_apply(lstm, state._replace(steps=jnp.zeros(2)), chunk)
    with pytest.raises(ValueError, match=r"seq_lengths must lie in \[0, 5\]"):
        rnnax.stream_apply(lstm, state, chunk, seq_lengths=jnp.array([6, 1]))
    with pytest.raises(ValueError, match="reset_after=True applies only to GRU parameters"):
        rnnax.stream_apply(lstm, state, chunk, reset_after=True)


def test_bidirectional_stacks_cannot_stream():
    layers = rnnax.lstm_stack_init(jax.random.key(0), I, H, bidirectional=True)
    with pytest.raises(ValueError, match=r"bidirectional stack.*cannot stream"):
        rnnax.stream_init(layers, (2,))


def test_stream_init_errors():
    params, _, _ = make_model("gru")
    with pytest.raises(TypeError, match="batch_shape must be a tuple of non-negative ints"):
        rnnax.stream_init(params, 2)
    with pytest.raises(
        TypeError,
        match=r"params must be the parameters of a registered cell \(.*LSTMParams.*\).*or a stack",
    ):
        rnnax.stream_init({"w": jnp.ones(3)}, (2,))
    with pytest.raises(ValueError, match=r"carry must have shape \(2, 4\)"):
        rnnax.stream_init(params, (2,), carry=jnp.zeros((3, H)))
