"""Every documented bad input raises at trace time, naming the argument, expected and actual."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest

import rnnax

I, H = 3, 4
LSTM = rnnax.lstm_init(jax.random.key(0), I, H)
GRU = rnnax.gru_init(jax.random.key(0), I, H)
XS = jnp.ones((2, 5, I))


def both_cores():
    return [
        ("lstm", lambda xs, **kw: rnnax.lstm(LSTM, xs, **kw)),
        ("gru", lambda xs, **kw: rnnax.gru(GRU, xs, **kw)),
    ]


@pytest.mark.parametrize("name, core", both_cores())
def test_wrong_feature_size(name, core):
    with pytest.raises(
        ValueError,
        match=r"xs must have the input size I of params = 3 on its "
        r"last axis, got shape \(2, 5, 7\)",
    ):
        core(jnp.ones((2, 5, 7)))


@pytest.mark.parametrize("name, core", both_cores())
def test_wrong_rank(name, core):
    with pytest.raises(
        ValueError,
        match=r"xs must have at least 2 axes \[\.\.\., T, I\], got "
        r"shape \(3,\)",
    ):
        core(jnp.ones((3,)))
    with pytest.raises(ValueError, match=r"at least 2 axes \[T, \.\.\., I\]"):
        core(jnp.ones((3,)), time_major=True)


@pytest.mark.parametrize("name, core", both_cores())
def test_wrong_dtype(name, core):
    with pytest.raises(TypeError, match=r"xs must have a floating dtype .* got int32"):
        core(jnp.ones((2, 5, I), jnp.int32))
    with pytest.raises(TypeError, match="xs has dtype bfloat16 but params has dtype float32"):
        core(XS.astype(jnp.bfloat16))
    with pytest.raises(TypeError, match="xs must be an array, got list"):
        core([[1.0, 2.0, 3.0]])


def test_wrong_carry_shape_and_dtype():
    with pytest.raises(
        ValueError,
        match=r"carry.h must have shape \(2, 4\) \(the batch shape of "
        r"xs, then H\), got \(3, 4\)",
    ):
        rnnax.lstm(LSTM, XS, rnnax.LSTMState(jnp.zeros((3, H)), jnp.zeros((2, H))))
    with pytest.raises(ValueError, match=r"carry.c must have shape \(2, 4\)"):
        rnnax.lstm(LSTM, XS, rnnax.LSTMState(jnp.zeros((2, H)), jnp.zeros((H,))))
    with pytest.raises(ValueError, match=r"carry must have shape \(2, 4\) .* got \(2, 5\)"):
        rnnax.gru(GRU, XS, jnp.zeros((2, 5)))
    with pytest.raises(TypeError, match="carry has dtype bfloat16 but params has dtype float32"):
        rnnax.gru(GRU, XS, jnp.zeros((2, H), jnp.bfloat16))
    with pytest.raises(TypeError, match=r"carry must be LSTMState\(h, c\) or None, got tuple"):
        rnnax.lstm(LSTM, XS, (jnp.zeros((2, H)), jnp.zeros((2, H))))


@pytest.mark.parametrize("name, core", both_cores())
def test_bad_seq_lengths(name, core):
    with pytest.raises(TypeError, match="seq_lengths must have an integer dtype, got float32"):
        core(XS, seq_lengths=jnp.array([1.0, 2.0]))
    with pytest.raises(
        ValueError,
        match=r"seq_lengths must have shape \(2,\) \(the batch shape "
        r"of xs\), got \(3,\)",
    ):
        core(XS, seq_lengths=jnp.array([1, 2, 3]))
    with pytest.raises(ValueError, match=r"seq_lengths must have shape \(2,\).*got \(\)"):
        core(XS, seq_lengths=jnp.array(2))
    with pytest.raises(
        ValueError,
        match=r"seq_lengths must lie in \[0, 5\] .* got values from "
        r"2 to 6",
    ):
        core(XS, seq_lengths=jnp.array([2, 6]))
    with pytest.raises(ValueError, match=r"from -1 to 3"):
        core(XS, seq_lengths=jnp.array([-1, 3]))


def test_errors_raise_at_trace_time_under_jit():
    traced = jax.jit(lambda xs: rnnax.gru(GRU, xs))
    with pytest.raises(ValueError, match="xs must have the input size I"):
        traced(jnp.ones((2, 5, 7)))
    lengths_wrong_shape = jax.jit(lambda lengths: rnnax.lstm(LSTM, XS, seq_lengths=lengths))
    with pytest.raises(ValueError, match="seq_lengths must have shape"):
        lengths_wrong_shape(jnp.array([1, 2, 3]))


def test_bad_params():
    with pytest.raises(TypeError, match="params must be LSTMParams, got GRUParams"):
        rnnax.lstm(GRU, XS)
    with pytest.raises(
        ValueError,
        match=r"params.w_h must have shape \(4, 12\), got \(4, 16\) \(the layout is \[H, 3H\]",
    ):
        rnnax.gru(rnnax.GRUParams(LSTM.w_x, LSTM.w_h, LSTM.b, LSTM.b), XS)
    with pytest.raises(ValueError, match=r"params.b must have shape \(16,\), got \(12,\)"):
        rnnax.lstm(LSTM._replace(b=jnp.zeros(12)), XS)
    with pytest.raises(TypeError, match=r"params.b has dtype bfloat16 but params.w_h has dtype"):
        rnnax.lstm(LSTM._replace(b=LSTM.b.astype(jnp.bfloat16)), XS)


def test_cell_errors():
    state = rnnax.LSTMState(jnp.zeros(H), jnp.zeros(H))
    with pytest.raises(ValueError, match=r"x must have the input size I = 3 on its last axis"):
        rnnax.lstm_cell(LSTM, state, jnp.ones(5))
    with pytest.raises(
        ValueError,
        match=r"h must have shape \(2, 4\) \(batch shape of x, then "
        r"H\), got \(4,\)",
    ):
        rnnax.gru_cell(GRU, jnp.zeros(H), jnp.ones((2, I)))


def test_stack_errors():
    layers = rnnax.lstm_stack_init(jax.random.key(0), I, H, num_layers=2)
    with pytest.raises(
        ValueError,
        match=r"layers\[1\]\[0\] must have input size I = 4 \(the output "
        r"size of layers\[0\]\), got 8",
    ):
        rnnax.lstm_stack([layers[0], rnnax.lstm_stack_init(jax.random.key(1), 8, H)[0]], XS)
    with pytest.raises(ValueError, match=r"layers\[0\] must be a sequence of 1 \(forward\) or 2"):
        rnnax.lstm_stack([[LSTM, LSTM, LSTM]], XS)
    with pytest.raises(ValueError, match="dropout_rate must lie in"):
        rnnax.lstm_stack(layers, XS, dropout_rate=1.0)
    with pytest.raises(ValueError, match=r"carry must be None or carry\[layer\]\[direction\]"):
        rnnax.lstm_stack(layers, XS, carry=[[None]])
    with pytest.raises(ValueError, match="num_layers must be a positive int, got 0"):
        rnnax.gru_stack_init(jax.random.key(0), I, H, num_layers=0)
