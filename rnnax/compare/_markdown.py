"""``report.md``: a comparison written up for people, section by section.

The settings and machine, the explainer's table with how each verdict was decided, every
cell side by side (when more than the explainer's two are compared), the forecasting scores
beside the naive baselines, the memory and counting tasks, the learning-rate search and the
plots with their captions.
"""

from __future__ import annotations

from collections.abc import Sequence

from rnnax.compare._cells import CLAIM_CELLS, claims_testable, label
from rnnax.compare._claims import ReportLike, claims_note
from rnnax.compare._format import LANGUAGE_NAMES, plus_minus
from rnnax.compare._json import as_report
from rnnax.compare._memory_claim import MARGINS
from rnnax.compare._results import CompareResult, MemoryTaskResult, Row
from rnnax.compare._tables import CELL_HEADERS, baseline_summary, cell_fields, cell_rows

CAPTIONS = {
    "validation_loss.png": "Validation loss (seed mean, band = min..max over seeds) against "
    "optimizer steps and against training wall time; the dashed line is the target.",
    "forecast.png": "The test tail: truth, and each model's seed-mean forecast from "
    "non-overlapping origins with its 95% split-conformal interval.",
    "throughput.png": "Forward and forward+backward sequences per second against sequence length.",
    "memory_tasks.png": "Memory-task scores per model (mean and 95% interval over seeds); the "
    "dashed line is the memoryless score.",
    "learning_curves.png": "Learning curves of the memory and counting tasks: each model's "
    "seed-mean validation loss against optimizer steps at its chosen learning rate. A curve "
    "still falling at the right edge means the budget, not the cell, limited the score.",
    "counting.png": "Counting tasks: every seed's largest accepted n per model (trained on "
    "n up to the dotted line).",
}
"""The caption under each plot."""


def markdown(
    report: ReportLike,
    table: Sequence[Row] | None = None,
    plots: Sequence[str] | None = None,
    plot_note: str | None = None,
) -> str:
    """``report.md``: settings, the table, how each verdict was decided, results, plots.

    Args:
        report: a report, a bare result or ``report.json``'s dict.
        table: the judged claims (default: the report's).
        plots: the PNG files written (default: the report's).
        plot_note: why there are no plots, if there are none.
    """
    full = as_report(report)
    result = full.result
    lines = _header(result, full.command)
    lines += _claims_section(full.table if table is None else table, claims_note(result))
    if set(result.cells) != set(CLAIM_CELLS):
        lines += _cells_section(result)
    lines += _forecasting_section(result)
    lines += _memory_section(result)
    lines += _counting_section(result)
    lines += _search_section(result)
    lines += _plots_section(full.plots if plots is None else plots, plot_note)
    return "\n".join(lines).rstrip() + "\n"


def _header(result: CompareResult, command: str) -> list[str]:
    env, info, config = result.environment, result.dataset_info, result.config
    cells, models = result.cells, result.models
    return [
        f"# rnnax compare: {' vs '.join(map(label, cells))}",
        "",
        f"Command: `{command}`  ",
        f"Data set: **{result.dataset}** ({info.length} {info.frequency} steps, period "
        f"{info.period}, {info.unit}; {'log-transformed, ' if info.log_transform else ''}"
        f"standardized on the training segment); lookback {result.lookback}, horizon "
        f"{result.horizon}; {result.windows.train} / {result.windows.validation} / "
        f"{result.windows.test} train / validation / test windows.  ",
        *([f"Read from your CSV file: {info.source}.  "] if config.csv is not None else []),
        "Models: "
        + ", ".join(f"{label(cell)} hidden {models[cell].size.hidden}" for cell in cells)
        + f" (--match {config.match}), {models[cells[0]].size.layers} layer(s), direct "
        f"{result.horizon}-step head, {len(result.seeds)} seeds each trained in parallel (one "
        f"jit, vmap over seeds), {config.steps} Adam steps (batch {config.batch_size}; "
        f"learning rate {_chosen(result, 'forecasting')}).  ",
        f"Environment: jax {env.jax}, backend {env.backend}, device {env.device}, "
        f"{env.cpu_count} CPU cores, load average at the end {env.load_average}; run took "
        f"{result.wall_s:.0f} s.",
        "",
    ]


def _chosen(result: CompareResult, task: str) -> str:
    """The learning rate each model trained ``task`` with: the search's choice."""
    search = result.learning_rates.get(task)
    if search is None:
        return "?"
    if len(search.candidates) == 1:
        return f"{search.candidates[0]:g}, no search"
    return (
        ", ".join(f"{label(cell)} {rate:g}" for cell, rate in search.chosen.items()) + " by search"
    )


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def _claims_section(table: Sequence[Row], note: str | None) -> list[str]:
    """The explainer's table and how each verdict was decided (or why there is no table)."""
    lines = ["## The explainer's table, measured", ""]
    if note is not None:
        return [*lines, note, ""]
    lines += [
        "| feature | LSTM: claim | LSTM: measured | GRU: claim | GRU: measured | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for row in table:
        cells = (
            row.feature,
            row.lstm_claim,
            row.lstm_measured,
            row.gru_claim,
            row.gru_measured,
            f"**{row.verdict}**",
        )
        lines.append("| " + " | ".join(map(_md_escape, cells)) + " |")
    lines += [
        "",
        "Verdicts hold for this run only (these sizes, this data set, this machine).",
        "",
        "## How each verdict was decided",
        "",
    ]
    lines += [f"- **{row.feature}** ({row.verdict}): {row.rule}" for row in table]
    return [*lines, ""]


def _cells_section(result: CompareResult) -> list[str]:
    """Every compared cell side by side."""
    cells = result.cells
    extra = [label(cell) for cell in cells if cell not in CLAIM_CELLS]
    intro = (
        "Every compared cell, trained and measured under the same settings on the same data. "
        + (
            "The explainer's claims above are about the LSTM and the GRU; the other cells "
            f"({', '.join(extra)}) are measured beside them. "
            if extra and claims_testable(cells)
            else ""
        )
        + f"Throughput at T={result.lookback}, B={result.config.throughput_batch}; "
        "test MASE as mean ± 95% half-width over the seeds; time to the target validation "
        "loss excludes compiling; memory tasks as the seed-mean score."
    )
    lines = [
        "## Every cell, side by side",
        "",
        intro,
        "",
        "| " + " | ".join(CELL_HEADERS) + " | description |",
        "|---" * (len(CELL_HEADERS) + 1) + "|",
    ]
    for row in cell_rows(result):
        fields = (*cell_fields(row, result.memory_tasks), row.description)
        lines.append("| " + " | ".join(map(_md_escape, fields)) + " |")
    return [*lines, ""]


def _forecasting_section(result: CompareResult) -> list[str]:
    """Test scores of every cell and of the naive baselines, and the coverage."""
    lines = [
        "## Forecasting",
        "",
        "Test scores are in the data's original units over every test window, as mean ± 95% "
        "t-interval half-width over the seeds; MASE is scaled by the in-sample seasonal-naive "
        f"MAE of the training segment (period {result.dataset_info.period}). Coverage is that "
        "of the 95% split-conformal interval (seed-mean forecast ± the 95% quantile of its "
        "absolute validation residuals, per horizon step).",
        "",
        "| model | hidden | rnn params | params | FLOP/step | compile s | train s | to target | "
        "fwd seq/s | fwd+bwd seq/s | MAE | RMSE | MASE | coverage |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for cell, model in result.models.items():
        size, training, speed, test = model.size, model.training, model.speed, model.forecast.test
        to_target = (
            "not reached"
            if training.time_to_target_s is None
            else f"{training.time_to_target_s:.2f} s / {training.steps_to_target} steps"
        )
        lines.append(
            f"| {label(cell)} | {size.hidden} | {size.rnn_params:,} | {size.params:,} | "
            f"{size.flops_per_step:,} | {training.compile_s:.2f} | {training.train_s:.2f} | "
            f"{to_target} | {speed.fwd_seq_per_s:,.0f} | {speed.fwd_bwd_seq_per_s:,.0f} | "
            f"{plus_minus(test.mae, 2)} | {plus_minus(test.rmse, 2)} | {plus_minus(test.mase)} | "
            f"{model.forecast.interval_coverage:.2f} |"
        )
    for name, method in (("naive", "naive"), ("seasonal_naive", "seasonal naive")):
        base = result.baselines[name]
        lines.append(
            f"| {method} | | | | | | | | | | {base.mae:.2f} | {base.rmse:.2f} | {base.mase:.3f} | |"
        )
    return [*lines, "", "```", baseline_summary(result), "```", ""]


def _memory_section(result: CompareResult) -> list[str]:
    """Every memory task's score per cell (nothing when the tasks were skipped)."""
    if not result.memory_tasks:
        return []
    cells, config = result.cells, result.config
    lines = [
        "## Memory tasks",
        "",
        f"Each model trained {config.memory_steps} Adam steps per task at the learning rate its "
        "search chose (shown under the score), K seeds in parallel, on 2048 sequences; scored "
        "on 256 held-out sequences with the best-validation parameters (mean ± 95% half-width "
        "over seeds). * marks a model still improving when its budget ran out (its learning "
        "curve's best over the last quarter more than 5% below its best before): its score "
        "is what this budget bought, not what the cell can do. † marks a score no better than "
        "the memoryless one (by the task's margin): the model did not learn the task within "
        "the budget, which a longer run (--memory-steps) can tell from not being able to.",
        "",
        "| task | length T | metric | trivial | " + " | ".join(map(label, cells)) + " |",
        "|---|---|---|---|" + "---|" * len(cells),
    ]
    for name, task in result.memory_tasks.items():
        better = "higher" if task.higher_is_better else "lower"
        scores = [
            f"{plus_minus(score.score)}{'*' if score.still_improving else ''}"
            f"{'†' if _memoryless(score.score.mean, task) else ''} (lr {score.learning_rate:g})"
            for score in (task.scores[cell] for cell in cells)
        ]
        lines.append(
            f"| {name} | {task.sequence_length} | {task.metric} ({better} is better) | "
            f"{task.trivial_score:.3f} | " + " | ".join(scores) + " |"
        )
    return [*lines, ""]


def _memoryless(mean: float | None, task: MemoryTaskResult) -> bool:
    """Whether a score is no better than the memoryless one, by the task's margin."""
    if mean is None:
        return True
    margin = MARGINS[task.kind]
    if task.higher_is_better:
        return mean <= task.trivial_score + margin
    return mean >= task.trivial_score - margin


def _counting_section(result: CompareResult) -> list[str]:
    """Every counting language's largest accepted n per cell and seed."""
    if not result.counting:
        return []
    cells = result.cells
    first = next(iter(result.counting.values()))
    lines = [
        "## Counting tasks",
        "",
        "Next-symbol prediction on a^n b^n, a^n b^n c^n and Dyck-1 (balanced brackets) as in "
        "Weiss, Goldberg & Yahav (2018): each model trained "
        f"{first.steps} Adam steps on the strings with n = 1..{first.train_max_n} and was tested "
        f"on n = 1..{first.test_max_n}. The score of a seed is the largest n such that every "
        "string up to it is accepted: at every step, the symbols the model gives probability "
        "above 1/2 are exactly the legal next symbols. Values: every seed's largest n; mean "
        "in bold; * as for the memory tasks.",
        "",
        "| language | " + " | ".join(map(label, cells)) + " |",
        "|---|" + "---|" * len(cells),
    ]
    for language, counting in result.counting.items():
        scores = [
            f"**{score.mean:.1f}**{'*' if score.still_improving else ''} "
            f"({', '.join(map(str, score.largest_n))}; lr {score.learning_rate:g})"
            for score in (counting.scores[cell] for cell in cells)
        ]
        lines.append(f"| {LANGUAGE_NAMES.get(language, language)} | " + " | ".join(scores) + " |")
    return [*lines, ""]


def _search_section(result: CompareResult) -> list[str]:
    """The learning-rate search of every task: what each model tried and chose."""
    searched = {name: search for name, search in result.learning_rates.items() if search.steps > 0}
    if not searched:
        return []
    first = next(iter(searched.values()))
    lines = [
        "## Learning-rate search",
        "",
        f"Before its final seeds, every model trained {len(first.seeds)} other seeds "
        f"({', '.join(map(str, first.seeds))}) at each candidate rate for the final run's "
        "number of steps, the same budget for every model, and kept the rate with the lowest "
        "mean best validation loss (the test data is never seen). Values: mean best validation "
        "loss per candidate; the chosen one in bold.",
        "",
        "| task | model | learning rate: mean best validation loss |",
        "|---|---|---|",
    ]
    for name, search in searched.items():
        for cell, losses in search.val_loss.items():
            tried = ", ".join(
                (
                    f"**{rate:g}: {_loss(loss)}**"
                    if rate == search.chosen[cell]
                    else f"{rate:g}: {_loss(loss)}"
                )
                for rate, loss in zip(search.candidates, losses, strict=True)
            )
            lines.append(f"| {name} | {label(cell)} | {tried} |")
    edges = [
        f"{name} ({label(cell)})"
        for name, search in searched.items()
        for cell, rate in search.chosen.items()
        if len(search.candidates) > 1 and rate in (search.candidates[0], search.candidates[-1])
    ]
    if edges:
        lines += [
            "",
            "Chosen at an end of the grid, where a rate beyond it might do better (widen the "
            f"grid with --lr-search): {', '.join(edges)}.",
        ]
    return [*lines, ""]


def _loss(value: float | None) -> str:
    return "diverged" if value is None else f"{value:.4g}"


def _plots_section(plots: Sequence[str], plot_note: str | None) -> list[str]:
    lines = ["## Plots", ""]
    if plot_note:
        lines += [plot_note, ""]
    for name in plots:
        lines += [f"![{name}]({name})", "", CAPTIONS.get(name, ""), ""]
    return lines
