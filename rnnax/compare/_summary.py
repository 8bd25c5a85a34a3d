"""The summary of ``rnnax compare --dataset all``: every shipped data set's test MASE, side by side.

:func:`summarize` reads the :class:`~rnnax.compare._results.CompareResult` of each data set
into a :class:`Summary`: per data set (:class:`DatasetSummary`) the test MASE of every cell
(mean and 95% half-width over the seeds) and of the naive baselines, the ratio GRU / LSTM and
the cell with the lowest MASE; across them the mean ratio and each cell's wins.
:func:`summary_json` and :func:`summary_from_json` are the one place a summary becomes
``summary.json``'s dict and is read back; :func:`summary_markdown` writes ``summary.md`` and
:func:`summary_table` the terminal's table.

Examples:
    >>> row = DatasetSummary(
    ...     "co2", {"lstm": MeanCI(0.5, 0.1), "gru": MeanCI(0.4, 0.1)}, {"naive": 1.0}
    ... )
    >>> row.ratio, row.winner
    (0.8, 'gru')
    >>> summary = summarize_rows([row], ["lstm", "gru"])
    >>> summary.mean_ratio, summary.wins
    (0.8, {'lstm': 0, 'gru': 1})
    >>> summary_from_json(summary_json(summary)) == summary
    True
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from rnnax._statistics import Interval, mean_interval, paired_ratio, verdict
from rnnax.compare._cells import label
from rnnax.compare._format import plus_minus
from rnnax.compare._results import CompareResult, MeanCI

SUMMARY_SCHEMA = "rnnax-compare-summary/1"
"""The ``"schema"`` of ``summary.json``."""

_BASELINES = {"naive": "naive", "seasonal_naive": "seasonal naive"}

RATIO_MARGIN = 0.10
"""Per data set, GRU / LSTM test-MASE ratios whose interval lies inside 1 ± this are
"similar"."""


@dataclasses.dataclass(frozen=True)
class DatasetSummary:
    """One data set's test MASE: every cell's and the baselines'.

    Attributes:
        dataset: the data set's name (and the subfolder of its report).
        cells: every compared cell's test MASE, mean and 95% half-width over the seeds.
        baselines: the naive forecasts' test MASE, by method.
    """

    dataset: str
    cells: dict[str, MeanCI]
    baselines: dict[str, float]
    per_seed: dict[str, list[float | None]] = dataclasses.field(default_factory=dict)

    @property
    def ratio_interval(self) -> Interval | None:
        """The GRU / LSTM test-MASE ratio, paired over the seeds (geometric mean and 95% t
        interval); ``None`` without both cells' per-seed scores (at least 2, all finite)."""
        lstm, gru = self.per_seed.get("lstm"), self.per_seed.get("gru")
        if lstm is None or gru is None or len(lstm) < 2 or len(lstm) != len(gru):
            return None
        values = [*lstm, *gru]
        if any(value is None or not value > 0 for value in values):
            return None
        return paired_ratio(gru, lstm)  # type: ignore[arg-type]

    @property
    def decided(self) -> str | None:
        """Which of the two the paired interval says forecast better: ``"gru"`` (the ratio's
        interval below 1), ``"lstm"`` (above), ``"similar"`` (inside 1 ± ``RATIO_MARGIN``) or
        ``"inconclusive"``; ``None`` without an interval."""
        interval = self.ratio_interval
        if interval is None:
            return None
        said = verdict(interval, margin=RATIO_MARGIN, reference=1.0)
        return {"lower": "gru", "higher": "lstm"}.get(said, said)

    @property
    def ratio(self) -> float | None:
        """The GRU's mean test MASE over the LSTM's (below 1: the GRU forecast better), to 4
        digits; ``None`` without both cells or a finite positive LSTM MASE."""
        lstm, gru = self.cells.get("lstm"), self.cells.get("gru")
        if lstm is None or gru is None or lstm.mean is None or gru.mean is None:
            return None
        if not lstm.mean > 0 or not math.isfinite(gru.mean / lstm.mean):
            return None
        return round(gru.mean / lstm.mean, 4)

    @property
    def winner(self) -> str | None:
        """The cell with the lowest mean test MASE; ``None`` on a tie or without a finite one."""
        scores = {cell: mase.mean for cell, mase in self.cells.items() if mase.mean is not None}
        if not scores:
            return None
        best = min(scores.values())
        winners = [cell for cell, score in scores.items() if score == best]
        return winners[0] if len(winners) == 1 else None


@dataclasses.dataclass(frozen=True)
class Summary:
    """The comparison on several data sets (``summary.json``).

    Attributes:
        rows: one per data set, in the order they ran.
        cells: the compared cells, in the reports' order.
        command: the command line that ran it.
        out: the output folder (each data set's report in its subfolder).
        wall_s: seconds all the comparisons took.
        schema: the ``summary.json`` schema.
    """

    rows: list[DatasetSummary]
    cells: list[str]
    command: str = ""
    out: str | None = None
    wall_s: float = 0.0
    schema: str = SUMMARY_SCHEMA

    @property
    def mean_ratio(self) -> float | None:
        """The mean over the data sets of the ratio GRU / LSTM (those with one), to 4 digits."""
        ratios = [row.ratio for row in self.rows if row.ratio is not None]
        return round(sum(ratios) / len(ratios), 4) if ratios else None

    @property
    def wins(self) -> dict[str, int]:
        """How many data sets each cell won (the lowest mean test MASE)."""
        return {cell: sum(row.winner == cell for row in self.rows) for cell in self.cells}

    @property
    def mean_ratio_interval(self) -> Interval | None:
        """The mean GRU / LSTM ratio with its 95% t interval over the data sets (each data set
        one value); ``None`` with fewer than 2 ratios."""
        ratios = [row.ratio for row in self.rows if row.ratio is not None]
        return mean_interval(ratios) if len(ratios) >= 2 else None

    @property
    def decided_wins(self) -> dict[str, int]:
        """How many data sets the paired interval gave to the LSTM, to the GRU, called
        similar or left inconclusive."""
        outcomes = [row.decided for row in self.rows if row.decided is not None]
        return {key: outcomes.count(key) for key in ("lstm", "gru", "similar", "inconclusive")}


def summarize(
    results: Sequence[CompareResult], *, command: str = "", out: str | None = None
) -> Summary:
    """The summary of comparisons with the same settings on several data sets."""
    rows = [
        DatasetSummary(
            dataset=result.dataset,
            cells={cell: model.forecast.test.mase for cell, model in result.models.items()},
            baselines={name: scores.mase for name, scores in result.baselines.items()},
            per_seed={
                cell: list(model.forecast.test_per_seed.mase)
                for cell, model in result.models.items()
            },
        )
        for result in results
    ]
    cells = results[0].cells if results else []
    wall_s = round(sum(result.wall_s for result in results), 2)
    return summarize_rows(rows, cells, command=command, out=out, wall_s=wall_s)


def summarize_rows(
    rows: Sequence[DatasetSummary],
    cells: Sequence[str],
    *,
    command: str = "",
    out: str | None = None,
    wall_s: float = 0.0,
) -> Summary:
    """A :class:`Summary` of ``rows``."""
    return Summary(list(rows), list(cells), command=command, out=out, wall_s=wall_s)


# ------------------------------------------------------------------------------ JSON
def _interval_json(interval: Interval | None) -> dict[str, Any] | None:
    if interval is None:
        return None
    return {
        key: round(value, 6) if isinstance(value, float) else value
        for key, value in interval.as_dict().items()
    }


def summary_json(summary: Summary) -> dict[str, Any]:
    """``summary.json``'s dict: per data set the MASE of each cell (``[mean, half]``) and of
    the baselines, the ratio GRU / LSTM and the winner; then the mean ratio and the wins."""
    return {
        "schema": summary.schema,
        "cells": list(summary.cells),
        "datasets": {
            row.dataset: {
                "mase": {cell: list(mase) for cell, mase in row.cells.items()},
                "baselines_mase": dict(row.baselines),
                "mase_per_seed": {cell: list(values) for cell, values in row.per_seed.items()},
                "mase_ratio_gru_lstm": row.ratio,
                "mase_ratio_interval": _interval_json(row.ratio_interval),
                "winner": row.winner,
                "decided": row.decided,
                "report": f"{row.dataset}/report.md",
            }
            for row in summary.rows
        },
        "mean_mase_ratio_gru_lstm": summary.mean_ratio,
        "mean_mase_ratio_interval": _interval_json(summary.mean_ratio_interval),
        "wins": summary.wins,
        "decided": summary.decided_wins,
        "command": summary.command,
        "out": summary.out,
        "wall_s": summary.wall_s,
    }


def summary_from_json(payload: Mapping[str, Any]) -> Summary:
    """Reads ``summary.json``'s dict back (the derived keys are recomputed, not read)."""
    rows = [
        DatasetSummary(
            dataset=name,
            cells={cell: MeanCI(*pair) for cell, pair in entry["mase"].items()},
            baselines=dict(entry["baselines_mase"]),
            per_seed={
                cell: list(values) for cell, values in entry.get("mase_per_seed", {}).items()
            },
        )
        for name, entry in payload["datasets"].items()
    ]
    return Summary(
        rows,
        list(payload["cells"]),
        command=payload.get("command", ""),
        out=payload.get("out"),
        wall_s=payload.get("wall_s", 0.0),
        schema=payload.get("schema", SUMMARY_SCHEMA),
    )


# ------------------------------------------------------------------------------ text
def _table(summary: Summary) -> tuple[list[str], list[list[str]]]:
    """The headers and the rows of the summary table, as text."""
    baselines = [name for name in _BASELINES if any(name in row.baselines for row in summary.rows)]
    headers = [
        "data set",
        *(f"{label(cell)} MASE" for cell in summary.cells),
        *(f"{_BASELINES[name]} MASE" for name in baselines),
        "GRU/LSTM [95%]",
        "winner",
        "paired",
    ]
    body = [
        [
            row.dataset,
            *(plus_minus(row.cells[cell]) for cell in summary.cells),
            *(_number(row.baselines.get(name)) for name in baselines),
            _ratio(row),
            "tie" if row.winner is None else label(row.winner),
            _decided(row.decided),
        ]
        for row in summary.rows
    ]
    return headers, body


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _ratio(row: DatasetSummary) -> str:
    interval = row.ratio_interval
    if interval is None:
        return _number(row.ratio)
    return f"{_number(row.ratio)} [{interval.low:.2f}, {interval.high:.2f}]"


def _decided(decided: str | None) -> str:
    if decided in ("lstm", "gru"):
        return f"{label(decided)} better"
    return decided or "n/a"


def _totals(summary: Summary) -> str:
    """The line under the table: the mean ratio and the wins."""
    ratio, interval = summary.mean_ratio, summary.mean_ratio_interval
    wins = ", ".join(f"{label(cell)} {count}" for cell, count in summary.wins.items())
    if ratio is None:
        mean = "n/a (needs both lstm and gru)"
    elif ratio == 1:
        mean = "1.000 (equal on average)"
    else:
        better = "below 1: the GRU" if ratio < 1 else "above 1: the LSTM"
        mean = f"{ratio:.3f} ({better} forecast better on average)"
    if interval is not None:
        mean += f", 95% t interval over the data sets {interval.low:.3f}..{interval.high:.3f}"
    decided = summary.decided_wins
    return (
        f"Mean MASE ratio GRU/LSTM over {len(summary.rows)} data sets: {mean}. "
        f"Wins (lowest mean test MASE): {wins}. By the paired interval of each data set: "
        f"LSTM better on {decided['lstm']}, GRU better on {decided['gru']}, similar on "
        f"{decided['similar']}, inconclusive on {decided['inconclusive']}."
    )


def summary_table(summary: Summary | Mapping[str, Any]) -> str:
    """The summary for the terminal: one line per data set, then the mean ratio and the wins.

    Args:
        summary: a :class:`Summary` or ``summary.json``'s dict.
    """
    if not isinstance(summary, Summary):
        summary = summary_from_json(summary)
    headers, body = _table(summary)
    widths = [max(len(line[i]) for line in [headers, *body]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        return " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))

    rule = "-+-".join("-" * width for width in widths)
    return "\n".join([line(headers).rstrip(), rule, *(line(row).rstrip() for row in body)]) + (
        "\n" + _totals(summary)
    )


def summary_markdown(summary: Summary) -> str:
    """``summary.md``: the table, each data set linked to its report, and how to read it."""
    headers, body = _table(summary)
    for cells, row in zip(body, summary.rows, strict=True):
        cells[0] = f"[{row.dataset}]({row.dataset}/report.md)"
    lines = [
        f"# rnnax compare: {' vs '.join(map(label, summary.cells))} on every shipped data set",
        "",
        f"Command: `{summary.command}`; the comparisons took {summary.wall_s:.0f} s.",
        "",
        "| " + " | ".join(headers) + " |",
        "|" + "---|" * len(headers),
        *("| " + " | ".join(cells) + " |" for cells in body),
        "",
        _totals(summary),
        "",
        "MASE is the test mean absolute error scaled by the in-sample seasonal-naive error "
        "(below 1: better than that); each cell's is the mean ± 95% t-interval half-width over "
        "the seeds, and the winner has the lowest mean, whether or not the intervals overlap. "
        "GRU/LSTM is the ratio of the mean test MASE, with the 95% t interval of the ratio "
        "paired over the seeds (geometric); 'paired' says what that interval decides: one "
        f"model better (the interval wholly on its side of 1, not wholly inside 1 ± "
        f"{RATIO_MARGIN:.0%}), "
        "similar (inside that band) or inconclusive. "
        "Every data set's full report (the explainer's table, its verdicts and the plots) is "
        "in its own folder. The memory tasks do not read the data set: they ran once for each "
        "set of hidden sizes, and the reports with the same sizes show the same results.",
    ]
    return "\n".join(lines) + "\n"
