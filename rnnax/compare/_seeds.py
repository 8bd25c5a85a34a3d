"""Seed-parallel training: K seeds of one model trained together in one jit via ``jax.vmap``.

Every seed has its own initialization, minibatch order and optimizer state; the K copies are
stacked on a leading axis and one compiled call advances all of them by ``eval_every`` steps
(``rnnax.training``'s sampled-steps epoch: a ``lax.scan`` over steps inside a ``vmap`` over
seeds), then scores every seed on the validation data; the training engine keeps each seed's
best parameters. There is no Python loop over seeds.

Given a ``jax.sharding.Mesh`` (``mesh=`` or :meth:`SeedTrainer.shard_seeds`), the seed axis is
split over one of its axes, so K seeds train on up to K devices at once; without one (the
default) nothing changes.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh

from rnnax import _sharding
from rnnax._checks import check_real
from rnnax.training import _engine, _epochs

SeedState = _engine.Members
"""The state of K runs: the engine's members, every array with a leading seed axis."""

LossFn = Callable[[Any, Any], jax.Array]
"""``loss_fn(params, batch) -> scalar``; ``batch`` is a slice of the data pytree."""


@dataclasses.dataclass
class SeedRun:
    """What :func:`train_seeds` (or a :class:`SeedTrainer` driven by hand) records.

    Attributes:
        seeds: the seeds, in the order of the leading axis.
        steps: optimizer steps done at each evaluation (one per chunk), ``[E]``.
        seconds: training wall time at each evaluation, compile excluded, ``[E]``.
        val_loss: validation loss per seed at each evaluation, ``[K, E]``.
        train_loss: mean minibatch loss per seed over each chunk, ``[K, E]``.
        compile_s: seconds to lower and compile the chunk of steps.
        train_s: total training wall time (compile excluded).
        best_params: each seed's parameters at its lowest validation loss (leading seed axis).
        final_params: each seed's parameters after the last step.
    """

    seeds: tuple[int, ...]
    steps: list[int]
    seconds: list[float]
    val_loss: list[np.ndarray]
    train_loss: list[np.ndarray]
    compile_s: float = 0.0
    train_s: float = 0.0
    best_params: Any = None
    final_params: Any = None

    def val_matrix(self) -> np.ndarray:
        """Validation losses ``[K, E]``."""
        return np.stack(self.val_loss, axis=1)

    def train_matrix(self) -> np.ndarray:
        """Chunk-mean training losses ``[K, E]``."""
        return np.stack(self.train_loss, axis=1)


def _per_seed_rates(learning_rate: float | Sequence[float], seeds: int) -> list[float] | None:
    """``None`` for one learning rate shared by every seed, else the per-seed list (checked)."""
    if isinstance(learning_rate, Sequence):
        rates = [
            check_real("learning_rate", rate, minimum=0.0, exclusive=True) for rate in learning_rate
        ]
        if len(rates) != seeds:
            raise ValueError(
                f"learning_rate must have one rate per seed ({seeds}), got {len(rates)}"
            )
        return rates
    check_real("learning_rate", learning_rate, minimum=0.0, exclusive=True)
    return None


def _num_examples(data: Any) -> int:
    sizes = {int(np.shape(leaf)[0]) for leaf in jax.tree.leaves(data)}
    if len(sizes) != 1:
        raise ValueError(
            f"every array of the data must have the same number of examples, got {sorted(sizes)}"
        )
    return sizes.pop()


class SeedTrainer:
    """Trains K seeds of one model in parallel, ``eval_every`` steps per compiled call.

    Args:
        init_fn: ``init_fn(key) -> params`` for one seed.
        loss_fn: ``loss_fn(params, batch) -> scalar`` (mean over the batch).
        train_data: pytree of arrays sharing their first (example) axis.
        val_data: validation data of the same structure.
        seeds: the seeds; seed ``s`` initializes with ``fold_in(key(s), 0)`` and draws its
            minibatches from ``fold_in(key(s), 1)``.
        batch_size: examples per step (clamped to the number of training examples), drawn
            without replacement at every step.
        learning_rate: Adam's learning rate: one for every seed, or one per seed (a sequence
            as long as ``seeds``), so that one compiled call trains several learning rates
            side by side (a learning-rate search).
        grad_clip_norm: clip each seed's gradient to this global norm first.
        eval_every: optimizer steps per compiled call.
        mesh: a ``jax.sharding.Mesh`` to split the seeds over (see :meth:`shard_seeds`), or
            ``None`` (default): one device, as before.
        seed_axis: the mesh axis that splits the seeds.
    """

    def __init__(
        self,
        init_fn: Callable[[jax.Array], Any],
        loss_fn: LossFn,
        train_data: Any,
        val_data: Any,
        seeds: Sequence[int],
        *,
        batch_size: int,
        learning_rate: float | Sequence[float],
        grad_clip_norm: float = 1.0,
        eval_every: int,
        mesh: Mesh | None = None,
        seed_axis: str = _sharding.ENSEMBLE_AXIS,
    ) -> None:
        self.seeds = tuple(int(seed) for seed in seeds)
        if not self.seeds:
            raise ValueError("seeds must not be empty")
        self.train_data = jax.tree.map(jnp.asarray, train_data)
        self.val_data = jax.tree.map(jnp.asarray, val_data)
        self.num_train = _num_examples(self.train_data)
        self.batch_size = min(int(batch_size), self.num_train)
        self.eval_every = int(eval_every)
        self.loss_fn = loss_fn
        self.learning_rates = _per_seed_rates(learning_rate, len(self.seeds))
        # One learning rate per seed lives in the optimizer state (inject_hyperparams), so the
        # vmap over seeds carries it; a single rate stays a constant of the compiled step.
        adam = (
            optax.adam(learning_rate)
            if self.learning_rates is None
            else optax.inject_hyperparams(optax.adam)(learning_rate=self.learning_rates[0])
        )
        self.optimizer = optax.chain(optax.clip_by_global_norm(grad_clip_norm), adam)
        self._init_fn = init_fn
        self._epoch = _epochs.sampled_steps_epoch(
            loss_fn, self.optimizer, self.num_train, self.batch_size, self.eval_every
        )
        self._chunk, self._select = _epochs.member_epochs(self._epoch, None)
        self._compiled: Any = None
        self._compiled_select: Any = None
        self.mesh: Mesh | None = None
        self.seed_axis: str | None = None
        if mesh is not None:
            self.shard_seeds(mesh, seed_axis)

    def shard_seeds(self, mesh: Mesh, seed_axis: str = _sharding.ENSEMBLE_AXIS) -> SeedTrainer:
        """Splits the seed axis over mesh axis ``seed_axis``: each device trains K / n seeds.

        The data is copied to every device; each seed's numbers are those of the unsharded
        trainer, to float32 rounding. Call it before the first ``compile`` or ``advance``.

        Args:
            mesh: the ``jax.sharding.Mesh``.
            seed_axis: its axis to split the seeds over; its size must divide K.

        Returns:
            ``self``.

        Raises:
            TypeError: ``mesh`` is not a ``Mesh``.
            ValueError: ``seed_axis`` is not a mesh axis, or its size does not divide K.
            RuntimeError: the chunk has been compiled already.
        """
        if self._compiled is not None:
            raise RuntimeError("shard_seeds must be called before the trainer compiles its chunk")
        mesh = _sharding.check_mesh(mesh)
        _sharding.axis_size(mesh, seed_axis, "seed_axis")
        _sharding.check_divisible("the number of seeds", len(self.seeds), mesh, seed_axis)
        self.mesh, self.seed_axis = mesh, seed_axis
        self.train_data = _sharding.place_data(self.train_data, mesh, "train_data")
        self.val_data = _sharding.place_data(self.val_data, mesh, "val_data")
        # Every output (state, losses) has the seed axis first: keep it split, chunk to chunk.
        self._chunk, self._select = _epochs.member_epochs(
            self._epoch, _epochs.MemberPlacement(mesh, seed_axis, None)
        )
        return self

    def _init_one(self, index: int) -> tuple[Any, Any, jax.Array]:
        seed_key = jax.random.key(self.seeds[index])
        params = self._init_fn(jax.random.fold_in(seed_key, 0))
        with jax.numpy_dtype_promotion("standard"):  # optax is not strict-promotion clean
            opt_state = self.optimizer.init(params)
        if self.learning_rates is not None:
            clip_state, adam_state = opt_state
            rate = jnp.asarray(self.learning_rates[index], jnp.float32)
            hyperparams = {**adam_state.hyperparams, "learning_rate": rate}
            opt_state = (clip_state, adam_state._replace(hyperparams=hyperparams))
        return params, opt_state, jax.random.fold_in(seed_key, 1)

    # -- driving -------------------------------------------------------------------------------
    def init(self) -> SeedState:
        """The stacked initial state of every seed.

        Each seed is initialized on its own (eagerly: op by op, which costs milliseconds, where
        compiling a vmapped initializer with its QR decompositions takes seconds) and the K
        states are stacked on a leading axis; everything after this runs vmapped.
        """
        states = [self._init_one(index) for index in range(len(self.seeds))]
        params, opt_state, keys = jax.tree.map(lambda *leaves: jnp.stack(leaves), *states)
        if self.mesh is not None:
            params, opt_state, keys = jax.device_put(
                (params, opt_state, keys), _sharding.split_leading(self.mesh, self.seed_axis)
            )
        # Each seed's best parameters start as its initial ones.
        return _engine.start(params, opt_state, keys, len(self.seeds), best_params=params)

    def compile(self, state: SeedState) -> float:
        """Lowers and compiles the chunk ahead of time; returns the seconds it took (0 if this
        trainer has compiled it already: all its states have the same shapes)."""
        if self._compiled is not None:
            return 0.0
        start = time.perf_counter()
        active = jnp.ones(len(self.seeds), bool)
        # Traced under the mesh, so rnnax's cores leave the devices to it.
        with _sharding.mesh_context(self.mesh):
            chunk: Any = getattr(self._chunk, "jitted", self._chunk)
            select: Any = getattr(self._select, "jitted", self._select)
            self._compiled = chunk.lower(
                state.params, state.opt_state, state.rng, active, self.train_data, self.val_data
            ).compile()
            self._compiled_select = select.lower(active, state.params, state.params).compile()
        return time.perf_counter() - start

    def _advance(self, params: Any, opt_state: Any, rng: Any, active: np.ndarray) -> Any:
        return self._compiled(
            params, opt_state, rng, jnp.asarray(active), self.train_data, self.val_data
        )

    def _rules(self) -> _engine.Rules:
        # Each seed's best parameters: those of its lowest validation loss so far.
        return _engine.Rules(
            patience=None,
            min_delta=0.0,
            monitor_val=True,
            select=lambda mask, new, old: self._compiled_select(jnp.asarray(mask), new, old),
            labels=tuple(f"seed {seed}: " for seed in self.seeds),
        )

    def start(self, state: SeedState) -> SeedRun:
        """An empty run record for ``state``."""
        del state
        return SeedRun(seeds=self.seeds, steps=[], seconds=[], val_loss=[], train_loss=[])

    def advance(self, state: SeedState, run: SeedRun) -> SeedState:
        """Runs one chunk of ``eval_every`` steps for every seed and records it in ``run``."""
        if self._compiled is None:
            run.compile_s += self.compile(state)
        begin = time.perf_counter()
        state = _engine.run_one_epoch(state, self._advance, self._rules())
        run.train_s += time.perf_counter() - begin
        run.steps.append((run.steps[-1] if run.steps else 0) + self.eval_every)
        run.seconds.append(run.train_s)
        run.val_loss.append(state.val_loss[-1])
        run.train_loss.append(state.train_loss[-1])
        return state

    def finish(self, state: SeedState, run: SeedRun) -> SeedRun:
        """Stores the best and final parameters in ``run`` and returns it."""
        run.best_params = state.best_params
        run.final_params = state.params
        return run


def train_seeds(trainer: SeedTrainer, steps: int) -> SeedRun:
    """Trains every seed of ``trainer`` for ``steps`` steps (rounded up to whole chunks)."""
    state = trainer.init()
    run = trainer.start(state)
    run.compile_s = trainer.compile(state)
    for _ in range(-(-int(steps) // trainer.eval_every)):
        state = trainer.advance(state, run)
    return trainer.finish(state, run)


def take_seed(tree: Any, index: int) -> Any:
    """The ``index``-th seed's slice of a seed-stacked pytree."""
    return jax.tree.map(lambda leaf: leaf[index], tree)
