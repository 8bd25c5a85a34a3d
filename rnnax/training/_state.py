"""The state of a training run: what ``fit`` carries from epoch to epoch and checkpoints."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax


class History(NamedTuple):
    """Per-epoch records of a run, one entry per completed (or diverged) epoch.

    Attributes:
        train_loss: mean minibatch loss over the epoch's accepted steps.
        val_loss: validation loss at the end of the epoch (NaN without validation data).
        epoch_seconds: wall time of the epoch; the first epoch of each ``fit`` call includes
            compilation.
        steps: cumulative number of optimizer steps at the end of the epoch.
    """

    train_loss: tuple[float, ...] = ()
    val_loss: tuple[float, ...] = ()
    epoch_seconds: tuple[float, ...] = ()
    steps: tuple[int, ...] = ()

    def append(
        self, train_loss: float, val_loss: float, epoch_seconds: float, steps: int
    ) -> History:
        """Returns the history with one more epoch."""
        return History(
            train_loss=(*self.train_loss, float(train_loss)),
            val_loss=(*self.val_loss, float(val_loss)),
            epoch_seconds=(*self.epoch_seconds, float(epoch_seconds)),
            steps=(*self.steps, int(steps)),
        )


class TrainingDiverged(NamedTuple):
    """Why and where a run stopped on a non-finite loss, gradient or parameter update.

    Attributes:
        epoch: the (0-based) epoch of the rejected step.
        step: the global (0-based) index of the rejected step, which equals the number of
            optimizer steps that were applied before it.
        loss: the loss of the rejected step (NaN or Inf, or finite when only the gradients or
            the updated parameters were non-finite).
        message: a human-readable explanation with hints.
    """

    epoch: int
    step: int
    loss: float
    message: str


class TrainState(NamedTuple):
    """Everything needed to continue a run exactly where it stopped.

    Attributes:
        params: the current (last good) parameters.
        opt_state: the optimizer state matching ``params``.
        rng: the PRNG key the next epoch splits its shuffling and dropout keys from.
        epoch: number of completed epochs.
        step: number of optimizer steps applied.
        best_params: the parameters of the best epoch so far (lowest monitored loss).
        best_loss: the best monitored loss (validation, else training); ``inf`` if none yet.
        best_epoch: the (0-based) best epoch, ``-1`` if none yet.
        epochs_without_improvement: epochs since ``best_epoch`` (for early stopping).
        history: the per-epoch ``History``.
        stop_reason: ``""`` while the run may continue, else ``"completed"``,
            ``"early_stopping"`` or ``"diverged"``.
        diverged: the ``TrainingDiverged`` record, or ``None``.
    """

    params: Any
    opt_state: Any
    rng: jax.Array
    epoch: int = 0
    step: int = 0
    best_params: Any = None
    best_loss: float = float("inf")
    best_epoch: int = -1
    epochs_without_improvement: int = 0
    history: History = History()
    stop_reason: str = ""
    diverged: TrainingDiverged | None = None
