"""Data and ensemble parallelism over a ``jax.sharding.Mesh``: where every array of a run lives.

``fit``, ``fit_ensemble``, ``rnnax.forecasting.backtest`` and the comparison's seed trainer take
a mesh and name its axes: the *data* axis splits each minibatch (the example axis), the
*ensemble* axis splits the members of an ensemble. Parameters and optimizer state are
replicated unless a user asks otherwise; XLA inserts the gradient all-reduce itself (there is
no hand-written collective in rnnax). The same code runs on 1 device, N devices of one host
and, after ``jax.distributed.initialize``, N hosts: a mesh over ``jax.devices()`` is global.

Whatever axis types the mesh was made with (``jax.make_mesh`` makes ``Explicit`` axes by
default), rnnax computes with the same devices and axis names as ``Auto`` axes: sharding
propagation by XLA from a few placement constraints, which works through any user loss
function. Relabelling an array from one to the other moves no data.

Everything is traced under ``jax.set_mesh``, which also tells rnnax's cores not to split the
batch over the local CPU devices themselves (``rnnax._strategies.batch_devices``): the mesh's
owner decides where data goes, and two splits of one batch would fight.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Any

import jax
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec

DATA_AXIS = "data"
"""The default name of the mesh axis that splits a minibatch."""

ENSEMBLE_AXIS = "ensemble"
"""The default name of the mesh axis that splits the members of an ensemble."""


def check_mesh(mesh: object, argument: str = "mesh") -> Mesh:
    """Returns ``mesh`` with ``Auto`` axes, or raises a ``TypeError`` naming ``argument``."""
    if not isinstance(mesh, Mesh):
        raise TypeError(
            f"{argument} must be a jax.sharding.Mesh (e.g. jax.make_mesh((jax.device_count(),), "
            f"('data',))), got {type(mesh).__name__}"
        )
    if all(kind == AxisType.Auto for kind in mesh.axis_types):
        return mesh
    # Same devices, same names: only how JAX types shardings at trace time changes.
    return Mesh(mesh.devices, mesh.axis_names, axis_types=(AxisType.Auto,) * len(mesh.axis_names))


def axis_size(mesh: Mesh, axis: object, argument: str) -> int:
    """The size of mesh axis ``axis``; a ``ValueError`` naming ``argument`` if there is none."""
    if axis not in mesh.axis_names:
        raise ValueError(
            f"{argument}={axis!r} is not an axis of the mesh, whose axes are "
            f"{dict(mesh.shape)}; name one of them (or build the mesh with that axis name)"
        )
    return int(mesh.shape[axis])


def check_divisible(argument: str, value: int, mesh: Mesh, axis: str) -> None:
    """Raises a ``ValueError`` unless ``value`` splits evenly over mesh axis ``axis``."""
    size = int(mesh.shape[axis])
    if value % size != 0:
        below, above = value - value % size, value - value % size + size
        suggestion = f"{below} or {above}" if below > 0 else f"{above}"
        raise ValueError(
            f"{argument}={value} is not divisible by the size of mesh axis {axis!r} ({size}): "
            f"every device along it must get the same number of examples; use a multiple of "
            f"{size}, e.g. {suggestion}"
        )


def check_batch_size(batch_size: int, num_examples: int, mesh: Mesh, axis: str) -> None:
    """Raises a ``ValueError`` unless the minibatch (``batch_size`` clamped to the number of
    training examples) splits evenly over mesh axis ``axis``."""
    if batch_size <= num_examples:
        check_divisible("batch_size", batch_size, mesh, axis)
        return
    size = int(mesh.shape[axis])
    if num_examples % size != 0:
        raise ValueError(
            f"batch_size={batch_size} is clamped to the {num_examples} training examples, which "
            f"the {size} devices of mesh axis {axis!r} cannot split evenly; pass a batch_size "
            f"that is a multiple of {size} and at most {num_examples}"
            + (f", e.g. {num_examples - num_examples % size}" if num_examples >= size else "")
        )


def replicated(mesh: Mesh) -> NamedSharding:
    """Every device of ``mesh`` holds the whole array."""
    return NamedSharding(mesh, PartitionSpec())


def split_leading(mesh: Mesh, axis: str | None) -> NamedSharding:
    """The leading array axis split over mesh axis ``axis`` (replicated if ``axis`` is None)."""
    return NamedSharding(mesh, PartitionSpec(axis))


@contextlib.contextmanager
def mesh_context(mesh: Mesh | None) -> Iterator[None]:
    """``jax.set_mesh(mesh)`` around tracing and calls, or nothing without a mesh."""
    if mesh is None:
        yield
        return
    with jax.set_mesh(mesh):
        yield


@dataclasses.dataclass(frozen=True)
class LeadingAxisConstraint:
    """Pins the leading axis of every leaf of a pytree to a mesh axis, inside ``jit``.

    Hashable by value, so compiled functions that close over it are cached per mesh and axis.
    Under ``jax.vmap(..., spmd_axis_name=...)`` the mapped axis is added in front by JAX.
    """

    mesh: Mesh
    axis: str

    @property
    def size(self) -> int:
        return int(self.mesh.shape[self.axis])

    def __call__(self, tree: Any) -> Any:
        sharding = split_leading(self.mesh, self.axis)
        return jax.tree.map(lambda leaf: jax.lax.with_sharding_constraint(leaf, sharding), tree)


def _relabel(leaf: Any, sharding: NamedSharding) -> Any:
    return jax.device_put(leaf, sharding)


def place_data(tree: Any, mesh: Mesh, argument: str) -> Any:
    """Puts a data pytree on ``mesh``: arrays already laid out over this mesh's devices (for
    example a global array from ``jax.make_array_from_process_local_data`` on every host) keep
    their layout; everything else is replicated, so any minibatch can be gathered on device.
    """

    def one(leaf: Any) -> Any:
        sharding = getattr(leaf, "sharding", None)
        if isinstance(sharding, NamedSharding):
            if tuple(sharding.mesh.devices.flat) != tuple(mesh.devices.flat) or (
                sharding.mesh.axis_names != mesh.axis_names
            ):
                if not leaf.is_fully_addressable:
                    raise ValueError(
                        f"{argument} holds a global array laid out over another mesh "
                        f"({dict(sharding.mesh.shape)}); build it over the mesh given to fit"
                    )
                return _relabel(leaf, replicated(mesh))
            return _relabel(leaf, NamedSharding(mesh, sharding.spec))
        return _relabel(leaf, replicated(mesh))

    return jax.tree.map(one, tree)


def shard_batch(data: Any, mesh: Mesh, data_axis: str = DATA_AXIS) -> Any:
    """Splits the leading (example) axis of every array of ``data`` over a mesh axis.

    Each device along ``data_axis`` receives an equal, contiguous slice; the other mesh axes
    hold copies. Use it to place data yourself; ``fit`` and ``backtest`` place what they are
    given.

    Args:
        data: a pytree of arrays sharing their leading axis.
        mesh: the ``jax.sharding.Mesh``.
        data_axis: the mesh axis to split over.

    Returns:
        The same pytree of ``jax.Array`` s, sharded as ``PartitionSpec(data_axis)``.

    Raises:
        TypeError: ``mesh`` is not a ``Mesh``.
        ValueError: ``data_axis`` is not an axis of ``mesh``, or the example count is not
            divisible by its size.

    Examples:
        >>> import jax, numpy as np
        >>> mesh = jax.make_mesh((1,), ("data",))
        >>> batch = shard_batch((np.zeros((4, 3)), np.ones((4, 1))), mesh)
        >>> batch[0].sharding.spec
        P('data',)
    """
    mesh = check_mesh(mesh)
    axis_size(mesh, data_axis, "data_axis")
    leaves = jax.tree.leaves(data)
    if not leaves:
        raise ValueError("data holds no arrays")
    sizes = {
        int(leaf.shape[0]) if hasattr(leaf, "shape") and len(leaf.shape) else -1 for leaf in leaves
    }
    if len(sizes) != 1 or -1 in sizes:
        raise ValueError(
            "every array of data must have the same leading (example) axis, got sizes "
            f"{sorted(sizes)}"
        )
    check_divisible("the number of examples", sizes.pop(), mesh, data_axis)
    return jax.tree.map(lambda leaf: jax.device_put(leaf, split_leading(mesh, data_axis)), data)


def _is_spec(node: Any) -> bool:
    return node is None or isinstance(node, (PartitionSpec, NamedSharding))


def param_shardings(mesh: Mesh, params: Any, param_sharding: Any, argument: str) -> Any:
    """NamedShardings for every leaf of ``params``: replicated, or as the user asks.

    ``param_sharding`` is ``None`` (replicate everything) or a pytree prefix of ``params`` whose
    leaves are ``PartitionSpec`` s (or ``None`` for replicated) over the mesh's axes.
    """
    if param_sharding is None:
        return jax.tree.map(lambda _: replicated(mesh), params)

    def expand(spec: Any, subtree: Any) -> Any:
        if isinstance(spec, NamedSharding):
            spec = spec.spec
        spec = PartitionSpec() if spec is None else spec
        for entry in spec:
            for name in entry if isinstance(entry, tuple) else (entry,):
                if name is not None and name not in mesh.axis_names:
                    raise ValueError(
                        f"{argument} names mesh axis {name!r}, but the mesh's axes are "
                        f"{dict(mesh.shape)}"
                    )
        return jax.tree.map(lambda _: NamedSharding(mesh, spec), subtree)

    try:
        return jax.tree.map(expand, param_sharding, params, is_leaf=_is_spec)
    except ValueError as error:
        if "mesh axis" in str(error):
            raise
        raise ValueError(
            f"{argument} must be None or a pytree prefix of the parameters with PartitionSpec "
            f"leaves: {error}"
        ) from None


def opt_state_shardings(optimizer: Any, opt_state: Any, shardings: Any, mesh: Mesh) -> Any:
    """The optimizer state's shardings: each parameter-shaped leaf (Adam's moments, ...) like
    its parameter, everything else (step counts, hyperparameters) replicated."""
    import optax  # the training loop's dependency; imported here to keep this module light

    everything_replicated = jax.tree.map(lambda _: replicated(mesh), opt_state)
    if all(sharding.spec == PartitionSpec() for sharding in jax.tree.leaves(shardings)):
        return everything_replicated
    try:
        return optax.tree_map_params(
            optimizer,
            lambda _, sharding: sharding,
            opt_state,
            shardings,
            transform_non_params=lambda _: replicated(mesh),
            is_leaf=lambda node: isinstance(node, NamedSharding),
        )
    except Exception:
        return everything_replicated


def flat(tree: Any) -> tuple[tuple[Any, ...], Any]:
    """``(leaves, treedef)``: a hashable form of a pytree of shardings, for compile caches."""
    leaves, treedef = jax.tree.flatten(tree, is_leaf=lambda node: isinstance(node, NamedSharding))
    return tuple(leaves), treedef


def unflat(packed: tuple[tuple[Any, ...], Any]) -> Any:
    leaves, treedef = packed
    return jax.tree.unflatten(treedef, leaves)
