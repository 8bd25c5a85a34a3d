"""Atomic, self-checking checkpoints of a ``TrainState`` (msgpack via ``flax.serialization``).

Format: one file, ``<directory>/checkpoint.msgpack``, holding an 8-byte magic tag, the CRC-32
of the body and the body: a msgpack map of the parameters, optimizer state and best
parameters (as ``flax.serialization`` state dicts), the PRNG key data, the progress counters,
the history and the run's metadata.

Why not orbax-checkpoint: a training state here is a few small arrays on one host. orbax is
built for sharded, asynchronous, multi-host checkpoints; for this size it costs far more
per save (directories of files, background threads, a heavy import) and its API changes
between releases. One msgpack file written to a temporary name, flushed, fsync'ed and then
``os.replace``'d over the old one (``rnnax._io.write_atomically``) is atomic on POSIX and
Windows: a crash at any point, even a ``SIGKILL`` in the middle of the write, leaves either the
previous checkpoint or the new one, never a torn file (tests/test_fault_injection.py kills a
real writer). The CRC catches corruption from elsewhere (a truncated copy, a bad disk) with a
clear error.
"""

from __future__ import annotations

import os
import sys
import zlib
from pathlib import Path
from typing import Any, BinaryIO

import jax
import jax.numpy as jnp
import numpy as np
from flax import serialization

from rnnax import _io
from rnnax.training import _fingerprint
from rnnax.training._state import History, TrainingDiverged, TrainState

CHECKPOINT_NAME = "checkpoint.msgpack"
_MAGIC = b"RNNAXCK1"
_FORMAT_VERSION = 1

Metadata = dict[str, Any]


def checkpoint_path(directory: str | os.PathLike[str]) -> Path:
    """The checkpoint file inside ``directory``."""
    return Path(directory) / CHECKPOINT_NAME


def has_checkpoint(directory: str | os.PathLike[str]) -> bool:
    """Whether ``directory`` holds a checkpoint."""
    return checkpoint_path(directory).is_file()


def _to_host(tree: Any) -> Any:
    return serialization.to_state_dict(jax.device_get(tree))


def _encode(state: TrainState, metadata: Metadata) -> bytes:
    history = state.history
    diverged = {} if state.diverged is None else state.diverged._asdict()
    body = {
        "version": _FORMAT_VERSION,
        "metadata": dict(metadata),
        "params": _to_host(state.params),
        "opt_state": _to_host(state.opt_state),
        "best_params": _to_host(state.params if state.best_params is None else state.best_params),
        "has_best": state.best_params is not None,
        "rng": {
            "data": np.asarray(jax.random.key_data(state.rng)),
            "impl": str(jax.random.key_impl(state.rng)),
        },
        "progress": {
            "epoch": int(state.epoch),
            "step": int(state.step),
            "best_loss": float(state.best_loss),
            "best_epoch": int(state.best_epoch),
            "epochs_without_improvement": int(state.epochs_without_improvement),
            "stop_reason": state.stop_reason,
        },
        "history": {
            "train_loss": np.asarray(history.train_loss, np.float64),
            "val_loss": np.asarray(history.val_loss, np.float64),
            "epoch_seconds": np.asarray(history.epoch_seconds, np.float64),
            "steps": np.asarray(history.steps, np.int64),
        },
        "diverged": diverged,
    }
    payload = serialization.msgpack_serialize(body)
    return _MAGIC + zlib.crc32(payload).to_bytes(4, "little") + payload


def _write_payload(file: BinaryIO, data: bytes) -> None:
    """Writes the bytes (a separate function so tests can make it fail or stall half-way)."""
    file.write(data)


def save_checkpoint(
    directory: str | os.PathLike[str], state: TrainState, *, metadata: Metadata | None = None
) -> Path:
    """Saves ``state`` atomically to ``<directory>/checkpoint.msgpack``, replacing any previous one.

    Args:
        directory: the checkpoint directory (created if missing).
        state: the ``TrainState`` to save.
        metadata: optional msgpack-able values describing the run (``fit`` stores its run
            record: fingerprints of its data, the layout of its parameters and optimizer
            state, its loss and settings, and refuses to resume a different run).

    Returns:
        The path of the checkpoint file.

    Examples:
        >>> import tempfile, jax, jax.numpy as jnp, optax
        >>> params = {"w": jnp.arange(3.0)}
        >>> state = TrainState(params, optax.sgd(0.1).init(params), jax.random.key(0), epoch=2)
        >>> directory = tempfile.mkdtemp()
        >>> path = save_checkpoint(directory, state)
        >>> restored = load_checkpoint(directory, state)
        >>> restored.epoch, restored.params["w"].tolist()
        (2, [0.0, 1.0, 2.0])
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = checkpoint_path(directory)
    # Through this module's _write_payload, so tests can make the write fail half-way.
    _io.write_atomically(
        path, _encode(state, metadata or {}), write=lambda file, data: _write_payload(file, data)
    )
    return path


def _read_body(path: Path) -> dict[str, Any]:
    raw = path.read_bytes()
    header = len(_MAGIC) + 4
    if len(raw) <= header and _MAGIC.startswith(raw[: len(_MAGIC)]):
        raise ValueError(
            f"{path} is truncated ({len(raw)} bytes, less than a header and a body); delete it or "
            "restore a copy"
        )
    if not raw.startswith(_MAGIC):
        raise ValueError(f"{path} is not an rnnax training checkpoint (bad header)")
    expected = int.from_bytes(raw[len(_MAGIC) : header], "little")
    payload = raw[header:]
    if zlib.crc32(payload) != expected:
        raise ValueError(
            f"{path} is corrupted (checksum mismatch: truncated or damaged); delete it or "
            "restore a copy"
        )
    try:
        body = serialization.msgpack_restore(payload)
    except Exception as error:  # only reachable if the damage happens to keep the CRC
        raise ValueError(f"{path} is corrupted (undecodable: {error})") from None
    if not isinstance(body, dict) or body.get("version") != _FORMAT_VERSION:
        version = body.get("version") if isinstance(body, dict) else None
        raise ValueError(
            f"{path} has checkpoint format version {version!r}, expected {_FORMAT_VERSION}"
        )
    return body


def load_metadata(directory: str | os.PathLike[str]) -> Metadata:
    """The metadata saved with the checkpoint in ``directory``.

    Raises:
        FileNotFoundError: if there is no checkpoint.
        ValueError: if the file is not a valid checkpoint.
    """
    return dict(_read_body(checkpoint_path(directory))["metadata"])


def _restore_tree(template: Any, state_dict: Any, what: str, path: Path) -> Any:
    try:
        restored = serialization.from_state_dict(template, state_dict)
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(
            f"the {what} in {path} do not match the structure of the template: {error}"
        ) from None
    # Leaves come back as numpy arrays; give them the template's dtypes as JAX arrays.
    return jax.tree.map(
        lambda like, leaf: jnp.asarray(leaf, dtype=jnp.asarray(like).dtype), template, restored
    )


def load_checkpoint(directory: str | os.PathLike[str], template: TrainState) -> TrainState:
    """Loads the checkpoint in ``directory`` into the structure of ``template``.

    Args:
        directory: the checkpoint directory.
        template: a ``TrainState`` whose ``params`` and ``opt_state`` have the structure,
            shapes and dtypes of the saved ones (e.g. freshly initialized ones); only their
            structure is used.

    Returns:
        The restored ``TrainState``, bit for bit as saved.

    Raises:
        FileNotFoundError: if ``directory`` has no checkpoint.
        ValueError: if the file is corrupted, of another format, or does not match
            ``template``.
    """
    path = checkpoint_path(directory)
    body = _read_body(path)
    params = _restore_tree(template.params, body["params"], "parameters", path)
    opt_state = _restore_tree(template.opt_state, body["opt_state"], "optimizer state", path)
    best_params = _restore_tree(template.params, body["best_params"], "best parameters", path)
    rng = jax.random.wrap_key_data(jnp.asarray(body["rng"]["data"]), impl=body["rng"]["impl"])
    progress, history, diverged = body["progress"], body["history"], body["diverged"]
    return TrainState(
        params=params,
        opt_state=opt_state,
        rng=rng,
        epoch=int(progress["epoch"]),
        step=int(progress["step"]),
        best_params=best_params if body["has_best"] else None,
        best_loss=float(progress["best_loss"]),
        best_epoch=int(progress["best_epoch"]),
        epochs_without_improvement=int(progress["epochs_without_improvement"]),
        history=History(
            train_loss=tuple(float(v) for v in history["train_loss"]),
            val_loss=tuple(float(v) for v in history["val_loss"]),
            epoch_seconds=tuple(float(v) for v in history["epoch_seconds"]),
            steps=tuple(int(v) for v in history["steps"]),
        ),
        stop_reason=str(progress["stop_reason"]),
        diverged=TrainingDiverged(
            epoch=int(diverged["epoch"]),
            step=int(diverged["step"]),
            loss=float(diverged["loss"]),
            message=str(diverged["message"]),
        )
        if diverged
        else None,
    )


def resume_run(
    directory: Path | None,
    template: TrainState,
    record: Metadata,
    *,
    restart: bool,
    announce: bool,
) -> tuple[TrainState, int | None]:
    """The state to train from: the checkpoint in ``directory`` if the same run wrote it.

    Every trainer that takes a ``checkpoint_dir`` starts here, so they all resume alike.

    Args:
        directory: the checkpoint folder, or ``None`` (no checkpoints).
        template: the run's fresh state (returned when nothing is resumed).
        record: the run's record (``_fingerprint.run_record``), compared with the saved one.
        restart: ignore any checkpoint and start from ``template`` (the next save overwrites
            the checkpoint).
        announce: print "resuming from epoch N of <directory>" to stderr when resuming.

    Returns:
        The state and the number of epochs the resumed checkpoint had completed (``None``
        when the run starts fresh).

    Raises:
        ValueError: the checkpoint is corrupted or another run (or an unchecked one) wrote it.
    """
    if directory is None or restart or not has_checkpoint(directory):
        return template, None
    _fingerprint.check_same_run(directory, load_metadata(directory), record)
    state = load_checkpoint(directory, template)
    if announce:
        print(f"resuming from epoch {state.epoch} of {os.fspath(directory)}", file=sys.stderr)
    return state, state.epoch
