"""``forecast.png``: the history, the backtest forecasts and the future forecast with its band.

matplotlib is the optional ``plot`` extra (``pip install 'rnnax[plot]'``): :func:`available`
says whether it is installed, and a run without it skips the PNG. One panel per target column;
the PNG is rendered in memory and written atomically.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from rnnax import _io, forecasting
from rnnax.pipeline._future import FutureForecast

_MISSING = "forecast.png skipped: matplotlib is not installed (pip install 'rnnax[plot]')"


def available() -> bool:
    """Whether matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def missing_note() -> str:
    """The one line a run without matplotlib says."""
    return _MISSING


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def tiling_origins(origins: np.ndarray, horizon: int) -> list[int]:
    """Indices of backtest origins ``horizon`` apart, ending at the last one (no overlap).

    Examples:
        >>> tiling_origins(np.arange(100, 113), 6)
        [0, 6, 12]
    """
    last = len(origins) - 1
    return sorted(range(last, -1, -horizon))


def _band(axis: Any, when: np.ndarray, low: Any, high: Any, color: str, label: str | None) -> None:
    if low is not None and high is not None:
        axis.fill_between(when, low, high, color=color, alpha=0.2, linewidth=0, label=label)


def _backtest_panel(
    axis: Any,
    result: forecasting.BacktestResult,
    stamps: np.ndarray,
    horizon: int,
    target: int,
) -> None:
    """The backtest's non-overlapping forecasts of one target, with their band."""
    model = np.asarray(result.forecasts["model"])
    lower = None if result.lower is None else np.asarray(result.lower)
    upper = None if result.upper is None else np.asarray(result.upper)
    for n, index in enumerate(tiling_origins(result.origins, horizon)):
        origin = int(result.origins[index])
        when = stamps[origin : origin + horizon]
        label = "backtest forecast" if n == 0 else None
        axis.plot(when, model[index, :, target], color="tab:orange", linewidth=1.2, label=label)
        if lower is not None and upper is not None:
            low, high = lower[index, :, target], upper[index, :, target]
            _band(axis, when, low, high, "tab:orange", "backtest interval" if n == 0 else None)


def _future_panel(axis: Any, future: FutureForecast, target: int) -> None:
    when = future.timestamps
    axis.plot(when, future.point[:, target], color="tab:blue", linewidth=1.5, label="forecast")
    if future.lower is not None and future.upper is not None and future.level is not None:
        label = f"{future.level:.0%} interval"
        _band(axis, when, future.lower[:, target], future.upper[:, target], "tab:blue", label)


def plot_forecast(
    path: Path,
    values: np.ndarray,
    stamps: np.ndarray,
    future: FutureForecast,
    backtest: forecasting.BacktestResult | None,
    title: str,
) -> Path:
    """Writes ``forecast.png``: per target, the history, the backtest and the future forecast."""
    plt = _pyplot()
    count = len(future.columns)
    figure, axes = plt.subplots(count, 1, figsize=(10, 3.6 * count), squeeze=False)
    try:
        for target, axis in enumerate(axes[:, 0]):
            axis.plot(stamps, values[:, target], color="black", linewidth=1.0, label="history")
            if backtest is not None:
                _backtest_panel(axis, backtest, stamps, len(future.timestamps), target)
            _future_panel(axis, future, target)
            axis.set_ylabel(future.columns[target])
            axis.grid(alpha=0.3)
            axis.legend(loc="upper left", fontsize="small")
        axes[0, 0].set_title(title)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    finally:
        plt.close(figure)
    _io.write_atomically(path, buffer.getvalue())
    return path
