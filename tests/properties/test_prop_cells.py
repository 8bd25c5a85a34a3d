"""Properties of every registered cell: each strategy it has computes the scan's function in
values and gradients; padding is inert; a stream in chunks equals one pass."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import rnnax
from tests.properties.strategies import (
    assert_close,
    property_settings,
    random_lengths,
)

# The cells that ship with rnnax (tests may register more; those are theirs to test).
CELLS = (
    "lstm",
    "gru",
    "gru_reset_after",
    "elman",
    "elman_relu",
    "layernorm_lstm",
    "mingru",
    "minlstm",
)


@dataclasses.dataclass(frozen=True)
class CellCase:
    cell: rnnax.Cell
    params: Any
    xs: jax.Array
    carry: Any
    lengths: jax.Array | None
    reverse: bool
    seed: int


def _perturbed(tree: Any, rng: np.random.Generator) -> Any:
    """Every parameter moved off its initial value, so a dropped or misplaced field shows."""
    return jax.tree.map(
        lambda leaf: leaf + jnp.asarray(0.3 * rng.normal(size=leaf.shape), leaf.dtype), tree
    )


@st.composite
def cell_cases(draw: Any) -> CellCase:
    cell = rnnax.get_cell(draw(st.sampled_from(CELLS)))
    input_size, hidden = draw(st.sampled_from((1, 3))), draw(st.sampled_from((1, 4)))
    batch_shape = draw(st.sampled_from(((), (3,), (2, 2))))
    num_steps = draw(st.integers(0, 6))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    params = _perturbed(cell.init(jax.random.key(seed), input_size, hidden), rng)
    xs = jnp.asarray(rng.normal(size=(*batch_shape, num_steps, input_size)), jnp.float32)
    carry = _perturbed(cell.carry_init(hidden, batch_shape, jnp.float32), rng)
    lengths = draw(st.none() | st.just(True))
    if lengths is not None:
        lengths = random_lengths(draw, batch_shape, num_steps)
    return CellCase(cell, params, xs, carry, lengths, draw(st.booleans()), seed)


def _vjp(case: CellCase, strategy: str, xs: jax.Array | None = None):
    xs = case.xs if xs is None else xs
    rng = np.random.default_rng(case.seed + 1)

    def call(params, xs, carry):
        return rnnax.rnn(
            params,
            xs,
            carry,
            cell=case.cell,
            seq_lengths=case.lengths,
            reverse=case.reverse,
            strategy=strategy,
        )

    out, pullback = jax.vjp(call, case.params, xs, case.carry)
    cotangents = jax.tree.map(
        lambda leaf: jnp.asarray(rng.normal(size=leaf.shape), leaf.dtype), out
    )
    return out, pullback(cotangents)


@property_settings(20)
@given(case=cell_cases(), data=st.data())
def test_every_strategy_of_every_cell_is_the_scan(case, data):
    """Values and gradients (parameters, inputs, initial carry) of each strategy the cell has,
    against the plain scan. The Pallas kernels run in interpret mode off GPU; cuDNN is
    GPU-only."""
    strategies = [s for s in rnnax.available_strategies(case.cell) if s not in ("scan", "cudnn")]
    strategy = data.draw(st.sampled_from(strategies))
    expected = _vjp(case, "scan")
    actual = _vjp(case, strategy)
    assert_close(actual[0], expected[0], jnp.float32, err_msg=f"{case.cell.name} {strategy}")
    assert_close(
        actual[1], expected[1], jnp.float32, grad=True, err_msg=f"{case.cell.name} {strategy}"
    )


@property_settings(12)
@given(case=cell_cases().filter(lambda case: case.lengths is not None), data=st.data())
def test_padding_is_inert_for_every_cell(case, data):
    """NaN at every padded step changes no value and no gradient, under any strategy."""
    strategies = [s for s in rnnax.available_strategies(case.cell) if s != "cudnn"]
    strategy = data.draw(st.sampled_from(strategies))
    batch_shape = case.xs.shape[:-2]
    steps = jnp.arange(case.xs.shape[-2], dtype=jnp.int32).reshape((1,) * len(batch_shape) + (-1,))
    padded = steps >= case.lengths.astype(jnp.int32)[..., None]
    poisoned = jnp.where(padded[..., None], jnp.nan, case.xs)
    clean_out, clean_grads = _vjp(case, strategy)
    out, grads = _vjp(case, strategy, poisoned)
    assert_close(out, clean_out, jnp.float32, err_msg=f"{case.cell.name} {strategy}")
    params_grads, xs_grads, carry_grads = grads
    assert_close(params_grads, clean_grads[0], jnp.float32, grad=True)
    assert_close(carry_grads, clean_grads[2], jnp.float32, grad=True)
    assert not np.any(np.isnan(np.asarray(xs_grads)))


@property_settings(10)
@given(case=cell_cases(), split=st.integers(0, 6))
def test_a_stream_in_two_chunks_is_one_pass(case, split):
    """``stream_apply`` on ``xs[:split]`` then ``xs[split:]`` equals one forward pass."""
    split = min(split, case.xs.shape[-2])
    batch_shape = case.xs.shape[:-2]
    state = rnnax.stream_init(case.params, batch_shape, carry=case.carry)
    state, first = rnnax.stream_apply(case.params, state, case.xs[..., :split, :])
    state, rest = rnnax.stream_apply(case.params, state, case.xs[..., split:, :])
    final, ys = rnnax.rnn(case.params, case.xs, case.carry)
    assert_close(jnp.concatenate([first, rest], axis=-2), ys, jnp.float32)
    assert_close(state.carry, final, jnp.float32)
