"""rnnax's own implementations: a core (``rnnax.lstm``, ``rnnax.gru``, ``rnnax.rnn``) under
each strategy, and the Pallas kernels called directly with tiling variants."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from rnnax._bench._impl import Config, Impl, add_jax
from rnnax._bench._variants import (
    _auto_resolving_to,
    auto_details,
    variant_cell,
)


def _rnnax_core(cell: str) -> Callable[..., Any]:
    """``core(params, xs, **options) -> (carry, ys)`` for ``cell``: ``rnnax.lstm`` and
    ``rnnax.gru`` (which takes ``reset_after``) for the two cells every rnnax has,
    ``rnnax.rnn(..., cell=cell)`` for the others."""
    import functools

    import rnnax

    if cell == "lstm":
        return rnnax.lstm
    if cell == "gru":
        return rnnax.gru
    return functools.partial(rnnax.rnn, cell=cell)


def build_rnnax(
    cfg: Config, jax: Any, params: Any, xs: Any, label: str, kwargs: dict[str, Any]
) -> Impl:
    impl = Impl("rnnax", label, dict(kwargs), weights="shared")
    inner = kwargs.get("auto_inner")
    core_kwargs = {key: value for key, value in kwargs.items() if key != "auto_inner"}
    core = _rnnax_core(cfg.cell)
    cell = variant_cell(cfg.cell, kwargs)

    def forward(p: Any, x: Any) -> Any:
        return core(p, x, **core_kwargs)[1]

    with _auto_resolving_to(jax, cell, inner):
        if kwargs.get("strategy") == "auto":
            impl.options["auto"] = auto_details(cfg.batch, cell)
        add_jax(impl, jax, forward, (params, xs), contextlib.nullcontext, cfg.modes)
    return impl


def build_pallas_variant(
    cfg: Config, jax: Any, params: Any, xs: Any, name: str, options: dict[str, Any]
) -> Impl:
    """The Pallas kernels called directly with tiling ``options`` (``PALLAS_VARIANTS``)."""
    import jax.numpy as jnp

    from rnnax import _pallas

    reset_after = cfg.cell != "lstm"  # the cuDNN / torch GRU form, as the other libraries run
    label = f"rnnax[pallas,{name}{',reset_after' if cfg.cell == 'gru' else ''}]"
    impl = Impl(
        "rnnax",
        label,
        {
            "strategy": "pallas",
            "pallas": dict(options),
            **({"reset_after": True} if cfg.cell == "gru" else {}),
        },
        weights="shared",
    )
    zeros = jnp.zeros((cfg.batch, cfg.hidden), jnp.dtype(cfg.dtype))

    def forward(p: Any, x: Any) -> Any:
        x = jnp.swapaxes(x, 0, 1)
        if cfg.cell == "lstm":
            ys = _pallas.lstm_pallas(p, x, zeros, zeros, **options)[2]
        else:
            ys = _pallas.gru_pallas(p, x, zeros, reset_after=reset_after, **options)[1]
        return jnp.swapaxes(ys, 0, 1)

    add_jax(impl, jax, forward, (params, xs), contextlib.nullcontext, cfg.modes)
    return impl
