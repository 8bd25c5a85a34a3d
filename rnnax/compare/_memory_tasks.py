"""Memory tasks for the explainer's "fine-grained memory control" row: adding problem and copy.

:func:`run_memory_tasks` trains every compared cell on every task of a config
(:func:`tasks_for`). Both tasks are trained seed-parallel (:class:`rnnax.compare._seeds.SeedTrainer`) on a fixed training
set and scored on a held-out test set drawn with another seed:

* adding problem (Hochreiter & Schmidhuber 1997) at length ``T``: test mean squared error of
  each seed's best-validation parameters. Always predicting 1 scores ``1/6 ~ 0.167``; lower is
  better.
* copy task: recall accuracy, the fraction of the ``K`` recalled symbols predicted exactly;
  guessing scores ``1 / num_symbols``; higher is better.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

import rnnax
from rnnax import data
from rnnax.compare import _lr_search
from rnnax.compare._config import CompareConfig
from rnnax.compare._progress import progress_bar
from rnnax.compare._results import (
    LearningRateSearch,
    MeanCI,
    MemoryScore,
    MemoryTaskResult,
)
from rnnax.compare._seeds import SeedRun, SeedTrainer
from rnnax.compare._stats import finite, mean_ci
from rnnax.forecasting import DenseParams

ADDING_TRIVIAL_MSE = 1.0 / 6.0


class SequenceModel(NamedTuple):
    """A recurrent stack read by a dense head."""

    encoder: list[list[Any]]
    head: DenseParams


@dataclasses.dataclass(frozen=True)
class MemoryTask:
    """One memory task at one size.

    Attributes:
        name: the key in ``report.json`` (``adding_T50``, ``copy_K5_D20``).
        kind: ``"adding"`` or ``"copy"``.
        length: adding: ``T``; copy: the number of symbols ``K``.
        delay: copy only: steps from the last symbol to the start of the recall.
        num_symbols: copy only: the data alphabet.
    """

    name: str
    kind: str
    length: int
    delay: int = 0
    num_symbols: int = 4

    @property
    def higher_is_better(self) -> bool:
        return self.kind == "copy"

    @property
    def metric(self) -> str:
        return "recall accuracy" if self.kind == "copy" else "test MSE"

    @property
    def trivial_score(self) -> float:
        """The memoryless score: 1/6 for adding, ``1/num_symbols`` for copy."""
        return 1.0 / self.num_symbols if self.kind == "copy" else ADDING_TRIVIAL_MSE

    @property
    def sequence_length(self) -> int:
        return self.length if self.kind == "adding" else 2 * self.length + self.delay


def adding(length: int) -> MemoryTask:
    return MemoryTask(name=f"adding_T{length}", kind="adding", length=length)


def copy(symbols: int, delay: int, num_symbols: int = 4) -> MemoryTask:
    return MemoryTask(
        name=f"copy_K{symbols}_D{delay}",
        kind="copy",
        length=symbols,
        delay=delay,
        num_symbols=num_symbols,
    )


class TaskData(NamedTuple):
    train: tuple[np.ndarray, np.ndarray]
    validation: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]


def make_data(task: MemoryTask, num_train: int, num_eval: int, seed: int = 0) -> TaskData:
    """Training, validation and test sets from three independent generator seeds."""

    def draw(count: int, offset: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([seed, offset, task.length, task.delay])
        if task.kind == "adding":
            made = data.adding_problem(count, task.length, seed=rng)
        else:
            made = data.copy_task(
                count, task.length, task.delay, num_symbols=task.num_symbols, seed=rng
            )
        return made.inputs, made.targets

    return TaskData(train=draw(num_train, 0), validation=draw(num_eval, 1), test=draw(num_eval, 2))


def _input_size(task: MemoryTask) -> int:
    return 2 if task.kind == "adding" else task.num_symbols + 2


def _output_size(task: MemoryTask) -> int:
    return 1 if task.kind == "adding" else task.num_symbols + 1


def init_fn(
    task: MemoryTask, cell: str, hidden: int, layers: int
) -> Callable[[jax.Array], SequenceModel]:
    """``key -> SequenceModel``: a stack of ``cell`` (``rnnax.rnn_stack_init``) and a dense
    head sized for ``task``."""
    outputs = _output_size(task)

    def init(key: jax.Array) -> SequenceModel:
        encoder_key, head_key = jax.random.split(key)
        encoder = rnnax.rnn_stack_init(
            cell, encoder_key, _input_size(task), hidden, num_layers=layers
        )
        w = jax.random.normal(head_key, (hidden, outputs), jnp.float32) / math.sqrt(hidden)
        return SequenceModel(
            encoder=encoder, head=DenseParams(w=w, b=jnp.zeros((outputs,), jnp.float32))
        )

    return init


def _outputs(cell: str, params: SequenceModel, inputs: jax.Array) -> jax.Array:
    _, ys = rnnax.rnn_stack(params.encoder, inputs, cell=cell)
    b = params.head.b.reshape((1,) * (ys.ndim - 1) + params.head.b.shape)
    return ys @ params.head.w + b


def loss_fn(task: MemoryTask, cell: str) -> Callable[[SequenceModel, Any], jax.Array]:
    """Mean squared error (adding, on the last step) or mean cross-entropy (copy, every step)."""

    def loss(params: SequenceModel, batch: tuple[jax.Array, jax.Array]) -> jax.Array:
        inputs, targets = batch
        if task.kind == "adding":
            prediction = _outputs(cell, params, inputs)[..., -1, :]
            return jnp.mean(jnp.square(prediction - targets))
        logits = _outputs(cell, params, inputs)
        log_probs = jax.nn.log_softmax(logits, axis=-1)
        picked = jnp.take_along_axis(log_probs, targets[..., None].astype(jnp.int32), axis=-1)
        return -jnp.mean(picked)

    return loss


@functools.partial(jax.jit, static_argnames=("task", "cell"))
def _score_one(
    params: SequenceModel, inputs: jax.Array, targets: jax.Array, *, task: MemoryTask, cell: str
) -> jax.Array:
    if task.kind == "adding":
        return loss_fn(task, cell)(params, (inputs, targets))
    logits = _outputs(cell, params, inputs)
    recall = slice(task.length + task.delay, None)
    hits = jnp.argmax(logits[..., recall, :], axis=-1) == targets[..., recall]
    return jnp.mean(hits.astype(jnp.float32))


def score(
    task: MemoryTask, cell: str, stacked_params: Any, test: tuple[np.ndarray, np.ndarray]
) -> np.ndarray:
    """The task score of every seed's parameters on ``test``, ``[K]``."""
    inputs, targets = (jnp.asarray(array) for array in test)
    scorer = jax.vmap(functools.partial(_score_one, task=task, cell=cell), in_axes=(0, None, None))
    return np.asarray(scorer(stacked_params, inputs, targets))


def trainer(
    task: MemoryTask,
    cell: str,
    hidden: int,
    layers: int,
    task_data: TaskData,
    seeds: Any,
    *,
    batch_size: int,
    learning_rate: float | Sequence[float],
    eval_every: int,
) -> SeedTrainer:
    """A seed-parallel trainer of ``cell`` on ``task``."""
    return SeedTrainer(
        init_fn(task, cell, hidden, layers),
        loss_fn(task, cell),
        task_data.train,
        task_data.validation,
        seeds,
        batch_size=batch_size,
        learning_rate=learning_rate,
        eval_every=eval_every,
    )


def tasks_for(config: CompareConfig) -> list[MemoryTask]:
    """The memory tasks a comparison runs: an adding problem per ``memory_lengths`` and a copy
    task (unless ``copy_symbols`` is 0); none when ``memory_steps`` is 0."""
    if config.memory_steps == 0:
        return []
    tasks = [adding(length) for length in config.memory_lengths]
    if config.copy_symbols > 0:
        tasks.append(copy(config.copy_symbols, config.copy_delay))
    return tasks


def run_memory_tasks(
    config: CompareConfig, hidden: dict[str, int]
) -> tuple[dict[str, MemoryTaskResult], dict[str, LearningRateSearch]]:
    """Trains every compared cell on every memory task (a learning-rate search per cell, then
    K seeds each, seed-parallel, interleaved) and scores each seed's best-validation
    parameters on a held-out test set.

    Returns:
        ``(results, searches)``, both by task name.
    """
    tasks = tasks_for(config)
    if not tasks:
        return {}, {}
    eval_every = max(1, min(config.memory_steps, 50))
    total = _lr_search.chunks(config.memory_steps, eval_every, config.lr_factors) * len(tasks)
    results, searches = {}, {}
    with progress_bar(config.progress, total=total, desc="memory tasks", unit="chunk") as bar:
        for task in tasks:
            bar.set_postfix_str(task.name)
            results[task.name], searches[task.name] = _run_task(
                config, hidden, task, eval_every, bar
            )
    return results, searches


def _run_task(
    config: CompareConfig, hidden: dict[str, int], task: MemoryTask, eval_every: int, bar: Any
) -> tuple[MemoryTaskResult, LearningRateSearch]:
    """Every compared cell tuned, trained on one task, interleaved, and scored."""
    task_data = make_data(task, num_train=2048, num_eval=256)

    def make_trainer(cell: str, rates: Any, seeds: Any) -> SeedTrainer:
        return trainer(
            task,
            cell,
            hidden[cell],
            config.layers,
            task_data,
            seeds,
            batch_size=config.batch_size,
            learning_rate=rates,
            eval_every=eval_every,
        )

    found, runs = _lr_search.train_tuned(
        make_trainer, config, rate=config.memory_learning_rate, steps=config.memory_steps, bar=bar
    )
    scores = {}
    for cell in config.cells:
        values = score(task, cell, runs[cell].best_params, task_data.test)
        scores[cell] = MemoryScore(
            score=MeanCI(*mean_ci(values.tolist())),
            per_seed=[finite(round(float(value), 6)) for value in values],
            train_s=round(runs[cell].train_s, 3),
            compile_s=round(runs[cell].compile_s, 3),
            learning_rate=found.chosen[cell],
            curve=_lr_search.curve(runs[cell]),
        )
    copy_task = task.kind == "copy"
    result = MemoryTaskResult(
        kind=task.kind,
        sequence_length=task.sequence_length,
        metric=task.metric,
        higher_is_better=task.higher_is_better,
        trivial_score=round(task.trivial_score, 6),
        steps=config.memory_steps,
        scores=scores,
        symbols=task.length if copy_task else None,
        delay=task.delay if copy_task else None,
        num_symbols=task.num_symbols if copy_task else None,
        curve_steps=list(runs[config.cells[0]].steps),
    )
    return result, found


__all__ = [
    "ADDING_TRIVIAL_MSE",
    "MemoryTask",
    "SeedRun",
    "adding",
    "copy",
    "make_data",
    "run_memory_tasks",
    "score",
    "tasks_for",
    "trainer",
]
