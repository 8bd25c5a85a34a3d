"""Training and scoring a run's forecaster: fit with early stopping, then a held-out backtest.

:func:`train` fits a forecaster of the run's settings on the training windows, stopping early
on the validation windows, and returns the :class:`~rnnax.pipeline._future.FittedModel` of its
best epoch. :func:`score` backtests it at every origin of the test segment (never seen in
training or early stopping) beside the naive and seasonal-naive baselines, in the data's units.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import numpy as np

from rnnax import forecasting, training
from rnnax.pipeline._future import FittedModel, backtest_band, conformal_halfwidth
from rnnax.pipeline._problem import Problem


@dataclasses.dataclass(frozen=True)
class TrainSettings:
    """What to train: the forecaster's shape and head, and how long and fast to train it."""

    cell: str
    hidden: int
    likelihood: str
    level: float
    epochs: int
    patience: int | None
    learning_rate: float
    seed: int


def _quantile_levels(level: float) -> tuple[float, ...]:
    """The default quantile levels, with the ends of the central ``level`` interval added.

    Examples:
        >>> _quantile_levels(0.9)
        (0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975)
    """
    levels = list(forecasting.ForecasterConfig(horizon=1).quantiles)
    for end in (round(0.5 - 0.5 * level, 12), round(0.5 + 0.5 * level, 12)):
        if not any(math.isclose(end, known, abs_tol=1e-9) for known in levels):
            levels.append(end)
    return tuple(sorted(levels))


def forecaster_config(problem: Problem, settings: TrainSettings) -> forecasting.ForecasterConfig:
    """A direct forecaster of every column, centred on each window's last value (so a trend
    that leaves the training range is still followed)."""
    width = len(problem.columns)
    return forecasting.ForecasterConfig(
        horizon=problem.horizon,
        input_size=width,
        num_targets=width,
        cell=settings.cell,
        hidden=settings.hidden,
        likelihood=settings.likelihood,  # type: ignore[arg-type]
        centering="last",
        quantiles=_quantile_levels(settings.level),
    )


def train(
    problem: Problem, settings: TrainSettings, *, progress: bool
) -> tuple[FittedModel, training.FitResult]:
    """Fits the forecaster on the training windows, early-stopped on the validation windows.

    Returns:
        The best epoch's :class:`FittedModel` and ``training.fit``'s result.
    """
    config = forecaster_config(problem, settings)
    model = forecasting.forecaster(config)
    split = problem.split
    result = training.fit(
        model,
        model.init(jax.random.key(settings.seed)),
        split.train,
        split.validation,
        epochs=settings.epochs,
        patience=settings.patience,
        learning_rate=settings.learning_rate,
        seed=settings.seed,
        progress=progress,
    )
    halfwidth = None
    if settings.likelihood == "point":
        halfwidth = conformal_halfwidth(config, result.params, split.validation, settings.level)
    fitted = FittedModel(
        config=config,
        params=result.params,
        transform=problem.transform,
        lookback=problem.lookback,
        level=settings.level,
        halfwidth=halfwidth,
    )
    return fitted, result


def training_record(result: training.FitResult) -> dict[str, Any]:
    """What the training did, for the report: epochs, the best epoch, why it stopped."""
    state = result.state
    best = state.best_epoch >= 0 and math.isfinite(state.best_loss)
    return {
        "epochs_run": len(state.history.train_loss),
        "best_epoch": state.best_epoch + 1 if best else None,
        "best_val_loss": float(state.best_loss) if best else None,
        "stop_reason": state.stop_reason,
        "steps": int(state.step),
    }


def score(problem: Problem, model: FittedModel) -> forecasting.BacktestResult:
    """Backtests ``model`` at every origin of the test segment, beside the baselines.

    Scores are in the data's units; the MASE scale is the seasonal-naive error on the training
    segment. A point forecaster's backtest gets its conformal band and coverage, so every
    model's result has an interval.
    """
    split = problem.split
    result = forecasting.backtest(
        model.config,
        model.params,
        problem.scaled,
        split.test.target_start,
        lookback=problem.lookback,
        period=problem.series.period,
        inverse_transform=model.transform,
        scale_end=split.points.train_end,
        interval_level=model.level,
    )
    if result.lower is not None or model.halfwidth is None:
        return result
    lower, upper = backtest_band(model, result)
    actuals = np.asarray(result.actuals)
    covered = ((actuals >= lower) & (actuals <= upper)).mean(axis=(-2, -1))
    metrics = {**result.metrics, "model": {**result.metrics["model"], "coverage": covered}}
    summary = {**result.summary, "model": {**result.summary["model"]}}
    summary["model"]["coverage"] = float(covered.mean())
    return result._replace(lower=lower, upper=upper, metrics=metrics, summary=summary)
