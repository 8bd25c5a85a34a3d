"""Runs the docstring examples of rnnax.data as tests."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "rnnax.data",
    "rnnax.data._datasets",
    "rnnax.data._scalers",
    "rnnax.data._synthetic",
    "rnnax.data._validation",
    "rnnax.data._windows",
]


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples_pass(module_name: str) -> None:
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0, f"{module_name} has no docstring examples"
