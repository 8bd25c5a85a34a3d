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
import datetime
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the scripts share _machine.py
from _machine import cpu_model, library_versions, load_average, rnnax_commit, usable_cores

RESULTS = Path(__file__).resolve().parent / "results"
# glibc's mallopt parameter numbers (malloc.h).
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
KEEP_BLOCKS_UP_TO = 1 << 30


def parse_shape(text: str) -> tuple[int, int, int, int]:
    parts = text.lower().split("x")
    if len(parts) != 4 or not all(part.isdigit() and int(part) > 0 for part in parts):
        raise argparse.ArgumentTypeError(f"expected BxTxIxH with positive integers, got {text!r}")
    batch, steps, inputs, hidden = (int(part) for part in parts)
    return batch, steps, inputs, hidden


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="page_faults.py", description=__doc__.split("\n")[0])
    parser.add_argument("--shape", type=parse_shape, default=(32, 100, 125, 320), metavar="BxTxIxH")
    parser.add_argument("--cell", choices=("lstm", "gru"), default="lstm")
    parser.add_argument(
        "--strategy", default="custom_vjp", help="rnnax strategy (default custom_vjp)"
    )
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--cores", type=int, default=None, help="pin to this many cores")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.cores is not None and not 1 <= args.cores <= usable_cores():
        parser.error(f"--cores must be between 1 and {usable_cores()}")
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
    machine_name = f"cpu-{usable_cores()}core"  # before pinning: the machine, as bench_rnn names it
    if args.cores is not None:
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: args.cores])
    os.environ.setdefault("JAX_NUM_CPU_DEVICES", "1")
    import jax
    import jax.numpy as jnp

    import rnnax

    batch, steps, inputs, hidden = args.shape
    init = rnnax.lstm_init if args.cell == "lstm" else rnnax.gru_init
    core = rnnax.lstm if args.cell == "lstm" else rnnax.gru
    params = init(jax.random.key(0), inputs, hidden)
    xs = jax.random.normal(jax.random.key(1), (batch, steps, inputs))

    def loss(p: Any, x: Any) -> Any:
        return jnp.sum(core(p, x, strategy=args.strategy)[1] ** 2)

    grad = jax.jit(jax.grad(loss, argnums=(0, 1)))
    compiled = grad.lower(params, xs).compile()
    temp_bytes = int(compiled.memory_analysis().temp_size_in_bytes)

    results = {"glibc defaults": _measure(lambda: compiled(params, xs), args.repeats)}
    libc = ctypes.CDLL("libc.so.6")
    libc.mallopt(M_MMAP_THRESHOLD, KEEP_BLOCKS_UP_TO)
    libc.mallopt(M_TRIM_THRESHOLD, 2 * KEEP_BLOCKS_UP_TO)
    results["mmap/trim thresholds raised"] = _measure(lambda: compiled(params, xs), args.repeats)

    label = f"{args.cell} B={batch} T={steps} I={inputs} H={hidden}"
    report = {
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "argv": sys.argv[1:] if argv is None else list(argv),
        "machine": {
            "cpu": cpu_model(),
            "usable_cores": usable_cores(),
            "pinned_cores": args.cores,
            "load_average": load_average(),
            "platform": platform.platform(),
        },
        "versions": library_versions(["jax", "jaxlib", "numpy", "rnnax"]),
        "rnnax_commit": rnnax_commit(),
        "case": {"cell": args.cell, "shape": list(args.shape), "strategy": args.strategy},
        "xla_temp_bytes": temp_bytes,
        "results": results,
    }
    lines = [
        f"# Page faults per forward+backward call: {label}, strategy {args.strategy!r}",
        "",
        f"- created {report['created']}; CPU {report['machine']['cpu']}; pinned cores "
        f"{args.cores or 'all'}; load average {report['machine']['load_average']}",
        f"- jax {report['versions'].get('jax')}; rnnax commit {report['rnnax_commit']}",
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
    text = "\n".join(lines) + "\n"
    print(text)

    from rnnax._io import write_atomically

    directory = args.out / machine_name
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"page-faults-{args.cell}-{'x'.join(map(str, args.shape))}"
    write_atomically(directory / f"{stem}.json", json.dumps(report, indent=2) + "\n")
    write_atomically(directory / f"{stem}.md", text)
    print(f"wrote {directory / stem}.json, .md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
