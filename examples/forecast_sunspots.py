"""Forecast yearly sunspot numbers a solar cycle ahead with LSTM and GRU forecasters.

Data: yearly mean sunspot numbers 1700-2008 (309 years, NOAA), shipped with ``rnnax.data``.
We use the *yearly* series, the classic benchmark: it holds the ~11-year solar cycle without
the month-to-month noise of the monthly record. Its calendar period is 1 (no seasonality), so
the seasonal-naive forecast is the naive one (the last year repeated); because the cycle is
strong but irregular (9 to 14 years), the table also shows an 11-year "cycle-naive" forecast
(the value 11 years earlier), a much harder baseline.

Protocol:

* Hold out the last 66 years (1943-2008, six cycles); validate on the 33 years before them
  (1910-1942) for early stopping; train on 1700-1909. The scaler sees the training years only.
* Windows of 22 years in, 11 years out (one cycle), direct multi-horizon forecasters.
* Evaluate at every origin whose 11-year horizon lies in the held-out tail (56 rolling origins,
  1943-1998) with ``rnnax.forecasting.backtest`` (one compiled call), in sunspot numbers: MAE,
  RMSE and MASE (scaled by the in-sample naive MAE, m = 1), beside the baselines.

Run with ``python examples/forecast_sunspots.py`` (about 10 s on 2 CPU cores, 15 s for three seeds);
``--seeds 0 1 2`` trains several seeds and reports each and their mean.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

import jax
import numpy as np

from rnnax import data, evaluation, forecasting, training

LOOKBACK = 22
HORIZON = 11
VALIDATION_YEARS = 33
TEST_YEARS = 66
CYCLE = 11


class Scale:
    """Standard scaling fitted on the training years only."""

    def __init__(self, train_values: np.ndarray) -> None:
        self.scaler = data.fit_standard_scaler(train_values)

    def forward(self, values: np.ndarray) -> np.ndarray:
        return data.transform(self.scaler, values).astype(np.float32)

    def inverse(self, scaled: jax.Array) -> jax.Array:
        return data.inverse_transform(self.scaler, scaled)


def cycle_naive(values: np.ndarray, origins: np.ndarray, scale: float) -> dict[str, float]:
    """Scores of the 11-year cycle-naive forecast at the same origins, MASE on the same scale."""
    steps = np.arange(HORIZON)
    actual = values[origins[:, None] + steps]
    predicted = values[origins[:, None] - CYCLE + steps % CYCLE]  # seasonal naive with m = 11
    mae = evaluation.mae(actual, predicted)
    return {"mae": float(mae.mean()), "rmse": float(evaluation.rmse(actual, predicted).mean()),
            "smape": float(evaluation.smape(actual, predicted).mean()), "mase": float((mae / scale).mean())}


def run(cells: Sequence[str] = ("lstm", "gru"), seeds: Sequence[int] = (0,), *, hidden: int = 16,
        epochs: int = 400, patience: int = 30, batch_size: int = 32, learning_rate: float = 1e-3,
        verbose: bool = True) -> dict[str, dict[str, float]]:
    """Trains and backtests each cell and seed; returns ``{row label: {metric: value}}``."""
    series = data.load_sunspots_yearly()
    values = np.asarray(series.values)
    points = data.split_points(len(series), validation=VALIDATION_YEARS, test=TEST_YEARS)
    scale = Scale(values[: points.train_end])
    scaled = scale.forward(values)
    split = data.chronological_split(scaled, LOOKBACK, HORIZON, validation=VALIDATION_YEARS, test=TEST_YEARS)
    origins = forecasting.rolling_origins(len(series), HORIZON, points.validation_end)
    if verbose:
        print(f"{series.name}: {len(series)} years; windows train {split.train.inputs.shape}, validation "
              f"{split.validation.inputs.shape}; {origins.size} test origins "
              f"{series.timestamps[origins[0]]}..{series.timestamps[origins[-1]]}")

    rows: dict[str, dict[str, float]] = {}
    baselines: dict[str, dict[str, float]] = {}
    for cell in cells:
        model = forecasting.forecaster(forecasting.ForecasterConfig(horizon=HORIZON, cell=cell, hidden=hidden))
        for seed in seeds:
            start = time.perf_counter()
            result = training.fit(model, model.init(jax.random.key(seed)), split.train, split.validation,
                                  epochs=epochs, patience=patience, batch_size=batch_size,
                                  learning_rate=learning_rate, grad_clip_norm=1.0, seed=seed, progress=False)
            seconds = time.perf_counter() - start
            report = forecasting.backtest(model, result.params, scaled, origins, lookback=LOOKBACK, period=1,
                                          inverse_transform=scale.inverse)
            rows[f"{cell.upper()} seed {seed}"] = {**report.summary["model"], "seconds": seconds}
            naive_scale = report.summary["naive"]["mae"] / report.summary["naive"]["mase"]
            baselines = {
                "seasonal_naive": report.summary["seasonal_naive"],  # m = 1: the naive forecast
                "cycle_naive_11": cycle_naive(values, origins, naive_scale),
            }
            if verbose:
                print(f"  {cell.upper()} seed {seed}: {seconds:5.1f} s, {result.epochs_completed} epochs "
                      f"(best {result.best_epoch}), test MASE {report.summary['model']['mase']:.3f}")
        if len(seeds) > 1:
            runs = [rows[f"{cell.upper()} seed {seed}"] for seed in seeds]
            rows[f"{cell.upper()} mean"] = {key: float(np.mean([run[key] for run in runs])) for key in runs[0]}
    rows.update(baselines)
    return rows


def print_table(rows: dict[str, dict[str, float]], title: str) -> None:
    """Prints MAE, RMSE, sMAPE and MASE for every row."""
    print(title)
    print(f"{'method':<16}{'MAE':>9}{'RMSE':>9}{'sMAPE %':>9}{'MASE':>8}")
    for label, scores in rows.items():
        print(f"{label:<16}{scores['mae']:>9.2f}{scores['rmse']:>9.2f}{scores['smape']:>9.2f}{scores['mase']:>8.3f}")


def main(argv: Sequence[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=400)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    rows = run(seeds=args.seeds, hidden=args.hidden, epochs=args.epochs)
    print_table(rows, "\nHeld-out 1943-2008, 11-year horizon x 56 origins (sunspot numbers; MASE m=1):")
    print(f"total {time.perf_counter() - start:.0f} s")
    return rows


if __name__ == "__main__":
    main()
