"""Timing: every implementation interleaved round-robin in one process, then each one's
median, throughput, FLOP rate and share of the GEMM ceiling, and the outputs' agreement."""

from __future__ import annotations

import gc
import statistics
import time
from typing import Any

from rnnax._bench._ceilings import floor_multiple
from rnnax._bench._impl import Config, Impl
from rnnax._bench._options import MODES


def time_interleaved(impls: list[Impl], repeats: int, warmup: int) -> None:
    """Round-robin timing: each repeat times every (impl, mode) once, from a rotating start."""
    slots = [
        (impl, mode) for impl in impls if impl.error is None for mode in MODES if mode in impl.calls
    ]
    for impl, mode in slots:
        try:
            for _ in range(warmup):
                impl.calls[mode]()
        except Exception as error:
            impl.error = f"{type(error).__name__} in {mode}: {error}"[:2000]
    slots = [(impl, mode) for impl, mode in slots if impl.error is None]
    for impl, mode in slots:
        impl.times[mode] = []
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for repeat in range(repeats):
            shift = repeat % max(len(slots), 1)
            for impl, mode in slots[shift:] + slots[:shift]:
                start = time.perf_counter()
                impl.calls[mode]()
                impl.times[mode].append(time.perf_counter() - start)
    finally:
        if was_enabled:
            gc.enable()


def summarize(
    cfg: Config, impl: Impl, gemm_gflops: float | None, floor: dict[str, Any] | None = None
) -> dict[str, Any]:
    import rnnax

    flops = rnnax.flops_per_step(cfg.cell, cfg.inputs, cfg.hidden)
    entry: dict[str, Any] = {
        "cell": cfg.cell,
        "shape": cfg.shape,
        "dtype": cfg.dtype,
        "sweep_axes": list(cfg.sweep_axes),
        "impl": impl.family,
        "label": impl.label,
        "options": impl.options,
        "weights": impl.weights,
        "error": impl.error,
        "flops_per_step": flops,
    }
    for mode in MODES:
        record: dict[str, Any] = dict(impl.info.get(mode, {}))
        samples = impl.times.get(mode)
        if samples:
            median = statistics.median(samples)
            total_flops = flops * cfg.batch * cfg.steps * (3 if mode == "fwdbwd" else 1)
            record.update(
                {
                    "median_s": median,
                    "min_s": min(samples),
                    "times_s": samples,
                    "us_per_step": median / cfg.steps * 1e6,
                    "seq_per_s": cfg.batch / median,
                    "gflops": total_flops / median / 1e9,
                }
            )
            if gemm_gflops:
                record["fraction_of_gemm"] = record["gflops"] / gemm_gflops
            multiple = floor_multiple(floor, mode, record["us_per_step"])
            if multiple is not None:
                record["floor_multiple"] = multiple
            if "first_call_s" in record and "lower_s" not in record:
                # torch: no separate compile step; the first call's extra time stands in for it
                record["first_call_minus_median_s"] = record["first_call_s"] - median
        entry[mode] = record
    return entry


def _same_function(impl: Impl, cell: str) -> bool:
    """Whether ``impl`` computes the function the other libraries do at a ``--cells`` entry:
    every implementation does, except the explainer's form among ``"gru"``'s rnnax variants
    (the other libraries' GRUs are the reset-after form)."""
    return cell != "gru" or impl.family != "rnnax" or bool(impl.options.get("reset_after"))


def agreement(impls: list[Impl], cell: str) -> dict[str, float]:
    """Max |ys - ys_reference| per label against the first rnnax output of the form every
    implementation computes (informative only; for a cell only rnnax runs, the strategies
    against each other)."""
    import numpy as np

    reference = next(
        (
            impl.output
            for impl in impls
            if impl.family == "rnnax" and impl.output is not None and _same_function(impl, cell)
        ),
        None,
    )
    if reference is None:
        return {}
    return {
        impl.label: float(np.max(np.abs(impl.output - reference)))
        for impl in impls
        if impl.output is not None
        and _same_function(impl, cell)
        and impl.output.shape == reference.shape
    }
