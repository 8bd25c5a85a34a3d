"""The implementations timed at a configuration, one builder per library (one module each);
a builder that fails is recorded as an error, not raised."""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable
from typing import Any

from rnnax._bench._impl import Config, Impl
from rnnax._bench._options import (
    FRAMEWORK_CELLS,
    PALLAS_VARIANT_CELLS,
    PALLAS_VARIANTS,
    RESIDENT_VARIANT_MAX_BYTES,
)
from rnnax._bench._variants import rnnax_variants, selected
from rnnax._bench._weights import shared_params
from rnnax._bench.builders.equinox_cell import build_equinox
from rnnax._bench.builders.flax_linen import build_linen
from rnnax._bench.builders.flax_nnx import build_nnx
from rnnax._bench.builders.jax_cudnn import build_cudnn
from rnnax._bench.builders.rnnax_cores import build_pallas_variant, build_rnnax
from rnnax._bench.builders.torch_module import build_torch


def build_all(
    cfg: Config, args: argparse.Namespace, jax: Any, torch_device: str | None
) -> list[Impl]:
    """Every selected implementation at ``cfg``; a failure is recorded, not raised."""
    import jax.numpy as jnp

    dtype = jnp.dtype(cfg.dtype)
    params = shared_params(cfg, jax, jnp)
    xs = jax.random.normal(
        jax.random.key(args.seed), (cfg.batch, cfg.steps, cfg.inputs), jnp.float32
    ).astype(dtype)
    builders: list[tuple[str, str, dict[str, Any], Callable[[], Impl]]] = []
    backend = jax.default_backend()
    for label, kwargs in rnnax_variants(cfg, args.strategies, backend):
        builders.append(
            (
                "rnnax",
                label,
                kwargs,
                functools.partial(build_rnnax, cfg, jax, params, xs, label, kwargs),
            )
        )
    if args.pallas_variants and cfg.in_shape_set and cfg.cell in PALLAS_VARIANT_CELLS:
        gates = 4 if cfg.cell == "lstm" else 3
        weight_bytes = gates * cfg.hidden**2 * jnp.dtype(cfg.dtype).itemsize
        for name, options in PALLAS_VARIANTS.items():
            if options.get("resident") and weight_bytes > RESIDENT_VARIANT_MAX_BYTES:
                continue  # far beyond any register file: a compile that cannot help
            builders.append(
                (
                    "rnnax",
                    f"rnnax[pallas,{name}]",
                    {"pallas": options},
                    functools.partial(build_pallas_variant, cfg, jax, params, xs, name, options),
                )
            )
    if cfg.cell in FRAMEWORK_CELLS:
        builders += framework_builders(cfg, jax, params, xs, torch_device)
    impls = []
    for family, label, options, build in builders:
        if not selected(family, label, args.impls):
            continue
        try:
            impls.append(build())
        except Exception as error:  # record and go on with the others
            impls.append(
                Impl(family, label, dict(options), error=f"{type(error).__name__}: {error}"[:2000])
            )
    return impls


def framework_builders(
    cfg: Config, jax: Any, params: Any, xs: Any, torch_device: str | None
) -> list[tuple[str, str, dict[str, Any], Callable[[], Impl]]]:
    """The other libraries' implementations at ``cfg`` (a cell of ``FRAMEWORK_CELLS``)."""
    builders: list[tuple[str, str, dict[str, Any], Callable[[], Impl]]] = [
        ("flax.linen", "flax.linen", {}, lambda: build_linen(cfg, jax, params, xs)),
        ("flax.nnx", "flax.nnx", {}, lambda: build_nnx(cfg, jax, params, xs)),
        ("equinox", "equinox", {}, lambda: build_equinox(cfg, jax, params, xs)),
    ]
    if torch_device is not None:
        builders.append(
            (
                "torch",
                "torch",
                {"device": torch_device},
                lambda: build_torch(cfg, jax, params, xs, torch_device),
            )
        )
    # jax.experimental.rnn: cuDNN's LSTM, float32 only.
    if cfg.cell == "lstm" and jax.default_backend() == "gpu" and cfg.dtype == "float32":
        builders.append(
            (
                "jax.experimental.rnn",
                "jax.experimental.rnn",
                {},
                lambda: build_cudnn(cfg, jax, params, xs),
            )
        )
    return builders
