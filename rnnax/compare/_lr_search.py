"""The learning-rate search: every compared model gets the same small budget to find its rate.

One model's rate can suit the LSTM and starve the GRU (or the reverse), and then a comparison
measures the rate, not the cell. So before its final seeds, every model trains ``search_seeds``
seeds at every candidate rate (``lr_factors`` times the task's rate) for the same number of
steps as the final run; all ``candidates x seeds`` members train side by side in one compiled
call (one learning rate per member, ``SeedTrainer``), the models interleaved. Each model keeps
the candidate whose members reach the lowest mean best **validation** loss: the test data is
never seen. The search seeds (``1000, 1001, ...``) are not the final seeds, so the final scores
are not those the rate was picked on.

The reference loop, for one model::

    for rate in candidates:
        losses[rate] = mean(min(validation_curve(train(seed, rate, steps)))
                            for seed in search_seeds)
    chosen = min(candidates, key=losses.get)   # diverged (NaN) members count as +inf
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rnnax.compare._config import CompareConfig
from rnnax.compare._results import LearningRateSearch
from rnnax.compare._seeds import SeedRun, SeedTrainer
from rnnax.compare._training import seed_mesh, train_interleaved

SEARCH_SEED_OFFSET = 1000
"""The search's seeds start here, away from the final seeds ``0 .. K-1``."""

MakeTrainer = Callable[[str, "float | Sequence[float]", Sequence[int]], SeedTrainer]
"""``make_trainer(cell, rates, seeds)``: a trainer of ``cell`` whose member ``i`` trains seed
``seeds[i]`` at learning rate ``rates[i]`` (``rates`` may also be one float for all)."""


def candidates(rate: float, factors: Sequence[float]) -> list[float]:
    """The rates tried: ``rate`` times each factor, rounded to 6 significant digits.

    Examples:
        >>> candidates(3e-3, (0.3, 1.0, 3.0))
        [0.0009, 0.003, 0.009]
    """
    return [float(f"{rate * factor:.6g}") for factor in factors]


def search_seeds(count: int) -> list[int]:
    """``count`` search seeds, none of them a final seed.

    Examples:
        >>> search_seeds(2)
        [1000, 1001]
    """
    return [SEARCH_SEED_OFFSET + index for index in range(count)]


def search(
    make_trainer: MakeTrainer,
    cells: Sequence[str],
    rates: Sequence[float],
    seeds: Sequence[int],
    steps: int,
    bar: Any,
) -> LearningRateSearch:
    """Trains every cell at every rate on ``seeds`` and picks each cell's rate.

    With a single rate nothing is trained: it is every cell's choice (``val_loss`` empty).

    Args:
        make_trainer: builds one cell's trainer for given members (see :data:`MakeTrainer`).
        cells: the models, trained interleaved.
        rates: the candidates.
        seeds: the seeds trained at every rate.
        steps: optimizer steps per member.
        bar: a progress bar, advanced once per chunk.
    """
    rates, seeds = list(rates), list(seeds)
    if len(rates) == 1:
        return LearningRateSearch(rates, seeds, 0, {}, dict.fromkeys(cells, rates[0]))
    member_rates = [rate for rate in rates for _ in seeds]
    member_seeds = [seed for _ in rates for seed in seeds]
    trainers = {cell: make_trainer(cell, member_rates, member_seeds) for cell in cells}
    runs = train_interleaved(trainers, steps, bar)
    val_loss: dict[str, list[float | None]] = {}
    chosen: dict[str, float] = {}
    for cell in cells:
        per_rate = _best(runs[cell].val_matrix()).reshape(len(rates), len(seeds)).mean(axis=1)
        val_loss[cell] = [
            round(float(value), 6) if math.isfinite(value) else None for value in per_rate
        ]
        chosen[cell] = rates[int(np.argmin(per_rate))]
    return LearningRateSearch(rates, seeds, steps, val_loss, chosen)


def _best(val_matrix: np.ndarray) -> np.ndarray:
    """Each member's lowest validation loss, ``inf`` for a member that never had a finite one."""
    finite = np.where(np.isfinite(val_matrix), val_matrix, np.inf)
    return finite.min(axis=1)


def train_tuned(
    make_trainer: MakeTrainer, config: CompareConfig, *, rate: float, steps: int, bar: Any
) -> tuple[LearningRateSearch, dict[str, SeedRun]]:
    """The search (:func:`search`) of every compared cell around ``rate``, then every cell's
    final seeds at its chosen rate, the cells interleaved.

    ``config`` gives the cells, the grid (``lr_factors`` times ``rate``), the search seeds
    (``search_seeds`` of them), the final seeds (``0 .. seeds - 1``, split over
    ``seed_devices`` when set). ``bar`` advances once per chunk of both phases (:func:`chunks`
    counts them).
    """
    found = search(
        make_trainer,
        config.cells,
        candidates(rate, config.lr_factors),
        search_seeds(config.search_seeds),
        steps,
        bar,
    )
    trainers = {
        cell: make_trainer(cell, found.chosen[cell], range(config.seeds)) for cell in config.cells
    }
    mesh = seed_mesh(config)
    if mesh is not None:
        for trainer in trainers.values():
            trainer.shard_seeds(mesh)
    return found, train_interleaved(trainers, steps, bar)


def chunks(steps: int, eval_every: int, factors: Sequence[float]) -> int:
    """How many chunks :func:`train_tuned` runs: the search's (none for one factor) and the
    final run's.

    Examples:
        >>> chunks(600, 100, (0.3, 1.0, 3.0)), chunks(600, 100, (1.0,))
        (12, 6)
    """
    per_run = -(-steps // eval_every)
    return per_run * (2 if len(factors) > 1 else 1)


def curve(run: SeedRun) -> list[float | None]:
    """A run's learning curve: the seed-mean validation loss after every chunk."""
    values = run.val_matrix()
    finite = np.isfinite(values)
    counts = finite.sum(axis=0)
    means = np.where(finite, values, 0.0).sum(axis=0) / np.maximum(counts, 1)
    means = np.where(counts > 0, means, np.nan)
    return [round(float(value), 6) if math.isfinite(value) else None for value in means]
