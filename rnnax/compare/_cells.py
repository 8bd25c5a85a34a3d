"""Which cells a comparison runs: the ``--cells`` list, its check, and how cells are named.

Any registered cell (``rnnax.registered_cells()``) can be compared. The explainer's claims are
about two of them, the LSTM and the GRU (``CLAIM_CELLS``); every other cell listed is trained
and measured beside them under the same settings.
"""

from __future__ import annotations

from collections.abc import Iterable

import rnnax
from rnnax.compare._config import DEFAULT_CELLS

__all__ = [
    "CLAIM_CELLS",
    "DEFAULT_CELLS",
    "check_cells",
    "claims_testable",
    "label",
    "reference_cell",
    "unknown_cell_message",
]

CLAIM_CELLS: tuple[str, str] = ("lstm", "gru")
"""The two cells the explainer's table makes claims about, in its column order."""

# How the explainer names its two cells; every other cell goes by its registered name.
_LABELS = {"lstm": "LSTM", "gru": "GRU"}


def label(cell: str) -> str:
    """The name a report shows for ``cell``: ``"LSTM"``, ``"GRU"``, else the registered name.

    Examples:
        >>> label("lstm"), label("gru_reset_after")
        ('LSTM', 'gru_reset_after')
    """
    return _LABELS.get(cell, cell)


def unknown_cell_message(name: str) -> str:
    """The one-line error for a cell name that is not registered."""
    return f"unknown cell {name!r}; registered cells are {', '.join(rnnax.registered_cells())}"


def check_cells(cells: Iterable[str]) -> tuple[str, ...]:
    """Checks a list of cell names to compare; returns it as a tuple.

    Raises:
        ValueError: the list is empty, names a cell twice, or names a cell that is not
            registered (the message lists the registered cells).
    """
    if isinstance(cells, str):
        raise ValueError(f"cells must be a sequence of cell names, got the string {cells!r}")
    checked = tuple(cells)
    if not checked:
        raise ValueError("cells must name at least one cell")
    registered = rnnax.registered_cells()
    for name in checked:
        if not isinstance(name, str) or name not in registered:
            raise ValueError(unknown_cell_message(name))
    repeated = sorted({name for name in checked if checked.count(name) > 1})
    if repeated:
        raise ValueError(f"cells lists {', '.join(map(repr, repeated))} more than once")
    return checked


def reference_cell(cells: tuple[str, ...]) -> str:
    """The cell whose hidden size is ``--hidden`` and whose parameter budget ``--match
    params`` sizes the others to: the LSTM when it is compared, else the first cell."""
    return "lstm" if "lstm" in cells else cells[0]


def claims_testable(cells: Iterable[str]) -> bool:
    """Whether the explainer's LSTM-versus-GRU table can be measured: both cells are compared."""
    return set(CLAIM_CELLS) <= set(cells)
