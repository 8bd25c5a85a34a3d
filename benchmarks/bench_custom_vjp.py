"""Does the generic hand-written backward pass cost anything? One question, one script.

Times forward + backward of each cell in the GEMM + pointwise form (the LSTM and the
reset-after GRU) three ways in one process, interleaved, at the three bar shapes of
``benchmarks/README.md``: the cell's own tuned ``custom_vjp`` kernel, the generic one
(``rnnax._generic_vjp``, built from the cell's ``GemmSplit``) and autodiff through the scan.
Also records XLA's temporary memory for each compiled gradient
(``compiled.memory_analysis().temp_size_in_bytes``), and the machine's float32 GEMM rate for
scale. One device, one batch (no batch split), so the strategies are compared alone.

    python benchmarks/bench_custom_vjp.py [--repeats 7] [--out benchmarks/results/cpu-2core/custom-vjp]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import cpu_model, library_versions, load_average, rnnax_commit, usable_cores

import rnnax
from rnnax._generic_vjp import split_custom_vjp
from rnnax._io import write_atomically
from rnnax._scan import scan_cell

SHAPES = [(64, 100, 32, 128), (32, 256, 32, 128), (64, 100, 125, 320)]  # B, T, I, H


def variants(cell: rnnax.Cell) -> dict:
    def tuned(params, xs, carry):
        return cell.kernels["custom_vjp"](params, xs, carry, None, reverse=False, unroll=1)

    def generic(params, xs, carry):
        return split_custom_vjp(cell, params, xs, carry, None, False, 1)

    def scan(params, xs, carry):
        return scan_cell(cell.step, params, xs, carry, time_major=True)

    return {"tuned": tuned, "generic": generic, "scan": scan}


def gradient(run):
    def loss(params, xs, carry):
        _, ys = run(params, xs, carry)
        return jnp.sum(ys * ys)

    return jax.jit(jax.grad(loss, argnums=(0, 1)))


def gemm_rate(size: int = 1024, repeats: int = 5) -> float:
    a = jnp.ones((size, size), jnp.float32)
    f = jax.jit(lambda a: a @ a)
    f(a).block_until_ready()
    best = min(_timed(lambda: f(a).block_until_ready()) for _ in range(repeats))
    return 2 * size**3 / best / 1e9


def _timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def measure(cell: rnnax.Cell, shape: tuple[int, int, int, int], repeats: int) -> dict:
    batch, steps, inputs, hidden = shape
    params = cell.init(jax.random.key(0), inputs, hidden)
    xs = jax.random.normal(jax.random.key(1), (steps, batch, inputs))
    carry = cell.carry_init(hidden, (batch,), jnp.float32)
    compiled, memory = {}, {}
    for name, run in variants(cell).items():
        compiled[name] = gradient(run).lower(params, xs, carry).compile()
        memory[name] = compiled[name].memory_analysis().temp_size_in_bytes
        jax.block_until_ready(compiled[name](params, xs, carry))
    times: dict[str, list[float]] = {name: [] for name in compiled}
    for _ in range(repeats):  # interleaved: every variant once per round
        for name, fn in compiled.items():
            times[name].append(_timed(lambda fn=fn: jax.block_until_ready(fn(params, xs, carry))))
    median = {name: statistics.median(values) for name, values in times.items()}
    return {
        "cell": cell.name,
        "shape": dict(zip(("B", "T", "I", "H"), shape, strict=True)),
        "median_s": median,
        "generic_over_tuned": median["generic"] / median["tuned"],
        "generic_over_scan": median["generic"] / median["scan"],
        "temp_bytes": memory,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None, help="write <out>.json and <out>.md")
    args = parser.parse_args(argv)
    rows = [
        measure(cell, shape, args.repeats)
        for shape in SHAPES
        for cell in (rnnax.LSTM, rnnax.GRU_RESET_AFTER)
    ]
    machine = {
        "cpu": cpu_model(),
        "cores": usable_cores(),
        "load_average": load_average(),
        "versions": library_versions(["jax", "jaxlib", "rnnax"]),
        "commit": rnnax_commit(),
    }
    result = {"machine": machine, "gemm_gflops": gemm_rate(), "rows": rows}
    lines = [
        "| cell | B T I H | tuned ms | generic ms | scan ms | generic / tuned | temp MiB tuned / generic / scan |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ms, mib = row["median_s"], {k: v / 2**20 for k, v in row["temp_bytes"].items()}
        lines.append(
            f"| {row['cell']} | {' '.join(str(v) for v in row['shape'].values())} | "
            f"{ms['tuned'] * 1e3:.1f} | {ms['generic'] * 1e3:.1f} | {ms['scan'] * 1e3:.1f} | "
            f"{row['generic_over_tuned']:.2f} | "
            f"{mib['tuned']:.1f} / {mib['generic']:.1f} / {mib['scan']:.1f} |"
        )
    table = "\n".join(lines)
    print(table)
    print(f"float32 GEMM (1024^3): {result['gemm_gflops']:.1f} GFLOP/s")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(args.out.with_suffix(".json"), json.dumps(result, indent=2))
        header = (
            f"# Generic vs tuned custom VJP (forward + backward, float32, one device)\n\n"
            f"Machine: {json.dumps(result['machine'])}\n\n"
            f"float32 GEMM (1024^3): {result['gemm_gflops']:.1f} GFLOP/s; medians of "
            f"{args.repeats} interleaved rounds.\n\n"
        )
        write_atomically(args.out.with_suffix(".md"), header + table + "\n")


if __name__ == "__main__":
    main()
