"""The machine record: what a run records about the computer it ran on.

Cores this process may use, CPU model and vector extensions, memory, load, library versions and
the rnnax commit. ``rnnax compare``'s report, ``rnnax bench`` and every script under
``benchmarks/`` write this one record. Standard library only, so a script can call it before
JAX starts (JAX's device flags must be set first).

Examples:
    >>> record = machine_record()
    >>> sorted(record)[:3]
    ['cpu', 'load_average', 'logical_cpus']
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import platform
import re
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

LIBRARIES = ("rnnax", "jax", "jaxlib", "flax", "optax", "numpy", "torch", "equinox")
"""The distributions whose versions a record lists (``None`` for those not installed)."""


@functools.cache
def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:  # not Linux
        return ""


def usable_cores() -> int:
    """The cores this process may run on (its affinity), not the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo``, else what :mod:`platform` knows."""
    match = re.search(r"^model name\s*:\s*(.+)$", _cpuinfo(), re.MULTILINE)
    return match.group(1).strip() if match else (platform.processor() or platform.machine())


def cpu_features() -> dict[str, bool]:
    """Which of the vector extensions that decide GEMM speed the CPU has (AVX2, AVX-512, AMX).

    Empty where ``/proc/cpuinfo`` lists no flags (not Linux, or not x86).
    """
    match = re.search(r"^flags\s*:\s*(.+)$", _cpuinfo(), re.MULTILINE)
    if not match:
        return {}
    names = set(match.group(1).split())
    return {
        "avx2": "avx2" in names,
        "avx512f": "avx512f" in names,
        "amx": any(name.startswith("amx") for name in names),
    }


def memory_bytes() -> int | None:
    """Total memory from ``/proc/meminfo`` (``None`` where it cannot be read)."""
    try:
        text = Path("/proc/meminfo").read_text(encoding="utf-8")
    except OSError:
        return None
    match = re.search(r"^MemTotal:\s*(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) * 1024 if match else None


def load_average() -> list[float] | None:
    """1, 5 and 15 minute load averages: how busy the (shared) machine was."""
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def library_versions(names: Iterable[str] = LIBRARIES) -> dict[str, str | None]:
    """Python's version and each installed distribution's (``None`` when not installed)."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_commit(root: str | os.PathLike[str]) -> str | None:
    """The git commit checked out at ``root`` (``+dirty`` when tracked files have local
    changes), or ``None`` where ``root`` is not a git checkout (an installed wheel)."""
    try:
        head, dirty = (
            subprocess.run(
                ["git", *arguments],
                cwd=root,
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            ).stdout.strip()
            for arguments in (
                ("rev-parse", "HEAD"),
                ("status", "--porcelain", "--untracked-files=no"),
            )
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if dirty else "")


def machine_record(libraries: Iterable[str] = LIBRARIES) -> dict[str, Any]:
    """Everything above in one JSON-ready dict (without the commit, which needs a checkout)."""
    return {
        "cpu": {"model": cpu_model(), **cpu_features()},
        "load_average": load_average(),
        "memory_bytes": memory_bytes(),
        "os": platform.platform(),
        "logical_cpus": os.cpu_count(),
        "usable_cores": usable_cores(),
        "versions": library_versions(libraries),
    }
