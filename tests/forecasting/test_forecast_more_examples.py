"""The weekly CO2 and monthly sunspots forecasting examples run end to end, at tiny sizes.

The real settings take about 30 s each on 2 CPU cores; here one cell, a hidden size of 4 and
two epochs check loading (with CO2's interpolated weeks), scaling, windows, fit, backtest, the
baselines and the table, and that every row is scored.
"""

from __future__ import annotations

import math

import pytest

from tests.example_loader import load_example


@pytest.mark.parametrize(
    ("name", "cell", "baselines"),
    [
        ("forecast_co2", "lstm", {"seasonal_naive", "naive"}),
        ("forecast_sunspots_monthly", "gru", {"seasonal_naive", "naive", "cycle_naive_132"}),
    ],
)
def test_example_runs_and_scores_every_row(name, cell, baselines, capsys, monkeypatch):
    example = load_example(name, monkeypatch)
    assert callable(example.main)
    rows = example.run(cells=(cell,), seeds=(0,), hidden=4, epochs=2, verbose=True)
    label = f"{cell.upper()} seed 0"
    assert set(rows) == {label, *baselines}
    for scores in rows.values():
        assert all(
            math.isfinite(scores[metric]) and scores[metric] >= 0
            for metric in ("mae", "rmse", "smape", "mase")
        )
    assert rows[label]["seconds"] > 0
    example.print_table(rows, "title")
    out = capsys.readouterr().out
    assert all(row in out for row in rows)
    if name == "forecast_co2":
        assert "59 missing weeks filled by linear interpolation" in out
