"""Truncated backpropagation through time (TBPTT) over one long sequence.

The sequence is cut into chunks of ``chunk_length`` steps. The recurrent state runs through
all of them in order, but gradients stop at each chunk boundary
(``jax.lax.stop_gradient`` on the carry handed to the next chunk): each chunk's gradient is that
of its own loss with its initial carry held fixed. Memory is that of one chunk's backward pass,
whatever the sequence length, and with ``chunk_length >= T`` it is full backpropagation
through time.

Three levels, all pure and jit-compiled (``loss_fn`` and ``optimizer`` are static arguments:
pass the same objects to reuse a compile):

* ``tbptt_grad``: the truncated gradient of the whole sequence, accumulated over chunks (one
  optimizer step per sequence, if you like);
* ``tbptt_update``: one optax update per chunk, the classic TBPTT of Williams & Peng (1990);
* ``tbptt_fit``: ``tbptt_update`` for several epochs over the sequence, with a divergence stop.

``loss_fn(params, carry, chunk) -> (loss, carry)`` is the model on one chunk: it starts from
``carry``, returns the chunk's mean loss and the carry after the chunk (``jax.value_and_grad(
..., has_aux=True)``'s convention). ``chunk`` is ``data`` with every leaf sliced to the chunk's
steps along the time axis (``-2``: leaves are ``[..., T, F]``; ``0`` with ``time_major=True``).
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, Float

from rnnax._checks import check_positive_int, check_positive_real
from rnnax.training import _engine
from rnnax.training._engine import DivergenceWarning
from rnnax.training._epochs import EpochOutput
from rnnax.training._optimizers import DEFAULT_LEARNING_RATE, default_optimizer, optax_clipped

ChunkLossFn = Callable[[Any, Any, Any], tuple[jax.Array, Any]]
"""``loss_fn(params, carry, chunk) -> (mean loss of the chunk, carry after the chunk)``."""


class TBPTTGrad(NamedTuple):
    """What ``tbptt_grad`` returns.

    Attributes:
        loss: the chunk losses averaged with weights ``chunk steps / T`` (for a loss that is a
            mean over steps, the mean over the whole sequence).
        grads: the truncated gradient: the same weighted sum of the chunks' gradients, each
            with its initial carry held fixed. Equals ``jax.grad`` of the one-pass loss when
            ``chunk_length >= T``.
        carry: the carry after the last chunk (exactly the one-pass carry).
    """

    loss: Float[Array, ""]
    grads: Any
    carry: Any


class TBPTTUpdate(NamedTuple):
    """What ``tbptt_update`` returns.

    Attributes:
        params: the parameters after one optimizer step per chunk.
        opt_state: the matching optimizer state.
        carry: the carry after the last chunk.
        losses: ``[num_chunks]``, each chunk's loss before its update (at least float32).
    """

    params: Any
    opt_state: Any
    carry: Any
    losses: Float[Array, " chunks"]


class TBPTTResult(NamedTuple):
    """What ``tbptt_fit`` returns.

    Attributes:
        params: the parameters after the last applied epoch.
        opt_state: the matching optimizer state.
        carry: the carry at the end of the last applied epoch.
        losses: ``[epochs_run, num_chunks]`` NumPy array of per-chunk losses.
        diverged: whether training stopped on a NaN or Inf loss (that epoch is not applied).
    """

    params: Any
    opt_state: Any
    carry: Any
    losses: np.ndarray
    diverged: bool


def _time_axis(leaf: Any, time_major: bool) -> int:
    return 0 if time_major else np.ndim(leaf) - 2


def _check_data(data: Any, time_major: bool) -> int:
    """Checks every leaf has the same number of steps on the time axis; returns it."""
    leaves = jax.tree_util.tree_flatten_with_path(data)[0]
    if not leaves:
        raise ValueError("data holds no arrays")
    layout = "[T, ...]" if time_major else "[..., T, F]"
    num_steps = None
    for path, leaf in leaves:
        name = f"data{jax.tree_util.keystr(path)}"
        if not hasattr(leaf, "shape") or not hasattr(leaf, "dtype"):
            raise TypeError(f"{name} must be an array, got {type(leaf).__name__}")
        if np.ndim(leaf) < (1 if time_major else 2):
            raise ValueError(
                f"{name} must have a time axis ({layout}), got shape {tuple(np.shape(leaf))}"
            )
        steps = np.shape(leaf)[_time_axis(leaf, time_major)]
        if num_steps is None:
            num_steps, first = steps, name
        elif steps != num_steps:
            raise ValueError(
                f"{name} has {steps} steps on its time axis ({layout}) but {first} has "
                f"{num_steps}; every leaf of data must cover the same steps"
            )
    assert num_steps is not None
    if num_steps == 0:
        raise ValueError("data has no time steps")
    return int(num_steps)


def _slice(data: Any, start: int | jax.Array, length: int, time_major: bool) -> Any:
    # Sliced in place inside the loop: a reshape into [chunks, length, ...] would copy the
    # (possibly transposed) whole sequence.
    return jax.tree.map(
        lambda leaf: jax.lax.dynamic_slice_in_dim(
            leaf, start, length, axis=_time_axis(leaf, time_major)
        ),
        data,
    )


def _over_chunks(
    step: Callable[[Any, Any, int], tuple[Any, Any]],
    state: Any,
    data: Any,
    num_steps: int,
    chunk_length: int,
    time_major: bool,
) -> tuple[Any, Any]:
    """Runs ``step(state, chunk, length) -> (state, out)`` over the chunks in order.

    A ``lax.scan`` over the full chunks, then the shorter last chunk if any; returns the state
    and the outputs stacked ``[num_chunks, ...]``.
    """
    num_full, tail = divmod(num_steps, chunk_length)
    outputs = []
    if num_full:

        def body(carry: tuple[Any, jax.Array], _: None) -> tuple[Any, Any]:
            state, start = carry
            state, out = step(state, _slice(data, start, chunk_length, time_major), chunk_length)
            return (state, start + jnp.asarray(chunk_length, jnp.int32)), out

        (state, _), out = jax.lax.scan(
            body, (state, jnp.zeros((), jnp.int32)), None, length=num_full
        )
        outputs.append(out)
    if tail:
        state, out = step(state, _slice(data, num_full * chunk_length, tail, time_major), tail)
        outputs.append(jax.tree.map(lambda leaf: leaf[None], out))
    stacked = (
        outputs[0]
        if len(outputs) == 1
        else jax.tree.map(lambda *parts: jnp.concatenate(parts), *outputs)
    )
    return state, stacked


def _check_loss_fn(
    loss_fn: ChunkLossFn, params: Any, carry: Any, data: Any, length: int, time_major: bool
) -> Any:
    """Traces ``loss_fn`` on the first chunk, abstractly, to check what it returns.

    Returns:
        The dtype to accumulate losses in: the loss's, at least float32.
    """
    out = jax.eval_shape(
        lambda p, c, d: loss_fn(p, c, _slice(d, 0, length, time_major)), params, carry, data
    )
    if not isinstance(out, tuple) or len(out) != 2:
        raise TypeError(f"loss_fn must return (loss, carry), got {type(out).__name__}")
    loss, new_carry = out
    if not hasattr(loss, "shape") or loss.shape != ():
        raise ValueError(
            f"loss_fn must return (scalar loss, carry), got a loss of shape {tuple(np.shape(loss))}"
        )
    if not jnp.issubdtype(loss.dtype, jnp.floating):
        raise TypeError(f"loss_fn must return a floating loss, got {jnp.dtype(loss.dtype).name}")
    # The carry goes round a lax.scan: what comes out must look exactly like what went in.
    # The ignore: jax's PyTreeDef is an alias mypy cannot resolve (jaxlib ships no stub).
    if jax.tree.structure(new_carry) != jax.tree.structure(carry):  # type: ignore[operator]
        raise ValueError(
            f"loss_fn must return a carry of the structure of the carry it gets, "
            f"{jax.tree.structure(carry)}, got {jax.tree.structure(new_carry)}"
        )
    for (path, old), new in zip(
        jax.tree_util.tree_flatten_with_path(carry)[0], jax.tree.leaves(new_carry), strict=True
    ):
        before = (tuple(np.shape(old)), jnp.dtype(jnp.result_type(old)).name)
        after = (tuple(new.shape), jnp.dtype(new.dtype).name)
        if before != after:
            raise ValueError(
                f"loss_fn must return carry{jax.tree_util.keystr(path)} with the shape and dtype "
                f"it got, {before}, got {after}"
            )
    return jnp.dtype(loss.dtype) if jnp.finfo(loss.dtype).bits >= 32 else jnp.dtype(jnp.float32)


@functools.partial(jax.jit, static_argnames=("loss_fn", "chunk_length", "time_major"))
def tbptt_grad(
    loss_fn: ChunkLossFn,
    params: Any,
    carry: Any,
    data: Any,
    *,
    chunk_length: int,
    time_major: bool = False,
) -> TBPTTGrad:
    """The truncated-BPTT loss and gradient of one sequence, accumulated over its chunks.

    Each chunk's loss is differentiated with the carry entering it held fixed (the carry is
    passed on through ``jax.lax.stop_gradient``), so no gradient crosses a chunk boundary, and
    the backward pass keeps one chunk's intermediates at a time. Chunk ``k`` of ``L_k`` steps
    is weighted by ``L_k / T``, so with ``chunk_length >= T`` this is exactly ``jax.grad`` of
    the one-pass loss.

    Args:
        loss_fn: ``loss_fn(params, carry, chunk) -> (loss, carry)`` (module docstring);
            static, so pass the same function object to reuse the compile.
        params: the parameters (any pytree).
        carry: the carry entering the first chunk.
        data: a pytree of arrays ``[..., T, F]`` (``[T, ...]`` with ``time_major=True``).
        chunk_length: steps per chunk (the truncation length); the last chunk may be shorter.
        time_major: whether time is the first axis of every leaf of ``data``.

    Returns:
        ``TBPTTGrad(loss, grads, carry)``.

    Raises:
        ValueError: leaves of ``data`` with different numbers of steps, no steps, a bad
            ``chunk_length``, a non-scalar loss, or a returned carry unlike the one given.
        TypeError: ``loss_fn`` returns something other than ``(floating loss, carry)``.

    Examples:
        >>> import jax, jax.numpy as jnp, rnnax
        >>> from rnnax.training import tbptt_grad
        >>> def loss_fn(params, h, chunk):  # predict the next value from h's first unit
        ...     xs, targets = chunk
        ...     h, ys = rnnax.gru(params, xs, h)
        ...     return jnp.mean((ys[..., :1] - targets) ** 2), h
        >>> series = jnp.sin(jnp.arange(1001.0) / 10)[:, None]  # [T + 1, 1]
        >>> params = rnnax.gru_init(jax.random.key(0), 1, 8)
        >>> result = tbptt_grad(loss_fn, params, jnp.zeros(8), (series[:-1], series[1:]),
        ...                     chunk_length=100)
        >>> result.grads.w_h.shape, result.carry.shape
        ((8, 24), (8,))
    """
    num_steps = _check_data(data, time_major)
    chunk_length = check_positive_int("chunk_length", chunk_length)
    loss_dtype = _check_loss_fn(
        loss_fn, params, carry, data, min(chunk_length, num_steps), time_major
    )
    value_and_grad = jax.value_and_grad(loss_fn, has_aux=True)

    def step(
        state: tuple[Any, Any, jax.Array], chunk: Any, length: int
    ) -> tuple[tuple[Any, Any, jax.Array], None]:
        carry, grads, total = state
        (loss, new_carry), chunk_grads = value_and_grad(params, carry, chunk)
        weight = length / num_steps
        grads = jax.tree.map(
            lambda acc, g: acc + jnp.asarray(weight, g.dtype) * g, grads, chunk_grads
        )
        total = total + jnp.asarray(weight, loss_dtype) * loss.astype(loss_dtype)
        return (jax.lax.stop_gradient(new_carry), grads, total), None

    zeros = jax.tree.map(jnp.zeros_like, params)
    (carry, grads, total), _ = _over_chunks(
        step, (carry, zeros, jnp.zeros((), loss_dtype)), data, num_steps, chunk_length, time_major
    )
    return TBPTTGrad(loss=total, grads=grads, carry=carry)


@functools.partial(jax.jit, static_argnames=("loss_fn", "optimizer", "chunk_length", "time_major"))
def tbptt_update(
    loss_fn: ChunkLossFn,
    optimizer: optax.GradientTransformation,
    params: Any,
    opt_state: Any,
    carry: Any,
    data: Any,
    *,
    chunk_length: int,
    time_major: bool = False,
) -> TBPTTUpdate:
    """One pass of TBPTT over a sequence: an optax update after every chunk.

    Chunk by chunk: the loss and gradient of the chunk from the carry entering it (held fixed),
    one ``optimizer`` step, and the chunk's final carry (computed with the parameters before
    the step, through ``jax.lax.stop_gradient``) enters the next chunk. One compiled
    ``lax.scan`` over the chunks.

    Args:
        loss_fn: ``loss_fn(params, carry, chunk) -> (loss, carry)``; static.
        optimizer: an ``optax.GradientTransformation``; static.
        params: the parameters.
        opt_state: ``optimizer.init(params)`` or a later state.
        carry: the carry entering the first chunk.
        data: a pytree of arrays ``[..., T, F]`` (``[T, ...]`` with ``time_major=True``).
        chunk_length: steps per chunk (and per update); the last chunk may be shorter.
        time_major: whether time is the first axis of every leaf of ``data``.

    Returns:
        ``TBPTTUpdate(params, opt_state, carry, losses)``.

    Raises:
        ValueError, TypeError: as ``tbptt_grad``.

    Examples:
        >>> import jax, jax.numpy as jnp, optax, rnnax
        >>> from rnnax.training import tbptt_update
        >>> def loss_fn(params, h, chunk):
        ...     xs, targets = chunk
        ...     h, ys = rnnax.gru(params, xs, h)
        ...     return jnp.mean((ys[..., :1] - targets) ** 2), h
        >>> series = jnp.sin(jnp.arange(1001.0) / 10)[:, None]
        >>> params = rnnax.gru_init(jax.random.key(0), 1, 8)
        >>> optimizer = optax.sgd(0.1)
        >>> result = tbptt_update(loss_fn, optimizer, params, optimizer.init(params),
        ...                       jnp.zeros(8), (series[:-1], series[1:]), chunk_length=100)
        >>> result.losses.shape
        (10,)
    """
    num_steps = _check_data(data, time_major)
    chunk_length = check_positive_int("chunk_length", chunk_length)
    loss_dtype = _check_loss_fn(
        loss_fn, params, carry, data, min(chunk_length, num_steps), time_major
    )
    value_and_grad = jax.value_and_grad(loss_fn, has_aux=True)

    def step(
        state: tuple[Any, Any, Any], chunk: Any, length: int
    ) -> tuple[tuple[Any, Any, Any], jax.Array]:
        del length
        params, opt_state, carry = state
        (loss, new_carry), grads = value_and_grad(params, carry, chunk)
        # optax mixes Python floats with int32 step counts, which strict promotion rejects.
        with jax.numpy_dtype_promotion("standard"):
            updates, opt_state = optimizer.update(grads, opt_state, params)
            params = optax.apply_updates(params, updates)
        return (params, opt_state, jax.lax.stop_gradient(new_carry)), loss.astype(loss_dtype)

    (params, opt_state, carry), losses = _over_chunks(
        step, (params, opt_state, carry), data, num_steps, chunk_length, time_major
    )
    return TBPTTUpdate(params=params, opt_state=opt_state, carry=carry, losses=losses)


def tbptt_fit(
    loss_fn: ChunkLossFn,
    params: Any,
    carry: Any,
    data: Any,
    *,
    chunk_length: int,
    epochs: int = 1,
    optimizer: optax.GradientTransformation | None = None,
    learning_rate: float | optax.Schedule | None = None,
    grad_clip_norm: float | None = None,
    time_major: bool = False,
) -> TBPTTResult:
    """Trains on one long sequence with TBPTT: ``epochs`` passes of ``tbptt_update``.

    Every epoch starts again from ``carry`` at the sequence's first step and applies one
    optimizer step per chunk, in order; the optimizer state runs on across epochs. An epoch
    with a NaN or Inf loss is not applied: training stops there with a
    ``rnnax.training.DivergenceWarning`` and returns the state before it. Deterministic: no
    randomness is involved.

    Args:
        loss_fn: ``loss_fn(params, carry, chunk) -> (loss, carry)`` (module docstring).
        params: the initial parameters.
        carry: the carry entering the sequence's first step, every epoch.
        data: a pytree of arrays ``[..., T, F]`` (``[T, ...]`` with ``time_major=True``).
        chunk_length: steps per chunk and per update (the truncation length).
        epochs: passes over the sequence.
        optimizer: an ``optax.GradientTransformation``; default Adam.
        learning_rate: a float or schedule for the default Adam (default 1e-3).
        grad_clip_norm: clip each chunk's gradient to this global norm, or ``None``.
        time_major: whether time is the first axis of every leaf of ``data``.

    Returns:
        A ``TBPTTResult``.

    Raises:
        ValueError: bad arguments, or as ``tbptt_grad`` (also ``TypeError``).

    Examples:
        >>> import jax, jax.numpy as jnp, rnnax
        >>> from rnnax.training import tbptt_fit
        >>> def loss_fn(params, h, chunk):
        ...     xs, targets = chunk
        ...     h, ys = rnnax.gru(params, xs, h)
        ...     return jnp.mean((ys[..., :1] - targets) ** 2), h
        >>> series = 0.5 * jnp.sin(jnp.arange(2001.0) / 10)[:, None]
        >>> result = tbptt_fit(loss_fn, rnnax.gru_init(jax.random.key(0), 1, 8), jnp.zeros(8),
        ...                    (series[:-1], series[1:]), chunk_length=50, epochs=5,
        ...                    learning_rate=1e-2)
        >>> result.losses.shape, bool(result.losses[-1].mean() < result.losses[0].mean())
        ((5, 40), True)
    """
    epochs = check_positive_int("epochs", epochs)
    if optimizer is not None and learning_rate is not None:
        raise ValueError(
            "pass learning_rate only with the default optimizer; put it inside "
            "your optimizer instead"
        )
    if grad_clip_norm is not None:
        check_positive_real("grad_clip_norm", grad_clip_norm)
    if optimizer is None:
        optimizer = default_optimizer(
            DEFAULT_LEARNING_RATE if learning_rate is None else learning_rate
        )
    if grad_clip_norm is not None:
        optimizer = optax_clipped(optimizer, float(grad_clip_norm))
    params = jax.tree.map(jnp.asarray, params)
    with jax.numpy_dtype_promotion("standard"):
        opt_state = optimizer.init(params)
    # What each applied epoch leaves besides its state: its chunk losses and its final carry.
    chunk_losses: list[np.ndarray] = []
    end_carries = [carry]

    def advance(params: Any, opt_state: Any, rng: None, active: np.ndarray) -> Any:
        del active  # one member, active while it trains
        update = tbptt_update(
            loss_fn,
            optimizer,
            params,
            opt_state,
            carry,
            data,
            chunk_length=chunk_length,
            time_major=time_major,
        )
        losses = np.asarray(update.losses)
        finite = np.isfinite(losses)
        if not finite.all():  # the epoch is not applied
            bad = int(np.argmin(finite))
            return _epoch_output(params, opt_state, 0, losses[bad], bad, np.nan), rng
        chunk_losses.append(losses)
        end_carries.append(update.carry)
        return _epoch_output(
            update.params, update.opt_state, losses.size, np.nan, -1, losses.mean()
        ), rng

    rules = _engine.Rules(None, 0.0, False, None, ("",), _divergence_message)
    state = _engine.train(_engine.start(params, opt_state, None, 1), advance, rules, epochs=epochs)
    diverged = state.diverged[0]
    if diverged is not None:
        warnings.warn(diverged.message, DivergenceWarning, stacklevel=2)
    num_chunks = math.ceil(_check_data(data, time_major) / chunk_length)
    table = np.stack(chunk_losses) if chunk_losses else np.zeros((0, num_chunks), np.float32)
    return TBPTTResult(
        params=state.params,
        opt_state=state.opt_state,
        carry=end_carries[-1],
        losses=table,
        diverged=diverged is not None,
    )


def _epoch_output(
    params: Any, opt_state: Any, accepted: int, bad_loss: Any, bad_chunk: int, train_loss: Any
) -> EpochOutput:
    """A TBPTT epoch as the engine reads it: diverged when a chunk's loss was not finite."""
    return EpochOutput(
        params=params,
        opt_state=opt_state,
        accepted_steps=np.int32(accepted),
        diverged=np.bool_(bad_chunk >= 0),
        bad_step=np.int32(bad_chunk),
        bad_loss=np.float32(bad_loss),
        train_loss=np.float32(train_loss),
        val_loss=np.float32(np.nan),
    )


def _divergence_message(epoch: int, step: int, chunk: int, loss: float) -> str:
    del step
    return (
        f"TBPTT diverged in epoch {epoch}, chunk {chunk} (loss {loss}): stopped and kept the "
        "parameters from before that epoch. Try a lower learning rate or grad_clip_norm."
    )
