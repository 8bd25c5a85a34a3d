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

import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

import rnnax
from rnnax import data
from rnnax.compare import _lr_search
from rnnax.compare._config import CompareConfig
from rnnax.compare._memory_tasks import SequenceModel, _outputs
from rnnax.compare._progress import progress_bar
from rnnax.compare._results import (
    CountingResult,
    CountingScore,
    LearningRateSearch,
)
from rnnax.compare._seeds import SeedTrainer
from rnnax.forecasting import DenseParams

# The validation strings are n = 1 .. train_max_n + _VALIDATION_EXTRA: model selection (best
# parameters, learning rate) sees the trained counts and a few longer ones, never the test range
# beyond them.
_VALIDATION_EXTRA = 5


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
    config: CompareConfig, hidden: dict[str, int]
) -> tuple[dict[str, CountingResult], dict[str, LearningRateSearch]]:
    """Trains every compared cell on every language (after a learning-rate search per cell,
    ``rnnax.compare._lr_search``) and scores each final seed's largest accepted n.

    Returns:
        ``(results, searches)``: per language its :class:`CountingResult`, and per
        ``"counting_<language>"`` its learning-rate search.
    """
    if config.counting_steps == 0:
        return {}, {}
    steps = config.counting_steps
    eval_every = max(1, min(steps, 100))
    total = _lr_search.chunks(steps, eval_every, config.lr_factors) * len(data.LANGUAGES)
    results, searches = {}, {}
    with progress_bar(config.progress, total=total, desc="counting", unit="chunk") as bar:
        for language in data.LANGUAGES:
            bar.set_postfix_str(language)
            results[language], searches[f"counting_{language}"] = _run_language(
                config, hidden, language, eval_every, bar
            )
    return results, searches


def _run_language(
    config: CompareConfig, hidden: dict[str, int], language: str, eval_every: int, bar: Any
) -> tuple[CountingResult, LearningRateSearch]:
    train_n = config.counting_train_n
    train = data.counting_task(language, list(range(1, train_n + 1)))
    validation = data.counting_task(language, list(range(1, train_n + 1 + _VALIDATION_EXTRA)))

    def make_trainer(cell: str, rates: Any, seeds: Sequence[int]) -> SeedTrainer:
        return SeedTrainer(
            _init_fn(cell, hidden[cell], config.layers),
            _loss_fn(cell),
            (train.inputs, train.targets),
            (validation.inputs, validation.targets),
            list(seeds),
            batch_size=train_n,
            learning_rate=rates,
            eval_every=eval_every,
        )

    found, runs = _lr_search.train_tuned(
        make_trainer, config, rate=config.memory_learning_rate, steps=config.counting_steps, bar=bar
    )
    test = data.counting_task(language, list(range(1, config.counting_test_n + 1)))
    scores = {}
    for cell in config.cells:
        largest = largest_n_per_seed(cell, runs[cell].best_params, test)
        scores[cell] = CountingScore(
            largest_n=largest,
            learning_rate=found.chosen[cell],
            curve=_lr_search.curve(runs[cell]),
        )
    result = CountingResult(
        language=language,
        train_max_n=train_n,
        test_max_n=config.counting_test_n,
        steps=config.counting_steps,
        scores=scores,
        curve_steps=list(runs[config.cells[0]].steps),
    )
    return result, found
