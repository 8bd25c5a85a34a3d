"""The comparison's counting tasks: structure, determinism and the measure, at a tiny size."""

from __future__ import annotations

import jax
import numpy as np

from rnnax import data
from rnnax.compare import CompareConfig
from rnnax.compare._counting import largest_n_per_seed, run_counting


def test_every_language_cell_and_seed_gets_a_largest_n_and_a_searched_rate():
    """(Seeded training is deterministic: tests/compare/test_compare_seeds.py.)"""
    config = CompareConfig(
        seeds=2,
        counting_steps=20,
        counting_train_n=3,
        counting_test_n=6,
        lr_factors=(1.0,),
        progress=False,
    )
    results, searches = run_counting(config, {"lstm": 4, "gru": 4})
    assert list(results) == list(data.LANGUAGES)
    for language, result in results.items():
        assert (result.train_max_n, result.test_max_n, result.steps) == (3, 6, 20)
        search = searches[f"counting_{language}"]
        assert search.candidates == [0.02] and search.steps == 0  # no search: one rate
        for cell in ("lstm", "gru"):
            score = result.scores[cell]
            assert len(score.largest_n) == 2 and all(0 <= n <= 6 for n in score.largest_n)
            assert score.mean == np.mean(score.largest_n)
            assert score.learning_rate == search.chosen[cell]
            assert len(score.curve) == len(result.curve_steps)
    assert run_counting(CompareConfig(counting_steps=0), {"lstm": 4, "gru": 4}) == ({}, {})


def test_the_measure_reads_each_seeds_own_predictions():
    """Parameters whose head always predicts the legal set of a^n b^n with n >= 3 only (it
    never says "end" before 3 b's) accept exactly n >= 3 strings: largest n = 0."""
    task = data.counting_task("anbn", [1, 2, 3])
    import rnnax
    from rnnax.compare._memory_tasks import SequenceModel
    from rnnax.forecasting import DenseParams

    encoder = rnnax.rnn_stack_init("gru", jax.random.key(0), 4, 2)
    # A head that ignores the state: logits +10 for a and b, -10 for c and end.
    head = DenseParams(w=np.zeros((2, 4), np.float32), b=np.array([10, 10, -10, -10], np.float32))
    stacked = jax.tree.map(lambda leaf: np.stack([leaf, leaf]), SequenceModel(encoder, head))
    assert largest_n_per_seed("gru", stacked, task) == [0, 0]
