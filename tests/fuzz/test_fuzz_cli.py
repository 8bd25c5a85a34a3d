"""Bad-input fuzzing of the ``rnnax`` command line: ``rnnax compare`` and ``rnnax bench``.

Every bad argument must end the command with exit status 2 and exactly one line on stderr
(``rnnax compare: error: ...`` naming the option), nothing on stdout and no traceback, without
starting the comparison or the benchmark. The cases call ``rnnax.cli.main`` in this process with
``rnnax.compare.compare`` replaced by a stub (so an accepted argument list is detected, not run
for minutes); two cases run the real ``python -m rnnax`` in a subprocess with a timeout.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import rnnax.compare
from rnnax.cli import main

_MAX = {
    "--hidden": 4096,
    "--layers": 16,
    "--seeds": 256,
    "--steps": 1_000_000,
    "--batch-size": 1_000_000,
    "--lookback": 100_000,
    "--horizon": 100_000,
    "--eval-every": 1_000_000,
    "--copy-delay": 100_000,
    "--period": 100_000,
}
_MAX_ZERO_ALLOWED = {"--memory-steps": 1_000_000, "--copy-symbols": 1_000}


class _Started(Exception):
    """Raised by the stub of ``rnnax.compare.compare``: the arguments were accepted."""


@pytest.fixture(autouse=True)
def _no_real_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def stub(config, out, *, command=None):
        raise _Started(f"compare would run: {config}")

    monkeypatch.setattr(rnnax.compare, "compare", stub)
    monkeypatch.chdir(tmp_path)  # a default --out (runs/...) would land here


def _run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _usage_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Asserts exit status 2, one line on stderr and nothing on stdout; returns the line."""
    code, out, err = _run(capsys, argv)
    lines = err.strip().splitlines()
    assert code == 2, (argv, code, err)
    assert len(lines) == 1, lines
    assert "Traceback" not in err and out == "", (out, err)
    assert lines[0].startswith(("rnnax compare: error:", "rnnax: error:", "rnnax bench: error:")), (
        lines
    )
    return lines[0]


def _int_option_cases() -> list:
    cases = []
    for option, maximum in {**_MAX, **_MAX_ZERO_ALLOWED}.items():
        smallest = 0 if option in _MAX_ZERO_ALLOWED else 1
        values = {
            "below": str(smallest - 1),
            "negative": "-3",
            "word": "two",
            "float": "1.5",
            "exponent": "1e3",
            "empty": "",
            "above_maximum": str(maximum + 1),
            "huge": "9" * 30,
        }
        cases += [
            pytest.param(option, value, id=f"{option}-{label}") for label, value in values.items()
        ]
    return cases


@pytest.mark.parametrize(("option", "value"), _int_option_cases())
def test_compare_integer_option(capsys, option: str, value: str) -> None:
    line = _usage_error(capsys, ["compare", option, value])
    assert f"argument {option}:" in line and "integer" in line, line


_FLOAT_CASES = {
    "--lr": {
        "zero": "0",
        "negative": "-0.1",
        "nan": "nan",
        "inf": "inf",
        "word": "fast",
        "huge": "1e300",
        "overflow": "1e400",
        "above_maximum": "10.5",
    },
    "--target": {
        "zero": "0",
        "negative": "-1",
        "nan": "nan",
        "inf": "inf",
        "word": "low",
        "empty": "",
    },
}


@pytest.mark.parametrize(
    ("option", "value"),
    [
        pytest.param(option, value, id=f"{option}-{label}")
        for option, values in _FLOAT_CASES.items()
        for label, value in values.items()
    ],
)
def test_compare_float_option(capsys, option: str, value: str) -> None:
    line = _usage_error(capsys, ["compare", option, value])
    assert f"argument {option}:" in line and "positive number" in line, line


@pytest.mark.parametrize("option", ["--memory-lengths", "--sweep-lengths"])
@pytest.mark.parametrize(
    "value",
    ["", ",,,", "0", "a,b", "50,x", "2,999999999", "-5", "1.5"],
    ids=["empty", "commas", "zero", "words", "one_word", "too_long", "negative", "float"],
)
def test_compare_length_list_option(capsys, option: str, value: str) -> None:
    if option == "--sweep-lengths" and value == "0":
        value = "-1"
    line = _usage_error(capsys, ["compare", option, value])
    assert f"argument {option}:" in line, line


@pytest.mark.parametrize(
    "argv, expected",
    [
        pytest.param(
            ["compare", "--dataset", "nile"], "unknown data set 'nile'", id="dataset-unknown"
        ),
        pytest.param(["compare", "--dataset", ""], "unknown data set ''", id="dataset-empty"),
        pytest.param(
            ["compare", "--dataset", "AIRLINE_PASSENGERS"],
            "unknown data set",
            id="dataset-upper_case",
        ),
        pytest.param(
            ["compare", "--dataset", "../airline_passengers"], "unknown data set", id="dataset-path"
        ),
        pytest.param(["compare", "--dataset", "ALL"], "unknown data set 'ALL'", id="dataset-ALL"),
        pytest.param(
            ["compare", "--csv", "missing.csv"], "csv: no such file 'missing.csv'", id="csv-missing"
        ),
        pytest.param(["compare", "--csv", ""], "csv: no such file ''", id="csv-empty_name"),
        pytest.param(["compare", "--csv", "."], "csv: '.' is a folder", id="csv-folder"),
        pytest.param(
            ["compare", "--column", "units"],
            "column applies only to a CSV file",
            id="csv-column_without_csv",
        ),
        pytest.param(
            ["compare", "--dataset", "co2", "--time-column", "week"],
            "time_column applies only to a CSV file",
            id="csv-time_column_without_csv",
        ),
        pytest.param(
            ["compare", "--period", "12"],
            "period applies only to a CSV file",
            id="csv-period_without_csv",
        ),
        pytest.param(
            ["compare", "--csv"], "argument --csv: expected one argument", id="csv-no_file"
        ),
        pytest.param(
            ["compare", "--match", "flops"], "argument --match: invalid choice", id="match-unknown"
        ),
        pytest.param(
            ["compare", "--match", ""], "argument --match: invalid choice", id="match-empty"
        ),
        pytest.param(
            ["compare", "--match", "HIDDEN"],
            "argument --match: invalid choice",
            id="match-upper_case",
        ),
        pytest.param(
            ["compare", "--out", ""], "argument --out: expected a folder name", id="out-empty"
        ),
        pytest.param(
            ["compare", "--out", "a\0b"],
            "argument --out: expected a folder name",
            id="out-nul_byte",
        ),
        pytest.param(
            ["compare", "--out", "/proc/no/such/place"],
            "--out '/proc/no/such/place' is not writable",
            id="out-unwritable",
        ),
        pytest.param(
            ["compare", "--hidden"], "argument --hidden: expected one argument", id="value-missing"
        ),
        pytest.param(
            ["compare", "--no-such-option"],
            "unrecognized arguments: --no-such-option",
            id="option-unknown",
        ),
        pytest.param(["compare", "extra"], "unrecognized arguments: extra", id="positional-extra"),
        pytest.param(
            ["compare", "--m", "4"],
            "ambiguous option: --m could match",
            id="option-ambiguous_abbreviation",
        ),
        pytest.param(["nope"], "argument COMMAND: invalid choice: 'nope'", id="command-unknown"),
        pytest.param(
            ["compare", "--lookback", "200"],
            "too short for lookback=200",
            id="window-lookback_too_long",
        ),
        pytest.param(
            ["compare", "--horizon", "100"],
            "too short for lookback=24 and horizon=100",
            id="window-horizon_too_long",
        ),
        pytest.param(
            ["compare", "--dataset", "co2", "--lookback", "3000"],
            "data set 'co2' has 2284 steps",
            id="window-co2_lookback",
        ),
        pytest.param(
            ["bench", "--cells", "rnn"],
            "--cells takes registered cells (",
            id="bench-cells",
        ),
        pytest.param(
            ["bench", "--cells", "lstm,gru,lstm"],
            "--cells lists 'lstm' more than once",
            id="bench-cells_repeated",
        ),
        pytest.param(
            ["bench", "--cells", ","], "--cells needs at least one cell", id="bench-no_cells"
        ),
        pytest.param(
            ["compare", "--cells", "lstm,rnn"],
            "argument --cells: unknown cell 'rnn'; registered cells are ",
            id="cells-unknown",
        ),
        pytest.param(["compare", "--cells", "LSTM"], "unknown cell 'LSTM'", id="cells-upper_case"),
        pytest.param(
            ["compare", "--cells", ""],
            "argument --cells: cells must name at least one cell",
            id="cells-empty",
        ),
        pytest.param(
            ["compare", "--cells", "gru,gru"],
            "argument --cells: cells lists 'gru' more than once",
            id="cells-repeated",
        ),
        pytest.param(
            ["bench", "--dtype", "float64"],
            "--dtype takes float32 and/or bfloat16",
            id="bench-dtype",
        ),
        pytest.param(
            ["bench", "--modes", "train"], "--modes takes fwd and/or fwdbwd", id="bench-modes"
        ),
        pytest.param(
            ["bench", "--repeats", "x"],
            "argument --repeats: invalid int value: 'x'",
            id="bench-repeats_word",
        ),
        pytest.param(
            ["bench", "--repeats", "0"], "--repeats must be >= 1", id="bench-repeats_zero"
        ),
        pytest.param(
            ["bench", "--warmup", "-1"], "--warmup must be >= 0", id="bench-warmup_negative"
        ),
        pytest.param(
            ["bench", "--host-devices", "0"],
            "--host-devices must be >= 1",
            id="bench-host_devices_zero",
        ),
        pytest.param(
            ["bench", "--shapes", "0x1x1x1"], "every size must be >= 1", id="bench-shapes_zero"
        ),
        pytest.param(["bench", "--shapes", "2x3"], "argument --shapes", id="bench-shapes_short"),
        pytest.param(
            ["bench", "--sweep", "Q"], "--sweep takes T, B and/or H", id="bench-sweep_axis"
        ),
        pytest.param(
            ["bench", "--shapes", "none"],
            "--shapes none leaves nothing to run",
            id="bench-nothing_to_run",
        ),
        pytest.param(
            ["bench", "--bogus"], "unrecognized arguments: --bogus", id="bench-unknown_option"
        ),
    ],
)
def test_usage_errors_are_one_line(capsys, argv: list[str], expected: str) -> None:
    line = _usage_error(capsys, argv)
    assert expected in line, line


def test_out_is_a_file(capsys, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert "exists and is not a folder" in _usage_error(capsys, ["compare", "--out", str(blocker)])
    assert "is not writable" in _usage_error(capsys, ["compare", "--out", str(blocker / "sub")])


def test_no_command_prints_help_and_fails(capsys) -> None:
    code, out, err = _run(capsys, [])
    assert code == 2 and out.startswith("usage: rnnax") and err == ""


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["compare"], id="defaults"),
        pytest.param(
            [
                "compare",
                "--hidden",
                "4096",
                "--layers",
                "16",
                "--seeds",
                "256",
                "--memory-steps",
                "0",
                "--copy-symbols",
                "0",
                "--lr",
                "10",
                "--memory-lengths",
                "2",
                "--sweep-lengths",
                " 3, 5 ,",
                "--out",
                "o",
            ],
            id="extremes_still_valid",
        ),
        pytest.param(
            [
                "compare",
                "--dataset",
                "co2",
                "--lookback",
                "1",
                "--horizon",
                "1",
                "--steps",
                "1",
                "--eval-every",
                "1000000",
            ],
            id="tiny_windows",
        ),
        pytest.param(["compare", "--dataset", "all"], id="dataset-all"),
        pytest.param(["compare", "--cells", "gru_reset_after"], id="cells-one"),
        pytest.param(["compare", "--cells", " lstm, gru ,gru_reset_after,"], id="cells-three"),
    ],
)
def test_valid_arguments_are_accepted(capsys, argv: list[str]) -> None:
    """Valid argument lists reach ``compare`` (stubbed here), with nothing on stderr."""
    with pytest.raises(_Started):
        main(argv)
    assert capsys.readouterr().err == ""


_GOOD_CSV = "month,units,price\n" + "".join(
    f"{1990 + index // 12}-{index % 12 + 1:02d},{100 + index % 12},{index}\n"
    for index in range(120)
)

# A CSV file's content -> what the one line on stderr says of it.
_BAD_CSV = {
    "empty": ("", "is empty"),
    "header_only": ("month,units\n", "no data rows"),
    "blank_lines": ("\n\n\n", "is empty"),
    "text_value": ("month,units\n2020-01,1\n2020-02,many\n", "'many' is not a number"),
    "missing_value": ("month,units\n2020-01,1\n2020-02,\n2020-03,3\n", "missing"),
    "infinite_value": ("month,units\n2020-01,1\n2020-02,inf\n2020-03,3\n", "line 3"),
    "duplicate_time": ("month,units\n2020-01,1\n2020-01,2\n2020-02,3\n", "line 3"),
    "time_backwards": ("month,units\n2020-02,1\n2020-01,2\n", "line 3"),
    "not_utf8": (b"month,units\n2020-01,\xff\xfe\n", "not UTF-8"),
    "nul_bytes": (b"\x00\x00\x00\x00", "file"),
    "ragged_row": ("month,units\n2020-01,1,7\n2020-02,2\n", "line 2"),
    "no_name_in_header": ("month,\n2020-01,1\n", "has no name"),
    "too_short": (
        _GOOD_CSV.splitlines(keepends=True)[0] + "".join(_GOOD_CSV.splitlines(keepends=True)[1:13]),
        "needs at least 84 steps",
    ),
}


@pytest.mark.parametrize(("content", "expected"), _BAD_CSV.values(), ids=list(_BAD_CSV))
def test_bad_csv_files_are_one_line(capsys, tmp_path: Path, content, expected: str) -> None:
    path = tmp_path / "bad.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    line = _usage_error(capsys, ["compare", "--csv", str(path), "--out", "o"])
    assert expected in line and "bad.csv" in line, line


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        pytest.param(["--dataset", "co2"], "csv and dataset are exclusive", id="with_dataset"),
        pytest.param(
            ["--dataset", "airline_passengers"],
            "csv and dataset are exclusive",
            id="with_the_default_dataset",
        ),
        pytest.param(["--dataset", "all"], "csv and dataset are exclusive", id="with_all"),
        pytest.param(["--column", "unit"], "has no column 'unit'", id="column-unknown"),
        pytest.param(["--column", ""], "column", id="column-empty"),
        pytest.param(["--time-column", "units"], "time", id="time_column-a_value_column"),
        pytest.param(["--period", "x"], "argument --period:", id="period-word"),
        pytest.param(["--lookback", "200"], "too short for lookback=200", id="lookback"),
    ],
)
def test_bad_csv_options_are_one_line(capsys, tmp_path: Path, argv, expected: str) -> None:
    path = tmp_path / "sales.csv"
    path.write_text(_GOOD_CSV, encoding="utf-8")
    line = _usage_error(capsys, ["compare", "--csv", str(path), *argv, "--out", "o"])
    assert expected in line, line


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param([], id="defaults"),
        pytest.param(["--column", "price", "--period", "4"], id="column_and_period"),
        pytest.param(["--time-column", "month", "--lookback", "3", "--horizon", "2"], id="time"),
    ],
)
def test_valid_csv_arguments_are_accepted(capsys, tmp_path: Path, argv: list[str]) -> None:
    path = tmp_path / "sales.csv"
    path.write_text(_GOOD_CSV, encoding="utf-8")
    with pytest.raises(_Started):
        main(["compare", "--csv", str(path), *argv])
    assert capsys.readouterr().err == ""


def test_help_exits_zero(capsys) -> None:
    assert _run(capsys, ["--help"])[0] == 0
    assert _run(capsys, ["bench", "--help"])[0] == 0
    code, out, _ = _run(capsys, ["compare", "--help"])
    assert code == 0 and "--hidden" in out


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["compare", "--hidden", "0"], id="compare-hidden_zero"),
        pytest.param(["bench", "--cells", "rnn"], id="bench-cells"),
    ],
)
def test_real_process_exits_2_with_one_line(argv: list[str], tmp_path: Path) -> None:
    """The installed entry point, in its own process (with a timeout against hangs)."""
    result = subprocess.run(
        [sys.executable, "-m", "rnnax", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 2, result
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr
