"""Forecast weekly Mauna Loa CO2 a year ahead with LSTM and GRU forecasters, beside naive baselines.

Data: weekly mean atmospheric CO2 at Mauna Loa, 1958-03 to 2001-12 (2284 weeks, ppmv), shipped
with ``rnnax.data``: a rising trend with a yearly cycle (period 52). 59 weeks have no measurement
at the source; ``load_co2`` fills them by linear interpolation in time (its default), and the
example says so when it runs.

Protocol:

* Hold out the last 156 weeks (1999-2001); validate on the 104 weeks before them (1997-1998) for
  early stopping; train on 1958-1996. The scaler sees the training weeks only.
* Windows of 104 weeks in, 52 weeks out; direct multi-horizon forecasters. Forecasts are
  relative to the last observed week (``centering="last"``), so the networks learn the yearly
  shape and the drift rather than levels, and follow the trend above the training range.
* Evaluate at every origin whose 52-week horizon lies in the held-out tail (105 rolling origins)
  with ``rnnax.forecasting.backtest`` (one compiled call), in ppmv: MAE, RMSE and MASE (scaled
  by the in-sample seasonal-naive MAE, m = 52), beside the seasonal-naive (same week last year)
  and naive (last week repeated) forecasts from the same origins.

Run with ``python examples/forecast_co2.py`` (about 20 s on 2 CPU cores, 35 s for three seeds);
``--seeds 0 1 2`` trains several seeds and reports each and their mean.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

import jax
import numpy as np

from rnnax import data, forecasting, training

LOOKBACK = 104
HORIZON = 52
VALIDATION_WEEKS = 104
TEST_WEEKS = 156
PERIOD = 52


class Scale:
    """Standard scaling fitted on the training weeks only."""

    def __init__(self, train_values: np.ndarray) -> None:
        self.scaler = data.fit_standard_scaler(train_values)

    def forward(self, values: np.ndarray) -> np.ndarray:
        return data.transform(self.scaler, values).astype(np.float32)

    def inverse(self, scaled: jax.Array) -> jax.Array:
        return data.inverse_transform(self.scaler, scaled)


def run(cells: Sequence[str] = ("lstm", "gru"), seeds: Sequence[int] = (0,), *, hidden: int = 32,
        epochs: int = 60, patience: int = 10, batch_size: int = 32, learning_rate: float = 3e-3,
        verbose: bool = True) -> dict[str, dict[str, float]]:
    """Trains and backtests each cell and seed; returns ``{row label: {metric: value}}``."""
    series = data.load_co2()  # nan_policy="interpolate": the 59 missing weeks are filled
    values = np.asarray(series.values)
    points = data.split_points(len(series), validation=VALIDATION_WEEKS, test=TEST_WEEKS)
    scale = Scale(values[: points.train_end])
    scaled = scale.forward(values)
    split = data.chronological_split(scaled, LOOKBACK, HORIZON, validation=VALIDATION_WEEKS,
                                     test=TEST_WEEKS)
    origins = forecasting.rolling_origins(len(series), HORIZON, points.validation_end)
    if verbose:
        missing = len(series) - len(data.load_co2(nan_policy="drop"))
        print(f"{series.name}: {len(series)} weeks, {missing} missing weeks filled by linear "
              f"interpolation; windows train {split.train.inputs.shape}, validation "
              f"{split.validation.inputs.shape}; {origins.size} test origins "
              f"{series.timestamps[origins[0]]}..{series.timestamps[origins[-1]]}")

    rows: dict[str, dict[str, float]] = {}
    baselines: dict[str, dict[str, float]] = {}
    for cell in cells:
        config = forecasting.ForecasterConfig(horizon=HORIZON, cell=cell, hidden=hidden,
                                              centering="last")
        model = forecasting.forecaster(config)
        for seed in seeds:
            start = time.perf_counter()
            result = training.fit(model, model.init(jax.random.key(seed)), split.train,
                                  split.validation, epochs=epochs, patience=patience,
                                  batch_size=batch_size, learning_rate=learning_rate,
                                  grad_clip_norm=1.0, seed=seed, progress=False)
            seconds = time.perf_counter() - start
            report = forecasting.backtest(model, result.params, scaled, origins, lookback=LOOKBACK,
                                          period=PERIOD, inverse_transform=scale.inverse)
            rows[f"{cell.upper()} seed {seed}"] = {**report.summary["model"], "seconds": seconds}
            baselines = {name: report.summary[name] for name in ("seasonal_naive", "naive")}
            if verbose:
                print(f"  {cell.upper()} seed {seed}: {seconds:5.1f} s, "
                      f"{result.epochs_completed} epochs (best {result.best_epoch}), "
                      f"test MASE {report.summary['model']['mase']:.3f}")
        if len(seeds) > 1:
            runs = [rows[f"{cell.upper()} seed {seed}"] for seed in seeds]
            rows[f"{cell.upper()} mean"] = {key: float(np.mean([run[key] for run in runs]))
                                           for key in runs[0]}
    rows.update(baselines)
    return rows


def print_table(rows: dict[str, dict[str, float]], title: str) -> None:
    """Prints MAE, RMSE, sMAPE and MASE for every row."""
    print(title)
    print(f"{'method':<16}{'MAE':>9}{'RMSE':>9}{'sMAPE %':>9}{'MASE':>8}")
    for label, scores in rows.items():
        print(f"{label:<16}{scores['mae']:>9.3f}{scores['rmse']:>9.3f}{scores['smape']:>9.3f}{scores['mase']:>8.3f}")


def main(argv: Sequence[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=60)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    rows = run(seeds=args.seeds, hidden=args.hidden, epochs=args.epochs)
    print_table(rows, "\nHeld-out 1999-2001, 52-week horizon x 105 origins (ppmv; MASE m=52):")
    print(f"total {time.perf_counter() - start:.0f} s")
    return rows


if __name__ == "__main__":
    main()
