"""The ``"native"`` strategy's loader: a C++ time loop called through ``jax.ffi``.

``rnn_loop.cc`` (built by the package's own build into ``_rnn_loop*.so`` next to this file)
runs the time loop of the LSTM and both GRU forms on the CPU in one call per direction of
differentiation, its GEMMs on oneDNN (``rnnax._native._rnn``). oneDNN comes from the
``onednn-cpu-gomp`` wheel (``pip install "rnnax[native]"``); its ``libdnnl.so.3`` is loaded
first, globally, so that the extension's ``dnnl_*`` symbols resolve to it.

Nothing here is imported by ``import rnnax``: the first use of ``strategy="native"`` (or of
``"auto"`` where it would pick it) imports this module, which loads oneDNN, and then the
extension. Where it cannot be loaded,
``unavailable_reason()`` says why, ``"auto"`` falls back, and ``strategy="native"`` is an error.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import importlib.metadata
import os
import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
_TARGETS = {"rnnax_rnn_forward": "RnnaxRnnForward", "rnnax_rnn_backward": "RnnaxRnnBackward"}
INSTALL_HINT = 'pip install "rnnax[native]" (x86-64 Linux; a C++ compiler at install time)'


def _onednn_library() -> Path:
    """The path of ``libdnnl.so.3`` in the installed ``onednn-cpu-gomp`` wheel.

    Raises:
        OSError: the wheel is not installed or holds no such library.
    """
    override = os.environ.get("RNNAX_ONEDNN_LIBRARY")
    if override:
        return Path(override)
    try:
        files = importlib.metadata.files("onednn-cpu-gomp") or []
    except importlib.metadata.PackageNotFoundError:
        raise OSError("oneDNN (the onednn-cpu-gomp package) is not installed") from None
    for file in files:
        if file.name == "libdnnl.so.3":
            return Path(str(file.locate())).resolve()
    raise OSError("the onednn-cpu-gomp package holds no libdnnl.so.3")


def _extension() -> Path:
    """The built extension next to this file.

    Raises:
        OSError: it was not built (no compiler at install time, or a platform without oneDNN).
    """
    built = sorted(_HERE.glob("_rnn_loop*.so"))
    if not built:
        raise OSError(
            "the native extension (rnnax/_native/_rnn_loop*.so) was not built when rnnax was "
            "installed (it needs x86-64 Linux and a C++ compiler)"
        )
    return built[0]


@functools.cache
def _preload_onednn() -> None:
    """Loads ``libdnnl.so.3`` globally, once: the extension's ``dnnl_*`` symbols resolve to it.

    Raises:
        OSError: it is not installed or cannot be loaded.
    """
    ctypes.CDLL(str(_onednn_library()), mode=ctypes.RTLD_GLOBAL)


# At import, so that importing the extension as a module (``rnnax._native._rnn_loop``, as tools
# that walk the package do) finds oneDNN too; where it is missing, _load() says why.
with contextlib.suppress(OSError):
    _preload_onednn()


@functools.cache
def _load() -> tuple[bool, str | None]:
    """Loads oneDNN and the extension and registers the FFI targets, once per process."""
    if sys.platform != "linux":
        return False, f"the native strategy is built for Linux only, not {sys.platform}"
    try:
        _preload_onednn()
        library = ctypes.CDLL(str(_extension()))
    except OSError as error:
        return False, str(error)
    import jax

    for target, symbol in _TARGETS.items():
        jax.ffi.register_ffi_target(
            target, jax.ffi.pycapsule(getattr(library, symbol)), platform="cpu"
        )
    return True, None


def available() -> bool:
    """Whether the native strategy can run in this process (loads it on first call)."""
    return _load()[0]


def unavailable_reason() -> str | None:
    """Why the native strategy cannot run here, or ``None`` when it can."""
    return _load()[1]


def unavailable_error(subject: str = "strategy='native'") -> RuntimeError:
    """The error for asking for the native strategy where it cannot run: why, and the fix."""
    return RuntimeError(
        f"{subject} is unavailable: {unavailable_reason()}. Install it with {INSTALL_HINT}, "
        "or use strategy='auto' or 'custom_vjp'"
    )
