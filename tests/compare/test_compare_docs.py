"""The committed real run (docs/compare, made by ``rnnax compare --out docs/compare``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs" / "compare"


@pytest.fixture(scope="module")
def report() -> dict:
    path = DOCS / "report.json"
    if not path.is_file():
        pytest.skip("no committed docs/compare/report.json in this checkout")
    return json.loads(path.read_text(encoding="utf-8"))


def test_default_run_both_models_beat_seasonal_naive(report: dict) -> None:
    assert report["dataset"] == "airline_passengers"
    assert report["settings"]["hidden"] == 32 and report["settings"]["match"] == "hidden"
    seasonal = report["baselines"]["seasonal_naive"]["mase"]
    for cell in ("lstm", "gru"):
        mean, half = report["models"][cell]["test"]["mase"]
        assert mean + half < seasonal, cell  # the whole 95% interval is below seasonal naive


def test_committed_report_and_plots_exist(report: dict) -> None:
    assert (DOCS / "report.md").is_file()
    for name in report["plots"]:
        assert (DOCS / name).read_bytes()[:4] == b"\x89PNG"
    assert set(report["verdicts"]) == {row["feature"] for row in report["table"]}


def _claim_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("| ") and "**" in line][:8]


def test_the_readme_table_is_the_committed_runs(report: dict) -> None:
    """The README quotes docs/compare's table row for row, and the committed report.json holds
    every claim's values, interval, rule and verdict and the counting results."""
    readme = (DOCS.parents[1] / "README.md").read_text(encoding="utf-8")
    committed = (DOCS / "report.md").read_text(encoding="utf-8")
    assert _claim_rows(readme) == _claim_rows(committed)
    assert len(_claim_rows(committed)) == 8
    for name, claim in report["claims"].items():
        assert set(claim) == {"values", "interval", "rule", "verdict"}, name
    assert set(report["memory_tasks"]["counting"]) == {"anbn", "anbncn", "dyck1"}
    assert report["settings"]["seeds"] >= 5
