"""The build of rnnax's optional native extension (``strategy="native"``); everything else is
in ``pyproject.toml``.

The extension is a plain shared library called through ``jax.ffi`` (no Python bindings), built
against the XLA FFI headers that ship with ``jaxlib`` and oneDNN's headers from
``onednn-devel-cpu-gomp`` (both build requirements). It is optional: where it cannot be
compiled (no C++ compiler, not x86-64 Linux) rnnax installs without it and runs the other
strategies. It is not linked against oneDNN: its ``dnnl_*`` symbols resolve when rnnax loads
``libdnnl.so.3`` from the ``onednn-cpu-gomp`` wheel, globally, before the extension.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import platform
import sys
from pathlib import Path

from setuptools import Extension, setup


def _jaxlib_include() -> list[str]:
    spec = importlib.util.find_spec("jaxlib")
    if spec is None or not spec.submodule_search_locations:
        return []
    return [str(Path(next(iter(spec.submodule_search_locations))) / "include")]


def _onednn_include() -> list[str]:
    """oneDNN's headers, from the ``onednn-devel-cpu-gomp`` wheel (a build requirement)."""
    try:
        files = importlib.metadata.files("onednn-devel-cpu-gomp") or []
    except importlib.metadata.PackageNotFoundError:
        return []
    for file in files:
        if file.as_posix().endswith("include/oneapi/dnnl/dnnl.hpp"):
            return [str(Path(str(file.locate())).resolve().parents[2])]
    return []


def _extensions() -> list[Extension]:
    include = _jaxlib_include() + _onednn_include()
    if sys.platform != "linux" or platform.machine() not in ("x86_64", "AMD64") or len(include) < 2:
        return []
    return [
        Extension(
            "rnnax._native._rnn_loop",
            sources=["rnnax/_native/rnn_loop.cc"],
            include_dirs=include,
            language="c++",
            # No -march=native: the elementwise loops carry AVX-512 / AVX2 / baseline clones
            # chosen at load time, and the GEMMs are oneDNN's, dispatched at run time.
            extra_compile_args=[
                "-O3",
                "-fno-trapping-math",
                "-std=c++17",
                "-fopenmp",
                "-Wno-attributes",
            ],
            extra_link_args=["-fopenmp"],
            optional=True,
        )
    ]


setup(ext_modules=_extensions())
