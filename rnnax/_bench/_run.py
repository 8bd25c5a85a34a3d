"""One ``rnnax bench`` run: the machine it ran on, the configurations, the timing loop and
the files it writes (``OUT/<device>/<tag>.json``, ``.md`` and, for a sweep, ``.png``).

JAX is imported only inside :func:`main`, after ``--host-devices`` has set the CPU device count.
"""

from __future__ import annotations

import argparse
import datetime
import inspect
import json
import os
import platform
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rnnax import _machine
from rnnax._bench._ceilings import measure_floor, measure_gemm
from rnnax._bench._impl import Config
from rnnax._bench._options import (
    AXES,
    DEFAULT_SHAPES,
    GPU_SHAPES,
    GPU_SWEEP_BASE,
    GPU_SWEEP_VALUES,
    PALLAS_VARIANTS,
    QUICK_SHAPES,
    QUICK_SWEEP_BASE,
    QUICK_SWEEP_VALUES,
    SCHEMA,
    SWEEP_BASE,
    SWEEP_VALUES,
    parse,
)
from rnnax._bench._plot import plot_sweep
from rnnax._bench._recommend import auto_recommendation
from rnnax._bench._report import config_key, markdown_report
from rnnax._bench._timing import agreement, summarize, time_interleaved
from rnnax._bench._variants import auto_details, config_notes, timed_cells, timed_strategies
from rnnax._bench.builders import build_all
from rnnax._bench.builders.torch_module import torch_setup
from rnnax._io import write_atomically

VERSIONS = ("jax", "jaxlib", "flax", "equinox", "torch", "numpy", "rnnax", "matplotlib")
"""The libraries whose versions a report lists."""

_ENVIRONMENT = (
    "XLA_FLAGS",
    "XLA_PYTHON_CLIENT_PREALLOCATE",
    "JAX_PLATFORMS",
    "JAX_NUM_CPU_DEVICES",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "CUDA_VISIBLE_DEVICES",
)


def machine_info(jax: Any, torch_info: dict[str, Any]) -> dict[str, Any]:
    """The machine part of the report: rnnax._machine's record plus JAX's devices and flags."""
    devices = jax.devices()
    device = devices[0]
    cores = _machine.usable_cores()
    info = {
        "platform": device.platform,
        "device_kind": device.device_kind,
        "device_count": len(devices),
        "cpu_device_count": len(jax.devices("cpu")),
        "cpu": {"model": _machine.cpu_model(), **_machine.cpu_features()},
        "usable_cores": cores,
        "logical_cpus": os.cpu_count(),
        "os": platform.platform(),
        "load_average_start": _machine.load_average(),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "env": {name: os.environ[name] for name in _ENVIRONMENT if name in os.environ},
        "jax_default_matmul_precision": str(jax.config.jax_default_matmul_precision),
        "torch": torch_info,
    }
    if device.platform == "cpu":
        info["name"] = f"cpu-{cores}core"
    else:
        info["name"] = re.sub(r"[^a-z0-9]+", "-", device.device_kind.lower()).strip("-")
    return info


def rnnax_commit() -> str | None:
    """The commit of the source checkout rnnax runs from; ``None`` for an installed wheel."""
    checkout = Path(__file__).resolve().parents[2]
    return _machine.git_commit(checkout) if (checkout / ".git").exists() else None


def _shape_set(args: argparse.Namespace) -> Sequence[tuple[int, ...]]:
    """``--shapes``, else the default shapes of the run's kind."""
    if args.shapes is not None:
        return args.shapes
    if args.quick:  # --quick --gpu-suite: the GPU suite's code paths at the tiny shape
        return QUICK_SHAPES
    return GPU_SHAPES if args.gpu_suite else DEFAULT_SHAPES


def _shape_set_size(args: argparse.Namespace) -> int:
    return len(set(map(tuple, _shape_set(args))))


def _shapes(args: argparse.Namespace) -> tuple[dict[tuple[int, ...], set[str]], dict | None]:
    """Every shape to run, the shape set first, each with the sweep axes it lies on (empty: the
    shape set only), and the sweep's base shape (``None`` without a sweep)."""
    shapes: dict[tuple[int, ...], set[str]] = {tuple(shape): set() for shape in _shape_set(args)}
    if not args.sweep:
        return shapes, None
    base: tuple[int, ...]
    values: Mapping[str, tuple[int, ...]]
    if args.quick:
        base, values = QUICK_SWEEP_BASE, QUICK_SWEEP_VALUES
    elif args.gpu_suite:
        base, values = GPU_SWEEP_BASE, GPU_SWEEP_VALUES
    else:
        base, values = SWEEP_BASE, SWEEP_VALUES
    for axis in args.sweep:
        for value in values[axis]:
            shape = list(base)
            shape[AXES.index(axis)] = value
            shapes.setdefault(tuple(shape), set()).add(axis)
    return shapes, dict(zip(AXES, base, strict=True))


def _configs(args: argparse.Namespace) -> tuple[list[Config], dict[str, int] | None]:
    """One ``Config`` per dtype, cell and shape (the shape set and the sweeps), and the sweep's
    base shape."""
    shapes, sweep_base = _shapes(args)
    in_shape_set = set(list(shapes)[: _shape_set_size(args)])
    configs = []
    for dtype in args.dtype:
        for cell in args.cells:
            for shape, axes in shapes.items():
                batch, steps, inputs, hidden = shape
                configs.append(
                    Config(
                        cell,
                        batch,
                        steps,
                        inputs,
                        hidden,
                        dtype=dtype,
                        sweep_axes=tuple(sorted(axes)),
                        modes=tuple(args.modes),
                        in_shape_set=shape in in_shape_set,
                    )
                )
    return configs, sweep_base


def _write_report(report: dict[str, Any], files: dict[str, Path]) -> str:
    """Writes the JSON and Markdown (with the strategy recommendation so far); returns the
    Markdown. A run killed mid-write (they are long) leaves the previous results whole."""
    report["auto_recommendation"] = auto_recommendation(report["results"])
    markdown = markdown_report(report)
    write_atomically(files["json"], json.dumps(report, indent=1) + "\n")
    write_atomically(files["markdown"], markdown + "\n")
    return markdown


def _start_jax(args: argparse.Namespace) -> Any:
    """Sets the CPU device count (``--host-devices``), then imports JAX; returns it and
    whether the count could still take effect (``None`` when not asked for)."""
    effective = None
    if args.host_devices is not None:
        effective = _machine.set_cpu_devices(args.host_devices)
    # On GPU, JAX would otherwise take 75% of the memory up front and starve torch's CUDA
    # allocator; an explicit user setting wins.
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    import jax

    if args.host_devices is not None and len(jax.devices("cpu")) != args.host_devices:
        print(
            f"warning: --host-devices {args.host_devices} asked for, but JAX has "
            f"{len(jax.devices('cpu'))} CPU device(s): JAX was initialized before the "
            "device count could be set (run it as a fresh process)",
            file=sys.stderr,
        )
    return jax, effective


def _run_name(args: argparse.Namespace) -> str:
    """The run's mode in file names and titles, e.g. ``quick-default`` or ``gpu-default-sweep``."""
    return "-".join(
        [
            *(["quick"] if args.quick else []),
            *(["gpu"] if args.gpu_suite else []),
            "custom" if args.shapes is not None else "default",
            *(["sweep"] if args.sweep else []),
        ]
    )


def _settings(
    args: argparse.Namespace,
    jax: Any,
    machine: dict[str, Any],
    sweep_base: dict[str, int] | None,
    host_flag_effective: bool | None,
) -> dict[str, Any]:
    """The report's ``settings``: what was asked for and what it resolved to."""
    import rnnax

    has_strategy = "strategy" in inspect.signature(rnnax.lstm).parameters
    return {
        "mode": _run_name(args),
        "modes": args.modes,
        "dtypes": args.dtype,
        "cells": args.cells,
        "impls": args.impls,
        "repeats": args.repeats,
        "warmup": args.warmup,
        "seed": args.seed,
        "strategy_keyword": has_strategy,
        "strategies": timed_strategies(args, jax.default_backend()) if has_strategy else [],
        "auto": {cell: auto_details(cell=cell) for cell in timed_cells(args.cells)},
        "host_devices": {
            "requested": args.host_devices,
            "flag_set_before_init": host_flag_effective,
            "cpu_devices": machine["cpu_device_count"],
        },
        "torch_threads": machine["torch"].get("threads"),
        "sweep": args.sweep or [],
        "sweep_base": sweep_base,
        "gpu_suite": args.gpu_suite,
        "floor": args.floor,
        "pallas_variants": PALLAS_VARIANTS if args.pallas_variants else None,
        "loss": "sum(ys.astype(float32) ** 2); grads w.r.t. params and xs",
    }


def _new_report(
    args: argparse.Namespace, argv: Sequence[str] | None, jax: Any, machine: dict[str, Any]
) -> dict[str, Any]:
    """The report before any timing: machine, versions, settings, notes and GEMM ceilings."""
    return {
        "schema": SCHEMA,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "argv": list(argv) if argv is not None else sys.argv[1:],
        "machine": machine,
        "versions": _machine.library_versions(VERSIONS),
        "rnnax_commit": rnnax_commit(),
        "settings": {},
        "gemm": {
            dtype: measure_gemm(jax, args.gemm_size, dtype, args.repeats) for dtype in args.dtype
        },
        "floor": {},
        "results": [],
        "agreement": {},
        "notes": [],
    }


def _output_files(args: argparse.Namespace, report: dict[str, Any]) -> dict[str, Path]:
    """``OUT/<device>/<tag>.json`` and ``.md`` (the folder is created)."""
    tag = args.tag or "-".join(
        [report["settings"]["mode"], *args.dtype]
        + ([f"host{args.host_devices}"] if args.host_devices else [])
    )
    directory = Path(args.out) / report["machine"]["name"]
    directory.mkdir(parents=True, exist_ok=True)
    return {"json": directory / f"{tag}.json", "markdown": directory / f"{tag}.md"}


def _time_config(
    cfg: Config, args: argparse.Namespace, jax: Any, torch_device: str | None, report: dict
) -> None:
    """Builds and times every implementation at ``cfg``; appends the entries to ``report``."""
    key = config_key({"cell": cfg.cell, "shape": cfg.shape, "dtype": cfg.dtype})
    latency = None
    if args.floor:
        latency = report["floor"][key] = measure_floor(jax, cfg, args.repeats)
    impls = build_all(cfg, args, jax, torch_device)
    time_interleaved(impls, args.repeats, args.warmup)
    gemm = report["gemm"][cfg.dtype]["gflops"]
    for impl in impls:
        entry = summarize(cfg, impl, gemm, latency)
        entry["in_shape_set"] = cfg.in_shape_set
        report["results"].append(entry)
    report["agreement"][key] = agreement(impls, cfg.cell)
    del impls
    jax.clear_caches()


def main(argv: Sequence[str] | None = None, *, prog: str = "rnnax bench") -> int:
    """Parses ``argv`` and runs the benchmark (:func:`run`); usage errors exit with status 2."""
    return run(parse(argv, prog=prog), argv)


def run(args: argparse.Namespace, argv: Sequence[str] | None) -> int:
    """Runs the benchmark; writes OUT/<device>/<tag>.json, .md (and .png for a sweep)."""
    jax, host_flag_effective = _start_jax(args)
    torch_device, torch_info = torch_setup(args, jax)
    machine = machine_info(jax, torch_info)
    configs, sweep_base = _configs(args)
    report = _new_report(args, argv, jax, machine)
    report["settings"] = _settings(args, jax, machine, sweep_base, host_flag_effective)
    report["notes"] = list(
        dict.fromkeys(note for cfg in configs for note in config_notes(cfg, args))
    )
    files = _output_files(args, report)
    report["files"] = {kind: str(path) for kind, path in files.items()}
    machine["load_average_end"] = None  # until the end
    for index, cfg in enumerate(configs, 1):
        if not args.quiet:
            print(
                f"[{index}/{len(configs)}] {cfg.cell} {cfg.shape} {cfg.dtype}",
                file=sys.stderr,
                flush=True,
            )
        _time_config(cfg, args, jax, torch_device, report)
        if index < len(configs):
            # Partial results on disk after every configuration: a long GPU run that is cut
            # off (a time limit, a hung compile) keeps what it measured.
            report["complete"] = False
            _write_report(report, files)
    report["complete"] = True
    machine["load_average_end"] = _machine.load_average()
    markdown = _write_report(report, files)
    if not args.no_plot and args.sweep:
        png = files["json"].with_suffix(".png")
        if plot_sweep(report, png):
            files["plot"] = png
        report["files"] = {kind: str(path) for kind, path in files.items()}
        write_atomically(files["json"], json.dumps(report, indent=1) + "\n")
    if not args.quiet:
        print(markdown)
        print("\nwrote " + ", ".join(str(path) for path in files.values()))
    return 0
