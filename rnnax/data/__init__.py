"""Time-series data for rnnax: real data sets, synthetic generators, windows, splits, scalers.

* Real data sets, shipped with the package and loaded offline: :func:`load`,
  :func:`available` and the named loaders return a :class:`Series`.
* Seeded synthetic data: :func:`noisy_sines`, :func:`mackey_glass`,
  :func:`trend_seasonal_panel`, and the memory tasks :func:`adding_problem`,
  :func:`copy_task` and :func:`delayed_recall`.
* Supervised windows: :func:`sliding_windows` and the leak-free
  :func:`chronological_split` (with :func:`split_points`), for one series or a
  panel, ragged too (a list of series of different lengths, split at their own
  points by :func:`panel_split`), with static covariates per series.
* Scalers fitted on training data only: :func:`fit_standard_scaler`,
  :func:`fit_min_max_scaler`, :func:`fit_robust_scaler`, applied with
  :func:`transform` and :func:`inverse_transform`.
* Missing values: :func:`handle_missing` with a :data:`NanPolicy`.
* Your own data: :func:`from_csv` and :func:`from_dataframe` read a CSV file or
  a pandas DataFrame into a :class:`Series` (frequency and period inferred and
  reported); :func:`to_csv` writes one back.

Examples:
    >>> from rnnax import data
    >>> air = data.load_airline_passengers()
    >>> points = data.split_points(len(air), validation=24, test=24)
    >>> scaler = data.fit_standard_scaler(air.values[: points.train_end])
    >>> split = data.chronological_split(
    ...     data.transform(scaler, air.values), lookback=24, horizon=12, validation=24, test=24)
    >>> split.train.inputs.shape, split.test.targets.shape
    ((61, 24, 1), (13, 12, 1))
"""

from rnnax.data._datasets import (
    Series,
    available,
    load,
    load_airline_passengers,
    load_co2,
    load_sunspots_monthly,
    load_sunspots_yearly,
)
from rnnax.data._files import FREQUENCIES, from_csv, from_dataframe, to_csv
from rnnax.data._languages import (
    ALPHABET,
    LANGUAGES,
    LanguageTask,
    accepted,
    counting_task,
    largest_accepted_n,
)
from rnnax.data._scalers import (
    Scaler,
    fit_min_max_scaler,
    fit_robust_scaler,
    fit_standard_scaler,
    inverse_transform,
    transform,
)
from rnnax.data._synthetic import (
    SequenceTask,
    SyntheticPanel,
    adding_problem,
    copy_task,
    delayed_recall,
    mackey_glass,
    noisy_sines,
    trend_seasonal_panel,
)
from rnnax.data._validation import NAN_POLICIES, NanPolicy, handle_missing
from rnnax.data._windows import (
    PanelSplit,
    Split,
    SplitPoints,
    Windows,
    chronological_split,
    panel_split,
    sliding_windows,
    split_points,
)

__all__ = [
    "ALPHABET",
    "FREQUENCIES",
    "LANGUAGES",
    "NAN_POLICIES",
    "LanguageTask",
    "NanPolicy",
    "PanelSplit",
    "Scaler",
    "SequenceTask",
    "Series",
    "Split",
    "SplitPoints",
    "SyntheticPanel",
    "Windows",
    "accepted",
    "adding_problem",
    "available",
    "chronological_split",
    "copy_task",
    "counting_task",
    "delayed_recall",
    "fit_min_max_scaler",
    "fit_robust_scaler",
    "fit_standard_scaler",
    "from_csv",
    "from_dataframe",
    "handle_missing",
    "inverse_transform",
    "largest_accepted_n",
    "load",
    "load_airline_passengers",
    "load_co2",
    "load_sunspots_monthly",
    "load_sunspots_yearly",
    "mackey_glass",
    "noisy_sines",
    "panel_split",
    "sliding_windows",
    "split_points",
    "to_csv",
    "transform",
    "trend_seasonal_panel",
]
