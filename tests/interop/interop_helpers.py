"""Helpers shared by the interop tests (torch, flax, equinox)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

import rnnax


def random_params(kind: str, input_size: int, hidden: int, seed: int = 0, dtype=jnp.float32):
    """Random rnnax parameters from NumPy (no JAX initialiser to compile), biases nonzero."""
    rng = np.random.default_rng(seed)
    gates = (4 if kind == "lstm" else 3) * hidden
    shapes = [(input_size, gates), (hidden, gates)] + [(gates,)] * (1 if kind == "lstm" else 2)
    arrays = [jnp.asarray(rng.normal(0.0, 0.5, shape), dtype) for shape in shapes]
    return rnnax.LSTMParams(*arrays) if kind == "lstm" else rnnax.GRUParams(*arrays)
