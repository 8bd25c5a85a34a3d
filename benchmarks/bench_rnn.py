"""Benchmarks rnnax's LSTM and GRU against flax (linen and nnx), equinox and PyTorch, and
times any other registered rnnax cell (``--cells``) under every strategy it has.

Run ``python benchmarks/bench_rnn.py --help``; ``main(argv)`` is the entry point for other
callers (a future ``rnnax bench``). See ``benchmarks/README.md`` for what is measured and how.

Honest-measurement rules this script follows (see ``/work/shared/PERFORMANCE.md``):

* every implementation runs in ONE process, interleaved: each repeat times every
  (implementation, mode) once, round-robin, starting at a rotating offset;
* JAX functions are lowered and compiled ahead of time (lower and compile times recorded
  separately), warmed up, then timed to ``jax.block_until_ready``; PyTorch is timed under
  ``torch.no_grad()`` for the forward pass and with ``.backward()`` for forward+backward;
* the reported time is the median over repeats; all samples are kept in the JSON;
* forward+backward is the gradient of ``sum(ys ** 2)`` (in float32) with respect to the
  parameters and the inputs, for every implementation;
* the GEMM ceiling is measured in the same run, and the machine, library versions and shapes
  are written next to the timings.

JAX is imported only inside ``main`` so that ``--host-devices`` can set ``XLA_FLAGS`` before
JAX initializes its backends.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import gc
import inspect
import io
import json
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the scripts share _machine.py
from _machine import library_versions as installed_versions
from _machine import load_average, rnnax_commit, usable_cores

SCHEMA = "rnnax-bench/1"
RESULTS_DIR = Path(__file__).resolve().parent / "results"

# (B, T, I, H): the shapes PERFORMANCE.md says the field uses on CPU.
DEFAULT_SHAPES: tuple[tuple[int, int, int, int], ...] = (
    (64, 100, 32, 128),
    (32, 256, 32, 128),
    (64, 100, 125, 320),  # Braun 2018
)
SWEEP_BASE = (64, 100, 32, 128)
SWEEP_VALUES = {
    "T": (25, 50, 100, 200, 400),
    "B": (8, 16, 32, 64, 128, 256),
    "H": (32, 64, 128, 256, 512),
}
QUICK_SHAPES: tuple[tuple[int, int, int, int], ...] = ((4, 8, 3, 8),)
# The GPU suite (--gpu-suite): the FlashRNN / H100 shape of PERFORMANCE.md (B=16, T=1024,
# I=H=768; published anchors: cuDNN fp16 through torch 2.0 ms forward, 5.2 ms fwd+bwd) and two
# smaller hidden sizes where w_h fits on chip, then a sweep over B around the FlashRNN shape.
GPU_SHAPES: tuple[tuple[int, int, int, int], ...] = (
    (16, 1024, 768, 768),
    (16, 1024, 128, 128),
    (16, 1024, 256, 256),
)
GPU_SWEEP_BASE = (16, 1024, 768, 768)
GPU_SWEEP_VALUES = {
    "B": (2, 4, 8, 16, 32, 64, 128, 256),
    "T": (256, 512, 1024, 2048),
    "H": (64, 128, 256, 512, 768),
}
# The rnnax strategies the GPU suite times ("auto" is "scan" on GPU until measured; "remat"
# trades speed for memory).
GPU_STRATEGIES = ("scan", "custom_vjp", "pallas", "cudnn")
# Strategies that only make sense for speed on a GPU: "pallas" runs off-GPU in interpret mode
# (a correctness mode, far too slow to time) and "cudnn" is GPU-only. They run off-GPU only
# when --strategies names them.
GPU_ONLY_STRATEGIES = ("pallas", "cudnn")
# Tiling variants of the Pallas kernels (--pallas-variants), to measure the choices
# rnnax._pallas._common.plan makes by rule: w_h kept on chip or reloaded every step, and more
# batch rows per program.
RESIDENT_VARIANT_MAX_BYTES = 1 << 20
PALLAS_VARIANTS: dict[str, dict[str, Any]] = {
    "resident": {"resident": True},
    "streamed": {"resident": False},
    "block_b=32": {"block_b": 32},
}
QUICK_SWEEP_BASE = (4, 8, 3, 8)
QUICK_SWEEP_VALUES = {"T": (4, 8, 16), "B": (2, 4, 8), "H": (4, 8, 16)}
AXES = ("B", "T", "I", "H")

FAMILIES = ("rnnax", "flax.linen", "flax.nnx", "equinox", "torch", "jax.experimental.rnn")
MODES = ("fwd", "fwdbwd")
DEFAULT_CELLS = ("lstm", "gru")
# The cells other libraries have, as this script builds them: flax.linen, flax.nnx, equinox and
# torch run the LSTM and the reset-after GRU ("gru" benchmarks both GRU forms, "gru_reset_after"
# the reset-after one alone). Every other registered cell runs the rnnax strategies only.
FRAMEWORK_CELLS = ("lstm", "gru", "gru_reset_after")
# The other libraries whose cells this script builds (jax.experimental.rnn: the LSTM on GPU).
FRAMEWORKS = ("flax.linen", "flax.nnx", "equinox", "torch")
# The cells the Pallas tiling variants (--pallas-variants) call kernels of.
PALLAS_VARIANT_CELLS = ("lstm", "gru", "gru_reset_after")


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def _csv(text: str) -> list[str]:
    """Splits on commas outside brackets: ``rnnax[scan,reset_after],torch`` is two items."""
    return [item.strip() for item in re.split(r",(?![^\[]*\])", text) if item.strip()]


def _shape(text: str) -> tuple[int, int, int, int]:
    parts = text.lower().replace("*", "x").split("x")
    if len(parts) != 4:
        raise argparse.ArgumentTypeError(f"a shape is BxTxIxH, e.g. 64x100x32x128; got {text!r}")
    try:
        values = tuple(int(part) for part in parts)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"shape {text!r}: {error}") from None
    if min(values) < 1:
        raise argparse.ArgumentTypeError(f"shape {text!r}: every size must be >= 1")
    return values  # type: ignore[return-value]


def _shapes(text: str) -> list[tuple[int, int, int, int]]:
    return [] if text.strip().lower() == "none" else [_shape(part) for part in _csv(text)]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bench_rnn.py",
        description="Times rnnax's LSTM/GRU against flax.linen, flax.nnx, equinox and torch "
        "(and jax.experimental.rnn on GPU), interleaved in one process.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny smoke configuration (B=4 T=8 I=3 H=8, few repeats, small GEMM)",
    )
    parser.add_argument(
        "--shapes",
        type=_shapes,
        default=None,
        metavar="BxTxIxH,...",
        help="shapes to run instead of the default set "
        "(64x100x32x128, 32x256x32x128, 64x100x125x320); 'none' with "
        "--sweep runs the sweep alone",
    )
    parser.add_argument(
        "--sweep",
        nargs="?",
        const="T,B,H",
        default=None,
        metavar="AXES",
        help="also sweep T, B and/or H (comma list, default all three) around "
        "B=64 T=100 I=32 H=128 (--gpu-suite: B=16 T=1024 I=H=768), and "
        "plot time per step against each; 'none' for no sweep",
    )
    parser.add_argument(
        "--dtype",
        type=_csv,
        default=None,
        metavar="DTYPES",
        help="float32, bfloat16 or both (comma list); default float32 "
        "(float32,bfloat16 with --gpu-suite, which also takes float16)",
    )
    parser.add_argument(
        "--cells",
        type=_csv,
        default=list(DEFAULT_CELLS),
        metavar="CELLS",
        help="registered rnnax cells (rnnax.registered_cells(): lstm, gru, gru_reset_after, "
        "...; default lstm,gru); 'gru' times both GRU forms. Other libraries are timed "
        "for " + ", ".join(FRAMEWORK_CELLS) + " only",
    )
    parser.add_argument(
        "--impls",
        type=_csv,
        default=None,
        metavar="NAMES",
        help="only these implementations: families ("
        + ", ".join(FAMILIES)
        + ") or exact labels such as 'rnnax[scan]'",
    )
    parser.add_argument(
        "--strategies",
        type=_csv,
        default=None,
        metavar="NAMES",
        help="rnnax strategies to run (default: all of rnnax.STRATEGIES when "
        "rnnax.lstm takes a strategy keyword); 'auto=NAME' runs auto's CPU batch "
        "split with strategy NAME inside it, to decide auto's table",
    )
    parser.add_argument(
        "--modes",
        type=_csv,
        default=list(MODES),
        metavar="MODES",
        help="fwd, fwdbwd or both (default both)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="timed repeats per implementation and mode (default 20; quick 3)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=None,
        help="untimed calls after compiling (default 3; quick 1)",
    )
    parser.add_argument(
        "--gemm-size",
        type=int,
        default=None,
        help="N of the NxN @ NxN GEMM ceiling (default 2048; quick 256)",
    )
    parser.add_argument(
        "--gpu-suite",
        action="store_true",
        help="the GPU suite: shapes B=16 T=1024 I=H=768, 128 and 256 and a sweep "
        "over B around the first (--sweep to change the axes, --shapes to "
        "replace the shapes), strategies scan,custom_vjp,pallas,cudnn, "
        "rnnax vs torch (cuDNN) vs jax.experimental.rnn, float32 and "
        "bfloat16, with the latency floor (benchmarks/gpu_suite.sh runs it)",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also measure the latency floor: an empty lax.scan per step (fwd "
        "and fwd+bwd), a trivial Pallas time loop per step (GPU) and one "
        "launch, and report each implementation's multiple of it "
        "(on with --gpu-suite)",
    )
    parser.add_argument(
        "--pallas-variants",
        action="store_true",
        help="also time the Pallas kernels with w_h resident / reloaded each "
        "step and with 32 batch rows per program (GPU)",
    )
    parser.add_argument(
        "--host-devices",
        type=int,
        default=None,
        metavar="N",
        help="sets XLA_FLAGS=--xla_force_host_platform_device_count=N before "
        "JAX starts (N CPU devices; rnnax's 'auto' may split the batch)",
    )
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=None,
        help="torch.set_num_threads (default: the number of usable cores)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out",
        type=Path,
        default=RESULTS_DIR,
        help="results root; files go to OUT/<device>/ (default benchmarks/results)",
    )
    parser.add_argument(
        "--tag",
        default=None,
        help="file stem (default: <mode>-<dtypes>[-hostN], e.g. default-float32)",
    )
    parser.add_argument("--no-plot", action="store_true", help="skip the PNG plot")
    parser.add_argument("--quiet", action="store_true", help="do not print the tables")
    return parser


def registered_cells() -> tuple[str, ...]:
    """rnnax's registered cells. Importing rnnax starts no JAX backend, so ``--host-devices``
    still takes effect after this."""
    import rnnax

    return tuple(rnnax.registered_cells())


def _check_cells(parser: argparse.ArgumentParser, cells: Sequence[str]) -> None:
    registered = registered_cells()
    for cell in cells:
        if cell not in registered:
            parser.error(f"--cells takes registered cells ({', '.join(registered)}), got {cell!r}")
        if cells.count(cell) > 1:
            parser.error(f"--cells lists {cell!r} more than once")


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.cells:
        parser.error("--cells needs at least one cell")
    _check_cells(parser, args.cells)
    if args.gpu_suite:
        args.floor = True
        if args.dtype is None:
            args.dtype = ["float32", "bfloat16"]
        if args.impls is None:
            args.impls = ["rnnax", "torch", "jax.experimental.rnn"]
        if args.strategies is None:
            args.strategies = list(GPU_STRATEGIES)
        if args.sweep is None:
            args.sweep = "B"
    if args.dtype is None:
        args.dtype = ["float32"]
    for dtype in args.dtype:
        if dtype == "float16" and not args.gpu_suite:
            parser.error("--dtype float16 is for GPU runs: use it with --gpu-suite")
        if dtype not in ("float32", "bfloat16", "float16"):
            parser.error(
                f"--dtype takes float32 and/or bfloat16 (float16 with --gpu-suite), got {dtype!r}"
            )
    for name in args.strategies or ():
        if name.startswith(AUTO_INNER_PREFIX) and name.removeprefix(AUTO_INNER_PREFIX) in (
            "",
            "auto",
        ):
            parser.error(f"--strategies: {name!r} needs a strategy other than auto after '='")
    for mode in args.modes:
        if mode not in MODES:
            parser.error(f"--modes takes fwd and/or fwdbwd, got {mode!r}")
    if args.sweep is not None and args.sweep.strip().lower() == "none":
        args.sweep = []
    if args.shapes == [] and not args.sweep:
        parser.error("--shapes none leaves nothing to run without --sweep")
    if args.sweep:
        axes = _csv(args.sweep.upper())
        for axis in axes:
            if axis not in ("T", "B", "H"):
                parser.error(f"--sweep takes T, B and/or H, got {axis!r}")
        args.sweep = axes
    if args.repeats is None:
        args.repeats = 3 if args.quick else 20
    if args.warmup is None:
        args.warmup = 1 if args.quick else 3
    if args.gemm_size is None:
        args.gemm_size = 256 if args.quick else 2048
    for name in ("repeats", "gemm_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.warmup < 0:
        parser.error("--warmup must be >= 0")
    if args.host_devices is not None and args.host_devices < 1:
        parser.error("--host-devices must be >= 1")
    return args


# --------------------------------------------------------------------------------------------
# Environment: XLA flags, machine, versions
# --------------------------------------------------------------------------------------------

_HOST_FLAG = "--xla_force_host_platform_device_count"


def set_host_devices(count: int) -> bool:
    """Puts ``--xla_force_host_platform_device_count=count`` into ``XLA_FLAGS``.

    Returns whether it can still take effect (JAX reads the flag when it first initializes a
    backend; once a backend exists in this process the flag is ignored).
    """
    flags = re.sub(rf"{_HOST_FLAG}=\S*", "", os.environ.get("XLA_FLAGS", "")).split()
    os.environ["XLA_FLAGS"] = " ".join([*flags, f"{_HOST_FLAG}={count}"])
    if "jax" not in sys.modules:
        return True
    try:
        from jax._src import (
            xla_bridge,  # private: only to say whether the flag is too late
        )

        return not xla_bridge.backends_are_initialized()
    except Exception:  # unknown internals: assume it may be too late
        return False


def cpu_info() -> dict[str, Any]:
    info: dict[str, Any] = {"model": platform.processor() or platform.machine()}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return info
    model = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    if model:
        info["model"] = model.group(1).strip()
    flags = re.search(r"^flags\s*:\s*(.+)$", text, re.MULTILINE)
    if flags:
        names = set(flags.group(1).split())
        info["avx2"] = "avx2" in names
        info["avx512f"] = "avx512f" in names
        info["amx"] = any(name.startswith("amx") for name in names)
    return info


def library_versions() -> dict[str, str | None]:
    return installed_versions(
        ("jax", "jaxlib", "flax", "equinox", "torch", "numpy", "rnnax", "matplotlib")
    )


def machine_info(jax: Any, torch_info: dict[str, Any]) -> dict[str, Any]:
    devices = jax.devices()
    device = devices[0]
    cores = usable_cores()
    info = {
        "platform": device.platform,
        "device_kind": device.device_kind,
        "device_count": len(devices),
        "cpu_device_count": len(jax.devices("cpu")),
        "cpu": cpu_info(),
        "usable_cores": cores,
        "logical_cpus": os.cpu_count(),
        "os": platform.platform(),
        "load_average_start": load_average(),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "env": {
            name: os.environ[name]
            for name in (
                "XLA_FLAGS",
                "XLA_PYTHON_CLIENT_PREALLOCATE",
                "JAX_PLATFORMS",
                "JAX_NUM_CPU_DEVICES",
                "OMP_NUM_THREADS",
                "MKL_NUM_THREADS",
                "CUDA_VISIBLE_DEVICES",
            )
            if name in os.environ
        },
        "jax_default_matmul_precision": str(jax.config.jax_default_matmul_precision),
        "torch": torch_info,
    }
    if device.platform == "cpu":
        info["name"] = f"cpu-{cores}core"
    else:
        info["name"] = re.sub(r"[^a-z0-9]+", "-", device.device_kind.lower()).strip("-")
    return info


# --------------------------------------------------------------------------------------------
# Implementations
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Config:
    cell: str
    batch: int
    steps: int
    inputs: int
    hidden: int
    dtype: str
    sweep_axes: tuple[str, ...] = ()
    modes: tuple[str, ...] = MODES
    in_shape_set: bool = True  # False: only on a sweep (summarized in the sweep tables)

    @property
    def shape(self) -> dict[str, int]:
        return {"B": self.batch, "T": self.steps, "I": self.inputs, "H": self.hidden}


@dataclasses.dataclass
class Impl:
    """One implementation at one configuration, ready to time."""

    family: str
    label: str
    options: dict[str, Any]
    weights: str = "own init"
    calls: dict[str, Callable[[], Any]] = dataclasses.field(default_factory=dict)
    info: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    output: Any = None  # forward ys as float32 NumPy, for the agreement check
    error: str | None = None
    times: dict[str, list[float]] = dataclasses.field(default_factory=dict)


@contextlib.contextmanager
def third_party_promotion(jax: Any):
    """Standard dtype and rank promotion while tracing other libraries' code.

    rnnax itself stays under whatever the caller set (the test suite makes promotion strict);
    flax, equinox and jax.experimental.rnn are not ours to make strict-clean.
    """
    with jax.numpy_dtype_promotion("standard"), jax.numpy_rank_promotion("allow"):
        yield


def _memory_stats(compiled: Any) -> dict[str, Any]:
    try:
        stats = compiled.memory_analysis()
    except Exception as error:  # backends may not implement it
        return {"kind": "unavailable", "reason": f"{type(error).__name__}: {error}"}
    if stats is None:
        return {"kind": "unavailable", "reason": "memory_analysis() returned None"}
    fields = {
        "temp_bytes": "temp_size_in_bytes",
        "argument_bytes": "argument_size_in_bytes",
        "output_bytes": "output_size_in_bytes",
        "alias_bytes": "alias_size_in_bytes",
        "generated_code_bytes": "generated_code_size_in_bytes",
    }
    out: dict[str, Any] = {"kind": "xla_memory_analysis"}
    for key, attribute in fields.items():
        value = getattr(stats, attribute, None)
        out[key] = int(value) if value is not None else None
    parts = [out.get(key) for key in ("temp_bytes", "argument_bytes", "output_bytes")]
    if all(part is not None for part in parts):
        out["peak_estimate_bytes"] = sum(parts) - (out.get("alias_bytes") or 0)
    return out


def _loss(jnp: Any, ys: Any) -> Any:
    return jnp.sum(jnp.square(ys.astype(jnp.float32)))


def _add_jax(
    impl: Impl,
    jax: Any,
    forward: Callable[..., Any],
    args: tuple[Any, ...],
    promotion: Callable[[], Any],
    modes: Sequence[str],
) -> None:
    """Compiles ``forward(*args) -> ys`` and its gradient w.r.t. all args; stores the calls."""
    import jax.numpy as jnp

    def fwdbwd(*call_args: Any) -> Any:
        return jax.grad(lambda *a: _loss(jnp, forward(*a)), argnums=tuple(range(len(args))))(
            *call_args
        )

    for mode, function in (("fwd", forward), ("fwdbwd", fwdbwd)):
        if mode not in modes:
            continue
        with promotion():
            start = time.perf_counter()
            lowered = jax.jit(function).lower(*args)
            lowered_at = time.perf_counter()
            compiled = lowered.compile()
            compiled_at = time.perf_counter()
        result = jax.block_until_ready(compiled(*args))
        first_at = time.perf_counter()
        impl.info[mode] = {
            "lower_s": lowered_at - start,
            "compile_s": compiled_at - lowered_at,
            "first_call_s": first_at - compiled_at,
            "memory": _memory_stats(compiled),
        }
        if mode == "fwd":
            impl.output = _as_numpy(jax, result)
        impl.calls[mode] = lambda c=compiled: jax.block_until_ready(c(*args))


def _as_numpy(jax: Any, array: Any) -> Any:
    import jax.numpy as jnp
    import numpy as np

    return np.asarray(jax.device_get(array.astype(jnp.float32)))


def _shared_params(cfg: Config, jax: Any, jnp: Any) -> Any:
    """The parameters every implementation at ``cfg`` gets (converted where needed)."""
    if cfg.cell not in FRAMEWORK_CELLS:
        return _cell_init_params(cfg, jax, jnp)
    import rnnax

    dtype = jnp.dtype(cfg.dtype)
    inputs, hidden = cfg.inputs, cfg.hidden
    gates = 4 if cfg.cell == "lstm" else 3
    shapes = [(inputs, gates * hidden), (hidden, gates * hidden), (gates * hidden,)]
    if cfg.cell != "lstm":
        shapes.append((gates * hidden,))

    def make(key: Any) -> Any:
        # PyTorch's default U(-1/sqrt(H), 1/sqrt(H)): the values do not change the cost, and
        # this compiles in a fraction of the time of rnnax's orthogonal init.
        bound = 1.0 / hidden**0.5
        arrays = [
            jax.random.uniform(k, shape, jnp.float32, -bound, bound).astype(dtype)
            for k, shape in zip(jax.random.split(key, len(shapes)), shapes, strict=True)
        ]
        if cfg.cell == "lstm":
            return rnnax.LSTMParams(*arrays)
        # nnx.GRUCell has no recurrent candidate bias; zero it so every library can hold the
        # same weights.
        arrays[3] = arrays[3].at[2 * hidden :].set(0)
        if cfg.cell == "gru_reset_after":
            return rnnax.GRUResetAfterParams(*arrays)
        return rnnax.GRUParams(*arrays)

    return jax.jit(make)(jax.random.key(1))


def _cell_init_params(cfg: Config, jax: Any, jnp: Any) -> Any:
    """Parameters of a cell only rnnax runs: its own ``init`` in float32 (initializers need
    not support narrow dtypes), cast to ``cfg.dtype``."""
    import rnnax

    cell = rnnax.get_cell(cfg.cell)
    dtype = jnp.dtype(cfg.dtype)

    def make(key: Any) -> Any:
        params = cell.init(key, cfg.inputs, cfg.hidden)
        return jax.tree.map(lambda leaf: leaf.astype(dtype), params)

    return _staged(jax.jit, make, jax.random.key(1))


def _staged(jit: Callable[..., Any], function: Callable[..., Any], *args: Any) -> Any:
    """``jit(function)(*args)``, or ``function(*args)`` where it cannot be traced.

    Only to build parameters with one compile instead of many eager ones (startup time).
    """
    try:
        return jit(function)(*args)
    except Exception:  # e.g. a converter that reads concrete values
        return function(*args)


def _requested_strategies(strategies: Sequence[str] | None, backend: str) -> list[str]:
    """``--strategies`` (plain names in ``rnnax.STRATEGIES`` order, then the ``auto=NAME``
    ones) or, by default, all of ``rnnax.STRATEGIES`` except the GPU-only ones off-GPU.

    Raises:
        ValueError: an ``auto=NAME`` whose NAME is not a strategy of rnnax.
    """
    import rnnax

    names = list(getattr(rnnax, "STRATEGIES", ("scan",)))
    if strategies is None:
        return names if backend == "gpu" else [n for n in names if n not in GPU_ONLY_STRATEGIES]
    forced = [name for name in strategies if name.startswith(AUTO_INNER_PREFIX)]
    for name in forced:
        if name.removeprefix(AUTO_INNER_PREFIX) not in names:
            raise ValueError(f"--strategies {name!r}: rnnax has the strategies {names}")
    return [name for name in names if name in strategies] + forced


def cell_strategies(cell: str) -> tuple[str, ...]:
    """The strategies ``cell`` can run (``rnnax.available_strategies``); all of
    ``rnnax.STRATEGIES`` for an rnnax without the cell protocol."""
    import rnnax

    available = getattr(rnnax, "available_strategies", None)
    if available is None:
        return tuple(getattr(rnnax, "STRATEGIES", ("scan",)))
    return tuple(available(rnnax.get_cell(cell)))


def _runnable(name: str, cell: str, dtype: str) -> bool:
    """Whether strategy ``name`` (or ``auto=NAME``'s inner one) can run ``cell`` at ``dtype``:
    one the cell has, and never cuDNN beyond float32."""
    inner = name.removeprefix(AUTO_INNER_PREFIX)
    return inner in cell_strategies(cell) and not (inner == "cudnn" and dtype != "float32")


def strategy_names(cfg: Config, strategies: Sequence[str] | None, backend: str) -> list[str]:
    """The rnnax strategies timed at ``cfg``: ``--strategies`` or, by default, all of
    ``rnnax.STRATEGIES`` except the GPU-only ones off-GPU; only those the cell has
    (``rnnax.available_strategies``), and never ``"cudnn"`` other than in float32."""
    names = _requested_strategies(strategies, backend)
    return [name for name in names if _runnable(name, cfg.cell, cfg.dtype)]


def config_notes(cfg: Config, args: argparse.Namespace) -> list[str]:
    """What ``cfg`` leaves out of what was asked, for the report: the ``--strategies`` its
    cell does not have or cannot run at its dtype, and the other libraries for a cell they do
    not have."""
    notes = []
    if args.strategies is not None:
        requested = _requested_strategies(args.strategies, "gpu")  # backend unused when given
        has = cell_strategies(cfg.cell)
        missing = [name for name in requested if name.removeprefix(AUTO_INNER_PREFIX) not in has]
        if missing:
            notes.append(
                f"{cfg.cell}: {', '.join(missing)} skipped, not strategies of this cell (it has "
                f"{', '.join(has)})"
            )
        narrow = [
            name
            for name in requested
            if name not in missing and not _runnable(name, cfg.cell, cfg.dtype)
        ]
        if narrow:
            notes.append(f"{cfg.cell} {cfg.dtype}: {', '.join(narrow)} skipped (float32 only)")
    others = [family for family in FRAMEWORKS if _selected(family, family, args.impls)]
    if cfg.cell not in FRAMEWORK_CELLS and others:
        notes.append(
            f"{cfg.cell}: rnnax only; {', '.join(others)} skipped (this benchmark builds them "
            f"for {', '.join(FRAMEWORK_CELLS)})"
        )
    return notes


# "auto=<strategy>": auto's batch split over the CPU devices with <strategy> inside each shard,
# whatever rnnax's choice is; how a cell's choice (rnnax.Cell.auto) is decided.
AUTO_INNER_PREFIX = "auto="


def _strategy_kwargs(name: str) -> dict[str, Any]:
    if name.startswith(AUTO_INNER_PREFIX):
        return {"strategy": "auto", "auto_inner": name.removeprefix(AUTO_INNER_PREFIX)}
    return {"strategy": name}


def variant_cell(cell: str, options: dict[str, Any]) -> str:
    """The registered cell an rnnax variant runs: the ``--cells`` name, except the reset-after
    form of ``"gru"`` (``reset_after=True``), which is the cell ``"gru_reset_after"``."""
    return "gru_reset_after" if cell == "gru" and options.get("reset_after") else cell


@contextlib.contextmanager
def _auto_resolving_to(jax: Any, cell: str, inner: str | None) -> Any:
    """Makes ``strategy="auto"`` pick ``inner`` for the registered cell ``cell`` while a
    function is traced (rnnax's override table, backend -> cell name -> strategy), and
    leaves the table exactly as it was."""
    if inner is None:
        yield
        return
    from rnnax import _strategies

    backend = jax.default_backend()
    had_backend = backend in _strategies._AUTO
    table = _strategies._AUTO.setdefault(backend, {})
    before = table.get(cell)
    table[cell] = inner
    try:
        yield
    finally:
        if before is None:
            table.pop(cell, None)
        else:
            table[cell] = before
        if not had_backend and not table:
            _strategies._AUTO.pop(backend, None)


def rnnax_variants(
    cfg: Config, strategies: Sequence[str] | None, backend: str = "cpu"
) -> list[tuple[str, dict]]:
    """(label, keyword arguments) for every rnnax variant benchmarked at ``cfg``: one per
    strategy the cell has, and for ``"gru"`` each of them in both GRU forms."""
    import rnnax

    per_strategy: list[tuple[str, dict[str, Any]]]
    if cfg.cell in DEFAULT_CELLS and "strategy" not in inspect.signature(rnnax.lstm).parameters:
        per_strategy = [("", {})]  # an rnnax from before strategies
    else:
        names = strategy_names(cfg, strategies, backend)
        per_strategy = [(f"[{name}", _strategy_kwargs(name)) for name in names]
    variants = []
    for prefix, kwargs in per_strategy:
        if cfg.cell != "gru":
            variants.append((f"rnnax{prefix}{']' if prefix else ''}", kwargs))
        else:
            for reset_after in (False, True):
                suffix = ",reset_after" if reset_after else ""
                inner = f"{prefix}{suffix}" if prefix else (f"[{suffix[1:]}" if suffix else "")
                label = f"rnnax{inner}{']' if inner else ''}"
                variants.append((label, {**kwargs, "reset_after": reset_after}))
    return variants


def _rnnax_core(cell: str) -> Callable[..., Any]:
    """``core(params, xs, **options) -> (carry, ys)`` for ``cell``: ``rnnax.lstm`` and
    ``rnnax.gru`` (which takes ``reset_after``) for the two cells every rnnax has,
    ``rnnax.rnn(..., cell=cell)`` for the others."""
    import functools

    import rnnax

    if cell == "lstm":
        return rnnax.lstm
    if cell == "gru":
        return rnnax.gru
    return functools.partial(rnnax.rnn, cell=cell)


def build_rnnax(
    cfg: Config, jax: Any, params: Any, xs: Any, label: str, kwargs: dict[str, Any]
) -> Impl:
    impl = Impl("rnnax", label, dict(kwargs), weights="shared")
    inner = kwargs.get("auto_inner")
    core_kwargs = {key: value for key, value in kwargs.items() if key != "auto_inner"}
    core = _rnnax_core(cfg.cell)
    cell = variant_cell(cfg.cell, kwargs)

    def forward(p: Any, x: Any) -> Any:
        return core(p, x, **core_kwargs)[1]

    with _auto_resolving_to(jax, cell, inner):
        if kwargs.get("strategy") == "auto":
            impl.options["auto"] = auto_details(cfg.batch, cell)
        _add_jax(impl, jax, forward, (params, xs), contextlib.nullcontext, cfg.modes)
    return impl


def build_pallas_variant(
    cfg: Config, jax: Any, params: Any, xs: Any, name: str, options: dict[str, Any]
) -> Impl:
    """The Pallas kernels called directly with tiling ``options`` (``PALLAS_VARIANTS``)."""
    import jax.numpy as jnp

    from rnnax import _pallas

    reset_after = cfg.cell != "lstm"  # the cuDNN / torch GRU form, as the other libraries run
    label = f"rnnax[pallas,{name}{',reset_after' if cfg.cell == 'gru' else ''}]"
    impl = Impl(
        "rnnax",
        label,
        {
            "strategy": "pallas",
            "pallas": dict(options),
            **({"reset_after": True} if cfg.cell == "gru" else {}),
        },
        weights="shared",
    )
    zeros = jnp.zeros((cfg.batch, cfg.hidden), jnp.dtype(cfg.dtype))

    def forward(p: Any, x: Any) -> Any:
        x = jnp.swapaxes(x, 0, 1)
        if cfg.cell == "lstm":
            ys = _pallas.lstm_pallas(p, x, zeros, zeros, **options)[2]
        else:
            ys = _pallas.gru_pallas(p, x, zeros, reset_after=reset_after, **options)[1]
        return jnp.swapaxes(ys, 0, 1)

    _add_jax(impl, jax, forward, (params, xs), contextlib.nullcontext, cfg.modes)
    return impl


def framework_weights(params: Any) -> Any:
    """The shared weights as the other libraries hold them: their GRU is the reset-after form,
    so plain ``GRUParams`` (the weights of both rnnax GRU variants) convert typed as
    ``GRUResetAfterParams``, which is what the converters take."""
    import rnnax

    if type(params) is rnnax.GRUParams:
        return rnnax.GRUResetAfterParams(*params)
    return params


def build_linen(cfg: Config, jax: Any, params: Any, xs: Any) -> Impl:
    import flax.linen as nn
    import jax.numpy as jnp

    dtype = jnp.dtype(cfg.dtype)
    impl = Impl("flax.linen", "flax.linen", {})
    cell_type = nn.OptimizedLSTMCell if cfg.cell == "lstm" else nn.GRUCell
    model = nn.RNN(cell_type(cfg.hidden, dtype=dtype, param_dtype=dtype))
    # flax's orthogonal initializer has no bfloat16 QR on CPU: initialize in float32, then cast.
    init_model = nn.RNN(cell_type(cfg.hidden, dtype=dtype, param_dtype=jnp.float32))

    def own_init(key: Any, x: Any) -> Any:
        return jax.tree.map(lambda a: a.astype(dtype), init_model.init(key, x))

    variables = None
    with third_party_promotion(jax):
        try:
            from rnnax.interop import to_flax_linen

            shared = _staged(
                jax.jit,
                lambda p: {"params": {"cell": to_flax_linen(p)["params"]}},
                framework_weights(params),
            )
            expected = jax.eval_shape(own_init, jax.random.key(2), xs)
            if jax.tree.structure(shared) == jax.tree.structure(expected) and [
                a.shape for a in jax.tree.leaves(shared)
            ] == [a.shape for a in jax.tree.leaves(expected)]:
                variables, impl.weights = shared, "shared"
        except Exception:  # interop is optional here: keep flax's own init
            pass
        if variables is None:
            variables = jax.jit(own_init)(jax.random.key(2), xs)
    _add_jax(
        impl,
        jax,
        lambda v, x: model.apply(v, x),
        (variables, xs),
        lambda: third_party_promotion(jax),
        cfg.modes,
    )
    return impl


def build_nnx(cfg: Config, jax: Any, params: Any, xs: Any) -> Impl:
    import jax.numpy as jnp
    from flax import nnx

    dtype = jnp.dtype(cfg.dtype)
    impl = Impl("flax.nnx", "flax.nnx", {})
    cell_type = nnx.OptimizedLSTMCell if cfg.cell == "lstm" else nnx.GRUCell
    try:
        from rnnax.interop import to_flax_nnx

        cell = _staged(
            nnx.jit, lambda p: to_flax_nnx(p, cell_type=cell_type), framework_weights(params)
        )
        impl.weights = "shared"
    except Exception:
        # float32 init (flax's orthogonal initializer has no bfloat16 QR on CPU), cast below
        with third_party_promotion(jax):
            cell = _staged(
                nnx.jit,
                lambda: cell_type(
                    cfg.inputs, cfg.hidden, dtype=dtype, param_dtype=jnp.float32, rngs=nnx.Rngs(2)
                ),
            )
    model = nnx.RNN(cell, rngs=False)  # zero initial carry passed below: no RNG state
    graphdef, state = nnx.split(model)
    state = jax.tree.map(lambda a: a.astype(dtype), state)
    zeros = jnp.zeros((cfg.batch, cfg.hidden), dtype)
    carry = (zeros, zeros) if cfg.cell == "lstm" else zeros

    def forward(s: Any, x: Any) -> Any:
        return nnx.merge(graphdef, s)(x, initial_carry=carry)

    _add_jax(impl, jax, forward, (state, xs), lambda: third_party_promotion(jax), cfg.modes)
    return impl


def build_equinox(cfg: Config, jax: Any, params: Any, xs: Any) -> Impl:
    import equinox as eqx
    import jax.numpy as jnp

    dtype = jnp.dtype(cfg.dtype)
    impl = Impl("equinox", "equinox", {})
    cell_type = eqx.nn.LSTMCell if cfg.cell == "lstm" else eqx.nn.GRUCell
    cell = None
    try:
        from rnnax.interop import to_equinox

        cell = _staged(eqx.filter_jit, to_equinox, framework_weights(params))
        impl.weights = "shared"
    except Exception:
        pass
    if cell is None:
        with third_party_promotion(jax):
            cell = eqx.filter_jit(
                lambda key: cell_type(cfg.inputs, cfg.hidden, dtype=dtype, key=key)
            )(jax.random.key(2))

    def forward(c: Any, x: Any) -> Any:
        def sequence(seq: Any) -> Any:
            zeros = jnp.zeros((cfg.hidden,), dtype)
            if cfg.cell == "lstm":

                def step(state: Any, x_t: Any) -> Any:
                    state = c(x_t, state)
                    return state, state[0]

                init: Any = (zeros, zeros)
            else:

                def step(state: Any, x_t: Any) -> Any:
                    state = c(x_t, state)
                    return state, state

                init = zeros
            return jax.lax.scan(step, init, seq)[1]

        return jax.vmap(sequence)(x)

    _add_jax(impl, jax, forward, (cell, xs), lambda: third_party_promotion(jax), cfg.modes)
    return impl


def build_cudnn(cfg: Config, jax: Any, params: Any, xs: Any) -> Impl:
    """``jax.experimental.rnn.lstm`` (cuDNN; GPU only), with the shared weights packed flat.

    Called directly, as a user of jax.experimental.rnn would: beside ``rnnax[cudnn]`` (the same
    call behind rnnax's sequence handling) it shows what that handling costs.
    """
    import jax.numpy as jnp
    from jax.experimental import rnn

    impl = Impl("jax.experimental.rnn", "jax.experimental.rnn", {}, weights="shared")
    dtype = jnp.dtype(cfg.dtype)
    try:
        from rnnax._cudnn import to_cudnn_weights
    except ImportError:
        # cuDNN layout (jax.experimental.rnn's docstring): W_ih [4H, I], W_hh [4H, H], b_ih,
        # b_hh, gate order i, f, g, o (ours); our single bias goes to b_ih.
        def to_cudnn_weights(p: Any) -> Any:
            return jnp.concatenate(
                [p.w_x.T.reshape(-1), p.w_h.T.reshape(-1), p.b, jnp.zeros_like(p.b)]
            )

    weights = to_cudnn_weights(params).astype(dtype)
    zeros = jnp.zeros((1, cfg.batch, cfg.hidden), dtype)
    lengths = jnp.full((cfg.batch,), cfg.steps, jnp.int32)

    def forward(w: Any, x: Any) -> Any:
        return rnn.lstm(
            x,
            zeros,
            zeros,
            w,
            lengths,
            input_size=cfg.inputs,
            hidden_size=cfg.hidden,
            num_layers=1,
            dropout=0.0,
            bidirectional=False,
        )[0]

    _add_jax(impl, jax, forward, (weights, xs), lambda: third_party_promotion(jax), cfg.modes)
    return impl


def build_torch(cfg: Config, jax: Any, params: Any, xs: Any, device: str) -> Impl:
    import numpy as np
    import torch

    impl = Impl("torch", "torch", {"device": device})
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[
        cfg.dtype
    ]
    module_type = torch.nn.LSTM if cfg.cell == "lstm" else torch.nn.GRU
    module = None
    try:
        from rnnax.interop import to_torch

        module, impl.weights = to_torch(framework_weights(params), batch_first=True), "shared"
    except Exception:
        pass
    if module is None:
        torch.manual_seed(2)
        module = module_type(cfg.inputs, cfg.hidden, batch_first=True)
    module = module.to(device=device, dtype=dtype)
    if device == "cuda":
        module.flatten_parameters()
    x = torch.from_numpy(np.array(_as_numpy(jax, xs))).to(device=device, dtype=dtype)
    x_grad = x.clone().requires_grad_(True)
    module_params = list(module.parameters())
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def forward() -> Any:
        with torch.no_grad():
            ys = module(x)[0]
        sync()
        return ys

    def fwdbwd() -> None:
        for tensor in (*module_params, x_grad):
            tensor.grad = None
        ys = module(x_grad)[0]
        ys.float().square().sum().backward()
        sync()

    for mode, call in (("fwd", forward), ("fwdbwd", fwdbwd)):
        if mode not in cfg.modes:
            continue
        start = time.perf_counter()
        call()
        impl.info[mode] = {"first_call_s": time.perf_counter() - start}
        impl.calls[mode] = call
    impl.output = forward().float().cpu().numpy()
    if "fwdbwd" in cfg.modes:
        impl.info["fwdbwd"]["memory"] = _torch_memory(torch, module, module_params, x_grad, device)
    return impl


def _torch_memory(
    torch: Any, module: Any, module_params: list[Any], x: Any, device: str
) -> dict[str, Any]:
    """What torch keeps for the backward pass: the tensors autograd saves (deduplicated by
    storage, parameters and input excluded); on CUDA also the allocator's peak."""
    inputs = {t.untyped_storage().data_ptr() for t in (*module_params, x)}
    saved: dict[int, int] = {}

    def pack(tensor: Any) -> Any:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in inputs:
            saved[storage.data_ptr()] = storage.nbytes()
        return tensor

    argument_bytes = sum(t.numel() * t.element_size() for t in (*module_params, x))
    out: dict[str, Any] = {"kind": "torch_saved_tensors", "argument_bytes": argument_bytes}
    try:
        if device == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
        for tensor in (*module_params, x):
            tensor.grad = None
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
            ys = module(x)[0]
        out["output_bytes"] = ys.numel() * ys.element_size()
        ys.float().square().sum().backward()
        out["saved_for_backward_bytes"] = sum(saved.values())
        if device == "cuda":
            torch.cuda.synchronize()
            out["cuda_peak_above_baseline_bytes"] = torch.cuda.max_memory_allocated() - base
    except Exception as error:
        return {"kind": "unavailable", "reason": f"{type(error).__name__}: {error}"}
    return out


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------


def _selected(family: str, label: str, wanted: Sequence[str] | None) -> bool:
    return wanted is None or family in wanted or label in wanted


def build_all(
    cfg: Config, args: argparse.Namespace, jax: Any, torch_device: str | None
) -> list[Impl]:
    """Every selected implementation at ``cfg``; a failure is recorded, not raised."""
    import jax.numpy as jnp

    dtype = jnp.dtype(cfg.dtype)
    params = _shared_params(cfg, jax, jnp)
    xs = jax.random.normal(
        jax.random.key(args.seed), (cfg.batch, cfg.steps, cfg.inputs), jnp.float32
    ).astype(dtype)
    builders: list[tuple[str, str, dict[str, Any], Callable[[], Impl]]] = []
    backend = jax.default_backend()
    for label, kwargs in rnnax_variants(cfg, args.strategies, backend):
        builders.append(
            (
                "rnnax",
                label,
                kwargs,
                lambda label=label, kwargs=kwargs: build_rnnax(cfg, jax, params, xs, label, kwargs),
            )
        )
    if args.pallas_variants and cfg.in_shape_set and cfg.cell in PALLAS_VARIANT_CELLS:
        gates = 4 if cfg.cell == "lstm" else 3
        weight_bytes = gates * cfg.hidden**2 * jnp.dtype(cfg.dtype).itemsize
        for name, options in PALLAS_VARIANTS.items():
            if options.get("resident") and weight_bytes > RESIDENT_VARIANT_MAX_BYTES:
                continue  # far beyond any register file: a compile that cannot help
            builders.append(
                (
                    "rnnax",
                    f"rnnax[pallas,{name}]",
                    {"pallas": options},
                    lambda name=name, options=options: build_pallas_variant(
                        cfg, jax, params, xs, name, options
                    ),
                )
            )
    if cfg.cell in FRAMEWORK_CELLS:
        builders += _framework_builders(cfg, jax, params, xs, torch_device)
    impls = []
    for family, label, options, build in builders:
        if not _selected(family, label, args.impls):
            continue
        try:
            impls.append(build())
        except Exception as error:  # record and go on with the others
            impls.append(
                Impl(family, label, dict(options), error=f"{type(error).__name__}: {error}"[:2000])
            )
    return impls


def _framework_builders(
    cfg: Config, jax: Any, params: Any, xs: Any, torch_device: str | None
) -> list[tuple[str, str, dict[str, Any], Callable[[], Impl]]]:
    """The other libraries' implementations at ``cfg`` (a cell of ``FRAMEWORK_CELLS``)."""
    builders: list[tuple[str, str, dict[str, Any], Callable[[], Impl]]] = [
        ("flax.linen", "flax.linen", {}, lambda: build_linen(cfg, jax, params, xs)),
        ("flax.nnx", "flax.nnx", {}, lambda: build_nnx(cfg, jax, params, xs)),
        ("equinox", "equinox", {}, lambda: build_equinox(cfg, jax, params, xs)),
    ]
    if torch_device is not None:
        builders.append(
            (
                "torch",
                "torch",
                {"device": torch_device},
                lambda: build_torch(cfg, jax, params, xs, torch_device),
            )
        )
    # jax.experimental.rnn: cuDNN's LSTM, float32 only.
    if cfg.cell == "lstm" and jax.default_backend() == "gpu" and cfg.dtype == "float32":
        builders.append(
            (
                "jax.experimental.rnn",
                "jax.experimental.rnn",
                {},
                lambda: build_cudnn(cfg, jax, params, xs),
            )
        )
    return builders


def time_interleaved(impls: list[Impl], repeats: int, warmup: int) -> None:
    """Round-robin timing: each repeat times every (impl, mode) once, from a rotating start."""
    slots = [
        (impl, mode) for impl in impls if impl.error is None for mode in MODES if mode in impl.calls
    ]
    for impl, mode in slots:
        try:
            for _ in range(warmup):
                impl.calls[mode]()
        except Exception as error:
            impl.error = f"{type(error).__name__} in {mode}: {error}"[:2000]
    slots = [(impl, mode) for impl, mode in slots if impl.error is None]
    for impl, mode in slots:
        impl.times[mode] = []
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for repeat in range(repeats):
            shift = repeat % max(len(slots), 1)
            for impl, mode in slots[shift:] + slots[:shift]:
                start = time.perf_counter()
                impl.calls[mode]()
                impl.times[mode].append(time.perf_counter() - start)
    finally:
        if was_enabled:
            gc.enable()


def measure_gemm(jax: Any, size: int, dtype: str, repeats: int) -> dict[str, Any]:
    """Median time of a jitted ``size x size @ size x size`` matmul: the FLOP/s ceiling."""
    import jax.numpy as jnp

    a, b = jax.jit(
        lambda key: tuple(
            jax.random.normal(k, (size, size), jnp.float32).astype(dtype)
            for k in jax.random.split(key)
        )
    )(jax.random.key(3))
    matmul = jax.jit(jnp.matmul).lower(a, b).compile()
    for _ in range(2):
        jax.block_until_ready(matmul(a, b))
    times = []
    for _ in range(max(repeats, 5)):
        start = time.perf_counter()
        jax.block_until_ready(matmul(a, b))
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return {
        "size": size,
        "dtype": dtype,
        "median_s": median,
        "times_s": times,
        "gflops": 2 * size**3 / median / 1e9,
        "matmul_precision": str(jax.config.jax_default_matmul_precision),
    }


def _median_call(call: Callable[[], Any], repeats: int) -> float:
    for _ in range(2):
        call()
    times = []
    for _ in range(max(repeats, 5)):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _pallas_loop(jax: Any, steps: int) -> Callable[[Any], Any]:
    """A Pallas kernel whose time loop does almost nothing: one 16x16 tile updated and stored
    per step, the per-step cost of a loop inside a kernel (the fused kernels' floor)."""
    import jax.numpy as jnp
    from jax.experimental import pallas as pl

    def kernel(x_ref: Any, o_ref: Any) -> None:
        def step(t: Any, h: Any) -> Any:
            h = h * 0.5 + x_ref[t]
            o_ref[t] = h
            return h

        jax.lax.fori_loop(0, steps, step, jnp.zeros((16, 16), jnp.float32))

    spec = pl.BlockSpec((steps, 16, 16), lambda i: (0, 0, 0))
    return pl.pallas_call(
        kernel,
        out_shape=jax.ShapeDtypeStruct((steps, 16, 16), jnp.float32),
        grid=(1,),
        in_specs=[spec],
        out_specs=spec,
    )


def measure_floor(jax: Any, cfg: Config, repeats: int) -> dict[str, Any]:
    """Latency floors at ``cfg``'s B, T, H and dtype, per time step (and one launch).

    - ``scan_{fwd,fwdbwd}_us_per_step``: a jitted ``lax.scan`` whose body is one elementwise
      update of the ``[B, H]`` carry (and its gradient): what a scan costs per step before any
      work (PERFORMANCE.md: about 8-9 us on GPU).
    - ``pallas_loop_us_per_step`` (GPU only): a Pallas kernel looping over T in-kernel with a
      trivial body.
    - ``launch_us``: one jitted elementwise op on ``[B, H]``: dispatch plus one kernel launch.
    """
    import jax.numpy as jnp

    dtype = jnp.dtype(cfg.dtype)
    xs = jnp.zeros((cfg.steps, cfg.batch, cfg.hidden), dtype)

    def scan(x: Any) -> Any:
        def step(h: Any, x_t: Any) -> Any:
            h = h * jnp.asarray(0.5, dtype) + x_t
            return h, h

        return jax.lax.scan(step, jnp.zeros(x.shape[1:], x.dtype), x)[1]

    out: dict[str, Any] = {"shape": cfg.shape, "dtype": cfg.dtype}
    calls = {
        "scan_fwd_us_per_step": (jax.jit(scan), cfg.steps),
        "scan_fwdbwd_us_per_step": (
            jax.jit(jax.grad(lambda x: jnp.sum(jnp.square(scan(x).astype(jnp.float32))))),
            cfg.steps,
        ),
        "launch_us": (jax.jit(lambda x: x + jnp.asarray(1, x.dtype)), 1),
    }
    if jax.default_backend() == "gpu":
        calls["pallas_loop_us_per_step"] = (jax.jit(_pallas_loop(jax, cfg.steps)), cfg.steps)
    for key, (function, per) in calls.items():
        argument = (
            xs[0]
            if key == "launch_us"
            else (jnp.zeros((cfg.steps, 16, 16), jnp.float32) if key.startswith("pallas") else xs)
        )
        try:
            compiled = function.lower(argument).compile()
            median = _median_call(
                lambda c=compiled, a=argument: jax.block_until_ready(c(a)), repeats
            )
            out[key] = median / per * 1e6
        except Exception as error:  # a floor is informative, never fatal
            out[key] = None
            out.setdefault("errors", {})[key] = f"{type(error).__name__}: {error}"[:500]
    return out


def _floor_multiple(floor: dict[str, Any] | None, mode: str, us_per_step: float) -> float | None:
    """``us_per_step`` over the empty-scan floor of the same mode."""
    base = None if floor is None else floor.get(f"scan_{mode}_us_per_step")
    return None if not base else us_per_step / base


def summarize(
    cfg: Config, impl: Impl, gemm_gflops: float | None, floor: dict[str, Any] | None = None
) -> dict[str, Any]:
    import rnnax

    flops = rnnax.flops_per_step(cfg.cell, cfg.inputs, cfg.hidden)
    entry: dict[str, Any] = {
        "cell": cfg.cell,
        "shape": cfg.shape,
        "dtype": cfg.dtype,
        "sweep_axes": list(cfg.sweep_axes),
        "impl": impl.family,
        "label": impl.label,
        "options": impl.options,
        "weights": impl.weights,
        "error": impl.error,
        "flops_per_step": flops,
    }
    for mode in MODES:
        record: dict[str, Any] = dict(impl.info.get(mode, {}))
        samples = impl.times.get(mode)
        if samples:
            median = statistics.median(samples)
            total_flops = flops * cfg.batch * cfg.steps * (3 if mode == "fwdbwd" else 1)
            record.update(
                {
                    "median_s": median,
                    "min_s": min(samples),
                    "times_s": samples,
                    "us_per_step": median / cfg.steps * 1e6,
                    "seq_per_s": cfg.batch / median,
                    "gflops": total_flops / median / 1e9,
                }
            )
            if gemm_gflops:
                record["fraction_of_gemm"] = record["gflops"] / gemm_gflops
            multiple = _floor_multiple(floor, mode, record["us_per_step"])
            if multiple is not None:
                record["floor_multiple"] = multiple
            if "first_call_s" in record and "lower_s" not in record:
                # torch: no separate compile step; the first call's extra time stands in for it
                record["first_call_minus_median_s"] = record["first_call_s"] - median
        entry[mode] = record
    return entry


def _same_function(impl: Impl, cell: str) -> bool:
    """Whether ``impl`` computes the function the other libraries do at a ``--cells`` entry:
    every implementation does, except the explainer's form among ``"gru"``'s rnnax variants
    (the other libraries' GRUs are the reset-after form)."""
    return cell != "gru" or impl.family != "rnnax" or bool(impl.options.get("reset_after"))


def agreement(impls: list[Impl], cell: str) -> dict[str, float]:
    """Max |ys - ys_reference| per label against the first rnnax output of the form every
    implementation computes (informative only; for a cell only rnnax runs, the strategies
    against each other)."""
    import numpy as np

    reference = next(
        (
            impl.output
            for impl in impls
            if impl.family == "rnnax" and impl.output is not None and _same_function(impl, cell)
        ),
        None,
    )
    if reference is None:
        return {}
    return {
        impl.label: float(np.max(np.abs(impl.output - reference)))
        for impl in impls
        if impl.output is not None
        and _same_function(impl, cell)
        and impl.output.shape == reference.shape
    }


# --------------------------------------------------------------------------------------------
# Reports
# --------------------------------------------------------------------------------------------


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e3:.2f}"


def _num(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _mode_value(entry: dict[str, Any], mode: str, key: str) -> Any:
    return entry.get(mode, {}).get(key)


def _compile_s(entry: dict[str, Any]) -> str:
    record = entry.get(_primary(entry), {})
    if "compile_s" in record:
        return f"{record['lower_s'] + record['compile_s']:.2f}"
    if "first_call_minus_median_s" in record:  # negative when the first call was lucky
        return f"{max(record['first_call_minus_median_s'], 0.0):.2f}\u2020"
    return "-"


def _temp_mib(entry: dict[str, Any]) -> str:
    memory = entry.get("fwdbwd", {}).get("memory", {})
    value = memory.get("temp_bytes", memory.get("saved_for_backward_bytes"))
    if value is None:
        return "-"
    mark = "\u2021" if memory.get("kind") == "torch_saved_tensors" else ""
    return f"{value / 2**20:.3g}{mark}"


def _primary(entry: dict[str, Any]) -> str:
    """The mode the per-step, throughput and ratio columns show: fwd+bwd when it was run."""
    return "fwdbwd" if entry.get("fwdbwd", {}).get("median_s") is not None else "fwd"


def _ratio(entry: dict[str, Any], reference: dict[str, Any] | None) -> str:
    mode = _primary(entry)
    mine = _mode_value(entry, mode, "median_s")
    theirs = None if reference is None else _mode_value(reference, mode, "median_s")
    if mine is None or theirs is None:
        return "-"
    return f"{mine / theirs:.2f}"


def _latency_floor_line(latency: dict[str, Any] | None) -> list[str]:
    if not latency:
        return []
    parts = [
        f"empty scan {_num(latency.get('scan_fwd_us_per_step'), '.2f')} \u00b5s/step fwd, "
        f"{_num(latency.get('scan_fwdbwd_us_per_step'), '.2f')} fwd+bwd"
    ]
    if "pallas_loop_us_per_step" in latency:
        parts.append(
            "trivial Pallas time loop "
            f"{_num(latency.get('pallas_loop_us_per_step'), '.2f')} \u00b5s/step"
        )
    parts.append(f"one launch {_num(latency.get('launch_us'), '.1f')} \u00b5s")
    return [
        f"Latency floor (measured in this run): {'; '.join(parts)}. \u00d7 floor: "
        "\u00b5s/step over the empty scan's, same mode.",
        "",
    ]


def config_table(
    entries: list[dict[str, Any]],
    gemm: dict[str, Any] | None,
    latency: dict[str, Any] | None = None,
) -> str:
    cell, shape, dtype = entries[0]["cell"], entries[0]["shape"], entries[0]["dtype"]
    flops = entries[0]["flops_per_step"]
    floor = ""
    if gemm:
        floor_s = 3 * flops * shape["B"] * shape["T"] / (gemm["gflops"] * 1e9)
        floor = f"; fwd+bwd FLOP floor at the GEMM ceiling {floor_s * 1e3:.2f} ms"
    extra = " \u00d7 floor |" if latency else ""
    anchor = []
    if (shape["B"], shape["T"], shape["H"]) == (16, 1024, 768):
        anchor = [
            "Published anchor at this shape (PERFORMANCE.md, H100): cuDNN through torch "
            "`nn.LSTM` fp16 2.0 ms fwd, 5.2 ms fwd+bwd (about 2 \u00b5s per step).",
            "",
        ]
    lines = [
        (f"### {cell.upper()} B={shape['B']} T={shape['T']} I={shape['I']} H={shape['H']} {dtype}"),
        "",
        f"{flops:,} FLOP per step per sequence (forward){floor}.",
        "",
        *anchor,
        *_latency_floor_line(latency),
        (
            "| implementation | fwd ms | fwd+bwd ms | \u00b5s/step | seq/s | GFLOP/s | % GEMM "
            "| compile s | bwd temp MiB | \u00d7 linen | \u00d7 torch |" + extra
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if latency else ""),
    ]
    linen = next((e for e in entries if e["impl"] == "flax.linen" and not e["error"]), None)
    torch = next((e for e in entries if e["impl"] == "torch" and not e["error"]), None)
    for entry in entries:
        name = entry["label"]
        auto = entry.get("options", {}).get("auto")
        if auto:
            parts = [auto.get("resolves_to", "?")]
            if auto.get("batch_devices", 1) > 1:
                parts.append(f"batch over {auto['batch_devices']} devices")
            name += f" ({', '.join(parts)})"
        if entry["error"]:
            lines.append(
                f"| {name} | error: {entry['error'][:80]} |" + " |" * (10 if latency else 9)
            )
            continue
        main = entry.get(_primary(entry), {})
        percent = main.get("fraction_of_gemm")
        lines.append(
            f"| {name} | {_ms(_mode_value(entry, 'fwd', 'median_s'))} "
            f"| {_ms(_mode_value(entry, 'fwdbwd', 'median_s'))} "
            f"| {_num(main.get('us_per_step'), '.1f')} | {_num(main.get('seq_per_s'), ',.0f')} "
            f"| {_num(main.get('gflops'), '.1f')} "
            f"| {_num(None if percent is None else 100 * percent, '.0f')} "
            f"| {_compile_s(entry)} | {_temp_mib(entry)} "
            f"| {_ratio(entry, linen)} | {_ratio(entry, torch)} |"
            + (f" {_num(main.get('floor_multiple'), '.1f')} |" if latency else "")
        )
    return "\n".join(lines)


def sweep_tables(entries: list[dict[str, Any]], axes: Sequence[str]) -> list[str]:
    blocks = []
    for cell in sorted({e["cell"] for e in entries}):
        for dtype in sorted({e["dtype"] for e in entries}):
            for axis in axes:
                chosen = [
                    e
                    for e in entries
                    if e["cell"] == cell and e["dtype"] == dtype and axis in e["sweep_axes"]
                ]
                if not chosen:
                    continue
                values = sorted({e["shape"][axis] for e in chosen})
                labels = list(dict.fromkeys(e["label"] for e in chosen))
                lines = [
                    f"### Sweep over {axis}: {cell.upper()} {dtype}, fwd+bwd \u00b5s per step",
                    "",
                    "| implementation | " + " | ".join(f"{axis}={v}" for v in values) + " |",
                    "|---|" + "---:|" * len(values),
                ]
                for label in labels:
                    cells = []
                    for value in values:
                        match = next(
                            (
                                e
                                for e in chosen
                                if e["label"] == label and e["shape"][axis] == value
                            ),
                            None,
                        )
                        us = None if match is None else _mode_value(match, "fwdbwd", "us_per_step")
                        cells.append("-" if us is None else f"{us:.1f}")
                    lines.append(f"| {label} | " + " | ".join(cells) + " |")
                blocks.append("\n".join(lines))
    return blocks


def markdown_report(report: dict[str, Any]) -> str:
    machine, versions, settings = report["machine"], report["versions"], report["settings"]
    cpu = machine["cpu"]
    lines = [
        f"# rnnax benchmark: {machine['name']} ({settings['mode']})",
        "",
        f"- created: {report['created']}; command: `{' '.join(report['argv']) or '(defaults)'}`",
        (
            f"- machine: {machine['platform']} / {machine['device_kind']} x{machine['device_count']}; "
            f"CPU {cpu.get('model')}, {machine['usable_cores']} usable cores; "
            f"{machine['cpu_device_count']} JAX CPU device(s); torch threads "
            f"{machine['torch'].get('threads', '-')}; load average (1/5/15 min) "
            f"{machine['load_average_start']} at start, {machine['load_average_end']} at end"
        ),
        "- versions: " + ", ".join(f"{k} {v}" for k, v in versions.items() if v),
        f"- rnnax commit: {report.get('rnnax_commit')}; strategies: "
        + (", ".join(settings["strategies"]) or "(no strategy keyword)"),
        (
            f"- {settings['repeats']} interleaved repeats after {settings['warmup']} warm-up calls; "
            "median reported"
        ),
        *(f"- note: {note}" for note in report.get("notes", [])),
    ]
    for dtype, gemm in report["gemm"].items():
        lines.append(
            f"- GEMM ceiling ({gemm['size']}\u00b2 {dtype} matmul, jitted): "
            f"{gemm['gflops']:.0f} GFLOP/s ({gemm['median_s'] * 1e3:.2f} ms)"
        )
    lines += [
        "",
        (
            "fwd+bwd is the gradient of sum(ys\u00b2) w.r.t. the parameters and the inputs. "
            "\u00b5s/step, seq/s, GFLOP/s, % GEMM, compile s and the ratios are for fwd+bwd "
            "(fwd when only fwd was run; backward counted as 2x forward). compile s: lower+compile "
            "(\u2020 torch: first call minus median). bwd temp MiB: XLA's temp buffer size for "
            "fwd+bwd (\u2021 torch: tensors autograd saved for the backward pass). \u00d7 linen, "
            "\u00d7 torch: time over flax.linen's / torch's for the same cell and shape (< 1 is faster). "
            "torch's and flax's GRUs are the reset_after form: compare them with "
            "rnnax[...,reset_after]."
        ),
        "",
    ]
    sweep_axes = settings.get("sweep") or []
    in_sweep_only = {
        id(e) for e in report["results"] if e["sweep_axes"] and not e.get("in_shape_set")
    }
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for entry in report["results"]:
        if id(entry) in in_sweep_only:
            continue
        key = (entry["cell"], tuple(entry["shape"].values()), entry["dtype"])
        groups.setdefault(key, []).append(entry)
    for entries in groups.values():
        lines += [
            config_table(
                entries,
                report["gemm"].get(entries[0]["dtype"]),
                report.get("floor", {}).get(_config_key(entries[0])),
            ),
            "",
        ]
        diffs = report["agreement"].get(_config_key(entries[0]))
        if diffs:
            lines += [
                "Max |ys - rnnax| with shared weights: "
                + ", ".join(f"{label} {value:.1e}" for label, value in diffs.items()),
                "",
            ]
    if sweep_axes:
        for block in sweep_tables(report["results"], sweep_axes):
            lines += [block, ""]
    lines += recommendation_lines(report.get("auto_recommendation") or {})
    errors = [e for e in report["results"] if e["error"]]
    if errors:
        lines += (
            ["## Errors", ""]
            + [
                f"- {e['label']} {e['cell']} {e['shape']} {e['dtype']}: {e['error']}"
                for e in errors
            ]
            + [""]
        )
    return "\n".join(lines)


def _strategy_of(entry: dict[str, Any]) -> str | None:
    """The plain strategy an rnnax entry ran (``None`` for "auto", tiling variants, others)."""
    options = entry.get("options") or {}
    if entry.get("impl") != "rnnax" or "pallas" in options:
        return None
    strategy = options.get("strategy")
    return None if strategy in (None, "auto") else strategy


def auto_recommendation(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The measurement hook for each cell's ``"auto"`` choice (``rnnax.Cell.auto``, keyed by
    the registered cell name, so ``"gru"``'s reset-after variants count as
    ``"gru_reset_after"``): the fastest strategy per cell.

    For every (cell, dtype, shape) the rnnax strategy with the smallest median (fwd+bwd
    where it was run, else fwd); per cell and dtype, how many shapes each strategy won
    and the geometric-mean time of each relative to the fastest. ``fastest`` is the strategy
    with the smallest geometric mean over the shapes where every strategy ran.
    """
    import math

    table: dict[tuple[str, str], dict[str, dict[str, float]]] = {}
    for entry in results:
        strategy = _strategy_of(entry)
        if strategy is None or entry.get("error"):
            continue
        form = variant_cell(entry["cell"], entry["options"])
        median = _mode_value(entry, _primary(entry), "median_s")
        if median is None:
            continue
        shape = "-".join(f"{axis}{entry['shape'][axis]}" for axis in AXES)
        table.setdefault((form, entry["dtype"]), {}).setdefault(shape, {})[strategy] = median
    out: dict[str, Any] = {}
    for (form, dtype), shapes in sorted(table.items()):
        wins: dict[str, int] = {}
        for times in shapes.values():
            best = min(times, key=times.__getitem__)
            wins[best] = wins.get(best, 0) + 1
        common = set.intersection(*(set(times) for times in shapes.values()))
        relative = {}
        for strategy in sorted(common):
            logs = [math.log(times[strategy] / min(times.values())) for times in shapes.values()]
            relative[strategy] = math.exp(sum(logs) / len(logs))
        out.setdefault(form, {})[dtype] = {
            "fastest": min(relative, key=relative.__getitem__) if relative else None,
            "wins": wins,
            "geomean_vs_fastest": relative,
            "shapes": shapes,
        }
    return out


def recommendation_lines(recommendation: dict[str, Any]) -> list[str]:
    if not recommendation:
        return []
    lines = [
        "## Fastest rnnax strategy (the measurement hook for each cell's `auto`)",
        "",
        "Per registered cell and dtype over this run's shapes: the strategy with the smallest "
        "geometric-mean time (fwd+bwd where run), shapes won, and each strategy's "
        "geometric-mean time over the fastest per shape. A choice for a cell's "
        "`rnnax.Cell.auto` needs a run at rest over the shapes that matter.",
        "",
        "| cell | dtype | fastest | wins | \u00d7 fastest (geomean) |",
        "|---|---|---|---|---|",
    ]
    for form, per_dtype in recommendation.items():
        for dtype, row in per_dtype.items():
            wins = ", ".join(f"{k} {v}" for k, v in sorted(row["wins"].items()))
            rel = ", ".join(
                f"{k} {v:.2f}"
                for k, v in sorted(row["geomean_vs_fastest"].items(), key=lambda item: item[1])
            )
            lines.append(f"| {form} | {dtype} | {row['fastest']} | {wins} | {rel} |")
    return [*lines, ""]


def _config_key(entry: dict[str, Any]) -> str:
    shape = entry["shape"]
    sizes = "-".join(f"{axis}{shape[axis]}" for axis in AXES)
    return f"{entry['cell']}-{sizes}-{entry['dtype']}"


def plot_sweep(report: dict[str, Any], path: Path) -> bool:
    """Time per step (fwd+bwd, solid; fwd, dashed) against each swept axis; one panel each."""
    axes_names = report["settings"].get("sweep") or []
    entries = [e for e in report["results"] if e["sweep_axes"] and not e["error"]]
    if not axes_names or not entries:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted({(e["cell"], e["dtype"]) for e in entries})
    figure, grid = plt.subplots(
        len(rows), len(axes_names), squeeze=False, figsize=(5 * len(axes_names), 3.8 * len(rows))
    )
    for row, (cell, dtype) in enumerate(rows):
        labels = list(dict.fromkeys(e["label"] for e in entries if e["cell"] == cell))
        for column, axis in enumerate(axes_names):
            panel = grid[row][column]
            for index, label in enumerate(labels):
                chosen = sorted(
                    (
                        e
                        for e in entries
                        if e["cell"] == cell
                        and e["dtype"] == dtype
                        and e["label"] == label
                        and axis in e["sweep_axes"]
                    ),
                    key=lambda e: e["shape"][axis],
                )
                color = f"C{index % 10}"
                for mode, style in (("fwdbwd", "-"), ("fwd", "--")):
                    points = [
                        (e["shape"][axis], e[mode]["us_per_step"])
                        for e in chosen
                        if "us_per_step" in e.get(mode, {})
                    ]
                    if points:
                        xs, ys = zip(*points, strict=True)
                        panel.plot(
                            xs,
                            ys,
                            style,
                            marker="o",
                            markersize=3,
                            color=color,
                            label=label if mode == "fwdbwd" else None,
                        )
            base = report["settings"]["sweep_base"]
            fixed = ", ".join(f"{k}={v}" for k, v in base.items() if k != axis)
            panel.set_title(f"{cell.upper()} {dtype}: vs {axis} ({fixed})", fontsize=9)
            panel.set_xlabel(axis)
            panel.set_ylabel("\u00b5s per step (solid fwd+bwd, dashed fwd)")
            panel.set_xscale("log", base=2)
            ticks = sorted({e["shape"][axis] for e in entries if axis in e["sweep_axes"]})
            panel.set_xticks(ticks, [str(tick) for tick in ticks])
            panel.minorticks_off()
            panel.set_yscale("log")
            panel.grid(True, which="both", alpha=0.3)
            panel.legend(fontsize=7)
    figure.suptitle(f"rnnax benchmark, {report['machine']['name']}", fontsize=11)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    _write_atomically(path, buffer.getvalue())
    return True


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def _configs(args: argparse.Namespace) -> tuple[list[Config], dict[str, int] | None]:
    if args.shapes is not None:
        base_shapes = args.shapes
    elif args.quick:  # --quick --gpu-suite: the GPU suite's code paths at the tiny shape
        base_shapes = QUICK_SHAPES
    else:
        base_shapes = GPU_SHAPES if args.gpu_suite else DEFAULT_SHAPES
    shapes: dict[tuple[int, ...], set[str]] = {tuple(shape): set() for shape in base_shapes}
    in_shape_set = set(shapes)
    sweep_base = None
    if args.sweep:
        if args.quick:
            base, values = QUICK_SWEEP_BASE, QUICK_SWEEP_VALUES
        elif args.gpu_suite:
            base, values = GPU_SWEEP_BASE, GPU_SWEEP_VALUES
        else:
            base, values = SWEEP_BASE, SWEEP_VALUES
        sweep_base = dict(zip(AXES, base, strict=True))
        for axis in args.sweep:
            for value in values[axis]:
                shape = list(base)
                shape[AXES.index(axis)] = value
                shapes.setdefault(tuple(shape), set()).add(axis)
    configs = []
    for dtype in args.dtype:
        for cell in args.cells:
            for shape, axes in shapes.items():
                configs.append(
                    Config(
                        cell,
                        *shape,
                        dtype=dtype,
                        sweep_axes=tuple(sorted(axes)),
                        modes=tuple(args.modes),
                        in_shape_set=shape in in_shape_set,
                    )
                )
    return configs, sweep_base


def _torch_setup(args: argparse.Namespace, jax: Any) -> tuple[str | None, dict[str, Any]]:
    if args.impls is not None and "torch" not in args.impls:
        return None, {"available": None, "reason": "not selected (--impls)"}
    try:
        import torch
    except ImportError:
        return None, {"available": False}
    threads = args.torch_threads or usable_cores()
    torch.set_num_threads(threads)
    device = "cuda" if jax.default_backend() == "gpu" and torch.cuda.is_available() else "cpu"
    info = {
        "available": True,
        "threads": torch.get_num_threads(),
        "device": device,
        "mkldnn": bool(torch.backends.mkldnn.is_available()),
    }
    if device == "cuda":
        info["cudnn"] = torch.backends.cudnn.version()
        info["gpu"] = torch.cuda.get_device_name()
        # TF32 settings change cuDNN's float32 RNN speed; JAX's default float32 matmul
        # precision on GPU may use TF32 too (recorded in machine.jax_default_matmul_precision).
        info["cudnn_allow_tf32"] = bool(torch.backends.cudnn.allow_tf32)
        info["matmul_allow_tf32"] = bool(torch.backends.cuda.matmul.allow_tf32)
    return device, info


def _rnnax_private(name: str) -> Callable[..., Any] | None:
    """A private rnnax helper, looked up where it has lived; informative use only."""
    import importlib

    for module in ("rnnax._strategies", "rnnax._cores"):
        try:
            function = getattr(importlib.import_module(module), name, None)
        except ImportError:
            continue
        if callable(function):
            return function
    return None


def timed_strategies(args: argparse.Namespace, backend: str) -> list[str]:
    """The plain strategies (``rnnax.STRATEGIES`` order) timed for at least one of the
    ``--cells`` in one of the ``--dtype`` dtypes."""
    return [
        name
        for name in _requested_strategies(args.strategies, backend)
        if not name.startswith(AUTO_INNER_PREFIX)
        and any(_runnable(name, cell, dtype) for cell in args.cells for dtype in args.dtype)
    ]


def timed_cells(cells: Sequence[str]) -> list[str]:
    """The registered cells a run of ``--cells`` times: each named cell, and for ``"gru"``
    also ``"gru_reset_after"`` (its reset-after variants), once each."""
    expanded = [
        name for cell in cells for name in (cell, variant_cell(cell, {"reset_after": True}))
    ]
    return list(dict.fromkeys(expanded))


def auto_details(batch: int | None = None, cell: str = "lstm") -> dict[str, Any] | None:
    """What ``strategy="auto"`` does here: the strategy it resolves to for the registered cell
    ``cell`` and, for a batch size, over how many devices it splits the batch (rnnax
    internals; ``None`` where unknown)."""
    resolve, devices = _rnnax_private("resolve_strategy"), _rnnax_private("batch_devices")
    details: dict[str, Any] = {}
    try:
        if resolve is not None:
            details["resolves_to"] = str(resolve("auto", cell))
        if devices is not None and batch is not None:
            split = devices(batch, "auto")
            details["batch_devices"] = 1 if split is None else len(split)
    except Exception:  # informative only
        pass
    return details or None


def _write_atomically(path: Path, content: str | bytes) -> None:
    """A run killed mid-write (they are long) leaves the previous results whole."""
    from rnnax._io import write_atomically  # imported late: JAX must not start before the flags

    write_atomically(path, content)


def _write_report(report: dict[str, Any], files: dict[str, Path]) -> str:
    """Writes the JSON and Markdown (with the strategy recommendation so far); returns the
    Markdown."""
    report["auto_recommendation"] = auto_recommendation(report["results"])
    markdown = markdown_report(report)
    _write_atomically(files["json"], json.dumps(report, indent=1) + "\n")
    _write_atomically(files["markdown"], markdown + "\n")
    return markdown


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the benchmark; writes OUT/<device>/<tag>.json, .md (and .png for a sweep)."""
    args = _parse(argv)
    host_flag_effective = None
    if args.host_devices is not None:
        host_flag_effective = set_host_devices(args.host_devices)
    # On GPU, JAX would otherwise take 75% of the memory up front and starve torch's CUDA
    # allocator; an explicit user setting wins.
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    import jax

    import rnnax

    if args.host_devices is not None and len(jax.devices("cpu")) != args.host_devices:
        print(
            f"warning: --host-devices {args.host_devices} asked for, but JAX has "
            f"{len(jax.devices('cpu'))} CPU device(s): JAX was initialized before this "
            "script could set XLA_FLAGS (run it as a fresh process)",
            file=sys.stderr,
        )
    torch_device, torch_info = _torch_setup(args, jax)
    machine = machine_info(jax, torch_info)
    configs, sweep_base = _configs(args)
    has_strategy = "strategy" in inspect.signature(rnnax.lstm).parameters
    mode = "-".join(
        [
            *(["quick"] if args.quick else []),
            *(["gpu"] if args.gpu_suite else []),
            "custom" if args.shapes is not None else "default",
            *(["sweep"] if args.sweep else []),
        ]
    )
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "argv": list(argv) if argv is not None else sys.argv[1:],
        "machine": machine,
        "versions": library_versions(),
        "rnnax_commit": rnnax_commit(),
        "settings": {
            "mode": mode,
            "modes": args.modes,
            "dtypes": args.dtype,
            "cells": args.cells,
            "impls": args.impls,
            "repeats": args.repeats,
            "warmup": args.warmup,
            "seed": args.seed,
            "strategy_keyword": has_strategy,
            "strategies": timed_strategies(args, jax.default_backend()) if has_strategy else [],
            "auto": {cell: auto_details(cell=cell) for cell in timed_cells(args.cells)},
            "host_devices": {
                "requested": args.host_devices,
                "flag_set_before_init": host_flag_effective,
                "cpu_devices": machine["cpu_device_count"],
            },
            "torch_threads": torch_info.get("threads"),
            "sweep": args.sweep or [],
            "sweep_base": sweep_base,
            "gpu_suite": args.gpu_suite,
            "floor": args.floor,
            "pallas_variants": PALLAS_VARIANTS if args.pallas_variants else None,
            "loss": "sum(ys.astype(float32) ** 2); grads w.r.t. params and xs",
        },
        "gemm": {},
        "floor": {},
        "results": [],
        "agreement": {},
        "notes": list(dict.fromkeys(note for cfg in configs for note in config_notes(cfg, args))),
    }
    for dtype in args.dtype:
        report["gemm"][dtype] = measure_gemm(jax, args.gemm_size, dtype, args.repeats)
    tag = args.tag or "-".join(
        [mode, *args.dtype] + ([f"host{args.host_devices}"] if args.host_devices else [])
    )
    directory = Path(args.out) / machine["name"]
    directory.mkdir(parents=True, exist_ok=True)
    files = {"json": directory / f"{tag}.json", "markdown": directory / f"{tag}.md"}
    report["files"] = {kind: str(path) for kind, path in files.items()}
    machine["load_average_end"] = None  # until the end
    for index, cfg in enumerate(configs, 1):
        if not args.quiet:
            print(
                f"[{index}/{len(configs)}] {cfg.cell} {cfg.shape} {cfg.dtype}",
                file=sys.stderr,
                flush=True,
            )
        key = _config_key({"cell": cfg.cell, "shape": cfg.shape, "dtype": cfg.dtype})
        latency = None
        if args.floor:
            latency = report["floor"][key] = measure_floor(jax, cfg, args.repeats)
        impls = build_all(cfg, args, jax, torch_device)
        time_interleaved(impls, args.repeats, args.warmup)
        gemm = report["gemm"][cfg.dtype]["gflops"]
        for impl in impls:
            entry = summarize(cfg, impl, gemm, latency)
            entry["in_shape_set"] = cfg.in_shape_set
            report["results"].append(entry)
        report["agreement"][key] = agreement(impls, cfg.cell)
        del impls
        jax.clear_caches()
        if index < len(configs):
            # Partial results on disk after every configuration: a long GPU run that is cut
            # off (a time limit, a hung compile) keeps what it measured.
            report["complete"] = False
            _write_report(report, files)

    report["complete"] = True
    machine["load_average_end"] = load_average()
    markdown = _write_report(report, files)
    if not args.no_plot and args.sweep:
        png = directory / f"{tag}.png"
        if plot_sweep(report, png):
            files["plot"] = png
        report["files"] = {kind: str(path) for kind, path in files.items()}
        _write_atomically(files["json"], json.dumps(report, indent=1) + "\n")
    if not args.quiet:
        print(markdown)
        print("\nwrote " + ", ".join(str(path) for path in files.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
