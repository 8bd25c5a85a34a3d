"""``rnnax compare``: the explainer's LSTM-vs-GRU table, measured, with a verdict per claim.

:func:`compare` trains LSTM and GRU forecasters (and any other registered cells named in
``CompareConfig.cells``) under identical settings on a real data set that ships with rnnax
(K seeds of each trained in parallel in one jit via ``vmap``, each model at the learning rate
its own equal-budget search chose), measures structure, parameter and FLOP counts, throughput,
compile and training time, time to a target validation loss, test MAE / RMSE / MASE beside the
naive baselines, the memory tasks (adding problem, copy task) and the counting tasks (a^n b^n,
a^n b^n c^n, Dyck-1), judges each claim by a paired interval with a stated rule, then writes
``report.json``, ``report.md`` and PNG plots into a folder.
It runs as well on your own series (``CompareConfig.csv``, a CSV file), and on every shipped
data set at once (``dataset="all"``: a report per data set and ``summary.json`` /
``summary.md`` across them). The command line is ``rnnax compare`` (see
``rnnax compare --help``).

Examples:
    >>> from rnnax.compare import CompareConfig
    >>> CompareConfig().dataset, CompareConfig().seeds, CompareConfig().cells
    ('airline_passengers', 8, ('lstm', 'gru'))
    >>> CompareConfig(hidden=0)
    Traceback (most recent call last):
    ...
    ValueError: hidden must be an integer >= 1, got 0
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rnnax._io import check_writable_folder
from rnnax._lazy import lazy_attributes

if TYPE_CHECKING:
    from rnnax.compare._claims import claims_note, rows
    from rnnax.compare._config import ALL_DATASETS, DEFAULT_CELLS, DEFAULT_DATASET, CompareConfig
    from rnnax.compare._results import Row
    from rnnax.compare._summary import summary_table
    from rnnax.compare._tables import (
        CellRow,
        baseline_summary,
        cell_rows,
        cells_terminal_table,
        has_extra_cells,
        terminal_table,
    )

__all__ = [
    "ALL_DATASETS",
    "DEFAULT_CELLS",
    "DEFAULT_DATASET",
    "CellRow",
    "CompareConfig",
    "OutDirError",
    "Row",
    "baseline_summary",
    "cell_rows",
    "cells_terminal_table",
    "check_out_dir",
    "claims_note",
    "compare",
    "default_out_dir",
    "has_extra_cells",
    "rows",
    "summary_table",
    "terminal_table",
]


# Where the re-exported names live, imported on first use: importing a light module of this
# package (its options, rnnax.compare._config) must not start JAX.
_LAZY = {
    **dict.fromkeys(("DEFAULT_CELLS", "DEFAULT_DATASET", "CompareConfig"), "rnnax.compare._config"),
    **dict.fromkeys(("claims_note", "rows"), "rnnax.compare._claims"),
    "Row": "rnnax.compare._results",
    **dict.fromkeys(
        (
            "CellRow",
            "baseline_summary",
            "cell_rows",
            "cells_terminal_table",
            "has_extra_cells",
            "terminal_table",
        ),
        "rnnax.compare._tables",
    ),
    "ALL_DATASETS": "rnnax.compare._config",
    "summary_table": "rnnax.compare._summary",
}


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, __all__)


class OutDirError(ValueError):
    """The output folder cannot be created or written."""


def default_out_dir(dataset: str, root: str | os.PathLike[str] = "runs") -> Path:
    """A new folder ``runs/compare-<dataset>-<YYYYmmdd-HHMMSS>`` (suffixed if it exists)."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"compare-{dataset}-{stamp}"
    candidate, index = base, 1
    while candidate.exists():
        index += 1
        candidate = base.with_name(f"{base.name}-{index}")
    return candidate


def check_out_dir(path: str | os.PathLike[str]) -> Path:
    """Creates ``path`` if needed and checks a file can be written in it.

    Raises:
        OutDirError: with a one-line reason, if it is a file or cannot be created or written.
    """
    return check_writable_folder(path, "--out", OutDirError)


def compare(
    config: CompareConfig | None = None,
    out: str | os.PathLike[str] | None = None,
    *,
    command: str | None = None,
) -> dict[str, Any]:
    """Runs the comparison and writes ``report.json``, ``report.md`` and the PNG plots.

    With ``config.dataset == "all"`` it runs the comparison on every shipped data set, each
    written into its own subfolder of ``out`` (``out/co2/report.md``, ...), and writes
    ``summary.json`` and ``summary.md`` across them into ``out``.

    Args:
        config: the settings (default: ``CompareConfig()``).
        out: the output folder (default: a new ``runs/compare-<dataset>-<time>``).
        command: the command line recorded in the report.

    Returns:
        The report (what ``report.json`` holds), with ``"out"`` and ``"table"`` added.
        ``"table"`` and ``"verdicts"`` are empty, and ``"claims_note"`` says why, when
        ``config.cells`` lacks the LSTM or the GRU. For ``dataset="all"``: the summary (what
        ``summary.json`` holds, :func:`summary_table` prints it) with ``"reports"`` added,
        each data set's report by name.
    """
    from rnnax.compare._config import ALL_DATASETS, CompareConfig
    from rnnax.compare._report import write_all_reports, write_report

    config = CompareConfig() if config is None else config
    out_dir = check_out_dir(default_out_dir(config.data_name) if out is None else out)
    write = write_all_reports if config.dataset == ALL_DATASETS else write_report
    return write(config, out_dir, command or "rnnax.compare.compare(...)")
