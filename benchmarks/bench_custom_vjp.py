"""What do the hand-written backward passes cost, in time and memory? One question, one script.

Times forward + backward of the LSTM and both GRU forms in one process, interleaved, at the
three bar shapes of ``benchmarks/README.md``:

- ``now``: ``strategy="custom_vjp"`` as rnnax runs it today: the GRUs' tuned kernels
  (``rnnax._custom_vjp``), the generic pass for the LSTM;
- ``before``: the tuned kernels as of a git revision (``--baseline``, default the commit before
  the cell protocol, which still had a tuned LSTM kernel), loaded from that revision's source
  into this process, so a regression shows as a ratio measured side by side, not across runs;
- ``generic``: the generic pass (``rnnax._generic_vjp``) built from the cell's ``GemmSplit``,
  where it is not already ``now`` (the reset-after GRU; the explainer's GRU has no split);
- ``scan``: autodiff through the scan.

Also records XLA's temporary memory for each compiled gradient
(``compiled.memory_analysis().temp_size_in_bytes``) and the machine's float32 GEMM rate for
scale. One device, one batch (no batch split), so the strategies are compared alone.

    python benchmarks/bench_custom_vjp.py [--repeats 7] [--baseline 5de1302]
        [--out benchmarks/results/cpu-2core/custom-vjp]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time
import types
from pathlib import Path

import jax
import jax.numpy as jnp

import rnnax
from rnnax._generic_vjp import split_custom_vjp
from rnnax._io import write_atomically
from rnnax._machine import cpu_model, git_commit, library_versions, load_average, usable_cores
from rnnax._scan import scan_cell
from rnnax._strategies import _run_cell

SHAPES = [(64, 100, 32, 128), (32, 256, 32, 128), (64, 100, 125, 320)]  # B, T, I, H


def load_baseline(revision: str) -> types.ModuleType | None:
    """``rnnax/_custom_vjp.py`` as of ``revision``, imported as a module of its own (its imports
    of rnnax's helpers resolve to today's, which kept their signatures)."""
    try:
        source = subprocess.run(
            ["git", "show", f"{revision}:rnnax/_custom_vjp.py"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    module = types.ModuleType(f"custom_vjp_{revision}")
    exec(compile(source, f"{revision}:rnnax/_custom_vjp.py", "exec"), module.__dict__)
    return module


def variants(cell: rnnax.Cell, baseline: types.ModuleType | None) -> dict:
    reset_after = cell is rnnax.GRU_RESET_AFTER

    def now(params, xs, carry):
        return _run_cell(cell, "custom_vjp", 1, False, params, xs, carry)

    def before(params, xs, carry):
        if cell is rnnax.LSTM:
            h, c, ys = baseline.lstm_custom_vjp(params, xs, carry.h, carry.c, None, False)
            return rnnax.LSTMState(h, c), ys
        return baseline.gru_custom_vjp(
            rnnax.GRUParams(*params), xs, carry, None, False, reset_after
        )

    def generic(params, xs, carry):
        return split_custom_vjp(cell, params, xs, carry, None, False, 1)

    def scan(params, xs, carry):
        return scan_cell(cell.step, params, xs, carry, time_major=True)

    found = {"now": now, "before": before, "generic": generic, "scan": scan}
    if baseline is None:
        del found["before"]
    if cell.split is None or "custom_vjp" not in cell.kernels:
        del found["generic"]
    return found


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


def measure(
    cell: rnnax.Cell,
    shape: tuple[int, int, int, int],
    repeats: int,
    baseline: types.ModuleType | None,
) -> dict:
    batch, steps, inputs, hidden = shape
    params = cell.init(jax.random.key(0), inputs, hidden)
    xs = jax.random.normal(jax.random.key(1), (steps, batch, inputs))
    carry = cell.carry_init(hidden, (batch,), jnp.float32)
    compiled, memory = {}, {}
    for name, run in variants(cell, baseline).items():
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
        "ratios": {name: median[name] / median["now"] for name in median},
        "temp_bytes": memory,
    }


def markdown_table(rows: list[dict]) -> str:
    """Milliseconds (and the ratio to today's custom_vjp) and temporary MiB per variant."""
    names = ("now", "before", "generic", "scan")
    lines = [
        "| cell | B T I H | "
        + " | ".join(f"{name} ms (x now)" for name in names)
        + " | "
        + " | ".join(f"{name} MiB" for name in names)
        + " |",
        "|---|---|" + "---:|" * (2 * len(names)),
    ]
    for row in rows:
        ms, mib = row["median_s"], row["temp_bytes"]
        times = [f"{ms[n] * 1e3:.1f} ({row['ratios'][n]:.2f})" if n in ms else "-" for n in names]
        memory = [f"{mib[n] / 2**20:.1f}" if n in mib else "-" for n in names]
        shape = " ".join(str(v) for v in row["shape"].values())
        lines.append(f"| {row['cell']} | {shape} | " + " | ".join(times + memory) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--baseline", default="5de1302", help="git revision of the 'before' kernels ('' for none)"
    )
    parser.add_argument("--out", type=Path, default=None, help="write <out>.json and <out>.md")
    args = parser.parse_args(argv)
    baseline = load_baseline(args.baseline) if args.baseline else None
    rows = [
        measure(cell, shape, args.repeats, baseline)
        for shape in SHAPES
        for cell in (rnnax.LSTM, rnnax.GRU, rnnax.GRU_RESET_AFTER)
    ]
    machine = {
        "cpu": cpu_model(),
        "cores": usable_cores(),
        "load_average": load_average(),
        "versions": library_versions(["jax", "jaxlib", "rnnax"]),
        "commit": git_commit(Path(__file__).resolve().parent.parent),
    }
    result = {
        "machine": machine,
        "baseline": args.baseline,
        "gemm_gflops": gemm_rate(),
        "rows": rows,
    }
    table = markdown_table(rows)
    print(table)
    print(f"float32 GEMM (1024^3): {result['gemm_gflops']:.1f} GFLOP/s")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(args.out.with_suffix(".json"), json.dumps(result, indent=2))
        header = (
            f"# Hand-written backward passes: custom_vjp now and at {args.baseline}, the "
            f"generic pass, the scan (forward + backward, float32, one device)\n\n"
            f"Machine: {json.dumps(result['machine'])}\n\n"
            f"float32 GEMM (1024^3): {result['gemm_gflops']:.1f} GFLOP/s; medians of "
            f"{args.repeats} interleaved rounds.\n\n"
        )
        write_atomically(args.out.with_suffix(".md"), header + table + "\n")


if __name__ == "__main__":
    main()
