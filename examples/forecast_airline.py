"""Forecast monthly airline passengers with LSTM and GRU forecasters, beside the naive baselines.

Data: Box & Jenkins' international airline passengers, 144 months (1949-01 to 1960-12), a
growing trend with multiplicative yearly seasonality (period 12), shipped with ``rnnax.data``.

Protocol (what a forecaster would do):

* Hold out the last 24 months (1959-1960). Everything fitted (scaler, networks) sees only the
  120 months before them.
* Model log passengers, so the seasonal swings become additive, standard-scaled with the
  training months' statistics.
* Windows of 36 months in, 12 months out; a direct multi-horizon forecaster. Its forecasts are
  relative to the last observed month (``centering="last"``), so it learns changes rather than
  levels and can follow the trend above the training range.
* Evaluate at every origin whose 12-month horizon lies in the held-out tail (13 rolling
  origins, 1959-01 to 1960-01) with ``rnnax.forecasting.backtest`` (one compiled call), in
  passengers (thousands): MAE, RMSE and MASE (scaled by the in-sample seasonal-naive MAE,
  m = 12), beside the seasonal-naive and naive forecasts from the same origins.

Run with ``python examples/forecast_airline.py`` (about 10 s on 2 CPU cores, 15 s for three seeds);
``--seeds 0 1 2`` trains several seeds and reports each and their mean.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from rnnax import data, forecasting, training

LOOKBACK = 36
HORIZON = 12
TEST_MONTHS = 24
PERIOD = 12


class LogScale:
    """Log transform, then standard scaling fitted on the training months only."""

    def __init__(self, train_values: np.ndarray) -> None:
        self.scaler = data.fit_standard_scaler(np.log(train_values))

    def forward(self, values: np.ndarray) -> np.ndarray:
        return data.transform(self.scaler, np.log(values)).astype(np.float32)

    def inverse(self, scaled: jax.Array) -> jax.Array:
        # Elementwise and increasing: backtest applies it to forecasts, intervals and actuals.
        return jnp.exp(data.inverse_transform(self.scaler, scaled))


def run(cells: Sequence[str] = ("lstm", "gru"), seeds: Sequence[int] = (0,), *, hidden: int = 32,
        epochs: int = 300, batch_size: int = 16, learning_rate: float = 3e-3,
        verbose: bool = True) -> dict[str, dict[str, float]]:
    """Trains and backtests each cell and seed; returns ``{row label: {metric: value}}``."""
    series = data.load_airline_passengers()
    points = data.split_points(len(series), validation=0, test=TEST_MONTHS)
    scale = LogScale(series.values[: points.train_end])
    scaled = scale.forward(series.values)
    split = data.chronological_split(scaled, LOOKBACK, HORIZON, validation=0, test=TEST_MONTHS)
    origins = forecasting.rolling_origins(len(series), HORIZON, points.validation_end)
    if verbose:
        print(f"{series.name}: {len(series)} months; training windows {split.train.inputs.shape}, "
              f"{origins.size} test origins {series.timestamps[origins[0]]}..{series.timestamps[origins[-1]]}")

    rows: dict[str, dict[str, float]] = {}
    baselines: dict[str, dict[str, float]] = {}
    for cell in cells:
        config = forecasting.ForecasterConfig(horizon=HORIZON, cell=cell, hidden=hidden, centering="last")
        model = forecasting.forecaster(config)
        for seed in seeds:
            start = time.perf_counter()
            result = training.fit(model, model.init(jax.random.key(seed)), split.train, epochs=epochs,
                                  batch_size=batch_size, learning_rate=learning_rate, grad_clip_norm=1.0,
                                  seed=seed, progress=False)
            seconds = time.perf_counter() - start
            report = forecasting.backtest(model, result.params, scaled, origins, lookback=LOOKBACK,
                                          period=PERIOD, inverse_transform=scale.inverse)
            rows[f"{cell.upper()} seed {seed}"] = {**report.summary["model"], "seconds": seconds}
            baselines = {name: report.summary[name] for name in ("seasonal_naive", "naive")}
            if verbose:
                print(f"  {cell.upper()} seed {seed}: {seconds:5.1f} s, final training loss "
                      f"{result.history.train_loss[-1]:.4f}, test MASE {report.summary['model']['mase']:.3f}")
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
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=300)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    rows = run(seeds=args.seeds, hidden=args.hidden, epochs=args.epochs)
    print_table(rows, f"\nHeld-out 1959-1960, 12-month horizon, {HORIZON} steps x 13 origins "
                      "(passengers in thousands; MASE m=12):")
    print(f"total {time.perf_counter() - start:.0f} s")
    return rows


if __name__ == "__main__":
    main()
