"""What the forecasting examples share: scaling, the train/backtest/seed-mean loop, the table.

Each ``forecast_*.py`` example keeps its data-specific protocol (constants, data preparation,
baselines) and hands the rest to this module: :func:`prepare` scales the series and cuts it
into windows and test origins, :func:`train_and_backtest` trains and backtests every cell and
seed, :func:`cycle_naive` scores a seasonal-naive forecast of any lag, and :func:`report`
prints the table. Not a library module: the examples import it from their own directory (the
script's directory is on ``sys.path`` when run as ``python examples/forecast_X.py``).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rnnax import data, evaluation, forecasting, training

Rows = dict[str, dict[str, float]]


class Scale:
    """Standard scaling (of the log values when ``log``) fitted on the training part only."""

    def __init__(self, train_values: np.ndarray, *, log: bool = False) -> None:
        self.log = log
        self.scaler = data.fit_standard_scaler(np.log(train_values) if log else train_values)

    def forward(self, values: np.ndarray) -> np.ndarray:
        values = np.log(values) if self.log else values
        return data.transform(self.scaler, values).astype(np.float32)

    def inverse(self, scaled: jax.Array) -> jax.Array:
        # Elementwise and increasing: backtest applies it to forecasts, intervals and actuals.
        restored = data.inverse_transform(self.scaler, scaled)
        return jnp.exp(restored) if self.log else restored


class Prepared(NamedTuple):
    """A series ready for training and backtesting."""

    scale: Scale
    scaled: np.ndarray  # the whole series, scaled with the training part's statistics
    split: data.Split  # train / validation windows
    origins: np.ndarray  # every origin whose horizon lies in the held-out tail


def prepare(
    values: np.ndarray,
    *,
    lookback: int,
    horizon: int,
    validation: int,
    test: int,
    log: bool = False,
) -> Prepared:
    """Fits the scaler on the training part, windows the series, lists the test origins."""
    points = data.split_points(len(values), validation=validation, test=test)
    scale = Scale(values[: points.train_end], log=log)
    scaled = scale.forward(values)
    split = data.chronological_split(scaled, lookback, horizon, validation=validation, test=test)
    origins = forecasting.rolling_origins(len(values), horizon, points.validation_end)
    return Prepared(scale, scaled, split, origins)


def cycle_naive(
    values: np.ndarray, origins: np.ndarray, horizon: int, cycle: int, mase_scale: float
) -> dict[str, float]:
    """Scores of the forecast "the value ``cycle`` steps earlier" at ``origins``.

    The seasonal-naive forecast with m = ``cycle``, in the units of ``values``; MASE divides
    by ``mase_scale`` (the in-sample MAE the backtest's own MASE uses).
    """
    steps = np.arange(horizon)
    actual = values[origins[:, None] + steps]
    predicted = values[origins[:, None] - cycle + steps % cycle]
    mae = evaluation.mae(actual, predicted)
    return {
        "mae": float(mae.mean()),
        "rmse": float(evaluation.rmse(actual, predicted).mean()),
        "smape": float(evaluation.smape(actual, predicted).mean()),
        "mase": float((mae / mase_scale).mean()),
    }


def train_and_backtest(
    prepared: Prepared,
    baselines: Callable[[Mapping[str, Any]], Rows],
    *,
    lookback: int,
    horizon: int,
    period: int,
    cells: Sequence[str],
    seeds: Sequence[int],
    hidden: int,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    patience: int | None = None,
    centering: str = "none",
    verbose: bool = True,
) -> Rows:
    """Trains and backtests each cell and seed; returns ``{row label: {metric: value}}``.

    One row per cell and seed (plus ``"CELL mean"`` rows when there are several seeds), then
    the rows ``baselines(report.summary)`` returns. With ``patience``, training validates on
    the validation windows and stops early; without, it runs all ``epochs`` on the training
    windows alone.
    """
    split, scaled, origins = prepared.split, prepared.scaled, prepared.origins
    validation = split.validation if patience is not None else None
    rows: Rows = {}
    baseline_rows: Rows = {}
    for cell in cells:
        config = forecasting.ForecasterConfig(
            horizon=horizon, cell=cell, hidden=hidden, centering=centering
        )
        model = forecasting.forecaster(config)
        for seed in seeds:
            start = time.perf_counter()
            result = training.fit(
                model,
                model.init(jax.random.key(seed)),
                split.train,
                validation,
                epochs=epochs,
                patience=patience,
                batch_size=batch_size,
                learning_rate=learning_rate,
                grad_clip_norm=1.0,
                seed=seed,
                progress=False,
            )
            seconds = time.perf_counter() - start
            report = forecasting.backtest(
                model,
                result.params,
                scaled,
                origins,
                lookback=lookback,
                period=period,
                inverse_transform=prepared.scale.inverse,
            )
            rows[f"{cell.upper()} seed {seed}"] = {**report.summary["model"], "seconds": seconds}
            baseline_rows = baselines(report.summary)
            if verbose:
                progress = (
                    f"{result.epochs_completed} epochs (best {result.best_epoch})"
                    if patience is not None
                    else f"final training loss {result.history.train_loss[-1]:.4f}"
                )
                print(
                    f"  {cell.upper()} seed {seed}: {seconds:5.1f} s, {progress}, "
                    f"test MASE {report.summary['model']['mase']:.3f}"
                )
        if len(seeds) > 1:
            runs = [rows[f"{cell.upper()} seed {seed}"] for seed in seeds]
            rows[f"{cell.upper()} mean"] = {
                key: float(np.mean([run[key] for run in runs])) for key in runs[0]
            }
    rows.update(baseline_rows)
    return rows


def summary_rows(*names: str) -> Callable[[Mapping[str, Any]], Rows]:
    """The ``baselines`` callback that keeps the backtest's own baseline rows ``names``."""
    return lambda summary: {name: summary[name] for name in names}


def print_table(rows: Rows, title: str, *, decimals: int = 2) -> None:
    """Prints MAE, RMSE and sMAPE (to ``decimals`` places) and MASE for every row."""
    print(title)
    print(f"{'method':<16}{'MAE':>9}{'RMSE':>9}{'sMAPE %':>9}{'MASE':>8}")
    for label, scores in rows.items():
        print(
            f"{label:<16}{scores['mae']:>9.{decimals}f}{scores['rmse']:>9.{decimals}f}"
            f"{scores['smape']:>9.{decimals}f}{scores['mase']:>8.3f}"
        )


def parser(doc: str, *, hidden: int, epochs: int) -> argparse.ArgumentParser:
    """The command line every example takes: ``--seeds``, ``--hidden``, ``--epochs``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--hidden", type=int, default=hidden)
    parser.add_argument("--epochs", type=int, default=epochs)
    return parser


def report(
    run: Callable[[], Rows], title: str, table: Callable[[Rows, str], None] = print_table
) -> Rows:
    """Calls ``run``, prints its rows with ``table`` under ``title`` and the total time."""
    start = time.perf_counter()
    rows = run()
    table(rows, title)
    print(f"total {time.perf_counter() - start:.0f} s")
    return rows
