"""The forecasting examples run end to end, at tiny sizes (the real settings take 10-15 s each).

Only the sunspots example runs here, to keep the suite fast: it exercises everything the airline
example does (loading, scaling, windows, fit, backtest, the table) plus validation, early
stopping and the extra baseline.
"""

from __future__ import annotations

import math

from tests.example_loader import load_example


def test_forecasting_examples_import_and_the_sunspots_one_runs(capsys, monkeypatch):
    airline = load_example("forecast_airline", monkeypatch)
    assert callable(airline.run) and callable(airline.main)
    example = load_example("forecast_sunspots", monkeypatch)
    baselines = {"seasonal_naive", "cycle_naive_11"}
    rows = example.run(cells=("gru",), seeds=(0,), hidden=4, epochs=2, verbose=False)
    assert set(rows) == {"GRU seed 0", *baselines}
    for scores in rows.values():
        assert all(
            math.isfinite(scores[metric]) and scores[metric] >= 0
            for metric in ("mae", "rmse", "mase")
        )
    example.print_table(rows, "title")
    assert "seasonal_naive" in capsys.readouterr().out
