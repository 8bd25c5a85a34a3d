"""``rnnax`` command-line errors: one line on stderr, exit status 2, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rnnax.cli import main


def _fails(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Runs ``main(argv)``; asserts exit status 2 and a one-line error; returns the line."""
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse usage errors
        code = exit_.code
    captured = capsys.readouterr()
    assert code == 2, (argv, captured)
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, lines
    assert "Traceback" not in captured.err
    assert captured.out == ""
    return lines[0]


def test_unknown_dataset_lists_the_valid_names(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    line = _fails(capsys, ["compare", "--dataset", "nile", "--out", str(tmp_path / "o")])
    assert line.startswith("rnnax compare: error: unknown data set 'nile'")
    for name in ("airline_passengers", "co2", "sunspots_monthly", "sunspots_yearly"):
        assert name in line
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("option", ["--hidden", "--layers", "--seeds", "--steps", "--batch-size"])
@pytest.mark.parametrize("value", ["0", "-3", "two"])
def test_non_positive_sizes(capsys: pytest.CaptureFixture[str], option: str, value: str) -> None:
    line = _fails(capsys, ["compare", option, value])
    assert option in line and "positive integer" in line


@pytest.mark.parametrize(
    "argv",
    [
        ["compare", "--match", "flops"],
        ["compare", "--memory-lengths", "50,x"],
        ["compare", "--lr", "-1"],
        ["compare", "--no-such-option"],
        ["nope"],
    ],
)
def test_other_usage_errors(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    assert _fails(capsys, argv).startswith("rnnax")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["--lr-search", "0,1"],
            "--lr-search: every value must be a number above 0 and at most 100",
        ),
        (["--lr-search", "1,x"], "--lr-search: expected comma-separated numbers"),
        (["--memory-lengths", "1"], "--memory-lengths: every value must be an integer from 2"),
        (["--search-seeds", "0"], "--search-seeds"),
        (["--counting-test-n", "3"], "counting_test_n=3 must be at least counting_train_n=10"),
    ],
)
def test_list_and_counting_options_name_the_bad_value(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], expected: str
) -> None:
    line = _fails(capsys, ["compare", *argv, "--out", str(tmp_path / "o")])
    assert expected in line, line


def test_out_under_a_file_is_unwritable(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    line = _fails(capsys, ["compare", "--out", str(blocker / "sub")])
    assert "not writable" in line and "--out" in line
    line = _fails(capsys, ["compare", "--out", str(blocker)])
    assert "not a folder" in line


def test_window_too_long_for_the_series(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    line = _fails(capsys, ["compare", "--lookback", "200", "--out", str(tmp_path / "o")])
    assert "too short" in line and "--lookback" in line


def test_python_dash_m_rnnax_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rnnax", "compare", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    for option in ("--dataset", "--hidden", "--layers", "--seeds", "--steps", "--match", "--out"):
        assert option in result.stdout


def test_python_dash_m_rnnax_usage_error_is_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rnnax", "compare", "--seeds", "0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "--seeds" in result.stderr


def test_bench_help_is_rnnax_bench_from_the_package(capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--help"]) == 0
    assert "usage: rnnax bench" in capfd.readouterr().out
