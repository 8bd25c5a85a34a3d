"""The measurement hook for each cell's ``"auto"`` choice: the fastest rnnax strategy per
cell and dtype over the run's shapes."""

from __future__ import annotations

from typing import Any

from rnnax._bench._options import AXES
from rnnax._bench._report import (
    mode_value,
    primary_mode,
)
from rnnax._bench._variants import (
    variant_cell,
)


def _strategy_of(entry: dict[str, Any]) -> str | None:
    """The plain strategy an rnnax entry ran (``None`` for "auto", tiling variants, others)."""
    options = entry.get("options") or {}
    if entry.get("impl") != "rnnax" or "pallas" in options:
        return None
    strategy = options.get("strategy")
    return None if strategy in (None, "auto") else strategy


def auto_recommendation(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The measurement hook for each cell's ``"auto"`` choice (``rnnax.Cell.auto``, keyed by
    the registered cell name, so ``"gru"``'s reset-after variants count as
    ``"gru_reset_after"``): the fastest strategy per cell.

    For every (cell, dtype, shape) the rnnax strategy with the smallest median (fwd+bwd
    where it was run, else fwd); per cell and dtype, how many shapes each strategy won
    and the geometric-mean time of each relative to the fastest. ``fastest`` is the strategy
    with the smallest geometric mean over the shapes where every strategy ran.
    """
    import math

    table: dict[tuple[str, str], dict[str, dict[str, float]]] = {}
    for entry in results:
        strategy = _strategy_of(entry)
        if strategy is None or entry.get("error"):
            continue
        form = variant_cell(entry["cell"], entry["options"])
        median = mode_value(entry, primary_mode(entry), "median_s")
        if median is None:
            continue
        shape = "-".join(f"{axis}{entry['shape'][axis]}" for axis in AXES)
        table.setdefault((form, entry["dtype"]), {}).setdefault(shape, {})[strategy] = median
    out: dict[str, Any] = {}
    for (form, dtype), shapes in sorted(table.items()):
        wins: dict[str, int] = {}
        for times in shapes.values():
            best = min(times, key=times.__getitem__)
            wins[best] = wins.get(best, 0) + 1
        common = set.intersection(*(set(times) for times in shapes.values()))
        relative = {}
        for strategy in sorted(common):
            logs = [math.log(times[strategy] / min(times.values())) for times in shapes.values()]
            relative[strategy] = math.exp(sum(logs) / len(logs))
        out.setdefault(form, {})[dtype] = {
            "fastest": min(relative, key=relative.__getitem__) if relative else None,
            "wins": wins,
            "geomean_vs_fastest": relative,
            "shapes": shapes,
        }
    return out
