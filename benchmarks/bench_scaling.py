"""Training throughput against device count: data parallelism and ensemble parallelism.

Run ``python benchmarks/bench_scaling.py --help``. For every device count (default 1, 2, 4) a
fresh Python process is started (JAX fixes its devices at start-up): on CPU with
``--xla_force_host_platform_device_count=N``, on GPU with the first N GPUs. Each process trains
the same forecaster with ``rnnax.training`` and reports optimizer steps per second and training
sequences per second, in three modes:

* ``data``: ``fit(..., mesh=<N devices, "data" axis>)``: every minibatch of ``--batch``
  sequences (the global batch, fixed: strong scaling) split over the N devices.
* ``ensemble``: ``fit_ensemble(..., mesh=<N devices, "ensemble" axis>)``: ``--members`` members
  (seeds) with ``--member-batch`` sequences per step each, the members split over the devices.
* ``core_split`` (CPU only, N > 1): ``fit`` without a mesh, where rnnax's cores split each batch
  over the N CPU devices themselves (``strategy="auto"``), for comparison.

Timing: one epoch is one compiled call of ``--steps`` optimizer steps. A first ``fit`` of
``--warmup`` epochs compiles; a second one of ``--epochs`` epochs reuses the compiled code and
is timed by ``fit`` itself (each epoch to the host fetch of its losses; the median is
reported), together with this process's CPU time: "CPU cores busy" (CPU seconds per wall
second) says how many cores the devices actually kept busy, which a loaded machine caps.
The sweep over device counts runs ``--rounds`` times in alternating order and each row is the
round with the highest throughput (all rounds are in the JSON): on a shared machine the best
round is the one least disturbed by other work. Then one more process with the most devices
times meshes of every count alternately (``--interleaved-rounds``), which compares the counts
under the same load.
Forced host devices share the machine's cores: with C physical cores expect gains up to C
devices and none beyond. Every process records the load average before and after, since these
machines are shared.

Files: ``benchmarks/results/<device>/scaling-<tag>.{json,md}`` (``--out`` changes the root;
``<device>`` is ``cpu-<N>core`` or the GPU's name).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rnnax._machine import (
    cpu_device_environment,
    cpu_model,
    git_commit,
    load_average,
    usable_cores,
)
from rnnax._machine import library_versions as installed_versions

SCHEMA = "rnnax-bench-scaling/1"
RESULTS_DIR = Path(__file__).resolve().parent / "results"
MODES = ("data", "ensemble", "core_split")


def _ints(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def _modes(text: str) -> list[str]:
    values = [part.strip() for part in text.split(",") if part.strip()]
    unknown = sorted(set(values) - set(MODES))
    if unknown or not values:
        raise argparse.ArgumentTypeError(f"modes are {', '.join(MODES)}; got {text!r}")
    return values


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n", 1)[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--devices", type=_ints, default=[1, 2, 4], help="device counts (default 1,2,4)"
    )
    parser.add_argument(
        "--modes", type=_modes, default=list(MODES), help=f"subset of {','.join(MODES)}"
    )
    parser.add_argument(
        "--platform",
        choices=("auto", "cpu", "gpu"),
        default="auto",
        help="auto: GPUs when JAX sees any, else forced host CPU devices",
    )
    parser.add_argument("--cell", choices=("lstm", "gru"), default="lstm")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--lookback", type=int, default=48)
    parser.add_argument("--horizon", type=int, default=12)
    parser.add_argument("--batch", type=int, default=128, help="global minibatch of the data mode")
    parser.add_argument(
        "--members", type=int, default=4, help="ensemble members (a multiple of every count)"
    )
    parser.add_argument("--member-batch", type=int, default=32, help="minibatch of each member")
    parser.add_argument(
        "--steps", type=int, default=8, help="optimizer steps per epoch (per compiled call)"
    )
    parser.add_argument(
        "--epochs", type=int, default=3, help="timed epochs, after the warm-up ones"
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=2,
        help="untimed epochs first (the first compiles; without a mesh the second may "
        "compile again for the parameters' new device layout)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="sweeps over the device counts, alternating their order; the best round "
        "is reported (all are kept in the JSON)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes: checks the harness, not speed"
    )
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="results root")
    parser.add_argument(
        "--tag", default=None, help="file name tag (default: default, quick or custom)"
    )
    parser.add_argument("--quiet", action="store_true", help="do not print the table")
    parser.add_argument(
        "--interleaved-rounds",
        type=int,
        default=4,
        help="then, in ONE process with the most devices, time meshes of every count "
        "alternately for this many rounds (0: skip): load changes hit all counts alike",
    )
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child-interleaved", action="store_true", help=argparse.SUPPRESS)
    return parser


# The options that define the workload: recorded with every result, and what a default run is.
WORKLOAD_OPTIONS = (
    "cell",
    "hidden",
    "lookback",
    "horizon",
    "batch",
    "members",
    "member_batch",
    "steps",
    "epochs",
    "warmup",
    "rounds",
    "interleaved_rounds",
)


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    if args.quick:
        args.hidden, args.lookback, args.horizon = 4, 8, 2
        args.batch, args.member_batch, args.steps, args.epochs = 8, 4, 2, 1
        args.members = max(4, max(args.devices))
        args.rounds = 1
        args.interleaved_rounds = min(args.interleaved_rounds, 1)
    if args.interleaved_rounds < 0:
        raise SystemExit("--interleaved-rounds must be >= 0")
    if args.rounds < 1:
        raise SystemExit("--rounds must be a positive integer")
    for name in (
        "hidden",
        "lookback",
        "horizon",
        "batch",
        "members",
        "member_batch",
        "steps",
        "epochs",
        "warmup",
    ):
        if getattr(args, name) < 1:
            raise SystemExit(f"--{name.replace('_', '-')} must be a positive integer")
    return {name: getattr(args, name) for name in WORKLOAD_OPTIONS}


def versions() -> dict[str, str | None]:
    return installed_versions(("jax", "jaxlib", "optax", "numpy", "rnnax"))


# ------------------------------------------------------------------------------------------------
# One device count, in its own process
# ------------------------------------------------------------------------------------------------
def measure(count: int, modes: Sequence[str], settings: dict[str, Any]) -> dict[str, Any]:
    """Runs every mode on ``count`` devices of this process; returns the measurements."""
    import jax
    import numpy as np

    from rnnax import forecasting, training

    devices = jax.devices()
    if len(devices) < count:
        raise SystemExit(f"asked for {count} devices, JAX sees {len(devices)}: {devices}")
    devices = devices[:count]
    platform_name = devices[0].platform
    rng = np.random.default_rng(0)
    length = settings["lookback"] + settings["horizon"]

    def windows(count_: int) -> tuple[np.ndarray, np.ndarray]:
        t = np.arange(count_ + length, dtype=np.float32)
        series = np.sin(t / 6) + 0.1 * rng.standard_normal(t.shape).astype(np.float32)
        cut = np.lib.stride_tricks.sliding_window_view(series, length)[:count_]
        return (
            np.ascontiguousarray(cut[:, : settings["lookback"], None]),
            np.ascontiguousarray(cut[:, settings["lookback"] :, None]),
        )

    config = forecasting.ForecasterConfig(
        horizon=settings["horizon"], cell=settings["cell"], hidden=settings["hidden"]
    )
    model = forecasting.forecaster(config)
    warmup = settings["warmup"]
    results = []
    for mode in modes:
        if mode == "core_split" and (platform_name != "cpu" or count == 1):
            continue
        load_before = load_average()
        start = time.perf_counter()
        if mode == "ensemble":
            members, batch = settings["members"], settings["member_batch"]
            if members % count:
                results.append(
                    {
                        "mode": mode,
                        "devices": count,
                        "skipped": f"{members} members on {count} devices",
                    }
                )
                continue
            mesh = jax.make_mesh((count,), ("ensemble",), devices=devices)
            train = windows(batch * settings["steps"])
            sequences_per_step = members * batch

            def run(epochs, mesh=mesh, train=train, batch=batch, members=members):
                result = training.fit_ensemble(
                    model,
                    model.init,
                    train,
                    seeds=range(members),
                    epochs=epochs,
                    batch_size=batch,
                    learning_rate=1e-3,
                    progress=False,
                    mesh=mesh,
                )
                return list(result.epoch_seconds), float(np.mean(result.train_loss[:, -1]))
        else:
            members, batch = 1, settings["batch"]
            if batch % count:
                results.append(
                    {"mode": mode, "devices": count, "skipped": f"batch {batch} on {count} devices"}
                )
                continue
            mesh = jax.make_mesh((count,), ("data",), devices=devices) if mode == "data" else None
            train = windows(batch * settings["steps"])
            sequences_per_step = batch

            def run(epochs, mesh=mesh, train=train, batch=batch):
                fitted = training.fit(
                    model,
                    model.init(jax.random.key(0)),
                    train,
                    epochs=epochs,
                    batch_size=batch,
                    learning_rate=1e-3,
                    progress=False,
                    mesh=mesh,
                )
                return list(fitted.history.epoch_seconds), float(fitted.history.train_loss[-1])

        # A first call compiles (warm-up epochs); the second reuses the compiled epochs and is
        # timed, wall clock and this process's CPU time: CPU seconds per wall second say how
        # many cores the devices kept busy (on a loaded machine, fewer than they could).
        warm_seconds, _ = run(warmup)
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        timed, final_loss = run(settings["epochs"])
        cores_busy = (time.process_time() - cpu_start) / (time.perf_counter() - wall_start)
        seconds = warm_seconds + timed
        timed = seconds[warmup:]
        median = statistics.median(timed)
        results.append(
            {
                "mode": mode,
                "devices": count,
                "members": members,
                "batch_per_step": batch,
                "sequences_per_step": sequences_per_step,
                "steps_per_epoch": settings["steps"],
                "warmup_epoch_s": [round(value, 4) for value in seconds[:warmup]],
                "epoch_seconds": [round(value, 5) for value in timed],
                "median_epoch_s": round(median, 5),
                # Ensemble: member-steps per second (every member takes one step per step).
                "steps_per_s": round(members * settings["steps"] / median, 3),
                "sequences_per_s": round(sequences_per_step * settings["steps"] / median, 2),
                "final_train_loss": round(final_loss, 6),
                "cores_busy": round(cores_busy, 2),
                "wall_s": round(time.perf_counter() - start, 3),
                "load_average_before": load_before,
                "load_average_after": load_average(),
            }
        )
    return {
        "devices": count,
        "platform": platform_name,
        "device_kind": devices[0].device_kind,
        "jax_devices": len(jax.devices()),
        "results": results,
    }


def measure_interleaved(
    counts: Sequence[int], modes: Sequence[str], settings: dict[str, Any], rounds: int
) -> dict[str, Any]:
    """In this one process, times meshes over the first n devices for every n in ``counts``,
    alternating between them round after round, so that changes of the machine's load hit
    every count alike; each call is a ``fit`` (or ``fit_ensemble``) of 2 epochs whose compiled
    epoch is cached from a first, untimed call."""
    import jax
    import numpy as np

    from rnnax import forecasting, training

    devices = jax.devices()
    rng = np.random.default_rng(0)
    length = settings["lookback"] + settings["horizon"]
    t = np.arange(4096 + length, dtype=np.float32)
    series = np.sin(t / 6) + 0.1 * rng.standard_normal(t.shape).astype(np.float32)
    cut = np.lib.stride_tricks.sliding_window_view(series, length)
    model = forecasting.forecaster(
        forecasting.ForecasterConfig(
            horizon=settings["horizon"], cell=settings["cell"], hidden=settings["hidden"]
        )
    )
    params = model.init(jax.random.key(0))
    calls = {}
    for mode in (mode for mode in modes if mode in ("data", "ensemble")):
        if mode == "ensemble":
            members, batch = settings["members"], settings["member_batch"]
        else:
            members, batch = 1, settings["batch"]
        size = batch * settings["steps"]
        train = (cut[:size, : settings["lookback"], None], cut[:size, settings["lookback"] :, None])
        for count in counts:
            if (members if mode == "ensemble" else batch) % count:
                continue
            axis = "ensemble" if mode == "ensemble" else "data"
            mesh = jax.make_mesh((count,), (axis,), devices=devices[:count])

            def call(mesh=mesh, train=train, batch=batch, mode=mode, members=members):
                if mode == "ensemble":
                    return training.fit_ensemble(
                        model,
                        model.init,
                        train,
                        seeds=range(members),
                        epochs=2,
                        batch_size=batch,
                        progress=False,
                        mesh=mesh,
                    ).epoch_seconds
                return training.fit(
                    model, params, train, epochs=2, batch_size=batch, progress=False, mesh=mesh
                ).history.epoch_seconds

            call()  # compiles
            calls[(mode, count, members, batch)] = call
    samples: dict[Any, list[float]] = {key: [] for key in calls}
    keys = list(calls)
    load_before = load_average()
    for round_index in range(rounds):
        shift = round_index % len(keys)
        for key in keys[shift:] + keys[:shift]:
            samples[key].extend(calls[key]())
    results = []
    for (mode, count, members, batch), values in samples.items():
        median = statistics.median(values)
        results.append(
            {
                "mode": mode,
                "devices": count,
                "members": members,
                "sequences_per_step": members * batch,
                "epoch_seconds": [round(value, 5) for value in values],
                "median_epoch_s": round(median, 5),
                "steps_per_s": round(members * settings["steps"] / median, 3),
                "sequences_per_s": round(members * batch * settings["steps"] / median, 2),
            }
        )
    return {
        "devices": len(devices),
        "rounds": rounds,
        "results": results,
        "load_average_before": load_before,
        "load_average_after": load_average(),
    }


# ------------------------------------------------------------------------------------------------
# The driver: one child process per device count, then the report
# ------------------------------------------------------------------------------------------------
def _gpu_count() -> int:
    """GPUs JAX sees, asked in a throwaway process (this one must not start JAX)."""
    code = "import jax\ntry:\n print(len(jax.devices('gpu')))\nexcept RuntimeError:\n print(0)"
    try:
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "JAX_PLATFORMS": ""},
        )
        return int(out.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return 0


def _child_env(platform_name: str, count: int) -> dict[str, str]:
    """The environment of a worker with ``count`` devices: ``count`` CPU devices on CPU; on
    GPU, JAX's default CPU device count (the GPUs are chosen by the worker)."""
    if platform_name == "cpu":
        return {**cpu_device_environment(count, os.environ), "JAX_PLATFORMS": "cpu"}
    env = cpu_device_environment(None, os.environ)
    env.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    return env


def markdown(report: dict[str, Any]) -> str:
    machine, settings = report["machine"], report["settings"]
    lines = [
        f"# rnnax training throughput against device count: {machine['name']}",
        "",
        f"{report['created']}; {machine['cpu']} ({machine['usable_cores']} usable cores); "
        f"jax {report['versions']['jax']}, rnnax {report['versions']['rnnax']} "
        f"({report['rnnax_commit']}); platform {report['platform']}"
        + (" with forced host devices" if report["platform"] == "cpu" else "")
        + ".",
        f"Load average (1/5/15 min) at start {machine['load_average_start']}, "
        f"at end {machine['load_average_end']}.",
        "",
        f"Forecaster: {settings['cell'].upper()}, hidden {settings['hidden']}, lookback "
        f"{settings['lookback']}, horizon {settings['horizon']}; {settings['steps']} steps per "
        f"compiled epoch, median of {settings['epochs']} timed epochs after "
        f"{settings['warmup']} warm-up epochs (compilation excluded); best of "
        f"{settings['rounds']} round(s) per row, each device "
        "count in a fresh process.",
        f"`data`: global batch {settings['batch']} split over the devices (`fit(mesh=...)`). "
        f"`ensemble`: {settings['members']} members x {settings['member_batch']} sequences, "
        "members "
        "split over the devices (`fit_ensemble(mesh=...)`); steps/s counts member-steps. "
        "`core_split`: `fit` without a mesh, rnnax's cores splitting each batch over the CPU "
        "devices.",
        "",
        "| mode | devices | steps/s | sequences/s | speed-up vs 1 device | efficiency | epoch (ms) "
        "| CPU cores busy | sequences/s of each round | load before/after |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    baseline = {
        entry["mode"]: entry
        for entry in report["results"]
        if entry.get("devices") == 1 and "skipped" not in entry
    }
    for entry in report["results"]:
        if "skipped" in entry:
            lines.append(
                f"| {entry['mode']} | {entry['devices']} | skipped: {entry['skipped']} "
                "| | | | | | | |"
            )
            continue
        reference = baseline.get("data" if entry["mode"] == "core_split" else entry["mode"])
        speedup = entry["sequences_per_s"] / reference["sequences_per_s"] if reference else None
        efficiency = speedup / entry["devices"] if speedup else None
        lines.append(
            f"| {entry['mode']} | {entry['devices']} | {entry['steps_per_s']:.1f} | "
            f"{entry['sequences_per_s']:.0f} | {'' if speedup is None else f'{speedup:.2f}x'} | "
            f"{'' if efficiency is None else f'{efficiency:.0%}'} | "
            f"{1e3 * entry['median_epoch_s']:.1f} | {entry['cores_busy']:.2f} | "
            f"{', '.join(f'{value:.0f}' for value in entry['rounds_sequences_per_s'])} | "
            f"{(entry['load_average_before'] or ['?'])[0]} / "
            f"{(entry['load_average_after'] or ['?'])[0]} |"
        )
    interleaved = report.get("interleaved")
    if interleaved:
        lines += [
            "",
            f"## The same, interleaved in one process ({interleaved['devices']} devices)",
            "",
            f"Meshes over the first 1, 2, ... devices of one process, timed alternately for "
            f"{interleaved['rounds']} rounds (2 epochs per call, median over all epochs), so "
            "that load changes hit every count alike. Load average "
            f"{interleaved['load_average_before']} before, {interleaved['load_average_after']} "
            "after.",
            "",
            "| mode | devices | steps/s | sequences/s | speed-up vs 1 device | epoch (ms) |",
            "|---|---|---|---|---|---|",
        ]
        first = {e["mode"]: e for e in interleaved["results"] if e["devices"] == 1}
        for entry in interleaved["results"]:
            reference = first.get(entry["mode"])
            speedup = entry["sequences_per_s"] / reference["sequences_per_s"] if reference else None
            lines.append(
                f"| {entry['mode']} | {entry['devices']} | {entry['steps_per_s']:.1f} | "
                f"{entry['sequences_per_s']:.0f} | "
                f"{'' if speedup is None else f'{speedup:.2f}x'} | "
                f"{1e3 * entry['median_epoch_s']:.1f} |"
            )
    if report.get("notes"):
        lines += ["", *report["notes"]]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = _settings(args)
    if args.child is not None:
        if args.child_interleaved:
            measured = measure_interleaved(
                args.devices, args.modes, settings, args.interleaved_rounds
            )
        else:
            measured = measure(args.child, args.modes, settings)
        print("RESULT " + json.dumps(measured), flush=True)
        return 0

    platform_name = args.platform
    if platform_name == "auto":
        platform_name = "gpu" if _gpu_count() > 0 else "cpu"
    counts = list(args.devices)
    notes = []
    if platform_name == "gpu":
        available = _gpu_count()
        if available == 0:
            raise SystemExit("--platform gpu, but JAX sees no GPU")
        dropped = [count for count in counts if count > available]
        counts = [count for count in counts if count <= available]
        if dropped:
            notes.append(f"Device counts {dropped} skipped: this machine has {available} GPU(s).")
    cores = usable_cores()
    if platform_name == "cpu" and max(counts) > cores:
        notes.append(
            f"Forced host devices share the {cores} usable cores: no gain is expected "
            f"beyond {cores} devices (more devices only add partitioning overhead)."
        )
    load_start = load_average()
    started = time.perf_counter()
    runs: dict[int, list[dict[str, Any]]] = {count: [] for count in counts}
    script = str(Path(__file__).resolve())
    forwarded = [
        "--modes",
        ",".join(args.modes),
        "--cell",
        args.cell,
        "--hidden",
        str(args.hidden),
        "--lookback",
        str(args.lookback),
        "--horizon",
        str(args.horizon),
        "--batch",
        str(args.batch),
        "--members",
        str(args.members),
        "--member-batch",
        str(args.member_batch),
        "--steps",
        str(args.steps),
        "--epochs",
        str(args.epochs),
        "--warmup",
        str(args.warmup),
    ]
    # Rounds alternate the order of the counts, so that the load of a shared machine drifting
    # during the run does not favour the counts measured first.
    for round_index in range(args.rounds):
        for count in counts if round_index % 2 == 0 else counts[::-1]:
            completed = subprocess.run(
                [sys.executable, script, "--child", str(count), *forwarded],
                capture_output=True,
                text=True,
                timeout=1800,
                env=_child_env(platform_name, count),
            )
            lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
            if completed.returncode != 0 or not lines:
                raise SystemExit(f"the {count}-device run failed:\n{completed.stderr[-4000:]}")
            runs[count].append(json.loads(lines[-1][len("RESULT ") :]))
            if not args.quiet:
                print(
                    f"round {round_index + 1}: {count} device(s) done", file=sys.stderr, flush=True
                )

    interleaved = None
    if args.interleaved_rounds > 0 and len(counts) > 1:
        most = max(counts)
        completed = subprocess.run(
            [
                sys.executable,
                script,
                "--child",
                str(most),
                "--child-interleaved",
                "--devices",
                ",".join(map(str, counts)),
                "--interleaved-rounds",
                str(args.interleaved_rounds),
                *forwarded,
            ],
            capture_output=True,
            text=True,
            timeout=1800,
            env=_child_env(platform_name, most),
        )
        lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
        if completed.returncode != 0 or not lines:
            raise SystemExit(f"the interleaved run failed:\n{completed.stderr[-4000:]}")
        interleaved = json.loads(lines[-1][len("RESULT ") :])
        if not args.quiet:
            print("interleaved run done", file=sys.stderr, flush=True)

    results = []
    for count in counts:
        for index, entry in enumerate(runs[count][0]["results"]):
            rounds = [child["results"][index] for child in runs[count]]
            if "skipped" in entry:
                results.append(entry)
                continue
            best = max(rounds, key=lambda measured: measured["sequences_per_s"])
            results.append(
                {**best, "rounds_sequences_per_s": [r["sequences_per_s"] for r in rounds]}
            )
    busiest = max((entry.get("cores_busy", 0.0) for entry in results), default=0.0)
    if platform_name == "cpu" and min(cores, max(counts)) > 1 and busiest < 1.5:
        notes.append(
            f"No run kept more than {busiest:.2f} CPU cores busy: other work on this machine "
            "left this benchmark about one core, so these numbers cannot show a gain from "
            "several devices. Rerun on an idle machine to measure the scaling."
        )
    first = runs[counts[0]][0]
    name = (
        f"cpu-{cores}core"
        if platform_name == "cpu"
        else re.sub(r"[^a-z0-9]+", "-", first["device_kind"].lower()).strip("-")
    )
    report = {
        "schema": SCHEMA,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "argv": list(sys.argv[1:] if argv is None else argv),
        "platform": platform_name,
        "machine": {
            "name": name,
            "cpu": cpu_model(),
            "usable_cores": cores,
            "logical_cpus": os.cpu_count(),
            "os": platform.platform(),
            "device_kind": first["device_kind"],
            "load_average_start": load_start,
            "load_average_end": load_average(),
        },
        "versions": versions(),
        "rnnax_commit": git_commit(Path(__file__).resolve().parent.parent),
        "settings": {
            **settings,
            "modes": list(args.modes),
            "devices": counts,
            "shapes": {"inputs": [settings["lookback"], 1], "targets": [settings["horizon"], 1]},
        },
        "wall_s": round(time.perf_counter() - started, 2),
        "results": results,
        "interleaved": interleaved,
        "notes": notes,
    }
    tag = args.tag or ("quick" if args.quick else "default" if argv_is_default(args) else "custom")
    directory = args.out / name
    directory.mkdir(parents=True, exist_ok=True)
    text = markdown(report)
    report["files"] = [str(directory / f"scaling-{tag}.json"), str(directory / f"scaling-{tag}.md")]
    from rnnax._io import write_atomically  # a run killed mid-write keeps the previous results

    write_atomically(directory / f"scaling-{tag}.json", json.dumps(report, indent=2) + "\n")
    write_atomically(directory / f"scaling-{tag}.md", text)
    if not args.quiet:
        print(text)
    return 0


def argv_is_default(args: argparse.Namespace) -> bool:
    defaults = build_parser().parse_args([])
    return all(
        getattr(args, name) == getattr(defaults, name)
        for name in ("devices", "modes", *WORKLOAD_OPTIONS)
    )


if __name__ == "__main__":
    sys.exit(main())
