"""A tour of rnnax.data and rnnax.evaluation: load, split, scale, window, and score baselines.

Run with ``python examples/data_tour.py``; it needs no network and no GPU and
finishes in a few seconds.
"""

from __future__ import annotations

import numpy as np

from rnnax import data, evaluation


def main() -> None:
    print("Shipped data sets:", ", ".join(data.available()))
    air = data.load_airline_passengers()
    print(
        f"{air.name}: {len(air)} {air.frequency} values, {air.timestamps[0]}..{air.timestamps[-1]}, "
        f"period {air.period}; licence: {air.licence}"
    )

    # Cut the time axis first, so the scaler sees only the training years.
    lookback, horizon = 24, 12
    points = data.split_points(len(air), validation=horizon, test=horizon)
    scaler = data.fit_standard_scaler(np.log(air.values[: points.train_end]))
    scaled = data.transform(scaler, np.log(air.values))
    split = data.chronological_split(scaled, lookback, horizon, validation=horizon, test=horizon)
    for part in ("train", "validation", "test"):
        windows = getattr(split, part)
        print(
            f"  {part:>10}: inputs {windows.inputs.shape}, targets {windows.targets.shape}, "
            f"first target step {windows.target_start.min() if len(windows.target_start) else '-'}"
        )

    # Score the classical baselines on the last year, in passengers (thousands).
    history, actual = air.values[: points.validation_end], air.values[points.validation_end :]
    baselines = {
        "naive": evaluation.naive_forecast(history, horizon),
        "seasonal naive": evaluation.seasonal_naive_forecast(history, horizon, period=air.period),
        "drift": evaluation.drift_forecast(history, horizon),
        "mean": evaluation.mean_forecast(history, horizon),
    }
    print("Baselines on 1960 (MAE, sMAPE %, MASE with m=12):")
    for label, forecast in baselines.items():
        print(
            f"  {label:>14}: {float(evaluation.mae(actual, forecast)):7.2f} "
            f"{float(evaluation.smape(actual, forecast)):6.2f} "
            f"{float(evaluation.mase(actual, forecast, history, period=air.period)):5.2f}"
        )

    co2 = data.load_co2(nan_policy="drop")
    print(
        f"co2: {len(co2)} measured weeks of {len(data.load_co2())} (the rest are interpolated by default)"
    )

    task = data.adding_problem(10_000, 100, seed=0)
    trivial_mse = float(np.mean((task.targets - 1.0) ** 2))
    print(
        f"Adding problem {task.inputs.shape}: always answering 1.0 gives MSE {trivial_mse:.3f} (1/6 = 0.167)"
    )


if __name__ == "__main__":
    main()
