"""What page faults cost a single-device CPU training step, and what glibc's allocator can save.

XLA:CPU allocates each execution's temporary buffers afresh. glibc serves allocations larger
than its mmap threshold (dynamic, at most 32 MiB by default) with a new ``mmap``, whose pages
fault in (and are zeroed by the kernel) on first touch, at every call. A forward+backward pass
whose temporaries exceed that (about 47 MiB for an LSTM at B=32 T=100 I=125 H=320) pays
thousands of page faults per call.

This script times the gradient of ``sum(ys**2)`` for ``rnnax.lstm`` / ``rnnax.gru`` on ONE CPU
device, and counts the process's minor page faults per call (``getrusage``), first with glibc's
defaults, then after raising the mmap and trim thresholds with ``mallopt`` (so freed blocks are
kept and reused). The order is fixed (glibc cannot go back to its dynamic threshold), so run it
more than once on a shared machine. rnnax itself never changes the allocator: ``mallopt`` is
process-wide. To get the same effect for a whole program, set the glibc tunables before Python
starts::

    GLIBC_TUNABLES=glibc.malloc.mmap_threshold=1073741824:glibc.malloc.trim_threshold=2147483648

Run: ``python benchmarks/page_faults.py [--shape 32x100x125x320] [--cell lstm] [--cores 1]``
(``--cores 1`` pins the process to one core, as each device of a batch split gets; about
30 s). Results go to ``benchmarks/results/<machine>/page-faults-<cell>-<shape>.{json,md}``.
"""

from __future__ import annotations

import argparse
import ctypes
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the scripts share their helpers
from _one_step import (
    base_report,
    case_label,
    check_cores,
    compile_step,
    header_lines,
    step_parser,
    write_report,
)

# glibc's mallopt parameter numbers (malloc.h).
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
KEEP_BLOCKS_UP_TO = 1 << 30


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = step_parser("page_faults.py", __doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    check_cores(parser, args)
    return args


def _faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _measure(step: Any, repeats: int) -> dict[str, float]:
    import jax

    for _ in range(3):  # let the allocator settle under the current policy
        jax.block_until_ready(step())
    times, faults_before = [], _faults()
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(step())
        times.append(time.perf_counter() - start)
    return {
        "median_ms": statistics.median(times) * 1e3,
        "min_ms": min(times) * 1e3,
        "page_faults_per_call": (_faults() - faults_before) / repeats,
    }


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    machine_name, compiled, call = compile_step(args)
    temp_bytes = int(compiled.memory_analysis().temp_size_in_bytes)

    results = {"glibc defaults": _measure(call, args.repeats)}
    libc = ctypes.CDLL("libc.so.6")
    libc.mallopt(M_MMAP_THRESHOLD, KEEP_BLOCKS_UP_TO)
    libc.mallopt(M_TRIM_THRESHOLD, 2 * KEEP_BLOCKS_UP_TO)
    results["mmap/trim thresholds raised"] = _measure(call, args.repeats)

    report = {**base_report(args, argv), "xla_temp_bytes": temp_bytes, "results": results}
    lines = [
        f"# Page faults per forward+backward call: {case_label(args)}",
        "",
        *header_lines(report, args),
        f"- XLA temporaries of the compiled step: {temp_bytes / 2**20:.1f} MiB; "
        f"{args.repeats} calls per row",
        "",
        "| allocator | median ms | min ms | page faults per call |",
        "|---|---:|---:|---:|",
    ]
    for name, row in results.items():
        lines.append(
            f"| {name} | {row['median_ms']:.2f} | {row['min_ms']:.2f} | "
            f"{row['page_faults_per_call']:,.0f} |"
        )
    write_report(args, machine_name, f"page-faults-{args.cell}", report, "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
