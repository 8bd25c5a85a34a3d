"""``CompareConfig``: checked once when made, with the command line's metadata on every field,
importable without JAX."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from typing import Any

import pytest

from rnnax.compare import CompareConfig


def test_every_field_carries_its_command_line_metadata() -> None:
    for field in dataclasses.fields(CompareConfig):
        meta = field.metadata
        assert meta["help"] and meta["group"] in ("main", "more"), field.name
        assert meta["flag"] is None or meta["flag"].startswith("--"), field.name
    flags = {field.name: field.metadata["flag"] for field in dataclasses.fields(CompareConfig)}
    assert flags["learning_rate"] == "--lr" and flags["target_loss"] == "--target"
    assert flags["progress"] == "--no-progress"


def test_the_config_module_imports_without_jax() -> None:
    code = (
        "import sys, dataclasses, rnnax.compare._config as c; "
        "assert len(dataclasses.fields(c.CompareConfig)) == 32; "
        "assert 'jax' not in sys.modules, 'jax imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"hidden": "3"}, TypeError),
        ({"seeds": True}, TypeError),
        ({"hidden": 0}, ValueError),
        ({"memory_steps": -1}, ValueError),
        ({"memory_lengths": (50, 1)}, ValueError),
        ({"learning_rate": -1.0}, ValueError),
        ({"learning_rate": "fast"}, TypeError),
        ({"target_loss": float("nan")}, ValueError),
        ({"match": "flops"}, ValueError),
        ({"dataset": "nile"}, ValueError),
        ({"seeds": 3, "seed_devices": 2}, ValueError),
        ({"progress": "no"}, TypeError),
        ({"lr_factors": (1.0, 1.0)}, ValueError),
        ({"lr_factors": (0.0,)}, ValueError),
        ({"lr_factors": "fast"}, TypeError),
        ({"search_seeds": 0}, ValueError),
        ({"counting_steps": -1}, ValueError),
        ({"counting_train_n": 10, "counting_test_n": 5}, ValueError),
    ],
)
def test_wrong_fields_are_refused(changes: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error, match=next(iter(changes)) if error is TypeError else None):
        CompareConfig(**changes)


def test_lists_are_kept_as_tuples() -> None:
    config = CompareConfig(memory_lengths=[6, 8], sweep_lengths=[24])
    assert config.memory_lengths == (6, 8) and config.sweep_lengths == (24,)
    hash(config)
