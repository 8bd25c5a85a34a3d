"""Which rnnax variants are timed: the strategies each cell has, ``auto=NAME`` (auto's batch
split with a chosen inner strategy), both GRU forms, and what a configuration leaves out."""

from __future__ import annotations

import argparse
import contextlib
import inspect
from collections.abc import Callable, Sequence
from typing import Any

from rnnax._bench._impl import Config
from rnnax._bench._options import (
    AUTO_INNER_PREFIX,
    CPU_ONLY_STRATEGIES,
    DEFAULT_CELLS,
    FRAMEWORK_CELLS,
    FRAMEWORKS,
    GPU_ONLY_STRATEGIES,
)


def selected(family: str, label: str, wanted: Sequence[str] | None) -> bool:
    return wanted is None or family in wanted or label in wanted


def requested_strategies(strategies: Sequence[str] | None, backend: str) -> list[str]:
    """``--strategies`` (plain names in ``rnnax.STRATEGIES`` order, then the ``auto=NAME``
    ones) or, by default, all of ``rnnax.STRATEGIES`` except the GPU-only ones off-GPU.

    Raises:
        ValueError: an ``auto=NAME`` whose NAME is not a strategy of rnnax.
    """
    import rnnax

    names = list(getattr(rnnax, "STRATEGIES", ("scan",)))
    if strategies is None:
        skipped = CPU_ONLY_STRATEGIES if backend == "gpu" else GPU_ONLY_STRATEGIES
        return [n for n in names if n not in skipped]
    forced = [name for name in strategies if name.startswith(AUTO_INNER_PREFIX)]
    for name in forced:
        if name.removeprefix(AUTO_INNER_PREFIX) not in names:
            raise ValueError(f"--strategies {name!r}: rnnax has the strategies {names}")
    return [name for name in names if name in strategies] + forced


def cell_strategies(cell: str) -> tuple[str, ...]:
    """The strategies ``cell`` can run (``rnnax.available_strategies``); all of
    ``rnnax.STRATEGIES`` for an rnnax without the cell protocol."""
    import rnnax

    available = getattr(rnnax, "available_strategies", None)
    if available is None:
        return tuple(getattr(rnnax, "STRATEGIES", ("scan",)))
    return tuple(available(rnnax.get_cell(cell)))


def runnable(name: str, cell: str, dtype: str) -> bool:
    """Whether strategy ``name`` (or ``auto=NAME``'s inner one) can run ``cell`` at ``dtype``:
    one the cell has, and never cuDNN beyond float32."""
    inner = name.removeprefix(AUTO_INNER_PREFIX)
    return inner in cell_strategies(cell) and not (inner == "cudnn" and dtype != "float32")


def strategy_names(cfg: Config, strategies: Sequence[str] | None, backend: str) -> list[str]:
    """The rnnax strategies timed at ``cfg``: ``--strategies`` or, by default, all of
    ``rnnax.STRATEGIES`` except the GPU-only ones off-GPU (the CPU-only ones on a GPU); only
    those the cell has (``rnnax.available_strategies``), and never ``"cudnn"`` other than in
    float32."""
    names = requested_strategies(strategies, backend)
    return [name for name in names if runnable(name, cfg.cell, cfg.dtype)]


def config_notes(cfg: Config, args: argparse.Namespace) -> list[str]:
    """What ``cfg`` leaves out of what was asked, for the report: the ``--strategies`` its
    cell does not have or cannot run at its dtype, and the other libraries for a cell they do
    not have."""
    notes = []
    if args.strategies is not None:
        requested = requested_strategies(args.strategies, "gpu")  # backend unused when given
        has = cell_strategies(cfg.cell)
        missing = [name for name in requested if name.removeprefix(AUTO_INNER_PREFIX) not in has]
        if missing:
            notes.append(
                f"{cfg.cell}: {', '.join(missing)} skipped, not strategies of this cell (it has "
                f"{', '.join(has)})"
            )
        narrow = [
            name
            for name in requested
            if name not in missing and not runnable(name, cfg.cell, cfg.dtype)
        ]
        if narrow:
            notes.append(f"{cfg.cell} {cfg.dtype}: {', '.join(narrow)} skipped (float32 only)")
    others = [family for family in FRAMEWORKS if selected(family, family, args.impls)]
    if cfg.cell not in FRAMEWORK_CELLS and others:
        notes.append(
            f"{cfg.cell}: rnnax only; {', '.join(others)} skipped (this benchmark builds them "
            f"for {', '.join(FRAMEWORK_CELLS)})"
        )
    return notes


def _strategy_kwargs(name: str) -> dict[str, Any]:
    if name.startswith(AUTO_INNER_PREFIX):
        return {"strategy": "auto", "auto_inner": name.removeprefix(AUTO_INNER_PREFIX)}
    return {"strategy": name}


def variant_cell(cell: str, options: dict[str, Any]) -> str:
    """The registered cell an rnnax variant runs: the ``--cells`` name, except the reset-after
    form of ``"gru"`` (``reset_after=True``), which is the cell ``"gru_reset_after"``."""
    return "gru_reset_after" if cell == "gru" and options.get("reset_after") else cell


@contextlib.contextmanager
def _auto_resolving_to(jax: Any, cell: str, inner: str | None) -> Any:
    """Makes ``strategy="auto"`` pick ``inner`` for the registered cell ``cell`` while a
    function is traced (rnnax's override table, backend -> cell name -> strategy), and
    leaves the table exactly as it was."""
    if inner is None:
        yield
        return
    from rnnax import _strategies

    backend = jax.default_backend()
    had_backend = backend in _strategies._AUTO
    table = _strategies._AUTO.setdefault(backend, {})
    before = table.get(cell)
    table[cell] = inner
    try:
        yield
    finally:
        if before is None:
            table.pop(cell, None)
        else:
            table[cell] = before
        if not had_backend and not table:
            _strategies._AUTO.pop(backend, None)


def rnnax_variants(
    cfg: Config, strategies: Sequence[str] | None, backend: str = "cpu"
) -> list[tuple[str, dict]]:
    """(label, keyword arguments) for every rnnax variant benchmarked at ``cfg``: one per
    strategy the cell has, and for ``"gru"`` each of them in both GRU forms."""
    import rnnax

    per_strategy: list[tuple[str, dict[str, Any]]]
    if cfg.cell in DEFAULT_CELLS and "strategy" not in inspect.signature(rnnax.lstm).parameters:
        per_strategy = [("", {})]  # an rnnax from before strategies
    else:
        names = strategy_names(cfg, strategies, backend)
        per_strategy = [(f"[{name}", _strategy_kwargs(name)) for name in names]
    variants = []
    for prefix, kwargs in per_strategy:
        if cfg.cell != "gru":
            variants.append((f"rnnax{prefix}{']' if prefix else ''}", kwargs))
        else:
            for reset_after in (False, True):
                suffix = ",reset_after" if reset_after else ""
                inner = f"{prefix}{suffix}" if prefix else (f"[{suffix[1:]}" if suffix else "")
                label = f"rnnax{inner}{']' if inner else ''}"
                variants.append((label, {**kwargs, "reset_after": reset_after}))
    return variants


def rnnax_private(name: str) -> Callable[..., Any] | None:
    """A private rnnax helper, looked up where it has lived; informative use only."""
    import importlib

    for module in ("rnnax._strategies", "rnnax._cores"):
        try:
            function = getattr(importlib.import_module(module), name, None)
        except ImportError:
            continue
        if callable(function):
            return function
    return None


def timed_strategies(args: argparse.Namespace, backend: str) -> list[str]:
    """The plain strategies (``rnnax.STRATEGIES`` order) timed for at least one of the
    ``--cells`` in one of the ``--dtype`` dtypes."""
    return [
        name
        for name in requested_strategies(args.strategies, backend)
        if not name.startswith(AUTO_INNER_PREFIX)
        and any(runnable(name, cell, dtype) for cell in args.cells for dtype in args.dtype)
    ]


def timed_cells(cells: Sequence[str]) -> list[str]:
    """The registered cells a run of ``--cells`` times: each named cell, and for ``"gru"``
    also ``"gru_reset_after"`` (its reset-after variants), once each."""
    expanded = [
        name for cell in cells for name in (cell, variant_cell(cell, {"reset_after": True}))
    ]
    return list(dict.fromkeys(expanded))


def auto_details(batch: int | None = None, cell: str = "lstm") -> dict[str, Any] | None:
    """What ``strategy="auto"`` does here: the strategy it resolves to for the registered cell
    ``cell`` and, for a batch size, over how many devices it splits the batch (rnnax
    internals; ``None`` where unknown)."""
    resolve, devices = rnnax_private("resolve_strategy"), rnnax_private("batch_devices")
    details: dict[str, Any] = {}
    try:
        if resolve is not None:
            details["resolves_to"] = str(resolve("auto", cell))
        if devices is not None and batch is not None:
            split = devices(batch, "auto")
            details["batch_devices"] = 1 if split is None else len(split)
    except Exception:  # informative only
        pass
    return details or None
