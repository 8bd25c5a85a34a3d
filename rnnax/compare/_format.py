"""How a report writes numbers: thousands, mean ± half-width, the memory tasks in one line.

Shared by the claims (``rnnax.compare._claims``), the terminal tables and ``report.md``, so a
value reads the same everywhere.

Examples:
    >>> kilo(12345), plus_minus((0.5, 0.25)), plus_minus((None, None))
    ('12.3k', '0.500 ± 0.250', 'n/a')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rnnax.compare._results import MemoryTaskResult


def kilo(value: float) -> str:
    """Thousands, compactly: 12345 -> '12.3k'."""
    return f"{value / 1000:.1f}k" if abs(value) >= 1000 else f"{value:.0f}"


def plus_minus(pair: Sequence[float | None], digits: int = 3) -> str:
    """``[mean, half-width]`` as ``'mean ± half'`` (``'n/a'`` without a mean)."""
    mean, half = pair
    if mean is None:
        return "n/a"
    return f"{mean:.{digits}f}" if half is None else f"{mean:.{digits}f} ± {half:.{digits}f}"


LANGUAGE_NAMES = {"anbn": "a^n b^n", "anbncn": "a^n b^n c^n", "dyck1": "Dyck-1"}
"""How the reports write the counting languages (``rnnax.data.LANGUAGES``)."""


def memory_summary(tasks: Mapping[str, MemoryTaskResult], cell: str) -> str:
    """One cell's memory-task scores in one line: 'adding MSE T50/100: 0.1/0.2; copy acc 0.33'."""
    adding = [
        (task.sequence_length, task.scores[cell].score.mean)
        for task in tasks.values()
        if task.kind == "adding"
    ]
    parts = []
    if adding:
        parts.append(
            "adding MSE T"
            + "/".join(str(length) for length, _ in adding)
            + ": "
            + "/".join(f"{score:.2g}" for _, score in adding)
        )
    for task in tasks.values():
        if task.kind == "copy":
            parts.append(f"copy acc {task.scores[cell].score.mean:.2f}")
    return "; ".join(parts)
