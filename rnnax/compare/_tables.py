"""The tables a comparison prints: the explainer's table, the per-cell table, the baselines.

:func:`terminal_table` prints the judged claims (``rnnax.compare._claims.rows``);
:func:`cell_rows` gives every compared cell's measurements (:class:`CellRow`), which
:func:`cells_terminal_table` prints and ``report.md`` shows when a run compares cells beyond the
explainer's two; :func:`baseline_summary` sets each cell's test MASE against the naive
forecasts. Each takes a report, a bare result or ``report.json``'s dict.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from rnnax._statistics import beats, mean_interval
from rnnax.compare._cells import CLAIM_CELLS, label
from rnnax.compare._claims import ReportLike
from rnnax.compare._format import kilo, memory_summary, plus_minus
from rnnax.compare._json import as_report
from rnnax.compare._results import MeanCI, MemoryTaskResult, Row


def terminal_table(table: Sequence[Row]) -> str:
    """The table for the terminal: each claim above its measured value, a verdict per row."""
    headers = ("feature", "LSTM", "GRU", "verdict")
    first = [(row.feature, row.lstm_claim, row.gru_claim, row.verdict) for row in table]
    second = [("", f"  {row.lstm_measured}", f"  {row.gru_measured}", "") for row in table]
    widths = [max(len(headers[i]), *(len(r[i]) for r in first + second)) for i in range(4)]

    def line(cells: tuple[str, ...]) -> str:
        return " | ".join(
            cell.ljust(width) for cell, width in zip(cells, widths, strict=True)
        ).rstrip()

    rule = "-+-".join("-" * width for width in widths)
    out = [line(headers), rule]
    for a, b in zip(first, second, strict=True):
        out += [line(a), line(b)]
    return "\n".join(out)


def baseline_summary(report: ReportLike) -> str:
    """One line per model: test MASE against the seasonal-naive baseline, which a model beats
    only when the 95% t interval of its test MASE over the seeds lies wholly below it
    (``rnnax.evaluation.beats``)."""
    result = as_report(report).result
    base = result.baselines
    reference = base["seasonal_naive"].mase
    lines = [
        f"baselines (test MASE): naive {base['naive'].mase:.3f}, seasonal naive {reference:.3f}"
    ]
    for cell, model in result.models.items():
        mase = model.forecast.test.mase
        per_seed = model.forecast.test_per_seed.mase
        finite = [value for value in per_seed if value is not None]
        if len(finite) < 2 or len(finite) != len(per_seed):
            verdict = "too few finite seeds to tell"
        else:
            interval = mean_interval(finite)
            verdict = (
                f"beats seasonal naive (95% interval up to {interval.high:.3f})"
                if beats(interval, reference)
                else f"does NOT beat seasonal naive with confidence (95% interval "
                f"{interval.low:.3f}..{interval.high:.3f})"
            )
        lines.append(f"{label(cell).upper()} test MASE {plus_minus(mase)}: {verdict}")
    return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class CellRow:
    """One compared cell's measurements, as the per-cell table shows them.

    Attributes:
        cell: the registered name.
        description: the cell's one-line description (``rnnax.Cell.description``).
        hidden: its hidden size in this run.
        rnn_params: parameters of the recurrent layers.
        params: parameters of the whole forecaster (recurrent layers and head).
        flops_per_step: forward FLOPs per time step of one sequence.
        fwd_seq_per_s: forward sequences per second at the lookback.
        fwd_bwd_seq_per_s: forward+backward sequences per second at the lookback.
        test_mase: test MASE as ``[mean, 95% half-width]`` over the seeds.
        time_to_target_s: training seconds to the target validation loss, ``None`` if missed.
        steps_to_target: optimizer steps to the target, ``None`` if missed.
        train_steps: optimizer steps trained in all.
        memory: the score of each memory task (seed mean), by task name.
    """

    cell: str
    description: str
    hidden: int
    rnn_params: int
    params: int
    flops_per_step: int
    fwd_seq_per_s: float
    fwd_bwd_seq_per_s: float
    test_mase: list[float | None]
    time_to_target_s: float | None
    steps_to_target: int | None
    train_steps: int
    memory: dict[str, float | None]

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def has_extra_cells(report: ReportLike) -> bool:
    """Whether a report compares other cells than exactly the explainer's two, so that it
    shows the per-cell table."""
    return set(as_report(report).result.cells) != set(CLAIM_CELLS)


def cell_rows(report: ReportLike) -> list[CellRow]:
    """Every compared cell's measurements, one row each, in the report's order."""
    result = as_report(report).result
    return [
        CellRow(
            cell=cell,
            description=model.size.description,
            hidden=model.size.hidden,
            rnn_params=model.size.rnn_params,
            params=model.size.params,
            flops_per_step=model.size.flops_per_step,
            fwd_seq_per_s=model.speed.fwd_seq_per_s,
            fwd_bwd_seq_per_s=model.speed.fwd_bwd_seq_per_s,
            test_mase=list(model.forecast.test.mase),
            time_to_target_s=model.training.time_to_target_s,
            steps_to_target=model.training.steps_to_target,
            train_steps=model.training.train_steps,
            memory={
                name: task.scores[cell].score.mean for name, task in result.memory_tasks.items()
            },
        )
        for cell, model in result.models.items()
    ]


CELL_HEADERS = (
    "cell",
    "hidden",
    "rnn params / params",
    "FLOP/step",
    "fwd / fwd+bwd seq/s",
    "test MASE",
    "to target",
    "memory tasks",
)
"""The per-cell table's columns."""


def _to_target(seconds: float | None, steps: int | None, trained: int) -> str:
    if seconds is None:
        return f"not reached ({trained} steps)"
    return f"{seconds:.2f} s ({steps} steps)"


def cell_fields(row: CellRow, tasks: Mapping[str, MemoryTaskResult]) -> tuple[str, ...]:
    """A row's values as the per-cell table shows them, in ``CELL_HEADERS`` order."""
    return (
        label(row.cell),
        str(row.hidden),
        f"{row.rnn_params:,} / {row.params:,}",
        f"{row.flops_per_step:,}",
        f"{kilo(row.fwd_seq_per_s)} / {kilo(row.fwd_bwd_seq_per_s)}",
        plus_minus(MeanCI(*row.test_mase)),
        _to_target(row.time_to_target_s, row.steps_to_target, row.train_steps),
        memory_summary(tasks, row.cell) or "not run",
    )


def cells_terminal_table(report: ReportLike) -> str:
    """The per-cell table for the terminal (every compared cell, one line each)."""
    result = as_report(report).result
    table = [cell_fields(row, result.memory_tasks) for row in cell_rows(result)]
    widths = [
        max(len(CELL_HEADERS[i]), *(len(fields[i]) for fields in table))
        for i in range(len(CELL_HEADERS))
    ]

    def line(fields: tuple[str, ...]) -> str:
        return " | ".join(
            field.ljust(width) for field, width in zip(fields, widths, strict=True)
        ).rstrip()

    return "\n".join(
        [line(CELL_HEADERS), "-+-".join("-" * width for width in widths), *map(line, table)]
    )
