"""The report writer: one comparison run, judged and written into its folder.

:func:`write_report` runs the experiment (``rnnax.compare._experiment.run``), judges every claim
(``rnnax.compare._claims``), draws the plots and writes ``report.json`` (the typed
:class:`~rnnax.compare._results.Report` turned into JSON by ``rnnax.compare._json.to_json``,
the one place that happens) and ``report.md``. :func:`write_all_reports` does that for every
shipped data set (``dataset="all"``), each in its own subfolder, and writes ``summary.json``
and ``summary.md`` across them (``rnnax.compare._summary``). Every file is written atomically
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
from rnnax.compare._config import CompareConfig, per_dataset
from rnnax.compare._experiment import MemoryCache, PlotData, run
from rnnax.compare._json import to_json
from rnnax.compare._markdown import markdown
from rnnax.compare._progress import log
from rnnax.compare._results import CompareResult, Report
from rnnax.compare._summary import summarize, summary_json, summary_markdown


def write_report(config: CompareConfig, out: Path, command: str) -> dict[str, Any]:
    """Runs the comparison and writes ``report.json``, ``report.md`` and the plots into
    ``out`` (an existing, writable folder); returns what ``report.json`` holds."""
    return to_json(_write_one(config, out, command))


def write_all_reports(config: CompareConfig, out: Path, command: str) -> dict[str, Any]:
    """Runs the comparison on every data set ``config`` names (``dataset="all"``: each shipped
    one), each written by :func:`write_report` into ``out/<data set>``, then writes
    ``summary.json`` and ``summary.md`` into ``out``.

    Returns:
        What ``summary.json`` holds, with ``"reports"`` added: each data set's
        ``report.json`` dict, by name.
    """
    configs = per_dataset(config)
    memory: MemoryCache = {}
    reports: dict[str, Report] = {}
    for index, one in enumerate(configs, start=1):
        log(config.progress, f"rnnax compare: data set {index} of {len(configs)}: {one.dataset}")
        folder = out / one.data_name
        folder.mkdir(exist_ok=True)
        reports[one.data_name] = _write_one(one, folder, command, memory)
    summary = summarize(
        [report.result for report in reports.values()], command=command, out=str(out)
    )
    payload = summary_json(summary)
    write_json(out / "summary.json", payload)
    _io.write_atomically(out / "summary.md", summary_markdown(summary))
    return {**payload, "reports": {name: to_json(report) for name, report in reports.items()}}


def _write_one(
    config: CompareConfig, out: Path, command: str, memory: MemoryCache | None = None
) -> Report:
    """One comparison, run, judged and written into ``out``."""
    result, plot_data = run(config, memory_cache=memory)
    plots, plot_note = _write_plots(config, result, plot_data, out)
    report = Report(
        result,
        command=command,
        table=rows(result),
        claims_note=claims_note(result),
        plots=plots,
        out=str(out),
    )
    write_json(out / "report.json", to_json(report))
    _io.write_atomically(out / "report.md", markdown(report, plot_note=plot_note))
    return report


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
