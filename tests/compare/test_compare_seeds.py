"""Seed-parallel training (K seeds in one jit via vmap) equals training each seed alone."""

from __future__ import annotations

import functools

import jax
import numpy as np
import pytest

from rnnax import forecasting
from rnnax.compare._models import matched_hidden, total_params
from rnnax.compare._seeds import SeedTrainer, take_seed, train_seeds


def _trainer(seeds: list[int], cell: str = "lstm") -> SeedTrainer:
    rng = np.random.default_rng(0)
    series = np.sin(np.arange(80, dtype=np.float32) / 3) + 0.1 * rng.standard_normal(80).astype(
        np.float32
    )
    windows = np.lib.stride_tricks.sliding_window_view(series, 12)[..., None]
    inputs, targets = windows[:, :9], windows[:, 9:]
    config = forecasting.ForecasterConfig(horizon=3, cell=cell, hidden=4)
    return SeedTrainer(
        functools.partial(forecasting.init, config=config),
        lambda params, batch: forecasting.loss(params, batch, config=config),
        (inputs[:50], targets[:50]),
        (inputs[50:], targets[50:]),
        seeds,
        batch_size=8,
        learning_rate=1e-2,
        eval_every=5,
    )


def test_seed_parallel_equals_each_seed_alone_and_is_deterministic() -> None:
    trainer = _trainer([3, 7])
    together = train_seeds(trainer, steps=10)
    assert together.steps == [5, 10]
    assert together.val_matrix().shape == (2, 2)
    assert not np.array_equal(together.val_matrix()[0], together.val_matrix()[1])  # seeds differ
    for index, seed in enumerate((3, 7)):
        alone = train_seeds(_trainer([seed]), steps=10)
        np.testing.assert_allclose(
            together.val_matrix()[index], alone.val_matrix()[0], rtol=1e-5, atol=1e-6
        )
        for stacked, single in (
            (together.final_params, alone.final_params),
            (together.best_params, alone.best_params),
        ):
            jax.tree.map(
                lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
                take_seed(stacked, index),
                take_seed(single, 0),
            )
    # Same seeds, same numbers.
    again = train_seeds(trainer, steps=10)
    np.testing.assert_array_equal(together.val_matrix(), again.val_matrix())
    jax.tree.map(np.testing.assert_array_equal, together.final_params, again.final_params)


def test_match_params_sizes_the_gru_to_the_lstm_budget() -> None:
    hidden = matched_hidden("gru", "lstm", 32, 1, 12)
    budget = total_params("lstm", 32, 1, 12)
    assert hidden > 32
    gap = abs(total_params("gru", hidden, 1, 12) - budget)
    assert gap <= min(abs(total_params("gru", h, 1, 12) - budget) for h in (hidden - 1, hidden + 1))
    assert gap / budget < 0.05


def test_one_learning_rate_per_seed_equals_each_rate_alone() -> None:
    """A learning-rate search trains several rates in one call: each member is its rate's
    trainer alone, and the rates are checked."""
    together = _trainer([3, 3])
    together = SeedTrainer(
        together._init_fn,
        together.loss_fn,
        together.train_data,
        together.val_data,
        [3, 3],
        batch_size=8,
        learning_rate=[1e-2, 1e-1],
        eval_every=5,
    )
    run = train_seeds(together, steps=10)
    for index, rate in enumerate((1e-2, 1e-1)):
        alone = _trainer([3])
        alone = SeedTrainer(
            alone._init_fn,
            alone.loss_fn,
            alone.train_data,
            alone.val_data,
            [3],
            batch_size=8,
            learning_rate=rate,
            eval_every=5,
        )
        np.testing.assert_allclose(
            run.val_matrix()[index], train_seeds(alone, steps=10).val_matrix()[0], rtol=1e-5
        )
    with pytest.raises(ValueError, match="one rate per seed"):
        SeedTrainer(
            together._init_fn,
            together.loss_fn,
            together.train_data,
            together.val_data,
            [3],
            batch_size=8,
            learning_rate=[1e-2, 1e-1],
            eval_every=5,
        )
