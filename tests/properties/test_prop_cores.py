"""Properties of the cores (``rnnax.lstm``, ``rnnax.gru``) over random problems: the float64
reference, batching by ``vmap``, lengths as truncation, reversal as flipping, ``jit``, layouts,
and splitting a sequence in two."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests import reference as ref
from tests.properties.strategies import (
    BATCH_SHAPES,
    FAST_STRATEGIES,
    assert_close,
    assert_equal,
    final_h,
    flip_valid,
    problems,
    property_settings,
    random_carry,
    random_params,
    run_core,
)

BATCHED = tuple(shape for shape in BATCH_SHAPES if shape)


def _f32(tree):
    return jax.tree.map(lambda leaf: np.asarray(leaf.astype(jnp.float32)), tree)


@property_settings(15)
@given(problem=problems())
def test_core_matches_the_float64_reference(problem):
    """Every kind, dtype, layout, batch shape, length (0 and T included), direction and initial
    carry: the core equals the naive float64 loop of ``tests/reference.py``, to the dtype's
    precision, and ``ys`` is exactly 0 at padded steps."""
    final, ys = problem.run()
    params = _f32(problem.params)
    xs = np.asarray(problem.xs_batch_major().astype(jnp.float32), np.float64)
    hidden, kind = problem.hidden, problem.kind
    carry = problem.carry
    if carry is None:
        zeros = np.zeros((*problem.batch_shape, hidden))
        h0, c0 = zeros, zeros
    else:
        h0 = np.asarray(final_h(kind, _f32(carry)), np.float64)
        c0 = np.asarray(_f32(carry).c, np.float64) if kind == "lstm" else None
    ys_ref = np.zeros((*problem.batch_shape, problem.num_steps, hidden))
    h_ref = np.zeros((*problem.batch_shape, hidden))
    c_ref = np.zeros((*problem.batch_shape, hidden))
    for index in np.ndindex(problem.batch_shape):
        length = None if problem.lengths is None else int(np.asarray(problem.lengths)[index])
        if kind == "lstm":
            (h, c), y = ref.lstm_sequence(
                params, xs[index], h0[index], c0[index], length, problem.reverse
            )
            c_ref[index] = c
        else:
            h, y = ref.gru_sequence(
                params, xs[index], h0[index], kind == "gru_reset_after", length, problem.reverse
            )
        ys_ref[index], h_ref[index] = y, h
    ys = problem.to_batch_major(ys)
    assert ys.dtype == problem.dtype and ys.shape == ys_ref.shape
    assert_close(ys, ys_ref, problem.dtype)
    assert_close(final_h(kind, final), h_ref, problem.dtype)
    if kind == "lstm":
        assert_close(final.c, c_ref, problem.dtype)
    padded = ~problem.valid()
    assert np.all(np.asarray(ys.astype(jnp.float32))[padded] == 0.0)


@property_settings(10)
@given(problem=problems(batch_shapes=BATCHED))
def test_vmap_over_examples_equals_native_batching(problem):
    """``vmap`` over the first batch axis (of xs, carry and lengths) equals passing the batch."""
    final, ys = problem.run()
    xs_axis = 1 if problem.time_major else 0

    def one(xs, carry, lengths):
        return run_core(
            problem.kind, problem.params, xs, carry, **problem.options(seq_lengths=lengths)
        )

    vmapped = jax.vmap(one, in_axes=(xs_axis, 0, 0), out_axes=(0, xs_axis))(
        problem.xs, problem.carry, problem.lengths
    )
    assert_close(vmapped, (final, ys), problem.dtype)


@property_settings(6)
@given(
    problem=problems(batch_shapes=BATCHED), strategy=st.sampled_from(("scan", "custom_vjp", "auto"))
)
def test_per_example_gradients_sum_to_the_batch_gradient(problem, strategy):
    """``vmap(grad)`` over examples (per-example gradients, as for differential privacy),
    summed, equals the gradient of the batch: the strategies' batching rules are right."""
    d_final, d_ys = problem.cotangents()
    xs_axis = 1 if problem.time_major else 0

    def loss(params, xs, carry, lengths, d_final, d_ys):
        final, ys = run_core(
            problem.kind,
            params,
            xs,
            carry,
            **problem.options(seq_lengths=lengths, strategy=strategy),
        )
        pairs = zip(jax.tree.leaves(final), jax.tree.leaves(d_final), strict=True)
        return jnp.sum(ys * d_ys) + sum(jnp.sum(a * b) for a, b in pairs)

    @jax.jit
    def both(*args):
        per_example = jax.vmap(jax.grad(loss), in_axes=(None, xs_axis, 0, 0, 0, xs_axis))
        return jax.grad(loss)(*args), per_example(*args)

    batch, per_example = both(
        problem.params, problem.xs, problem.carry, problem.lengths, d_final, d_ys
    )
    summed = jax.tree.map(lambda leaf: leaf.astype(jnp.float32).sum(axis=0), per_example)
    assert_close(summed, batch, problem.dtype, grad=True)


@property_settings(10)
@given(problem=problems(lengths=True))
def test_seq_lengths_equal_running_each_sequence_truncated(problem):
    """With lengths, each sequence's result is that of its valid prefix run alone (a length of
    0 runs zero steps), in either direction; everything past the prefix is exactly 0."""
    final, ys = problem.run()
    ys = np.asarray(problem.to_batch_major(ys).astype(jnp.float32))
    xs = problem.xs_batch_major()
    for index in np.ndindex(problem.batch_shape):
        length = int(np.asarray(problem.lengths)[index])
        carry = (
            None if problem.carry is None else jax.tree.map(lambda leaf: leaf[index], problem.carry)
        )
        final_one, ys_one = run_core(
            problem.kind, problem.params, xs[index][:length], carry, reverse=problem.reverse
        )
        message = f"sequence {index} of length {length}"
        assert_close(ys[index][:length], ys_one, problem.dtype, err_msg=message)
        assert_close(
            jax.tree.map(lambda leaf: leaf[index], final), final_one, problem.dtype, err_msg=message
        )
        assert np.all(ys[index][length:] == 0.0), message


@property_settings(10)
@given(problem=problems(reverse=True))
def test_reverse_equals_flipping_running_forward_and_flipping_back(problem):
    """``reverse=True`` equals flipping each sequence's valid prefix, running forward and
    flipping the outputs back (a plain flip of the time axis for full lengths)."""
    final, ys = problem.run()
    flipped = flip_valid(problem.xs, problem.lengths, problem.time_axis)
    assert_equal(flip_valid(flipped, problem.lengths, problem.time_axis), problem.xs)
    final_fwd, ys_fwd = problem.run(xs=flipped, reverse=False)
    assert_close(ys, flip_valid(ys_fwd, problem.lengths, problem.time_axis), problem.dtype)
    assert_close(final, final_fwd, problem.dtype)


@property_settings(6)
@given(problem=problems(), strategy=st.sampled_from(("scan", *FAST_STRATEGIES)))
def test_jit_equals_eager_in_values_and_gradients(problem, strategy):
    """The same call under ``jax.jit`` and eagerly: values and the VJP of random cotangents."""
    d_final, d_ys = problem.cotangents()

    def call(params, xs, carry, lengths):
        return run_core(
            problem.kind,
            params,
            xs,
            carry,
            **problem.options(seq_lengths=lengths, strategy=strategy),
        )

    def vjp(params, xs, carry, lengths):
        out, pullback = jax.vjp(functools.partial(call, lengths=lengths), params, xs, carry)
        return out, pullback((d_final, d_ys))

    args = (problem.params, problem.xs, problem.carry, problem.lengths)
    eager, eager_grads = vjp(*args)
    jitted, jitted_grads = jax.jit(vjp)(*args)
    assert_close(jitted, eager, problem.dtype)
    assert_close(jitted_grads, eager_grads, problem.dtype, grad=True)


@property_settings(10)
@given(problem=problems(), strategy=st.sampled_from(("scan", *FAST_STRATEGIES)))
def test_time_major_and_batch_axes_are_only_layouts(problem, strategy):
    """Bit for bit: the time-major run is the batch-major run with axes moved, and any batch
    shape (with an extra unit axis, or flattened to one axis) gives the same numbers."""
    options = dict(seq_lengths=problem.lengths, reverse=problem.reverse, strategy=strategy)
    xs = problem.xs_batch_major()
    final, ys = run_core(problem.kind, problem.params, xs, problem.carry, **options)
    final_tm, ys_tm = run_core(
        problem.kind,
        problem.params,
        jnp.moveaxis(xs, -2, 0),
        problem.carry,
        time_major=True,
        **options,
    )
    assert_equal(final_tm, final)
    assert_equal(jnp.moveaxis(ys_tm, 0, -2), ys)

    def regroup(tree, old, new):
        return jax.tree.map(lambda leaf: leaf.reshape(*new, *leaf.shape[len(old) :]), tree)

    batch = problem.batch_shape
    for shape in ((int(np.prod(batch)),), (1, *batch)):
        final_r, ys_r = run_core(
            problem.kind,
            problem.params,
            regroup(xs, batch, shape),
            regroup(problem.carry, batch, shape),
            **dict(options, seq_lengths=regroup(problem.lengths, batch, shape)),
        )
        assert_equal(regroup(final_r, shape, batch), final)
        assert_equal(regroup(ys_r, shape, batch), ys)


@property_settings(12)
@given(problem=problems(steps=(1, 2, 3, 5)), data=st.data())
def test_a_sequence_split_in_two_runs_as_the_whole(problem, data):
    """Running steps ``[0, k)`` and then ``[k, T)`` from the carry it left (the other way
    round with ``reverse=True``) equals one run, lengths split accordingly."""
    split = data.draw(st.integers(0, problem.num_steps), label="split")
    final, ys = problem.run()
    axis = problem.time_axis
    head = jax.lax.slice_in_dim(problem.xs, 0, split, axis=axis)
    tail = jax.lax.slice_in_dim(problem.xs, split, problem.num_steps, axis=axis)
    if problem.lengths is None:
        head_lengths = tail_lengths = None
    else:
        lengths = np.asarray(problem.lengths, np.int64)  # no unsigned wrap-around
        head_lengths = jnp.asarray(np.minimum(lengths, split).astype(problem.lengths.dtype))
        tail_lengths = jnp.asarray(np.maximum(lengths - split, 0).astype(problem.lengths.dtype))
    if problem.reverse:
        middle, ys_tail = problem.run(xs=tail, seq_lengths=tail_lengths)
        final_parts, ys_head = problem.run(xs=head, carry=middle, seq_lengths=head_lengths)
    else:
        middle, ys_head = problem.run(xs=head, seq_lengths=head_lengths)
        final_parts, ys_tail = problem.run(xs=tail, carry=middle, seq_lengths=tail_lengths)
    assert_close(final_parts, final, problem.dtype)
    assert_close(jnp.concatenate([ys_head, ys_tail], axis=axis), ys, problem.dtype)


# ------------------------------------------------------------------------------ regressions


@pytest.mark.parametrize("time_major", [False, True])
@pytest.mark.parametrize("batch_shape", [(), (3,), (2, 3)])
@pytest.mark.parametrize("strategy", ["scan", "custom_vjp", "remat", "auto"])
@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_sequences_of_zero_steps(kind, strategy, batch_shape, time_major):
    """Regression (found by ``test_core_matches_the_float64_reference``): ``T = 0`` crashed
    every core with a ``ZeroDivisionError``, since ``reshape(T, -1, I)`` cannot infer the batch
    size of an empty array. Zero steps leave the carry as it was and give empty outputs, and
    the carry's cotangent passes through unchanged."""
    rng = np.random.default_rng(0)
    params = random_params(kind, 3, 4, rng, jnp.float32)
    carry = random_carry(kind, batch_shape, 4, rng, jnp.float32)
    xs = jnp.zeros((0, *batch_shape, 3) if time_major else (*batch_shape, 0, 3))
    final, ys = run_core(kind, params, xs, carry, time_major=time_major, strategy=strategy)
    assert ys.shape == (*xs.shape[:-1], 4)
    assert_equal(final, carry)
    d_final = jax.tree.map(lambda leaf: leaf + 1.0, carry)
    _, pullback = jax.vjp(
        lambda p, c: run_core(kind, p, xs, c, time_major=time_major, strategy=strategy),
        params,
        carry,
    )
    d_params, d_carry = pullback((d_final, jnp.zeros_like(ys)))
    assert_equal(d_carry, d_final)
    assert not any(np.any(np.asarray(leaf)) for leaf in jax.tree.leaves(d_params))
