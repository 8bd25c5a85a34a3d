"""``rnnax forecast`` end to end on a CSV the test writes: it trains, beats the seasonal-naive
baseline in its own backtest, writes its files, and the saved model forecasts the same numbers
without training; bad arguments are one line and exit status 2."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

from rnnax import forecasting, pipeline
from rnnax.cli import main
from rnnax.pipeline import _options, _plot
from rnnax.pipeline._transform import Transform, fit_transform

HORIZON = 12
ROWS = 150  # monthly, 2010-01 to 2022-06
# Tiny and fast, and still far ahead of the seasonal-naive baseline on a trended series.
TRAINING = ["--hidden", "8", "--epochs", "60", "--patience", "20", "--lr", "0.01", "--seed", "0"]


def _write_csv(path: Path, *, rows: int = ROWS, seed: int = 0) -> Path:
    """A monthly series with a trend, a yearly season and noise (seeded)."""
    rng = np.random.default_rng(seed)
    t = np.arange(rows)
    values = 100 + 0.8 * t + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 2, rows)
    lines = ["month,sales"] + [
        f"{2010 + i // 12}-{i % 12 + 1:02d},{value:.4f}" for i, value in enumerate(values)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse
            code = exit_.code
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """One ``rnnax forecast`` training run: (the CSV, its output folder, its stdout)."""
    folder = tmp_path_factory.mktemp("forecast")
    csv = _write_csv(folder / "sales.csv")
    out = folder / "run"
    argv = ["forecast", "--csv", str(csv), "--horizon", str(HORIZON), *TRAINING]
    code, stdout, stderr = _cli([*argv, "--out", str(out), "--no-progress"])
    assert code == 0, stderr
    return csv, out, stdout


def test_forecast_beats_seasonal_naive_in_its_own_backtest(trained) -> None:
    _, out, stdout = trained
    metrics = json.loads((out / "backtest.json").read_text())["metrics"]
    assert set(metrics) == {"model", "naive", "seasonal_naive"}
    assert metrics["model"]["mase"] < metrics["seasonal_naive"]["mase"], metrics
    assert 0.0 <= metrics["model"]["coverage"] <= 1.0 and metrics["model"]["crps"] > 0
    assert "the model is better" in stdout and str(out / "forecast.csv") in stdout


def test_files_and_time_stamps(trained) -> None:
    _, out, _ = trained
    names = ["forecast.csv", "backtest.json", "backtest.md", "model.rnnax"]
    for name in names + (["forecast.png"] if _plot.available() else []):
        assert (out / name).is_file(), name
    rows = (out / "forecast.csv").read_text().splitlines()
    assert rows[0] == "time,sales,sales_lower,sales_upper"
    body = [row.split(",") for row in rows[1:]]
    assert len(body) == HORIZON
    assert [row[0] for row in body] == [f"{2022 + m // 12}-{m % 12 + 1:02d}" for m in range(6, 18)]
    numbers = np.array([[float(cell) for cell in row[1:]] for row in body])
    assert (numbers[:, 1] < numbers[:, 0]).all() and (numbers[:, 0] < numbers[:, 2]).all()
    markdown = (out / "backtest.md").read_text()
    assert "| seasonal_naive |" in markdown and "backtest MASE: model" in markdown


def test_saved_model_forecasts_the_same_without_training(trained, tmp_path: Path) -> None:
    csv, out, _ = trained
    code, stdout, stderr = _cli(
        [
            "forecast",
            "--model",
            str(out),
            "--csv",
            str(csv),
            "--out",
            str(tmp_path),
            "--no-progress",
        ]
    )
    assert code == 0, stderr
    assert (tmp_path / "forecast.csv").read_text() == (out / "forecast.csv").read_text()
    assert "backtest MASE" not in stdout and not (tmp_path / "model.rnnax").exists()


def test_library_call_is_deterministic_and_matches_the_command(trained, tmp_path: Path) -> None:
    csv, out, _ = trained
    run = pipeline.forecast_csv(
        csv, horizon=HORIZON, hidden=8, epochs=60, patience=20, learning_rate=0.01,
        out=tmp_path, progress=False,
    )  # fmt: skip
    assert (tmp_path / "forecast.csv").read_text() == (out / "forecast.csv").read_text()
    assert run.forecast.point.shape == (HORIZON, 1) and run.forecast.level == _options.DEFAULT_LEVEL
    assert run.summary is not None and run.model_path == tmp_path / "model.rnnax"
    # Outside the pipeline: the saved model reads the logarithm of the sales (metadata "log").
    saved = forecasting.load(run.model_path)
    assert saved.metadata["log"] == [True] and saved.columns == ("sales",)
    history = run.series.values[:, None]
    point = np.exp(saved.predict(np.log(history)))
    np.testing.assert_allclose(point, run.forecast.point, rtol=1e-12)


def test_point_forecaster_of_two_columns_gets_a_conformal_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = np.arange(80)
    lines = ["a,b"] + [f"{np.sin(i / 2):.4f},{-1 + 0.01 * i:.4f}" for i in t]
    csv = tmp_path / "two.csv"
    csv.write_text("\n".join(lines) + "\n")  # no time stamps: the steps are numbers
    run = pipeline.forecast_csv(
        csv, horizon=3, period=6, likelihood="point", hidden=4, epochs=3,
        out=tmp_path / "run", progress=False,
    )  # fmt: skip
    future = run.forecast
    assert future.columns == ("a", "b") and future.timestamps.tolist() == [80, 81, 82]
    assert future.lower is not None and future.upper is not None
    assert (future.lower <= future.point).all() and (future.point <= future.upper).all()
    assert run.summary is not None and "coverage" in run.summary["model"]
    monkeypatch.setattr(_plot, "available", lambda: False)  # as without matplotlib
    again = pipeline.forecast_from_model(run.out, csv, out=tmp_path / "again", progress=False)
    np.testing.assert_array_equal(again.forecast.upper, future.upper)
    assert again.notes == (_plot.missing_note(),) and "forecast.png" not in again.files
    assert not (tmp_path / "again" / "forecast.png").exists()
    assert again.summary_lines()[-1] == _plot.missing_note()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        pytest.param(["--horizon", "3"], "the following arguments are required: --csv", id="csv"),
        pytest.param(["--csv", "{csv}", "--horizon", "0"], "argument --horizon", id="horizon-0"),
        pytest.param(["--csv", "{csv}"], "--horizon is required", id="no-horizon"),
        pytest.param(
            ["--model", "{csv}", "--csv", "{csv}", "--hidden", "4"],
            "--hidden is a training option",
            id="model-and-training",
        ),
        pytest.param(["--csv", "{missing}", "--horizon", "3"], "no such CSV file", id="no-file"),
        pytest.param(
            ["--csv", "{csv}", "--horizon", "70"], "too short for lookback=140", id="too-short"
        ),
    ],
)
def test_bad_arguments_are_one_line_and_status_2(argv, expected, tmp_path: Path) -> None:
    csv = _write_csv(tmp_path / "sales.csv")
    names = {"csv": str(csv), "missing": str(tmp_path / "missing.csv")}
    code, stdout, stderr = _cli(["forecast", *(arg.format(**names) for arg in argv)])
    lines = stderr.strip().splitlines()
    assert code == 2 and stdout == "" and len(lines) == 1, (code, stdout, stderr)
    assert lines[0].startswith("rnnax forecast: error:") and expected in lines[0], lines
    assert not (tmp_path / "runs").exists()


def test_transform_round_trip_and_hash() -> None:
    values = np.array([[1.0, -2.0], [4.0, 3.0], [9.0, 0.5]])
    transform = fit_transform(values, train_end=2)
    assert transform.log == (True, False)
    np.testing.assert_allclose(transform(transform.to_model(values)), values, rtol=1e-12)
    same = Transform(transform.center, transform.scale, transform.log)
    assert same == transform and hash(same) == hash(transform)


def test_command_line_choices_match_the_library() -> None:
    from typing import get_args

    from rnnax import data
    from rnnax.forecasting._config import Likelihood

    assert set(_options.LIKELIHOODS) == set(get_args(Likelihood))
    assert set(_options.NAN_POLICIES) == set(data.NAN_POLICIES)
