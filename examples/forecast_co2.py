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
``--seeds 0 1 2`` trains several seeds and reports each and their mean. The training loop and
the table are shared with the other forecasting examples (``forecast_common.py``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import forecast_common as common
import numpy as np

from rnnax import data

LOOKBACK = 104
HORIZON = 52
VALIDATION_WEEKS = 104
TEST_WEEKS = 156
PERIOD = 52

print_table = functools.partial(common.print_table, decimals=3)  # ppmv: MAE to 0.001


def run(
    cells: Sequence[str] = ("lstm", "gru"),
    seeds: Sequence[int] = (0,),
    *,
    hidden: int = 32,
    epochs: int = 60,
    patience: int = 10,
    batch_size: int = 32,
    learning_rate: float = 3e-3,
    verbose: bool = True,
) -> common.Rows:
    """Trains and backtests each cell and seed; returns ``{row label: {metric: value}}``."""
    series = data.load_co2()  # nan_policy="interpolate": the 59 missing weeks are filled
    prepared = common.prepare(
        np.asarray(series.values),
        lookback=LOOKBACK,
        horizon=HORIZON,
        validation=VALIDATION_WEEKS,
        test=TEST_WEEKS,
    )
    split, origins = prepared.split, prepared.origins
    if verbose:
        missing = len(series) - len(data.load_co2(nan_policy="drop"))
        print(
            f"{series.name}: {len(series)} weeks, {missing} missing weeks filled by linear "
            f"interpolation; windows train {split.train.inputs.shape}, validation "
            f"{split.validation.inputs.shape}; {origins.size} test origins "
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
        patience=patience,
        batch_size=batch_size,
        learning_rate=learning_rate,
        centering="last",
        verbose=verbose,
    )


def main(argv: Sequence[str] | None = None) -> common.Rows:
    args = common.parser(__doc__, hidden=32, epochs=60).parse_args(argv)
    return common.report(
        lambda: run(seeds=args.seeds, hidden=args.hidden, epochs=args.epochs),
        "\nHeld-out 1999-2001, 52-week horizon x 105 origins (ppmv; MASE m=52):",
        print_table,
    )


if __name__ == "__main__":
    main()
