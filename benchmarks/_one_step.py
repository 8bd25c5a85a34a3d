"""What the single-step CPU studies share (``page_faults.py``, ``profile_step.py``): their
options, one compiled forward+backward call of an rnnax core on a pinned set of cores, and the
report they write. JAX is imported only inside ``compile_step``, after the pinning."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rnnax._machine import cpu_model, git_commit, library_versions, load_average, usable_cores

RESULTS = Path(__file__).resolve().parent / "results"


def parse_shape(text: str) -> tuple[int, int, int, int]:
    parts = text.lower().split("x")
    if len(parts) != 4 or not all(part.isdigit() and int(part) > 0 for part in parts):
        raise argparse.ArgumentTypeError(f"expected BxTxIxH with positive integers, got {text!r}")
    batch, steps, inputs, hidden = (int(part) for part in parts)
    return batch, steps, inputs, hidden


def step_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """A parser with the options of the case: shape, cell, strategy, pinned cores, output."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--shape", type=parse_shape, default=(32, 100, 125, 320), metavar="BxTxIxH")
    parser.add_argument("--cell", choices=("lstm", "gru"), default="lstm")
    parser.add_argument(
        "--strategy", default="custom_vjp", help="rnnax strategy (default custom_vjp)"
    )
    parser.add_argument("--cores", type=int, default=None, help="pin to this many cores")
    parser.add_argument("--out", type=Path, default=RESULTS)
    return parser


def check_cores(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.cores is not None and not 1 <= args.cores <= usable_cores():
        parser.error(f"--cores must be between 1 and {usable_cores()}")


def compile_step(args: argparse.Namespace) -> tuple[str, Any, Callable[[], Any]]:
    """Pins the process, then compiles the gradient of ``sum(ys**2)`` on one CPU device.

    Returns:
        ``(machine_name, compiled, call)``: the machine as ``bench_rnn.py`` names it (counted
        before pinning), the compiled executable and a call of it on fixed inputs.
    """
    machine_name = f"cpu-{usable_cores()}core"
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
    return machine_name, compiled, lambda: compiled(params, xs)


def case_label(args: argparse.Namespace) -> str:
    batch, steps, inputs, hidden = args.shape
    return f"{args.cell} B={batch} T={steps} I={inputs} H={hidden}, strategy {args.strategy!r}"


def base_report(args: argparse.Namespace, argv: Sequence[str] | None) -> dict[str, Any]:
    """When, where, with what and on which case a study ran."""
    return {
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
        "rnnax_commit": git_commit(Path(__file__).resolve().parent.parent),
        "case": {"cell": args.cell, "shape": list(args.shape), "strategy": args.strategy},
    }


def header_lines(report: dict[str, Any], args: argparse.Namespace) -> list[str]:
    """The Markdown lines that say when, where and with what a study ran."""
    return [
        f"- created {report['created']}; CPU {report['machine']['cpu']}; pinned cores "
        f"{args.cores or 'all'}; load average {report['machine']['load_average']}",
        f"- jax {report['versions'].get('jax')}; rnnax commit {report['rnnax_commit']}",
    ]


def write_report(
    args: argparse.Namespace, machine_name: str, prefix: str, report: dict, text: str
) -> None:
    """Prints ``text`` and writes ``<out>/<machine>/<prefix>-<case>.{json,md}`` atomically."""
    print(text)
    from rnnax._io import write_atomically

    directory = args.out / machine_name
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"{prefix}-{'x'.join(map(str, args.shape))}"
    write_atomically(directory / f"{stem}.json", json.dumps(report, indent=2) + "\n")
    write_atomically(directory / f"{stem}.md", text)
    print(f"wrote {directory / stem}.json, .md")
