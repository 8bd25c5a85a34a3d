"""The one-call runs: :func:`forecast_csv` (train and forecast) and :func:`forecast_from_model`.

:func:`forecast_csv` trains, backtests, forecasts and saves; :func:`forecast_from_model`
forecasts with a saved model. Each gives a :class:`ForecastRun`.

Each run is planned, then run: planning (:func:`plan_training`, :func:`plan_from_model`) checks
the arguments, reads the CSV, cuts the windows, loads the model and creates the output folder,
so every mistake in the input surfaces before any training; running (:func:`run_training`,
:func:`run_from_model`) does the work and writes the files. ``rnnax forecast`` calls the two
steps apart, to report a planning error as a usage error.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from rnnax import data, forecasting
from rnnax._checks import check_bool, check_choice, check_int, check_positive_real, check_real
from rnnax._protocol import registered_cells
from rnnax.pipeline import _options, _plot, _report
from rnnax.pipeline._future import FittedModel, FutureForecast, forecast_after
from rnnax.pipeline._model_file import load_model, save_model
from rnnax.pipeline._problem import Problem, column_names, prepare, series_values
from rnnax.pipeline._train import TrainSettings, score, train, training_record


@dataclasses.dataclass(frozen=True)
class ForecastRun:
    """What a forecasting run made and where it wrote it.

    Attributes:
        series: the series read from the CSV.
        out: the folder the files went to.
        model_path: the saved model (written by :func:`forecast_csv`, read by
            :func:`forecast_from_model`).
        forecast: the forecast of the ``horizon`` steps after the series' end, with its
            interval.
        backtest: the backtest of the model on the held-out test segment beside the naive and
            seasonal-naive baselines, or ``None`` (a forecast from a saved model).
        training: what the training did (epochs run, best epoch, why it stopped), or ``None``.
        files: each written file's name -> its path.
        notes: remarks on the run (a skipped plot).
    """

    series: data.Series
    out: Path
    model_path: Path
    forecast: FutureForecast
    backtest: forecasting.BacktestResult | None
    training: dict[str, Any] | None
    files: dict[str, Path]
    notes: tuple[str, ...] = ()

    @property
    def summary(self) -> dict[str, dict[str, float]] | None:
        """The backtest's metrics per method (``"model"``, ``"naive"``, ``"seasonal_naive"``),
        or ``None`` without a backtest."""
        return None if self.backtest is None else self.backtest.summary

    def summary_lines(self) -> list[str]:
        """A few lines for the terminal: the backtest verdict and where the files went."""
        lines = []
        if self.summary is not None:
            lines.append(_report.verdict(_report.json_metrics(self.summary)))
        lines += [f"{name}: {path}" for name, path in self.files.items()]
        return lines + list(self.notes)


@dataclasses.dataclass(frozen=True)
class TrainingPlan:
    """A checked :func:`forecast_csv` run: the problem, the settings and the output folder."""

    path: Path
    problem: Problem
    settings: TrainSettings
    out: Path
    progress: bool


@dataclasses.dataclass(frozen=True)
class ModelPlan:
    """A checked :func:`forecast_from_model` run: the model, the series and the folder."""

    model_path: Path
    model: FittedModel
    series: data.Series
    columns: tuple[str, ...]
    out: Path
    progress: bool


def _log(progress: bool, message: str) -> None:
    if progress:
        print(message, file=sys.stderr, flush=True)


def _check_out(out: object) -> Path | None:
    if out is None:
        return None
    if not isinstance(out, (str, os.PathLike)) or not isinstance(os.fspath(out), str):
        raise TypeError(f"out must be a folder (str or os.PathLike) or None, got {out!r:.80}")
    if not str(out).strip() or "\0" in str(out):
        raise ValueError(f"out must name a folder, got {str(out)!r}")
    return Path(out)


def _out_dir(out: Path | None, name: str) -> Path:
    return _options.check_out_dir(_options.default_out_dir(name) if out is None else out)


def _check_settings(**settings: Any) -> TrainSettings:
    """The training settings, each checked by rnnax's one rule (``TypeError`` / ``ValueError``)."""
    patience = settings["patience"]
    return TrainSettings(
        cell=check_choice("cell", settings["cell"], registered_cells()),
        hidden=check_int("hidden", settings["hidden"], minimum=1, maximum=2**31 - 1),
        likelihood=check_choice("likelihood", settings["likelihood"], _options.LIKELIHOODS),
        level=check_real("level", settings["level"], minimum=0.0, maximum=1.0, exclusive=True),
        epochs=check_int("epochs", settings["epochs"], minimum=1),
        patience=None if patience is None else check_int("patience", patience, minimum=1),
        learning_rate=check_positive_real("learning_rate", settings["learning_rate"]),
        seed=check_int("seed", settings["seed"], minimum=0, maximum=2**63 - 1),
    )


def plan_training(
    path: str | os.PathLike[str],
    *,
    horizon: int,
    column: str | list[str] | tuple[str, ...] | None = None,
    time_column: str | None = None,
    period: int | None = None,
    lookback: int | None = None,
    nan_policy: data.NanPolicy = "raise",
    out: str | os.PathLike[str] | None = None,
    progress: bool = True,
    **settings: Any,
) -> TrainingPlan:
    """Checks a :func:`forecast_csv` run, reads its CSV and creates its folder (see there);
    training ``settings`` left out take their defaults (``_options.TRAINING_DEFAULTS``)."""
    horizon = check_int("horizon", horizon, minimum=1)
    lookback = None if lookback is None else check_int("lookback", lookback, minimum=1)
    checked = _check_settings(**{**_options.TRAINING_DEFAULTS, **settings})
    progress = check_bool("progress", progress)
    out_path = _check_out(out)
    series = data.from_csv(
        path,
        column=column,
        time_column=time_column,
        period=period,
        nan_policy=nan_policy,
    )
    problem = prepare(series, horizon, lookback)
    return TrainingPlan(
        path=Path(path),
        problem=problem,
        settings=checked,
        out=_out_dir(out_path, series.name),
        progress=progress,
    )


def _write_common(
    out: Path, series: data.Series, future: FutureForecast, backtest: Any, notes: list[str]
) -> dict[str, Path]:
    """``forecast.csv`` and (with matplotlib) ``forecast.png``; a note when the PNG is skipped."""
    files = {"forecast.csv": _report.write_forecast_csv(out / "forecast.csv", future)}
    if not _plot.available():
        notes.append(_plot.missing_note())
        return files
    files["forecast.png"] = _plot.plot_forecast(
        out / "forecast.png",
        series_values(series),
        np.asarray(series.timestamps),
        future,
        backtest,
        title=f"{series.name}: forecast of {len(future.timestamps)} steps",
    )
    return files


def _document(
    plan: TrainingPlan, record: dict[str, Any], backtest: forecasting.BacktestResult
) -> dict[str, Any]:
    """The contents of ``backtest.json``."""
    problem, settings = plan.problem, plan.settings
    series, points = problem.series, problem.split.points
    return {
        "series": {
            "name": series.name,
            "file": str(plan.path),
            "source": series.source,
            "length": len(series),
            "frequency": series.frequency,
            "period": series.period,
            "columns": list(problem.columns),
        },
        "settings": {
            "horizon": problem.horizon,
            "lookback": problem.lookback,
            **dataclasses.asdict(settings),
            "log": dict(zip(problem.columns, problem.transform.log, strict=True)),
        },
        "split": {
            "train_end": points.train_end,
            "validation_end": points.validation_end,
            "length": points.length,
            "test_origins": len(backtest.origins),
        },
        "training": record,
        "metrics": _report.json_metrics(backtest.summary),
        "final_model": "the model trained on the training segment (best validation epoch), "
        "as backtested; it forecasts from the series' last lookback steps",
    }


def run_training(plan: TrainingPlan) -> ForecastRun:
    """Trains, backtests, forecasts and writes the files of a planned :func:`forecast_csv`."""
    problem, settings, out = plan.problem, plan.settings, plan.out
    split = problem.split
    _log(plan.progress, f"read {plan.path}: {problem.series.source}")
    _log(
        plan.progress,
        f"training {settings.cell} (hidden {settings.hidden}, {settings.likelihood}) on "
        f"{split.train.inputs.shape[0]} windows, early stopping on "
        f"{split.validation.inputs.shape[0]}",
    )
    fitted, result = train(problem, settings, progress=plan.progress)
    backtest = score(problem, fitted)
    future = forecast_after(fitted, problem.values, problem.series.timestamps, problem.columns)
    files = {
        _options.MODEL_FILE: save_model(
            out / _options.MODEL_FILE, fitted, problem.series, problem.columns
        )
    }
    document = _document(plan, training_record(result), backtest)
    files["backtest.json"] = _report.write_json(out / "backtest.json", document)
    files["backtest.md"] = _report.write_markdown(out / "backtest.md", document)
    notes: list[str] = []
    files |= _write_common(out, problem.series, future, backtest, notes)
    return ForecastRun(
        series=problem.series,
        out=out,
        model_path=files[_options.MODEL_FILE],
        forecast=future,
        backtest=backtest,
        training=document["training"],
        files=files,
        notes=tuple(notes),
    )


def forecast_csv(
    path: str | os.PathLike[str],
    *,
    horizon: int,
    column: str | list[str] | tuple[str, ...] | None = None,
    time_column: str | None = None,
    period: int | None = None,
    lookback: int | None = None,
    nan_policy: data.NanPolicy = "raise",
    cell: str = _options.DEFAULT_CELL,
    hidden: int = _options.DEFAULT_HIDDEN,
    likelihood: str = _options.DEFAULT_LIKELIHOOD,
    level: float = _options.DEFAULT_LEVEL,
    epochs: int = _options.DEFAULT_EPOCHS,
    patience: int | None = _options.DEFAULT_PATIENCE,
    learning_rate: float = _options.DEFAULT_LEARNING_RATE,
    seed: int = 0,
    out: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> ForecastRun:
    """Trains a forecaster on a CSV, backtests it, forecasts ``horizon`` steps and saves it.

    Steps: read the CSV (``rnnax.data.from_csv``: time stamps, frequency and period inferred);
    split it in time into training, validation and test segments (each of the last two the
    larger of ``2 * horizon`` steps and 15% of the series); model each strictly positive
    column on its logarithm and standardize every column with statistics of the training
    segment only; train a direct forecaster of every value column on the training windows,
    stopping early on the validation windows; backtest it at every origin of the test segment
    beside the naive and seasonal-naive baselines; forecast the ``horizon`` steps after the
    series' end with a central interval of coverage ``level``.

    The model that forecasts the future is the one the backtest scored (trained on the
    training segment, its best validation epoch): no refit on more data, so the backtest
    measures the saved model itself. It reads the series' last ``lookback`` steps, so the
    newest data still shapes the forecast.

    Files written to ``out``: ``forecast.csv`` (a ``time`` column continuing the series' time
    stamps, then per column the point forecast, ``<name>_lower`` and ``<name>_upper``),
    ``backtest.json`` and ``backtest.md`` (the model's and the baselines' metrics),
    ``forecast.png`` (with matplotlib, the ``plot`` extra; without it the PNG is skipped and a
    note says so) and ``model.rnnax`` (``rnnax.forecasting.save``; forecast from it with
    :func:`forecast_from_model`). Every file is written atomically.

    Args:
        path: the CSV file (a header line; a time column and one or more value columns).
        horizon: steps to forecast (>= 1).
        column: the value column(s) to forecast; default every column but the time column.
        time_column: the column of time stamps; default the first column if it holds them.
        period: the seasonal period; default from the frequency (12 for monthly data).
        lookback: steps the model reads; default twice the larger of period and horizon.
        nan_policy: missing cells and missing time steps: ``"raise"`` (report them),
            ``"ffill"`` or ``"interpolate"`` (fill them) or ``"drop"`` (drop those rows);
            see ``rnnax.data.NanPolicy``.
        cell: a registered cell (``rnnax.registered_cells()``).
        hidden: the recurrent layer's width.
        likelihood: ``"gaussian"``, ``"student_t"``, ``"quantile"`` (intervals from the
            head) or ``"point"`` (a split-conformal interval from validation errors).
        level: the interval's nominal coverage, in (0, 1).
        epochs: the most epochs to train.
        patience: stop after this many epochs without a better validation loss (``None``:
            never early).
        learning_rate: Adam's learning rate.
        seed: seeds the initialization and the shuffling: the same seed, the same numbers.
        out: the output folder; default a new ``runs/forecast-<name>-<time>``.
        progress: show progress (a tqdm bar and a few lines) on stderr.

    Returns:
        A :class:`ForecastRun`.

    Raises:
        FileNotFoundError: if there is no file at ``path``.
        TypeError: for an argument of the wrong type.
        ValueError: for a wrong value, a problem in the CSV (naming the file, column and
            line), a series too short for the windows, or an unwritable ``out``.

    Example (``rnnax forecast --csv sales.csv --horizon 12`` on the command line)::

        run = forecast_csv("sales.csv", horizon=12)
        run.forecast.point          # [12, 1]: the next 12 months
        run.summary["model"]["mase"], run.summary["seasonal_naive"]["mase"]
        run.files["forecast.csv"]   # runs/forecast-sales-<time>/forecast.csv
    """
    plan = plan_training(
        path,
        horizon=horizon,
        column=column,
        time_column=time_column,
        period=period,
        lookback=lookback,
        nan_policy=nan_policy,
        out=out,
        progress=progress,
        cell=cell,
        hidden=hidden,
        likelihood=likelihood,
        level=level,
        epochs=epochs,
        patience=patience,
        learning_rate=learning_rate,
        seed=seed,
    )
    return run_training(plan)


# ------------------------------------------------------------------------------------------
# Forecasting with a saved model
# ------------------------------------------------------------------------------------------
def _model_file(model: object) -> Path:
    if not isinstance(model, (str, os.PathLike)) or not isinstance(os.fspath(model), str):
        raise TypeError(
            f"model must be a model file or a run's folder (str or os.PathLike), got {model!r:.80}"
        )
    path = Path(model)
    if path.is_dir():
        path = path / _options.MODEL_FILE
    if not path.exists():
        raise FileNotFoundError(f"no saved model: {str(path)!r}")
    return path


def _check_history(plan_series: data.Series, model: FittedModel, path: Path, saved: Any) -> None:
    """The series fits the model: its frequency, its length and (for log columns) its sign."""
    frequency = saved.metadata.get("frequency")
    if isinstance(frequency, str) and frequency != plan_series.frequency:
        raise ValueError(
            f"{path} was trained on {frequency} data, but the CSV holds {plan_series.frequency} "
            "data"
        )
    values = series_values(plan_series)
    if values.shape[1] != model.config.input_size:
        raise ValueError(
            f"{path} reads {model.config.input_size} value column(s), but the CSV gives "
            f"{values.shape[1]}; choose them with column="
        )
    if values.shape[0] < model.lookback:
        raise ValueError(
            f"{path} reads the last {model.lookback} steps, but the CSV has {values.shape[0]}"
        )
    recent = values[-model.lookback :]
    for k, name in enumerate(column_names(plan_series)):
        if model.transform.log[k] and (recent[:, k] <= 0).any():
            raise ValueError(
                f"column {name!r} has values <= 0 in its last {model.lookback} steps, but "
                f"{path} reads its logarithm (it was trained on strictly positive values)"
            )


def plan_from_model(
    model: str | os.PathLike[str],
    path: str | os.PathLike[str],
    *,
    column: str | list[str] | tuple[str, ...] | None = None,
    time_column: str | None = None,
    nan_policy: data.NanPolicy = "raise",
    out: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> ModelPlan:
    """Checks a :func:`forecast_from_model` run, loads the model and the CSV, creates the
    folder (see there)."""
    model_path = _model_file(model)
    progress = check_bool("progress", progress)
    out_path = _check_out(out)
    fitted, saved = load_model(model_path)
    if column is None and saved.columns is not None:
        column = list(saved.columns)
    series = data.from_csv(
        path,
        column=column,
        time_column=time_column,
        period=saved.period,
        nan_policy=nan_policy,
    )
    _check_history(series, fitted, model_path, saved)
    columns = column_names(series)[: fitted.config.num_targets]
    return ModelPlan(
        model_path=model_path,
        model=fitted,
        series=series,
        columns=columns,
        out=_out_dir(out_path, series.name),
        progress=progress,
    )


def run_from_model(plan: ModelPlan) -> ForecastRun:
    """Forecasts and writes the files of a planned :func:`forecast_from_model`."""
    series = plan.series
    _log(plan.progress, f"forecasting with {plan.model_path} from {series.source}")
    future = forecast_after(
        plan.model, series_values(series), np.asarray(series.timestamps), plan.columns
    )
    notes: list[str] = []
    files = _write_common(plan.out, series, future, None, notes)
    return ForecastRun(
        series=series,
        out=plan.out,
        model_path=plan.model_path,
        forecast=future,
        backtest=None,
        training=None,
        files=files,
        notes=tuple(notes),
    )


def forecast_from_model(
    model: str | os.PathLike[str],
    path: str | os.PathLike[str],
    *,
    column: str | list[str] | tuple[str, ...] | None = None,
    time_column: str | None = None,
    nan_policy: data.NanPolicy = "raise",
    out: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> ForecastRun:
    """Forecasts the steps after a CSV's end with a saved model, without training.

    The model (a ``model.rnnax`` that :func:`forecast_csv` wrote, or any forecaster saved with
    ``rnnax.forecasting.save(..., lookback=...)``) reads the CSV's last ``lookback`` steps
    through the transform it was trained with; on the same CSV the forecast equals the
    training run's. Writes ``forecast.csv`` and (with matplotlib) ``forecast.png`` to ``out``.

    Args:
        model: the model file, or the folder of a run that holds ``model.rnnax``.
        path: the CSV file; by default the columns the model was saved with are read.
        column: the value column(s), if they are named differently from the saved ones.
        time_column: the column of time stamps; default the first column if it holds them.
        nan_policy: missing cells and missing time steps, as for :func:`forecast_csv`.
        out: the output folder; default a new ``runs/forecast-<name>-<time>``.
        progress: print what is done on stderr.

    Returns:
        A :class:`ForecastRun` (``backtest`` and ``training`` are ``None``).

    Raises:
        FileNotFoundError: if the model or the CSV is missing.
        TypeError: for an argument of the wrong type.
        ValueError: for a damaged model file, a CSV that does not fit the model (other
            columns, another frequency, fewer steps than the lookback), or an unwritable
            ``out``.
    """
    plan = plan_from_model(
        model,
        path,
        column=column,
        time_column=time_column,
        nan_policy=nan_policy,
        out=out,
        progress=progress,
    )
    return run_from_model(plan)
