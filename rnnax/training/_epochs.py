"""Epoch functions: one epoch of training as a pure, jit-compiled function of the state.

An epoch function maps ``(params, opt_state, key, train, val)`` to an :class:`EpochOutput`:
the new parameters and optimizer state, the steps it applied, where a step went non-finite
(the divergence guard) and the epoch's training and validation losses. The engine
(``rnnax.training._engine``) keeps the books around it.

* :func:`minibatch_epoch`: ``fit``'s epoch: shuffle, one optimizer step per minibatch, validate;
  a non-finite step is not applied and ends the epoch's progress.
* :func:`sampled_steps_epoch`: a fixed number of steps, each on a minibatch drawn afresh
  without replacement, then validate (the comparison's seed trainer).
* :func:`compiled_epoch` jits an epoch for one member (data-parallel over a mesh);
  :func:`member_epochs` jits its ``vmap`` over a leading member axis (split over a mesh).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.sharding import Mesh
from jax.typing import ArrayLike

from rnnax import _sharding
from rnnax.training._objective import LossFn
from rnnax.training._optimizers import CACHE_SIZE

Epoch = Callable[..., "EpochOutput"]
"""``epoch(params, opt_state, key, train, val) -> EpochOutput``."""


class EpochOutput(NamedTuple):
    """What one epoch returns (per member, with a leading member axis when vmapped).

    Attributes:
        params: the parameters after the epoch's accepted steps.
        opt_state: the matching optimizer state.
        accepted_steps: ``int32``, the optimizer steps applied.
        diverged: ``bool``, whether a step was rejected as non-finite.
        bad_step: ``int32``, the index in the epoch of the first rejected step (``-1``: none).
        bad_loss: ``float32``, that step's loss (NaN if none).
        train_loss: ``float32``, the mean loss of the accepted steps (NaN if none).
        val_loss: ``float32``, the validation loss after the epoch (NaN without validation).
    """

    params: Any
    opt_state: Any
    accepted_steps: ArrayLike
    diverged: ArrayLike
    bad_step: ArrayLike
    bad_loss: ArrayLike
    train_loss: ArrayLike
    val_loss: ArrayLike


def all_finite(tree: Any) -> jax.Array:
    """Whether every inexact leaf of ``tree`` is finite, as a scalar ``bool`` array."""
    flags = [
        jnp.all(jnp.isfinite(leaf))
        for leaf in jax.tree.leaves(tree)
        if jnp.issubdtype(jnp.asarray(leaf).dtype, jnp.inexact)
    ]
    return jnp.stack(flags).all() if flags else jnp.asarray(True)


def select(condition: jax.Array, new: Any, old: Any) -> Any:
    """``new`` where ``condition`` holds, else ``old``, leaf by leaf (``condition`` broadcasts
    from the leading axis: a scalar, or one flag per member of stacked trees)."""

    def one(a: jax.Array, b: jax.Array) -> jax.Array:
        if condition.ndim == 0:
            return jnp.where(condition, a, b)
        return jnp.where(condition.reshape(condition.shape + (1,) * (a.ndim - 1)), a, b)

    return jax.tree.map(one, new, old)


def evaluate(
    loss_fn: LossFn,
    params: Any,
    data: Any,
    num_examples: int,
    chunk: int | None,
    constrain: _sharding.LeadingAxisConstraint | None = None,
) -> jax.Array:
    """Mean loss over ``data``, in chunks of ``chunk`` examples (weighted by chunk size).

    With ``constrain`` (a mesh's data axis), every chunk is split over the data axis; without
    an explicit ``chunk`` the largest prefix the axis divides is one chunk, and the few
    examples left over (fewer than the axis size) are scored on every device.
    """
    if constrain is not None and (chunk is None or chunk >= num_examples):
        divisible = num_examples - num_examples % constrain.size
        if divisible == num_examples:
            return loss_fn(params, constrain(data), None)
        if divisible == 0:  # fewer examples than devices: score them everywhere
            return loss_fn(params, data, None)
        chunk = divisible
    if chunk is None or chunk >= num_examples:
        return loss_fn(params, data, None)
    num_full = num_examples // chunk
    covered = num_full * chunk
    full = jax.tree.map(lambda leaf: leaf[:covered].reshape(num_full, chunk, *leaf.shape[1:]), data)
    if constrain is None:
        total = jnp.sum(jax.lax.map(lambda batch: loss_fn(params, batch, None), full)) * chunk
    elif num_full == 1:
        total = loss_fn(params, constrain(jax.tree.map(lambda leaf: leaf[0], full)), None) * chunk
    else:
        total = (
            jnp.sum(jax.lax.map(lambda batch: loss_fn(params, constrain(batch), None), full))
            * chunk
        )
    if covered < num_examples:
        rest = jax.tree.map(lambda leaf: leaf[covered:], data)
        total = total + loss_fn(params, rest, None) * (num_examples - covered)
    return total / num_examples


def _guarded_step(
    loss_fn: LossFn, optimizer: optax.GradientTransformation, train: Any, constrain: Any
) -> Callable[..., tuple[tuple[Any, ...], Any]]:
    """One optimizer step on a minibatch, applied only if it and everything before were finite."""
    value_and_grad = jax.value_and_grad(loss_fn)

    def train_step(
        carry: tuple[Any, ...], per_step: tuple[jax.Array, ...]
    ) -> tuple[tuple[Any, ...], Any]:
        params, opt_state, diverged, bad_step, bad_loss = carry
        index, indices, step_key = per_step
        batch = jax.tree.map(lambda leaf: jnp.take(leaf, indices, axis=0), train)
        if constrain is not None:
            # The one line of data parallelism: each device computes the loss of its slice
            # of the minibatch; XLA all-reduces the gradients of the replicated parameters.
            batch = constrain(batch)
        loss, grads = value_and_grad(params, batch, step_key)
        loss = loss.astype(jnp.float32)
        # optax (Adam's bias correction) mixes Python floats with int32 counts, which strict
        # dtype promotion rejects; allow standard promotion inside the optimizer only.
        with jax.numpy_dtype_promotion("standard"):
            updates, new_opt_state = optimizer.update(grads, opt_state, params)
            new_params = optax.apply_updates(params, updates)
        healthy = jnp.isfinite(loss) & all_finite(grads) & all_finite(new_params)
        # After the first bad step every later step of the epoch is a no-op, so the state
        # stays exactly the last good one.
        accept = healthy & ~diverged
        first_bad = ~healthy & ~diverged
        carry = (
            select(accept, new_params, params),
            select(accept, new_opt_state, opt_state),
            diverged | ~healthy,
            jnp.where(first_bad, index, bad_step),
            jnp.where(first_bad, loss, bad_loss),
        )
        return carry, (jnp.where(accept, loss, jnp.zeros_like(loss)), accept)

    return train_step


def minibatch_epoch(
    loss_fn: LossFn,
    optimizer: optax.GradientTransformation,
    num_examples: int,
    batch_size: int,
    num_val: int,
    eval_batch_size: int | None,
    constrain: _sharding.LeadingAxisConstraint | None = None,
) -> Epoch:
    """``fit``'s epoch as a pure function: shuffle, ``lax.scan`` over minibatches, validate.

    The last partial minibatch is dropped (a different one each epoch). ``constrain`` splits
    every minibatch (and validation chunk) over a mesh's data axis.
    """
    num_batches = num_examples // batch_size

    def run_epoch(params: Any, opt_state: Any, key: jax.Array, train: Any, val: Any) -> EpochOutput:
        shuffle_key, dropout_key = jax.random.split(key)
        order = jax.random.permutation(shuffle_key, num_examples)[: num_batches * batch_size]
        per_step = (
            jnp.arange(num_batches, dtype=jnp.int32),
            order.reshape(num_batches, batch_size),
            jax.random.split(dropout_key, num_batches),
        )
        init = (
            params,
            opt_state,
            jnp.asarray(False),
            jnp.asarray(-1, jnp.int32),
            jnp.asarray(jnp.nan, jnp.float32),
        )
        step = _guarded_step(loss_fn, optimizer, train, constrain)
        (params, opt_state, diverged, bad_step, bad_loss), (losses, accepted) = jax.lax.scan(
            step, init, per_step
        )
        count = jnp.sum(accepted.astype(jnp.int32))
        train_loss = jnp.where(
            count > 0, jnp.sum(losses) / jnp.maximum(count, 1).astype(jnp.float32), jnp.nan
        )
        if val is None:
            val_loss = jnp.asarray(jnp.nan, jnp.float32)
        else:
            val_loss = jnp.asarray(
                evaluate(loss_fn, params, val, num_val, eval_batch_size, constrain), jnp.float32
            )
        return EpochOutput(
            params, opt_state, count, diverged, bad_step, bad_loss, train_loss, val_loss
        )

    return run_epoch


def sampled_steps_epoch(
    loss_fn: Callable[[Any, Any], jax.Array],
    optimizer: optax.GradientTransformation,
    num_examples: int,
    batch_size: int,
    num_steps: int,
) -> Epoch:
    """``num_steps`` optimizer steps, each on ``batch_size`` examples drawn without replacement,
    then the validation loss; ``loss_fn(params, batch)`` takes no key. No divergence guard."""
    value_and_grad = jax.value_and_grad(loss_fn)

    def run_epoch(params: Any, opt_state: Any, key: jax.Array, train: Any, val: Any) -> EpochOutput:
        def step(carry: tuple[Any, Any], key: jax.Array) -> tuple[tuple[Any, Any], jax.Array]:
            params, opt_state = carry
            indices = jax.random.choice(key, num_examples, (batch_size,), replace=False)
            batch = jax.tree.map(lambda leaf: jnp.take(leaf, indices, axis=0), train)
            loss, grads = value_and_grad(params, batch)
            with jax.numpy_dtype_promotion("standard"):
                updates, opt_state = optimizer.update(grads, opt_state, params)
                params = optax.apply_updates(params, updates)
            return (params, opt_state), loss.astype(jnp.float32)

        (params, opt_state), losses = jax.lax.scan(
            step, (params, opt_state), jax.random.split(key, num_steps)
        )
        return EpochOutput(
            params,
            opt_state,
            jnp.asarray(num_steps, jnp.int32),
            jnp.asarray(False),
            jnp.asarray(-1, jnp.int32),
            jnp.asarray(jnp.nan, jnp.float32),
            jnp.mean(losses),
            jnp.asarray(loss_fn(params, val), jnp.float32),
        )

    return run_epoch


@dataclasses.dataclass(frozen=True)
class Placement:
    """Where a data-parallel run's arrays live: the batch constraint of the mesh's data axis and
    the (flattened, so hashable) shardings of the parameters and the optimizer state."""

    constrain: _sharding.LeadingAxisConstraint
    params: tuple[tuple[Any, ...], Any]
    opt_state: tuple[tuple[Any, ...], Any]

    @property
    def mesh(self) -> Mesh:
        return self.constrain.mesh


@functools.lru_cache(maxsize=CACHE_SIZE)
def compiled_epoch(
    loss_fn: LossFn,
    optimizer: optax.GradientTransformation,
    num_examples: int,
    batch_size: int,
    num_val: int,
    eval_batch_size: int | None,
    placement: Placement | None = None,
) -> Epoch:
    """One jit-compiled :func:`minibatch_epoch`, data-parallel over ``placement``'s mesh.

    Cached on everything it closes over, so repeated fits of one configuration (other seeds,
    a resumed run, more epochs) compile once.
    """
    if placement is None:
        return jax.jit(
            minibatch_epoch(loss_fn, optimizer, num_examples, batch_size, num_val, eval_batch_size)
        )
    mesh = placement.mesh
    everywhere = _sharding.replicated(mesh)
    # The state leaves each epoch where it came in, so epochs chain without any transfer.
    out_shardings = EpochOutput._make(
        [
            _sharding.unflat(placement.params),
            _sharding.unflat(placement.opt_state),
            *([everywhere] * 6),
        ]
    )
    body = minibatch_epoch(
        loss_fn, optimizer, num_examples, batch_size, num_val, eval_batch_size, placement.constrain
    )
    jitted = jax.jit(body, out_shardings=out_shardings)

    def run_epoch(*arguments: Any) -> EpochOutput:
        # Traced under the mesh, so rnnax's cores leave the batch split to it.
        with _sharding.mesh_context(mesh):
            return jitted(*arguments)

    run_epoch.jitted = jitted  # type: ignore[attr-defined]  # to lower it and read the HLO
    return run_epoch


@dataclasses.dataclass(frozen=True)
class MemberPlacement:
    """The mesh, the member axis and the (optional) per-member batch constraint."""

    mesh: Mesh
    ensemble_axis: str
    constrain: _sharding.LeadingAxisConstraint | None


def member_epochs(
    body: Epoch, placement: MemberPlacement | None
) -> tuple[Callable[..., tuple[EpochOutput, jax.Array]], Callable[..., Any]]:
    """The jit-compiled epoch of stacked members, and the matching jitted :func:`select`.

    ``epoch(params, opt_state, rngs, active, train, val) -> (output, next rngs)``: each member
    splits its key as ``fit`` does at the start of an epoch and runs ``body`` on the shared
    data; a member whose ``active`` flag is off keeps its state.
    """
    # spmd_axis_name makes sharding constraints inside the body keep the member axis split.
    vmapped = jax.vmap(
        body,
        in_axes=(0, 0, 0, None, None),
        spmd_axis_name=None if placement is None else placement.ensemble_axis,
    )

    def epoch(
        params: Any, opt_state: Any, rngs: jax.Array, active: jax.Array, train: Any, val: Any
    ) -> tuple[EpochOutput, jax.Array]:
        keys = jax.vmap(jax.random.split)(rngs)
        output = vmapped(params, opt_state, keys[:, 1], train, val)
        output = output._replace(
            params=select(active, output.params, params),
            opt_state=select(active, output.opt_state, opt_state),
        )
        return output, keys[:, 0]

    if placement is None:
        return jax.jit(epoch), jax.jit(select)
    members = _sharding.split_leading(placement.mesh, placement.ensemble_axis)
    epoch_jit = jax.jit(epoch, out_shardings=members)
    select_jit = jax.jit(select, out_shardings=members)

    def on_mesh(function: Callable[..., Any]) -> Callable[..., Any]:
        def call(*arguments: Any) -> Any:
            with _sharding.mesh_context(placement.mesh):
                return function(*arguments)

        call.jitted = function  # type: ignore[attr-defined]  # to lower it ahead of time
        return call

    return on_mesh(epoch_jit), on_mesh(select_jit)


@functools.lru_cache(maxsize=CACHE_SIZE)
def ensemble_epochs(
    loss_fn: LossFn,
    optimizer: optax.GradientTransformation,
    num_examples: int,
    batch_size: int,
    num_val: int,
    eval_batch_size: int | None,
    placement: MemberPlacement | None,
) -> tuple[Callable[..., tuple[EpochOutput, jax.Array]], Callable[..., Any]]:
    """``fit_ensemble``'s :func:`member_epochs` of :func:`minibatch_epoch`, cached."""
    body = minibatch_epoch(
        loss_fn,
        optimizer,
        num_examples,
        batch_size,
        num_val,
        eval_batch_size,
        None if placement is None else placement.constrain,
    )
    return member_epochs(body, placement)
