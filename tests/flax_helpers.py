"""What the Flax wrapper tests (``test_nnx``, ``test_linen``) share: sizes, inputs, comparisons."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import rnnax

BATCH, STEPS, FEATURES, HIDDEN = 2, 4, 3, 5
LENGTHS = jnp.array([STEPS - 1, 0])  # one partial sequence, one empty one


def inputs(rng, *, time_major=False, batch=BATCH):
    shape = (STEPS, batch, FEATURES) if time_major else (batch, STEPS, FEATURES)
    return jnp.asarray(rng.normal(size=shape), jnp.float32)


def random_carry(rng, kind, num_layers, bidirectional):
    """A non-zero initial ``carry[layer][direction]`` for the batch of ``inputs``."""

    def state():
        h, c = (jnp.asarray(rng.normal(size=(BATCH, HIDDEN)) * 0.5, jnp.float32) for _ in "hc")
        return rnnax.LSTMState(h, c) if kind == "lstm" else h

    return [[state() for _ in range(2 if bidirectional else 1)] for _ in range(num_layers)]


def assert_trees_equal(actual, expected):
    assert jax.tree.structure(actual) == jax.tree.structure(expected)
    for a, e in zip(jax.tree.leaves(actual), jax.tree.leaves(expected), strict=True):
        np.testing.assert_array_equal(a, e)


def assert_trees_close(actual, expected):
    assert jax.tree.structure(actual) == jax.tree.structure(expected)
    for a, e in zip(jax.tree.leaves(actual), jax.tree.leaves(expected), strict=True):
        np.testing.assert_allclose(a, e, rtol=1e-6, atol=1e-7)
