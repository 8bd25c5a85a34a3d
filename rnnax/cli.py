"""The ``rnnax`` command line: ``rnnax compare`` (the main job), ``rnnax forecast`` and
``rnnax bench``.

``rnnax compare`` trains LSTM and GRU forecasters (and any other registered cells named with
``--cells``) side by side on a data set that ships with rnnax and prints the explainer's table
with a measured value and a verdict per claim; see ``rnnax compare --help``. ``rnnax bench``
times rnnax's strategies against flax, equinox and PyTorch (rnnax._bench; ``rnnax bench
--help``). Help needs no JAX, so it answers at once: the ``rnnax compare`` options are built
from the fields of :class:`~rnnax.compare.CompareConfig` (rnnax.compare._config, the standard
library only), each with the flag, help, bounds and group its ``metadata`` names.
``rnnax forecast`` trains a forecaster on the user's own CSV, backtests it against the naive
baselines and forecasts what comes next, or forecasts with a saved model (rnnax.pipeline;
``rnnax forecast --help``); its options' defaults come from rnnax.pipeline._options (the
standard library only). ``python -m rnnax`` is the same command.

Usage errors (unknown data set or cell, non-positive sizes, an unwritable ``--out``) print one
line on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from rnnax.compare._config import ALL_DATASETS, CompareConfig  # standard library only: no JAX
from rnnax.pipeline import _options as forecast_options  # the standard library only: no JAX

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


def _integer(minimum: int, maximum: int):
    """An integer from ``minimum`` up to ``maximum``: larger values would not finish (or not fit
    in memory) on any machine this runs on, so they are usage errors, not hours of waiting."""
    kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
    return _number(int, f"{kind} (at most {maximum:,})", lambda value: minimum <= value <= maximum)


def _real(minimum: float, exclusive: bool, maximum: float | None):
    """A finite number above ``minimum`` (or at least it, unless ``exclusive``), up to
    ``maximum`` where there is one."""
    kind = (
        "a positive number"
        if (minimum, exclusive) == (0.0, True)
        else f"a number {'>' if exclusive else '>='} {minimum:g}"
    )
    top = float("inf") if maximum is None else maximum
    description = kind if maximum is None else f"{kind} of at most {maximum:g}"

    def valid(value: float) -> bool:
        above = minimum < value if exclusive else minimum <= value
        return above and value <= top and value != float("inf")

    return _number(float, description, valid)


def _listed(kind: type, minimum: float, maximum: float, exclusive: bool = False):
    """Comma-separated numbers of ``kind`` from ``minimum`` (excluded where ``exclusive``) to
    ``maximum`` (``--memory-lengths``, ``--lr-search``)."""
    noun = "integer" if kind is int else "number"
    article = "an" if kind is int else "a"
    bounds = (
        f"above {minimum:g} and at most {maximum:g}"
        if exclusive
        else f"from {minimum:,} to {maximum:,}"
    )

    def parse(text: str) -> tuple[Any, ...]:
        parts = [part for part in text.split(",") if part.strip()]
        try:
            values = tuple(kind(part) for part in parts)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated {noun}s, got {text!r}"
            ) from None
        if not values:
            raise argparse.ArgumentTypeError(
                f"expected at least one comma-separated {noun}, got {text!r}"
            )
        if any(
            not (minimum < value if exclusive else minimum <= value) or not value <= maximum
            for value in values
        ):
            raise argparse.ArgumentTypeError(
                f"every value must be {article} {noun} {bounds}, got {text!r}"
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


# What the fields' metadata cannot say: the option parser of a list of names (checking them
# needs the cell registry, that is JAX: only when --cells is given) and the text added to the
# help, which must not load the registry (``rnnax compare --help`` answers without JAX).
_CLI_ONLY: dict[str, dict[str, Any]] = {
    "cells": {"type": _cell_names, "help": "; list them with rnnax.registered_cells()"},
}


def _option_type(field: dataclasses.Field) -> Callable[[str], Any]:
    """The argparse ``type`` of a numeric or list field, from its type and its metadata."""
    meta = field.metadata
    if field.type.startswith("tuple["):  # lists (the annotation is a string: PEP 563)
        kind = float if field.type.startswith("tuple[float") else int
        exclusive = meta.get("exclusive_minimum", False)
        return _listed(kind, meta["minimum"], meta["maximum"], exclusive)
    if field.type.startswith("float"):
        return _real(meta["minimum"], meta.get("exclusive_minimum", False), meta.get("maximum"))
    return _integer(meta["minimum"], meta["maximum"])


def _add_field_option(group: Any, field: dataclasses.Field) -> None:
    """Adds the option of a :class:`~rnnax.compare.CompareConfig` field to ``group``: its flag,
    default, help and metavar from the field's metadata, its parser from its type."""
    meta, extra = field.metadata, _CLI_ONLY.get(field.name, {})
    options: dict[str, Any] = {"dest": field.name, "help": meta["help"] + extra.get("help", "")}
    if isinstance(field.default, bool):  # --no-progress: a flag that turns the field off
        options["action"] = "store_false" if field.default else "store_true"
    elif "choices" in meta:
        options.update(choices=meta["choices"], default=field.default)
    elif "type" in extra:
        options.update(type=extra["type"], default=field.default)
    elif "minimum" in meta:
        options.update(type=_option_type(field), default=field.default)
    else:  # a name checked when the config is made (--dataset)
        options["default"] = field.default
    if "action" not in options and "choices" not in options:  # --lr's LR, not LEARNING_RATE
        options["metavar"] = meta.get("metavar", meta["flag"].lstrip("-").upper())
    group.add_argument(meta["flag"], **options)


def _compare_fields() -> list[dataclasses.Field]:
    """The :class:`~rnnax.compare.CompareConfig` fields the command line offers, in order."""
    return [field for field in dataclasses.fields(CompareConfig) if field.metadata["flag"]]


def _add_compare(commands: Any) -> None:
    """Adds ``rnnax compare`` and its options (one per field with a ``"flag"``, and ``--out``)."""
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
    for name in ("main", "more"):
        group = compare.add_argument_group(f"{name} options")
        for field in _compare_fields():
            if field.metadata["group"] == name:
                _add_field_option(group, field)
        if name == "main":
            group.add_argument(
                "--out",
                type=_out_dir,
                default=None,
                metavar="DIR",
                help="output folder (default: a new runs/compare-<dataset>-<time>)",
            )


_FORECAST_USAGE = """\
rnnax forecast --csv FILE --horizon H [options]
       rnnax forecast --model PATH --csv FILE [--column NAME] [--out DIR]"""

_FORECAST_EPILOG = """\
The run reads the CSV (a time column and one or more value columns; frequency and period
inferred), splits it in time into training, validation and test segments, trains on the
first (early stopping on the second), backtests on the held-out test segment beside the naive
and seasonal-naive baselines, and forecasts the H steps after the series' end with an
interval. It writes into --out: forecast.csv, backtest.json, backtest.md, forecast.png (with
matplotlib: pip install 'rnnax[plot]') and the saved model model.rnnax.

With --model (a model.rnnax, or the folder of an earlier run) it forecasts from the CSV's last
steps without training: training options are refused.
"""

# ``rnnax forecast`` options that choose how to train: refused with --model.
_FORECAST_TRAINING = (
    "horizon",
    "period",
    "lookback",
    "cell",
    "hidden",
    "likelihood",
    "level",
    "epochs",
    "patience",
    "learning_rate",
    "seed",
)


def _cell_name(text: str) -> str:
    """``--cell``: a registered cell's name (checked against the registry only when given)."""
    from rnnax._protocol import registered_cells

    cells = registered_cells()
    if text not in cells:
        raise argparse.ArgumentTypeError(
            f"unknown cell {text!r}; registered cells are {list(cells)}"
        )
    return text


def _file_name(text: str) -> str:
    if not text.strip() or "\0" in text:
        raise argparse.ArgumentTypeError(f"expected a file name, got {text!r}")
    return text


def _level(text: str) -> float:
    """``--level``: a number strictly between 0 and 1."""
    return _number(float, "a number between 0 and 1 (exclusive)", lambda v: 0.0 < v < 1.0)(text)


def _add_forecast_data(parser: Any) -> None:
    group = parser.add_argument_group("data")
    group.add_argument(
        "--csv",
        required=True,
        type=_file_name,
        metavar="FILE",
        help="the CSV file: a header line, a time column and value columns",
    )
    group.add_argument(
        "--model",
        type=_file_name,
        metavar="PATH",
        help="forecast with this saved model (a model.rnnax or a run's folder) instead of training",
    )
    group.add_argument(
        "--column",
        action="append",
        dest="columns",
        metavar="NAME",
        help="a value column to forecast (repeat for several; default: every "
        "column but the time column)",
    )
    group.add_argument(
        "--time-column",
        metavar="NAME",
        help="the column of time stamps (default: the first, if it holds them)",
    )
    group.add_argument(
        "--nan-policy",
        choices=forecast_options.NAN_POLICIES,
        default="raise",
        help="missing cells and time steps: report them (raise, the default), fill them "
        "(ffill, interpolate) or drop their rows",
    )
    group.add_argument(
        "--horizon",
        type=_integer(1, 100_000),
        metavar="H",
        help="steps to forecast (required without --model)",
    )
    group.add_argument(
        "--period",
        type=_integer(1, 100_000),
        metavar="N",
        help="the seasonal period (default: from the frequency, 12 for monthly)",
    )
    group.add_argument(
        "--lookback",
        type=_integer(1, 100_000),
        metavar="N",
        help="steps the model reads (default: twice the larger of period and H)",
    )


def _add_forecast_model(parser: Any) -> None:
    defaults = forecast_options.TRAINING_DEFAULTS
    group = parser.add_argument_group("model and training")
    group.add_argument(
        "--cell",
        type=_cell_name,
        metavar="NAME",
        help=f"a registered cell (default {defaults['cell']})",
    )
    group.add_argument(
        "--hidden",
        type=_integer(1, 4096),
        metavar="N",
        help=f"hidden size (default {defaults['hidden']})",
    )
    group.add_argument(
        "--likelihood",
        choices=forecast_options.LIKELIHOODS,
        help=f"the forecast head (default {defaults['likelihood']}; point gets "
        "an interval from validation errors)",
    )
    group.add_argument(
        "--level",
        type=_level,
        metavar="P",
        help=f"the interval's coverage (default {defaults['level']})",
    )
    group.add_argument(
        "--epochs",
        type=_integer(1, 1_000_000),
        metavar="N",
        help=f"most epochs to train (default {defaults['epochs']})",
    )
    group.add_argument(
        "--patience",
        type=_integer(1, 1_000_000),
        metavar="N",
        help="stop after N epochs without a better validation loss "
        f"(default {defaults['patience']})",
    )
    group.add_argument(
        "--lr",
        dest="learning_rate",
        type=_real(0.0, True, 10.0),
        metavar="LR",
        help=f"Adam learning rate (default {defaults['learning_rate']})",
    )
    group.add_argument(
        "--seed",
        type=_integer(0, 2**32 - 1),
        metavar="N",
        help=f"random seed (default {defaults['seed']})",
    )


def _add_forecast(commands: Any) -> None:
    """Adds ``rnnax forecast``: train on a CSV and forecast, or forecast with a saved model."""
    forecast = commands.add_parser(
        "forecast",
        help="train a forecaster on your CSV, backtest it and forecast the next steps",
        usage=_FORECAST_USAGE,
        description="Trains a forecaster on your CSV file, backtests it against the naive "
        "baselines and forecasts the steps after its end, with an interval; or, with --model, "
        "forecasts with a saved model.",
        epilog=_FORECAST_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_forecast_data(forecast)
    _add_forecast_model(forecast)
    group = forecast.add_argument_group("output")
    group.add_argument(
        "--out",
        type=_out_dir,
        default=None,
        metavar="DIR",
        help="output folder (default: a new runs/forecast-<name>-<time>)",
    )
    group.add_argument(
        "--no-progress", dest="progress", action="store_false", help="show no progress"
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``rnnax`` argument parser (subcommands ``compare``, ``forecast`` and ``bench``);
    needs no JAX."""
    parser = _Parser(
        prog="rnnax", description="rnnax: LSTM and GRU networks in JAX for time-series prediction."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    _add_compare(commands)
    _add_forecast(commands)
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


def _config_and_out(args: argparse.Namespace) -> tuple[CompareConfig, Path]:
    """The comparison's config (each offered field from its option, the rest at their
    defaults) and its checked output folder.

    Raises:
        ValueError: a setting the options' parsers cannot check alone (an unknown data set, a
            window too long for the series, ``--seeds`` not a multiple of ``--seed-devices``).
        OutDirError: ``--out`` is not a writable folder.
    """
    from rnnax.compare import check_out_dir, default_out_dir
    from rnnax.compare._data import check_data

    config = CompareConfig(**{field.name: getattr(args, field.name) for field in _compare_fields()})
    out = check_out_dir(default_out_dir(config.data_name) if args.out is None else args.out)
    if config.seed_devices is not None:
        _expose_cpu_devices(config.seed_devices)
    check_data(config)  # data-dependent errors (a window too long for the series) now, not later
    return config, out


def _print_summary(report: dict[str, Any], out: Path) -> None:
    """Prints the explainer's table, the other cells' table, the baselines and the files."""
    from rnnax.compare import (
        baseline_summary,
        cells_terminal_table,
        has_extra_cells,
        rows,
        terminal_table,
    )

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


def _compare(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """Runs ``rnnax compare`` with the parsed ``args``; returns the exit status."""
    from rnnax.compare import OutDirError, compare

    prog = "rnnax compare"
    try:
        config, out = _config_and_out(args)
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
    if config.dataset == ALL_DATASETS:
        from rnnax.compare import summary_table

        print(
            f"\n{summary_table(report)}\n\nsummary: {out / 'summary.md'} (and summary.json; "
            f"each data set's report in its subfolder); {report['wall_s']:.0f} s"
        )
        return 0
    _print_summary(report, out)
    return 0


def _one_line(error: BaseException) -> str:
    """An error's message on one line (an ``OSError``'s reason and file, not its repr)."""
    if isinstance(error, OSError) and error.strerror and error.filename is not None:
        return f"{error.strerror}: {str(error.filename)!r}"
    return " ".join(str(error).split())


def _forecast_conflict(args: argparse.Namespace) -> str | None:
    """What is wrong with the combination of ``rnnax forecast`` options, or ``None``."""
    if args.model is None:
        return None if args.horizon is not None else "--horizon is required (or --model PATH)"
    given = [name for name in _FORECAST_TRAINING if getattr(args, name) is not None]
    if given:
        flag = "--lr" if given[0] == "learning_rate" else f"--{given[0]}"
        return f"{flag} is a training option; --model forecasts with a saved model as it is"
    return None


def _forecast_plan(args: argparse.Namespace) -> Any:
    """The checked run (rnnax.pipeline): CSV read, model loaded, folder made.

    Raises:
        ValueError: a CSV or model that does not fit, an unwritable ``--out``.
        OSError: a missing or unreadable file.
    """
    from rnnax.pipeline import _run

    where = {
        "column": args.columns,
        "time_column": args.time_column,
        "nan_policy": args.nan_policy,
        "out": args.out,
    }
    if args.model is not None:
        return _run.plan_from_model(args.model, args.csv, progress=args.progress, **where)
    settings = {
        name: getattr(args, name)
        for name in forecast_options.TRAINING_DEFAULTS
        if getattr(args, name) is not None
    }
    return _run.plan_training(
        args.csv,
        horizon=args.horizon,
        period=args.period,
        lookback=args.lookback,
        progress=args.progress,
        **where,
        **settings,
    )


def _forecast(args: argparse.Namespace) -> int:
    """Runs ``rnnax forecast`` with the parsed ``args``; returns the exit status."""
    prog = "rnnax forecast"
    conflict = _forecast_conflict(args)
    if conflict is not None:
        return _usage_error(prog, conflict)
    try:
        plan = _forecast_plan(args)
    except (ValueError, OSError) as error:
        return _usage_error(prog, _one_line(error))
    from rnnax.pipeline import _run

    try:
        run = _run.run_from_model(plan) if args.model else _run.run_training(plan)
    except KeyboardInterrupt:
        print(
            f"{prog}: interrupted; nothing written to {str(plan.out)!r} after the last "
            "complete file",
            file=sys.stderr,
        )
        return 130
    print("\n".join(run.summary_lines()))
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
    if args.command == "forecast":
        return _forecast(args)
    return _compare(args, argv[1:])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
