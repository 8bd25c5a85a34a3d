"""A million-step inference in bounded memory: ``rnnax.stream_scan`` against one pass.

For each configuration (cell, batch B, hidden H) a fresh worker process:

1. compiles ``rnnax.stream_scan`` over ``T`` steps in chunks of ``--chunk`` steps, with the
   inputs generated from the step index inside the loop (a sine and a cosine), in two forms:
   keeping nothing but the final state, and folding the outputs into a running mean (so each
   chunk's outputs ``[chunk, B, H]`` are materialized); and, for comparison, with the inputs
   passed as a ``[B, T, I]`` array;
2. reads XLA's buffer accounting of each compiled program (``memory_analysis()``: temporary,
   argument and output bytes);
3. runs the two generated-input forms once, timing them and reading the process's resident
   memory before and its peak (``getrusage``) after;
4. compiles one pass of the core over all ``T`` steps (``rnnax.lstm`` / ``rnnax.gru``) for its
   buffer accounting, and runs it too where that fits comfortably in memory.

Then a sweep over ``T`` at one configuration shows which buffers grow with ``T``. Results go to
``benchmarks/results/<machine>/long-inference.{json,md}``.

Run: ``python benchmarks/long_inference.py [--steps 1000000] [--chunk 1000]``
(about 2-4 minutes on 2 CPU cores).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from rnnax import _machine

CHECKOUT = Path(__file__).resolve().parent.parent

RESULTS = Path(__file__).resolve().parent / "results"
INPUT_SIZE = 4
# Run the one-pass program over all T steps only when its buffers stay below this (else over
# fewer steps): it is there to show the O(T) growth and the throughput, not to exhaust a
# shared machine.
ONE_PASS_RUN_LIMIT = 1.5e9
DEFAULT_CONFIGS = "gru:1x32,lstm:1x32,gru:8x128,lstm:8x128"


# ------------------------------------------------------------------------------------ worker


def _rss_bytes() -> int:
    """The process's current resident set size."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _memory(compiled: Any) -> dict[str, int]:
    analysis = compiled.memory_analysis()
    return {
        "temp_bytes": int(analysis.temp_size_in_bytes),
        "argument_bytes": int(analysis.argument_size_in_bytes),
        "output_bytes": int(analysis.output_size_in_bytes),
        "code_bytes": int(analysis.generated_code_size_in_bytes),
    }


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    """One configuration, in this (fresh) process."""
    import functools

    import jax
    import jax.numpy as jnp

    import rnnax

    cell, batch, hidden = spec["cell"], spec["batch"], spec["hidden"]
    steps, chunk = spec["steps"], spec["chunk"]
    init = rnnax.lstm_init if cell == "lstm" else rnnax.gru_init
    core = rnnax.lstm if cell == "lstm" else rnnax.gru
    params = init(jax.random.key(0), INPUT_SIZE, hidden)
    state = rnnax.stream_init(params, (batch,))

    def inputs(t: jax.Array) -> jax.Array:
        """The inputs at step indices ``t [B, k]``: sines of a few periods, ``[B, k, I]``."""
        t = t.astype(jnp.float32)
        periods = jnp.array([50.0, 173.0, 1000.0, 9973.0], jnp.float32)
        return jnp.sin(t[..., None] / periods.reshape(1, 1, INPUT_SIZE))

    def mean_output(acc: jax.Array, xs_chunk: jax.Array, ys_chunk: jax.Array) -> jax.Array:
        return acc + jnp.sum(ys_chunk, axis=-2) / steps

    # A short run first, so that no one-time runtime start-up lands in a timed run.
    jax.block_until_ready(
        rnnax.stream_scan(params, state, inputs, num_steps=2 * chunk, chunk_length=chunk)
    )
    result: dict[str, Any] = {"spec": spec, "forms": {}}
    forms = {
        "final state only": dict(reduce_fn=None),
        "running mean of outputs": dict(reduce_fn=mean_output),
    }
    for name, options in forms.items():
        run = jax.jit(
            functools.partial(
                rnnax.stream_scan, xs=inputs, num_steps=steps, chunk_length=chunk, **options
            )
        )
        init_acc = jnp.zeros((batch, hidden)) if options["reduce_fn"] else None
        start = time.perf_counter()
        compiled = run.lower(params, state, reduce_init=init_acc).compile()
        compile_s = time.perf_counter() - start
        rss_before, peak_before = _rss_bytes(), _peak_rss_bytes()
        start = time.perf_counter()
        final, out = compiled(params, state, reduce_init=init_acc)
        jax.block_until_ready((final, out))
        seconds = time.perf_counter() - start
        peak_after = _peak_rss_bytes()
        assert int(final.steps[0]) == steps
        result["forms"][name] = {
            **_memory(compiled),
            "compile_s": compile_s,
            "run_s": seconds,
            "us_per_step": seconds / steps * 1e6,
            "rss_before_bytes": rss_before,
            "peak_rss_before_bytes": peak_before,
            "peak_rss_after_bytes": peak_after,
            "rss_growth_bytes": max(0, peak_after - rss_before),
        }

    array_run = jax.jit(functools.partial(rnnax.stream_scan, chunk_length=chunk))
    xs_struct = jax.ShapeDtypeStruct((batch, steps, INPUT_SIZE), jnp.float32)
    result["array_input"] = _memory(array_run.lower(params, state, xs_struct).compile())

    one_pass = jax.jit(core).lower(params, xs_struct).compile()
    result["one_pass"] = _memory(one_pass)
    if spec.get("run_one_pass"):
        # Run one pass over all T steps where it fits comfortably, else over the largest
        # T / 10**k that does: its time per step is the throughput to compare against.
        run_steps, compiled = steps, one_pass
        needed = sum(
            result["one_pass"][key] for key in ("temp_bytes", "output_bytes", "argument_bytes")
        )
        while needed > ONE_PASS_RUN_LIMIT and run_steps >= 10 * chunk:
            run_steps //= 10
            needed //= 10
        if run_steps != steps:
            compiled = (
                jax.jit(core)
                .lower(params, jax.ShapeDtypeStruct((batch, run_steps, INPUT_SIZE), jnp.float32))
                .compile()
            )
        xs = jax.jit(
            lambda: inputs(
                jnp.broadcast_to(jnp.arange(run_steps, dtype=jnp.int32), (batch, run_steps))
            )
        )()
        rss_before = _rss_bytes()
        start = time.perf_counter()
        jax.block_until_ready(compiled(params, xs))
        seconds = time.perf_counter() - start
        result["one_pass"].update(
            run_steps=run_steps,
            run_s=seconds,
            us_per_step=seconds / run_steps * 1e6,
            rss_before_bytes=rss_before,
            rss_growth_bytes=max(0, _peak_rss_bytes() - rss_before),
        )
    return result


def sweep_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """Buffer accounting (no runs) of both programs over several ``T``."""
    import functools

    import jax
    import jax.numpy as jnp

    import rnnax

    cell, batch, hidden = spec["cell"], spec["batch"], spec["hidden"]
    init = rnnax.lstm_init if cell == "lstm" else rnnax.gru_init
    core = rnnax.lstm if cell == "lstm" else rnnax.gru
    params = init(jax.random.key(0), INPUT_SIZE, hidden)
    state = rnnax.stream_init(params, (batch,))

    def inputs(t: jax.Array) -> jax.Array:
        return jnp.sin(t.astype(jnp.float32)[..., None] / jnp.full((1, 1, INPUT_SIZE), 50.0))

    rows = []
    for steps in spec["sweep"]:
        streamed = jax.jit(
            functools.partial(
                rnnax.stream_scan, xs=inputs, num_steps=steps, chunk_length=spec["chunk"]
            )
        )
        xs_struct = jax.ShapeDtypeStruct((batch, steps, INPUT_SIZE), jnp.float32)
        rows.append(
            {
                "steps": steps,
                "stream_scan": _memory(streamed.lower(params, state).compile()),
                "one_pass": _memory(jax.jit(core).lower(params, xs_struct).compile()),
            }
        )
    return {"spec": spec, "rows": rows}


# -------------------------------------------------------------------------------------- main


def _machine_info() -> dict[str, Any]:
    """The machine part of the report (rnnax._machine's record, under this report's keys)."""
    info: dict[str, Any] = {
        "processor": _machine.cpu_model(),
        "os": platform.platform(),
        "logical_cpus": os.cpu_count(),
        "memory_bytes": _machine.memory_bytes(),
        "usable_cores": _machine.usable_cores(),
    }
    if info["memory_bytes"] is None:
        del info["memory_bytes"]
    info["name"] = f"cpu-{info['usable_cores']}core"
    return info


def _versions() -> dict[str, str | None]:
    return _machine.library_versions(("jax", "jaxlib", "numpy", "rnnax"))


def _in_subprocess(mode: str, spec: dict[str, Any]) -> dict[str, Any]:
    # A fresh process per configuration: its peak RSS is its own, and nothing compiled for
    # one configuration stays resident during the next.
    done = subprocess.run(
        [sys.executable, __file__, f"--{mode}", json.dumps(spec)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"worker {spec} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _mb(value: float) -> str:
    return f"{value / 1e6:,.2f}"


def _markdown(report: dict[str, Any]) -> str:
    settings = report["settings"]
    steps, chunk = settings["steps"], settings["chunk"]
    lines = [
        f"# Long inference: T = {steps:,} steps in bounded memory",
        "",
        f"`python benchmarks/long_inference.py --steps {steps} --chunk {chunk}`, "
        f"{report['created']}, {report['machine']['processor']} "
        f"({report['machine']['usable_cores']} cores), jax {report['versions']['jax']}, "
        f"float32, I = {INPUT_SIZE}, inputs generated from the step index inside the loop; "
        f"load average at start {report['load_average_start']}.",
        "",
        "MB are 10^6 bytes. *temp*: XLA's temporary buffers of the compiled program; "
        "*RSS growth*: the process's peak resident memory after the run minus its resident "
        "memory before it (an upper bound on what the run added). One pass = "
        "`rnnax.lstm` / `rnnax.gru` over the whole `[B, T, I]` input.",
        "",
        "| cell | B | H | stream_scan: temp MB (final state / + running mean) | output MB | "
        "RSS growth MB | wall s | µs/step | one pass: temp MB | output MB | argument MB |"
        " one pass run: steps | RSS growth MB | µs/step |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in report["configs"]:
        spec, forms = row["spec"], row["forms"]
        only, mean = forms["final state only"], forms["running mean of outputs"]
        one = row["one_pass"]
        growth = max(only["rss_growth_bytes"], mean["rss_growth_bytes"])
        ran = "run_steps" in one
        one_run = (
            (f"{one['run_steps']:,} | {_mb(one['rss_growth_bytes'])} | {one['us_per_step']:.2f}")
            if ran
            else "not run | | "
        )
        lines.append(
            f"| {spec['cell']} | {spec['batch']} | {spec['hidden']} | "
            f"{_mb(only['temp_bytes'])} / {_mb(mean['temp_bytes'])} | "
            f"{_mb(only['output_bytes'])} | {_mb(growth)} | "
            f"{only['run_s']:.2f} / {mean['run_s']:.2f} | {only['us_per_step']:.2f} | "
            f"{_mb(one['temp_bytes'])} | {_mb(one['output_bytes'])} | "
            f"{_mb(one['argument_bytes'])} | {one_run} |"
        )
    lines += [
        "",
        "Wall s is final state only / with the running mean; µs/step is the first. The one "
        "pass runs over all T steps where its buffers fit in 1.5 GB, else over T / 10^k steps "
        "(its buffer columns are for all T). With the inputs passed as an array instead of "
        "generated, `stream_scan`'s temporaries stay the same and the array is an argument of "
        "`T * B * I * 4` bytes:",
        "",
        "| cell | B | H | stream_scan over an input array: temp MB | argument MB |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in report["configs"]:
        spec, array = row["spec"], row["array_input"]
        lines.append(
            f"| {spec['cell']} | {spec['batch']} | {spec['hidden']} | "
            f"{_mb(array['temp_bytes'])} | {_mb(array['argument_bytes'])} |"
        )
    sweep = report["sweep"]
    spec = sweep["spec"]
    lines += [
        "",
        f"Which buffers grow with T ({spec['cell']}, B = {spec['batch']}, H = {spec['hidden']}, "
        f"chunk {spec['chunk']}; compiled only):",
        "",
        "| T | stream_scan temp MB | stream_scan output MB | one pass temp MB | "
        "one pass output MB |",
        "|---:|---:|---:|---:|---:|",
    ]
    for row in sweep["rows"]:
        lines.append(
            f"| {row['steps']:,} | {_mb(row['stream_scan']['temp_bytes'])} | "
            f"{_mb(row['stream_scan']['output_bytes'])} | "
            f"{_mb(row['one_pass']['temp_bytes'])} | "
            f"{_mb(row['one_pass']['output_bytes'])} |"
        )
    lines += ["", "## The bound", "", report["bound"], ""]
    return "\n".join(lines)


def _bound(report: dict[str, Any]) -> str:
    configs = report["configs"]
    worst_temp = max(
        (
            (form["temp_bytes"], row["spec"], name)
            for row in configs
            for name, form in row["forms"].items()
        ),
        key=lambda item: item[0],
    )
    growth = max(f["rss_growth_bytes"] for row in configs for f in row["forms"].values())
    largest = max(configs, key=lambda row: row["spec"]["batch"] * row["spec"]["hidden"])
    one = largest["one_pass"]
    rows = report["sweep"]["rows"]
    constant = len({row["stream_scan"]["temp_bytes"] for row in rows}) == 1
    temp, spec, form = worst_temp
    return (
        f"Over T = {report['settings']['steps']:,} steps with chunks of "
        f"{report['settings']['chunk']:,}, `stream_scan`'s compiled temporary buffers were at "
        f"most {_mb(temp)} MB in every configuration (the most: {spec['cell']}, B = "
        f"{spec['batch']}, H = {spec['hidden']}, {form}), "
        f"{'identical for every T of the sweep' if constant else 'NOT constant over the sweep'}"
        f", and the process's resident memory grew by at most {_mb(growth)} MB during a run. "
        f"One pass over the same input ({largest['spec']['cell']}, B = "
        f"{largest['spec']['batch']}, H = {largest['spec']['hidden']}) needs "
        f"{_mb(one['temp_bytes'] + one['output_bytes'])} MB of temporaries and outputs, "
        f"growing linearly with T."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=1000)
    parser.add_argument(
        "--configs", default=DEFAULT_CONFIGS, help="cell:BxH,... (default %(default)s)"
    )
    parser.add_argument(
        "--sweep", default="10000,100000,1000000", help="T values for the buffer sweep"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default benchmarks/results/<machine>)",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--sweep-worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0
    if args.sweep_worker:
        print(json.dumps(sweep_worker(json.loads(args.sweep_worker))))
        return 0

    load_start = _machine.load_average()
    configs = []
    for item in args.configs.split(","):
        cell, shape = item.split(":")
        batch, hidden = (int(n) for n in shape.lower().split("x"))
        spec = {
            "cell": cell,
            "batch": batch,
            "hidden": hidden,
            "steps": args.steps,
            "chunk": args.chunk,
            "run_one_pass": True,
        }
        print(f"{cell} B={batch} H={hidden} T={args.steps:,} ...", flush=True)
        configs.append(_in_subprocess("worker", spec))
    first = configs[0]["spec"]
    sweep_spec = {
        "cell": first["cell"],
        "batch": 8,
        "hidden": 128,
        "chunk": args.chunk,
        "sweep": [int(n) for n in args.sweep.split(",")],
    }
    print("buffer sweep over T ...", flush=True)
    sweep = _in_subprocess("sweep-worker", sweep_spec)

    machine = _machine_info()
    report = {
        "schema": "rnnax-long-inference/1",
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "argv": sys.argv[1:] if argv is None else argv,
        "machine": machine,
        "versions": _versions(),
        "rnnax_commit": _machine.git_commit(CHECKOUT),
        "load_average_start": load_start,
        "load_average_end": _machine.load_average(),
        "settings": {
            "steps": args.steps,
            "chunk": args.chunk,
            "input_size": INPUT_SIZE,
            "dtype": "float32",
        },
        "configs": configs,
        "sweep": sweep,
    }
    report["bound"] = _bound(report)
    out = args.out or RESULTS / machine["name"]
    out.mkdir(parents=True, exist_ok=True)
    (out / "long-inference.json").write_text(json.dumps(report, indent=1) + "\n")
    markdown = _markdown(report)
    (out / "long-inference.md").write_text(markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
