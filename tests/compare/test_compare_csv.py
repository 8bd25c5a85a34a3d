"""``rnnax compare`` on your own CSV file: the same data as the shipped set it was written from
gives the same data-set record and baselines; bad combinations are one line and exit status 2."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
from test_compare_cli import _fails

from rnnax import data
from rnnax.cli import main
from rnnax.compare import CompareConfig
from rnnax.compare._data import prepare


@pytest.fixture(scope="module")
def air_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("csv") / "passengers.csv"
    data.to_csv(data.load("airline_passengers"), path)
    return path


def test_a_csv_prepares_like_the_shipped_series_it_was_written_from(air_csv: Path) -> None:
    mine = prepare(CompareConfig(csv=str(air_csv)))
    shipped = prepare(CompareConfig())
    assert mine.series.name == "passengers" and mine.series.period == 12
    assert (mine.lookback, mine.horizon, mine.log) == (shipped.lookback, shipped.horizon, True)
    assert mine.scaled.tolist() == shipped.scaled.tolist()
    assert CompareConfig(csv=str(air_csv)).data_name == "passengers"


def test_compare_runs_end_to_end_on_a_csv(air_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    argv = ["compare", "--csv", str(air_csv), "--hidden", "4", "--seeds", "2", "--steps", "10"]
    argv += ["--eval-every", "5", "--memory-steps", "0", "--sweep-lengths", "24"]
    argv += ["--no-progress", "--no-plots", "--out", str(out)]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(argv) == 0
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["dataset"] == "passengers" and report["settings"]["csv"] == str(air_csv)
    assert report["dataset_info"]["period"] == 12


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--dataset", "co2"], "csv and dataset are exclusive"),
        (["--column", "nope"], "no column 'nope'|column"),
    ],
)
def test_bad_csv_combinations_are_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, air_csv: Path, extra, message
) -> None:
    line = _fails(capsys, ["compare", "--csv", str(air_csv), *extra, "--out", str(tmp_path / "o")])
    assert line.startswith("rnnax compare: error:") and any(m in line for m in message.split("|"))


def test_csv_only_options_need_a_csv_and_a_missing_file_is_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    line = _fails(capsys, ["compare", "--column", "x", "--out", str(tmp_path / "o")])
    assert "column applies only to a CSV file" in line
    line = _fails(capsys, ["compare", "--csv", str(tmp_path / "missing.csv")])
    assert "no such file" in line and "missing.csv" in line
