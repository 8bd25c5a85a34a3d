"""A run's record: what a checkpoint says about the run that wrote it, so that only that run
resumes it, and the words for how another run differs.

``fit`` stores the record as its checkpoint's metadata (a plain dict of JSON-able values):

* ``train_data`` / ``val_data``: a fingerprint of the data (SHA-256 over every leaf's path,
  dtype, shape and bytes, read from host memory; ``None`` without validation data);
* ``params`` / ``opt_state``: the layout of the parameters and of the optimizer's state,
  ``{leaf path: [dtype, shape]}`` (structure, shapes and dtypes, not values);
* ``loss``: the loss's identity where it is describable: a trainable model's configuration
  (a ``Forecaster``'s ``ForecasterConfig`` repr), or a plain function's
  ``module.qualname``; ``None`` otherwise (then it is not compared);
* ``seed``, ``batch_size``, ``num_train``, ``num_val``: the run's settings;
* ``run_record``: the version of this record, so a checkpoint written before it existed (or by
  a later format) is refused by name rather than resumed unchecked.

A host fingerprints the examples it holds, which is why ``fit`` refuses a ``checkpoint_dir``
when several processes run: one shared Orbax folder would record only one host's part.

Examples:
    >>> import numpy as np
    >>> a = data_fingerprint((np.zeros((4, 2), np.float32), np.ones(4, np.float32)))
    >>> a == data_fingerprint((np.zeros((4, 2), np.float32), np.ones(4, np.float32)))
    True
    >>> a == data_fingerprint((np.zeros((4, 2), np.float64), np.ones(4, np.float32)))
    False
    >>> tree_layout({"w": np.zeros((3, 2), np.float32)})
    {"['w']": ['float32', [3, 2]]}
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

import jax
import numpy as np

RECORD_VERSION = 1
"""The version of the record's layout (``metadata["run_record"]``)."""

Record = dict[str, Any]


def _leaf_bytes(array: np.ndarray) -> memoryview:
    """The array's bytes in C order, without a copy when it is already contiguous."""
    return np.ascontiguousarray(array).reshape(-1).view(np.uint8).data


def data_fingerprint(data: Any) -> str | None:
    """SHA-256 (hex) over every leaf's path, dtype, shape and bytes; ``None`` for ``None``.

    A global array that this process does not hold entirely (a multi-host run) contributes
    the shards this process holds, with their positions.
    """
    if data is None:
        return None
    digest = hashlib.sha256()
    for path, leaf in jax.tree_util.tree_flatten_with_path(data)[0]:
        if isinstance(leaf, jax.Array) and not leaf.is_fully_addressable:
            pieces = [
                (str(shard.index), np.asarray(shard.data)) for shard in leaf.addressable_shards
            ]
            pieces.sort(key=lambda piece: piece[0])
        else:
            pieces = [("", np.asarray(leaf))]
        digest.update(f"{jax.tree_util.keystr(path)}|{np.shape(leaf)}|".encode())
        for where, array in pieces:
            digest.update(f"{where}|{array.dtype.str}{array.dtype.name}|".encode())
            digest.update(_leaf_bytes(array))
    return digest.hexdigest()


def _leaf_name(path: tuple[Any, ...], root: str) -> str:
    """A leaf's path as a user reads it: ``encoder[0][0].w_h``, ``params['w']``."""
    name = jax.tree_util.keystr(path)
    if name.startswith("."):
        return name[1:]
    return root + name


def tree_layout(tree: Any, root: str = "") -> dict[str, list[Any]]:
    """``{leaf path: [dtype, shape]}``: a pytree's structure, shapes and dtypes (no values)."""
    layout = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
        dtype = getattr(leaf, "dtype", None)
        layout[_leaf_name(path, root)] = [
            str(dtype if dtype is not None else np.asarray(leaf).dtype),
            [int(size) for size in np.shape(leaf)],
        ]
    return layout


def loss_identity(loss_fn: Any, adapter: Any) -> str | None:
    """What the loss is, where that can be said the same way in another process.

    A trainable model with a ``config`` (a ``Forecaster``): the config's repr. A plain
    function: ``module.qualname``. Anything else (a ``functools.partial``, a repr holding a
    memory address): ``None``, not compared.
    """
    if adapter is not None:
        config = getattr(adapter, "config", None)
        model = type(loss_fn)
        described = (
            repr(config) if config is not None else f"{model.__module__}.{model.__qualname__}"
        )
        return None if " at 0x" in described else described
    module = getattr(loss_fn, "__module__", None)
    qualname = getattr(loss_fn, "__qualname__", None)
    if not (isinstance(module, str) and isinstance(qualname, str)):
        return None
    return f"{module}.{qualname}"


def run_record(
    *,
    loss_fn: Any,
    adapter: Any,
    train: Any,
    val: Any,
    params: Any,
    opt_state: Any,
    seed: int,
    batch_size: int,
    num_train: int,
    num_val: int,
) -> Record:
    """The record of a run, as its checkpoints store it (see the module docstring)."""
    return {
        "run_record": RECORD_VERSION,
        "seed": int(seed),
        "batch_size": int(batch_size),
        "num_train": int(num_train),
        "num_val": int(num_val),
        "train_data": data_fingerprint(train),
        "val_data": data_fingerprint(val),
        "params": tree_layout(params, "params"),
        "opt_state": tree_layout(opt_state, "opt_state"),
        "loss": loss_identity(loss_fn, adapter),
    }


def _shape(shape: list[int]) -> str:
    return str(tuple(shape))


def _layout_difference(saved: dict[str, Any], current: dict[str, Any]) -> str | None:
    """How two layouts differ, in words (the first differing leaf), or ``None``."""
    if saved == current:
        return None
    there_only = [path for path in saved if path not in current]
    here_only = [path for path in current if path not in saved]
    if there_only or here_only:
        parts = [f"{there_only[0]} there only" if there_only else ""]
        parts.append(f"{here_only[0]} here only" if here_only else "")
        extra = len(there_only) + len(here_only) - sum(1 for part in parts if part)
        more = f" (and {extra} more)" if extra else ""
        return f"of another structure: {', '.join(part for part in parts if part)}{more}"
    changed = [path for path in current if list(saved[path]) != list(current[path])]
    first = changed[0]
    (dtype_there, shape_there), (dtype_here, shape_here) = saved[first], current[first]
    more = f" (and {len(changed) - 1} more)" if len(changed) > 1 else ""
    if list(shape_there) != list(shape_here):
        if dtype_there == dtype_here:
            there, here = _shape(shape_there), _shape(shape_here)
        else:
            there = f"{dtype_there} {_shape(shape_there)}"
            here = f"{dtype_here} {_shape(shape_here)}"
        return f"of other shapes: {first} is {there} there, {here} here{more}"
    return f"of other dtypes: {first} is {dtype_there} there, {dtype_here} here{more}"


def _short(fingerprint: str | None) -> str:
    return "none" if fingerprint is None else f"{fingerprint[:12]}..."


def _data_difference(saved: Record, current: Record, key: str, count: str) -> str | None:
    """How the training (``key="train_data"``) or validation data differ, in words."""
    what = "training" if key == "train_data" else "validation"
    there, here = saved.get(key), current[key]
    if there == here and saved.get(count) == current[count]:
        return None
    if there is None or here is None:
        return f"{'without' if there is None else 'with'} {what} data there, " + (
            f"{'without' if here is None else 'with'} {what} data here"
        )
    sizes = (
        f"{saved.get(count)} examples there, {current[count]} here; "
        if saved.get(count) != current[count]
        else ""
    )
    return (
        f"on different {what} data ({sizes}fingerprint {_short(there)} there, {_short(here)} here)"
    )


def _loss_difference(there: Any, here: Any) -> str | None:
    """How two loss identities differ: the differing ``name=value`` items of two reprs."""
    if there is None or here is None or there == here:
        return None
    items_there, items_here = re.split(r", ", there), re.split(r", ", here)
    if len(items_there) == len(items_here):
        pairs = [(a, b) for a, b in zip(items_there, items_here, strict=True) if a != b]
        there = ", ".join(a for a, _ in pairs)
        here = ", ".join(b for _, b in pairs)
    return f"with another loss ({there} there, {here} here)"


def differences(saved: Record, current: Record) -> list[str]:
    """What differs between a saved record and the current run's, each in words.

    Examples:
        >>> import numpy as np
        >>> def record(seed, rows):
        ...     data = np.zeros((rows, 2), np.float32)
        ...     return run_record(loss_fn=len, adapter=None, train=data, val=None,
        ...                       params={"w": data[0]}, opt_state=(), seed=seed,
        ...                       batch_size=4, num_train=rows, num_val=0)
        >>> differences(record(0, 8), record(0, 8))
        []
        >>> differences(record(0, 8), record(1, 8))
        ['with seed 0 there, 1 here']
    """
    clauses = [
        _data_difference(saved, current, "train_data", "num_train"),
        _data_difference(saved, current, "val_data", "num_val"),
    ]
    params = _layout_difference(saved.get("params", {}), current["params"])
    clauses.append(None if params is None else f"on parameters {params}")
    if params is None:  # other parameters give another optimizer state anyway
        opt_state = _layout_difference(saved.get("opt_state", {}), current["opt_state"])
        clauses.append(
            None if opt_state is None else f"with a different optimizer state ({opt_state})"
        )
    clauses.append(_loss_difference(saved.get("loss"), current["loss"]))
    for key, words in (("seed", "seed"), ("batch_size", "batch size")):
        if saved.get(key) != current[key]:
            clauses.append(f"with {words} {saved.get(key)} there, {current[key]} here")
    return [clause for clause in clauses if clause is not None]


def check_same_run(directory: Path, saved: Record, current: Record) -> None:
    """Refuses a checkpoint that another run (or an unchecked one) wrote, saying why.

    Raises:
        ValueError: the saved record is missing, of another version, or differs from
            ``current``; the message names every difference and how to start over.
    """
    where = repr(os.fspath(directory))
    start_over = (
        "restart=True to train from scratch (overwriting it), or use another checkpoint_dir"
    )
    version = saved.get("run_record")
    if version != RECORD_VERSION:
        what = (
            "was written by an older rnnax (or by save_checkpoint) without a record of the data "
            "and model it was trained on"
            if version is None
            else f"has run record version {version!r}, and this rnnax checks version "
            f"{RECORD_VERSION}"
        )
        raise ValueError(
            f"the checkpoint in {where} {what}, so resuming it could continue another run; "
            f"pass {start_over}"
        )
    found = differences(saved, current)
    if found:
        raise ValueError(
            f"the checkpoint in {where} belongs to a different run: it was trained "
            f"{'; '.join(found)}. Pass {start_over}"
        )
