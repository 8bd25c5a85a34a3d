"""The ``rnnax`` command line: ``rnnax compare`` (the main job) and ``rnnax bench``.

``rnnax compare`` trains LSTM and GRU forecasters (and any other registered cells named with
``--cells``) side by side on a data set that ships with rnnax and prints the explainer's table
with a measured value and a verdict per claim; see ``rnnax compare --help``. ``rnnax bench``
times rnnax's strategies against flax, equinox and PyTorch (rnnax._bench; ``rnnax bench
--help``). Help needs no JAX, so it answers at once.
``python -m rnnax`` is the same command.

Usage errors (unknown data set or cell, non-positive sizes, an unwritable ``--out``) print one
line on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

USAGE_ERROR = 2

_EPILOG = """\
The run writes report.json, report.md and PNG plots (with matplotlib: pip install 'rnnax[plot]')
into --out, and prints the explainer's table: each claim, the value measured on this run
beside it, and a verdict (supported / not supported on this run). report.md says how each
verdict was decided. The table compares the LSTM and the GRU; other cells named in --cells
(any registered cell, e.g. --cells lstm,gru,gru_reset_after) get their measurements in a
table of their own.
"""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message}\n")


def _number(convert, description: str, valid):
    """An argparse ``type`` converting with ``convert`` and accepting values where ``valid``."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {description}, got {text!r}") from None
        if not valid(value):
            raise argparse.ArgumentTypeError(f"must be {description}, got {text!r}")
        return value

    return parse


def _expose_cpu_devices(count: int) -> None:
    """On a CPU-only machine the seed split needs ``count`` CPU devices, which JAX fixes when it
    starts: expose them now, unless the user already chose a number (then theirs stands)."""
    import os

    from rnnax._machine import CPU_DEVICE_FLAG, set_cpu_devices

    if "JAX_NUM_CPU_DEVICES" in os.environ or CPU_DEVICE_FLAG in os.environ.get("XLA_FLAGS", ""):
        return
    set_cpu_devices(count)  # too late (main() called from a program with JAX started): no effect


def _positive_int(maximum: int):
    """A positive integer up to ``maximum``: larger values would not finish (or not fit in
    memory) on any machine this runs on, so they are usage errors, not hours of waiting."""
    return _number(
        int, f"a positive integer (at most {maximum:,})", lambda value: 1 <= value <= maximum
    )


def _non_negative_int(maximum: int):
    return _number(
        int, f"an integer >= 0 (at most {maximum:,})", lambda value: 0 <= value <= maximum
    )


_positive_float = _number(float, "a positive number", lambda value: 0 < value < float("inf"))
_learning_rate = _number(float, "a positive number of at most 10", lambda value: 0 < value <= 10)

# Upper bounds of the integer options (see _positive_int).
_MAX_HIDDEN = 4096
_MAX_LAYERS = 16
_MAX_SEEDS = 256
_MAX_STEPS = 1_000_000
_MAX_BATCH = 1_000_000
_MAX_LENGTH = 100_000
_MAX_SYMBOLS = 1_000


def _lengths(minimum: int, maximum: int = _MAX_LENGTH):
    def parse(text: str) -> tuple[int, ...]:
        parts = [part for part in text.split(",") if part.strip()]
        try:
            values = tuple(int(part) for part in parts)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated integers, got {text!r}"
            ) from None
        if not values:
            raise argparse.ArgumentTypeError(
                f"expected at least one comma-separated integer, got {text!r}"
            )
        if any(not minimum <= value <= maximum for value in values):
            raise argparse.ArgumentTypeError(
                f"every length must be an integer from {minimum} to {maximum:,}, got {text!r}"
            )
        return values

    return parse


def _cell_names(text: str) -> tuple[str, ...]:
    """``--cells``: comma-separated names of registered cells (``rnnax.registered_cells()``)."""
    from rnnax.compare._cells import check_cells

    try:
        return check_cells(part.strip() for part in text.split(",") if part.strip())
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _out_dir(text: str) -> Path:
    if not text.strip() or "\0" in text:
        raise argparse.ArgumentTypeError(f"expected a folder name, got {text!r}")
    return Path(text)


def build_parser() -> argparse.ArgumentParser:
    """The ``rnnax`` argument parser (subcommands ``compare`` and ``bench``)."""
    parser = _Parser(
        prog="rnnax", description="rnnax: LSTM and GRU networks in JAX for time-series prediction."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    compare = commands.add_parser(
        "compare",
        help="train LSTM and GRU side by side and measure the explainer's claims",
        description="Trains LSTM and GRU forecasters (and any other registered cells named "
        "with --cells) under identical settings (K seeds each, trained in "
        "parallel in one jit via vmap), runs the memory tasks, and prints the explainer's "
        "table with a measured value and a verdict per claim.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    import rnnax
    from rnnax.compare._experiment import DEFAULT_DATASET, CompareConfig

    default = CompareConfig()
    main = compare.add_argument_group("main options")
    main.add_argument(
        "--dataset",
        default=DEFAULT_DATASET,
        metavar="NAME",
        help=f"a data set shipped with rnnax (default {DEFAULT_DATASET}; "
        "see rnnax.data.available())",
    )
    main.add_argument(
        "--hidden",
        type=_positive_int(_MAX_HIDDEN),
        default=default.hidden,
        metavar="N",
        help="hidden size of the LSTM (of the first cell when the LSTM is not compared), and "
        f"of every other cell with --match hidden (default {default.hidden})",
    )
    main.add_argument(
        "--layers",
        type=_positive_int(_MAX_LAYERS),
        default=default.layers,
        metavar="L",
        help=f"stacked recurrent layers (default {default.layers})",
    )
    main.add_argument(
        "--seeds",
        type=_positive_int(_MAX_SEEDS),
        default=default.seeds,
        metavar="K",
        help=f"seeds per model, trained in parallel (default {default.seeds})",
    )
    main.add_argument(
        "--steps",
        type=_positive_int(_MAX_STEPS),
        default=default.steps,
        metavar="S",
        help=f"optimizer steps of the forecasting training (default {default.steps})",
    )
    main.add_argument(
        "--match",
        choices=("hidden", "params"),
        default=default.match,
        help="give every cell the LSTM's hidden size, or size each to the LSTM's parameter "
        "budget (default hidden)",
    )
    main.add_argument(
        "--cells",
        type=_cell_names,
        default=default.cells,
        metavar="CELL,...",
        help="registered cells to compare (default " + ",".join(default.cells) + "; "
        "registered: " + ", ".join(rnnax.registered_cells()) + "); the explainer's table "
        "needs lstm and gru, every other cell gets a table of its own",
    )
    main.add_argument(
        "--out",
        type=_out_dir,
        default=None,
        metavar="DIR",
        help="output folder (default: a new runs/compare-<dataset>-<time>)",
    )
    more = compare.add_argument_group("more options")
    more.add_argument(
        "--lookback",
        type=_positive_int(_MAX_LENGTH),
        default=None,
        metavar="N",
        help="input window (default per data set; 24 for airline_passengers)",
    )
    more.add_argument(
        "--horizon",
        type=_positive_int(_MAX_LENGTH),
        default=None,
        metavar="N",
        help="forecast steps (default per data set; 12 for airline_passengers)",
    )
    more.add_argument(
        "--batch-size",
        type=_positive_int(_MAX_BATCH),
        default=default.batch_size,
        metavar="B",
        help=f"minibatch size (default {default.batch_size})",
    )
    more.add_argument(
        "--lr",
        type=_learning_rate,
        default=default.learning_rate,
        help=f"Adam learning rate for forecasting (default {default.learning_rate})",
    )
    more.add_argument(
        "--eval-every",
        type=_positive_int(_MAX_STEPS),
        default=default.eval_every,
        metavar="N",
        help=f"steps between validation evaluations (default {default.eval_every})",
    )
    more.add_argument(
        "--target",
        type=_positive_float,
        default=None,
        metavar="LOSS",
        help="target validation loss for time-to-target (default: 1.1 x the larger of the "
        "LSTM's and the GRU's best seed-mean validation losses)",
    )
    more.add_argument(
        "--memory-steps",
        type=_non_negative_int(_MAX_STEPS),
        default=default.memory_steps,
        metavar="N",
        help=f"optimizer steps per memory task; 0 skips them (default {default.memory_steps})",
    )
    more.add_argument(
        "--memory-lengths",
        type=_lengths(2),
        default=default.memory_lengths,
        metavar="T,...",
        help="adding-problem lengths (default " + ",".join(map(str, default.memory_lengths)) + ")",
    )
    more.add_argument(
        "--copy-symbols",
        type=_non_negative_int(_MAX_SYMBOLS),
        default=default.copy_symbols,
        metavar="K",
        help=f"copy task: symbols to remember; 0 skips it (default {default.copy_symbols})",
    )
    more.add_argument(
        "--copy-delay",
        type=_positive_int(_MAX_LENGTH),
        default=default.copy_delay,
        metavar="D",
        help="copy task: steps between the symbols and their recall "
        f"(default {default.copy_delay})",
    )
    more.add_argument(
        "--sweep-lengths",
        type=_lengths(1),
        default=default.sweep_lengths,
        metavar="T,...",
        help="sequence lengths of the throughput sweep (default "
        + ",".join(map(str, default.sweep_lengths))
        + ")",
    )
    more.add_argument(
        "--seed-devices",
        type=_positive_int(4096),
        default=None,
        metavar="N",
        help="split every model's seeds over N devices (N must divide --seeds; on CPU this "
        "exposes N CPU devices); each seed's numbers are unchanged",
    )
    more.add_argument("--no-progress", action="store_true", help="no progress bars")
    more.add_argument("--no-plots", action="store_true", help="no PNG plots")

    commands.add_parser(
        "bench",
        add_help=False,
        help="time rnnax's strategies against flax, equinox and torch (rnnax bench --help)",
        description="Times rnnax's strategies against flax, equinox and torch "
        "(try: rnnax bench --help).",
    )
    return parser


def _usage_error(prog: str, message: str) -> int:
    """Prints ``message`` as one ``<prog>: error:`` line on stderr; returns the usage status."""
    print(f"{prog}: error: {message}", file=sys.stderr)
    return USAGE_ERROR


def bench(argv: Sequence[str]) -> int:
    """Runs ``rnnax bench`` (rnnax._bench) in this process; returns the exit status. Usage
    errors are one line on stderr (exit status 2); ``--help`` needs no JAX."""
    from rnnax._bench import _options, _run

    try:
        args = _options.parse(list(argv), prog="rnnax bench", parser_class=_Parser)
    except SystemExit as exit_:  # a usage error (status 2) or --help (status 0)
        return exit_.code if isinstance(exit_.code, int) else USAGE_ERROR
    return _run.run(args, list(argv))


def _compare(args: argparse.Namespace, argv: Sequence[str], parser: argparse.ArgumentParser) -> int:
    from rnnax import data
    from rnnax.compare import (
        CompareConfig,
        OutDirError,
        baseline_summary,
        cells_terminal_table,
        check_out_dir,
        compare,
        default_out_dir,
        has_extra_cells,
        rows,
        terminal_table,
    )

    prog = "rnnax compare"
    if args.dataset not in data.available():
        return _usage_error(
            prog,
            f"unknown data set {args.dataset!r}; valid names are {', '.join(data.available())}",
        )
    try:
        config = CompareConfig(
            dataset=args.dataset,
            hidden=args.hidden,
            layers=args.layers,
            seeds=args.seeds,
            steps=args.steps,
            match=args.match,
            lookback=args.lookback,
            horizon=args.horizon,
            batch_size=args.batch_size,
            learning_rate=args.lr,
            eval_every=args.eval_every,
            target_loss=args.target,
            memory_steps=args.memory_steps,
            memory_lengths=args.memory_lengths,
            copy_symbols=args.copy_symbols,
            copy_delay=args.copy_delay,
            sweep_lengths=args.sweep_lengths,
            seed_devices=args.seed_devices,
            progress=not args.no_progress,
            plots=not args.no_plots,
            cells=args.cells,
        )
        out = check_out_dir(default_out_dir(config.dataset) if args.out is None else args.out)
        if config.seed_devices is not None:
            _expose_cpu_devices(config.seed_devices)
        from rnnax.compare._experiment import prepare

        prepare(
            config
        )  # data-set-dependent errors (a window too long for the series) now, not later
    except (ValueError, OutDirError) as error:
        return _usage_error(prog, str(error))
    command = "rnnax compare" + ("" if not argv else " " + shlex.join(argv))
    try:
        report = compare(config, out, command=command)
    except KeyboardInterrupt:
        print(
            f"{prog}: interrupted; nothing written to {str(out)!r} after the last complete file",
            file=sys.stderr,
        )
        return 130
    table = rows(report)
    print()
    print(terminal_table(table) if table else report["claims_note"])
    if has_extra_cells(report):
        print()
        print(cells_terminal_table(report))
    print()
    print(baseline_summary(report))
    print(
        f"\nreport: {out / 'report.md'} (and report.json"
        + (", " + ", ".join(report["plots"]) if report["plots"] else "")
        + f"); {report['wall_s']:.0f} s"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rnnax`` command; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "bench":
        return bench(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return USAGE_ERROR
    return _compare(args, argv[1:], parser)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
