"""``fit``: a seeded, jit-compiled optax training loop with validation, early stopping,
a divergence guard and exactly resumable checkpoints."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import numbers
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh

from rnnax._checks import is_real_number
from rnnax.forecasting._config import ForecasterConfig
from rnnax.forecasting._model import ForecastBatch, Forecaster, _unpack_batch
from rnnax.forecasting._model import check_params as check_forecaster_params
from rnnax.forecasting._model import loss as forecaster_loss
from rnnax.training import _checkpoint, _sharding
from rnnax.training._state import History, TrainingDiverged, TrainState

LossFn = Callable[[Any, Any, "jax.Array | None"], jax.Array]
"""``loss_fn(params, batch, key) -> scalar``: the mean loss of a batch (a slice of the data
pytree along its first axis); ``key`` is a PRNG key in training and ``None`` in evaluation."""

DEFAULT_LEARNING_RATE = 1e-3


class DivergenceWarning(RuntimeWarning):
    """Emitted when ``fit`` stops because a loss, gradient or update became NaN or Inf."""


class TrainingDivergedError(RuntimeError):
    """Raised by ``fit(..., on_divergence="raise")``; ``.result`` holds the ``FitResult``."""

    def __init__(self, message: str, result: FitResult) -> None:
        super().__init__(message)
        self.result = result


class FitResult(NamedTuple):
    """What ``fit`` returns.

    Attributes:
        params: the parameters to use: the best epoch's (lowest validation loss, or training
            loss without validation data) when ``restore_best=True``, else the last ones.
        state: the full final ``TrainState`` (last good parameters, optimizer state, PRNG
            key, counters, best-so-far, history), as checkpointed.
    """

    params: Any
    state: TrainState

    @property
    def last_params(self) -> Any:
        """The parameters after the last applied step (the last good ones if it diverged)."""
        return self.state.params

    @property
    def best_params(self) -> Any:
        """The best epoch's parameters (the last ones if no epoch ran)."""
        return self.state.params if self.state.best_params is None else self.state.best_params

    @property
    def opt_state(self) -> Any:
        """The optimizer state matching ``last_params``."""
        return self.state.opt_state

    @property
    def history(self) -> History:
        """Per-epoch train/validation loss, wall time and cumulative steps."""
        return self.state.history

    @property
    def steps(self) -> int:
        """Optimizer steps applied in total."""
        return self.state.step

    @property
    def epochs_completed(self) -> int:
        """Epochs run in total (a diverged epoch counts)."""
        return self.state.epoch

    @property
    def best_epoch(self) -> int:
        """The (0-based) best epoch, ``-1`` if none."""
        return self.state.best_epoch

    @property
    def stop_reason(self) -> str:
        """``"completed"``, ``"early_stopping"`` or ``"diverged"``."""
        return self.state.stop_reason

    @property
    def diverged(self) -> TrainingDiverged | None:
        """The divergence record, or ``None`` if training stayed finite."""
        return self.state.diverged


def _check_int(name: str, value: object, minimum: int, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(
            f"{name} must be an integer >= {minimum}{' or None' if allow_none else ''}, got {value!r}"
        )


def _check_bool(name: str, value: object) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {value!r}")


def check_loop_options(
    *,
    epochs: int,
    batch_size: int,
    patience: int | None,
    eval_batch_size: int | None,
    grad_clip_norm: float | None,
    min_delta: float,
    restore_best: bool,
    progress: bool,
) -> None:
    """The checks ``fit`` and ``fit_ensemble`` share, on the options they share."""
    _check_int("epochs", epochs, 1)
    _check_int("batch_size", batch_size, 1)
    _check_int("patience", patience, 1, allow_none=True)
    _check_int("eval_batch_size", eval_batch_size, 1, allow_none=True)
    _check_bool("restore_best", restore_best)
    _check_bool("progress", progress)
    if grad_clip_norm is not None and not (is_real_number(grad_clip_norm) and grad_clip_norm > 0):
        raise ValueError(
            f"grad_clip_norm must be a positive number or None, got {grad_clip_norm!r}"
        )
    if not (is_real_number(min_delta) and math.isfinite(min_delta) and min_delta >= 0):
        raise ValueError(f"min_delta must be a finite number >= 0, got {min_delta!r}")


def _check_checkpoint_dir(directory: object) -> Path | None:
    """Refuses a checkpoint folder that cannot be one before any epoch runs, not when saving."""
    if directory is None:
        return None
    if not isinstance(directory, (str, os.PathLike)):
        raise TypeError(
            f"checkpoint_dir must be a path (str or os.PathLike) or None, got {type(directory).__name__}"
        )
    if os.fspath(directory) in ("", b""):
        raise ValueError(
            "checkpoint_dir must name a folder, got an empty path (use '.' for the current folder)"
        )
    path = Path(os.fsdecode(os.fspath(directory)))
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise ValueError(
            f"checkpoint_dir {os.fspath(path)!r} is not a folder (it or a parent is a file)"
        ) from None
    except OSError as error:
        raise ValueError(
            f"checkpoint_dir {os.fspath(path)!r} is not writable: {error.strerror or error}"
        ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ValueError(f"checkpoint_dir {os.fspath(path)!r} is not writable")
    return path


def _check_params(params: Any) -> Any:
    """The parameters as JAX arrays; each leaf must be a floating array (gradients need one)."""
    checked = []
    leaves, treedef = jax.tree_util.tree_flatten_with_path(params)
    if not leaves:
        raise ValueError("params holds no arrays")
    for path, leaf in leaves:
        where = f"params{jax.tree_util.keystr(path)}"
        try:
            array = jnp.asarray(leaf)
        except TypeError:
            raise TypeError(
                f"{where} must be a floating array, got {type(leaf).__name__}"
            ) from None
        if not jnp.issubdtype(array.dtype, jnp.floating):
            raise TypeError(
                f"{where} must have a floating dtype (it is trained), got {array.dtype}"
            )
        checked.append(array)
    return jax.tree_util.tree_unflatten(treedef, checked)


def _check_scalar_loss(loss_fn: LossFn, params: Any, data: Any, batch_size: int) -> None:
    """Traces ``loss_fn`` on one minibatch's shapes (no computation) to name a non-scalar loss."""
    batch = jax.tree.map(
        lambda leaf: jax.ShapeDtypeStruct((batch_size, *leaf.shape[1:]), leaf.dtype), data
    )
    loss = jax.eval_shape(loss_fn, params, batch, jax.random.key(0))
    if not (isinstance(loss, jax.ShapeDtypeStruct) and loss.shape == ()):
        shape = getattr(loss, "shape", type(loss).__name__)
        raise ValueError(f"loss_fn must return a scalar loss, got {shape}")


def _prepare_data(data: Any, argument: str, for_forecaster: bool) -> tuple[Any, int]:
    """Validates a data pytree (same leading size, finite floats); returns JAX arrays and N."""
    if for_forecaster:
        inputs, targets, future_covariates = _unpack_batch(data)
        data = ForecastBatch(inputs, targets, future_covariates)
    leaves_with_paths = jax.tree_util.tree_flatten_with_path(data)[0]
    if not leaves_with_paths:
        raise ValueError(f"{argument} holds no arrays")
    sizes = {}
    for path, leaf in leaves_with_paths:
        where = f"{argument}{jax.tree_util.keystr(path)}"
        # A global array of a multi-host run: each host checks the examples it holds.
        pieces = (
            [np.asarray(shard.data) for shard in leaf.addressable_shards]
            if isinstance(leaf, jax.Array) and not leaf.is_fully_addressable
            else [np.asarray(leaf)]
        )
        shape, dtype = tuple(np.shape(leaf)), np.dtype(pieces[0].dtype)
        if len(shape) == 0:
            raise ValueError(f"{where} must have a leading example axis, got a 0-d value")
        sizes[where] = shape[0]
        if shape[0] == 0:
            raise ValueError(
                f"{argument} has no examples; pass None instead of empty validation data"
            )
        if jnp.issubdtype(dtype, jnp.floating):  # bfloat16's NumPy kind is "V", not "f"
            bad = np.concatenate(
                [~np.isfinite(piece.reshape(piece.shape[0], -1)).all(axis=1) for piece in pieces]
            )
            if bad.any():
                raise ValueError(
                    f"{where} has non-finite values (NaN or Inf) in {int(bad.sum())} of {shape[0]} "
                    f"examples, first at example {int(np.argmax(bad))}"
                    f"{'' if len(pieces) == 1 else ' of those on this host'}; clean the data before "
                    "training (see rnnax.data.handle_missing)"
                )
        elif dtype.kind not in "biu":
            raise ValueError(f"{where} must be a numeric array, got dtype {dtype}")
    if len(set(sizes.values())) != 1:
        raise ValueError(
            f"every array of {argument} must have the same number of examples (first axis), got {sizes}"
        )
    num_examples = next(iter(sizes.values()))
    if num_examples == 0:
        raise ValueError(f"{argument} has no examples; pass None instead of empty validation data")
    return jax.tree.map(jnp.asarray, data), num_examples


def _all_finite(tree: Any) -> jax.Array:
    flags = [
        jnp.all(jnp.isfinite(leaf))
        for leaf in jax.tree.leaves(tree)
        if jnp.issubdtype(jnp.asarray(leaf).dtype, jnp.inexact)
    ]
    return jnp.stack(flags).all() if flags else jnp.asarray(True)


def _select(condition: jax.Array, new: Any, old: Any) -> Any:
    return jax.tree.map(lambda a, b: jnp.where(condition, a, b), new, old)


def _evaluate(
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


class _EpochOutput(NamedTuple):
    params: Any
    opt_state: Any
    accepted_steps: jax.Array
    diverged: jax.Array
    bad_step: jax.Array
    bad_loss: jax.Array
    train_loss: jax.Array
    val_loss: jax.Array


# Compiled epochs are cached on everything they close over (loss function, optimizer, sizes),
# so repeated fits of one configuration (other seeds, a resumed run, more epochs) compile once.
# The default optimizer, the clipping chain and a forecaster's loss are cached too, to give
# them a stable identity.
_CACHE_SIZE = 16


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _default_optimizer(learning_rate: float | optax.Schedule) -> optax.GradientTransformation:
    return optax.adam(learning_rate)


@functools.lru_cache(maxsize=_CACHE_SIZE)
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


def _clipped(
    optimizer: optax.GradientTransformation, grad_clip_norm: float
) -> optax.GradientTransformation:
    return optax.chain(clip_by_global_norm_safe(grad_clip_norm), optimizer)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _forecaster_objective(config: ForecasterConfig) -> LossFn:
    return functools.partial(forecaster_loss, config=config)


def _cached(factory: Any, *arguments: Any) -> Any:  # an lru_cache-wrapped factory
    try:
        return factory(*arguments)
    except TypeError:  # an unhashable user object: build it afresh, uncached
        return factory.__wrapped__(*arguments)


@dataclasses.dataclass(frozen=True)
class _Placement:
    """Where a sharded run's arrays live: the batch constraint of the mesh's data axis and the
    (flattened, so hashable) shardings of the parameters and the optimizer state."""

    constrain: _sharding.LeadingAxisConstraint
    params: tuple[tuple[Any, ...], Any]
    opt_state: tuple[tuple[Any, ...], Any]

    @property
    def mesh(self) -> Mesh:
        return self.constrain.mesh


def _epoch_fn(
    loss_fn: LossFn,
    optimizer: optax.GradientTransformation,
    num_examples: int,
    batch_size: int,
    num_val: int,
    eval_batch_size: int | None,
    constrain: _sharding.LeadingAxisConstraint | None = None,
) -> Callable[..., _EpochOutput]:
    """One epoch as a pure function: shuffle, ``lax.scan`` over minibatches, then validate.

    ``constrain`` splits every minibatch (and validation chunk) over a mesh's data axis.
    ``fit`` jits it; ``fit_ensemble`` jits its ``vmap``.
    """
    num_batches = num_examples // batch_size
    value_and_grad = jax.value_and_grad(loss_fn)

    def run_epoch(
        params: Any, opt_state: Any, key: jax.Array, train: Any, val: Any
    ) -> _EpochOutput:
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
            healthy = jnp.isfinite(loss) & _all_finite(grads) & _all_finite(new_params)
            # After the first bad step every later step of the epoch is a no-op, so the state
            # stays exactly the last good one.
            accept = healthy & ~diverged
            first_bad = ~healthy & ~diverged
            carry = (
                _select(accept, new_params, params),
                _select(accept, new_opt_state, opt_state),
                diverged | ~healthy,
                jnp.where(first_bad, index, bad_step),
                jnp.where(first_bad, loss, bad_loss),
            )
            return carry, (jnp.where(accept, loss, jnp.zeros_like(loss)), accept)

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
        (params, opt_state, diverged, bad_step, bad_loss), (losses, accepted) = jax.lax.scan(
            train_step, init, per_step
        )
        count = jnp.sum(accepted.astype(jnp.int32))
        train_loss = jnp.where(
            count > 0, jnp.sum(losses) / jnp.maximum(count, 1).astype(jnp.float32), jnp.nan
        )
        if val is None:
            val_loss = jnp.asarray(jnp.nan, jnp.float32)
        else:
            val_loss = jnp.asarray(
                _evaluate(loss_fn, params, val, num_val, eval_batch_size, constrain), jnp.float32
            )
        return _EpochOutput(
            params, opt_state, count, diverged, bad_step, bad_loss, train_loss, val_loss
        )

    return run_epoch


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _make_epoch(
    loss_fn: LossFn,
    optimizer: optax.GradientTransformation,
    num_examples: int,
    batch_size: int,
    num_val: int,
    eval_batch_size: int | None,
    placement: _Placement | None = None,
) -> Callable[..., _EpochOutput]:
    """One jit-compiled epoch (see ``_epoch_fn``), data-parallel over ``placement``'s mesh."""
    if placement is None:
        return jax.jit(
            _epoch_fn(loss_fn, optimizer, num_examples, batch_size, num_val, eval_batch_size)
        )
    mesh = placement.mesh
    everywhere = _sharding.replicated(mesh)
    # The state leaves each epoch where it came in, so epochs chain without any transfer.
    out_shardings = _EpochOutput._make(
        [
            _sharding.unflat(placement.params),
            _sharding.unflat(placement.opt_state),
            *([everywhere] * 6),
        ]
    )
    jitted = jax.jit(
        _epoch_fn(
            loss_fn,
            optimizer,
            num_examples,
            batch_size,
            num_val,
            eval_batch_size,
            placement.constrain,
        ),
        out_shardings=out_shardings,
    )

    def run_epoch(*arguments: Any) -> _EpochOutput:
        # Traced under the mesh, so rnnax's cores leave the batch split to it.
        with _sharding.mesh_context(mesh):
            return jitted(*arguments)

    run_epoch.jitted = jitted  # type: ignore[attr-defined]  # to lower it and read the HLO
    return run_epoch


def _divergence_message(epoch: int, step: int, loss: float) -> str:
    what = (
        f"the loss was {loss}"
        if not math.isfinite(loss)
        else (
            f"the loss was finite ({loss:.6g}) but the gradients or the updated parameters were not"
        )
    )
    return (
        f"training diverged at epoch {epoch}, step {step}: {what}. Stopped and kept the parameters "
        "and optimizer state from before that step. Try a lower learning rate, grad_clip_norm, "
        "or check the loss for log(0) or division by zero."
    )


def fit(
    loss_fn: LossFn | Forecaster,
    params: Any,
    train_data: Any,
    val_data: Any | None = None,
    *,
    epochs: int = 100,
    batch_size: int = 32,
    optimizer: optax.GradientTransformation | None = None,
    learning_rate: float | optax.Schedule | None = None,
    grad_clip_norm: float | None = None,
    patience: int | None = None,
    min_delta: float = 0.0,
    restore_best: bool = True,
    eval_batch_size: int | None = None,
    seed: int = 0,
    progress: bool = True,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    checkpoint_every: int = 1,
    on_divergence: Literal["warn", "raise"] = "warn",
    mesh: Mesh | None = None,
    data_axis: str = _sharding.DATA_AXIS,
    param_sharding: Any = None,
) -> FitResult:
    """Trains ``params`` with optax: minibatch epochs, validation, early stopping, checkpoints.

    Each epoch is one compiled call: the training examples are shuffled with
    ``jax.random`` and a ``lax.scan`` runs one optimizer step per minibatch (the last partial
    minibatch is dropped, a different one each epoch), then the validation loss is computed.
    Everything random derives from ``seed``, so the same seed gives the same numbers, and a
    run resumed from its checkpoint continues exactly as if it had never stopped.

    Divergence guard: a step whose loss, gradients or updated parameters are NaN/Inf is not
    applied; the epoch's remaining steps become no-ops and training stops, keeping the
    parameters and optimizer state from before the bad step. The result records a
    ``TrainingDiverged`` and a ``DivergenceWarning`` is emitted (or ``TrainingDivergedError``
    raised with ``on_divergence="raise"``).

    Args:
        loss_fn: ``loss_fn(params, batch, key) -> scalar`` (``key`` is ``None`` for
            validation), or a ``rnnax.forecasting.Forecaster`` (its ``loss`` is used and the
            data may be ``rnnax.data.Windows``, ``ForecastBatch`` or ``(inputs, targets)``).
        params: the initial parameters (any pytree of float arrays).
        train_data: a pytree of arrays sharing their first (example) axis; all finite.
        val_data: validation data of the same structure, or ``None``.
        epochs: total number of epochs of the run (a resumed run continues up to it).
        batch_size: examples per step, clamped to the number of training examples.
        optimizer: an ``optax.GradientTransformation``; default Adam.
        learning_rate: a float or an ``optax`` schedule (a function of the step) for the
            default Adam; give the rate inside ``optimizer`` instead if you pass one.
        grad_clip_norm: clip gradients to this global norm before the optimizer, or ``None``.
        patience: stop after this many epochs without an improvement of the monitored loss
            (validation, else training) by more than ``min_delta``; ``None`` never stops early.
        min_delta: the improvement that counts.
        restore_best: return the best epoch's parameters as ``result.params``.
        eval_batch_size: validate in chunks of this many examples (default: all at once).
        seed: seeds shuffling and dropout (``jax.random.key(seed)``).
        progress: show a tqdm progress bar with the losses.
        checkpoint_dir: if given, save the ``TrainState`` there atomically every
            ``checkpoint_every`` epochs and when stopping; if it already holds a checkpoint of
            this run, resume from it (a run that stopped early or diverged is not continued).
        checkpoint_every: epochs between checkpoints.
        on_divergence: ``"warn"`` (default) or ``"raise"``.
        mesh: a ``jax.sharding.Mesh`` for data parallelism: every minibatch (and validation
            chunk) is split over its ``data_axis``, one slice per device, and XLA all-reduces
            the gradients; the parameters and optimizer state are replicated (unless
            ``param_sharding`` says otherwise) and the result is the same as on one device,
            to float32 rounding. ``batch_size`` (and ``eval_batch_size``) must be multiples of
            the axis size. Data arrays already laid out over the mesh (e.g. global arrays from
            ``jax.make_array_from_process_local_data`` in a multi-host run) keep their layout;
            other data is copied to every device. ``None`` (default): no mesh; rnnax's cores
            may still split batches over several local CPU devices themselves.
        data_axis: the mesh axis that splits the batch.
        param_sharding: with a mesh, a pytree prefix of ``params`` whose leaves are
            ``jax.sharding.PartitionSpec`` s over the mesh's axes (``None`` leaves: replicated),
            to shard large parameters; their optimizer-state slots follow them. Default:
            everything replicated.

    Returns:
        A ``FitResult``.

    Raises:
        ValueError: on bad arguments, non-finite or inconsistent data (before any training),
            a batch size the mesh's data axis does not divide, or a checkpoint from a
            different run.
        TypeError: ``mesh`` is not a ``jax.sharding.Mesh``.
        TrainingDivergedError: on divergence with ``on_divergence="raise"``.

    Examples:
        >>> import jax.numpy as jnp, numpy as np
        >>> x = np.linspace(-1, 1, 64, dtype=np.float32)[:, None]
        >>> data = (x, 3.0 * x + 1.0)
        >>> def loss_fn(params, batch, key):
        ...     inputs, targets = batch
        ...     return jnp.mean(jnp.square(inputs * params["w"] + params["b"] - targets))
        >>> params = {"w": jnp.zeros(()), "b": jnp.zeros(())}
        >>> result = fit(loss_fn, params, data, epochs=200, batch_size=16, learning_rate=0.05,
        ...              progress=False)
        >>> round(float(result.params["w"]), 2), round(float(result.params["b"]), 2)
        (3.0, 1.0)
        >>> len(result.history.train_loss), result.steps, result.stop_reason
        (200, 800, 'completed')

        Data parallel over every device (one here; the same code on eight GPUs):

        >>> mesh = jax.make_mesh((jax.device_count(),), ("data",))
        >>> sharded = fit(loss_fn, params, data, epochs=200, batch_size=16, learning_rate=0.05,
        ...               progress=False, mesh=mesh)
        >>> round(float(sharded.params["w"]), 2), sharded.params["w"].sharding.spec
        (3.0, P())
    """
    check_loop_options(
        epochs=epochs,
        batch_size=batch_size,
        patience=patience,
        eval_batch_size=eval_batch_size,
        grad_clip_norm=grad_clip_norm,
        min_delta=min_delta,
        restore_best=restore_best,
        progress=progress,
    )
    _check_int("checkpoint_every", checkpoint_every, 1)
    _check_int("seed", seed, 0)
    if seed >= 2**63:  # jax.random.key takes a C long
        raise ValueError(f"seed must be an integer in [0, 2**63 - 1], got {seed}")
    if optimizer is not None and not (
        callable(getattr(optimizer, "init", None)) and callable(getattr(optimizer, "update", None))
    ):
        raise TypeError(
            f"optimizer must be an optax.GradientTransformation or None, got {type(optimizer).__name__}"
        )
    if on_divergence not in ("warn", "raise"):
        raise ValueError(f"on_divergence must be 'warn' or 'raise', got {on_divergence!r}")
    if optimizer is not None and learning_rate is not None:
        raise ValueError(
            "pass learning_rate only with the default optimizer; put it inside your optimizer instead"
        )
    if (
        learning_rate is not None
        and not callable(learning_rate)
        and (
            isinstance(learning_rate, bool)
            or not is_real_number(learning_rate)
            or not (math.isfinite(learning_rate) and learning_rate > 0)
        )
    ):
        raise ValueError(
            f"learning_rate must be a finite positive number or an optax schedule, got {learning_rate!r}"
        )
    checkpoint_dir = _check_checkpoint_dir(checkpoint_dir)

    is_forecaster = isinstance(loss_fn, Forecaster)
    objective: LossFn = (
        _forecaster_objective(loss_fn.config) if isinstance(loss_fn, Forecaster) else loss_fn
    )
    if not callable(objective):
        raise TypeError(f"loss_fn must be callable or a Forecaster, got {type(loss_fn).__name__}")
    if mesh is not None:
        mesh = _sharding.check_mesh(mesh)
        _sharding.axis_size(mesh, data_axis, "data_axis")
    train, num_train = _prepare_data(train_data, "train_data", is_forecaster)
    val, num_val = (
        (None, 0) if val_data is None else _prepare_data(val_data, "val_data", is_forecaster)
    )
    if mesh is not None:
        _sharding.check_batch_size(batch_size, num_train, mesh, data_axis)
        if eval_batch_size is not None and eval_batch_size < num_val:
            _sharding.check_divisible("eval_batch_size", eval_batch_size, mesh, data_axis)
    batch_size = min(batch_size, num_train)

    if optimizer is None:
        optimizer = _cached(
            _default_optimizer, DEFAULT_LEARNING_RATE if learning_rate is None else learning_rate
        )
    if grad_clip_norm is not None:
        optimizer = _cached(_clipped, optimizer, float(grad_clip_norm))
    if isinstance(loss_fn, Forecaster):
        check_forecaster_params(params, loss_fn.config)
        params = jax.tree.map(jnp.asarray, params)
    else:
        params = _check_params(params)
        # Traced as the step will be: under the mesh, where the cores leave the split to it.
        with contextlib.nullcontext() if mesh is None else jax.set_mesh(mesh):
            _check_scalar_loss(objective, params, train, batch_size)
    placement = None
    if mesh is not None:
        shardings = _sharding.param_shardings(mesh, params, param_sharding, "param_sharding")
        params = jax.device_put(params, shardings)
    elif param_sharding is not None:
        raise ValueError("param_sharding needs a mesh; pass mesh= as well")
    with jax.numpy_dtype_promotion("standard"):
        opt_state = optimizer.init(params)
    if mesh is not None:
        opt_shardings = _sharding.opt_state_shardings(optimizer, opt_state, shardings, mesh)
        opt_state = jax.device_put(opt_state, opt_shardings)
        placement = _Placement(
            _sharding.LeadingAxisConstraint(mesh, data_axis),
            _sharding.flat(shardings),
            _sharding.flat(opt_shardings),
        )
        train = _sharding.place_data(train, mesh, "train_data")
        val = None if val is None else _sharding.place_data(val, mesh, "val_data")
    state = TrainState(params=params, opt_state=opt_state, rng=jax.random.key(seed))

    metadata = {
        "seed": int(seed),
        "batch_size": int(batch_size),
        "num_train": int(num_train),
        "num_val": int(num_val),
    }
    if checkpoint_dir is not None and _checkpoint.has_checkpoint(checkpoint_dir):
        saved = _checkpoint.load_metadata(checkpoint_dir)
        if saved != metadata:
            raise ValueError(
                f"the checkpoint in {os.fspath(checkpoint_dir)!r} belongs to a different run ({saved}, this run "
                f"is {metadata}); use another checkpoint_dir or delete the checkpoint"
            )
        state = _checkpoint.load_checkpoint(checkpoint_dir, state)
        if placement is not None:  # a checkpoint is read to the default device: lay it out again
            state = state._replace(
                params=jax.device_put(state.params, shardings),
                opt_state=jax.device_put(state.opt_state, opt_shardings),
                best_params=None
                if state.best_params is None
                else jax.device_put(state.best_params, shardings),
            )

    run_epoch = _cached(
        _make_epoch,
        objective,
        optimizer,
        num_train,
        batch_size,
        num_val,
        eval_batch_size,
        placement,
    )
    bar = None
    if progress:
        from tqdm import tqdm  # imported lazily: only needed for the progress bar

        bar = tqdm(
            total=epochs, initial=min(state.epoch, epochs), desc="fit", unit="epoch", leave=True
        )

    try:
        while state.stop_reason not in ("early_stopping", "diverged") and state.epoch < epochs:
            state = _run_one_epoch(state, run_epoch, train, val, patience, float(min_delta))
            if bar is not None:
                bar.update(1)
                postfix = f"train={state.history.train_loss[-1]:.4g}"
                if val is not None:
                    postfix += f" val={state.history.val_loss[-1]:.4g} best={state.best_loss:.4g}"
                bar.set_postfix_str(postfix)
            stopping = state.stop_reason != "" or state.epoch >= epochs
            if stopping and not state.stop_reason:
                state = state._replace(stop_reason="completed")
            if checkpoint_dir is not None and (stopping or state.epoch % checkpoint_every == 0):
                _checkpoint.save_checkpoint(checkpoint_dir, state, metadata=metadata)
    finally:
        if bar is not None:
            bar.close()
    if not state.stop_reason and state.epoch >= epochs:
        state = state._replace(stop_reason="completed")

    best = state.best_params if (restore_best and state.best_params is not None) else state.params
    result = FitResult(params=best, state=state)
    if state.diverged is not None:
        if on_divergence == "raise":
            raise TrainingDivergedError(state.diverged.message, result)
        warnings.warn(state.diverged.message, DivergenceWarning, stacklevel=2)
    return result


def _run_one_epoch(
    state: TrainState,
    run_epoch: Callable[..., _EpochOutput],
    train: Any,
    val: Any,
    patience: int | None,
    min_delta: float,
) -> TrainState:
    rng, epoch_key = jax.random.split(state.rng)
    start = time.perf_counter()
    output = run_epoch(state.params, state.opt_state, epoch_key, train, val)
    scalars = jax.device_get(
        (
            output.accepted_steps,
            output.diverged,
            output.bad_step,
            output.bad_loss,
            output.train_loss,
            output.val_loss,
        )
    )
    seconds = time.perf_counter() - start
    accepted, diverged, bad_step, bad_loss, train_loss, val_loss = scalars
    epoch, step = state.epoch, state.step + int(accepted)
    history = state.history.append(train_loss, val_loss, seconds, step)

    monitored = float(val_loss) if val is not None else float(train_loss)
    best = {
        "best_params": state.best_params,
        "best_loss": state.best_loss,
        "best_epoch": state.best_epoch,
    }
    if math.isfinite(monitored) and monitored < state.best_loss - min_delta:
        best = {"best_params": output.params, "best_loss": monitored, "best_epoch": epoch}
        waited = 0
    else:
        waited = state.epochs_without_improvement + 1

    stop_reason, record = "", None
    if bool(diverged):
        bad_global_step = state.step + int(bad_step)
        record = TrainingDiverged(
            epoch=epoch,
            step=bad_global_step,
            loss=float(bad_loss),
            message=_divergence_message(epoch, bad_global_step, float(bad_loss)),
        )
        stop_reason = "diverged"
    elif patience is not None and waited >= patience:
        stop_reason = "early_stopping"
    return TrainState(
        params=output.params,
        opt_state=output.opt_state,
        rng=rng,
        epoch=epoch + 1,
        step=step,
        epochs_without_improvement=waited,
        history=history,
        stop_reason=stop_reason,
        diverged=record,
        **best,
    )
