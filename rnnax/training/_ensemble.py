"""``fit_ensemble``: many seeds or hyperparameter settings trained at once with ``vmap``.

An ensemble of E members is one run of ``fit``'s compiled epoch under ``jax.vmap``: the members'
parameters, optimizer states and PRNG keys are stacked on a leading axis, the training data is
shared. Member ``m`` computes exactly what ``fit`` computes for it alone (to float32 rounding:
batched matrix products may sum in another order). On a mesh the member axis is split over an
``ensemble`` axis (and, optionally, every member's minibatch over a ``data`` axis).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, cast

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh

from rnnax import _sharding
from rnnax._checks import check_int, is_real_number
from rnnax.training import _engine
from rnnax.training._engine import DivergenceWarning, Members
from rnnax.training._epochs import MemberPlacement, ensemble_epochs
from rnnax.training._loop import check_loop_options
from rnnax.training._objective import LossFn, objective, prepare_data
from rnnax.training._optimizers import (
    DEFAULT_LEARNING_RATE,
    cached,
    clipped,
    default_optimizer,
    injected_adam,
)
from rnnax.training._state import TrainingDiverged


class EnsembleResult(NamedTuple):
    """What ``fit_ensemble`` returns: every array has the member axis first.

    Attributes:
        params: each member's parameters to use, stacked ``[E, ...]``: its best epoch's
            (lowest validation loss, else training loss) with ``restore_best=True``, else
            its last.
        last_params: each member's parameters after its last applied step.
        opt_state: the optimizer states matching ``last_params``.
        seeds: the members' seeds.
        hyperparams: hyperparameter name -> ``float [E]``, the values that vary by member.
        train_loss: ``float [E, epochs]``: mean minibatch loss per epoch, NaN after a member
            stopped.
        val_loss: ``float [E, epochs]``: validation loss per epoch (NaN without validation
            data or after a member stopped).
        epoch_seconds: wall time of each epoch of the whole ensemble (the first includes
            compilation).
        steps: ``int [E]``: optimizer steps each member applied.
        best_epoch: ``int [E]``: each member's (0-based) best epoch, ``-1`` if none.
        best_loss: ``float [E]``: each member's best monitored loss.
        stop_reason: per member ``"completed"``, ``"early_stopping"`` or ``"diverged"``.
        diverged: per member a ``TrainingDiverged`` record, or ``None``.
    """

    params: Any
    last_params: Any
    opt_state: Any
    seeds: tuple[int, ...]
    hyperparams: dict[str, np.ndarray]
    train_loss: np.ndarray
    val_loss: np.ndarray
    epoch_seconds: tuple[float, ...]
    steps: np.ndarray
    best_epoch: np.ndarray
    best_loss: np.ndarray
    stop_reason: tuple[str, ...]
    diverged: tuple[TrainingDiverged | None, ...]

    @property
    def size(self) -> int:
        """E, the number of members."""
        return len(self.seeds)

    def member(self, index: int) -> Any:
        """Member ``index``'s ``params``, without the member axis."""
        return jax.tree.map(lambda leaf: leaf[index], self.params)


def _is_inject_state(node: Any) -> bool:
    return isinstance(node, (optax.InjectHyperparamsState, optax.InjectStatefulHyperparamsState))


def _set_hyperparams(opt_state: Any, values: Mapping[str, float]) -> Any:
    """``opt_state`` with every ``inject_hyperparams`` slot named in ``values`` overwritten."""
    found: set[str] = set()

    def one(node: Any) -> Any:
        if not _is_inject_state(node):
            return node
        hyperparams = dict(node.hyperparams)
        for name, value in values.items():
            if name in hyperparams:
                found.add(name)
                current = jnp.asarray(hyperparams[name])
                hyperparams[name] = jnp.asarray(value, current.dtype)
        return node._replace(hyperparams=hyperparams)

    opt_state = jax.tree.map(one, opt_state, is_leaf=_is_inject_state)
    missing = sorted(set(values) - found)
    if missing:
        raise ValueError(
            f"hyperparams {missing} are not hyperparameters of the optimizer; build it with "
            "optax.inject_hyperparams (e.g. optax.inject_hyperparams(optax.adam)(learning_rate="
            "1e-3)) so that they live in its state"
        )
    return opt_state


def _member_count(
    seeds: Sequence[int] | None, stacked: int | None, hyperparams: Mapping[str, Sequence[float]]
) -> int:
    sizes = {}
    if seeds is not None:
        sizes["seeds"] = len(seeds)
    if stacked is not None:
        sizes["the stacked params' leading axis"] = stacked
    for name, values in hyperparams.items():
        sizes[f"hyperparams[{name!r}]"] = len(values)
    if not sizes:
        raise ValueError(
            "give seeds (one per member), stacked params or per-member hyperparameters"
        )
    if len(set(sizes.values())) != 1:
        raise ValueError(f"the ensemble's members disagree in number: {sizes}")
    size = next(iter(sizes.values()))
    if size < 1:
        raise ValueError("an ensemble needs at least one member")
    return size


def _stack(trees: Sequence[Any]) -> Any:
    # On the host: stacking on device would compile one small program per leaf shape.
    return jax.tree.map(
        lambda *leaves: jnp.asarray(np.stack([np.asarray(leaf) for leaf in leaves])), *trees
    )


def fit_ensemble(
    loss_fn: LossFn | Any,
    init: Callable[[jax.Array], Any] | Any,
    train_data: Any,
    val_data: Any | None = None,
    *,
    seeds: Sequence[int] | None = None,
    epochs: int = 100,
    batch_size: int = 32,
    optimizer: optax.GradientTransformation | None = None,
    learning_rate: float | Sequence[float] | None = None,
    hyperparams: Mapping[str, Sequence[float]] | None = None,
    grad_clip_norm: float | None = None,
    patience: int | None = None,
    min_delta: float = 0.0,
    restore_best: bool = True,
    eval_batch_size: int | None = None,
    progress: bool = True,
    mesh: Mesh | None = None,
    ensemble_axis: str = _sharding.ENSEMBLE_AXIS,
    data_axis: str | None = None,
) -> EnsembleResult:
    """Trains E members (seeds and/or hyperparameter settings) at once, vmapped in one jit.

    Member ``m`` is initialized with ``init(jax.random.key(seeds[m]))`` and trained as
    ``fit(loss_fn, params_m, train_data, val_data, seed=seeds[m], ...)`` with its own
    hyperparameters would train it: same shuffles, dropout keys, divergence guard, early
    stopping and best-epoch tracking, to float32 rounding. All members advance together, one
    compiled call per epoch; a member that stops (early stopping or divergence) keeps its
    state while the others go on. A ``DivergenceWarning`` names the members that diverged.

    Per-member hyperparameters: ``learning_rate=[...]`` (one per member) for the default Adam,
    or ``hyperparams={"name": [...]}`` for an ``optimizer`` built with
    ``optax.inject_hyperparams`` (its hyperparameters live in the optimizer state, which is
    what ``vmap`` maps over). For a grid, list every combination: ``seeds=[0, 1, 0, 1],
    learning_rate=[1e-3, 1e-3, 1e-2, 1e-2]``.

    Args:
        loss_fn: ``loss_fn(params, batch, key) -> scalar`` or a ``Forecaster``, as for ``fit``.
        init: ``init(key) -> params`` for one member (e.g. ``model.init``), or parameters
            already stacked on a leading member axis ``[E, ...]``.
        train_data: a pytree of arrays sharing their first (example) axis; all finite.
        val_data: validation data of the same structure, or ``None``.
        seeds: one seed per member (initialization, shuffling, dropout); default
            ``range(E)`` when E is known from stacked params or hyperparameters.
        epochs: epochs per member.
        batch_size: examples per step, clamped to the number of training examples.
        optimizer: an ``optax.GradientTransformation`` shared by all members; default Adam.
        learning_rate: the default Adam's rate: one float for all, or one per member.
        hyperparams: per-member values of ``optimizer``'s injected hyperparameters.
        grad_clip_norm: clip every member's gradients to this global norm, or ``None``.
        patience: stop a member after this many epochs without improvement (see ``fit``).
        min_delta: the improvement that counts.
        restore_best: return each member's best epoch's parameters as ``params``.
        eval_batch_size: validate in chunks of this many examples.
        progress: show a tqdm progress bar.
        mesh: a ``jax.sharding.Mesh`` whose ``ensemble_axis`` splits the members over
            devices (E must be a multiple of its size); with ``data_axis`` each member's
            minibatches are split too (a 2-D mesh, e.g. ``("ensemble", "data")``).
        ensemble_axis: the mesh axis that splits the members.
        data_axis: the mesh axis that splits each minibatch, or ``None``.

    Returns:
        An ``EnsembleResult``.

    Raises:
        ValueError: on bad arguments or data, inconsistent member counts, an ensemble or batch
            the mesh axes do not divide, or hyperparameters the optimizer does not inject.
        TypeError: ``mesh`` is not a ``jax.sharding.Mesh``.

    Examples:
        Three learning rates of one forecaster, trained together:

        >>> import jax, numpy as np
        >>> from rnnax import forecasting
        >>> t = np.arange(200, dtype=np.float32)
        >>> windows = np.lib.stride_tricks.sliding_window_view(np.sin(t / 4), 14)
        >>> data = (windows[:, :12, None], windows[:, 12:, None])
        >>> model = forecasting.forecaster(forecasting.ForecasterConfig(horizon=2, hidden=4))
        >>> result = fit_ensemble(model, model.init, data, seeds=[0, 0, 0], epochs=5,
        ...                       learning_rate=[1e-3, 3e-3, 1e-2], progress=False)
        >>> result.train_loss.shape, result.hyperparams["learning_rate"].tolist()
        ((3, 5), [0.001, 0.003, 0.01])
        >>> bool(result.train_loss[2, -1] < result.train_loss[0, -1])  # the larger rate
        True

        With ``mesh=jax.make_mesh((3,), ("ensemble",))`` on 3 devices each member would train
        on its own device, with the same numbers; ``result.params`` would then be split as
        ``PartitionSpec("ensemble")``.
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
    if seeds is not None:
        seeds = [check_int(f"seeds[{index}]", seed, minimum=0) for index, seed in enumerate(seeds)]
    per_member, shared_rate = _per_member_hyperparams(optimizer, learning_rate, hyperparams)
    loss, adapter = objective(loss_fn)
    size = _member_count(seeds, _stacked_size(init), per_member)
    seeds = list(range(size)) if seeds is None else seeds
    if mesh is not None:
        mesh = _sharding.check_mesh(mesh)
        _sharding.axis_size(mesh, ensemble_axis, "ensemble_axis")
        _sharding.check_divisible("the ensemble size (members)", size, mesh, ensemble_axis)
        if data_axis is not None:
            _sharding.axis_size(mesh, data_axis, "data_axis")
    elif data_axis is not None:
        raise ValueError("data_axis needs a mesh; pass mesh= as well")

    train, num_train = prepare_data(train_data, "train_data", adapter)
    val, num_val = (None, 0) if val_data is None else prepare_data(val_data, "val_data", adapter)
    if mesh is not None and data_axis is not None:
        _sharding.check_batch_size(batch_size, num_train, mesh, data_axis)
        if eval_batch_size is not None and eval_batch_size < num_val:
            _sharding.check_divisible("eval_batch_size", eval_batch_size, mesh, data_axis)
    batch_size = min(batch_size, num_train)
    optimizer = _ensemble_optimizer(
        optimizer, learning_rate, shared_rate, per_member, grad_clip_norm
    )
    params, opt_state, rngs = _initial_members(init, seeds, optimizer, per_member)

    placement = None
    if mesh is not None:
        constrain = None if data_axis is None else _sharding.LeadingAxisConstraint(mesh, data_axis)
        placement = MemberPlacement(mesh, ensemble_axis, constrain)
        member_split = _sharding.split_leading(mesh, ensemble_axis)
        params, opt_state, rngs = jax.device_put((params, opt_state, rngs), member_split)
        train = _sharding.place_data(train, mesh, "train_data")
        val = None if val is None else _sharding.place_data(val, mesh, "val_data")
    run_epoch, select = cached(
        ensemble_epochs, loss, optimizer, num_train, batch_size, num_val, eval_batch_size, placement
    )

    def advance(params: Any, opt_state: Any, rngs: Any, active: np.ndarray) -> Any:
        return run_epoch(params, opt_state, rngs, jnp.asarray(active), train, val)

    labels = tuple(f"member {index} (seed {seed}): " for index, seed in enumerate(seeds))
    rules = _engine.Rules(
        patience,
        float(min_delta),
        val is not None,
        lambda m, a, b: select(jnp.asarray(m), a, b),
        labels,
    )
    start = _engine.start(params, opt_state, rngs, size, best_params=params)
    with _engine.progress_bar(progress, epochs, 0, f"fit_ensemble ({size} members)") as bar:
        state = _engine.train(start, advance, rules, epochs=epochs, bar=bar)
    _warn_divergence(state)
    return _result(state, seeds, per_member, restore_best, select)


def _warn_divergence(state: Members) -> None:
    """One ``DivergenceWarning`` naming every member that diverged."""
    bad = [record for record in state.diverged if record is not None]
    if bad:
        warnings.warn(
            f"{len(bad)} of {state.size} members diverged and stopped early: "
            + "; ".join(record.message for record in bad),
            DivergenceWarning,
            stacklevel=3,
        )


def _result(
    state: Members,
    seeds: Sequence[int],
    per_member: Mapping[str, Sequence[float]],
    restore_best: bool,
    select: Callable[..., Any],
) -> EnsembleResult:
    """The ``EnsembleResult`` of the engine's final state."""
    # Members that never improved (a NaN loss from the first epoch) keep their last parameters.
    chosen = (
        select(jnp.asarray(state.best_epoch >= 0), state.best_params, state.params)
        if restore_best
        else state.params
    )
    size, epochs_run = state.size, len(state.train_loss)
    return EnsembleResult(
        params=chosen,
        last_params=state.params,
        opt_state=state.opt_state,
        seeds=tuple(int(seed) for seed in seeds),
        hyperparams={name: np.asarray(values, np.float64) for name, values in per_member.items()},
        train_loss=np.stack(state.train_loss, axis=1) if epochs_run else np.zeros((size, 0)),
        val_loss=np.stack(state.val_loss, axis=1) if epochs_run else np.zeros((size, 0)),
        epoch_seconds=tuple(state.epoch_seconds),
        steps=state.steps,
        best_epoch=state.best_epoch,
        best_loss=state.best_loss,
        stop_reason=state.stop_reason,
        diverged=state.diverged,
    )


def _positive_rate(value: object, where: str) -> float:
    """A learning rate: a positive number (not a bool)."""
    # cast: a numbers.Real orders against numbers; typeshed declares only its __lt__ and __le__.
    if isinstance(value, bool) or not is_real_number(value) or not cast(float, value) > 0:
        raise ValueError(f"{where} must be a positive number, got {value!r}")
    return float(cast(float, value))


def _per_member_hyperparams(
    optimizer: optax.GradientTransformation | None,
    learning_rate: Any,
    hyperparams: Mapping[str, Sequence[float]] | None,
) -> tuple[dict[str, list[float]], float | None]:
    """The hyperparameters that vary by member, and the learning rate shared by all (if any)."""
    if optimizer is not None and learning_rate is not None:
        raise ValueError(
            "pass learning_rate only with the default optimizer; use hyperparams= "
            "with an optax.inject_hyperparams optimizer instead"
        )
    if hyperparams is not None and optimizer is None:
        raise ValueError(
            "hyperparams= needs an optimizer built with optax.inject_hyperparams; "
            "for the default Adam pass learning_rate=[...] instead"
        )
    per_member: dict[str, list[float]] = {}
    for name, values in dict(hyperparams or {}).items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            raise ValueError(
                f"hyperparams[{name!r}] must be a sequence with one value per member, "
                f"got {values!r}"
            )
        per_member[name] = [float(value) for value in values]
    shared_rate = None
    if learning_rate is not None and not callable(learning_rate):
        if is_real_number(learning_rate):
            shared_rate = _positive_rate(learning_rate, "learning_rate")
        else:
            per_member["learning_rate"] = [
                _positive_rate(value, f"learning_rate[{index}]")
                for index, value in enumerate(cast(Sequence[float], learning_rate))
            ]
    return per_member, shared_rate


def _stacked_size(init: Any) -> int | None:
    """The member count of stacked parameters, ``None`` for an ``init`` function."""
    if callable(init):
        return None
    leaves = jax.tree.leaves(init)
    if not leaves or any(np.ndim(leaf) == 0 for leaf in leaves):
        raise ValueError(
            "init must be a function of a PRNG key or parameters stacked on a leading member axis"
        )
    sizes = {int(np.shape(leaf)[0]) for leaf in leaves}
    if len(sizes) != 1:
        raise ValueError(
            f"stacked params must share their leading (member) axis, got sizes {sorted(sizes)}"
        )
    return sizes.pop()


def _ensemble_optimizer(
    optimizer: optax.GradientTransformation | None,
    learning_rate: Any,
    shared_rate: float | None,
    per_member: Mapping[str, Sequence[float]],
    grad_clip_norm: float | None,
) -> optax.GradientTransformation:
    """The optimizer all members share (Adam with injected rates when they differ)."""
    if optimizer is None:
        rates = per_member.get("learning_rate")
        if rates is not None:
            optimizer = cached(injected_adam, rates[0])
        else:
            rate = DEFAULT_LEARNING_RATE if shared_rate is None else shared_rate
            if callable(learning_rate):
                rate = learning_rate
            optimizer = cached(default_optimizer, rate)
    if grad_clip_norm is not None:
        optimizer = cached(clipped, optimizer, float(grad_clip_norm))
    return optimizer


def _initial_members(
    init: Any,
    seeds: Sequence[int],
    optimizer: optax.GradientTransformation,
    per_member: Mapping[str, Sequence[float]],
) -> tuple[Any, Any, jax.Array]:
    """The members' stacked parameters, optimizer states and PRNG keys.

    Each member on its own, eagerly (initializers with QR decompositions compile slowly under
    vmap), then stacked.
    """
    if callable(init):
        members = [jax.tree.map(jnp.asarray, init(jax.random.key(seed))) for seed in seeds]
    else:
        host = jax.tree.map(np.asarray, init)
        members = [jax.tree.map(lambda leaf, i=index: leaf[i], host) for index in range(len(seeds))]
    states = []
    for index, member in enumerate(members):
        with jax.numpy_dtype_promotion("standard"):
            state = optimizer.init(member)
        if per_member:
            state = _set_hyperparams(
                state, {name: values[index] for name, values in per_member.items()}
            )
        states.append(state)
    rngs = jax.random.wrap_key_data(
        jnp.stack([np.asarray(jax.random.key_data(jax.random.key(seed))) for seed in seeds])
    )
    return _stack(members), _stack(states), rngs
