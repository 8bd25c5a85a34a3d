"""Verdicts, the terminal tables, ``report.md`` and ``report.json`` (written atomically).

The explainer's table (:func:`rows`) compares the LSTM and the GRU; every compared cell, those
two included, also gets a row of measurements (:func:`cell_rows`), the table that shows the
cells beyond the explainer's two.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from rnnax import _io
from rnnax.compare._cells import CLAIM_CELLS, claims_testable, label
from rnnax.compare._stats import overlap

# "Similar performance": the test-MASE intervals overlap, or the means differ by less than this
# fraction of the smaller mean.
SIMILAR_TOLERANCE = 0.10

SUPPORTED = "supported"
NOT_SUPPORTED = "not supported"


@dataclasses.dataclass(frozen=True)
class Row:
    """One claim of the explainer's table, measured."""

    feature: str
    lstm_claim: str
    lstm_measured: str
    gru_claim: str
    gru_measured: str
    verdict: str
    rule: str

    def as_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


def _k(value: float) -> str:
    """Thousands, compactly: 12345 -> '12.3k'."""
    return f"{value / 1000:.1f}k" if abs(value) >= 1000 else f"{value:.0f}"


def _pm(pair: list[float | None], digits: int = 3) -> str:
    mean, half = pair
    if mean is None:
        return "n/a"
    return f"{mean:.{digits}f}" if half is None else f"{mean:.{digits}f} ± {half:.{digits}f}"


def _verdict(condition: bool) -> str:
    return SUPPORTED if condition else NOT_SUPPORTED


def compared_cells(report: dict[str, Any]) -> list[str]:
    """The cells a report compares, in its order."""
    return list(report["models"])


def claims_note(report: dict[str, Any]) -> str | None:
    """Why the explainer's table is missing from a report, or ``None`` when it is there."""
    cells = compared_cells(report)
    if claims_testable(cells):
        return None
    missing = " and ".join(repr(cell) for cell in CLAIM_CELLS if cell not in cells)
    return (
        "The explainer's table compares the LSTM and the GRU, so it needs both in --cells; "
        f"this run compared {', '.join(cells)} (no {missing}), so it has no claims table and "
        "no verdicts. Every cell's measurements are in the per-cell table."
    )


def rows(report: dict[str, Any]) -> list[Row]:
    """The explainer's table with a measured cell beside every claim and a verdict per claim;
    empty when the report does not compare both the LSTM and the GRU (see ``claims_note``)."""
    if not claims_testable(compared_cells(report)):
        return []
    lstm, gru = report["models"]["lstm"], report["models"]["gru"]
    ls, gs = lstm["structure"], gru["structure"]
    out: list[Row] = []

    out.append(
        Row(
            "gates",
            "input, forget, output",
            f"{ls['num_gates']} gates + candidate ({ls['gate_blocks']}H blocks)",
            "update, reset",
            f"{gs['num_gates']} gates + candidate ({gs['gate_blocks']}H blocks)",
            _verdict(ls["num_gates"] == 3 and gs["num_gates"] == 2),
            "supported if the LSTM's recurrent weight w_h has 4 column blocks (gates i, f, o and "
            "the "
            "candidate g) and the GRU's 3 (gates z, r and the candidate n): "
            f"measured {ls['gate_blocks']} and {gs['gate_blocks']}.",
        )
    )
    out.append(
        Row(
            "state",
            "separate c_t and h_t",
            f"carry ({', '.join(ls['state'])}): {ls['state_vectors']} vectors",
            "h_t serves as both",
            f"carry ({', '.join(gs['state'])}): {gs['state_vectors']} vector"
            + ("s" if gs["state_vectors"] != 1 else ""),
            _verdict(ls["state_vectors"] == 2 and gs["state_vectors"] == 1),
            "supported if the final carry the LSTM stack returns holds 2 state vectors (h and c) "
            "and the "
            f"GRU's 1 (h): measured {ls['state_vectors']} and {gs['state_vectors']}.",
        )
    )
    matched = report["settings"]["match"] == "params"
    fewer = gru["params"] < lstm["params"]
    out.append(
        Row(
            "parameters",
            "more",
            f"{lstm['rnn_params']:,} rnn / {lstm['params']:,} total",
            "fewer",
            f"{gru['rnn_params']:,} rnn / {gru['params']:,} total "
            f"({gru['params'] / lstm['params'] - 1:+.0%})",
            "not tested" if matched else _verdict(fewer),
            "supported if the GRU's total parameter count (recurrent layers + head) is below the "
            "LSTM's at "
            f"the sizes compared (LSTM hidden {lstm['hidden']}, GRU hidden {gru['hidden']}): "
            f"{gru['params']:,} vs {lstm['params']:,}."
            + (
                " With --match params the GRU was sized to the LSTM's budget, so this row "
                "does not test the claim (verdict: not tested)."
                if matched
                else ""
            ),
        )
    )
    cheaper_flops = gru["flops_per_step"] < lstm["flops_per_step"]
    faster_fb = gru["fwd_bwd_seq_per_s"] > lstm["fwd_bwd_seq_per_s"]
    out.append(
        Row(
            "computational cost",
            "higher",
            f"{_k(lstm['flops_per_step'])} FLOP/step; {_k(lstm['fwd_seq_per_s'])} / "
            f"{_k(lstm['fwd_bwd_seq_per_s'])} seq/s",
            "lower",
            f"{_k(gru['flops_per_step'])} FLOP/step; {_k(gru['fwd_seq_per_s'])} / "
            f"{_k(gru['fwd_bwd_seq_per_s'])} seq/s",
            _verdict(cheaper_flops and faster_fb),
            "supported if the GRU needs fewer FLOPs per time step (rnnax.flops_per_step) AND runs "
            "more "
            f"forward+backward sequences per second at T={report['lookback']}, "
            f"B={report['settings']['throughput_batch']} "
            f"(seq/s shown as forward / forward+backward): FLOPs {gru['flops_per_step']:,} vs "
            f"{lstm['flops_per_step']:,}, forward+backward {gru['fwd_bwd_seq_per_s']:,.0f} vs "
            f"{lstm['fwd_bwd_seq_per_s']:,.0f} seq/s.",
        )
    )
    out.append(
        Row(
            "complexity",
            "more complex",
            f"{ls['ops_per_step']} ops, {ls['matmuls_per_step']} matmuls per step",
            "simpler",
            f"{gs['ops_per_step']} ops, {gs['matmuls_per_step']} matmuls per step",
            _verdict(gs["ops_per_step"] < ls["ops_per_step"]),
            "supported if one GRU cell step traces to fewer primitive operations (jaxpr equations "
            "of "
            "rnnax.gru_cell vs rnnax.lstm_cell) than one LSTM step: "
            f"{gs['ops_per_step']} vs {ls['ops_per_step']}. Gates and state are counted in their "
            "own rows.",
        )
    )
    lm, gm = lstm["test"]["mase"], gru["test"]["mase"]
    relative = (
        abs(lm[0] - gm[0]) / max(min(lm[0], gm[0]), 1e-12)
        if None not in (lm[0], gm[0])
        else float("inf")
    )
    similar = overlap(lm, gm) or relative < SIMILAR_TOLERANCE
    out.append(
        Row(
            "performance (forecast)",
            "-",
            f"test MASE {_pm(lm)}",
            "often similar",
            f"test MASE {_pm(gm)}",
            _verdict(similar),
            f"supported if the 95% intervals of test MASE over the {len(report['seeds'])} seeds "
            "overlap, or the "
            f"means differ by less than {SIMILAR_TOLERANCE:.0%} of the smaller: intervals "
            f"{'overlap' if overlap(lm, gm) else 'do not overlap'}, means differ by "
            f"{relative:.1%}.",
        )
    )
    lt, gt = lstm["time_to_target_s"], gru["time_to_target_s"]
    if gt is None:
        faster = False
    elif lt is None:
        faster = True
    else:
        faster = gt < lt

    def reached(model: dict[str, Any]) -> str:
        if model["time_to_target_s"] is None:
            return f"target not reached ({model['train_steps']} steps)"
        return f"{model['time_to_target_s']:.2f} s ({model['steps_to_target']} steps) to target"

    target = report["target_val_loss"]
    out.append(
        Row(
            "training speed",
            "-",
            reached(lstm),
            "faster training",
            reached(gru),
            _verdict(faster),
            "supported if the GRU's seed-mean validation loss reaches the target "
            f"{'(none: no finite validation loss)' if target is None else format(target, '.4g')} "
            "in less training wall time (compile excluded) than the LSTM's; the target is "
            + (
                "given by --target."
                if report["settings"]["target_loss"] is not None
                else "1.1 times the larger of the two models' best seed-mean validation losses, "
                "so both can reach it."
            )
            + f" Whole training: LSTM {lstm['train_s']:.2f} s, GRU {gru['train_s']:.2f} s for "
            f"{lstm['train_steps']} steps.",
        )
    )
    tasks = report["memory_tasks"]
    if tasks:
        wins = 0
        for task in tasks.values():
            a, b = task["lstm"]["score"][0], task["gru"]["score"][0]
            wins += int((a > b) if task["higher_is_better"] else (a < b))
        lstm_cells, gru_cells = _memory_cells(tasks, "lstm"), _memory_cells(tasks, "gru")
        out.append(
            Row(
                "memory control",
                "can do better",
                lstm_cells,
                "-",
                gru_cells,
                _verdict(wins > len(tasks) / 2),
                "supported if the LSTM's seed-mean score beats the GRU's on more than half of the "
                "memory "
                "tasks (adding: test MSE, lower is better, trivial 0.167; copy: recall accuracy, "
                "higher "
                f"is better): the LSTM is better on {wins} of {len(tasks)}.",
            )
        )
    else:
        out.append(
            Row(
                "memory control",
                "can do better",
                "not run",
                "-",
                "not run",
                "not tested",
                "the memory tasks were skipped (--memory-steps 0).",
            )
        )
    return out


def _memory_cells(tasks: dict[str, Any], cell: str) -> str:
    """'adding MSE T50/100: 0.1/0.2; copy acc 0.33' for one model."""
    adding = [
        (task["sequence_length"], task[cell]["score"][0])
        for task in tasks.values()
        if task["kind"] == "adding"
    ]
    parts = []
    if adding:
        parts.append(
            "adding MSE T"
            + "/".join(str(length) for length, _ in adding)
            + ": "
            + "/".join(f"{score:.2g}" for _, score in adding)
        )
    for task in tasks.values():
        if task["kind"] == "copy":
            parts.append(f"copy acc {task[cell]['score'][0]:.2f}")
    return "; ".join(parts)


def terminal_table(table: list[Row]) -> str:
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


def baseline_summary(report: dict[str, Any]) -> str:
    """One line per model: test MASE against the seasonal-naive baseline."""
    base = report["baselines"]
    lines = [
        f"baselines (test MASE): naive {base['naive']['mase']:.3f}, seasonal naive "
        f"{base['seasonal_naive']['mase']:.3f}"
    ]
    for cell in compared_cells(report):
        mase = report["models"][cell]["test"]["mase"]
        beats = mase[0] is not None and mase[0] < base["seasonal_naive"]["mase"]
        lines.append(
            f"{label(cell).upper()} test MASE {_pm(mase)}: "
            f"{'beats' if beats else 'does NOT beat'} seasonal naive"
        )
    return "\n".join(lines)


# ------------------------------------------------------------------------------ every cell


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


def has_extra_cells(report: dict[str, Any]) -> bool:
    """Whether a report compares other cells than exactly the explainer's two, so that it
    shows the per-cell table."""
    return set(compared_cells(report)) != set(CLAIM_CELLS)


def cell_rows(report: dict[str, Any]) -> list[CellRow]:
    """Every compared cell's measurements, one row each, in the report's order."""
    out = []
    for cell in compared_cells(report):
        model = report["models"][cell]
        out.append(
            CellRow(
                cell=cell,
                description=model.get("description", ""),
                hidden=model["hidden"],
                rnn_params=model["rnn_params"],
                params=model["params"],
                flops_per_step=model["flops_per_step"],
                fwd_seq_per_s=model["fwd_seq_per_s"],
                fwd_bwd_seq_per_s=model["fwd_bwd_seq_per_s"],
                test_mase=model["test"]["mase"],
                time_to_target_s=model["time_to_target_s"],
                steps_to_target=model["steps_to_target"],
                train_steps=model["train_steps"],
                memory=dict(model["memory_tasks"]),
            )
        )
    return out


_CELL_HEADERS = (
    "cell",
    "hidden",
    "rnn params / params",
    "FLOP/step",
    "fwd / fwd+bwd seq/s",
    "test MASE",
    "to target",
    "memory tasks",
)


def _to_target(seconds: float | None, steps: int | None, trained: int) -> str:
    if seconds is None:
        return f"not reached ({trained} steps)"
    return f"{seconds:.2f} s ({steps} steps)"


def _cell_fields(row: CellRow, tasks: dict[str, Any]) -> tuple[str, ...]:
    """A row's values as the per-cell table shows them, in ``_CELL_HEADERS`` order."""
    return (
        label(row.cell),
        str(row.hidden),
        f"{row.rnn_params:,} / {row.params:,}",
        f"{row.flops_per_step:,}",
        f"{_k(row.fwd_seq_per_s)} / {_k(row.fwd_bwd_seq_per_s)}",
        _pm(row.test_mase),
        _to_target(row.time_to_target_s, row.steps_to_target, row.train_steps),
        _memory_cells(tasks, row.cell) or "not run",
    )


def cells_terminal_table(report: dict[str, Any]) -> str:
    """The per-cell table for the terminal (every compared cell, one line each)."""
    tasks = report["memory_tasks"]
    table = [_cell_fields(row, tasks) for row in cell_rows(report)]
    widths = [
        max(len(_CELL_HEADERS[i]), *(len(fields[i]) for fields in table))
        for i in range(len(_CELL_HEADERS))
    ]

    def line(fields: tuple[str, ...]) -> str:
        return " | ".join(
            field.ljust(width) for field, width in zip(fields, widths, strict=True)
        ).rstrip()

    return "\n".join(
        [line(_CELL_HEADERS), "-+-".join("-" * width for width in widths), *map(line, table)]
    )


def _cells_markdown(report: dict[str, Any]) -> list[str]:
    """The ``report.md`` section of the per-cell table."""
    cells = compared_cells(report)
    extra = [label(cell) for cell in cells if cell not in CLAIM_CELLS]
    intro = (
        "Every compared cell, trained and measured under the same settings on the same data. "
        + (
            "The explainer's claims above are about the LSTM and the GRU; the other cells "
            f"({', '.join(extra)}) are measured beside them. "
            if extra and claims_testable(cells)
            else ""
        )
        + f"Throughput at T={report['lookback']}, B={report['settings']['throughput_batch']}; "
        "test MASE as mean ± 95% half-width over the seeds; time to the target validation "
        "loss excludes compiling; memory tasks as the seed-mean score."
    )
    lines = [
        "## Every cell, side by side",
        "",
        intro,
        "",
        "| " + " | ".join(_CELL_HEADERS) + " | description |",
        "|---" * (len(_CELL_HEADERS) + 1) + "|",
    ]
    for row in cell_rows(report):
        fields = (*_cell_fields(row, report["memory_tasks"]), row.description)
        lines.append("| " + " | ".join(map(_md_escape, fields)) + " |")
    return [*lines, ""]


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def _claims_markdown(table: list[Row], note: str | None) -> list[str]:
    """The ``report.md`` sections of the explainer's table and how each verdict was decided."""
    lines = ["## The explainer's table, measured", ""]
    if note is not None:
        return [*lines, note, ""]
    lines += [
        "| feature | LSTM: claim | LSTM: measured | GRU: claim | GRU: measured | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for row in table:
        lines.append(
            "| "
            + " | ".join(
                _md_escape(cell)
                for cell in (
                    row.feature,
                    row.lstm_claim,
                    row.lstm_measured,
                    row.gru_claim,
                    row.gru_measured,
                    f"**{row.verdict}**",
                )
            )
            + " |"
        )
    lines += [
        "",
        "Verdicts hold for this run only (these sizes, this data set, this machine).",
        "",
        "## How each verdict was decided",
        "",
    ]
    for row in table:
        lines.append(f"- **{row.feature}** ({row.verdict}): {row.rule}")
    return [*lines, ""]


def markdown(
    report: dict[str, Any], table: list[Row], plots: list[str], plot_note: str | None
) -> str:
    """``report.md``: settings, the table, how each verdict was decided, results, plots."""
    env = report["environment"]
    cells = compared_cells(report)
    models = report["models"]
    first = models[cells[0]]
    info = report["dataset_info"]
    s = report["settings"]
    lines = [
        f"# rnnax compare: {' vs '.join(map(label, cells))}",
        "",
        f"Command: `{report['command']}`  ",
        f"Data set: **{report['dataset']}** ({info['length']} {info['frequency']} steps, period "
        f"{info['period']}, "
        f"{info['unit']}; {'log-transformed, ' if info['log_transform'] else ''}standardized on "
        "the training "
        f"segment); lookback {report['lookback']}, horizon {report['horizon']}; "
        f"{report['windows']['train']} / {report['windows']['validation']} / "
        f"{report['windows']['test']} "
        "train / validation / test windows.  ",
        "Models: "
        + ", ".join(f"{label(cell)} hidden {models[cell]['hidden']}" for cell in cells)
        + f" (--match {s['match']}), "
        f"{first['layers']} layer(s), direct {report['horizon']}-step head, {len(report['seeds'])} "
        "seeds each "
        f"trained in parallel (one jit, vmap over seeds), {s['steps']} Adam steps (lr "
        f"{s['learning_rate']}, "
        f"batch {s['batch_size']}).  ",
        f"Environment: jax {env['jax']}, backend {env['backend']}, device {env['device']}, "
        f"{env['cpu_count']} CPU cores, load average at the end {env['load_average']}; run took "
        f"{report['wall_s']:.0f} s.",
        "",
    ]
    lines += _claims_markdown(table, claims_note(report))
    if has_extra_cells(report):
        lines += _cells_markdown(report)
    lines += [
        "## Forecasting",
        "",
        "Test scores are in the data's original units over every test window, as mean ± 95% "
        "t-interval half-width over the seeds; MASE is scaled by the in-sample seasonal-naive "
        f"MAE of the training segment (period {info['period']}). Coverage is that of the 95% "
        "split-conformal interval (seed-mean forecast ± the 95% quantile of its absolute "
        "validation residuals, per horizon step).",
        "",
        "| model | hidden | rnn params | params | FLOP/step | compile s | train s | to target | "
        "fwd seq/s | fwd+bwd seq/s | MAE | RMSE | MASE | coverage |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for cell in cells:
        model = models[cell]
        to_target = (
            "not reached"
            if model["time_to_target_s"] is None
            else f"{model['time_to_target_s']:.2f} s / {model['steps_to_target']} steps"
        )
        lines.append(
            f"| {label(cell)} | {model['hidden']} | {model['rnn_params']:,} | {model['params']:,} | "
            f"{model['flops_per_step']:,} | {model['compile_s']:.2f} | {model['train_s']:.2f} | "
            f"{to_target} | "
            f"{model['fwd_seq_per_s']:,.0f} | {model['fwd_bwd_seq_per_s']:,.0f} | "
            f"{_pm(model['test']['mae'], 2)} | "
            f"{_pm(model['test']['rmse'], 2)} | {_pm(model['test']['mase'])} | "
            f"{model['interval_coverage']:.2f} |"
        )
    for name, method in (("naive", "naive"), ("seasonal_naive", "seasonal naive")):
        base = report["baselines"][name]
        lines.append(
            f"| {method} | | | | | | | | | | {base['mae']:.2f} | {base['rmse']:.2f} | "
            f"{base['mase']:.3f} | |"
        )
    lines += ["", "```", baseline_summary(report), "```", ""]
    if report["memory_tasks"]:
        lines += [
            "## Memory tasks",
            "",
            f"Each model trained {s['memory_steps']} Adam steps (lr {s['memory_learning_rate']}) "
            "per task, "
            "K seeds in parallel, on 2048 sequences; scored on 256 held-out sequences with the "
            "best-validation parameters (mean ± 95% half-width over seeds).",
            "",
            "| task | length T | metric | trivial | " + " | ".join(map(label, cells)) + " |",
            "|---|---|---|---|" + "---|" * len(cells),
        ]
        for name, task in report["memory_tasks"].items():
            better = "higher" if task["higher_is_better"] else "lower"
            lines.append(
                f"| {name} | {task['sequence_length']} | {task['metric']} ({better} is better) | "
                f"{task['trivial_score']:.3f} | "
                + " | ".join(_pm(task[cell]["score"]) for cell in cells)
                + " |"
            )
        lines.append("")
    lines += ["## Plots", ""]
    if plot_note:
        lines += [plot_note, ""]
    captions = {
        "validation_loss.png": "Validation loss (seed mean, band = min..max over seeds) against "
        "optimizer "
        "steps and against training wall time; the dashed line is the target.",
        "forecast.png": "The test tail: truth, and each model's seed-mean forecast from "
        "non-overlapping "
        "origins with its 95% split-conformal interval.",
        "throughput.png": "Forward and forward+backward sequences per second against sequence "
        "length.",
        "memory_tasks.png": "Memory-task scores per model (mean and 95% interval over seeds); the "
        "dashed "
        "line is the memoryless score.",
    }
    for name in plots:
        lines += [f"![{name}]({name})", "", captions.get(name, ""), ""]
    return "\n".join(lines).rstrip() + "\n"


def write_atomic(path: str | os.PathLike[str], content: str | bytes) -> None:
    """Writes ``content`` (text as UTF-8, or bytes) to ``path`` atomically: a temporary file
    beside it, fsync'ed and renamed into place (``rnnax._io.write_atomically``), so a run
    killed mid-write leaves the previous file complete, never a half-written one."""
    _io.write_atomically(path, content)


def write_json(path: str | os.PathLike[str], report: dict[str, Any]) -> None:
    """Writes ``report`` as JSON atomically; a NaN or Inf in it raises ``ValueError`` before
    anything is written (the previous file stays as it was)."""
    write_atomic(path, json.dumps(report, indent=2, allow_nan=False) + "\n")
