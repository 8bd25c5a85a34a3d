"""Helpers shared by the interop tests (torch, flax, equinox)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

import rnnax
from rnnax._cell_elman import ElmanParams, ElmanReluParams

# Every framework's GRU is the reset-after form: its weights are GRUResetAfterParams.
PARAMS_TYPES = {
    "lstm": (rnnax.LSTMParams, 4),
    "gru": (rnnax.GRUResetAfterParams, 3),
    "elman": (ElmanParams, 1),
    "elman_relu": (ElmanReluParams, 1),
}


def random_params(kind: str, input_size: int, hidden: int, seed: int = 0, dtype=jnp.float32):
    """Random rnnax parameters from NumPy (no JAX initialiser to compile), biases nonzero."""
    rng = np.random.default_rng(seed)
    params_type, num_gates = PARAMS_TYPES[kind]
    gates = num_gates * hidden
    shapes = [(input_size, gates), (hidden, gates)] + [(gates,)] * (1 if kind == "lstm" else 2)
    arrays = [jnp.asarray(rng.normal(0.0, 0.5, shape), dtype) for shape in shapes]
    return params_type(*arrays)
