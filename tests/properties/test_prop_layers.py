"""Properties of the stacks (``rnnax.lstm_stack``, ``rnnax.gru_stack``) over random depths,
directions, layouts, lengths and carries: the layer-by-layer definition, and the mirror
symmetry of bidirectional stacks."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from hypothesis import given
from hypothesis import strategies as st

from tests.properties.strategies import (
    assert_close,
    assert_equal,
    flip_valid,
    property_settings,
    run_core,
    stack_problems,
)


def layer_by_layer(problem, layers, xs, carry):
    """The documented definition: each layer's directions run on the previous layer's
    outputs (backward with ``reverse=True``), concatenated forward first."""
    inputs, finals = xs, []
    for index, layer in enumerate(layers):
        outputs, layer_finals = [], []
        for direction, params in enumerate(layer):
            final, ys = run_core(
                problem.kind,
                params,
                inputs,
                None if carry is None else carry[index][direction],
                seq_lengths=problem.lengths,
                reverse=direction == 1,
                time_major=problem.time_major,
            )
            outputs.append(ys)
            layer_finals.append(final)
        inputs = jnp.concatenate(outputs, axis=-1)
        finals.append(layer_finals)
    return finals, inputs


@property_settings(12)
@given(problem=stack_problems(), inference=st.sampled_from(("plain", "rate", "rate_0_key")))
def test_stack_equals_its_layer_by_layer_definition(problem, inference):
    """Bit for bit, for 1-3 layers, one or two directions, every kind, dtype, layout, batch
    shape, lengths and initial carries; dropout without a key (or at rate 0) is inference."""
    options = {
        "plain": {},
        "rate": {"dropout_rate": 0.5},
        "rate_0_key": {"dropout_rate": 0.0, "dropout_key": jax.random.key(0)},
    }[inference]
    finals, ys = problem.stack(**options)
    expected_finals, expected_ys = layer_by_layer(
        problem, problem.layers, problem.xs, problem.carry
    )
    hidden = problem.layers[0][0].w_h.shape[0]
    assert ys.shape == (*problem.xs.shape[:-1], hidden * len(problem.layers[0]))
    assert_equal(ys, expected_ys)
    assert_equal(finals, expected_finals)


def _swap_input_halves(params):
    """Parameters reading ``[backward, forward]`` features where they read ``[forward,
    backward]``: the two row blocks of ``w_x`` exchanged."""
    half = params.w_x.shape[0] // 2
    return params._replace(w_x=jnp.concatenate([params.w_x[half:], params.w_x[:half]]))


def _swap_halves(ys):
    half = ys.shape[-1] // 2
    return jnp.concatenate([ys[..., half:], ys[..., :half]], axis=-1)


@property_settings(8)
@given(problem=stack_problems(bidirectional=True))
def test_bidirectional_stack_is_mirror_symmetric(problem):
    """Exchanging each layer's directions (and, above layer 0, the halves of the features they
    read) and flipping every sequence's valid prefix flips the outputs and exchanges their
    halves: the backward direction is the forward one on the reversed sequence, at every depth.
    """
    mirrored = [
        [(_swap_input_halves(p) if index else p) for p in layer[::-1]]
        for index, layer in enumerate(problem.layers)
    ]
    carry = None if problem.carry is None else [layer[::-1] for layer in problem.carry]
    axis = 0 if problem.time_major else len(problem.batch_shape)
    finals, ys = problem.stack()
    finals_m, ys_m = problem.stack(
        layers=mirrored, carry=carry, xs=flip_valid(problem.xs, problem.lengths, axis)
    )
    assert_close(ys_m, flip_valid(_swap_halves(ys), problem.lengths, axis), problem.dtype)
    assert_close(finals_m, [layer[::-1] for layer in finals], problem.dtype)
