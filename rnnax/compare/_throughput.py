"""Speed: forward and forward+backward sequences per second, and forward compile time.

Every cell's compiled calls are timed round-robin (so load changes on a shared machine hit
all alike) at each sequence length of the sweep; each value is the median of the rounds, and
the forward+backward speed of every round is kept for the interval of the cells' ratio.
"""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from rnnax import forecasting
from rnnax.compare._results import Throughput

MIN_ROUNDS = 10
"""Timing rounds at least: enough for an interval of the cells' speed ratio."""


def _round_times(
    calls: dict[str, Callable[[], Any]],
    budget_s: float,
    min_reps: int = MIN_ROUNDS,
    max_reps: int = 30,
) -> dict[str, list[float]]:
    """Times every call round-robin (interleaved, so load changes hit all alike): per call,
    its seconds in every round."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    names = list(calls)
    start = time.perf_counter()
    rounds = 0
    while rounds < max_reps and (rounds < min_reps or time.perf_counter() - start < budget_s):
        order = names[rounds % len(names) :] + names[: rounds % len(names)]
        for name in order:
            begin = time.perf_counter()
            jax.block_until_ready(calls[name]())
            samples[name].append(time.perf_counter() - begin)
        rounds += 1
    return samples


def throughput(
    configs: dict[str, forecasting.ForecasterConfig],
    params: dict[str, Any],
    lengths: Sequence[int],
    batch: int,
    bar: Any,
    budget_s: float = 0.6,
) -> dict[str, dict[int, Throughput]]:
    """Forward and forward+backward sequences/s per model and length, and forward compile time.

    Forward is ``forecasting.apply``; forward+backward is the gradient of ``forecasting.loss``
    with respect to the parameters. Both are compiled ahead of time, warmed up once and timed
    to ``block_until_ready``; each value is the median over interleaved rounds (at least
    :data:`MIN_ROUNDS`), and every round's forward+backward speed is kept.
    """
    results: dict[str, dict[int, Throughput]] = {cell: {} for cell in configs}
    rng = np.random.default_rng(0)
    for length in lengths:
        inputs = jnp.asarray(rng.standard_normal((batch, length, 1)), jnp.float32)
        calls: dict[str, Callable[[], Any]] = {}
        compile_s: dict[str, float] = {}
        for cell, config in configs.items():
            targets = jnp.zeros((batch, config.horizon, 1), jnp.float32)
            forward = jax.jit(functools.partial(forecasting.apply, config=config))
            gradient = jax.jit(
                jax.grad(lambda p, x, y, config=config: forecasting.loss(p, (x, y), config=config))
            )
            begin = time.perf_counter()
            forward_compiled = forward.lower(params[cell], inputs).compile()
            compile_s[cell] = time.perf_counter() - begin
            gradient_compiled = gradient.lower(params[cell], inputs, targets).compile()
            jax.block_until_ready(forward_compiled(params[cell], inputs))
            jax.block_until_ready(gradient_compiled(params[cell], inputs, targets))
            calls[f"{cell}/fwd"] = functools.partial(forward_compiled, params[cell], inputs)
            calls[f"{cell}/fwd_bwd"] = functools.partial(
                gradient_compiled, params[cell], inputs, targets
            )
        rounds = _round_times(calls, budget_s)
        for cell in configs:
            results[cell][length] = Throughput(
                fwd_compile_s=compile_s[cell],
                fwd_seq_per_s=batch / statistics.median(rounds[f"{cell}/fwd"]),
                fwd_bwd_seq_per_s=batch / statistics.median(rounds[f"{cell}/fwd_bwd"]),
                fwd_bwd_seq_per_s_rounds=[batch / seconds for seconds in rounds[f"{cell}/fwd_bwd"]],
            )
        bar.update(1)
    return results
