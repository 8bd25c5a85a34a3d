"""Multi-layer and bidirectional stacks equal their layer-by-layer definition; dropout."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rnnax

I, H = 3, 4


def layer_by_layer(core, layers, xs, lengths, time_major, **kwargs):
    inputs, finals = xs, []
    for layer in layers:
        fwd_final, fwd = core(
            layer[0], inputs, seq_lengths=lengths, time_major=time_major, **kwargs
        )
        outs, layer_finals = [fwd], [fwd_final]
        if len(layer) == 2:
            bwd_final, bwd = core(
                layer[1], inputs, seq_lengths=lengths, reverse=True, time_major=time_major, **kwargs
            )
            outs.append(bwd)
            layer_finals.append(bwd_final)
        inputs = jnp.concatenate(outs, axis=-1)
        finals.append(layer_finals)
    return finals, inputs


@pytest.mark.parametrize("time_major", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("kind", ["lstm", "gru", "gru_reset_after"])
def test_stack_equals_layer_by_layer(kind, bidirectional, time_major):
    key = jax.random.key(0)
    if kind == "lstm":
        layers = rnnax.lstm_stack_init(key, I, H, num_layers=3, bidirectional=bidirectional)
        stack, core, kwargs = rnnax.lstm_stack, rnnax.lstm, {}
    else:
        layers = rnnax.gru_stack_init(key, I, H, num_layers=3, bidirectional=bidirectional)
        stack, core = rnnax.gru_stack, rnnax.gru
        kwargs = {"reset_after": kind == "gru_reset_after"}
    xs = jax.random.normal(jax.random.key(1), (6, 2, I) if time_major else (2, 6, I))
    lengths = jnp.array([6, 3], jnp.int32)
    finals, ys = stack(layers, xs, seq_lengths=lengths, time_major=time_major, **kwargs)
    expected_finals, expected_ys = layer_by_layer(core, layers, xs, lengths, time_major, **kwargs)
    assert ys.shape[-1] == H * (2 if bidirectional else 1)
    np.testing.assert_array_equal(ys, expected_ys)
    jax.tree.map(np.testing.assert_array_equal, finals, expected_finals)


def test_stack_layout_and_initial_carry():
    layers = rnnax.gru_stack_init(jax.random.key(0), I, H, num_layers=2, bidirectional=True)
    assert [len(layer) for layer in layers] == [2, 2]
    assert layers[0][0].w_x.shape == (I, 3 * H) and layers[1][1].w_x.shape == (2 * H, 3 * H)
    # Every layer and direction gets its own key.
    assert not np.array_equal(layers[0][0].w_h, layers[0][1].w_h)
    xs = jnp.ones((2, 5, I))
    carry = [[jnp.full((2, H), 0.1 * (2 * l + d)) for d in range(2)] for l in range(2)]
    _, ys = rnnax.gru_stack(layers, xs, carry)
    _, first = rnnax.gru(layers[0][0], xs, carry[0][0])
    np.testing.assert_array_equal(
        ys[..., :H],
        rnnax.gru(
            layers[1][0],
            jnp.concatenate([first, rnnax.gru(layers[0][1], xs, carry[0][1], reverse=True)[1]], -1),
            carry[1][0],
        )[1],
    )


def test_dropout_only_between_layers_and_only_with_a_key():
    layers = rnnax.lstm_stack_init(jax.random.key(0), I, H, num_layers=2)
    xs = jax.random.normal(jax.random.key(1), (8, 5, I))
    _, plain = rnnax.lstm_stack(layers, xs)
    _, inference = rnnax.lstm_stack(layers, xs, dropout_rate=0.5)
    np.testing.assert_array_equal(plain, inference)
    _, train_a = rnnax.lstm_stack(layers, xs, dropout_rate=0.5, dropout_key=jax.random.key(2))
    _, train_b = rnnax.lstm_stack(layers, xs, dropout_rate=0.5, dropout_key=jax.random.key(2))
    _, train_c = rnnax.lstm_stack(layers, xs, dropout_rate=0.5, dropout_key=jax.random.key(3))
    np.testing.assert_array_equal(train_a, train_b)
    assert not np.array_equal(train_a, plain) and not np.array_equal(train_a, train_c)
    # A single layer has nothing between layers: dropout changes nothing.
    _, single = rnnax.lstm_stack(layers[:1], xs, dropout_rate=0.5, dropout_key=jax.random.key(2))
    np.testing.assert_array_equal(single, rnnax.lstm(layers[0][0], xs)[1])
