"""Memory tasks for the explainer's "fine-grained memory control" row: adding problem and copy.

Both are trained seed-parallel (:class:`rnnax.compare._seeds.SeedTrainer`) on a fixed training
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
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

import rnnax
from rnnax import data
from rnnax.compare._seeds import SeedRun, SeedTrainer
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
    learning_rate: float,
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


__all__ = [
    "ADDING_TRIVIAL_MSE",
    "MemoryTask",
    "SeedRun",
    "adding",
    "copy",
    "make_data",
    "score",
    "trainer",
]
