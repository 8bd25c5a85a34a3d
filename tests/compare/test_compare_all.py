"""``rnnax compare --dataset all``: one comparison per shipped data set, each in its own
subfolder, and summary.json / summary.md across them (one tiny run of all four)."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from test_compare_end_to_end import TINY

import rnnax.compare
from rnnax import data
from rnnax.cli import _compare_fields, build_parser, main
from rnnax.compare import CompareConfig, _experiment, compare, summary_table
from rnnax.compare._summary import summary_from_json, summary_json


@pytest.fixture(scope="module")
def all_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One tiny run on every data set: TINY without the plots and the memory tasks (they do not
    read the data set), and the speed timed at the lookback only (each timed length costs a
    second per data set)."""
    out = tmp_path_factory.mktemp("compare") / "all"
    args = build_parser().parse_args(
        [
            *TINY,
            "--dataset",
            "all",
            "--memory-steps",
            "0",
            "--counting-steps",
            "0",
            "--lr-search",
            "1",
        ]
    )
    config = CompareConfig(**{field.name: getattr(args, field.name) for field in _compare_fields()})
    config = dataclasses.replace(config, sweep_lengths=(), plots=False)
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        payload = compare(config, out, command="rnnax compare --dataset all")
    return {"out": out, "stderr": stderr.getvalue(), "payload": payload}


def test_every_data_set_gets_its_own_report(all_run: dict[str, Any]) -> None:
    out = all_run["out"]
    for name in data.available():
        report = json.loads((out / name / "report.json").read_text(encoding="utf-8"))
        assert report["dataset"] == name and report["out"] == str(out / name)
        assert report["settings"]["dataset"] == name
        assert (out / name / "report.md").is_file()
        assert all_run["payload"]["reports"][name] == report
    assert json.loads((out / "co2" / "report.json").read_text())["lookback"] == 104
    assert "data set 2 of 4: co2" in all_run["stderr"]


def test_the_summary_holds_every_data_set(all_run: dict[str, Any]) -> None:
    summary = json.loads((all_run["out"] / "summary.json").read_text(encoding="utf-8"))
    assert {**summary, "reports": all_run["payload"]["reports"]} == all_run["payload"]
    assert summary["schema"] == "rnnax-compare-summary/1" and summary["cells"] == ["lstm", "gru"]
    assert list(summary["datasets"]) == list(data.available())
    ratios = []
    for name, entry in summary["datasets"].items():
        report = json.loads((all_run["out"] / name / "report.json").read_text())
        lstm, gru = (report["models"][cell]["test"]["mase"] for cell in ("lstm", "gru"))
        assert entry["mase"] == {"lstm": lstm, "gru": gru}
        assert entry["baselines_mase"] == {
            method: scores["mase"] for method, scores in report["baselines"].items()
        }
        assert entry["mase_ratio_gru_lstm"] == round(gru[0] / lstm[0], 4)
        assert entry["winner"] == ("gru" if gru[0] < lstm[0] else "lstm")
        assert entry["decided"] in ("lstm", "gru", "similar", "inconclusive")
        interval = entry["mase_ratio_interval"]
        assert interval["low"] <= interval["estimate"] <= interval["high"] and interval["n"] == 2
        ratios.append(entry["mase_ratio_gru_lstm"])
    assert math.isclose(summary["mean_mase_ratio_gru_lstm"], sum(ratios) / 4, abs_tol=1e-4)
    winners = [entry["winner"] for entry in summary["datasets"].values()]
    assert summary["wins"] == {cell: winners.count(cell) for cell in ("lstm", "gru")}
    decided = [entry["decided"] for entry in summary["datasets"].values()]
    assert summary["decided"] == {
        key: decided.count(key) for key in ("lstm", "gru", "similar", "inconclusive")
    }
    mean = summary["mean_mase_ratio_interval"]
    assert mean["n"] == 4 and mean["low"] <= summary["mean_mase_ratio_gru_lstm"] <= mean["high"]
    assert summary_json(summary_from_json(summary)) == summary


def test_the_summary_table_is_printed_and_written(
    all_run: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    out: Path = all_run["out"]
    markdown = (out / "summary.md").read_text(encoding="utf-8")
    assert "| data set | LSTM MASE | GRU MASE | naive MASE | seasonal naive MASE |" in markdown
    for name in data.available():
        assert f"[{name}]({name}/report.md)" in markdown
    assert "Mean MASE ratio GRU/LSTM over 4 data sets:" in markdown
    # The command prints it: the run above stands in for the comparison.
    monkeypatch.setattr(rnnax.compare, "compare", lambda *args, **kwargs: all_run["payload"])
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert main(["compare", "--dataset", "all", "--out", str(tmp_path / "o")]) == 0
    table = summary_table(all_run["payload"])
    assert table in stdout.getvalue() and table.splitlines()[-1].startswith("Mean MASE ratio")
    assert f"summary: {tmp_path / 'o' / 'summary.md'}" in stdout.getvalue()


def test_the_memory_tasks_run_once_per_hidden_sizes(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, int]] = []

    def fake(config: CompareConfig, hidden: dict[str, int]) -> tuple[dict[str, Any], dict]:
        calls.append(hidden)
        return {"adding_T6": len(calls)}, {}

    monkeypatch.setattr(_experiment, "run_memory_tasks", fake)
    monkeypatch.setattr(_experiment, "run_counting", lambda config, hidden: ({}, {}))
    cache: _experiment.MemoryCache = {}
    config = CompareConfig(dataset="co2", memory_steps=10)

    def models(hidden: int) -> Any:
        sizes = {cell: SimpleNamespace(hidden=hidden) for cell in ("lstm", "gru")}
        return SimpleNamespace(sizes=sizes)

    first = _experiment._memory_tasks(config, models(4), cache)
    assert _experiment._memory_tasks(config, models(4), cache) is first
    assert _experiment._memory_tasks(config, models(5), cache).tasks == {"adding_T6": 2}
    assert _experiment._memory_tasks(config, models(5), None).tasks == {"adding_T6": 3}
    assert calls == [{"lstm": 4, "gru": 4}, {"lstm": 5, "gru": 5}, {"lstm": 5, "gru": 5}]


def test_a_data_set_is_decided_by_the_paired_interval_not_the_means() -> None:
    """Lower mean MASE wins the 'winner' column; the paired ratio decides only when its whole
    interval lies on one side of 1 (outside the 10% band)."""
    from rnnax.compare._results import MeanCI
    from rnnax.compare._summary import DatasetSummary

    def row(lstm: list[float], gru: list[float]) -> DatasetSummary:
        means = {"lstm": MeanCI(sum(lstm) / 2, 0.0), "gru": MeanCI(sum(gru) / 2, 0.0)}
        return DatasetSummary("d", means, {}, {"lstm": lstm, "gru": gru})

    assert row([1.0, 1.0], [0.5, 0.5]).decided == "gru"
    assert row([1.0, 1.0], [2.0, 2.0]).decided == "lstm"
    assert row([1.0, 1.0], [1.02, 1.02]).decided == "similar"
    noisy = row([1.0, 1.0], [0.5, 1.3])
    assert noisy.winner == "gru" and noisy.decided == "inconclusive"
    assert DatasetSummary("d", {}, {}).decided is None
