"""Forecast monthly airline passengers with LSTM and GRU forecasters, beside naive baselines.

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

Run with ``python examples/forecast_airline.py`` (about 10 s on 2 CPU cores, 15 s for three
seeds); ``--seeds 0 1 2`` trains several seeds and reports each and their mean. The training
loop and the table are shared with the other forecasting examples (``forecast_common.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import forecast_common as common

from rnnax import data

LOOKBACK = 36
HORIZON = 12
TEST_MONTHS = 24
PERIOD = 12

print_table = common.print_table  # MAE, RMSE, sMAPE to two decimals


def run(
    cells: Sequence[str] = ("lstm", "gru"),
    seeds: Sequence[int] = (0,),
    *,
    hidden: int = 32,
    epochs: int = 300,
    batch_size: int = 16,
    learning_rate: float = 3e-3,
    verbose: bool = True,
) -> common.Rows:
    """Trains and backtests each cell and seed; returns ``{row label: {metric: value}}``."""
    series = data.load_airline_passengers()
    prepared = common.prepare(
        series.values, lookback=LOOKBACK, horizon=HORIZON, validation=0, test=TEST_MONTHS, log=True
    )  # log: additive seasonal swings
    origins = prepared.origins
    if verbose:
        print(
            f"{series.name}: {len(series)} months; training windows "
            f"{prepared.split.train.inputs.shape}, {origins.size} test origins "
            f"{series.timestamps[origins[0]]}..{series.timestamps[origins[-1]]}"
        )
    return common.train_and_backtest(
        prepared,
        common.summary_rows("seasonal_naive", "naive"),
        lookback=LOOKBACK,
        horizon=HORIZON,
        period=PERIOD,
        cells=cells,
        seeds=seeds,
        hidden=hidden,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        centering="last",
        verbose=verbose,
    )


def main(argv: Sequence[str] | None = None) -> common.Rows:
    args = common.parser(__doc__, hidden=32, epochs=300).parse_args(argv)
    return common.report(
        lambda: run(seeds=args.seeds, hidden=args.hidden, epochs=args.epochs),
        f"\nHeld-out 1959-1960, 12-month horizon, {HORIZON} steps x 13 origins "
        "(passengers in thousands; MASE m=12):",
    )


if __name__ == "__main__":
    main()
