"""Counting languages as next-symbol prediction: ``a^n b^n``, ``a^n b^n c^n`` and Dyck-1, the
tasks on which LSTMs learn to count with their cell state and GRUs do not generalize (Weiss,
Goldberg & Yahav, 2018, "On the Practical Computational Power of Finite Precision RNNs for
Language Recognition"; Gers & Schmidhuber, 2001).

A string is read one symbol per step. After each prefix the target is the SET of symbols that
may legally come next (multi-hot over ``ALPHABET``, ``"end"`` meaning the string may stop
here). A model accepts a string when, at every step, thresholding its predictions gives exactly
that set; it has then counted. Trained on ``n`` up to some ``N``, the measure is the largest
``n`` such that every ``n' <= n`` is accepted (:func:`largest_accepted_n`).

Legal next symbols, per language (``k`` symbols of the current run read so far):

* ``anbn``: after ``k`` a's ``{a, b}``; after ``k < n`` b's ``{b}``; after ``n`` b's ``{end}``.
* ``anbncn``: a's ``{a, b}``; b's ``{b}`` then ``{c}`` after the ``n``-th; c's ``{c}`` then
  ``{end}`` after the ``n``-th.
* ``dyck1`` (``a`` opens, ``b`` closes): ``{a, b}`` at depth > 0, ``{a, end}`` at depth 0.
  The string for ``n`` is ``a^n b^n`` (nesting depth ``n``), followed by ``extra`` random
  blocks of depth at most ``n`` when a ``seed`` is given (training variety).

Examples:
    >>> task = counting_task("anbn", [2])
    >>> task.lengths.tolist(), task.inputs[0].argmax(-1).tolist()
    ([4], [0, 0, 1, 1])
    >>> [[ALPHABET[k] for k in range(4) if row[k]] for row in task.targets[0]]
    [['a', 'b'], ['a', 'b'], ['b'], ['end']]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from rnnax._checks import check_choice, check_int

ALPHABET = ("a", "b", "c", "end")
"""The symbols, in the order of the one-hot and multi-hot axes (Dyck-1: a opens, b closes)."""
LANGUAGES = ("anbn", "anbncn", "dyck1")
"""The counting languages :func:`counting_task` generates."""

_A, _B, _C, _END = range(4)


class LanguageTask(NamedTuple):
    """Strings of a counting language with their legal next symbols, right-padded.

    Attributes:
        inputs: ``float32 [B, T, 4]``: one-hot symbols (zeros after each string's end).
        targets: ``float32 [B, T, 4]``: after each prefix, the legal next symbols (multi-hot;
            zeros after the end).
        lengths: ``int32 [B]``: each string's length.
        n: ``int64 [B]``: the count each string was made for.
    """

    inputs: np.ndarray
    targets: np.ndarray
    lengths: np.ndarray
    n: np.ndarray


def _anbn(n: int) -> tuple[list[int], list[set[int]]]:
    symbols = [_A] * n + [_B] * n
    legal = [{_A, _B}] * n + [{_B}] * (n - 1) + [{_END}]
    return symbols, legal


def _anbncn(n: int) -> tuple[list[int], list[set[int]]]:
    symbols = [_A] * n + [_B] * n + [_C] * n
    legal = [{_A, _B}] * n + [{_B}] * (n - 1) + [{_C}] + [{_C}] * (n - 1) + [{_END}]
    return symbols, legal


def _dyck1(n: int, rng: np.random.Generator | None, extra: int) -> tuple[list[int], list[set[int]]]:
    blocks = [n]
    if rng is not None:
        blocks += [int(k) for k in rng.integers(1, n + 1, size=extra)]
        rng.shuffle(blocks)
    symbols: list[int] = []
    for depth in blocks:
        symbols += [_A] * depth + [_B] * depth
    legal, depth = [], 0
    for symbol in symbols:
        depth += 1 if symbol == _A else -1
        legal.append({_A, _B} if depth > 0 else {_A, _END})
    return symbols, legal


def counting_task(
    language: str, ns: Sequence[int], *, seed: int | None = None, extra: int = 2
) -> LanguageTask:
    """One string per ``n`` in ``ns`` of ``language`` (one of :data:`LANGUAGES`).

    Args:
        language: ``"anbn"``, ``"anbncn"`` or ``"dyck1"``.
        ns: the counts, each >= 1; the batch follows their order.
        seed: Dyck-1 only: with a seed, each string also holds ``extra`` random blocks of depth
            at most its ``n`` in a random order (``numpy.random.default_rng(seed)``); without,
            the string is ``a^n b^n``. Ignored by the other languages, which have one string
            per ``n``.
        extra: how many random blocks a seeded Dyck-1 string adds (>= 0).

    Returns:
        A :class:`LanguageTask` padded to the longest string.
    """
    language = check_choice("language", language, LANGUAGES)
    if isinstance(ns, (str, bytes)) or not isinstance(ns, (Sequence, np.ndarray)):
        raise TypeError(f"ns must be a sequence of counts, got {type(ns).__name__}")
    counts = [check_int(f"ns[{i}]", n, minimum=1, maximum=100_000) for i, n in enumerate(ns)]
    if not counts:
        raise ValueError("ns must hold at least one count, got none")
    extra = check_int("extra", extra, minimum=0, maximum=1_000)
    rng = None if seed is None else np.random.default_rng(check_int("seed", seed, minimum=0))
    made = []
    for n in counts:
        if language == "anbn":
            made.append(_anbn(n))
        elif language == "anbncn":
            made.append(_anbncn(n))
        else:
            made.append(_dyck1(n, rng, extra))
    longest = max(len(symbols) for symbols, _ in made)
    inputs = np.zeros((len(made), longest, len(ALPHABET)), np.float32)
    targets = np.zeros_like(inputs)
    for row, (symbols, legal) in enumerate(made):
        inputs[row, np.arange(len(symbols)), symbols] = 1.0
        for step, allowed in enumerate(legal):
            targets[row, step, sorted(allowed)] = 1.0
    lengths = np.array([len(symbols) for symbols, _ in made], np.int32)
    return LanguageTask(inputs, targets, lengths, np.array(counts, np.int64))


def accepted(predictions: np.ndarray, task: LanguageTask, *, threshold: float = 0.5) -> np.ndarray:
    """Whether each string is accepted: at every step up to its length, the predictions above
    ``threshold`` are exactly its legal next symbols.

    Args:
        predictions: ``[B, T, 4]`` probabilities (apply a sigmoid to logits first).
        task: the strings.
        threshold: the probability above which a symbol counts as predicted.

    Returns:
        ``bool [B]``.

    Examples:
        >>> task = counting_task("anbn", [1, 2])
        >>> accepted(task.targets, task).tolist()
        [True, True]
        >>> wrong = task.targets.copy(); wrong[1, 2, 3] = 1.0   # "end" one step early
        >>> accepted(wrong, task).tolist()
        [True, False]
    """
    array = np.asarray(predictions)
    if array.shape != task.targets.shape:
        raise ValueError(
            f"predictions must have the task's shape {task.targets.shape}, got {array.shape}"
        )
    correct = (array > threshold) == (task.targets > 0.5)
    valid = np.arange(array.shape[1])[None, :] < task.lengths[:, None]
    return np.all(correct.all(axis=-1) | ~valid, axis=1)


def largest_accepted_n(
    ns: Sequence[int] | np.ndarray, accepted_strings: Sequence[bool] | np.ndarray
) -> int:
    """The largest ``n`` such that every tested ``n' <= n`` was accepted (0 if the smallest
    failed): a model that fails at 7 but happens to pass 9 generalized to 6, not 9.

    Examples:
        >>> largest_accepted_n([1, 2, 3, 4, 5], [True, True, False, True, True])
        2
    """
    counts = np.asarray(ns)
    passed = np.asarray(accepted_strings, bool)
    if counts.shape != passed.shape or counts.ndim != 1:
        raise ValueError(
            f"ns and accepted_strings must be 1-D of one length, got {counts.shape} and {passed.shape}"
        )
    order = np.argsort(counts, kind="stable")
    best = 0
    for n, ok in zip(counts[order], passed[order], strict=True):
        if not ok:
            break
        best = int(n)
    return best
