"""The comparison's counting tasks: structure, determinism and the measure, at a tiny size."""

from __future__ import annotations

import jax
import numpy as np

from rnnax import data
from rnnax.compare._counting import largest_n_per_seed, run_counting


def _run():
    return run_counting(
        ["lstm", "gru"],
        {"lstm": 4, "gru": 4},
        layers=1,
        seeds=[0, 1],
        languages=["anbn"],
        train_max_n=4,
        test_max_n=8,
        steps=40,
        learning_rate=1e-2,
        progress=False,
    )


def test_every_cell_and_seed_gets_a_largest_n():
    """(Seeded training is deterministic: tests/compare/test_compare_seeds.py.)"""
    result = _run()["anbn"]
    assert (result.train_max_n, result.test_max_n, result.steps) == (4, 8, 40)
    for cell in ("lstm", "gru"):
        largest = result.scores[cell].largest_n
        assert len(largest) == 2 and all(0 <= n <= 8 for n in largest)
        assert result.scores[cell].mean == np.mean(largest)


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
