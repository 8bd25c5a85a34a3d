"""What training trains: a loss function, or a model that hands training its loss and adapters.

``fit`` and ``fit_ensemble`` take either a plain ``loss_fn(params, batch, key) -> scalar`` or a
*trainable model*: any object with a ``training_adapter()`` method returning a
:class:`TrainingAdapter` (``rnnax.forecasting.Forecaster`` is one). The adapter says how to
turn the user's data into the batches its loss takes and how to check the parameters, so
training never needs to know what a forecaster is. This module also checks the data and the
parameters of a run (before any epoch) and the loss's output.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp
import numpy as np

LossFn = Callable[[Any, Any, "jax.Array | None"], jax.Array]
"""``loss_fn(params, batch, key) -> scalar``: the mean loss of a batch (a slice of the data
pytree along its first axis); ``key`` is a PRNG key in training and ``None`` in evaluation."""


class TrainingAdapter(Protocol):
    """How a model is trained by ``rnnax.training`` (what its ``training_adapter()`` returns).

    Attributes:
        loss: ``loss(params, batch, key) -> scalar``; return the same object every time for
            one model, so that training reuses its compiled epochs.
    """

    @property
    def loss(self) -> LossFn: ...

    def prepare_batch(self, data: Any) -> Any:
        """The user's data as the pytree of arrays ``loss`` takes (leading example axis)."""
        ...

    def prepare_params(self, params: Any) -> Any:
        """The parameters checked for this model and converted to arrays."""
        ...


class Objective(NamedTuple):
    """A run's loss with the model's adapters (``None`` for a plain loss function)."""

    loss: LossFn
    adapter: TrainingAdapter | None


def objective(loss_fn: Any) -> Objective:
    """The objective of ``loss_fn``: a trainable model's adapter, or a plain loss function.

    Raises:
        TypeError: ``loss_fn`` is neither.
    """
    training_adapter = getattr(loss_fn, "training_adapter", None)
    if callable(training_adapter):
        adapter = training_adapter()
        return Objective(adapter.loss, adapter)
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable or a Forecaster, got {type(loss_fn).__name__}")
    return Objective(loss_fn, None)


def _check_finite_examples(where: str, argument: str, shape: tuple[int, ...], pieces: list) -> None:
    """Names the first example with a NaN or Inf in a floating leaf."""
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


def prepare_data(data: Any, argument: str, adapter: TrainingAdapter | None) -> tuple[Any, int]:
    """Validates a data pytree (same leading size, finite floats); returns JAX arrays and N."""
    if adapter is not None:
        data = adapter.prepare_batch(data)
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
            _check_finite_examples(where, argument, shape, pieces)
        elif dtype.kind not in "biu":
            raise ValueError(f"{where} must be a numeric array, got dtype {dtype}")
    if len(set(sizes.values())) != 1:
        raise ValueError(
            f"every array of {argument} must have the same number of examples (first axis), got {sizes}"
        )
    return jax.tree.map(jnp.asarray, data), next(iter(sizes.values()))


def check_params(params: Any) -> Any:
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


def check_scalar_loss(loss_fn: LossFn, params: Any, data: Any, batch_size: int) -> None:
    """Traces ``loss_fn`` on one minibatch's shapes (no computation) to name a non-scalar loss."""
    batch = jax.tree.map(
        lambda leaf: jax.ShapeDtypeStruct((batch_size, *leaf.shape[1:]), leaf.dtype), data
    )
    loss = jax.eval_shape(loss_fn, params, batch, jax.random.key(0))
    if not (isinstance(loss, jax.ShapeDtypeStruct) and loss.shape == ()):
        shape = getattr(loss, "shape", type(loss).__name__)
        raise ValueError(f"loss_fn must return a scalar loss, got {shape}")
