"""Runs the docstring examples of rnnax.forecasting and rnnax.training as tests."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "rnnax.forecasting",
    "rnnax.forecasting._backtest",
    "rnnax.forecasting._config",
    "rnnax.forecasting._model",
    "rnnax.training",
    "rnnax.training._checkpoint",
    "rnnax.training._loop",
]


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples_pass(module_name: str) -> None:
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0, f"{module_name} has no docstring examples"
