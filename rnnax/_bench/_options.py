"""The ``rnnax bench`` command line: its options, their checks and the shape sets they name.

Standard library only (the registered cells are looked up after parsing), so ``rnnax bench
--help`` answers without starting JAX, and ``--host-devices`` is set before JAX starts.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SCHEMA = "rnnax-bench/1"

# (B, T, I, H): the shapes docs/PERFORMANCE.md says the field uses on CPU.
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
# The GPU suite (--gpu-suite): the FlashRNN / H100 shape of docs/PERFORMANCE.md (B=16, T=1024,
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
# "native" is a CPU loop (rnnax._native): never timed on a GPU.
CPU_ONLY_STRATEGIES = ("native",)
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
# "auto=<strategy>": auto's batch split over the CPU devices with <strategy> inside each shard,
# whatever rnnax's choice is; how a cell's choice (rnnax.Cell.auto) is decided.
AUTO_INNER_PREFIX = "auto="


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


def default_results_dir() -> Path:
    """Where results go without ``--out``: ``benchmarks/results`` of the source checkout rnnax
    is imported from, else ``./bench-results`` (an installed wheel)."""
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / ".git").exists() and (checkout / "benchmarks").is_dir():
        return checkout / "benchmarks" / "results"
    return Path("bench-results")


def build_parser(
    prog: str = "rnnax bench", parser_class: type[argparse.ArgumentParser] = argparse.ArgumentParser
) -> argparse.ArgumentParser:
    """The ``rnnax bench`` argument parser (``prog`` names it in usage and errors)."""
    parser = parser_class(
        prog=prog,
        description="Times rnnax's LSTM/GRU against flax.linen, flax.nnx, equinox and torch "
        "(and jax.experimental.rnn on GPU), interleaved in one process.",
    )
    _add_what_options(parser)
    _add_how_options(parser)
    _add_output_options(parser)
    return parser


def _add_what_options(parser: argparse.ArgumentParser) -> None:
    """What is timed: shapes, sweeps, dtypes, cells, implementations, strategies, modes."""
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


def _add_how_options(parser: argparse.ArgumentParser) -> None:
    """How it is timed: repeats, GEMM ceiling, GPU suite, latency floor, devices, threads."""
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


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    """Where the results go."""
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="results root; files go to OUT/<device>/ (default benchmarks/results in a "
        "source checkout, else ./bench-results)",
    )
    parser.add_argument(
        "--tag",
        default=None,
        help="file stem (default: <mode>-<dtypes>[-hostN], e.g. default-float32)",
    )
    parser.add_argument("--no-plot", action="store_true", help="skip the PNG plot")
    parser.add_argument("--quiet", action="store_true", help="do not print the tables")


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


def parse(
    argv: Sequence[str] | None,
    *,
    prog: str = "rnnax bench",
    parser_class: type[argparse.ArgumentParser] = argparse.ArgumentParser,
) -> argparse.Namespace:
    """Parses and checks ``argv``, filling in the defaults that depend on other options.

    A usage error exits with status 2 (``parser_class.error``), ``--help`` with status 0.
    """
    parser = build_parser(prog, parser_class)
    args = parser.parse_args(argv)
    if not args.cells:
        parser.error("--cells needs at least one cell")
    _check_cells(parser, args.cells)
    if args.gpu_suite:
        _gpu_suite_defaults(args)
    if args.dtype is None:
        args.dtype = ["float32"]
    _check_names(parser, args)
    _check_sweep(parser, args)
    _fill_counts(parser, args)
    return args


def _gpu_suite_defaults(args: argparse.Namespace) -> None:
    """``--gpu-suite``: the latency floor, and its dtypes, libraries, strategies and sweep
    where the options leave them open."""
    args.floor = True
    if args.dtype is None:
        args.dtype = ["float32", "bfloat16"]
    if args.impls is None:
        args.impls = ["rnnax", "torch", "jax.experimental.rnn"]
    if args.strategies is None:
        args.strategies = list(GPU_STRATEGIES)
    if args.sweep is None:
        args.sweep = "B"


def _check_names(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """``--dtype``, ``--strategies`` and ``--modes`` name what exists."""
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


def _check_sweep(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """``--sweep`` becomes a list of axes (empty for ``none``); something must be left to run."""
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


def _fill_counts(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """The counts' defaults (smaller with ``--quick``) and their lower bounds."""
    if args.repeats is None:
        args.repeats = 3 if args.quick else 20
    if args.warmup is None:
        args.warmup = 1 if args.quick else 3
    if args.gemm_size is None:
        args.gemm_size = 256 if args.quick else 2048
    if args.out is None:
        args.out = default_results_dir()
    for name in ("repeats", "gemm_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.warmup < 0:
        parser.error("--warmup must be >= 0")
    if args.host_devices is not None and args.host_devices < 1:
        parser.error("--host-devices must be >= 1")
