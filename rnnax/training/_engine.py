"""The training engine: epochs over a member axis and the bookkeeping every run shares.

A run trains E *members* together (E = 1 for ``fit``, E seeds or settings for ``fit_ensemble``
and the comparison's seed trainer; a member's arrays sit on a leading axis of the stacked
parameters when E > 1). One epoch is an *advance*, a function from the members' parameters,
optimizer states and PRNG keys to an :class:`~rnnax.training._epochs.EpochOutput` (built in
``rnnax.training._epochs``, or by ``tbptt_fit``). Everything else is here, once, on the host:

* the best parameters (lowest monitored loss: validation, else training) and their epoch;
* early stopping after ``patience`` epochs without an improvement of more than ``min_delta``;
* the divergence stop (an epoch output that reports a non-finite step stops its member with a
  :class:`~rnnax.training.TrainingDiverged` record);
* the per-epoch history, the step counts, the progress bar and a hook after every epoch
  (``fit`` writes its checkpoints there).

A member that stopped keeps its state while the others go on (the advance masks it).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import jax
import numpy as np

from rnnax.training._epochs import EpochOutput
from rnnax.training._state import TrainingDiverged

Advance = Callable[[Any, Any, Any, np.ndarray], tuple[EpochOutput, Any]]
"""``advance(params, opt_state, rng, active) -> (output, next rng)``: one epoch of every member
(``active[m]`` is ``False`` for a member that stopped: its output must be its state unchanged)."""

Select = Callable[[Any, Any, Any], Any]
"""``select(mask, new, old)``: ``new`` for the members where ``mask`` holds, else ``old``."""

STOPPED = ("early_stopping", "diverged")
"""Stop reasons after which a member trains no more (``"completed"`` may be continued)."""


class DivergenceWarning(RuntimeWarning):
    """Emitted when ``fit`` stops because a loss, gradient or update became NaN or Inf."""


def divergence_message(epoch: int, step: int, loss: float) -> str:
    """What a ``TrainingDiverged`` record of ``fit`` says: where, what, and what to try."""
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


class Rules(NamedTuple):
    """How the books of a run are kept.

    Attributes:
        patience: stop a member after this many epochs without improvement; ``None``: never.
        min_delta: the improvement of the monitored loss that counts.
        monitor_val: monitor the validation loss (else the training loss).
        select: picks the improved members' parameters (called only when some, not all,
            members improved).
        labels: per member, the prefix of its divergence message (``""`` for ``fit``).
        message: ``message(epoch, global step, step in the epoch, loss)``, the text of a
            divergence record (after the label).
    """

    patience: int | None
    min_delta: float
    monitor_val: bool
    select: Select | None
    labels: tuple[str, ...]
    message: Callable[[int, int, int, float], str] = lambda epoch, step, _, loss: (
        divergence_message(epoch, step, loss)
    )


class Members(NamedTuple):
    """The state of E members trained together: device arrays and host-side books.

    Attributes:
        params: the members' current (last good) parameters (stacked when E > 1).
        opt_state: their optimizer states.
        rng: the PRNG key(s) the next epoch splits (``None`` for deterministic epochs).
        best_params: the parameters of each member's best epoch; ``None`` before any.
        epoch: completed epochs.
        steps: ``int64 [E]``, optimizer steps applied per member.
        best_loss: ``float64 [E]``, each member's best monitored loss (``inf`` if none).
        best_epoch: ``int64 [E]``, each member's best epoch (``-1`` if none).
        waited: ``int64 [E]``, epochs since each member's best (for early stopping).
        stop_reason: per member ``""``, ``"completed"``, ``"early_stopping"`` or
            ``"diverged"``.
        diverged: per member its ``TrainingDiverged`` record, or ``None``.
        train_loss: per epoch, ``[E]`` mean step loss (NaN for members that had stopped).
        val_loss: per epoch, ``[E]`` validation loss (NaN without validation data).
        epoch_steps: per epoch, ``[E]`` cumulative steps.
        epoch_seconds: per epoch, the wall time of the advance.
    """

    params: Any
    opt_state: Any
    rng: Any
    best_params: Any
    epoch: int
    steps: np.ndarray
    best_loss: np.ndarray
    best_epoch: np.ndarray
    waited: np.ndarray
    stop_reason: tuple[str, ...]
    diverged: tuple[TrainingDiverged | None, ...]
    train_loss: tuple[np.ndarray, ...] = ()
    val_loss: tuple[np.ndarray, ...] = ()
    epoch_steps: tuple[np.ndarray, ...] = ()
    epoch_seconds: tuple[float, ...] = ()

    @property
    def size(self) -> int:
        """E, the number of members."""
        return len(self.stop_reason)

    @property
    def active(self) -> np.ndarray:
        """``bool [E]``: the members that may train on."""
        return np.asarray([reason not in STOPPED for reason in self.stop_reason])


def start(params: Any, opt_state: Any, rng: Any, size: int, best_params: Any = None) -> Members:
    """The state of ``size`` members before their first epoch."""
    return Members(
        params=params,
        opt_state=opt_state,
        rng=rng,
        best_params=best_params,
        epoch=0,
        steps=np.zeros(size, np.int64),
        best_loss=np.full(size, np.inf),
        best_epoch=np.full(size, -1, np.int64),
        waited=np.zeros(size, np.int64),
        stop_reason=("",) * size,
        diverged=(None,) * size,
    )


def _host_values(output: EpochOutput, size: int) -> tuple[np.ndarray, ...]:
    """The epoch's per-member scalars on the host, each shaped ``[E]``."""
    values = jax.device_get(
        (
            output.accepted_steps,
            output.diverged,
            output.bad_step,
            output.bad_loss,
            output.train_loss,
            output.val_loss,
        )
    )
    return tuple(np.asarray(value).reshape(size) for value in values)


def _best(
    state: Members, output: EpochOutput, improved: np.ndarray, rules: Rules
) -> tuple[Any, np.ndarray, np.ndarray]:
    """The best parameters, losses and epochs after this epoch's improvements."""
    best_params = state.best_params
    if improved.all():
        best_params = output.params
    elif improved.any():
        assert rules.select is not None  # a run of several members always has one
        base = output.params if best_params is None else best_params
        best_params = rules.select(improved, output.params, base)
    return best_params, improved, np.where(improved, state.epoch, state.best_epoch)


def run_one_epoch(state: Members, advance: Advance, rules: Rules) -> Members:
    """One epoch of every active member, and its books."""
    active = state.active
    start_time = time.perf_counter()
    output, rng = advance(state.params, state.opt_state, state.rng, active)
    accepted, went_bad, bad_step, bad_loss, train_loss, val_loss = _host_values(output, state.size)
    seconds = time.perf_counter() - start_time

    # Everything in float64 on the host.
    monitored = (val_loss if rules.monitor_val else train_loss).astype(np.float64)
    improved = active & np.isfinite(monitored) & (monitored < state.best_loss - rules.min_delta)
    best_params, _, best_epoch = _best(state, output, improved, rules)
    waited = np.where(improved, 0, np.where(active, state.waited + 1, state.waited))
    reasons, records = list(state.stop_reason), list(state.diverged)
    for index in map(int, np.flatnonzero(active)):
        reasons[index] = ""
        if went_bad[index]:
            step = int(state.steps[index] + bad_step[index])
            loss = float(bad_loss[index])
            records[index] = TrainingDiverged(
                epoch=state.epoch,
                step=step,
                loss=loss,
                message=rules.labels[index]
                + rules.message(state.epoch, step, int(bad_step[index]), loss),
            )
            reasons[index] = "diverged"
        elif rules.patience is not None and waited[index] >= rules.patience:
            reasons[index] = "early_stopping"
    steps = state.steps + np.where(active, accepted, 0)
    return Members(
        params=output.params,
        opt_state=output.opt_state,
        rng=rng,
        best_params=best_params,
        epoch=state.epoch + 1,
        steps=steps,
        best_loss=np.where(improved, monitored, state.best_loss),
        best_epoch=best_epoch,
        waited=waited,
        stop_reason=tuple(reasons),
        diverged=tuple(records),
        train_loss=(*state.train_loss, np.where(active, train_loss, np.nan)),
        val_loss=(*state.val_loss, np.where(active, val_loss, np.nan)),
        epoch_steps=(*state.epoch_steps, steps),
        epoch_seconds=(*state.epoch_seconds, seconds),
    )


def completed(state: Members, epochs: int) -> Members:
    """``state`` with the members still going marked ``"completed"`` once ``epochs`` ran."""
    if state.epoch < epochs:
        return state
    return state._replace(stop_reason=tuple(reason or "completed" for reason in state.stop_reason))


@contextlib.contextmanager
def progress_bar(enabled: bool, total: int, initial: int, desc: str) -> Iterator[Any]:
    """A tqdm bar over epochs, or ``None`` when ``enabled`` is false."""
    if not enabled:
        yield None
        return
    from tqdm import tqdm  # imported lazily: only needed for the progress bar

    bar = tqdm(total=total, initial=min(initial, total), desc=desc, unit="epoch", leave=True)
    try:
        yield bar
    finally:
        bar.close()


def _postfix(state: Members, monitor_val: bool) -> str:
    """The bar's text: the losses of one member, or the mean over the members that ran."""
    train, val = state.train_loss[-1], state.val_loss[-1]
    if state.size == 1:
        text = f"train={float(train[0]):.4g}"
        if monitor_val:
            text += f" val={float(val[0]):.4g} best={float(state.best_loss[0]):.4g}"
        return text
    shown = val if monitor_val else train
    mean = np.nanmean(shown) if np.isfinite(shown).any() else np.nan
    return f"mean loss={mean:.4g} active={int(state.active.sum())}/{state.size}"


def train(
    state: Members,
    advance: Advance,
    rules: Rules,
    *,
    epochs: int,
    bar: Any = None,
    after_epoch: Callable[[Members], None] | None = None,
) -> Members:
    """Runs epochs until ``epochs`` ran or every member stopped.

    Args:
        state: the members' state (fresh from :func:`start`, or a resumed run's).
        advance: one epoch of every member.
        rules: how the books are kept.
        epochs: the run's total number of epochs.
        bar: a tqdm bar to update, or ``None``.
        after_epoch: called with the state after every epoch (members that reached
            ``epochs`` already marked ``"completed"``).

    Returns:
        The final state; every member has a stop reason.
    """
    while state.active.any() and state.epoch < epochs:
        state = run_one_epoch(state, advance, rules)
        if bar is not None:
            bar.update(1)
            bar.set_postfix_str(_postfix(state, rules.monitor_val))
        state = completed(state, epochs)
        if after_epoch is not None:
            after_epoch(state)
    return completed(state, epochs)
