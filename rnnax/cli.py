"""The ``rnnax`` command line: ``rnnax compare`` (the main job) and ``rnnax bench``.

``rnnax compare`` trains LSTM and GRU forecasters (and any other registered cells named with
``--cells``) side by side on a data set that ships with rnnax and prints the explainer's table
with a measured value and a verdict per claim; see ``rnnax compare --help``. ``rnnax bench``
times rnnax's strategies against flax, equinox and PyTorch (rnnax._bench; ``rnnax bench
--help``). Help needs no JAX, so it answers at once: the ``rnnax compare`` options are built
from the fields of :class:`~rnnax.compare.CompareConfig` (rnnax.compare._config, the standard
library only), each with the flag, help, bounds and group its ``metadata`` names.
``python -m rnnax`` is the same command.

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

from rnnax.compare._config import CompareConfig  # the standard library only: no JAX

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


def _lengths(minimum: int, maximum: int):
    """Comma-separated integers from ``minimum`` to ``maximum`` (``--memory-lengths``)."""

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


# What the fields' metadata cannot say: the option parser of a list of names (checking them
# needs the cell registry, that is JAX: only when --cells is given) and the text added to the
# help, which must not load the registry (``rnnax compare --help`` answers without JAX).
_CLI_ONLY: dict[str, dict[str, Any]] = {
    "cells": {"type": _cell_names, "help": "; list them with rnnax.registered_cells()"},
}


def _option_type(field: dataclasses.Field) -> Callable[[str], Any]:
    """The argparse ``type`` of a numeric or list field, from its type and its metadata."""
    meta = field.metadata
    if field.type.startswith("tuple["):  # lengths (the annotation is a string: PEP 563)
        return _lengths(meta["minimum"], meta["maximum"])
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


def build_parser() -> argparse.ArgumentParser:
    """The ``rnnax`` argument parser (subcommands ``compare`` and ``bench``); needs no JAX."""
    parser = _Parser(
        prog="rnnax", description="rnnax: LSTM and GRU networks in JAX for time-series prediction."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    _add_compare(commands)
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
    from rnnax.compare._data import prepare

    config = CompareConfig(**{field.name: getattr(args, field.name) for field in _compare_fields()})
    out = check_out_dir(default_out_dir(config.dataset) if args.out is None else args.out)
    if config.seed_devices is not None:
        _expose_cpu_devices(config.seed_devices)
    prepare(config)  # data-set-dependent errors (a window too long for the series) now, not later
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
    _print_summary(report, out)
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
    return _compare(args, argv[1:])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
