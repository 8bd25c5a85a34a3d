"""The "fine-grained memory control" claim: the memory and counting tasks weighed together.

Every adding length, the copy task and every counting language is one task. On each, the
per-seed scores of the LSTM and the GRU (same seeds) give a paired difference, oriented so
that positive favours the LSTM, with its 95% t interval; the task goes to the model the whole
interval favours, outside the task's margin (:data:`MARGINS`), and is "similar" inside it and
"inconclusive" otherwise (``rnnax.evaluation.verdict``). :func:`tally` weighs the tasks:

>>> tally({"a": Outcome("lstm", {}, None, []), "b": Outcome("inconclusive", {}, None, [])})
'lstm'
"""

from __future__ import annotations

from typing import Any, NamedTuple

from rnnax._statistics import paired_difference, verdict
from rnnax.compare._format import LANGUAGE_NAMES, memory_summary
from rnnax.compare._results import CompareResult

MARGINS = {"adding": (1.0 / 6.0) / 10.0, "copy": 0.05, "counting": 1.0}
"""Per task kind, the difference too small to matter: a tenth of the memoryless adding MSE
(1/6), 0.05 copy recall accuracy, 1 in the largest accepted n."""

RULE = (
    "supported if the LSTM is better on more tasks than the GRU; not supported if the GRU is "
    "better on more, or on as many with no task inconclusive; inconclusive otherwise. Every "
    "adding length, the copy task and every counting language is one task; a model is better "
    "on a task when the 95% t interval of the paired per-seed difference of scores favours it "
    "as a whole and does not lie wholly inside the task's margin (adding: 1/60 test MSE; "
    "copy: 0.05 recall "
    "accuracy; counting: 1 in the largest accepted n). A task whose loser was still improving "
    "when its budget ran out is marked (*): more steps might change it."
)
"""The rule, as report.md states it."""


class Outcome(NamedTuple):
    """One task, judged.

    Attributes:
        better: ``"lstm"``, ``"gru"``, ``"similar"`` or ``"inconclusive"``.
        values: the per-seed scores of both models, the margin and the metric.
        interval: the paired difference's interval (positive favours the LSTM), ``None`` with
            fewer than two finite seeds each.
        still_improving: the models whose learning curve was still improving at the end.
    """

    better: str
    values: dict[str, Any]
    interval: dict[str, Any] | None
    still_improving: list[str]


def outcomes(result: CompareResult) -> dict[str, Outcome]:
    """Every memory task's and counting language's outcome, by name (``counting_<language>``)."""
    judged = {}
    for name, task in result.memory_tasks.items():
        scores = task.scores
        judged[name] = _judge(
            scores["lstm"].per_seed,
            scores["gru"].per_seed,
            higher_is_better=task.higher_is_better,
            margin=MARGINS[task.kind],
            metric=task.metric,
            improving=[cell for cell in ("lstm", "gru") if scores[cell].still_improving],
        )
    for language, counting in result.counting.items():
        judged[f"counting_{language}"] = _judge(
            counting.scores["lstm"].largest_n,
            counting.scores["gru"].largest_n,
            higher_is_better=True,
            margin=MARGINS["counting"],
            metric="largest accepted n",
            improving=[cell for cell in ("lstm", "gru") if counting.scores[cell].still_improving],
        )
    return judged


def _judge(
    lstm: list[Any],
    gru: list[Any],
    *,
    higher_is_better: bool,
    margin: float,
    metric: str,
    improving: list[str],
) -> Outcome:
    values = {"metric": metric, "lstm": lstm, "gru": gru, "margin": round(margin, 6)}
    if len(lstm) < 2 or any(value is None for value in (*lstm, *gru)):
        return Outcome("inconclusive", values, None, improving)
    sign = 1.0 if higher_is_better else -1.0
    difference = paired_difference(
        [sign * float(value) for value in lstm], [sign * float(value) for value in gru]
    )
    said = verdict(difference, margin=margin)
    better = {"higher": "lstm", "lower": "gru"}.get(said, said)
    interval = {"of": "LSTM - GRU, positive favours the LSTM", **difference.as_dict()}
    return Outcome(better, values, interval, improving)


def tally(judged: dict[str, Outcome]) -> str:
    """``"lstm"`` (supported), ``"gru"`` (not supported) or ``"inconclusive"`` (see
    :data:`RULE`)."""
    lstm = sum(outcome.better == "lstm" for outcome in judged.values())
    gru = sum(outcome.better == "gru" for outcome in judged.values())
    if lstm != gru:
        return "lstm" if lstm > gru else "gru"
    open_tasks = any(outcome.better == "inconclusive" for outcome in judged.values())
    return "inconclusive" if open_tasks else "gru"


def describe(judged: dict[str, Outcome]) -> str:
    """The tasks, grouped by outcome: 'LSTM better on counting_anbn; GRU better on ...'."""
    labels = {
        "lstm": "LSTM better",
        "gru": "GRU better",
        "similar": "similar",
        "inconclusive": "inconclusive",
    }
    parts = []
    for key, text in labels.items():
        names = [
            name + _mark(outcome, key) for name, outcome in judged.items() if outcome.better == key
        ]
        if names:
            parts.append(f"{text} on {', '.join(names)}")
    return "Measured: " + "; ".join(parts) + "."


def _mark(outcome: Outcome, better: str) -> str:
    """``*`` where the model that lost the task was still improving at the end."""
    loser = {"lstm": "gru", "gru": "lstm"}.get(better)
    return "*" if loser is not None and loser in outcome.still_improving else ""


def summary(result: CompareResult, cell: str) -> str:
    """One cell's memory and counting scores in one line."""
    parts = [memory_summary(result.memory_tasks, cell)] if result.memory_tasks else []
    if result.counting:
        parts.append(
            "largest n "
            + ", ".join(
                f"{LANGUAGE_NAMES.get(language, language)} {counting.scores[cell].mean:.1f}"
                for language, counting in result.counting.items()
            )
        )
    return "; ".join(part for part in parts if part) or "not run"
