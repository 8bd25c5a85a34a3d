"""The text files of a forecasting run: ``forecast.csv``, ``backtest.json``, ``backtest.md``.

Each is written atomically (``rnnax._io.write_atomically``).

``forecast.csv`` has a ``time`` column continuing the series' time stamps, then per target
column ``<name>``, ``<name>_lower`` and ``<name>_upper`` (the bounds only when the model has an
interval). ``backtest.json`` holds the series, the settings, the split, the training record and
the backtest metrics of the model and the baselines; ``backtest.md`` shows them as a table.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from rnnax import _io
from rnnax.pipeline._future import FutureForecast

METRICS = ("mae", "rmse", "smape", "mase", "coverage", "crps")
METHODS = ("model", "naive", "seasonal_naive")


def stamp_text(stamp: Any) -> str:
    """A time stamp as ``rnnax.data.to_csv`` writes it (``2024-01``), or a step number."""
    if isinstance(stamp, np.datetime64):
        return str(np.datetime_as_string(stamp))
    return str(int(stamp))


def write_forecast_csv(path: Path, forecast: FutureForecast) -> Path:
    """Writes the future forecast, one row per step, with the interval when there is one."""
    banded = forecast.lower is not None and forecast.upper is not None
    header = ["time"]
    for name in forecast.columns:
        header += [name, f"{name}_lower", f"{name}_upper"] if banded else [name]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for step, stamp in enumerate(forecast.timestamps):
        row = [stamp_text(stamp)]
        for k in range(len(forecast.columns)):
            cells = [forecast.point[step, k]]
            if banded:
                assert forecast.lower is not None and forecast.upper is not None
                cells += [forecast.lower[step, k], forecast.upper[step, k]]
            row += [repr(float(value)) for value in cells]
        writer.writerow(row)
    _io.write_atomically(path, buffer.getvalue())
    return path


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def json_metrics(summary: dict[str, dict[str, float]]) -> dict[str, dict[str, float | None]]:
    """The backtest summary with NaN and infinities as ``None`` (JSON has neither)."""
    return {
        method: {name: _finite_or_none(float(value)) for name, value in scores.items()}
        for method, scores in summary.items()
    }


def write_json(path: Path, document: dict[str, Any]) -> Path:
    """Writes ``document`` as indented JSON."""
    _io.write_atomically(path, json.dumps(document, indent=2, allow_nan=False) + "\n")
    return path


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def metrics_table(metrics: dict[str, dict[str, float | None]]) -> list[str]:
    """The metrics as Markdown table lines, one row per method (model, naive, seasonal naive).

    Examples:
        >>> print("\\n".join(metrics_table({"model": {"mae": 1.0}, "naive": {"mae": 2.0}})))
        | method | mae |
        |---|---:|
        | model | 1 |
        | naive | 2 |
    """
    names = [name for name in METRICS if any(name in scores for scores in metrics.values())]
    lines = ["| method | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for method in (m for m in METHODS if m in metrics):
        cells = [_cell(metrics[method].get(name)) for name in names]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return lines


def verdict(metrics: dict[str, dict[str, float | None]]) -> str:
    """One sentence: the model's backtest MASE against the seasonal-naive baseline's.

    Examples:
        >>> verdict({"model": {"mase": 0.5}, "seasonal_naive": {"mase": 1.0}})
        'backtest MASE: model 0.5 vs seasonal naive 1 (the model is better)'
    """
    model = metrics.get("model", {}).get("mase")
    baseline = metrics.get("seasonal_naive", {}).get("mase")
    if model is None or baseline is None:
        return "backtest MASE: not finite (a constant training segment?)"
    word = "better" if model < baseline else "not better"
    return (
        f"backtest MASE: model {model:.4g} vs seasonal naive {baseline:.4g} (the model is {word})"
    )


def write_markdown(path: Path, document: dict[str, Any]) -> Path:
    """Writes ``backtest.md``: what was run, the metrics table and the verdict."""
    series, settings, split = document["series"], document["settings"], document["split"]
    metrics = document["metrics"]
    lines = [
        f"# Forecast backtest: {series['name']}",
        "",
        f"- data: {series['source']}",
        f"- {series['length']} {series['frequency']} steps, period {series['period']}; "
        f"horizon {settings['horizon']}, lookback {settings['lookback']}",
        f"- model: {settings['cell']} (hidden {settings['hidden']}), likelihood "
        f"{settings['likelihood']}, {document['training']['epochs_run']} epochs "
        f"({document['training']['stop_reason']})",
        f"- split: train {split['train_end']} steps, validation up to {split['validation_end']}, "
        f"test {split['length'] - split['validation_end']} steps; "
        f"{split['test_origins']} backtest origins in the test segment",
        "",
        *metrics_table(metrics),
        "",
        verdict(metrics) + ".",
        "",
        "Scores are in the data's units, averaged over the origins, the horizon and the targets. "
        "MASE divides by the seasonal-naive error on the training segment; coverage is the "
        f"share of actual values inside the model's {settings['level']:.0%} interval; CRPS "
        "scores the whole forecast distribution (lower is better, as for every error).",
        "",
    ]
    _io.write_atomically(path, "\n".join(lines))
    return path
