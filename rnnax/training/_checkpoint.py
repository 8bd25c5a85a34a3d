"""Checkpoints of a ``TrainState`` with Orbax: one folder per saved epoch, the last few and the
best one kept, written in the background, read back onto the template's devices and checked.

Layout: ``<checkpoint_dir>/<epoch>/`` for every kept save (an Orbax step, numbered by the epochs
the state had completed), each holding two Orbax items:

* ``arrays/``: the parameters, optimizer state and best parameters (Orbax's standard pytree
  item: tensorstore files, with each array's sharding);
* ``record/record.json``: everything else (Orbax's JSON item, written by this module): the
  run's record (``fit`` stores ``_fingerprint.run_record`` there; ``load_metadata`` reads it),
  the counters, the history, the divergence record, the PRNG key's data and implementation,
  the layout (structure, shapes, dtypes) of the arrays, a SHA-256 of the arrays' bytes and a
  SHA-256 of the record itself.

Why Orbax: it is the JAX ecosystem's checkpointing library. It writes each array from the
devices that hold it, with its sharding, and reads it back laid out like the template (a mesh
run's sharded parameters restore sharded, without a trip through one host's memory); it saves in
a background thread while the next epochs train; and it finalizes a step atomically (everything
is written under ``<epoch>.orbax-checkpoint-tmp`` and renamed to ``<epoch>`` last), so a process
killed at any moment, even by ``SIGKILL`` in the middle of a save, leaves every earlier step
intact and never a torn step (tests/test_fault_injection.py kills real writers). Its costs:
a few tenths of a second to import after JAX (so it is imported by the first save or load,
never by ``import rnnax``), and some 50 ms per save even for a small model (its threads and
event loops, not the bytes: a single msgpack file took about 1 ms). A save runs in the
background while the next epochs train, so an epoch longer than that hides most of it; short
epochs wait for the previous save (pass a larger ``checkpoint_every``).

What is kept: the last ``keep`` saves, and also the save of the best epoch (the last step saved
at an epoch that improved the monitored loss, by ``fit``'s own rule: validation loss, else
training loss, by more than ``min_delta``), so that the whole state of the best epoch (its
optimizer state and PRNG key too) stays on disk. Every checkpoint also holds ``best_params``,
the best epoch's parameters so far, so resuming (always from the latest step) and
``restore_best`` need nothing else. Earlier saves are moved to ``<checkpoint_dir>/.deleted/``
(one atomic rename, so a half-deleted folder never looks like a step) and removed from there.

Checks: Orbax leaves a flipped bit in an array's bytes undetected, so the record carries a
SHA-256 of the arrays and of itself; a damaged step (a truncated, removed or altered file) is a
``ValueError`` naming its folder, never a silently different state. (Orbax does not fsync a
step before its rename: after a power cut, rather than a kill, the newest step may be damaged;
delete its folder to resume from the one before.) Before Orbax reads a step back, every array
is read and decoded once, one after the other, so that damage fails in one clear error rather
than half-way through Orbax's concurrent reads. A folder that holds the
earlier single-file format (``checkpoint.msgpack``) is refused with a ``ValueError`` that says
so: pass ``restart=True`` to train from scratch there.

Give each run a folder of its own, with one writer at a time: every folder in it named by a
number is taken for a step, and opening a writer clears the temporaries of interrupted saves.
Several hosts: not supported yet (``fit`` refuses a ``checkpoint_dir`` in a run of several
processes): Orbax coordinates one folder that every host shares, while each host's run record
fingerprints the data that host holds. The record is written by the first process only.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import shutil
import sys
from pathlib import Path
from typing import Any, BinaryIO

import jax
import jax.numpy as jnp
import numpy as np

from rnnax._checks import check_int
from rnnax.training import _fingerprint
from rnnax.training._state import History, TrainingDiverged, TrainState

ARRAYS = "arrays"
RECORD = "record"
RECORD_FILE = "record.json"
LEGACY_NAME = "checkpoint.msgpack"
TEMPORARY_SUFFIX = ".orbax-checkpoint-tmp"  # Orbax's name for a step still being written
TRASH = ".deleted"
DEFAULT_KEEP = 2
_LEGACY_MAGIC = b"RNNAXCK1"
_FORMAT = "rnnax.training.TrainState"
_FORMAT_VERSION = 2

Metadata = dict[str, Any]


# ------------------------------------------------------------------------------ the folder


def checkpoint_epochs(directory: str | os.PathLike[str]) -> list[int]:
    """The epochs of the complete checkpoints in ``directory``, oldest first."""
    try:
        entries = list(Path(directory).iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(
        int(entry.name)
        for entry in entries
        if entry.name.isascii() and entry.name.isdigit() and entry.is_dir()
    )


def step_directory(directory: str | os.PathLike[str], epoch: int) -> Path:
    """The folder of the checkpoint saved after ``epoch`` epochs."""
    return Path(directory) / str(epoch)


def has_checkpoint(directory: str | os.PathLike[str]) -> bool:
    """Whether ``directory`` holds a checkpoint (of this format or the earlier one)."""
    return bool(checkpoint_epochs(directory)) or (Path(directory) / LEGACY_NAME).is_file()


def temporaries(directory: str | os.PathLike[str]) -> list[Path]:
    """The folders of saves that never finished (killed or failed) still in ``directory``."""
    try:
        return sorted(p for p in Path(directory).iterdir() if TEMPORARY_SUFFIX in p.name)
    except (FileNotFoundError, NotADirectoryError):
        return []


def _discard(path: Path) -> None:
    """Moves ``path`` into the trash folder (one atomic rename), then empties the trash."""
    trash = path.parent / TRASH
    trash.mkdir(exist_ok=True)
    target = trash / path.name
    if target.exists():
        shutil.rmtree(target)
    os.rename(path, target)
    _empty_trash(path.parent)


def _empty_trash(directory: Path) -> None:
    shutil.rmtree(directory / TRASH, ignore_errors=True)


def _legacy_error(directory: Path) -> ValueError:
    path = directory / LEGACY_NAME
    with open(path, "rb") as file:
        head = file.read(len(_LEGACY_MAGIC))
    what = (
        "is an rnnax checkpoint in the earlier single-file format, which this rnnax no longer reads"
        if head == _LEGACY_MAGIC
        else "is not an rnnax training checkpoint"
    )
    return ValueError(
        f"{os.fspath(path)!r} {what} (checkpoints are now Orbax folders, one per saved epoch). "
        "Pass restart=True to train from scratch (the first save deletes it), or use another "
        "checkpoint_dir"
    )


# ------------------------------------------------------------------------------ the record


def _arrays(state: TrainState) -> dict[str, Any]:
    """The state's arrays as Orbax saves them (the parameters stand in for missing best ones)."""
    best = state.params if state.best_params is None else state.best_params
    return {"params": state.params, "opt_state": state.opt_state, "best_params": best}


def _arrays_sha256(arrays: Any) -> str | None:
    """SHA-256 over the arrays' paths, dtypes, shapes and bytes; ``None`` if this process does
    not hold every array whole (a multi-host run), where it could not be checked alike."""
    leaves = jax.tree.leaves(arrays)
    if not all(getattr(leaf, "is_fully_addressable", True) for leaf in leaves):
        return None
    return _fingerprint.data_fingerprint(arrays)


def _canonical(body: dict[str, Any]) -> bytes:
    content = {key: value for key, value in body.items() if key != "sha256"}
    return json.dumps(content, sort_keys=True, separators=(",", ":")).encode()


def _progress(state: TrainState) -> dict[str, Any]:
    history = state.history
    return {
        "epoch": int(state.epoch),
        "step": int(state.step),
        "best_loss": float(state.best_loss),
        "best_epoch": int(state.best_epoch),
        "epochs_without_improvement": int(state.epochs_without_improvement),
        "stop_reason": state.stop_reason,
        "has_best_params": state.best_params is not None,
        "history": {
            "train_loss": [float(v) for v in history.train_loss],
            "val_loss": [float(v) for v in history.val_loss],
            "epoch_seconds": [float(v) for v in history.epoch_seconds],
            "steps": [int(v) for v in history.steps],
        },
        "diverged": None if state.diverged is None else state.diverged._asdict(),
    }


def _encode(state: TrainState, metadata: Metadata) -> tuple[dict[str, Any], dict[str, Any]]:
    """The record and the arrays Orbax saves for ``state``.

    Raises:
        TypeError: ``metadata`` holds a value JSON cannot store.
    """
    arrays = _arrays(state)
    body = {
        "format": _FORMAT,
        "version": _FORMAT_VERSION,
        "metadata": dict(metadata),
        **_progress(state),
        "rng": {
            "impl": str(jax.random.key_impl(state.rng)),
            "data": np.asarray(jax.random.key_data(state.rng)).tolist(),
        },
        "layout": {
            "params": _fingerprint.tree_layout(arrays["params"], "params"),
            "opt_state": _fingerprint.tree_layout(arrays["opt_state"], "opt_state"),
        },
        "arrays_sha256": _arrays_sha256(arrays),
    }
    body["sha256"] = hashlib.sha256(_canonical(body)).hexdigest()  # also checks JSON-ability
    return body, arrays


def _best_metric(state: TrainState) -> dict[str, float]:
    """Orbax's metric for keeping the best step: the monitored loss at an improving epoch,
    ``inf`` at any other (so the kept one is the last step saved at an improvement)."""
    improved = state.best_epoch == state.epoch - 1 and math.isfinite(state.best_loss)
    return {"best_loss": float(state.best_loss) if improved else math.inf}


def _write_payload(file: BinaryIO, data: bytes) -> None:
    """Writes the record's bytes (a separate function so tests can make it fail or stall)."""
    file.write(data)


def _write_record(path: Path, data: bytes) -> None:
    with open(path, "wb") as file:
        _write_payload(file, data)  # looked up at call time: tests replace it
        file.flush()
        os.fsync(file.fileno())


def read_record(folder: Path) -> dict[str, Any]:
    """The checked record of the checkpoint in ``folder`` (an Orbax step).

    Raises:
        ValueError: the record is missing, truncated, altered or of another format.
    """
    path = folder / RECORD / RECORD_FILE
    where = repr(os.fspath(path))
    advice = "delete that folder to resume from the checkpoint before it, or pass restart=True"
    try:
        raw = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        raise ValueError(
            f"the checkpoint in {os.fspath(folder)!r} is damaged: its record {RECORD}/"
            f"{RECORD_FILE} is missing; {advice}"
        ) from None
    try:
        body = json.loads(raw)
    except ValueError:  # bad JSON, or bytes that are not UTF-8
        raise ValueError(
            f"{where} is corrupted (not valid JSON: truncated or damaged); {advice}"
        ) from None
    if not isinstance(body, dict) or body.get("format") != _FORMAT:
        raise ValueError(f"{where} is not an rnnax training checkpoint record")
    if body.get("version") != _FORMAT_VERSION:
        raise ValueError(
            f"{where} has checkpoint format version {body.get('version')!r}, expected "
            f"{_FORMAT_VERSION}"
        )
    if body.get("sha256") != hashlib.sha256(_canonical(body)).hexdigest():
        raise ValueError(f"{where} is corrupted (checksum mismatch: altered or damaged); {advice}")
    return body


# ------------------------------------------------------------------------------ Orbax


@functools.cache
def _orbax() -> Any:
    """``orbax.checkpoint``, imported on first use: ``import rnnax`` and ``rnnax --help`` must
    not pay for its import."""
    import orbax.checkpoint as ocp

    return ocp


@functools.cache
def _record_handler() -> Any:
    """Orbax's JSON item handler, writing the record through ``_write_record`` (flushed and
    fsync'ed). A class made on first use, as it derives from an Orbax class."""
    ocp = _orbax()
    json_handler: Any = ocp.handlers.JsonCheckpointHandler

    class RecordHandler(json_handler):
        async def async_save(self, directory: Any, item: Any = None, args: Any = None) -> Any:
            data = json.dumps(args.item).encode()

            async def write() -> None:
                if jax.process_index() == 0:
                    _write_record(Path(os.fspath(directory)) / RECORD_FILE, data)

            # Runs in Orbax's background thread once the item's folder exists.
            return [ocp.future.CommitFutureAwaitingContractedSignals(write(), name="rnnax_record")]

    return RecordHandler


def _manager(directory: Path, keep: int, asynchronous: bool) -> Any:
    """An Orbax ``CheckpointManager`` over ``directory``: keeps the last ``keep`` steps and the
    best one, clears the temporaries of interrupted saves, moves deleted steps to the trash."""
    ocp = _orbax()
    policies = ocp.checkpoint_managers
    metric = lambda metrics: metrics["best_loss"]
    registry = ocp.handlers.DefaultCheckpointHandlerRegistry()
    registry.add(ARRAYS, ocp.args.StandardSave, ocp.handlers.StandardCheckpointHandler)
    registry.add(ARRAYS, ocp.args.StandardRestore, ocp.handlers.StandardCheckpointHandler)
    registry.add(RECORD, ocp.args.JsonSave, _record_handler()(filename=RECORD_FILE))
    registry.add(RECORD, ocp.args.JsonRestore, _record_handler()(filename=RECORD_FILE))
    options = ocp.CheckpointManagerOptions(
        best_fn=metric,  # makes Orbax store each step's metric, which BestN reads
        best_mode="min",
        preservation_policy=policies.AnyPreservationPolicy(
            [
                policies.LatestN(n=keep),
                policies.BestN(
                    get_metric_fn=metric, reverse=True, n=1, keep_checkpoints_without_metrics=False
                ),
            ]
        ),
        cleanup_tmp_directories=True,
        todelete_subdir=TRASH,
        enable_async_checkpointing=asynchronous,
    )
    # Orbax takes absolute paths only.
    return ocp.CheckpointManager(directory.absolute(), options=options, handler_registry=registry)


class CheckpointWriter:
    """Saves the states of one run into ``directory``, one Orbax step per saved epoch.

    Nothing is touched before the first save, which first removes the steps it supersedes:
    every earlier checkpoint (and an earlier-format file) with ``replace_all`` (a run that
    starts over), else those of this epoch or later (the new save is the latest). ``close``
    waits for the last save; an error of a background save is raised by the next ``save`` or
    by ``close``, and the unfinished save's temporary folder is removed.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        metadata: Metadata | None = None,
        *,
        keep: int = DEFAULT_KEEP,
        asynchronous: bool = True,
        replace_all: bool = False,
    ) -> None:
        self.directory = Path(directory)
        self._metadata = dict(metadata or {})
        self._keep = keep
        self._asynchronous = asynchronous
        self._replace_all = replace_all
        self._manager: Any = None
        self._failed = False

    def save(self, state: TrainState) -> Path:
        """Starts saving ``state`` as step ``state.epoch``; returns that step's folder."""
        record, arrays = _encode(state, self._metadata)
        if self._manager is None:
            self._open(int(state.epoch))
        ocp = _orbax()
        items = ocp.args.Composite(
            **{ARRAYS: ocp.args.StandardSave(arrays), RECORD: ocp.args.JsonSave(record)}
        )
        try:
            saved = self._manager.save(int(state.epoch), args=items, metrics=_best_metric(state))
        except BaseException:
            self._failed = True
            self.close(quiet=True)
            raise
        if not saved:
            raise ValueError(
                f"epoch {state.epoch} is not after the latest checkpoint in "
                f"{os.fspath(self.directory)!r}"
            )
        return step_directory(self.directory, int(state.epoch))

    def _open(self, epoch: int) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        _empty_trash(self.directory)
        for old in checkpoint_epochs(self.directory):
            if self._replace_all or old >= epoch:
                _discard(step_directory(self.directory, old))
        legacy = self.directory / LEGACY_NAME
        if self._replace_all and legacy.is_file():
            legacy.unlink()
        self._replace_all = False  # once: a later save (after a failed one) keeps this run's
        self._manager = _manager(self.directory, self._keep, self._asynchronous)

    def __enter__(self) -> CheckpointWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        self.close(quiet=kind is not None)  # an error on its way wins over a failed save's

    def close(self, *, quiet: bool = False) -> None:
        """Waits for the last save and releases Orbax's threads; after a failed save, removes
        its temporary folder.

        Args:
            quiet: do not raise a failed save's error (when another error is on its way).
        """
        manager, self._manager = self._manager, None
        if manager is None:
            return
        error = None
        try:
            manager.wait_until_finished()
        except BaseException as caught:
            error = caught
        manager.close()
        if error is not None or self._failed:
            for temporary in temporaries(self.directory):
                _discard(temporary)
        _empty_trash(self.directory)
        if error is not None and not quiet:
            raise error


# ------------------------------------------------------------------------------ public API


def save_checkpoint(
    directory: str | os.PathLike[str],
    state: TrainState,
    *,
    metadata: Metadata | None = None,
    keep: int = DEFAULT_KEEP,
) -> Path:
    """Saves ``state`` to ``<directory>/<state.epoch>/`` with Orbax and waits until it is final.

    The new checkpoint is the latest: any of the same or a later epoch is deleted first. Of
    the earlier ones, the last ``keep`` (counting the new one) and the best epoch's are kept.

    Args:
        directory: the checkpoint directory (created if missing).
        state: the ``TrainState`` to save.
        metadata: optional JSON-able values describing the run (``fit`` stores its run
            record: fingerprints of its data, the layout of its parameters and optimizer
            state, its loss and settings, and refuses to resume a different run).
        keep: how many of the latest checkpoints to keep (at least 1).

    Returns:
        The folder of the new checkpoint.

    Raises:
        TypeError: ``metadata`` holds a value JSON cannot store, or ``keep`` is not an int.
        ValueError: ``keep`` is below 1.

    Examples:
        >>> import tempfile, jax, jax.numpy as jnp, optax
        >>> params = {"w": jnp.arange(3.0)}
        >>> state = TrainState(params, optax.sgd(0.1).init(params), jax.random.key(0), epoch=2)
        >>> directory = tempfile.mkdtemp()
        >>> save_checkpoint(directory, state).name
        '2'
        >>> restored = load_checkpoint(directory, state)
        >>> restored.epoch, restored.params["w"].tolist()
        (2, [0.0, 1.0, 2.0])
    """
    keep = check_int("keep", keep, minimum=1)
    writer = CheckpointWriter(directory, metadata, keep=keep, asynchronous=False)
    try:
        path = writer.save(state)
    finally:
        writer.close()
    return path


def _latest(directory: str | os.PathLike[str], epoch: int | None = None) -> Path:
    """The folder of the latest checkpoint in ``directory`` (or of ``epoch``'s, checked here
    for the public functions that take it)."""
    if epoch is not None:
        epoch = check_int("epoch", epoch, minimum=0)
    directory = Path(directory)
    epochs = checkpoint_epochs(directory)
    if not epochs:
        if (directory / LEGACY_NAME).is_file():
            raise _legacy_error(directory)
        raise FileNotFoundError(f"no checkpoint in {os.fspath(directory)!r}")
    if epoch is None:
        return step_directory(directory, epochs[-1])
    if epoch not in epochs:
        raise ValueError(
            f"epoch={epoch} has no checkpoint in {os.fspath(directory)!r}; it holds epochs "
            f"{', '.join(map(str, epochs))}"
        )
    return step_directory(directory, epoch)


def load_metadata(directory: str | os.PathLike[str], *, epoch: int | None = None) -> Metadata:
    """The metadata saved with the latest checkpoint in ``directory`` (or ``epoch``'s).

    Raises:
        FileNotFoundError: if there is no checkpoint.
        TypeError: ``epoch`` is not an integer.
        ValueError: if the checkpoint is damaged or of another format, or ``epoch`` has none.
    """
    return dict(read_record(_latest(directory, epoch))["metadata"])


def _placed_like(like: Any) -> bool:
    """Whether ``like`` is an array placed on purpose (committed: a mesh, a chosen device)."""
    return isinstance(like, jax.Array) and like.committed


def _target(template: Any, root: str, layout: dict[str, Any]) -> Any:
    """What Orbax restores into: committed template leaves give their sharding (restored on
    their devices), others a host array (restored to the default device, uncommitted, as
    ``jnp.asarray`` places it). Shapes and dtypes are the saved ones."""
    leaves, treedef = jax.tree.flatten(template)
    targets: list[Any] = []
    for name, leaf in zip(_fingerprint.tree_layout(template, root), leaves, strict=True):
        dtype = jnp.dtype(layout[name][0])
        shape = tuple(layout[name][1])
        if _placed_like(leaf):
            targets.append(jax.ShapeDtypeStruct(shape, dtype, sharding=leaf.sharding))
        else:
            targets.append(np.empty(shape, dtype))
    return jax.tree.unflatten(treedef, targets)


def _check_layout(saved: dict[str, Any], template: Any, root: str, what: str, folder: Path) -> None:
    """Refuses a template whose structure or shapes differ from the saved arrays'."""
    current = _fingerprint.tree_layout(template, root)
    strip = lambda layout: {path: [None, list(entry[1])] for path, entry in layout.items()}
    if strip(saved) != strip(current):
        there_only = sorted(set(saved) - set(current))
        here_only = sorted(set(current) - set(saved))
        if there_only or here_only:
            detail = f"saved {there_only[:3]}, template {here_only[:3]}"
        else:
            first = next(p for p in current if list(saved[p][1]) != list(current[p][1]))
            detail = f"{first} is {tuple(saved[first][1])} there, {tuple(current[first][1])} here"
        raise ValueError(
            f"the {what} in {os.fspath(folder)!r} do not match the structure of the template: "
            f"{detail}"
        )


def _read_every_array(folder: Path, leaves: int) -> None:
    """Reads and decodes every array of Orbax's store (zarr arrays in an OCDBT database) once,
    one after the other, in a context of its own (nothing cached from before).

    A missing, truncated or damaged file then fails here, in one clear error, rather than
    half-way through Orbax's concurrent reads, which close their event loop while the other
    reads still run (these then report "Event loop is closed" to ``sys.unraisablehook``).
    Orbax's own read that follows finds the files in the page cache.
    """
    import tensorstore as ts  # installed with orbax-checkpoint

    context = ts.Context()
    base = {"driver": "ocdbt", "base": {"driver": "file", "path": os.fspath(folder)}}
    keys = ts.KvStore.open(base, context=context).result().list().result()
    arrays = [(key[: -len(".zarray")], "zarr") for key in keys if key.endswith(b"/.zarray")]
    arrays += [(key[: -len("zarr.json")], "zarr3") for key in keys if key.endswith(b"/zarr.json")]
    if leaves and not arrays:
        raise FileNotFoundError(f"no arrays in {os.fspath(folder)!r} (its index is missing)")
    for prefix, driver in arrays:
        spec = {"driver": driver, "kvstore": {**base, "path": prefix.decode()}}
        ts.open(spec, context=context, open=True).result().read().result()


def _restore_arrays(folder: Path, body: dict[str, Any], template: TrainState) -> dict[str, Any]:
    """The saved arrays, checked against their SHA-256, placed and typed like ``template``'s."""
    layout = body["layout"]
    _check_layout(layout["params"], template.params, "params", "parameters", folder)
    _check_layout(layout["opt_state"], template.opt_state, "opt_state", "optimizer state", folder)
    target = {
        "params": _target(template.params, "params", layout["params"]),
        "opt_state": _target(template.opt_state, "opt_state", layout["opt_state"]),
        "best_params": _target(template.params, "params", layout["params"]),
    }
    ocp = _orbax()
    try:
        arrays = (folder / ARRAYS).absolute()  # Orbax takes absolute paths only
        _read_every_array(arrays, len(jax.tree.leaves(target)))
        restored = ocp.Checkpointer(ocp.StandardCheckpointHandler()).restore(
            arrays, args=ocp.args.StandardRestore(target)
        )
    except Exception as error:
        first_line = str(error).strip().splitlines()[0][:300] if str(error).strip() else ""
        raise ValueError(
            f"the checkpoint in {os.fspath(folder)!r} is damaged: its arrays could not be read "
            f"({type(error).__name__}: {first_line}); delete that folder to resume from the "
            "checkpoint before it, or pass restart=True"
        ) from None
    expected = body["arrays_sha256"]
    if expected is not None and _arrays_sha256(restored) != expected:
        raise ValueError(
            f"the checkpoint in {os.fspath(folder)!r} is corrupted: its arrays do not match the "
            "checksum saved with them (altered or damaged); delete that folder to resume from "
            "the checkpoint before it, or pass restart=True"
        )
    like = {"params": template.params, "opt_state": template.opt_state}
    like["best_params"] = template.params
    return jax.tree.map(_like, like, restored)


def _like(template: Any, leaf: Any) -> jax.Array:
    """``leaf`` as a JAX array of ``template``'s dtype (host arrays go to the default device)."""
    given = template.dtype if hasattr(template, "dtype") else np.asarray(template).dtype
    dtype = jax.dtypes.canonicalize_dtype(given)
    if isinstance(leaf, jax.Array):
        return leaf if leaf.dtype == dtype else leaf.astype(dtype)
    return jnp.asarray(leaf, dtype=dtype)


def _state(body: dict[str, Any], arrays: dict[str, Any]) -> TrainState:
    rng = jax.random.wrap_key_data(
        jnp.asarray(np.asarray(body["rng"]["data"], np.uint32)), impl=body["rng"]["impl"]
    )
    history, diverged = body["history"], body["diverged"]
    return TrainState(
        params=arrays["params"],
        opt_state=arrays["opt_state"],
        rng=rng,
        epoch=int(body["epoch"]),
        step=int(body["step"]),
        best_params=arrays["best_params"] if body["has_best_params"] else None,
        best_loss=float(body["best_loss"]),
        best_epoch=int(body["best_epoch"]),
        epochs_without_improvement=int(body["epochs_without_improvement"]),
        history=History(
            train_loss=tuple(float(v) for v in history["train_loss"]),
            val_loss=tuple(float(v) for v in history["val_loss"]),
            epoch_seconds=tuple(float(v) for v in history["epoch_seconds"]),
            steps=tuple(int(v) for v in history["steps"]),
        ),
        stop_reason=str(body["stop_reason"]),
        diverged=None if diverged is None else TrainingDiverged(**diverged),
    )


def load_checkpoint(
    directory: str | os.PathLike[str], template: TrainState, *, epoch: int | None = None
) -> TrainState:
    """Loads the latest checkpoint in ``directory`` (or ``epoch``'s) into the structure of
    ``template``.

    Args:
        directory: the checkpoint directory.
        template: a ``TrainState`` whose ``params`` and ``opt_state`` have the structure and
            shapes of the saved ones (e.g. freshly initialized ones): their values are not
            used; arrays placed on a mesh or a device (committed) come back sharded and placed
            like them, others on the default device; leaves take the template's dtypes.
        epoch: the checkpoint saved after this many epochs (``None``: the latest). The best
            epoch's is kept: ``epoch=state.best_epoch + 1`` where it was saved.

    Returns:
        The restored ``TrainState``, bit for bit as saved.

    Raises:
        FileNotFoundError: if ``directory`` has no checkpoint.
        TypeError: ``epoch`` is not an integer.
        ValueError: if the checkpoint is damaged or of another format, ``epoch`` has no
            checkpoint, or the template's structure or shapes differ from the saved ones.
    """
    folder = _latest(directory, epoch)
    body = read_record(folder)
    return _state(body, _restore_arrays(folder, body, template))


def resume_run(
    directory: Path | None,
    template: TrainState,
    record: Metadata,
    *,
    restart: bool,
    announce: bool,
) -> tuple[TrainState, int | None]:
    """The state to train from: the latest checkpoint in ``directory`` if the same run wrote it.

    Every trainer that takes a ``checkpoint_dir`` starts here, so they all resume alike.

    Args:
        directory: the checkpoint folder, or ``None`` (no checkpoints).
        template: the run's fresh state (returned when nothing is resumed); a resumed state is
            laid out on its devices (a mesh run's parameters come back sharded like it).
        record: the run's record (``_fingerprint.run_record``), compared with the saved one.
        restart: ignore any checkpoint and start from ``template`` (the run's first save then
            deletes the folder's checkpoints).
        announce: print "resuming from epoch N of <directory>" to stderr when resuming.

    Returns:
        The state and the number of epochs the resumed checkpoint had completed (``None``
        when the run starts fresh).

    Raises:
        ValueError: the checkpoint is damaged, of the earlier format, or another run (or an
            unchecked one) wrote it.
    """
    if directory is None or restart or not has_checkpoint(directory):
        return template, None
    _fingerprint.check_same_run(directory, load_metadata(directory), record)
    state = load_checkpoint(directory, template)
    if announce:
        print(f"resuming from epoch {state.epoch} of {os.fspath(directory)}", file=sys.stderr)
    return state, state.epoch
