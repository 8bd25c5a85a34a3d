"""Where the time of one forward+backward call goes: XLA's per-operation times from a trace.

Traces ``--calls`` calls of the jitted gradient of ``sum(ys**2)`` for ``rnnax.lstm`` /
``rnnax.gru`` with ``jax.profiler.trace`` and reads the trace back with JAX's own reader
(``jax._src.lib._profile_data``: private, but it needs no TensorBoard), then sums each
operation's events per call. Operations inside the time loops (``n`` per call = T) and once per
call (the weight-gradient GEMMs, buffer fills) are listed together, largest first; a
``while.*`` row spans a whole time loop, so it includes the rows of the operations inside it.

On one pinned core (``--cores 1``) the times add up to the call: XLA:CPU runs every operation
on that core. With more cores, multi-threaded operations hand work to other threads and
their events under-report, so pin the process to read a breakdown.

Run: ``python benchmarks/profile_step.py --cores 1 [--shape 32x100x125x320] [--cell lstm]
[--strategy custom_vjp]`` (about 30 s). Results go to
``benchmarks/results/<machine>/profile-<cell>-<strategy>-<shape>.{json,md}``.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the scripts share _machine.py
from _machine import cpu_model, library_versions, load_average, rnnax_commit, usable_cores
from page_faults import parse_shape

RESULTS = Path(__file__).resolve().parent / "results"
# Trace events that are not XLA operations: the runtime's and Python's own spans.
_NOT_OPERATIONS = ("ThunkExecutor", "$", "Pjit", "block_until_ready", "Wait", "Execute")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="profile_step.py", description=__doc__.split("\n")[0])
    parser.add_argument("--shape", type=parse_shape, default=(32, 100, 125, 320), metavar="BxTxIxH")
    parser.add_argument("--cell", choices=("lstm", "gru"), default="lstm")
    parser.add_argument(
        "--strategy", default="custom_vjp", help="rnnax strategy (default custom_vjp)"
    )
    parser.add_argument("--calls", type=int, default=5, help="traced calls (default 5)")
    parser.add_argument("--top", type=int, default=30, help="operations listed (default 30)")
    parser.add_argument("--cores", type=int, default=None, help="pin to this many cores")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    for name in ("calls", "top"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.cores is not None and not 1 <= args.cores <= usable_cores():
        parser.error(f"--cores must be between 1 and {usable_cores()}")
    return args


def _operation_times(trace_dir: str, calls: int) -> list[dict[str, Any]]:
    """Per-call milliseconds and event counts of every XLA operation in the trace."""
    from jax._src.lib import _profile_data

    (path,) = Path(trace_dir).rglob("*.xplane.pb")
    total_ns: collections.Counter[str] = collections.Counter()
    count: collections.Counter[str] = collections.Counter()
    for plane in _profile_data.ProfileData.from_file(str(path)).planes:
        for line in plane.lines:
            for event in line.events:
                if any(marker in event.name for marker in _NOT_OPERATIONS):
                    continue
                total_ns[event.name] += event.duration_ns
                count[event.name] += 1
    return [
        {"operation": name, "ms_per_call": ns / calls / 1e6, "events_per_call": count[name] / calls}
        for name, ns in total_ns.most_common()
    ]


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

    compiled = jax.jit(jax.grad(loss, argnums=(0, 1))).lower(params, xs).compile()
    for _ in range(3):
        jax.block_until_ready(compiled(params, xs))
    with tempfile.TemporaryDirectory() as trace_dir:
        start = time.perf_counter()
        with jax.profiler.trace(trace_dir):
            for _ in range(args.calls):
                jax.block_until_ready(compiled(params, xs))
        traced_ms = (time.perf_counter() - start) / args.calls * 1e3
        operations = _operation_times(trace_dir, args.calls)

    label = f"{args.cell} B={batch} T={steps} I={inputs} H={hidden}, strategy {args.strategy!r}"
    report = {
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "argv": sys.argv[1:] if argv is None else list(argv),
        "machine": {
            "cpu": cpu_model(),
            "usable_cores": usable_cores(),
            "pinned_cores": args.cores,
            "load_average": load_average(),
        },
        "versions": library_versions(["jax", "jaxlib", "numpy", "rnnax"]),
        "rnnax_commit": rnnax_commit(),
        "case": {"cell": args.cell, "shape": list(args.shape), "strategy": args.strategy},
        "traced_ms_per_call": traced_ms,
        "operations": operations,
    }
    lines = [
        f"# Per-operation time of one forward+backward call: {label}",
        "",
        f"- created {report['created']}; CPU {report['machine']['cpu']}; pinned cores "
        f"{args.cores or 'all'}; load average {report['machine']['load_average']}",
        f"- jax {report['versions'].get('jax')}; rnnax commit {report['rnnax_commit']}",
        f"- {args.calls} traced calls, {traced_ms:.1f} ms per call under the tracer",
        "",
        "| operation | ms per call | events per call |",
        "|---|---:|---:|",
    ]
    for row in operations[: args.top]:
        lines.append(
            f"| `{row['operation']}` | {row['ms_per_call']:.2f} | {row['events_per_call']:g} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)

    from rnnax._io import write_atomically

    directory = args.out / machine_name
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"profile-{args.cell}-{args.strategy}-{'x'.join(map(str, args.shape))}"
    write_atomically(directory / f"{stem}.json", json.dumps(report, indent=2) + "\n")
    write_atomically(directory / f"{stem}.md", text)
    print(f"wrote {directory / stem}.json, .md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
