"""``rnnax compare --csv`` on your own file: the shipped series written to a CSV gives the
shipped data set's report (the data-set record, the baselines, and with the same seeds the same
models); a CSV too short, or a bad combination of options, is one line and exit status 2."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from test_compare_cli import _fails
from test_compare_end_to_end import TINY

from rnnax import data
from rnnax.cli import main
from rnnax.compare import CompareConfig
from rnnax.compare._config import from_settings, settings
from rnnax.compare._data import needed_length, prepare

# TINY without the memory tasks (they do not read the data) and the plots.
_QUICK = [
    *TINY,
    "--memory-steps",
    "0",
    "--counting-steps",
    "0",
    "--lr-search",
    "1",
    "--no-plots",
    "--no-progress",
]


@pytest.fixture(scope="module")
def air_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("csv") / "passengers.csv"
    data.to_csv(data.load("airline_passengers"), path)
    return path


def _report(out: Path, *argv: str) -> dict[str, Any]:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main([*_QUICK, *argv, "--out", str(out)]) == 0
    return json.loads((out / "report.json").read_text(encoding="utf-8"))


def test_a_csv_prepares_like_the_shipped_series_it_was_written_from(air_csv: Path) -> None:
    mine = prepare(CompareConfig(csv=str(air_csv)))
    shipped = prepare(CompareConfig())
    assert mine.series.name == "passengers" and mine.series.period == 12
    assert (mine.lookback, mine.horizon, mine.log) == (shipped.lookback, shipped.horizon, True)
    assert mine.scaled.tolist() == shipped.scaled.tolist()
    assert CompareConfig(csv=str(air_csv)).data_name == "passengers"


def test_compare_on_a_csv_reports_what_the_shipped_data_set_reports(
    air_csv: Path, tmp_path: Path
) -> None:
    mine = _report(tmp_path / "csv", "--csv", str(air_csv))
    shipped = _report(tmp_path / "shipped", "--dataset", "airline_passengers")
    assert mine["dataset"] == "passengers" and mine["settings"]["csv"] == str(air_csv)
    assert mine["settings"]["dataset"] is None
    info, reference = mine["dataset_info"], shipped["dataset_info"]
    for key in ("length", "frequency", "period", "log_transform"):
        assert info[key] == reference[key], key
    assert (info["length"], info["frequency"], info["period"]) == (144, "monthly", 12)
    assert str(air_csv) in info["source"] and "inferred: monthly, period 12" in info["source"]
    assert mine["baselines"] == shipped["baselines"]
    assert (mine["lookback"], mine["horizon"], mine["windows"]) == (
        shipped["lookback"],
        shipped["horizon"],
        shipped["windows"],
    )
    for cell in ("lstm", "gru"):  # the same data and seeds: the same models
        assert mine["models"][cell]["test"] == shipped["models"][cell]["test"], cell
    markdown = (tmp_path / "csv" / "report.md").read_text(encoding="utf-8")
    assert "Data set: **passengers** (144 monthly steps, period 12" in markdown
    assert f"Read from your CSV file: file {str(air_csv)!r}" in markdown


def test_a_csv_report_reads_back_after_its_file_moved(air_csv: Path, tmp_path: Path) -> None:
    moved = tmp_path / "gone.csv"
    # The file is read when compared, not when the config is made (or read back).
    config = CompareConfig(csv=str(moved), column="x", period=4, progress=False, plots=False)
    assert from_settings(settings(config)) == config


def test_csv_options_follow_the_file(tmp_path: Path) -> None:
    path = tmp_path / "co2.csv"  # named like a shipped data set: its windows are not co2's
    rows = "".join(f"{index},{10 + index % 4},{-index}\n" for index in range(60))
    path.write_text("step,units,returns\n" + rows, encoding="utf-8")
    first = prepare(CompareConfig(csv=str(path)))  # no time column: steps, period 1
    assert first.series.columns == ("step",) and (first.lookback, first.horizon) == (10, 5)
    returns = prepare(CompareConfig(csv=str(path), column="returns", period=4))
    assert returns.series.period == 4 and (returns.lookback, returns.horizon) == (8, 4)
    assert not returns.log  # not strictly positive: no log


def test_a_csv_too_short_names_the_file_and_the_length_needed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "short.csv"
    path.write_text("month,units\n" + "".join(f"2024-{m:02d},{m}\n" for m in range(1, 13)))
    line = _fails(capsys, ["compare", "--csv", str(path), "--out", str(tmp_path / "o")])
    assert f"CSV file {str(path)!r} has 12 steps" in line
    assert f"it needs at least {needed_length(24, 12)} steps" in line and "84" in line


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--dataset", "co2"], "csv and dataset are exclusive"),
        (["--dataset", "airline_passengers"], "csv and dataset are exclusive"),
        (["--dataset", "all"], "csv and dataset are exclusive"),
        (["--column", "nope"], "has no column 'nope'"),
        (["--time-column", "when"], "has no column 'when'"),
    ],
    ids=["dataset", "default_dataset_given", "all", "column", "time_column"],
)
def test_bad_csv_combinations_are_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, air_csv: Path, argv, message
) -> None:
    out = tmp_path / "o"
    line = _fails(capsys, ["compare", "--csv", str(air_csv), *argv, "--out", str(out)])
    assert line.startswith("rnnax compare: error:") and message in line, line
    if "column" in message:
        assert str(air_csv) in line


@pytest.mark.parametrize(
    "argv", [["--column", "x"], ["--time-column", "t"], ["--period", "12"]], ids=lambda a: a[0]
)
def test_csv_only_options_need_a_csv(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str]
) -> None:
    line = _fails(capsys, ["compare", *argv, "--out", str(tmp_path / "o")])
    name = argv[0].lstrip("-").replace("-", "_")
    assert f"{name} applies only to a CSV file" in line


def test_a_missing_file_or_a_folder_is_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    line = _fails(capsys, ["compare", "--csv", str(tmp_path / "missing.csv")])
    assert "no such file" in line and "missing.csv" in line
    line = _fails(capsys, ["compare", "--csv", str(tmp_path), "--out", str(tmp_path / "o")])
    assert "is a folder, not a CSV file" in line


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        ({"csv": 3}, TypeError, "csv must be a path"),
        ({"csv": "a.csv", "column": 1}, TypeError, "column must be a column name"),
        ({"csv": "a.csv", "period": "12"}, TypeError, "period"),
        ({"csv": "a.csv", "period": 0}, ValueError, "period"),
        ({"dataset": 3}, TypeError, "dataset must be a data set name"),
    ],
)
def test_wrong_csv_fields_are_refused(changes: dict[str, Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        CompareConfig(**changes)
