"""oneDNN's own RNN primitives (LSTM, reset-after = linear-before-reset GRU, reset-before GRU)
timed standalone, beside rnnax's committed native forward+backward numbers.

Compiles ``benchmarks/onednn_rnn_primitive.cc`` against the venv's oneDNN (PyPI packages
``onednn-cpu-gomp`` and ``onednn-devel-cpu-gomp``), runs it with ``OMP_NUM_THREADS=2`` (full
batch), ``OMP_NUM_THREADS=1`` (full batch) and ``OMP_NUM_THREADS=1`` at half the batch (what one
core does in native's batch split over 2 devices), and writes
``benchmarks/results/cpu-2core/native/onednn-rnn-primitive.{json,md}``.

    python benchmarks/onednn_rnn_primitive.py [--reps 20] [--out DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "benchmarks" / "onednn_rnn_primitive.cc"
OUT = ROOT / "benchmarks" / "results" / "cpu-2core" / "native"

SHAPES = [(64, 100, 32, 128), (32, 256, 32, 128), (64, 100, 125, 320)]
CELLS = ["lstm", "gru_reset_after", "gru"]
# rnnax native forward+backward ms (batch split over 2 CPU devices), copied from
# benchmarks/results/cpu-2core/native/README.md (runs default-float32-bfloat16-host2 and,
# for the LSTM in bfloat16, lstm-bfloat16-host2).
NATIVE_FWDBWD = {
    "float32": {
        "lstm": [19.5, 20.9, 100.7],
        "gru_reset_after": [13.6, 18.1, 62.0],
        "gru": [14.0, 18.0, 62.8],
    },
    "bfloat16": {
        "lstm": [14.1, 17.2, 77.9],
        "gru_reset_after": [11.6, 12.8, 47.1],
        "gru": [11.7, 15.9, 45.8],
    },
}
RUNS = [("2 threads, B", "2", False), ("1 thread, B", "1", False), ("1 thread, B/2", "1", True)]


def venv_prefix() -> Path:
    return Path(sys.prefix)


def machine() -> dict:
    rec: dict = {}
    try:
        sys.path.insert(0, str(ROOT))
        import rnnax._machine as m

        rec = {
            "cpu_model": m.cpu_model(),
            "cpu_features": m.cpu_features(),
            "usable_cores": m.usable_cores(),
            "load_average": m.load_average(),
            "rnnax_commit": m.git_commit(ROOT),
        }
    except Exception as e:
        rec["error"] = repr(e)
    try:
        flags = re.search(r"^flags\s*:(.*)$", Path("/proc/cpuinfo").read_text(), re.M)
        fl = set(flags.group(1).split()) if flags else set()
        rec["isa_flags"] = sorted(f for f in fl if f.startswith(("avx512", "amx")) or f == "avx2")
    except OSError:
        pass
    return rec


def onednn_version(prefix: Path) -> str:
    h = (prefix / "include" / "oneapi" / "dnnl" / "dnnl_version.h").read_text()
    get = lambda k: re.search(rf"#define {k}\s+(\S+)", h).group(1)
    return f"{get('DNNL_VERSION_MAJOR')}.{get('DNNL_VERSION_MINOR')}.{get('DNNL_VERSION_PATCH')}"


def build(prefix: Path, exe: Path) -> list[str]:
    lib = prefix / "lib"
    cmd = [
        "g++",
        "-O2",
        "-std=c++17",
        f"-I{prefix / 'include'}",
        str(SRC),
        "-o",
        str(exe),
        f"-L{lib}",
        "-ldnnl",
        f"-Wl,-rpath,{lib}",
    ]
    subprocess.run(cmd, check=True)
    return cmd


def run(exe: Path, threads: str, half: bool, reps: int) -> list[dict]:
    env = dict(os.environ, OMP_NUM_THREADS=threads)
    args = [str(exe), "--reps", str(reps)] + (["--half"] if half else [])
    out = subprocess.run(args, env=env, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def fmt(x):
    return "n/a" if x is None else f"{x:.1f}"


def table(rows: list[dict], dtype: str) -> str:
    def ms(cell, shape_i, mode, threads, half):
        B, T, n_in, H = SHAPES[shape_i]
        b = B // 2 if half else B
        for r in rows:
            if (r["cell"], r["B"], r["T"], r["I"], r["H"], r["dtype"], r["mode"], r["threads"]) == (
                cell,
                b,
                T,
                n_in,
                H,
                dtype,
                mode,
                threads,
            ):
                return r.get("ms")
        return None

    lines = [
        "| cell | B, T, I, H | native (split) | oneDNN 2 thr, B | oneDNN 1 thr, B | oneDNN 1 thr, B/2 "
        "| native ÷ oneDNN 2 thr | native ÷ oneDNN 1 thr B/2 | oneDNN fwd only, 2 thr |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for cell in CELLS:
        for i, shp in enumerate(SHAPES):
            nat = NATIVE_FWDBWD[dtype][cell][i]
            t2 = ms(cell, i, "fwdbwd", "2", False)
            t1 = ms(cell, i, "fwdbwd", "1", False)
            th = ms(cell, i, "fwdbwd", "1", True)
            f2 = ms(cell, i, "fwd", "2", False)
            r2 = "n/a" if t2 is None else f"{nat / t2:.2f}"
            rh = "n/a" if th is None else f"{nat / th:.2f}"
            lines.append(
                f"| {cell} | {', '.join(map(str, shp))} | {nat:.1f} | {fmt(t2)} | "
                f"{fmt(t1)} | {fmt(th)} | {r2} | {rh} | {fmt(f2)} |"
            )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args()
    prefix = venv_prefix()
    exe = Path("/tmp/onednn_rnn_primitive")
    cmd = build(prefix, exe)
    mach = machine()
    rows = []
    for _, threads, half in RUNS:
        rows += run(exe, threads, half, a.reps)
    with contextlib.suppress(OSError):
        mach["load_average_end"] = list(os.getloadavg())
    impls = sorted(
        {
            (r["cell"], r["dtype"], r.get("impl_fwd"), r.get("impl_bwd"), r.get("backward_dtypes"))
            for r in rows
            if r["mode"] == "fwdbwd" and r.get("ms") is not None
        }
    )
    rec = {
        "schema": "rnnax-onednn-rnn-primitive/1",
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": mach,
        "onednn_version": onednn_version(prefix),
        "build": cmd,
        "reps": a.reps,
        "warmup": 3,
        "statistic": "median ms per call (fwd = forward_training with workspace; "
        "fwdbwd = forward_training + backward, diff weights zeroed each step)",
        "native_fwdbwd_ms_from_readme": NATIVE_FWDBWD,
        "shapes": [dict(zip("BTIH", s, strict=False)) for s in SHAPES],
        "results": rows,
    }
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "onednn-rnn-primitive.json").write_text(json.dumps(rec, indent=1) + "\n")
    md = [
        "# oneDNN RNN primitives vs rnnax native (forward+backward ms, medians)",
        "",
        f"oneDNN {rec['onednn_version']}; {mach.get('cpu_model')}; "
        f"load average {mach.get('load_average')} -> {mach.get('load_average_end')}; "
        f"{a.reps} repetitions after 3 warm-up calls; made by "
        "`python benchmarks/onednn_rnn_primitive.py`. native = committed numbers "
        "(README.md in this folder, batch split over 2 devices, other process, other time).",
        "",
        "implementations chosen (cell, dtype, forward, backward, backward dtypes): "
        + "; ".join(f"{c} {d}: {f} / {b} ({bd})" for c, d, f, b, bd in impls),
        "",
    ]
    for dtype in ("float32", "bfloat16"):
        md += [f"## {dtype}", "", table(rows, dtype), ""]
    (a.out / "onednn-rnn-primitive.md").write_text("\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
