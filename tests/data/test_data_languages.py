"""The counting languages: strings are well-formed, the legal next symbols agree with a
brute-force reference of each language, and the acceptance measures are right on hand-made
predictions."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from rnnax import data
from rnnax.data import ALPHABET


def _member(language: str, word: str) -> bool:
    """Whether ``word`` (over a, b, c) is in the language: the definition, by counting."""
    if not word:
        return False
    if language == "anbn":
        n = len(word) // 2
        return n >= 1 and word == "a" * n + "b" * n
    if language == "anbncn":
        n = len(word) // 3
        return n >= 1 and word == "a" * n + "b" * n + "c" * n
    depth = 0
    for symbol in word:
        depth += 1 if symbol == "a" else -1 if symbol == "b" else 99
        if depth < 0 or depth > 50:
            return False
    return depth == 0


def _words(language: str, max_length: int) -> set[str]:
    """Every word of the language up to ``max_length`` symbols, by enumeration and membership."""
    alphabet = "ab" if language in ("anbn", "dyck1") else "abc"
    return {
        "".join(word)
        for length in range(1, max_length + 1)
        for word in itertools.product(alphabet, repeat=length)
        if _member(language, "".join(word))
    }


def _legal_after(prefix: str, words: set[str]) -> set[str]:
    """The symbols that continue ``prefix`` towards some word, and "end" if it is one."""
    legal = {
        word[len(prefix)] for word in words if len(word) > len(prefix) and word.startswith(prefix)
    }
    return legal | ({"end"} if prefix in words else set())


@pytest.mark.parametrize("language", data.LANGUAGES)
def test_strings_are_well_formed_and_targets_are_the_legal_next_symbols(language):
    task = data.counting_task(language, [1, 2, 3], seed=1 if language == "dyck1" else None, extra=1)
    words = _words(language, max_length=int(task.lengths.max()) + 4)
    for row in range(3):
        length = int(task.lengths[row])
        word = "".join(ALPHABET[k] for k in task.inputs[row, :length].argmax(-1))
        assert _member(language, word), word
        assert not task.inputs[row, length:].any() and not task.targets[row, length:].any()
        for step in range(length):
            expected = _legal_after(word[: step + 1], words)
            got = {ALPHABET[k] for k in range(4) if task.targets[row, step, k]}
            assert got == expected, (word, step)


def test_counts_and_shapes():
    task = data.counting_task("anbncn", [4, 1])
    assert task.inputs.shape == (2, 12, 4) and task.lengths.tolist() == [12, 3]
    assert task.n.tolist() == [4, 1] and task.inputs.dtype == np.float32
    word = task.inputs[0].argmax(-1).tolist()
    assert word == [0] * 4 + [1] * 4 + [2] * 4
    nested = data.counting_task("dyck1", [3])  # no seed: the nested word of depth 3
    assert nested.inputs[0].argmax(-1).tolist() == [0, 0, 0, 1, 1, 1]
    seeded = data.counting_task("dyck1", [3, 3], seed=0)
    assert seeded.lengths.tolist() != [6, 6]  # random extra blocks
    np.testing.assert_array_equal(seeded.inputs, data.counting_task("dyck1", [3, 3], seed=0).inputs)


def test_accepted_and_the_largest_accepted_n_on_hand_made_predictions():
    task = data.counting_task("anbn", [1, 2, 3, 4])
    perfect = np.where(task.targets > 0, 0.9, 0.1)
    assert data.accepted(perfect, task).tolist() == [True] * 4
    early = perfect.copy()
    early[2, 4, 3] = 0.8  # "end" predicted after 2 of the 3 b's of n=3
    missed = perfect.copy()
    missed[3, 7, 3] = 0.2  # "end" not predicted after the 4th b of n=4
    padded = perfect.copy()
    padded[0, 3:, :] = 0.99  # anything after the string's end does not count
    assert data.accepted(early, task).tolist() == [True, True, False, True]
    assert data.accepted(missed, task).tolist() == [True, True, True, False]
    assert data.accepted(padded, task).tolist() == [True] * 4
    assert data.largest_accepted_n(task.n, data.accepted(early, task)) == 2
    assert data.largest_accepted_n(task.n, data.accepted(perfect, task)) == 4
    assert data.largest_accepted_n([3, 1, 2], [True, False, True]) == 0


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: data.counting_task("anbm", [1]), ValueError, r"language must be one of"),
        (lambda: data.counting_task("anbn", []), ValueError, r"ns must hold at least one"),
        (lambda: data.counting_task("anbn", [0]), ValueError, r"ns\[0\] must be an integer >= 1"),
        (lambda: data.counting_task("anbn", [1.5]), TypeError, r"ns\[0\] must be an integer"),
        (lambda: data.counting_task("anbn", 3), TypeError, r"ns must be a sequence"),
        (lambda: data.counting_task("dyck1", [2], seed=-1), ValueError, r"seed"),
        (
            lambda: data.accepted(np.zeros((1, 2, 4)), data.counting_task("anbn", [2])),
            ValueError,
            r"predictions must have the task's shape \(1, 4, 4\)",
        ),
        (lambda: data.largest_accepted_n([1, 2], [True]), ValueError, r"one length"),
    ],
)
def test_bad_arguments_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call()
