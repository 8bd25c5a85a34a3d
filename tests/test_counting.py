"""Parameter counts and FLOPs per step."""

from __future__ import annotations

import jax
import pytest

import rnnax


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 3])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_count_params_equals_the_initialized_tree(cell, num_layers, bidirectional):
    init = rnnax.lstm_stack_init if cell == "lstm" else rnnax.gru_stack_init
    layers = init(jax.random.key(0), 7, 11, num_layers=num_layers, bidirectional=bidirectional)
    assert rnnax.stack_param_count(
        cell, 7, 11, num_layers=num_layers, bidirectional=bidirectional
    ) == rnnax.param_count(layers)


def test_count_params_matches_torch_conventions():
    # torch.nn.LSTM(32, 128): 4*128*(32+128) + 2*4*128 = 82944, of which 512 is its second bias.
    assert rnnax.stack_param_count("lstm", 32, 128) == 82944 - 512
    # torch.nn.GRU(32, 128): 3*128*(32+128) + 2*3*128 = 62208, the same as ours (two biases).
    assert rnnax.stack_param_count("gru", 32, 128) == 62208


def test_flops_per_step_hand_count():
    i, h = 32, 128
    lstm_layer = 2 * i * 4 * h + 2 * h * 4 * h + 8 * h + 9 * h
    gru_layer = 2 * i * 3 * h + 2 * h * 3 * h + 17 * h
    assert rnnax.flops_per_step("lstm", i, h) == lstm_layer
    assert rnnax.flops_per_step("gru", i, h) == gru_layer
    second = 2 * (2 * h) * 4 * h + 2 * h * 4 * h + 17 * h
    assert rnnax.flops_per_step("lstm", i, h, num_layers=2, bidirectional=True) == 2 * (
        lstm_layer + second
    )


def test_flops_matrix_part_matches_xla_cost_analysis():
    """XLA's own count of one step's products and their sum equals ours: 2*4H*(I + H) + 4H."""
    import jax.numpy as jnp

    i, h = 16, 32
    params = rnnax.lstm_init(jax.random.key(0), i, h)
    x, hidden = jnp.ones((1, i)), jnp.ones((1, h))
    compiled = jax.jit(lambda p, x, h: x @ p.w_x + h @ p.w_h).lower(params, x, hidden).compile()
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    assert cost["flops"] == 2 * 4 * h * (i + h) + 4 * h


def test_counting_errors():
    with pytest.raises(
        ValueError, match=r"cell must be one of \((?=.*'gru')(?=.*'lstm').*\), got 'rnn'"
    ):
        rnnax.stack_param_count("rnn", 1, 2)
    with pytest.raises(ValueError, match="hidden_size must be a positive int, got -1"):
        rnnax.flops_per_step("gru", 1, -1)


def test_count_params_is_a_deprecated_name_of_stack_param_count():
    with pytest.warns(DeprecationWarning, match="use rnnax.stack_param_count"):
        assert rnnax.count_params("gru", 3, 4, num_layers=2) == rnnax.stack_param_count(
            "gru", 3, 4, num_layers=2
        )
