"""Is the native strategy fast enough? ``strategy="native"`` against the custom VJP, flax.linen,
PyTorch and the GEMM floor, forward+backward, at the three default shapes, float32 and bfloat16.

Runs ``bench_rnn.py`` (one process, interleaved repetitions, the GEMM ceiling measured in the
same run, the machine and library versions recorded) with two JAX CPU devices, then writes
``targets-<report>.md`` beside its report: per cell, dtype and shape, the fastest native variant (on
one device, or the batch split over both) and its ratios:

- ``x linen``, ``x torch``: their fwd+bwd time over native's (targets: at least 1.3 and 1.2);
- ``x floor``: native's time over the fwd+bwd FLOPs at the measured large-GEMM rate (target:
  at most 1.3);
- in bfloat16, ``x torch`` at least 1.

Usage::

    python benchmarks/bench_native.py --repeats 10 --out benchmarks/results/cpu-2core/native
    python benchmarks/bench_native.py --summarize RESULTS.json   # the targets table only
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

BENCH_ARGS = [
    "--host-devices",
    "2",
    "--impls",
    "rnnax,flax.linen,torch",
    "--strategies",
    "custom_vjp,native,auto=custom_vjp,auto=native",
    "--cells",
    "lstm,gru_reset_after,gru",
    "--dtype",
    "float32,bfloat16",
]
NATIVE = ("rnnax[native]", "rnnax[auto=native]")
TARGETS = {"linen": 1.3, "torch": 1.2, "floor": 1.3, "torch_bf16": 1.0}


def _median(entry: dict) -> float | None:
    timing = entry.get("fwdbwd") or {}
    return timing.get("median_s")


def summarize(results: dict) -> str:
    """The targets table of one ``bench_rnn.py`` JSON report."""
    gemm = results["gemm"]
    rows: dict[tuple, dict[str, float]] = {}
    flops: dict[tuple, float] = {}
    for entry in results["results"]:
        if entry.get("error") or entry.get("options", {}).get("reset_after"):
            continue
        key = (entry["cell"], entry["dtype"], tuple(entry["shape"].values()))
        median = _median(entry)
        if median is None:
            continue
        label = entry["label"].split(" (")[0]
        rows.setdefault(key, {})[label] = median
        shape = entry["shape"]
        # Forward FLOPs, and twice as many for the backward pass.
        flops[key] = 3 * entry["flops_per_step"] * shape["B"] * shape["T"]
    ceilings = ", ".join(
        f"{dtype} {g['gflops']:.0f} GFLOP/s ({g['size']}² matmul)" for dtype, g in gemm.items()
    )
    machine = results["machine"]
    lines = [
        f"- GEMM ceiling measured in this run: {ceilings}",
        f"- machine: {machine.get('cpu')}, {machine.get('usable_cores')} usable cores, "
        f"{machine.get('cpu_device_count')} JAX CPU devices; load average "
        f"{machine.get('load_average_start')} at start, {machine.get('load_average_end')} at end",
        f"- versions: {', '.join(f'{k} {v}' for k, v in results['versions'].items())}",
        f"- rnnax commit {results.get('rnnax_commit')}; command `{' '.join(results['argv'])}`",
        "- native (fastest): the faster of strategy='native' on one device and 'auto' with "
        "native inside the batch split over both devices; custom_vjp (best) likewise",
        "",
        "| cell | dtype | B, T, I, H | native (fastest) ms | custom_vjp (best) ms | "
        "flax.linen ms | torch ms | floor ms | × linen | × torch | × floor | targets |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for key in sorted(rows):
        times = rows[key]
        native = {k: v for k, v in times.items() if k in NATIVE}
        if not native:
            continue
        best_label = min(native, key=native.__getitem__)
        best = native[best_label]
        custom = min(v for k, v in times.items() if "custom_vjp" in k)
        linen, torch = times.get("flax.linen"), times.get("torch")
        floor = flops[key] / (gemm[key[1]]["gflops"] * 1e9)
        x_linen = linen / best if linen else float("nan")
        x_torch = torch / best if torch else float("nan")
        x_floor = best / floor
        met = []
        if key[1] == "float32":
            met.append(f"linen {'met' if x_linen >= TARGETS['linen'] else 'MISSED'}")
            met.append(f"torch {'met' if x_torch >= TARGETS['torch'] else 'MISSED'}")
        else:
            met.append(f"torch bf16 {'met' if x_torch >= TARGETS['torch_bf16'] else 'MISSED'}")
        met.append(f"floor {'met' if x_floor <= TARGETS['floor'] else 'MISSED'}")
        variant = "split" if best_label == "rnnax[auto=native]" else "1 device"
        lines.append(
            f"| {key[0]} | {key[1]} | {', '.join(map(str, key[2]))} | {best * 1e3:.1f} "
            f"({variant}) | {custom * 1e3:.1f} | {linen * 1e3 if linen else float('nan'):.1f} | "
            f"{torch * 1e3 if torch else float('nan'):.1f} | {floor * 1e3:.1f} | "
            f"{x_linen:.2f} | {x_torch:.2f} | {x_floor:.2f} | {', '.join(met)} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--summarize", type=Path, help="a bench_rnn.py JSON report to summarize")
    parser.add_argument("--repeats", default="10")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args(argv)
    report = args.summarize
    if report is None:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from rnnax._bench import main as bench_main

        bench_main([*BENCH_ARGS, "--repeats", args.repeats, "--out", str(args.out)])
        report = max(
            args.out.rglob("default-float32-bfloat16-host2.json"), key=lambda p: p.stat().st_mtime
        )
    text = summarize(json.loads(report.read_text()))
    target = report.with_name(f"targets-{report.stem}.md")
    target.write_text(f"# Native strategy against its targets ({report.name})\n\n{text}")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
