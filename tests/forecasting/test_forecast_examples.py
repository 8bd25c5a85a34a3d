"""The forecasting examples run end to end, at tiny sizes (the real settings take 10-15 s each).

Only the sunspots example runs here, to keep the suite fast: it exercises everything the airline
example does (loading, scaling, windows, fit, backtest, the table) plus validation, early
stopping and the extra baseline.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _load(name: str, monkeypatch):
    """Loads ``examples/<name>.py`` as a module, with ``forecast_common`` importable beside it."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_forecasting_examples_import_and_the_sunspots_one_runs(capsys, monkeypatch):
    airline = _load("forecast_airline", monkeypatch)
    assert callable(airline.run) and callable(airline.main)
    example = _load("forecast_sunspots", monkeypatch)
    baselines = {"seasonal_naive", "cycle_naive_11"}
    rows = example.run(cells=("gru",), seeds=(0,), hidden=4, epochs=2, verbose=False)
    assert set(rows) == {"GRU seed 0", *baselines}
    for scores in rows.values():
        assert all(math.isfinite(scores[metric]) and scores[metric] >= 0
                   for metric in ("mae", "rmse", "mase"))
    example.print_table(rows, "title")
    assert "seasonal_naive" in capsys.readouterr().out
