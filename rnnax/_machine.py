"""The machine record: what a run records about the computer it ran on.

Cores this process may use, CPU model and vector extensions, memory, load, library versions and
the rnnax commit; and the one place that sets how many CPU devices JAX exposes
(:func:`set_cpu_devices`, :func:`cpu_device_environment`). ``rnnax compare``'s report, ``rnnax bench`` and every script under
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
import sys
from collections.abc import Iterable, Mapping, MutableMapping
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


CPU_DEVICE_FLAG = "--xla_force_host_platform_device_count"
"""The XLA flag (in ``XLA_FLAGS``) that makes JAX's CPU backend expose several devices."""


def cpu_device_environment(count: int | None, environ: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``environ`` under which a JAX process starts with ``count`` CPU devices.

    ``XLA_FLAGS`` gets ``--xla_force_host_platform_device_count=count`` (replacing any earlier
    value; ``count=None`` removes it: JAX's default) and ``JAX_NUM_CPU_DEVICES``, which would
    override the flag, is dropped.

    Examples:
        >>> cpu_device_environment(2, {"XLA_FLAGS": "--xla_foo=1", "JAX_NUM_CPU_DEVICES": "8"})
        {'XLA_FLAGS': '--xla_foo=1 --xla_force_host_platform_device_count=2'}
    """
    env = {key: value for key, value in environ.items() if key != "JAX_NUM_CPU_DEVICES"}
    flags = re.sub(rf"{CPU_DEVICE_FLAG}=\S*", "", env.get("XLA_FLAGS", "")).split()
    if count is not None:
        flags.append(f"{CPU_DEVICE_FLAG}={count}")
    env["XLA_FLAGS"] = " ".join(flags)
    return env


def jax_started() -> bool:
    """Whether JAX has initialized its backends in this process (its devices are then fixed)."""
    if "jax" not in sys.modules:
        return False
    try:
        from jax._src import xla_bridge  # JAX has no public query for this.

        return bool(xla_bridge.backends_are_initialized())
    except Exception:  # unknown internals: assume it is too late
        return True


def set_cpu_devices(count: int, environ: MutableMapping[str, str] | None = None) -> bool:
    """Exposes ``count`` CPU devices to JAX: the one way rnnax and its benchmarks set them.

    Writes ``count`` into ``environ`` (default ``os.environ``, which child processes inherit;
    see :func:`cpu_device_environment`) and, when JAX is imported but not started, into its
    ``jax_num_cpu_devices`` option. Returns whether this process's JAX will have ``count``
    CPU devices (``False`` once JAX has started: it fixes its devices then).
    """
    target = os.environ if environ is None else environ
    updated = cpu_device_environment(count, target)
    target.pop("JAX_NUM_CPU_DEVICES", None)
    target.update(updated)
    if jax_started():
        return False
    jax = sys.modules.get("jax")
    if jax is not None:
        jax.config.update("jax_num_cpu_devices", count)
    return True
