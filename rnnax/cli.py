"""The ``rnnax`` command line: ``rnnax compare`` (the main job) and ``rnnax bench``.

``rnnax compare`` trains LSTM and GRU forecasters side by side on a data set that ships with
rnnax and prints the explainer's table with a measured value and a verdict per claim; see
``rnnax compare --help``. ``rnnax bench`` runs ``benchmarks/bench_rnn.py`` from a source
checkout with the arguments given. ``python -m rnnax`` is the same command.

Usage errors (unknown data set, non-positive sizes, an unwritable ``--out``) print one line on
stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

USAGE_ERROR = 2

_EPILOG = """\
The run writes report.json, report.md and PNG plots (with matplotlib: pip install 'rnnax[plot]')
into --out, and prints the explainer's table: each claim, the value measured on this run
beside it, and a verdict (supported / not supported on this run). report.md says how each
verdict was decided.
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


_positive_int = _number(int, "a positive integer", lambda value: value >= 1)
_non_negative_int = _number(int, "an integer >= 0", lambda value: value >= 0)
_positive_float = _number(float, "a positive number", lambda value: 0 < value < float("inf"))


def _lengths(minimum: int):
    def parse(text: str) -> tuple[int, ...]:
        parts = [part for part in text.split(",") if part.strip()]
        try:
            values = tuple(int(part) for part in parts)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated integers, got {text!r}"
            ) from None
        if any(value < minimum for value in values):
            raise argparse.ArgumentTypeError(
                f"every length must be an integer >= {minimum}, got {text!r}"
            )
        return values

    return parse


def build_parser() -> argparse.ArgumentParser:
    """The ``rnnax`` argument parser (subcommands ``compare`` and ``bench``)."""
    parser = _Parser(
        prog="rnnax", description="rnnax: LSTM and GRU networks in JAX for time-series prediction."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    compare = commands.add_parser(
        "compare",
        help="train LSTM and GRU side by side and measure the explainer's claims",
        description="Trains LSTM and GRU forecasters under identical settings (K seeds each, "
        "trained in "
        "parallel in one jit via vmap), runs the memory tasks, and prints the explainer's "
        "table with a measured value and a verdict per claim.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
        type=_positive_int,
        default=default.hidden,
        metavar="N",
        help="hidden size of the LSTM, and of the GRU with --match hidden "
        f"(default {default.hidden})",
    )
    main.add_argument(
        "--layers",
        type=_positive_int,
        default=default.layers,
        metavar="L",
        help=f"stacked recurrent layers (default {default.layers})",
    )
    main.add_argument(
        "--seeds",
        type=_positive_int,
        default=default.seeds,
        metavar="K",
        help=f"seeds per model, trained in parallel (default {default.seeds})",
    )
    main.add_argument(
        "--steps",
        type=_positive_int,
        default=default.steps,
        metavar="S",
        help=f"optimizer steps of the forecasting training (default {default.steps})",
    )
    main.add_argument(
        "--match",
        choices=("hidden", "params"),
        default=default.match,
        help="give the GRU the LSTM's hidden size, or size it to the LSTM's parameter "
        "budget (default hidden)",
    )
    main.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="output folder (default: a new runs/compare-<dataset>-<time>)",
    )
    more = compare.add_argument_group("more options")
    more.add_argument(
        "--lookback",
        type=_positive_int,
        default=None,
        metavar="N",
        help="input window (default per data set; 24 for airline_passengers)",
    )
    more.add_argument(
        "--horizon",
        type=_positive_int,
        default=None,
        metavar="N",
        help="forecast steps (default per data set; 12 for airline_passengers)",
    )
    more.add_argument(
        "--batch-size",
        type=_positive_int,
        default=default.batch_size,
        metavar="B",
        help=f"minibatch size (default {default.batch_size})",
    )
    more.add_argument(
        "--lr",
        type=_positive_float,
        default=default.learning_rate,
        help=f"Adam learning rate for forecasting (default {default.learning_rate})",
    )
    more.add_argument(
        "--eval-every",
        type=_positive_int,
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
        "two models' best seed-mean validation losses)",
    )
    more.add_argument(
        "--memory-steps",
        type=_non_negative_int,
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
        type=_non_negative_int,
        default=default.copy_symbols,
        metavar="K",
        help=f"copy task: symbols to remember; 0 skips it (default {default.copy_symbols})",
    )
    more.add_argument(
        "--copy-delay",
        type=_positive_int,
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
    more.add_argument("--no-progress", action="store_true", help="no progress bars")
    more.add_argument("--no-plots", action="store_true", help="no PNG plots")

    commands.add_parser(
        "bench",
        add_help=False,
        help="run benchmarks/bench_rnn.py (needs a source checkout); arguments are passed through",
        description="Runs benchmarks/bench_rnn.py with the given arguments "
        "(try: rnnax bench --help).",
    )
    return parser


def _usage_error(prog: str, message: str) -> int:
    """Prints ``message`` as one ``<prog>: error:`` line on stderr; returns the usage status."""
    print(f"{prog}: error: {message}", file=sys.stderr)
    return USAGE_ERROR


def _bench_script() -> Path | None:
    import rnnax

    script = Path(rnnax.__file__).resolve().parent.parent / "benchmarks" / "bench_rnn.py"
    return script if script.is_file() else None


def bench(argv: Sequence[str]) -> int:
    """Runs ``benchmarks/bench_rnn.py`` in a fresh Python process (so its ``--host-devices`` can
    set ``XLA_FLAGS`` before JAX starts); returns its exit status."""
    script = _bench_script()
    if script is None:
        return _usage_error(
            "rnnax bench",
            "benchmarks/bench_rnn.py was not found next to the rnnax package; "
            "'rnnax bench' needs a source checkout (git clone, then pip install -e .)",
        )
    return subprocess.call([sys.executable, str(script), *argv])


def _compare(args: argparse.Namespace, argv: Sequence[str], parser: argparse.ArgumentParser) -> int:
    from rnnax import data
    from rnnax.compare import (
        CompareConfig,
        OutDirError,
        baseline_summary,
        check_out_dir,
        compare,
        default_out_dir,
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
            progress=not args.no_progress,
            plots=not args.no_plots,
        )
        out = check_out_dir(default_out_dir(config.dataset) if args.out is None else args.out)
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
    print()
    print(terminal_table(rows(report)))
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
