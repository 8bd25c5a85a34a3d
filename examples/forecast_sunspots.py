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

Run with ``python examples/forecast_sunspots.py`` (about 10 s on 2 CPU cores, 15 s for three
seeds); ``--seeds 0 1 2`` trains several seeds and reports each and their mean. The training
loop and the table are shared with the other forecasting examples (``forecast_common.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import forecast_common as common
import numpy as np

from rnnax import data

LOOKBACK = 22
HORIZON = 11
VALIDATION_YEARS = 33
TEST_YEARS = 66
CYCLE = 11

print_table = common.print_table  # MAE, RMSE, sMAPE to two decimals


def run(
    cells: Sequence[str] = ("lstm", "gru"),
    seeds: Sequence[int] = (0,),
    *,
    hidden: int = 16,
    epochs: int = 400,
    patience: int = 30,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    verbose: bool = True,
) -> common.Rows:
    """Trains and backtests each cell and seed; returns ``{row label: {metric: value}}``."""
    series = data.load_sunspots_yearly()
    values = np.asarray(series.values)
    prepared = common.prepare(
        values, lookback=LOOKBACK, horizon=HORIZON, validation=VALIDATION_YEARS, test=TEST_YEARS
    )
    split, origins = prepared.split, prepared.origins
    if verbose:
        print(
            f"{series.name}: {len(series)} years; windows train {split.train.inputs.shape}, "
            f"validation {split.validation.inputs.shape}; {origins.size} test origins "
            f"{series.timestamps[origins[0]]}..{series.timestamps[origins[-1]]}"
        )

    def baselines(summary):
        naive = summary["naive"]
        return {
            "seasonal_naive": summary["seasonal_naive"],  # m = 1: the naive forecast
            "cycle_naive_11": common.cycle_naive(
                values, origins, HORIZON, CYCLE, naive["mae"] / naive["mase"]
            ),
        }

    return common.train_and_backtest(
        prepared,
        baselines,
        lookback=LOOKBACK,
        horizon=HORIZON,
        period=1,
        cells=cells,
        seeds=seeds,
        hidden=hidden,
        epochs=epochs,
        patience=patience,
        batch_size=batch_size,
        learning_rate=learning_rate,
        verbose=verbose,
    )


def main(argv: Sequence[str] | None = None) -> common.Rows:
    args = common.parser(__doc__, hidden=16, epochs=400).parse_args(argv)
    return common.report(
        lambda: run(seeds=args.seeds, hidden=args.hidden, epochs=args.epochs),
        "\nHeld-out 1943-2008, 11-year horizon x 56 origins (sunspot numbers; MASE m=1):",
    )


if __name__ == "__main__":
    main()
