"""Writers that stall in the middle of their saves so that the parent can SIGKILL them there.

Usage (from the repository root)::

    python -m tests.fault_helpers.child ROOT SIGNAL

One process, one thread per scenario (``SCENARIOS``), each in its own folder ``ROOT/<name>``:
each first writes complete files, then starts one more write and stalls inside it: the payload
writer writes part of the bytes (none, half, or all with the rename still to come), flushes and
fsyncs them so that they really are on disk, and blocks. A checkpoint's payload is its record
(``record/record.json``, written in Orbax's background thread while the arrays are written
beside it) and its rename is Orbax's ``os.rename`` of ``<epoch>.orbax-checkpoint-tmp`` to
``<epoch>``, which finalizes the step. The ``train`` scenario runs ``fit`` with a checkpoint
every epoch and stalls half-way through writing the third. When every scenario has stalled,
the main thread writes ``SIGNAL`` (a JSON of what each one did, itself renamed into place) and
waits for the parent's SIGKILL, which ends every write at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO

import jax

jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")

from rnnax import _io, training  # noqa: E402
from rnnax.compare import _report  # noqa: E402
from rnnax.training import _checkpoint  # noqa: E402
from tests.fault_helpers import problems  # noqa: E402

# name: (what is written, where its second write stalls)
SCENARIOS = {
    "checkpoint-start": ("checkpoint", "start"),
    "checkpoint-middle": ("checkpoint", "middle"),
    "checkpoint-before_replace": ("checkpoint", "before_replace"),
    "report.json": ("report.json", "middle"),
    "report.md": ("report.md", "middle"),
    "train": ("train", "middle"),
}

_local = threading.local()  # .scenario: the scenario this thread runs
_pending: dict[str, dict[str, Any]] = {}  # scenario: the write to stall (under _all_stalled)
_stalled: dict[str, dict[str, Any]] = {}
_all_stalled = threading.Condition()
_original_write = _io._write_payload
_original_rename = os.rename
_root = Path()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _stall_next_write(name: str, stage: str, info: dict[str, Any], *, skip: int = 0) -> None:
    """Makes scenario ``name``'s write number ``skip + 1`` from now stall at ``stage``."""
    with _all_stalled:
        _pending[name] = {"name": name, "stage": stage, "info": info, "skip": skip}


def _block(pending: dict[str, Any]) -> None:
    with _all_stalled:
        _stalled[pending["name"]] = pending["info"]
        _all_stalled.notify_all()
    threading.Event().wait()  # until the SIGKILL


def _scenario(path: Any) -> str | None:
    """The scenario a path belongs to (``ROOT/<name>/...``), else this thread's."""
    if isinstance(path, (str, os.PathLike)):
        parts = Path(os.path.realpath(path)).parts
        root = _root.parts
        if parts[: len(root)] == root and len(parts) > len(root):
            return parts[len(root)]
    return getattr(_local, "scenario", None)


def _write(file: BinaryIO, data: bytes) -> None:
    # A checkpoint's record is written in Orbax's thread: its path names the scenario. A
    # report's temporary file is opened from a descriptor: the scenario's own thread writes it.
    with _all_stalled:
        pending = _pending.get(_scenario(file.name) or "")
        if pending is not None and pending["skip"] > 0:
            pending["skip"] -= 1
            pending = None
    if pending is None or "written" in pending["info"]:
        _original_write(file, data)
        return
    written = {"start": 0, "middle": len(data) // 2, "before_replace": len(data)}[pending["stage"]]
    file.write(data[:written])
    file.flush()
    os.fsync(file.fileno())
    pending["info"].update(written=written, total=len(data))
    if pending["stage"] != "before_replace":
        _block(pending)


def _rename(source: Any, destination: Any) -> None:
    # Orbax finalizes a step by renaming ROOT/<name>/<epoch>.orbax-checkpoint-tmp to <epoch>.
    pending = _pending.get(_scenario(destination) or "")
    step = Path(os.path.realpath(destination))
    if (
        pending is not None
        and pending["stage"] == "before_replace"
        and "written" in pending["info"]
        and step.name.isdecimal()
        and step.parent.parent == _root
    ):
        _block(pending)
    _original_rename(source, destination)


def _checkpoint_scenario(name: str, directory: Path, stage: str) -> None:
    folder = training.save_checkpoint(directory, problems.checkpoint_state(1))
    _stall_next_write(name, stage, {"first_sha256": problems.folder_sha256(folder)})
    training.save_checkpoint(directory, problems.checkpoint_state(2))


def _report_scenario(name: str, directory: Path, target: str) -> None:
    directory.mkdir(parents=True)
    content, markdown = problems.report(1)
    _report.write_json(directory / "report.json", content)
    _io.write_atomically(directory / "report.md", markdown)
    info = {file: _sha256(directory / file) for file in ("report.json", "report.md")}
    content, markdown = problems.report(2)
    if target == "report.md":  # as compare() does: report.json first, then report.md
        _report.write_json(directory / "report.json", content)
    _stall_next_write(name, "middle", info)
    if target == "report.json":
        _report.write_json(directory / "report.json", content)
    else:
        _io.write_atomically(directory / "report.md", markdown)


def _train_scenario(name: str, directory: Path) -> None:
    _stall_next_write(name, "middle", {"saves_completed": 2}, skip=2)  # the third checkpoint
    params, train_data, val_data = problems.training_problem()
    training.fit(
        problems.gru_loss,
        params,
        train_data,
        val_data,
        epochs=problems.TRAINING_EPOCHS,
        checkpoint_dir=directory,
        **problems.TRAINING_OPTIONS,
    )


def _run(name: str, root: Path) -> None:
    what, stage = SCENARIOS[name]
    _local.scenario = name
    try:
        if what == "checkpoint":
            _checkpoint_scenario(name, root / name, stage)
        elif what == "train":
            _train_scenario(name, root / name)
        else:
            _report_scenario(name, root / name, what)
        error = "finished without stalling"
    except BaseException as exception:  # reported to the parent
        error = f"{type(exception).__name__}: {exception}"
    with _all_stalled:
        _stalled[name] = {"error": error}
        _all_stalled.notify_all()


def main(root: Path, signal: Path) -> None:
    global _root
    _root = root.resolve()
    _io._write_payload = _write  # what reports write through
    _checkpoint._write_payload = _write  # what checkpoint records write through
    os.rename = _rename  # what Orbax finalizes a checkpoint with
    threads = [threading.Thread(target=_run, args=(name, root), daemon=True) for name in SCENARIOS]
    for thread in threads:
        thread.start()
    with _all_stalled:
        if not _all_stalled.wait_for(lambda: len(_stalled) == len(SCENARIOS), timeout=300):
            _stalled["timeout"] = {"error": "not every scenario stalled in 300 s"}
    part = signal.with_name(signal.name + ".part")
    part.write_text(json.dumps({"pid": os.getpid(), "scenarios": _stalled}))
    os.replace(part, signal)
    time.sleep(600)
    os._exit(3)  # the parent never killed us: make the test fail loudly


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
