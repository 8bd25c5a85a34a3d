"""Lazy attributes of a package: names imported from their module on first use, so importing
the package (and ``rnnax --help``) loads no JAX."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def lazy_attributes(
    package: str, modules: Mapping[str, str], names: Sequence[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``: ``modules`` maps a public name to the
    module that defines it; a name is imported on first use and then kept in the package.

    Examples:
        >>> getattr_, dir_ = lazy_attributes("rnnax", {"lstm": "rnnax._cell_lstm"}, ["lstm"])
        >>> "lstm" in dir_()
        True
    """

    def __getattr__(name: str) -> Any:
        if name in modules:
            value = getattr(importlib.import_module(modules[name]), name)
            setattr(sys.modules[package], name, value)
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *names})

    return __getattr__, __dir__
