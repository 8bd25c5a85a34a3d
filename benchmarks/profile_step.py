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
import sys
import tempfile
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

# Trace events that are not XLA operations: the runtime's and Python's own spans.
_NOT_OPERATIONS = ("ThunkExecutor", "$", "Pjit", "block_until_ready", "Wait", "Execute")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = step_parser("profile_step.py", __doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=5, help="traced calls (default 5)")
    parser.add_argument("--top", type=int, default=30, help="operations listed (default 30)")
    args = parser.parse_args(argv)
    for name in ("calls", "top"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    check_cores(parser, args)
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
    machine_name, _, call = compile_step(args)
    import jax

    for _ in range(3):
        jax.block_until_ready(call())
    with tempfile.TemporaryDirectory() as trace_dir:
        start = time.perf_counter()
        with jax.profiler.trace(trace_dir):
            for _ in range(args.calls):
                jax.block_until_ready(call())
        traced_ms = (time.perf_counter() - start) / args.calls * 1e3
        operations = _operation_times(trace_dir, args.calls)

    report = {**base_report(args, argv), "traced_ms_per_call": traced_ms, "operations": operations}
    lines = [
        f"# Per-operation time of one forward+backward call: {case_label(args)}",
        "",
        *header_lines(report, args),
        f"- {args.calls} traced calls, {traced_ms:.1f} ms per call under the tracer",
        "",
        "| operation | ms per call | events per call |",
        "|---|---:|---:|",
    ]
    for row in operations[: args.top]:
        lines.append(
            f"| `{row['operation']}` | {row['ms_per_call']:.2f} | {row['events_per_call']:g} |"
        )
    prefix = f"profile-{args.cell}-{args.strategy}"
    write_report(args, machine_name, prefix, report, "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
