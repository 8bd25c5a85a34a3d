"""The settings of one comparison: :class:`CompareConfig`, its defaults and its one check.

Every field carries ``metadata`` for the command line, so ``rnnax compare`` can build its
options from ``dataclasses.fields(CompareConfig)``:

* ``"help"``: the option's help text.
* ``"flag"``: the option (``"--lr"``; ``"--no-progress"`` for a flag that sets the field to
  ``False``), or ``None`` for a setting the command line leaves at its default
  (``memory_learning_rate``, ``throughput_batch``).
* ``"group"``: ``"main"`` or ``"more"``, the help section the option is listed in.
* ``"metavar"``: the value's name in the help (absent where argparse's default is used).
* ``"minimum"`` / ``"maximum"``: for numbers and lists of lengths, the smallest value the
  config accepts and the largest the command line accepts (larger values would not finish, or
  not fit in memory, on any machine this runs on); ``"exclusive_minimum"``: ``True`` where the
  minimum itself is refused (a learning rate must be above 0).

This module imports the standard library only (no JAX, nothing from rnnax at import time), so
``rnnax --help`` can list the options at once; the check in ``__post_init__`` loads what it
needs (the registered cells, the shipped data sets) when a config is made.

Examples:
    >>> import dataclasses
    >>> hidden = {f.name: f for f in dataclasses.fields(CompareConfig)}["hidden"]
    >>> hidden.default, hidden.metadata["flag"], hidden.metadata["group"]
    (32, '--hidden', 'main')
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEFAULT_DATASET = "airline_passengers"
"""The data set ``rnnax compare`` runs on unless told otherwise."""

ALL_DATASETS = "all"
"""The ``dataset`` that runs the comparison on every shipped data set, one after the other."""

DEFAULT_CELLS: tuple[str, ...] = ("lstm", "gru")
"""What ``rnnax compare`` compares unless told otherwise."""

MATCH_CHOICES = ("hidden", "params")
"""How the cells are sized: the same hidden size, or the reference cell's parameter budget."""

DATASET_WINDOWS = {
    "airline_passengers": (24, 12),
    "co2": (104, 52),
    "sunspots_monthly": (48, 12),
    "sunspots_yearly": (22, 5),
}
"""``(lookback, horizon)`` per shipped data set; other data sets: horizon = period (5 without
seasonality) and lookback = twice the larger of period and horizon."""

# The command line's upper bounds (see the module docstring).
_MAX_HIDDEN = 4096
_MAX_LAYERS = 16
_MAX_SEEDS = 256
_MAX_STEPS = 1_000_000
_MAX_BATCH = 1_000_000
_MAX_LENGTH = 100_000
_MAX_SYMBOLS = 1_000
_MAX_DEVICES = 4096
_MAX_LEARNING_RATE = 10.0
_MAX_FACTOR = 100.0
_MAX_COUNT = 1_000

_HIDDEN, _LAYERS, _SEEDS, _STEPS, _BATCH, _EVAL_EVERY = 32, 1, 8, 600, 32, 20
_LEARNING_RATE, _MEMORY_LEARNING_RATE = 1e-2, 2e-2
_MEMORY_STEPS, _MEMORY_LENGTHS = 400, (50, 100, 200)
_COPY_SYMBOLS, _COPY_DELAY = 5, 20
_SWEEP_LENGTHS, _THROUGHPUT_BATCH = (16, 64, 256), 64
_LR_FACTORS, _SEARCH_SEEDS = (0.3, 1.0, 3.0), 2
_COUNTING_STEPS, _COUNTING_TRAIN_N, _COUNTING_TEST_N = 600, 10, 40
_LOOKBACK, _HORIZON = DATASET_WINDOWS[DEFAULT_DATASET]


def _option(default: Any, help: str, flag: str | None, group: str = "more", **more: Any) -> Any:
    """A dataclass field with its command-line metadata (see the module docstring)."""
    return dataclasses.field(
        default=default, metadata={"help": help, "flag": flag, "group": group, **more}
    )


def _listed(values: tuple[float, ...]) -> str:
    return ",".join(map(str, values))


@dataclasses.dataclass(frozen=True)
class CompareConfig:
    """Settings of one comparison (the ``rnnax compare`` options).

    Attributes:
        dataset: a name from ``rnnax.data.available()``, or ``"all"`` (``ALL_DATASETS``):
            every one of them, each report in its own subfolder, with a summary across them.
            ``None`` (the default): ``DEFAULT_DATASET``, or no shipped data set when ``csv``
            is given (the two are exclusive).
        hidden: hidden size of the reference cell (the LSTM when it is compared, else the
            first of ``cells``), and of every cell with ``match="hidden"``.
        layers: stacked recurrent layers of every model.
        seeds: K, the number of seeds trained in parallel per model.
        steps: optimizer steps of the forecasting training.
        match: ``"hidden"`` (same hidden size) or ``"params"`` (every other cell's hidden
            size is chosen so its total parameter count is closest to the reference cell's).
        lookback: input window length (default per data set, see ``DATASET_WINDOWS``).
        horizon: forecast length (default per data set).
        batch_size: minibatch size of every training.
        learning_rate: Adam's learning rate for forecasting.
        eval_every: optimizer steps between validation evaluations.
        target_loss: the validation loss the models race to; ``None``: 1.1 times the larger of
            the LSTM's and the GRU's best seed-mean validation losses, so both reach it (of
            every cell's, when the two are not both compared).
        memory_steps: optimizer steps per memory task (0 skips the memory tasks).
        memory_lengths: adding-problem lengths ``T``.
        copy_symbols: symbols to remember in the copy task (0 skips it).
        copy_delay: steps between the last symbol and the recall in the copy task.
        memory_learning_rate: Adam's learning rate for the memory tasks.
        lr_factors: the learning-rate search: before its final seeds, every model trains
            ``search_seeds`` other seeds at each of these multiples of its task's learning rate
            (``learning_rate`` for forecasting, ``memory_learning_rate`` for the memory and
            counting tasks), the same budget for every model, and keeps the rate with the
            lowest mean best validation loss. ``(1.0,)`` skips the search.
        search_seeds: seeds per learning rate in the search (seeds ``1000, 1001, ...``, never
            the final seeds ``0 .. seeds - 1``).
        counting_steps: optimizer steps per counting language (a^n b^n, a^n b^n c^n, Dyck-1);
            0 skips the counting tasks.
        counting_train_n: the counting tasks train on ``n = 1 .. counting_train_n``.
        counting_test_n: and test every ``n = 1 .. counting_test_n``.
        sweep_lengths: sequence lengths of the throughput sweep (the lookback is always added).
        throughput_batch: sequences per call when timing throughput.
        progress: show tqdm progress bars.
        plots: write PNG plots (needs matplotlib).
        seed_devices: split every model's seeds over the first ``seed_devices`` devices (a mesh
            with one ``"ensemble"`` axis; ``seeds`` must be a multiple of it), or ``None``
            (default): all seeds on one device. Each seed's numbers are the same either way,
            to float32 rounding.
        cells: the registered cells to compare (``rnnax.registered_cells()``), in the order
            the reports show them. The explainer's table needs ``"lstm"`` and ``"gru"``; every
            other cell is measured beside them (its own table in ``report.md``).
        csv: your own series instead of a shipped data set: a CSV file read by
            ``rnnax.data.from_csv`` (time column, frequency and period inferred); the
            comparison takes the file's stem as its name. Exclusive with ``dataset``.
        column: with ``csv``: the value column to forecast (default: the first).
        time_column: with ``csv``: the column of time stamps (default: inferred).
        period: with ``csv``: the seasonal period (default: from the inferred frequency);
            the windows follow it (horizon = period, 5 without seasonality; lookback = twice
            the larger of the two) unless ``lookback`` or ``horizon`` is given.

    Raises:
        TypeError: a field has the wrong type (a string or a bool where a number belongs).
        ValueError: a field has a wrong value (see :meth:`__post_init__`).
    """

    dataset: str | None = _option(
        None,
        f"a data set shipped with rnnax (default {DEFAULT_DATASET}; see rnnax.data.available()), "
        f"or {ALL_DATASETS}: every one of them, each in its own subfolder of --out, and a summary "
        "table across them",
        "--dataset",
        "main",
        metavar="NAME",
    )
    hidden: int = _option(
        _HIDDEN,
        "hidden size of the LSTM (of the first cell when the LSTM is not compared), and of "
        f"every other cell with --match hidden (default {_HIDDEN})",
        "--hidden",
        "main",
        metavar="N",
        minimum=1,
        maximum=_MAX_HIDDEN,
    )
    layers: int = _option(
        _LAYERS,
        f"stacked recurrent layers (default {_LAYERS})",
        "--layers",
        "main",
        metavar="L",
        minimum=1,
        maximum=_MAX_LAYERS,
    )
    seeds: int = _option(
        _SEEDS,
        f"seeds per model, trained in parallel (default {_SEEDS})",
        "--seeds",
        "main",
        metavar="K",
        minimum=1,
        maximum=_MAX_SEEDS,
    )
    steps: int = _option(
        _STEPS,
        f"optimizer steps of the forecasting training (default {_STEPS})",
        "--steps",
        "main",
        metavar="S",
        minimum=1,
        maximum=_MAX_STEPS,
    )
    match: str = _option(
        "hidden",
        "give every cell the LSTM's hidden size, or size each to the LSTM's parameter budget "
        "(default hidden)",
        "--match",
        "main",
        choices=MATCH_CHOICES,
    )
    lookback: int | None = _option(
        None,
        f"input window (default per data set; {_LOOKBACK} for {DEFAULT_DATASET})",
        "--lookback",
        metavar="N",
        minimum=1,
        maximum=_MAX_LENGTH,
    )
    horizon: int | None = _option(
        None,
        f"forecast steps (default per data set; {_HORIZON} for {DEFAULT_DATASET})",
        "--horizon",
        metavar="N",
        minimum=1,
        maximum=_MAX_LENGTH,
    )
    batch_size: int = _option(
        _BATCH,
        f"minibatch size (default {_BATCH})",
        "--batch-size",
        metavar="B",
        minimum=1,
        maximum=_MAX_BATCH,
    )
    learning_rate: float = _option(
        _LEARNING_RATE,
        f"Adam learning rate for forecasting (default {_LEARNING_RATE})",
        "--lr",
        minimum=0.0,
        exclusive_minimum=True,
        maximum=_MAX_LEARNING_RATE,
    )
    eval_every: int = _option(
        _EVAL_EVERY,
        f"steps between validation evaluations (default {_EVAL_EVERY})",
        "--eval-every",
        metavar="N",
        minimum=1,
        maximum=_MAX_STEPS,
    )
    target_loss: float | None = _option(
        None,
        "target validation loss for time-to-target (default: 1.1 x the larger of the LSTM's "
        "and the GRU's best seed-mean validation losses)",
        "--target",
        metavar="LOSS",
        minimum=0.0,
        exclusive_minimum=True,
    )
    memory_steps: int = _option(
        _MEMORY_STEPS,
        f"optimizer steps per memory task; 0 skips them (default {_MEMORY_STEPS})",
        "--memory-steps",
        metavar="N",
        minimum=0,
        maximum=_MAX_STEPS,
    )
    memory_lengths: tuple[int, ...] = _option(
        _MEMORY_LENGTHS,
        f"adding-problem lengths (default {_listed(_MEMORY_LENGTHS)})",
        "--memory-lengths",
        metavar="T,...",
        minimum=2,
        maximum=_MAX_LENGTH,
    )
    copy_symbols: int = _option(
        _COPY_SYMBOLS,
        f"copy task: symbols to remember; 0 skips it (default {_COPY_SYMBOLS})",
        "--copy-symbols",
        metavar="K",
        minimum=0,
        maximum=_MAX_SYMBOLS,
    )
    copy_delay: int = _option(
        _COPY_DELAY,
        f"copy task: steps between the symbols and their recall (default {_COPY_DELAY})",
        "--copy-delay",
        metavar="D",
        minimum=1,
        maximum=_MAX_LENGTH,
    )
    memory_learning_rate: float = _option(
        _MEMORY_LEARNING_RATE,
        f"Adam learning rate for the memory tasks (default {_MEMORY_LEARNING_RATE})",
        None,
        minimum=0.0,
        exclusive_minimum=True,
        maximum=_MAX_LEARNING_RATE,
    )
    lr_factors: tuple[float, ...] = _option(
        _LR_FACTORS,
        "learning-rate search: factors of --lr (and of the memory tasks' rate) each model tries "
        f"on --search-seeds other seeds before its final seeds; 1 skips it (default "
        f"{_listed(_LR_FACTORS)})",
        "--lr-search",
        metavar="F,...",
        minimum=0.0,
        exclusive_minimum=True,
        maximum=_MAX_FACTOR,
    )
    search_seeds: int = _option(
        _SEARCH_SEEDS,
        f"seeds per learning rate in the search (default {_SEARCH_SEEDS})",
        "--search-seeds",
        metavar="K",
        minimum=1,
        maximum=_MAX_SEEDS,
    )
    counting_steps: int = _option(
        _COUNTING_STEPS,
        "optimizer steps per counting language (a^n b^n, a^n b^n c^n, Dyck-1); 0 skips them "
        f"(default {_COUNTING_STEPS})",
        "--counting-steps",
        metavar="N",
        minimum=0,
        maximum=_MAX_STEPS,
    )
    counting_train_n: int = _option(
        _COUNTING_TRAIN_N,
        f"counting tasks: train on n = 1..N (default {_COUNTING_TRAIN_N})",
        "--counting-train-n",
        metavar="N",
        minimum=1,
        maximum=_MAX_COUNT,
    )
    counting_test_n: int = _option(
        _COUNTING_TEST_N,
        f"counting tasks: test n = 1..N (default {_COUNTING_TEST_N})",
        "--counting-test-n",
        metavar="N",
        minimum=1,
        maximum=_MAX_COUNT,
    )
    sweep_lengths: tuple[int, ...] = _option(
        _SWEEP_LENGTHS,
        f"sequence lengths of the throughput sweep (default {_listed(_SWEEP_LENGTHS)})",
        "--sweep-lengths",
        metavar="T,...",
        minimum=1,
        maximum=_MAX_LENGTH,
    )
    throughput_batch: int = _option(
        _THROUGHPUT_BATCH,
        f"sequences per call when timing throughput (default {_THROUGHPUT_BATCH})",
        None,
        metavar="B",
        minimum=1,
        maximum=_MAX_BATCH,
    )
    progress: bool = _option(True, "no progress bars", "--no-progress")
    plots: bool = _option(True, "no PNG plots", "--no-plots")
    seed_devices: int | None = _option(
        None,
        "split every model's seeds over N devices (N must divide --seeds; on CPU this exposes "
        "N CPU devices); each seed's numbers are unchanged",
        "--seed-devices",
        metavar="N",
        minimum=1,
        maximum=_MAX_DEVICES,
    )
    cells: tuple[str, ...] = _option(
        DEFAULT_CELLS,
        f"registered cells to compare (default {','.join(DEFAULT_CELLS)}); the explainer's "
        "table needs lstm and gru, every other cell gets a table of its own",
        "--cells",
        "main",
        metavar="CELL,...",
    )
    csv: str | None = _option(
        None,
        "your own series: a CSV file with a header line and one line per time step (time "
        "column, frequency and period inferred; see rnnax.data.from_csv); instead of --dataset",
        "--csv",
        "main",
        metavar="FILE",
    )
    column: str | None = _option(
        None,
        "with --csv: the value column to forecast (default: the first)",
        "--column",
        metavar="NAME",
    )
    time_column: str | None = _option(
        None, "with --csv: the time column (default: inferred)", "--time-column", metavar="NAME"
    )
    period: int | None = _option(
        None,
        "with --csv: the seasonal period (default: inferred from the time stamps)",
        "--period",
        metavar="N",
        minimum=1,
        maximum=_MAX_LENGTH,
    )

    @property
    def data_name(self) -> str:
        """What the comparison runs on: the CSV file's stem, the shipped data set's name, or
        ``"all"``.

        Examples:
            >>> CompareConfig().data_name, CompareConfig(dataset="co2").data_name
            ('airline_passengers', 'co2')
        """
        return Path(self.csv).stem if self.csv is not None else str(self.dataset)

    def __post_init__(self) -> None:
        """Checks every field, the one place a config is checked.

        Integers must be integers (``TypeError`` otherwise) of at least the field's
        ``"minimum"``; learning rates and ``target_loss`` finite numbers above 0; ``match``
        one of ``MATCH_CHOICES``; ``dataset`` a shipped data set or ``"all"``, or ``None``
        (``DEFAULT_DATASET`` without ``csv``); ``csv`` a path, exclusive with
        ``dataset``, and ``column``, ``time_column`` and ``period`` only with it; ``cells``
        registered cells, each once; ``seeds`` a multiple of ``seed_devices``. Lists
        (``cells`` and the lengths) are kept as tuples, so a config stays hashable.
        """
        # The checks need rnnax's core (the registry, the data sets): loaded here, not when
        # this module is imported (see the module docstring).
        from rnnax import _checks
        from rnnax.compare._cells import check_cells

        fields = {field.name: field.metadata for field in dataclasses.fields(self)}
        checked: dict[str, Any] = {"cells": check_cells(self.cells)}
        checked.update(_checked_data_source(self))
        for name in ("hidden", "layers", "seeds", "steps", "batch_size", "eval_every"):
            checked[name] = _checks.check_int(name, getattr(self, name), minimum=1)
        for name in (
            "throughput_batch",
            "memory_steps",
            "copy_symbols",
            "copy_delay",
            "search_seeds",
            "counting_steps",
            "counting_train_n",
            "counting_test_n",
        ):
            minimum = fields[name]["minimum"]
            checked[name] = _checks.check_int(name, getattr(self, name), minimum=minimum)
        for name in ("lookback", "horizon", "seed_devices"):
            if getattr(self, name) is not None:
                checked[name] = _checks.check_int(name, getattr(self, name), minimum=1)
        for name in ("memory_lengths", "sweep_lengths"):
            checked[name] = _lengths(name, getattr(self, name), fields[name]["minimum"])
        checked["lr_factors"] = _factors(self.lr_factors)
        if checked["counting_test_n"] < checked["counting_train_n"]:
            raise ValueError(
                f"counting_test_n={checked['counting_test_n']} must be at least "
                f"counting_train_n={checked['counting_train_n']}: the test includes the "
                "trained counts"
            )
        checked["match"] = _checks.check_choice("match", self.match, MATCH_CHOICES)
        for name in ("learning_rate", "memory_learning_rate"):
            checked[name] = _checks.check_real(
                name, getattr(self, name), minimum=0.0, exclusive=True
            )
        if self.target_loss is not None:
            checked["target_loss"] = _checks.check_real(
                "target_loss", self.target_loss, minimum=0.0, exclusive=True
            )
        for name in ("progress", "plots"):
            checked[name] = _checks.check_bool(name, getattr(self, name))
        devices = checked.get("seed_devices")
        if devices is not None and checked["seeds"] % devices != 0:
            raise ValueError(
                f"seeds={checked['seeds']} is not divisible by seed_devices={devices}: every "
                "device must train the same number of seeds"
            )
        for name, value in checked.items():
            object.__setattr__(self, name, value)


_CSV_ONLY = ("column", "time_column", "period")


def _checked_data_source(config: CompareConfig) -> dict[str, Any]:
    """``dataset``, or ``csv`` and its options, checked: the fields' values to keep."""
    from rnnax import _checks, data

    if config.csv is None:
        for name in _CSV_ONLY:
            if getattr(config, name) is not None:
                raise ValueError(f"{name} applies only to a CSV file: pass csv (--csv FILE) too")
        dataset = DEFAULT_DATASET if config.dataset is None else config.dataset
        if not isinstance(dataset, str):
            raise TypeError(f"dataset must be a data set name, got {dataset!r:.80}")
        if dataset != ALL_DATASETS and dataset not in data.available():
            raise ValueError(
                f"unknown data set {dataset!r}; valid names are {', '.join(data.available())} "
                f"(or {ALL_DATASETS}: every one of them)"
            )
        return {"dataset": dataset}
    csv = _checked_csv_path(config.csv)
    if config.dataset is not None:
        raise ValueError(
            "csv and dataset are exclusive: compare either your CSV file or a shipped data set "
            f"(leave dataset None with csv), got csv={csv!r} and dataset={config.dataset!r}"
        )
    for name in ("column", "time_column"):
        value = getattr(config, name)
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{name} must be a column name, got {value!r:.80}")
    checked: dict[str, Any] = {"csv": csv}
    if config.period is not None:
        checked["period"] = _checks.check_int("period", config.period, minimum=1)
    return checked


def _checked_csv_path(csv: object) -> str:
    """``csv`` as a ``str`` (the file is read, and its absence reported, when the comparison
    loads it: a report whose CSV file has moved can still be read back)."""
    if not isinstance(csv, (str, os.PathLike)) or not isinstance(os.fspath(csv), str):
        raise TypeError(f"csv must be a path to a CSV file, got {csv!r:.80}")
    return os.fspath(csv)


def per_dataset(config: CompareConfig) -> tuple[CompareConfig, ...]:
    """The comparisons ``config`` asks for: one per shipped data set for ``dataset="all"``
    (in ``rnnax.data.available()``'s order), else ``config`` alone.

    Examples:
        >>> [one.dataset for one in per_dataset(CompareConfig(dataset="all"))]
        ['airline_passengers', 'co2', 'sunspots_monthly', 'sunspots_yearly']
    """
    from rnnax import data

    if config.dataset != ALL_DATASETS:
        return (config,)
    return tuple(dataclasses.replace(config, dataset=name) for name in data.available())


def _lengths(name: str, values: Any, minimum: int) -> tuple[int, ...]:
    """``values`` as a tuple of integers of at least ``minimum`` each (may be empty)."""
    from rnnax._checks import check_int

    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a sequence of integers, got {values!r:.80}")
    return tuple(check_int(name, value, minimum=minimum) for value in values)


def _factors(values: Any) -> tuple[float, ...]:
    """``lr_factors`` as a non-empty tuple of distinct positive numbers."""
    from rnnax._checks import check_real

    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"lr_factors must be a sequence of numbers, got {values!r:.80}")
    factors = tuple(
        check_real("lr_factors", value, minimum=0.0, exclusive=True) for value in values
    )
    if not factors or len(set(factors)) != len(factors):
        raise ValueError(f"lr_factors must be distinct positive numbers, got {values!r:.80}")
    return factors


def settings(config: CompareConfig) -> dict[str, Any]:
    """The config as ``report.json`` records it (``"settings"``): every field but ``progress``
    and ``plots``, tuples as lists."""
    return {
        field.name: list(value) if isinstance(value, tuple) else value
        for field in dataclasses.fields(config)
        if field.name not in ("progress", "plots")
        for value in (getattr(config, field.name),)
    }


def from_settings(recorded: Mapping[str, Any]) -> CompareConfig:
    """The config a report's ``"settings"`` record (progress bars and plots off)."""
    names = {field.name for field in dataclasses.fields(CompareConfig)}
    values: dict[str, Any] = {
        key: tuple(v) if isinstance(v, list) else v for key, v in recorded.items()
    }
    return CompareConfig(
        **{key: value for key, value in values.items() if key in names},
        progress=False,
        plots=False,
    )
