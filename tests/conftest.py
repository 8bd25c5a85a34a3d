"""Shared test configuration: strict dtype and rank promotion, float64 references."""

from __future__ import annotations

import os

# The suite compiles thousands of small programs, and LLVM's optimization of the generated CPU
# code is a fifth of its time. It changes no value the tests check (XLA's own graph passes, and
# so every fusion and every float operation, are the same), so tests skip it; benchmarks never
# set this. Subprocesses the tests start inherit it unless they set XLA_FLAGS themselves.
if "--xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0"
    ).strip()

import jax
import numpy as np
import pytest

# Any implicit dtype promotion or rank broadcasting in library code is a bug: make it an error.
jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skips tests marked ``torch`` when PyTorch is not installed."""
    try:
        import torch  # noqa: F401
    except ImportError:
        skip = pytest.mark.skip(reason="PyTorch is not installed (pip install rnnax[torch])")
        for item in items:
            if "torch" in item.keywords:
                item.add_marker(skip)


@pytest.fixture
def standard_promotion():
    """Standard dtype promotion for third-party code that is not strict-clean.

    optax's Adam mixes a Python float with its int32 step count in its bias correction, which
    strict promotion rejects; rnnax's own code stays strict everywhere else.
    """
    with jax.numpy_dtype_promotion("standard"):
        yield


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded NumPy generator: every test sees the same numbers."""
    return np.random.default_rng(0)
