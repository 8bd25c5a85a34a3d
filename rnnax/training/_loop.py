"""``fit``: one model trained with optax: minibatch epochs, validation, early stopping,
a divergence guard and exactly resumable checkpoints (the one-member case of the engine)."""

from __future__ import annotations

import contextlib
import math
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, NamedTuple

import jax
import numpy as np
import optax
from jax.sharding import Mesh

from rnnax import _sharding
from rnnax._checks import (
    check_bool,
    check_choice,
    check_int,
    check_positive_real,
    check_real,
    is_real_number,
)
from rnnax.training import _checkpoint, _engine, _fingerprint
from rnnax.training._engine import DivergenceWarning, Members
from rnnax.training._epochs import Placement, compiled_epoch
from rnnax.training._objective import (
    LossFn,
    TrainingAdapter,
    check_params,
    check_scalar_loss,
    objective,
    prepare_data,
)
from rnnax.training._optimizers import DEFAULT_LEARNING_RATE, cached, clipped, default_optimizer
from rnnax.training._state import History, TrainingDiverged, TrainState

__all__ = ["FitResult", "TrainingDivergedError", "fit"]


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
        resumed_from_epoch: the epochs the checkpoint this run resumed had completed, or
            ``None`` for a run that started fresh.
    """

    params: Any
    state: TrainState
    resumed_from_epoch: int | None = None

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


def _optional_int(name: str, value: object, minimum: int) -> int | None:
    return None if value is None else check_int(name, value, minimum=minimum)


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
    check_int("epochs", epochs, minimum=1)
    check_int("batch_size", batch_size, minimum=1)
    _optional_int("patience", patience, 1)
    _optional_int("eval_batch_size", eval_batch_size, 1)
    check_bool("restore_best", restore_best)
    check_bool("progress", progress)
    if grad_clip_norm is not None:
        check_positive_real("grad_clip_norm", grad_clip_norm)
    check_real("min_delta", min_delta, minimum=0.0)


def _check_fit_options(
    seed: object,
    checkpoint_every: object,
    optimizer: object,
    learning_rate: object,
    on_divergence: object,
) -> None:
    """The checks of ``fit``'s own options (beyond :func:`check_loop_options`)."""
    check_int("checkpoint_every", checkpoint_every, minimum=1)
    check_int("seed", seed, minimum=0, maximum=2**63 - 1)  # jax.random.key takes a C long
    if optimizer is not None and not (
        callable(getattr(optimizer, "init", None)) and callable(getattr(optimizer, "update", None))
    ):
        raise TypeError(
            f"optimizer must be an optax.GradientTransformation or None, got {type(optimizer).__name__}"
        )
    check_choice("on_divergence", on_divergence, ("warn", "raise"))
    if optimizer is not None and learning_rate is not None:
        raise ValueError(
            "pass learning_rate only with the default optimizer; put it inside your optimizer instead"
        )
    if learning_rate is not None and not callable(learning_rate):
        expected = f"learning_rate must be a finite positive number or an optax schedule, got {learning_rate!r:.80}"
        if isinstance(learning_rate, bool) or not is_real_number(learning_rate):
            raise TypeError(expected)
        rate = float(learning_rate)  # type: ignore[arg-type]
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError(expected)


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
    if jax.process_count() > 1:  # each host's run record differs; Orbax wants one shared folder
        raise ValueError(
            f"checkpoint_dir is not supported in a run of several processes yet (this one has "
            f"{jax.process_count()}); pass checkpoint_dir=None"
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


def fit(
    loss_fn: LossFn | Any,
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
    keep_checkpoints: int = _checkpoint.DEFAULT_KEEP,
    on_divergence: Literal["warn", "raise"] = "warn",
    mesh: Mesh | None = None,
    data_axis: str = _sharding.DATA_AXIS,
    param_sharding: Any = None,
    restart: bool = False,
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
        checkpoint_dir: if given, save the ``TrainState`` there with Orbax every
            ``checkpoint_every`` epochs and when stopping, one folder per save
            (``<checkpoint_dir>/<epoch>/``, finalized atomically; saved in the background while
            the next epochs train, and ``fit`` returns only once the last save is complete,
            raising its error if it failed). If it already holds a checkpoint of this run,
            resume from the latest (a run that stopped early or diverged is not continued),
            restored onto the devices and shardings of this run's parameters, print "resuming
            from epoch N of <checkpoint_dir>" to stderr (with ``progress``) and record N in
            ``result.resumed_from_epoch``. "This run" means the same training and validation
            data (fingerprinted), parameters and optimizer state of the same structure, shapes
            and dtypes, the same loss (a forecaster's config, a function's name) and the same
            seed and batch size; a checkpoint of any other run, a damaged one or one in the
            earlier single-file format (``checkpoint.msgpack``) is refused with a
            ``ValueError`` naming what is wrong. Not supported yet in a run of several
            processes (multi-host): a ``ValueError``.
        checkpoint_every: epochs between checkpoints.
        keep_checkpoints: how many of the latest checkpoints to keep; the best epoch's (the
            last one saved at an epoch that improved the monitored loss) is kept as well, so
            its whole state stays on disk (every checkpoint holds the best parameters so far).
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
        restart: ignore any checkpoint in ``checkpoint_dir`` and train from scratch; the
            run's first save deletes the checkpoints already there.

    Returns:
        A ``FitResult``.

    Raises:
        ValueError: on bad arguments, non-finite or inconsistent data (before any training),
            a batch size the mesh's data axis does not divide, or a checkpoint in
            ``checkpoint_dir`` from a different run (or one without a run record, a damaged one
            or one of the earlier format) unless ``restart=True``.
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
    _check_fit_options(seed, checkpoint_every, optimizer, learning_rate, on_divergence)
    check_bool("restart", restart)
    check_int("keep_checkpoints", keep_checkpoints, minimum=1)
    checkpoint_dir = _check_checkpoint_dir(checkpoint_dir)
    loss, adapter = objective(loss_fn)
    if mesh is not None:
        mesh = _sharding.check_mesh(mesh)
        _sharding.axis_size(mesh, data_axis, "data_axis")
    train, num_train = prepare_data(train_data, "train_data", adapter)
    val, num_val = (None, 0) if val_data is None else prepare_data(val_data, "val_data", adapter)
    if mesh is not None:
        _sharding.check_batch_size(batch_size, num_train, mesh, data_axis)
        if eval_batch_size is not None and eval_batch_size < num_val:
            _sharding.check_divisible("eval_batch_size", eval_batch_size, mesh, data_axis)
    batch_size = min(batch_size, num_train)
    if optimizer is None:
        optimizer = cached(
            default_optimizer, DEFAULT_LEARNING_RATE if learning_rate is None else learning_rate
        )
    if grad_clip_norm is not None:
        optimizer = cached(clipped, optimizer, float(grad_clip_norm))
    params = _prepare_params(params, loss, adapter, train, batch_size, mesh)
    if mesh is None and param_sharding is not None:
        raise ValueError("param_sharding needs a mesh; pass mesh= as well")
    state, placement = _initial_state(params, optimizer, seed, mesh, data_axis, param_sharding)
    metadata: dict[str, Any] = {}
    if checkpoint_dir is not None:  # fingerprinted before the data is laid out over a mesh
        metadata = _fingerprint.run_record(
            loss_fn=loss_fn,
            adapter=adapter,
            train=train,
            val=val,
            params=state.params,
            opt_state=state.opt_state,
            seed=seed,
            batch_size=batch_size,
            num_train=num_train,
            num_val=num_val,
        )
    if mesh is not None:
        train = _sharding.place_data(train, mesh, "train_data")
        val = None if val is None else _sharding.place_data(val, mesh, "val_data")
    state, resumed_from = _checkpoint.resume_run(
        checkpoint_dir, state, metadata, restart=restart, announce=progress
    )
    run_epoch = cached(
        compiled_epoch, loss, optimizer, num_train, batch_size, num_val, eval_batch_size, placement
    )

    def advance(params: Any, opt_state: Any, rng: Any, active: np.ndarray) -> Any:
        del active  # one member, active while it trains
        rng, epoch_key = jax.random.split(rng)
        return run_epoch(params, opt_state, epoch_key, train, val), rng

    saving, after_epoch = _checkpointing(
        checkpoint_dir, metadata, keep_checkpoints, checkpoint_every, resumed_from is None
    )
    rules = _engine.Rules(patience, float(min_delta), val is not None, None, ("",))
    with saving, _engine.progress_bar(progress, epochs, state.epoch, "fit") as bar:
        members = _engine.train(
            _members(state), advance, rules, epochs=epochs, bar=bar, after_epoch=after_epoch
        )
    state = _train_state(members)
    best = state.best_params if (restore_best and state.best_params is not None) else state.params
    result = FitResult(params=best, state=state, resumed_from_epoch=resumed_from)
    if state.diverged is not None:
        if on_divergence == "raise":
            raise TrainingDivergedError(state.diverged.message, result)
        warnings.warn(state.diverged.message, DivergenceWarning, stacklevel=2)
    return result


def _prepare_params(
    params: Any,
    loss: LossFn,
    adapter: TrainingAdapter | None,
    train: Any,
    batch_size: int,
    mesh: Mesh | None,
) -> Any:
    """The checked parameters as arrays (a plain loss is traced once to check it is scalar)."""
    if adapter is not None:
        return adapter.prepare_params(params)
    params = check_params(params)
    # Traced as the step will be: under the mesh, where the cores leave the split to it.
    with contextlib.nullcontext() if mesh is None else jax.set_mesh(mesh):
        check_scalar_loss(loss, params, train, batch_size)
    return params


def _initial_state(
    params: Any,
    optimizer: optax.GradientTransformation,
    seed: int,
    mesh: Mesh | None,
    data_axis: str,
    param_sharding: Any,
) -> tuple[TrainState, Placement | None]:
    """The run's first state, laid out over the mesh if there is one, and that layout."""
    shardings = None
    if mesh is not None:
        shardings = _sharding.param_shardings(mesh, params, param_sharding, "param_sharding")
        params = jax.device_put(params, shardings)
    with jax.numpy_dtype_promotion("standard"):
        opt_state = optimizer.init(params)
    placement = None
    if mesh is not None:
        opt_shardings = _sharding.opt_state_shardings(optimizer, opt_state, shardings, mesh)
        opt_state = jax.device_put(opt_state, opt_shardings)
        placement = Placement(
            _sharding.LeadingAxisConstraint(mesh, data_axis),
            _sharding.flat(shardings),
            _sharding.flat(opt_shardings),
        )
    return TrainState(params=params, opt_state=opt_state, rng=jax.random.key(seed)), placement


def _checkpointing(
    directory: Path | None, record: dict[str, Any], keep: int, every: int, fresh: bool
) -> tuple[contextlib.AbstractContextManager[Any], Callable[[Members], None] | None]:
    """What saves a run's checkpoints: a context that waits for the last save when training
    ends (raising its error, unless a training error is on its way) and the engine's
    ``after_epoch``, which saves every ``every`` epochs and when the run stops. A ``fresh`` run
    (not resumed) replaces the folder's checkpoints at its first save."""
    if directory is None:
        return contextlib.nullcontext(), None
    writer = _checkpoint.CheckpointWriter(directory, record, keep=keep, replace_all=fresh)

    def after_epoch(members: Members) -> None:
        if members.stop_reason[0] != "" or members.epoch % every == 0:
            writer.save(_train_state(members))

    return writer, after_epoch


def _members(state: TrainState) -> Members:
    """A ``TrainState`` as the engine's state of one member."""
    history = state.history
    return Members(
        params=state.params,
        opt_state=state.opt_state,
        rng=state.rng,
        best_params=state.best_params,
        epoch=state.epoch,
        steps=np.asarray([state.step], np.int64),
        best_loss=np.asarray([state.best_loss], np.float64),
        best_epoch=np.asarray([state.best_epoch], np.int64),
        waited=np.asarray([state.epochs_without_improvement], np.int64),
        stop_reason=(state.stop_reason,),
        diverged=(state.diverged,),
        train_loss=tuple(np.asarray([loss]) for loss in history.train_loss),
        val_loss=tuple(np.asarray([loss]) for loss in history.val_loss),
        epoch_steps=tuple(np.asarray([steps]) for steps in history.steps),
        epoch_seconds=history.epoch_seconds,
    )


def _train_state(members: Members) -> TrainState:
    """The engine's state of one member as a ``TrainState`` (what ``fit`` checkpoints)."""
    diverged: TrainingDiverged | None = members.diverged[0]
    return TrainState(
        params=members.params,
        opt_state=members.opt_state,
        rng=members.rng,
        epoch=members.epoch,
        step=int(members.steps[0]),
        best_params=members.best_params,
        best_loss=float(members.best_loss[0]),
        best_epoch=int(members.best_epoch[0]),
        epochs_without_improvement=int(members.waited[0]),
        history=History(
            train_loss=tuple(float(loss[0]) for loss in members.train_loss),
            val_loss=tuple(float(loss[0]) for loss in members.val_loss),
            epoch_seconds=tuple(float(seconds) for seconds in members.epoch_seconds),
            steps=tuple(int(steps[0]) for steps in members.epoch_steps),
        ),
        stop_reason=members.stop_reason[0],
        diverged=diverged,
    )
