"""Test scores of the trained models: per seed, beside the naive baselines, with intervals.

:func:`evaluate` backtests every seed's best parameters at every test window's origin, and
forecasts the test tail with the seed-mean model and a 95% split-conformal interval.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rnnax import forecasting
from rnnax.compare._data import Prepared
from rnnax.compare._seeds import SeedRun, take_seed


def _tail_origins(prepared: Prepared) -> np.ndarray:
    """Non-overlapping origins that tile the test tail, ending exactly at the last step."""
    points = prepared.split.points
    last = points.length - prepared.horizon
    origins = list(range(last, points.validation_end - 1, -prepared.horizon))
    return np.asarray(sorted(origins), np.int64)


class ForecastTail(NamedTuple):
    """The seed-mean forecast of the test tail from non-overlapping origins, in the data's
    units, with its 95% split-conformal interval (``[origin][horizon step]``)."""

    origins: list[int]
    mean: list[list[float]]
    low: list[list[float]]
    high: list[list[float]]


class Evaluation(NamedTuple):
    """One model's test scores (every seed), the baselines', the coverage and the tail."""

    per_seed: dict[str, list[float]]
    baselines: dict[str, dict[str, float]]
    coverage: float
    tail: ForecastTail


def evaluate(prepared: Prepared, config: forecasting.ForecasterConfig, run: SeedRun) -> Evaluation:
    """Test scores of every seed (``forecasting.backtest`` at every test window's origin), the
    baselines, and the seed-mean forecast of the test tail with a 95% split-conformal interval
    (per horizon step, from the absolute residuals of the seed-mean forecast on validation)."""
    per_seed, baselines = _backtest_seeds(prepared, config, run)
    coverage, tail = _conformal(prepared, config, run)
    return Evaluation(per_seed=per_seed, baselines=baselines, coverage=coverage, tail=tail)


def _backtest_seeds(
    prepared: Prepared, config: forecasting.ForecasterConfig, run: SeedRun
) -> tuple[dict[str, list[float]], dict[str, dict[str, float]]]:
    """Every seed's test MAE, RMSE and MASE, and the naive baselines' (the same for all)."""
    split = prepared.split
    per_seed: dict[str, list[float]] = {"mae": [], "rmse": [], "mase": []}
    baselines: dict[str, dict[str, float]] = {}
    for index in range(len(run.seeds)):
        result = forecasting.backtest(
            config,
            take_seed(run.best_params, index),
            prepared.scaled,
            split.test.target_start,
            lookback=prepared.lookback,
            period=prepared.series.period,
            inverse_transform=prepared.inverse,
            scale_end=split.points.train_end,
        )
        for metric in per_seed:
            per_seed[metric].append(result.summary["model"][metric])
        baselines = {
            method: {metric: result.summary[method][metric] for metric in per_seed}
            for method in ("naive", "seasonal_naive")
        }
    return per_seed, baselines


def _conformal(
    prepared: Prepared, config: forecasting.ForecasterConfig, run: SeedRun
) -> tuple[float, ForecastTail]:
    """The coverage of the seed-mean forecast's 95% interval on the test windows, and the
    banded forecast of the test tail."""
    split = prepared.split
    ensemble = jax.jit(
        jax.vmap(functools.partial(forecasting.apply, config=config), in_axes=(0, None))
    )

    def seed_mean(inputs: np.ndarray) -> np.ndarray:
        return np.asarray(ensemble(run.best_params, jnp.asarray(inputs))).mean(axis=0)  # [W, H, 1]

    residuals = np.abs(split.validation.targets - seed_mean(split.validation.inputs))[..., 0]
    quantile = np.quantile(residuals, 0.95, axis=0, method="higher")  # [H]

    def banded(inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        mean = seed_mean(inputs)[..., 0]
        inverse = prepared.inverse
        return inverse(mean), inverse(mean - quantile), inverse(mean + quantile)

    _, low, high = banded(split.test.inputs)
    truth = prepared.inverse(split.test.targets[..., 0])
    coverage = float(np.mean((truth >= low) & (truth <= high)))

    tail = _tail_origins(prepared)
    tail_inputs = np.stack([prepared.scaled[o - prepared.lookback : o] for o in tail])[..., None]
    mean, low, high = banded(tail_inputs)
    return coverage, ForecastTail(tail.tolist(), mean.tolist(), low.tolist(), high.tolist())
