"""The experiment behind ``rnnax compare``: every step of one comparison, in order.

:func:`run` measures everything the explainer's table claims, for every cell under identical
settings: structure, parameter and FLOP counts (``_models``), seed-parallel training curves
(``_training``), test accuracy beside the naive baselines (``_evaluation``), throughput and
compile time (``_throughput``) and the memory tasks (``_memory_tasks``). It returns a typed
:class:`~rnnax.compare._results.CompareResult`, which ``rnnax.compare._claims`` judges and
``rnnax.compare._report`` writes, and the :class:`PlotData` only the plots need.
"""

from __future__ import annotations

import functools
import time
from typing import Any, NamedTuple

import jax
import numpy as np

from rnnax import forecasting
from rnnax.compare import _lr_search
from rnnax.compare._cells import label
from rnnax.compare._config import DEFAULT_DATASET, CompareConfig
from rnnax.compare._counting import run_counting
from rnnax.compare._data import Prepared, prepare
from rnnax.compare._environment import environment
from rnnax.compare._evaluation import Evaluation, ForecastTail, evaluate
from rnnax.compare._memory_tasks import run_memory_tasks
from rnnax.compare._models import count_model, forecaster_config, hidden_sizes
from rnnax.compare._progress import log, progress_bar
from rnnax.compare._results import (
    Accuracy,
    CompareResult,
    CountingResult,
    DatasetInfo,
    ForecastResult,
    LearningRateSearch,
    MeanCI,
    MemoryTaskResult,
    ModelResult,
    ModelSize,
    Throughput,
    TrainingResult,
    Windows,
)
from rnnax.compare._seeds import SeedRun, SeedTrainer
from rnnax.compare._stats import finite, mean_ci
from rnnax.compare._throughput import throughput
from rnnax.compare._training import (
    best_mean,
    forecast_loss,
    reach,
    reach_per_seed,
    target_loss,
)

# CompareConfig, DEFAULT_DATASET and prepare are also reached through this module.
__all__ = ["DEFAULT_DATASET", "CompareConfig", "MemoryCache", "PlotData", "prepare", "run"]


class PlotData(NamedTuple):
    """What only the plots need: every cell's training run (loss curves), its forecast of the
    test tail, and the prepared data set."""

    runs: dict[str, SeedRun]
    tail: dict[str, ForecastTail]
    prepared: Prepared


class _Models(NamedTuple):
    """Every compared cell's forecaster: its settings, one initialization and its counts."""

    configs: dict[str, forecasting.ForecasterConfig]
    params: dict[str, forecasting.ForecasterParams]
    sizes: dict[str, ModelSize]


class MemoryResults(NamedTuple):
    """The memory and counting tasks' results and their learning-rate searches."""

    tasks: dict[str, MemoryTaskResult]
    counting: dict[str, CountingResult]
    searches: dict[str, LearningRateSearch]


MemoryCache = dict[tuple[tuple[str, int], ...], MemoryResults]
"""The memory and counting tasks' results by the cells' hidden sizes: what comparisons with the
same settings on several data sets share (the tasks do not read the data set)."""


def run(
    config: CompareConfig, *, memory_cache: MemoryCache | None = None
) -> tuple[CompareResult, PlotData]:
    """Runs the comparison; returns what it measured and what the plots need.

    Args:
        config: the settings, for one data set.
        memory_cache: where the memory tasks' results are kept and found again: a run whose
            cells have the hidden sizes of an earlier run with this cache reuses its results
            (the same numbers, as the seeds are the same) instead of training again.
    """
    wall_start = time.perf_counter()
    prepared = prepare(config)
    models = _init_models(config, prepared)
    search, runs = _train_forecasters(config, prepared, models.configs)
    best = {cell: best_mean(runs[cell]) for cell in config.cells}
    target = target_loss(config, best)
    evaluations = {
        cell: evaluate(prepared, models.configs[cell], runs[cell]) for cell in config.cells
    }
    # The lookback first: the speed at the lookback is the one the tables report.
    lengths = [prepared.lookback, *sorted(set(config.sweep_lengths) - {prepared.lookback})]
    with progress_bar(config.progress, total=len(lengths), desc="throughput", unit="length") as bar:
        speeds = throughput(models.configs, models.params, lengths, config.throughput_batch, bar)
    memory = _memory_tasks(config, models, memory_cache)

    results = {
        cell: ModelResult(
            size=models.sizes[cell],
            training=_training_result(runs[cell], best[cell], target, search.chosen[cell]),
            speed=_speed(speeds[cell][prepared.lookback]),
            forecast=_forecast_result(evaluations[cell]),
        )
        for cell in config.cells
    }
    result = CompareResult(
        dataset=prepared.series.name,
        dataset_info=_dataset_info(prepared),
        input_size=1,
        lookback=prepared.lookback,
        horizon=prepared.horizon,
        seeds=list(range(config.seeds)),
        windows=_windows(prepared),
        config=config,
        environment=environment(),
        target_val_loss=None if target is None else round(target, 6),
        baselines=_baselines(evaluations[config.cells[0]]),
        models=results,
        memory_tasks=memory.tasks,
        throughput_sweep={
            cell: {length: _rounded(speed, 4) for length, speed in sorted(speeds[cell].items())}
            for cell in config.cells
        },
        wall_s=round(time.perf_counter() - wall_start, 2),
        counting=memory.counting,
        learning_rates={"forecasting": search, **memory.searches},
    )
    tail = {cell: evaluations[cell].tail for cell in config.cells}
    return result, PlotData(runs=runs, tail=tail, prepared=prepared)


def _init_models(config: CompareConfig, prepared: Prepared) -> _Models:
    """Sizes every cell, says what will run, and counts one initialization of each model."""
    hidden = hidden_sizes(config, prepared.horizon)
    split = prepared.split
    log(
        config.progress,
        f"rnnax compare: {prepared.series.name} ({len(prepared.series)} steps), "
        f"lookback {prepared.lookback}, horizon {prepared.horizon}, "
        f"{split.train.inputs.shape[0]}/{split.validation.inputs.shape[0]}/"
        f"{split.test.inputs.shape[0]} train/validation/test windows; "
        + ", ".join(f"{label(cell)} hidden {hidden[cell]}" for cell in config.cells)
        + f", {config.layers} layer(s), {config.seeds} seeds in parallel",
    )
    configs = {
        cell: forecaster_config(cell, hidden[cell], config.layers, prepared.horizon)
        for cell in config.cells
    }
    params = {cell: forecasting.init(jax.random.key(0), configs[cell]) for cell in config.cells}
    sizes = {
        cell: count_model(cell, params[cell], hidden[cell], config.layers) for cell in config.cells
    }
    return _Models(configs=configs, params=params, sizes=sizes)


def _memory_tasks(
    config: CompareConfig, models: _Models, cache: MemoryCache | None
) -> MemoryResults:
    """The memory and counting tasks' results: from ``cache`` when it holds these hidden
    sizes."""
    hidden = {cell: models.sizes[cell].hidden for cell in models.sizes}
    key = tuple(hidden.items())
    if cache is not None and key in cache:
        return cache[key]
    tasks, task_searches = run_memory_tasks(config, hidden=hidden)
    counting, counting_searches = run_counting(config, hidden)
    memory = MemoryResults(tasks, counting, {**task_searches, **counting_searches})
    if cache is not None:
        cache[key] = memory
    return memory


def _train_forecasters(
    config: CompareConfig,
    prepared: Prepared,
    configs: dict[str, forecasting.ForecasterConfig],
) -> tuple[LearningRateSearch, dict[str, SeedRun]]:
    """Each model's learning-rate search, then its K seeds, seed-parallel, the models
    interleaved chunk by chunk."""
    split = prepared.split

    def make_trainer(cell: str, rates: Any, seeds: Any) -> SeedTrainer:
        return SeedTrainer(
            functools.partial(forecasting.init, config=configs[cell]),
            functools.partial(forecast_loss, config=configs[cell]),
            (split.train.inputs, split.train.targets),
            (split.validation.inputs, split.validation.targets),
            list(seeds),
            batch_size=config.batch_size,
            learning_rate=rates,
            eval_every=config.eval_every,
        )

    with progress_bar(
        config.progress,
        total=_lr_search.chunks(config.steps, config.eval_every, config.lr_factors),
        desc=f"forecasting ({'+'.join(map(label, config.cells))})",
        unit="chunk",
    ) as bar:
        return _lr_search.train_tuned(
            make_trainer, config, rate=config.learning_rate, steps=config.steps, bar=bar
        )


def _training_result(
    run: SeedRun, best: float, target: float | None, learning_rate: float
) -> TrainingResult:
    steps_to, seconds_to = (None, None) if target is None else reach(run, target)
    return TrainingResult(
        compile_s=round(run.compile_s, 4),
        train_s=round(run.train_s, 4),
        train_steps=run.steps[-1],
        best_val_loss=finite(round(best, 6)),
        time_to_target_s=None if seconds_to is None else round(seconds_to, 4),
        steps_to_target=steps_to,
        learning_rate=learning_rate,
        steps_to_target_per_seed=[] if target is None else reach_per_seed(run, target),
        chunk_s=[round(float(s), 5) for s in np.diff([0.0, *run.seconds])],
    )


def _speed(at_lookback: Throughput) -> Throughput:
    """The speed the tables report: compile seconds to 4 digits, sequences/s to 2, with every
    timing round's forward+backward speed."""
    return Throughput(
        fwd_compile_s=round(at_lookback.fwd_compile_s, 4),
        fwd_seq_per_s=round(at_lookback.fwd_seq_per_s, 2),
        fwd_bwd_seq_per_s=round(at_lookback.fwd_bwd_seq_per_s, 2),
        fwd_bwd_seq_per_s_rounds=[
            round(value, 2) for value in at_lookback.fwd_bwd_seq_per_s_rounds
        ],
    )


def _rounded(speed: Throughput, digits: int) -> Throughput:
    """A speed of the sweep (medians only)."""
    return Throughput(
        fwd_compile_s=round(speed.fwd_compile_s, digits),
        fwd_seq_per_s=round(speed.fwd_seq_per_s, digits),
        fwd_bwd_seq_per_s=round(speed.fwd_bwd_seq_per_s, digits),
    )


def _forecast_result(evaluation: Evaluation) -> ForecastResult:
    scores = evaluation.per_seed
    return ForecastResult(
        test=Accuracy(**{metric: MeanCI(*mean_ci(values)) for metric, values in scores.items()}),
        test_per_seed=Accuracy(
            **{
                metric: [finite(round(value, 6)) for value in values]
                for metric, values in scores.items()
            }
        ),
        interval_coverage=round(evaluation.coverage, 4),
    )


def _baselines(evaluation: Evaluation) -> dict[str, Accuracy[float]]:
    return {
        method: Accuracy(**{metric: round(value, 6) for metric, value in scores.items()})
        for method, scores in evaluation.baselines.items()
    }


def _dataset_info(prepared: Prepared) -> DatasetInfo:
    series = prepared.series
    return DatasetInfo(
        length=len(series),
        frequency=series.frequency,
        period=series.period,
        unit=series.unit,
        source=series.source,
        log_transform=prepared.log,
    )


def _windows(prepared: Prepared) -> Windows:
    split = prepared.split
    return Windows(
        train=int(split.train.inputs.shape[0]),
        validation=int(split.validation.inputs.shape[0]),
        test=int(split.test.inputs.shape[0]),
    )
