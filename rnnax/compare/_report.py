"""The report writer: one comparison run, judged and written into its folder.

:func:`write_report` runs the experiment (``rnnax.compare._experiment.run``), judges every claim
(``rnnax.compare._claims``), draws the plots and writes ``report.json`` (the typed
:class:`~rnnax.compare._results.Report` turned into JSON by ``rnnax.compare._json.to_json``,
the one place that happens) and ``report.md``. Every file is written atomically
(``rnnax._io.write_atomically``): a run killed mid-write leaves the previous file complete.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from rnnax import _io
from rnnax.compare import _plots
from rnnax.compare._claims import claims_note, rows
from rnnax.compare._config import CompareConfig
from rnnax.compare._experiment import PlotData, run
from rnnax.compare._json import to_json
from rnnax.compare._markdown import markdown
from rnnax.compare._results import CompareResult, Report


def write_report(config: CompareConfig, out: Path, command: str) -> dict[str, Any]:
    """Runs the comparison and writes ``report.json``, ``report.md`` and the plots into
    ``out`` (an existing, writable folder); returns what ``report.json`` holds."""
    result, plot_data = run(config)
    plots, plot_note = _write_plots(config, result, plot_data, out)
    report = Report(
        result,
        command=command,
        table=rows(result),
        claims_note=claims_note(result),
        plots=plots,
        out=str(out),
    )
    payload = to_json(report)
    write_json(out / "report.json", payload)
    _io.write_atomically(out / "report.md", markdown(report, plot_note=plot_note))
    return payload


def _write_plots(
    config: CompareConfig, result: CompareResult, plot_data: PlotData, out: Path
) -> tuple[list[str], str | None]:
    """The plots written, and why there are none when there are none."""
    if not config.plots:
        return [], "Plots were not requested (--no-plots)."
    if not _plots.available():
        note = "matplotlib is not installed, so no plots were made (pip install 'rnnax[plot]')."
        print(f"note: {note}", file=sys.stderr)
        return [], note
    return _plots.write_all(result, plot_data, out), None


def run_json(config: CompareConfig) -> tuple[dict[str, Any], PlotData]:
    """Runs the comparison without writing anything; returns ``report.json``'s dict of what
    it measured (without the verdicts and the report's own keys) and the plot data."""
    result, plot_data = run(config)
    return to_json(result), plot_data


def write_json(path: str | os.PathLike[str], report: dict[str, Any]) -> None:
    """Writes ``report`` as JSON atomically; a NaN or Inf in it raises ``ValueError`` before
    anything is written (the previous file stays as it was)."""
    _io.write_atomically(path, json.dumps(report, indent=2, allow_nan=False) + "\n")
