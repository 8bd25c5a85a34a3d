"""Bad-input fuzzing of ``rnnax forecast`` and of ``rnnax.pipeline``'s two calls.

Every bad argument of the command must end it with exit status 2 and exactly one line on stderr
(``rnnax forecast: error: ...`` naming the option or the file), nothing on stdout, no traceback
and no output folder, without training. The cases call ``rnnax.cli.main`` in this process with
the pipeline's two run steps (``run_training``, ``run_from_model``) replaced by a stub, so an
accepted argument list is detected, not run. The library calls ``forecast_csv`` and
``forecast_from_model`` must raise exactly ``TypeError`` or ``ValueError`` naming the argument,
before any training.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import numpy as np
import pytest
from fuzz_helpers import Case, check, int_mutations, params

from rnnax import data, forecasting
from rnnax.cli import main
from rnnax.pipeline import _run, forecast_csv, forecast_from_model

ROWS = 60  # monthly, 2010-01 to 2014-12: enough for --horizon 3 (lookback 24)


class _Started(Exception):
    """Raised by the stubbed run steps: the arguments were accepted."""


def _monthly(path: Path, values: Any, *, start: int = 2010, header: str = "month,sales") -> Path:
    rows = [f"{start + i // 12}-{i % 12 + 1:02d},{value}" for i, value in enumerate(values)]
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def _sales(rows: int = ROWS) -> np.ndarray:
    t = np.arange(rows)
    return np.round(100 + t + 10 * np.sin(2 * np.pi * t / 12), 3)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Good and bad CSV files and saved models, made once (no training: models are initial)."""
    folder = tmp_path_factory.mktemp("fuzz-forecast")
    made = {
        "csv": _monthly(folder / "sales.csv", _sales()),
        "short": _monthly(folder / "short.csv", _sales(20)),
        "tiny": _monthly(folder / "tiny.csv", _sales(5)),
        "nan": _monthly(folder / "nan.csv", [*_sales(59), "NaN"]),
        "zero": _monthly(folder / "zero.csv", [*_sales(59), 0.0]),
        "other": _monthly(folder / "other.csv", _sales(), header="month,units"),
        "header": _monthly(folder / "header.csv", []),
        "empty": folder / "empty.csv",
        "binary": folder / "binary.csv",
        "daily": folder / "daily.csv",
        "a_file": folder / "a_file",
    }
    made["empty"].write_bytes(b"")
    made["binary"].write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    days = np.datetime64("2020-01-01") + np.arange(ROWS)
    made["daily"].write_text(
        "day,sales\n" + "".join(f"{d},{v}\n" for d, v in zip(days, _sales(), strict=True))
    )
    made["a_file"].write_text("x")
    made |= _models(folder)
    return made


def _save(path: Path, config: forecasting.ForecasterConfig, **metadata: Any) -> Path:
    params = forecasting.forecaster(config).init(jax.random.key(0))
    meta = {"log": [True] * config.input_size, "level": 0.8, "frequency": "monthly", **metadata}
    scaler = data.Scaler(center=np.full(config.input_size, 4.5), scale=np.ones(config.input_size))
    columns = ("sales", "price")[: config.input_size]
    forecasting.save(
        path, config, params, scaler=scaler, columns=columns, period=12, lookback=6, metadata=meta
    )
    return path


def _models(folder: Path) -> dict[str, Path]:
    config = forecasting.ForecasterConfig(horizon=3, hidden=2, likelihood="gaussian")
    run = folder / "run"
    good = _save(run / "model.rnnax", config)
    truncated = folder / "truncated.rnnax"
    truncated.write_bytes(good.read_bytes()[:200])
    autoregressive = forecasting.ForecasterConfig(
        horizon=3, hidden=2, input_size=2, strategy="autoregressive"
    )
    return {
        "run": run,
        "model": good,
        "truncated": truncated,
        "no_model_dir": folder,  # a folder without model.rnnax
        "bad_log": _save(folder / "bad_log.rnnax", config, log=[1]),
        "bad_level": _save(folder / "bad_level.rnnax", config, level=2.0),
        "bad_halfwidth": _save(folder / "bad_hw.rnnax", config, halfwidth=[[1.0]]),
        "covariates": _save(folder / "covariates.rnnax", autoregressive),
        "quantile_level": _save(
            folder / "quantile.rnnax",
            forecasting.ForecasterConfig(horizon=3, hidden=2, likelihood="quantile"),
            level=0.7,
        ),
    }


@pytest.fixture(autouse=True)
def _no_real_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def stub(plan):
        raise _Started(f"would run: {plan}")

    monkeypatch.setattr(_run, "run_training", stub)
    monkeypatch.setattr(_run, "run_from_model", stub)
    monkeypatch.chdir(tmp_path)  # a default --out (runs/...) would land here


def _usage_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Asserts exit status 2, one line on stderr, nothing on stdout, no folder; the line."""
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse
        code = exit_.code
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 2, (argv, code, captured.err)
    assert len(lines) == 1, lines
    assert "Traceback" not in captured.err and captured.out == "", captured
    # Unrecognized arguments are the top-level parser's to report.
    assert lines[0].startswith(("rnnax forecast: error:", "rnnax: error:")), lines
    assert not Path("runs").exists(), "a usage error created the output folder"
    return lines[0]


def _fill(argv: list[str], files: dict[str, Path]) -> list[str]:
    return [str(files[arg[1:-1]]) if arg.startswith("{") else arg for arg in argv]


_MAX = {
    "--horizon": 100_000,
    "--period": 100_000,
    "--lookback": 100_000,
    "--hidden": 4096,
    "--epochs": 1_000_000,
    "--patience": 1_000_000,
    "--seed": 2**32 - 1,
}


def _int_option_cases() -> list:
    cases = []
    for option, maximum in _MAX.items():
        smallest = 0 if option == "--seed" else 1
        values = {
            "below": str(smallest - 1),
            "word": "two",
            "float": "1.5",
            "empty": "",
            "above_maximum": str(maximum + 1),
            "huge": "9" * 30,
        }
        cases += [pytest.param(option, v, id=f"{option}-{label}") for label, v in values.items()]
    return cases


@pytest.mark.parametrize(("option", "value"), _int_option_cases())
def test_integer_option(capsys, files, option: str, value: str) -> None:
    argv = ["forecast", "--csv", str(files["csv"]), "--horizon", "3", option, value]
    line = _usage_error(capsys, argv)
    assert f"argument {option}:" in line and "integer" in line, line


@pytest.mark.parametrize(
    ("option", "value"),
    [
        pytest.param("--lr", value, id=f"lr-{label}")
        for label, value in {
            "zero": "0",
            "negative": "-0.1",
            "nan": "nan",
            "inf": "inf",
            "word": "fast",
            "above_maximum": "10.5",
        }.items()
    ]
    + [
        pytest.param("--level", value, id=f"level-{label}")
        for label, value in {
            "zero": "0",
            "one": "1",
            "percent": "80",
            "negative": "-0.5",
            "nan": "nan",
            "word": "high",
            "empty": "",
        }.items()
    ],
)
def test_number_option(capsys, files, option: str, value: str) -> None:
    argv = ["forecast", "--csv", str(files["csv"]), "--horizon", "3", option, value]
    assert f"argument {option}:" in _usage_error(capsys, argv)


_TRAINING_WITH_MODEL = {
    "horizon": ["--horizon", "3"],
    "period": ["--period", "12"],
    "lookback": ["--lookback", "6"],
    "cell": ["--cell", "gru"],
    "hidden": ["--hidden", "4"],
    "likelihood": ["--likelihood", "point"],
    "level": ["--level", "0.5"],
    "epochs": ["--epochs", "3"],
    "patience": ["--patience", "3"],
    "lr": ["--lr", "0.1"],
    "seed": ["--seed", "1"],
}


@pytest.mark.parametrize(
    "option", list(_TRAINING_WITH_MODEL.values()), ids=list(_TRAINING_WITH_MODEL)
)
def test_training_option_with_model(capsys, files, option: list[str]) -> None:
    argv = ["forecast", "--model", str(files["run"]), "--csv", str(files["csv"]), *option]
    line = _usage_error(capsys, argv)
    assert f"{option[0]} is a training option" in line, line


_CASES = {
    "no-csv": (["--horizon", "3"], "the following arguments are required: --csv"),
    "no-horizon": (["--csv", "{csv}"], "--horizon is required"),
    "csv-empty_name": (["--csv", "", "--horizon", "3"], "argument --csv: expected a file name"),
    "csv-nul": (["--csv", "a\0b", "--horizon", "3"], "argument --csv: expected a file name"),
    "csv-missing": (["--csv", "nope.csv", "--horizon", "3"], "no such CSV file: 'nope.csv'"),
    "csv-folder": (["--csv", "{no_model_dir}", "--horizon", "3"], "is not a regular file"),
    "csv-empty_file": (["--csv", "{empty}", "--horizon", "3"], "empty.csv' is empty"),
    "csv-binary": (["--csv", "{binary}", "--horizon", "3"], "is not UTF-8 text"),
    "csv-header_only": (["--csv", "{header}", "--horizon", "3"], "but no data rows"),
    "csv-nan": (["--csv", "{nan}", "--horizon", "3"], "missing or non-finite"),
    "nan_policy-unknown": (
        ["--csv", "{nan}", "--horizon", "3", "--nan-policy", "zero"],
        "argument --nan-policy: invalid choice",
    ),
    "csv-too_short": (["--csv", "{short}", "--horizon", "3"], "too short for lookback=24"),
    "horizon-too_long": (["--csv", "{csv}", "--horizon", "30"], "too short for lookback=60"),
    "lookback-too_long": (
        ["--csv", "{csv}", "--horizon", "3", "--lookback", "50"],
        "too short for lookback=50",
    ),
    "column-unknown": (["--csv", "{csv}", "--horizon", "3", "--column", "x"], "no column 'x'"),
    "column-twice": (
        ["--csv", "{csv}", "--horizon", "3", "--column", "sales", "--column", "sales"],
        "'sales' twice",
    ),
    "column-is_time": (
        ["--csv", "{csv}", "--horizon", "3", "--column", "month"],
        "month",
    ),
    "time_column-unknown": (
        ["--csv", "{csv}", "--horizon", "3", "--time-column", "when"],
        "'when'",
    ),
    "column-no_value": (["--csv", "{csv}", "--column"], "argument --column: expected one argument"),
    "cell-unknown": (["--csv", "{csv}", "--horizon", "3", "--cell", "rnn"], "unknown cell 'rnn'"),
    "cell-upper_case": (["--csv", "{csv}", "--horizon", "3", "--cell", "GRU"], "unknown cell"),
    "likelihood-unknown": (
        ["--csv", "{csv}", "--horizon", "3", "--likelihood", "normal"],
        "argument --likelihood: invalid choice",
    ),
    "out-empty": (["--csv", "{csv}", "--horizon", "3", "--out", ""], "expected a folder name"),
    "out-unwritable": (
        ["--csv", "{csv}", "--horizon", "3", "--out", "/proc/no/such/place"],
        "is not writable",
    ),
    "out-a_file": (["--csv", "{csv}", "--horizon", "3", "--out", "{a_file}"], "not a folder"),
    "option-unknown": (["--csv", "{csv}", "--bogus"], "unrecognized arguments: --bogus"),
    "positional-extra": (["--csv", "{csv}", "extra"], "unrecognized arguments: extra"),
    "model-missing": (["--model", "nope.rnnax", "--csv", "{csv}"], "no saved model: 'nope.rnnax'"),
    "model-folder_without_model": (
        ["--model", "{no_model_dir}", "--csv", "{csv}"],
        "no saved model",
    ),
    "model-not_a_model": (["--model", "{csv}", "--csv", "{csv}"], "is not a saved rnnax"),
    "model-truncated": (["--model", "{truncated}", "--csv", "{csv}"], "truncated.rnnax"),
    "model-other_columns": (["--model", "{run}", "--csv", "{other}"], "no column 'sales'"),
    "model-other_frequency": (
        ["--model", "{run}", "--csv", "{daily}"],
        "trained on monthly data, but the CSV holds daily",
    ),
    "model-too_few_rows": (["--model", "{run}", "--csv", "{tiny}"], "CSV has 5"),
    "model-log_of_zero": (["--model", "{run}", "--csv", "{zero}"], "values <= 0"),
    "model-bad_log": (["--model", "{bad_log}", "--csv", "{csv}"], "metadata 'log'"),
    "model-bad_level": (["--model", "{bad_level}", "--csv", "{csv}"], "metadata 'level'"),
    "model-bad_halfwidth": (["--model", "{bad_halfwidth}", "--csv", "{csv}"], "'halfwidth'"),
    "model-quantile_level": (
        ["--model", "{quantile_level}", "--csv", "{csv}"],
        "lack the ends of its 0.7 interval",
    ),
    "model-covariates": (
        ["--model", "{covariates}", "--csv", "{csv}"],
        "known future covariates",
    ),
    "model-two_columns_named_one": (
        ["--model", "{covariates}", "--csv", "{csv}", "--column", "sales"],
        "known future covariates",
    ),
}


@pytest.mark.parametrize(("argv", "expected"), list(_CASES.values()), ids=list(_CASES))
def test_usage_errors_are_one_line(capsys, files, argv: list[str], expected: str) -> None:
    line = _usage_error(capsys, ["forecast", *_fill(argv, files)])
    assert expected in line, line


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["--csv", "{csv}", "--horizon", "3"], id="minimal"),
        pytest.param(
            [
                "--csv",
                "{csv}",
                "--horizon",
                "1",
                "--lookback",
                "1",
                "--period",
                "1",
                "--cell",
                "lstm",
                "--hidden",
                "4096",
                "--likelihood",
                "quantile",
                "--level",
                "0.999",
                "--epochs",
                "1000000",
                "--patience",
                "1",
                "--lr",
                "10",
                "--seed",
                str(2**32 - 1),
                "--column",
                "sales",
                "--time-column",
                "month",
                "--out",
                "o",
                "--no-progress",
            ],
            id="extremes_still_valid",
        ),
        pytest.param(
            ["--csv", "{nan}", "--horizon", "3", "--nan-policy", "interpolate"], id="nan-filled"
        ),
        pytest.param(["--model", "{run}", "--csv", "{csv}"], id="model-folder"),
        pytest.param(
            ["--model", "{run}", "--csv", "{nan}", "--nan-policy", "ffill"], id="model-nan-filled"
        ),
        pytest.param(
            ["--model", "{model}", "--csv", "{other}", "--column", "units", "--out", "o"],
            id="model-file_renamed_column",
        ),
    ],
)
def test_valid_arguments_are_accepted(capsys, files, argv: list[str]) -> None:
    """Valid argument lists reach the run step (stubbed here), with nothing on stderr."""
    with pytest.raises(_Started):
        main(["forecast", *_fill(argv, files)])
    assert capsys.readouterr().err == ""


def test_help_exits_zero(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["forecast", "--help"])
    assert exit_.value.code == 0 and "--horizon" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------
# The library calls: exactly TypeError or ValueError naming the argument, before training
# ------------------------------------------------------------------------------------------
_NONE_ALLOWED = {"patience", "lookback", "period"}
_PATHS: dict[str, Path] = {}  # filled by the ``files`` fixture before a library case runs


def _library_cases() -> dict[str, Case]:
    good: dict[str, Any] = {"horizon": 3, "epochs": 1, "progress": False, "out": "o"}

    def call(**changes: Any) -> Any:
        return lambda: forecast_csv(_PATHS["csv"], **{**good, **changes})

    cases: dict[str, Case] = {}
    for name in ("horizon", "hidden", "epochs", "patience", "lookback", "period", "seed"):
        minimum = 0 if name == "seed" else 1
        for label, (value, error, match) in int_mutations(name, minimum=minimum).items():
            never_fails = (label == "none" and name in _NONE_ALLOWED) or (
                label == "huge" and name in ("epochs", "patience")
            )
            if not never_fails:
                cases[f"{name}-{label}"] = Case(call(**{name: value}), error, match)
    reals = {
        "level": {"zero": 0.0, "one": 1.0, "nan": float("nan"), "string": "0.8"},
        "learning_rate": {"zero": 0.0, "negative": -1e-3, "inf": float("inf"), "bool": True},
    }
    for name, values in reals.items():
        for label, value in values.items():
            error = TypeError if isinstance(value, (str, bool)) else ValueError
            cases[f"{name}-{label}"] = Case(call(**{name: value}), error, name)
    return cases | {
        "cell-unknown": Case(call(cell="rnn"), ValueError, "cell must be one of"),
        "cell-type": Case(call(cell=3), TypeError, "cell"),
        "likelihood-unknown": Case(call(likelihood="normal"), ValueError, "likelihood"),
        "likelihood-type": Case(call(likelihood=None), TypeError, "likelihood"),
        "progress-string": Case(call(progress="yes"), TypeError, "progress"),
        "out-type": Case(call(out=3), TypeError, "out"),
        "out-blank": Case(call(out=" "), ValueError, "out"),
        "path-type": Case(lambda: forecast_csv(3, horizon=3), TypeError, "path"),
        "column-type": Case(call(column=3), TypeError, "column"),
        "time_column-type": Case(call(time_column=3), TypeError, "time_column"),
        "nan_policy-unknown": Case(call(nan_policy="zero"), ValueError, "nan_policy"),
        "nan_policy-type": Case(call(nan_policy=None), TypeError, "nan_policy"),
    }


def _model_cases() -> dict[str, Case]:
    def call(model: str = "run", path: Any = None, **options: Any) -> Any:
        return lambda: forecast_from_model(
            _PATHS.get(model, model), _PATHS["csv"] if path is None else path, **options
        )

    return {
        "model-type": Case(call(model=3), TypeError, "model"),
        "model-bad_log": Case(call(model="bad_log"), ValueError, "metadata 'log'"),
        "path-type": Case(call(path=3), TypeError, "path"),
        "progress-type": Case(call(progress=1), TypeError, "progress"),
        "out-type": Case(call(out=b"o"), TypeError, "out"),
    }


@pytest.mark.parametrize(
    "case",
    params({**_library_cases(), **{f"from_model-{k}": v for k, v in _model_cases().items()}}),
)
def test_library_bad_argument(files, case: Case) -> None:
    _PATHS.update(files)
    check(case)
    assert not Path("o").exists() and not Path("runs").exists()
