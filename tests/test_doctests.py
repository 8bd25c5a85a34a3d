"""Runs every docstring example in the rnnax package as a test (the examples are the docs)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import rnnax

# rnnax.interop._torch's examples need torch; tests/interop runs them with torch installed.
SKIP = {"rnnax.interop._torch"}
MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(rnnax.__path__, prefix="rnnax.")
    if info.name not in SKIP and ".cli" not in info.name
)


@pytest.mark.parametrize("module_name", ["rnnax", *MODULES])
def test_docstring_examples_pass(module_name: str, standard_promotion: None) -> None:
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {module_name}"
