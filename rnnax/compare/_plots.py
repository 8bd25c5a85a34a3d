"""PNG plots of a comparison (matplotlib, the optional ``plot`` extra), written atomically.

Each plot reads the typed result (:class:`~rnnax.compare._results.CompareResult`) and, for
the loss curves and the forecast, the plot data the experiment keeps
(:class:`~rnnax.compare._experiment.PlotData`).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rnnax import _io
from rnnax.compare._cells import label
from rnnax.compare._results import CompareResult

if TYPE_CHECKING:
    from rnnax.compare._data import Prepared
    from rnnax.compare._evaluation import ForecastTail
    from rnnax.compare._experiment import PlotData
    from rnnax.compare._seeds import SeedRun

# The explainer's two cells keep their colours whatever else is compared; other cells take the
# rest of matplotlib's tab10 palette in the order they are compared.
COLORS = {"lstm": "tab:blue", "gru": "tab:orange"}
_OTHER_COLORS = (
    "tab:green",
    "tab:red",
    "tab:purple",
    "tab:brown",
    "tab:pink",
    "tab:gray",
    "tab:olive",
    "tab:cyan",
)
MODES = {"fwd_seq_per_s": "forward", "fwd_bwd_seq_per_s": "forward+backward"}


def colors(cells: list[str]) -> dict[str, str]:
    """A colour per compared cell, the same in every plot of a report."""
    others = iter(_OTHER_COLORS * (1 + len(cells) // len(_OTHER_COLORS)))
    return {cell: COLORS.get(cell) or next(others) for cell in cells}


def available() -> bool:
    """Whether matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(figure: Any, path: Path) -> None:
    # Rendered in memory first, then written atomically: a run killed (or a savefig that fails)
    # mid-way leaves the previous PNG complete, never a truncated one.
    buffer = io.BytesIO()
    try:
        figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    except BaseException:
        _pyplot().close(figure)
        raise
    _io.write_atomically(path, buffer.getvalue())


def validation_loss(result: CompareResult, runs: dict[str, SeedRun], path: Path) -> None:
    """Every cell's seed-mean validation loss against steps and against training time."""
    plt = _pyplot()
    color = colors(list(runs))
    figure, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for cell, run in runs.items():
        losses = run.val_matrix()
        steps, seconds = np.asarray(run.steps), np.asarray(run.seconds)
        mean = np.nanmean(losses, axis=0)
        low, high = np.nanmin(losses, axis=0), np.nanmax(losses, axis=0)
        for axis, x in zip(axes, (steps, seconds), strict=True):
            axis.plot(
                x,
                mean,
                color=color[cell],
                label=f"{label(cell)} (mean of {losses.shape[0]} seeds)",
            )
            axis.fill_between(x, low, high, color=color[cell], alpha=0.2, linewidth=0)
    for axis, title in zip(
        axes, ("optimizer steps", "training wall time (s, compile excluded)"), strict=True
    ):
        axis.axhline(
            result.target_val_loss, color="gray", linestyle="--", linewidth=1, label="target"
        )
        axis.set_xlabel(title)
        axis.set_yscale("log")
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("validation MSE (scaled units)")
    axes[0].legend()
    figure.suptitle(f"Validation loss, {result.dataset}")
    _save(figure, path)
    plt.close(figure)


def forecast(
    result: CompareResult, tail: dict[str, ForecastTail], prepared: Prepared, path: Path
) -> None:
    """Every cell's banded forecast of the test tail beside the truth, one panel each."""
    plt = _pyplot()
    series = prepared.series
    values = np.asarray(series.values, np.float64)
    stamps = np.asarray(series.timestamps)
    horizon = result.horizon
    cells = result.cells
    color = colors(cells)
    columns = min(len(cells), 3)
    rows = -(-len(cells) // columns)
    figure, grid = plt.subplots(
        rows, columns, figsize=(6 * columns, 4 * rows), sharey=True, squeeze=False
    )
    axes = grid.ravel()
    for axis in axes[len(cells) :]:
        axis.set_visible(False)
    for axis, cell in zip(axes, cells, strict=False):
        part = tail[cell]
        first = part.origins[0]
        start = max(0, first - 3 * horizon)
        axis.plot(stamps[start:], values[start:], color="black", linewidth=1.2, label="truth")
        for index, origin in enumerate(part.origins):
            when = stamps[origin : origin + horizon]
            axis.plot(
                when,
                part.mean[index],
                color=color[cell],
                linewidth=1.6,
                label=f"{label(cell)} forecast (seed mean)" if index == 0 else None,
            )
            axis.fill_between(
                when,
                part.low[index],
                part.high[index],
                color=color[cell],
                alpha=0.2,
                linewidth=0,
                label="95% interval" if index == 0 else None,
            )
            axis.axvline(stamps[origin], color="gray", linewidth=0.6, linestyle=":")
        mase = result.models[cell].forecast.test.mase.mean
        axis.set_title(
            f"{label(cell)}: test MASE {'n/a' if mase is None else format(mase, '.3f')} "
            "(seasonal naive "
            f"{result.baselines['seasonal_naive'].mase:.3f})"
        )
        axis.grid(alpha=0.3)
        axis.legend(loc="upper left")
        axis.tick_params(axis="x", labelrotation=30)
    for axis in grid[:, 0]:
        axis.set_ylabel(series.unit)
    # Above the panels' titles: with a middle column the title would cross its panel's.
    figure.suptitle(f"Forecasts of the test tail, {result.dataset}", y=1.0 if columns < 3 else 1.04)
    _save(figure, path)
    plt.close(figure)


def throughput(result: CompareResult, path: Path) -> None:
    """Forward and forward+backward sequences per second against sequence length."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6.5, 4.2))
    color = colors(list(result.throughput_sweep))
    for cell, sweep in result.throughput_sweep.items():
        lengths = sorted(sweep)
        for mode, style in (("fwd_seq_per_s", "-"), ("fwd_bwd_seq_per_s", "--")):
            axis.plot(
                lengths,
                [getattr(sweep[length], mode) for length in lengths],
                style,
                marker="o",
                color=color[cell],
                label=f"{label(cell)} {MODES[mode]}",
            )
    axis.set_xscale("log")
    axis.set_yscale("log")
    ticks = sorted({length for sweep in result.throughput_sweep.values() for length in sweep})
    axis.set_xticks(ticks, [str(tick) for tick in ticks])
    axis.minorticks_off()
    axis.set_xlabel("sequence length T")
    axis.set_ylabel(f"sequences / s (batch {result.config.throughput_batch})")
    axis.grid(alpha=0.3, which="both")
    axis.legend()
    axis.set_title("Throughput against sequence length")
    _save(figure, path)
    plt.close(figure)


def memory_tasks(result: CompareResult, path: Path) -> None:
    """Every cell's score on every memory task, with every seed's and the memoryless one."""
    plt = _pyplot()
    tasks = result.memory_tasks
    cells = result.cells
    color = colors(cells)
    width = (2.6 + 0.6 * max(len(cells) - 2, 0)) * len(tasks) + 1
    figure, axes = plt.subplots(1, len(tasks), figsize=(width, 3.6), squeeze=False)
    for axis, (name, task) in zip(axes[0], tasks.items(), strict=True):
        for position, cell in enumerate(cells):
            mean, half = task.scores[cell].score
            axis.bar(
                position,
                np.nan if mean is None else mean,
                yerr=half or 0.0,
                color=color[cell],
                capsize=4,
                label=label(cell),
            )
            axis.scatter(
                [position] * len(task.scores[cell].per_seed),
                [np.nan if score is None else score for score in task.scores[cell].per_seed],
                color="black",
                s=8,
                zorder=3,
            )
        axis.axhline(task.trivial_score, color="gray", linestyle="--", linewidth=1)
        axis.set_xticks(
            range(len(cells)), [label(cell) for cell in cells], rotation=30 if len(cells) > 3 else 0
        )
        better = "higher" if task.higher_is_better else "lower"
        axis.set_title(f"{name}\n{task.metric} ({better} better)", fontsize=9)
        axis.grid(alpha=0.3, axis="y")
    figure.suptitle("Memory tasks (dashed: memoryless score)")
    figure.tight_layout()
    _save(figure, path)
    plt.close(figure)


def learning_curves(result: CompareResult, path: Path) -> None:
    """Every memory task's and counting language's learning curve per cell (seed-mean
    validation loss against steps, log scale), so "worse" can be told from "not trained yet"."""
    plt = _pyplot()
    panels = [
        (name, task.curve_steps, {cell: task.scores[cell].curve for cell in result.cells})
        for name, task in result.memory_tasks.items()
    ] + [
        (
            f"counting {language}",
            counting.curve_steps,
            {cell: counting.scores[cell].curve for cell in result.cells},
        )
        for language, counting in result.counting.items()
    ]
    color = colors(result.cells)
    columns = min(4, len(panels))
    rows = -(-len(panels) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.8 * rows), squeeze=False)
    for axis in axes.flat[len(panels) :]:
        axis.set_visible(False)
    for axis, (name, steps, curves) in zip(axes.flat, panels, strict=False):
        for cell, curve in curves.items():
            values = [np.nan if value is None else value for value in curve]
            if len(values) == len(steps) and any(np.isfinite(values)):
                axis.plot(steps, values, color=color[cell], label=label(cell))
        axis.set_yscale("log")
        axis.set_title(name, fontsize=9)
        axis.set_xlabel("optimizer steps", fontsize=8)
        axis.grid(alpha=0.3)
    axes.flat[0].set_ylabel("validation loss (seed mean)", fontsize=8)
    axes.flat[0].legend(fontsize=8)
    figure.suptitle("Learning curves at each model's chosen learning rate")
    figure.tight_layout()
    _save(figure, path)
    plt.close(figure)


def counting(result: CompareResult, path: Path) -> None:
    """Every seed's largest accepted n per counting language and cell."""
    plt = _pyplot()
    cells, color = result.cells, colors(result.cells)
    languages = list(result.counting.items())
    figure, axes = plt.subplots(
        1, len(languages), figsize=(3.0 * len(languages), 3.4), squeeze=False
    )
    for axis, (language, task) in zip(axes[0], languages, strict=True):
        for position, cell in enumerate(cells):
            largest = task.scores[cell].largest_n
            axis.bar(
                position, task.scores[cell].mean, color=color[cell], alpha=0.6, label=label(cell)
            )
            axis.scatter([position] * len(largest), largest, color="black", s=10, zorder=3)
        axis.axhline(task.train_max_n, color="gray", linestyle=":", linewidth=1)
        axis.set_xticks(range(len(cells)), [label(cell) for cell in cells])
        axis.set_title(language, fontsize=9)
        axis.set_ylim(0, task.test_max_n + 1)
        axis.grid(alpha=0.3, axis="y")
    axes[0][0].set_ylabel("largest accepted n")
    figure.suptitle("Counting (dotted: the largest n trained on)")
    figure.tight_layout()
    _save(figure, path)
    plt.close(figure)


def write_all(result: CompareResult, plot_data: PlotData, out: Path) -> list[str]:
    """Writes every plot into ``out``; returns the file names written."""
    written = []
    validation_loss(result, plot_data.runs, out / "validation_loss.png")
    written.append("validation_loss.png")
    forecast(result, plot_data.tail, plot_data.prepared, out / "forecast.png")
    written.append("forecast.png")
    throughput(result, out / "throughput.png")
    written.append("throughput.png")
    if result.memory_tasks:
        memory_tasks(result, out / "memory_tasks.png")
        written.append("memory_tasks.png")
    if result.counting:
        counting(result, out / "counting.png")
        written.append("counting.png")
    if result.memory_tasks or result.counting:
        learning_curves(result, out / "learning_curves.png")
        written.append("learning_curves.png")
    return written
