"""The counting tasks of the comparison: every compared cell learns a^n b^n, a^n b^n c^n and
Dyck-1 as next-symbol prediction on ``n <= train_max_n`` and is tested on longer strings.

The measure, per cell and seed, is the largest ``n`` such that every string up to it is
accepted (``rnnax.data.largest_accepted_n``): a count the cell had to generalize, not a loss.
LSTMs can count with their cell state and GRUs cannot (Weiss, Goldberg & Yahav, 2018), which
makes these tasks the explainer's "fine-grained memory control" claim's home ground.

Models are a recurrent stack read by a dense head with one logit per symbol; the loss is the
mean binary cross-entropy over the legal-next-symbol sets of the valid steps (padding has an
all-zero target and is masked out). Seeds train in parallel through ``SeedTrainer``, the cells
interleaved chunk by chunk like the forecasting runs.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

import rnnax
from rnnax import data
from rnnax.compare._memory_tasks import SequenceModel, _outputs
from rnnax.compare._progress import progress_bar
from rnnax.compare._seeds import SeedTrainer
from rnnax.compare._training import train_interleaved
from rnnax.forecasting import DenseParams

# The validation strings are n = 1 .. train_max_n + _VALIDATION_EXTRA: model selection (best
# parameters, learning rate) sees the trained counts and a few longer ones, never the test range
# beyond them.
_VALIDATION_EXTRA = 5


@dataclasses.dataclass(frozen=True)
class CountingScore:
    """One cell on one language.

    Attributes:
        largest_n: per seed, the largest n with every string up to it accepted.
        mean: the mean of ``largest_n`` over seeds.
    """

    largest_n: list[int]
    mean: float


@dataclasses.dataclass(frozen=True)
class CountingResult:
    """One counting language, every compared cell trained on it.

    Attributes:
        language: ``"anbn"``, ``"anbncn"`` or ``"dyck1"``.
        train_max_n: the largest count trained on (strings n = 1 .. train_max_n).
        test_max_n: the largest count tested (n = 1 .. test_max_n).
        steps: optimizer steps per cell and seed.
        learning_rate: Adam's learning rate.
        scores: every cell's score, by name.
    """

    language: str
    train_max_n: int
    test_max_n: int
    steps: int
    learning_rate: float
    scores: dict[str, CountingScore]


def _init_fn(cell: str, hidden: int, layers: int) -> Callable[[jax.Array], SequenceModel]:
    symbols = len(data.ALPHABET)

    def init(key: jax.Array) -> SequenceModel:
        encoder_key, head_key = jax.random.split(key)
        encoder = rnnax.rnn_stack_init(cell, encoder_key, symbols, hidden, num_layers=layers)
        w = jax.random.normal(head_key, (hidden, symbols), jnp.float32) / np.sqrt(hidden)
        return SequenceModel(encoder, DenseParams(w=w, b=jnp.zeros((symbols,), jnp.float32)))

    return init


def _loss_fn(cell: str) -> Callable[[SequenceModel, Any], jax.Array]:
    def loss(params: SequenceModel, batch: tuple[jax.Array, jax.Array]) -> jax.Array:
        inputs, targets = batch
        logits = _outputs(cell, params, inputs)
        valid = (jnp.sum(targets, axis=-1, keepdims=True) > 0).astype(logits.dtype)
        per_symbol = optax.sigmoid_binary_cross_entropy(logits, targets) * valid
        return jnp.sum(per_symbol) / (jnp.sum(valid) * targets.shape[-1])

    return loss


@functools.partial(jax.jit, static_argnames=("cell",))
def _probabilities(params: SequenceModel, inputs: jax.Array, *, cell: str) -> jax.Array:
    return jax.nn.sigmoid(_outputs(cell, params, inputs))


def largest_n_per_seed(cell: str, stacked_params: Any, task: data.LanguageTask) -> list[int]:
    """Every seed's largest accepted n on ``task`` (its parameters stacked on a leading axis)."""
    predict = jax.vmap(functools.partial(_probabilities, cell=cell), in_axes=(0, None))
    probabilities = np.asarray(predict(stacked_params, jnp.asarray(task.inputs)))
    return [
        data.largest_accepted_n(task.n, data.accepted(seed_probabilities, task))
        for seed_probabilities in probabilities
    ]


def run_counting(
    cells: Sequence[str],
    hidden: dict[str, int],
    *,
    layers: int,
    seeds: Sequence[int],
    languages: Sequence[str],
    train_max_n: int,
    test_max_n: int,
    steps: int,
    learning_rate: float,
    progress: bool,
    mesh: jax.sharding.Mesh | None = None,
) -> dict[str, CountingResult]:
    """Trains every cell's seeds on every language and scores the largest accepted n."""
    eval_every = max(1, min(steps, 100))
    chunks = -(-steps // eval_every)
    results = {}
    with progress_bar(
        progress, total=chunks * len(languages), desc="counting", unit="chunk"
    ) as bar:
        for language in languages:
            train = data.counting_task(language, list(range(1, train_max_n + 1)))
            validation = data.counting_task(
                language, list(range(1, train_max_n + 1 + _VALIDATION_EXTRA))
            )
            trainers = {
                cell: SeedTrainer(
                    _init_fn(cell, hidden[cell], layers),
                    _loss_fn(cell),
                    (train.inputs, train.targets),
                    (validation.inputs, validation.targets),
                    list(seeds),
                    batch_size=train_max_n,
                    learning_rate=learning_rate,
                    eval_every=eval_every,
                )
                for cell in cells
            }
            if mesh is not None:
                for trainer in trainers.values():
                    trainer.shard_seeds(mesh)
            bar.set_postfix_str(language)
            runs = train_interleaved(trainers, steps, bar)
            test = data.counting_task(language, list(range(1, test_max_n + 1)))
            scores = {}
            for cell in cells:
                largest = largest_n_per_seed(cell, runs[cell].best_params, test)
                scores[cell] = CountingScore(largest_n=largest, mean=float(np.mean(largest)))
            results[language] = CountingResult(
                language, train_max_n, test_max_n, steps, learning_rate, scores
            )
    return results
