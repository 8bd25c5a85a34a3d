"""Training the compared models: K seeds of every cell, the cells interleaved chunk by chunk.

:func:`train_interleaved` drives one ``SeedTrainer`` per cell; :func:`seed_mesh` splits the seeds
over devices; :func:`target_loss` and :func:`reach` time the race to a validation loss.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import numpy as np

from rnnax import forecasting
from rnnax.compare._cells import CLAIM_CELLS, claims_testable
from rnnax.compare._config import CompareConfig
from rnnax.compare._seeds import SeedRun, SeedTrainer


def train_interleaved(trainers: dict[str, SeedTrainer], steps: int, bar: Any) -> dict[str, SeedRun]:
    """Trains every model's K seeds for ``steps`` steps, alternating compiled chunks between the
    models so that load changes on the machine hit both alike. Compile time is excluded from
    the wall times and recorded separately."""
    states = {name: trainer.init() for name, trainer in trainers.items()}
    runs = {name: trainer.start(states[name]) for name, trainer in trainers.items()}
    for name, trainer in trainers.items():
        runs[name].compile_s = trainer.compile(states[name])
    chunks = -(-steps // next(iter(trainers.values())).eval_every)
    for index in range(chunks):
        order = list(trainers) if index % 2 == 0 else list(reversed(list(trainers)))
        for name in order:
            states[name] = trainers[name].advance(states[name], runs[name])
        bar.update(1)
        bar.set_postfix_str(
            " ".join(f"{name}={np.nanmean(runs[name].val_loss[-1]):.4g}" for name in trainers)
        )
    return {name: trainers[name].finish(states[name], runs[name]) for name in trainers}


def reach(run: SeedRun, target: float) -> tuple[int | None, float | None]:
    """First (steps, seconds) at which the seed-mean validation loss is at or below ``target``."""
    curve = np.nanmean(run.val_matrix(), axis=0)
    hits = np.flatnonzero(curve <= target)
    if hits.size == 0:
        return None, None
    first = int(hits[0])
    return run.steps[first], run.seconds[first]


def reach_per_seed(run: SeedRun, target: float) -> list[int | None]:
    """Per seed, the first optimizer steps at which its own validation loss is at or below
    ``target`` (``None`` for a seed that never reached it)."""
    reached = []
    for curve in run.val_matrix():
        hits = np.flatnonzero(curve <= target)
        reached.append(run.steps[int(hits[0])] if hits.size else None)
    return reached


def seed_mesh(config: CompareConfig) -> jax.sharding.Mesh | None:
    """The mesh that splits the seeds (``config.seed_devices`` devices), or ``None``."""
    if config.seed_devices is None:
        return None
    devices = jax.devices()
    if config.seed_devices > len(devices):
        raise ValueError(
            f"seed_devices={config.seed_devices}, but JAX sees {len(devices)} device(s); on CPU "
            "expose more with rnnax.set_cpu_device_count (or JAX_NUM_CPU_DEVICES) before JAX starts"
        )
    return jax.make_mesh(
        (config.seed_devices,),
        ("ensemble",),
        axis_types=(jax.sharding.AxisType.Auto,),
        devices=devices[: config.seed_devices],
    )


def target_loss(config: CompareConfig, best_means: dict[str, float]) -> float | None:
    """The validation loss for time-to-target: ``config.target_loss``, else 1.1 times the
    larger of the LSTM's and the GRU's best seed-mean losses (so the explainer's two cells
    race as they would alone; every cell's when the two are not both compared). Losses that
    are not finite (a diverged cell) are left out; ``None`` when none is finite."""
    if config.target_loss is not None:
        return config.target_loss
    racing = CLAIM_CELLS if claims_testable(config.cells) else config.cells
    losses = [best_means[cell] for cell in racing if math.isfinite(best_means[cell])]
    return 1.1 * max(losses) if losses else None


def best_mean(run: SeedRun) -> float:
    """The lowest seed-mean validation loss of a run (NaN when every evaluation was NaN)."""
    curve = np.nanmean(run.val_matrix(), axis=0)
    return float(np.nanmin(curve)) if np.isfinite(curve).any() else math.nan


def forecast_loss(params: Any, batch: Any, *, config: forecasting.ForecasterConfig) -> jax.Array:
    """The forecaster's training loss (``forecasting.loss``) as a ``SeedTrainer`` calls it."""
    return forecasting.loss(params, batch, config=config)
