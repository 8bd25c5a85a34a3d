"""The optimizers training builds for its users: the default Adam, gradient clipping, and
the cache that gives each a stable identity (so one configuration compiles once)."""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import optax

DEFAULT_LEARNING_RATE = 1e-3

# Compiled epochs are cached on everything they close over (loss function, optimizer, sizes),
# so repeated fits of one configuration (other seeds, a resumed run, more epochs) compile once.
# The default optimizer and the clipping chain are cached too, to give them a stable identity.
CACHE_SIZE = 16


def cached(factory: Any, *arguments: Any) -> Any:
    """``factory(*arguments)`` of an ``lru_cache``-wrapped factory; built afresh, uncached, for
    an unhashable argument (a user's object)."""
    try:
        return factory(*arguments)
    except TypeError:
        return factory.__wrapped__(*arguments)


@functools.lru_cache(maxsize=CACHE_SIZE)
def default_optimizer(learning_rate: float | optax.Schedule) -> optax.GradientTransformation:
    """Adam with ``learning_rate`` (a float or an optax schedule)."""
    return optax.adam(learning_rate)


@functools.lru_cache(maxsize=CACHE_SIZE)
def injected_adam(learning_rate: float) -> optax.GradientTransformation:
    """Adam with its learning rate in the optimizer state, so members can differ in it."""
    return optax.inject_hyperparams(optax.adam)(learning_rate=learning_rate)


@functools.lru_cache(maxsize=CACHE_SIZE)
def clip_by_global_norm_safe(max_norm: float) -> optax.GradientTransformation:
    """``optax.clip_by_global_norm`` that still clips when the sum of squares overflows.

    optax squares the gradients in their own dtype: a finite float32 gradient above about 1e19
    makes the norm Inf and every clipped update 0, so training silently stops moving. Here the
    gradients are first scaled by a power of two (exact) that brings the largest entry near 1.
    """

    def update_fn(
        updates: Any, state: optax.EmptyState, params: Any = None
    ) -> tuple[Any, optax.EmptyState]:
        del params
        leaves = jax.tree.leaves(updates)
        if not leaves:
            return updates, state
        wide = functools.reduce(
            jnp.promote_types, [leaf.dtype for leaf in leaves], jnp.dtype(jnp.float32)
        )
        peak = jnp.max(jnp.stack([jnp.max(jnp.abs(leaf)).astype(wide) for leaf in leaves]))
        exponent = jnp.where(jnp.isfinite(peak) & (peak > 0), jnp.frexp(peak)[1], 0)

        def unit(leaf: jax.Array) -> jax.Array:
            return jnp.ldexp(leaf.astype(wide), -exponent)

        unit_norm = jnp.sqrt(sum(jnp.sum(jnp.square(unit(leaf))) for leaf in leaves))
        clip = unit_norm > jnp.ldexp(jnp.asarray(max_norm, wide), -exponent)
        scale = max_norm / jnp.maximum(unit_norm, jnp.finfo(wide).tiny)
        return jax.tree.map(
            lambda leaf: jnp.where(clip, unit(leaf) * scale, leaf.astype(wide)).astype(leaf.dtype),
            updates,
        ), state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update_fn)


@functools.lru_cache(maxsize=CACHE_SIZE)
def clipped(
    optimizer: optax.GradientTransformation, grad_clip_norm: float
) -> optax.GradientTransformation:
    """``optimizer`` after :func:`clip_by_global_norm_safe` (``fit``, ``fit_ensemble``)."""
    return optax.chain(clip_by_global_norm_safe(grad_clip_norm), optimizer)


@functools.lru_cache(maxsize=CACHE_SIZE)
def optax_clipped(
    optimizer: optax.GradientTransformation, grad_clip_norm: float
) -> optax.GradientTransformation:
    """``optimizer`` after ``optax.clip_by_global_norm`` (``tbptt_fit``)."""
    return optax.chain(optax.clip_by_global_norm(grad_clip_norm), optimizer)
