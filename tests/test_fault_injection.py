"""Fault injection for everything rnnax writes: real writers SIGKILLed in the middle of a save.

A child process (tests/fault_helpers/child.py) runs one thread per scenario: each writes a
complete checkpoint or report, starts writing the next one and stalls inside the write after
fsync'ing none, half or all of its bytes (the rename still to come: for a checkpoint, Orbax's
rename of the step's temporary folder); one trains with a checkpoint every epoch and stalls
half-way through the third. The parent then kills the child with SIGKILL, ending every write
at once. The previous file or checkpoint folder must still be there, complete and byte for byte
the same; the torn temporary must never be taken for it; the next save must work and clear the
dead writer's temporary; the killed training run, resumed, must end bit for bit where an
uninterrupted run ends. Damaged checkpoints must give named errors, never other numbers.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rnnax import _io, training
from rnnax.compare import _report
from rnnax.training import _checkpoint
from tests.fault_helpers import problems

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")

REPOSITORY = Path(__file__).resolve().parent.parent


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Killed(NamedTuple):
    root: Path  # ROOT/<scenario> is each scenario's folder
    scenarios: dict[str, dict[str, Any]]  # what each scenario had written when it was killed
    uninterrupted: training.FitResult  # the training scenario's run, never interrupted


@pytest.fixture(scope="module")
def killed(tmp_path_factory: pytest.TempPathFactory) -> Killed:
    """Runs tests/fault_helpers/child.py until every scenario stalls mid-write, then SIGKILLs it.

    Meanwhile this process trains the uninterrupted run the ``train`` scenario is compared with.
    """
    root = tmp_path_factory.mktemp("killed")
    ready, log = root / "ready.json", root / "child-stderr.txt"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(REPOSITORY), os.environ.get("PYTHONPATH")])
        ),
    }
    with open(log, "wb") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.fault_helpers.child", str(root), str(ready)],
            cwd=REPOSITORY,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        params, train_data, val_data = problems.training_problem()
        uninterrupted = training.fit(
            problems.gru_loss,
            params,
            train_data,
            val_data,
            epochs=problems.TRAINING_EPOCHS,
            **problems.TRAINING_OPTIONS,
        )
        deadline = time.monotonic() + 300
        while not ready.exists():
            if child.poll() is not None:
                pytest.fail(
                    f"the child exited with {child.returncode} before stalling:\n{log.read_text()}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"the child never stalled:\n{log.read_text()}")
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    report = json.loads(ready.read_text())
    assert report["pid"] == child.pid
    errors = {name: info["error"] for name, info in report["scenarios"].items() if "error" in info}
    assert not errors, f"{errors}\n{log.read_text()}"
    return Killed(root, report["scenarios"], uninterrupted)


def _trees_equal(a: Any, b: Any) -> bool:
    leaves_a, leaves_b = jax.tree.leaves(a), jax.tree.leaves(b)
    return len(leaves_a) == len(leaves_b) and all(
        np.asarray(x).dtype == np.asarray(y).dtype and np.array_equal(x, y)
        for x, y in zip(leaves_a, leaves_b, strict=True)
    )


def _counters(state: training.TrainState) -> tuple[Any, ...]:
    return (
        state.epoch,
        state.step,
        state.best_loss,
        state.best_epoch,
        state.epochs_without_improvement,
        state.stop_reason,
    )


def _same_state(a: training.TrainState, b: training.TrainState, *, timings: bool = True) -> bool:
    return (
        _trees_equal(a.params, b.params)
        and _trees_equal(a.opt_state, b.opt_state)
        and _trees_equal(a.best_params, b.best_params)
        and np.array_equal(jax.random.key_data(a.rng), jax.random.key_data(b.rng))
        and _counters(a) == _counters(b)
        and a.history.train_loss == b.history.train_loss
        and a.history.val_loss == b.history.val_loss
        and a.history.steps == b.history.steps
        and (not timings or a.history.epoch_seconds == b.history.epoch_seconds)
    )


# ------------------------------------------------------------------------------- checkpoints


@pytest.mark.parametrize("stage", ["start", "middle", "before_replace"])
def test_a_checkpoint_save_killed_mid_write_leaves_the_previous_checkpoint(killed, stage):
    directory = killed.root / f"checkpoint-{stage}"
    info = killed.scenarios[f"checkpoint-{stage}"]

    # The torn save is really on disk, in Orbax's temporary folder, never as a checkpoint.
    [temporary] = _checkpoint.temporaries(directory)
    assert temporary.name == "2.orbax-checkpoint-tmp"
    [record] = temporary.rglob("record.json")
    assert record.stat().st_size == info["written"]
    expected = {"start": 0, "middle": info["total"] // 2, "before_replace": info["total"]}
    assert info["written"] == expected[stage]
    if stage == "before_replace":  # every item written and finalized: only the rename to come
        assert record == temporary / "record" / "record.json"
        assert (temporary / "arrays" / "_METADATA").is_file()
    assert sorted(p.name for p in directory.iterdir()) == ["1", temporary.name]

    # The previous checkpoint: present, byte for byte, and loads bit for bit.
    assert training.has_checkpoint(directory)
    assert _checkpoint.checkpoint_epochs(directory) == [1]
    assert problems.folder_sha256(directory / "1") == info["first_sha256"]
    first = problems.checkpoint_state(1)
    assert _same_state(training.load_checkpoint(directory, first), first)

    # A later save works and clears the dead writer's temporary.
    second = problems.checkpoint_state(2)
    training.save_checkpoint(directory, second)
    assert sorted(p.name for p in directory.iterdir()) == ["1", "2"]
    assert _same_state(training.load_checkpoint(directory, first), second)
    assert _same_state(training.load_checkpoint(directory, first, epoch=1), first)


def test_a_temporary_alone_is_not_a_checkpoint(tmp_path):
    # A first save killed before its rename leaves only a temporary folder: nothing to resume.
    state = problems.checkpoint_state(1)
    complete = training.save_checkpoint(tmp_path / "elsewhere", state)
    os.rename(complete, tmp_path / "1.orbax-checkpoint-tmp")  # even a complete one
    assert not training.has_checkpoint(tmp_path)
    with pytest.raises(FileNotFoundError):
        training.load_checkpoint(tmp_path, state)
    training.save_checkpoint(tmp_path, state)  # and the next save clears it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1", "elsewhere"]


def _tiny_state() -> training.TrainState:
    import optax

    params = {
        "w": jnp.arange(6.0, dtype=jnp.float32).reshape(2, 3),
        "b": jnp.ones((3,), jnp.float32),
    }
    return training.TrainState(
        params, optax.sgd(0.1).init(params), jax.random.key(0), epoch=4, step=40
    )


def test_every_truncation_and_every_flipped_byte_of_the_record_is_a_named_error(tmp_path):
    state = _tiny_state()
    folder = training.save_checkpoint(tmp_path, state, metadata={"seed": 0})
    path = folder / "record" / "record.json"
    good = path.read_bytes()
    for length in range(len(good)):
        path.write_bytes(good[:length])
        with pytest.raises(ValueError, match=r"record\.json' is corrupted \(not valid JSON"):
            training.load_metadata(tmp_path)
    same = 0
    for position in range(len(good)):
        damaged = bytearray(good)
        damaged[position] ^= 1 << (position % 8)
        path.write_bytes(bytes(damaged))
        try:
            metadata = training.load_metadata(tmp_path)
        except ValueError as error:
            assert re.search(
                r"is corrupted|not an rnnax training checkpoint|format version", str(error)
            )
            assert str(folder) in str(error)
        else:  # only a flip that leaves every value as it was ("1e-05" -> "1E-05")
            assert json.loads(damaged) == json.loads(good) and metadata == {"seed": 0}
            same += 1
    assert same <= 2
    path.write_bytes(good)
    assert _same_state(training.load_checkpoint(tmp_path, state), state)


def test_a_damaged_file_of_the_arrays_is_a_named_error_or_harmless(tmp_path):
    # Truncated, emptied, removed or with a flipped bit, each of Orbax's files gives a
    # ValueError naming the checkpoint's folder, or (files Orbax does not need to read them
    # back, such as its commit markers) the state exactly as saved: never other numbers.
    state = problems.checkpoint_state(1)
    folder = training.save_checkpoint(tmp_path / "good", state)
    files = sorted(p.relative_to(folder) for p in (folder / "arrays").rglob("*") if p.is_file())
    failing = set()
    for name in files:
        good = (folder / name).read_bytes()
        for how in ("remove", "empty", "half", "flip-start", "flip-middle", "flip-end"):
            copy = tmp_path / "copy"
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(tmp_path / "good", copy)
            path = copy / "1" / name
            if how == "remove":
                path.unlink()
            elif how in ("empty", "half"):
                path.write_bytes(good[: len(good) // 2] if how == "half" else b"")
            else:
                where = {"flip-start": 0, "flip-middle": len(good) // 2, "flip-end": -1}[how]
                damaged = bytearray(good)
                damaged[where] ^= 0x10
                path.write_bytes(bytes(damaged))
            try:
                loaded = training.load_checkpoint(copy, state)
            except ValueError as error:
                assert f"the checkpoint in '{copy / '1'}' is " in str(error), (name, how, error)
                failing.add(name.as_posix())
            else:
                assert _same_state(loaded, state), (name, how)
    # The arrays' metadata and the data files are among what is checked.
    assert "arrays/_METADATA" in failing and "arrays/manifest.ocdbt" in failing
    assert any(name.startswith("arrays/ocdbt.process_0/d/") for name in failing), failing


def test_training_refuses_a_damaged_checkpoint_and_leaves_it_alone(tmp_path):
    params, train_data, val_data = problems.training_problem()
    options = {**problems.TRAINING_OPTIONS, "checkpoint_dir": tmp_path}
    training.fit(problems.gru_loss, params, train_data, val_data, epochs=2, **options)
    arrays = [p for p in (tmp_path / "2" / "arrays").rglob("*") if p.is_file()]
    largest = max(arrays, key=lambda p: p.stat().st_size)
    damaged = bytearray(largest.read_bytes())
    damaged[len(damaged) // 2] ^= 0x10
    largest.write_bytes(bytes(damaged))
    before = problems.folder_sha256(tmp_path)
    with pytest.raises(
        ValueError, match=rf"the checkpoint in '{tmp_path / '2'}' is (corrupted|damaged)"
    ):
        training.fit(problems.gru_loss, params, train_data, val_data, epochs=4, **options)
    assert problems.folder_sha256(tmp_path) == before  # not silently replaced by a fresh run
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1", "2"]


def test_a_run_killed_mid_checkpoint_resumes_to_the_uninterrupted_result(killed):
    """The child trained with a checkpoint every epoch and was SIGKILLed half-way through
    writing the third; resumed here from the second, the run must end bit for bit where the
    uninterrupted run ends."""
    directory = killed.root / "train"
    assert killed.scenarios["train"]["saves_completed"] == 2
    [temporary] = _checkpoint.temporaries(directory)
    assert temporary.name == "3.orbax-checkpoint-tmp"
    [record] = temporary.rglob("record.json")
    assert record.stat().st_size == killed.scenarios["train"]["written"] > 0
    assert _checkpoint.checkpoint_epochs(directory) == [1, 2]
    saved = _checkpoint.read_record(directory / "2")
    assert saved["epoch"] == 2 and saved["stop_reason"] == ""

    params, train_data, val_data = problems.training_problem()
    epochs = problems.TRAINING_EPOCHS
    resumed = training.fit(
        problems.gru_loss,
        params,
        train_data,
        val_data,
        epochs=epochs,
        checkpoint_dir=directory,
        **problems.TRAINING_OPTIONS,
    )
    uninterrupted = killed.uninterrupted
    assert resumed.resumed_from_epoch == 2
    assert resumed.epochs_completed == epochs and resumed.stop_reason == "completed"
    assert _same_state(resumed.state, uninterrupted.state, timings=False)
    assert _trees_equal(resumed.params, uninterrupted.params)
    assert resumed.history.steps[:2] == tuple(saved["history"]["steps"])
    # The last two checkpoints and the best epoch's remain; the dead writer's temporary is gone.
    kept = {str(epochs - 1), str(epochs), str(uninterrupted.best_epoch + 1)}
    assert sorted(p.name for p in directory.iterdir()) == sorted(kept)


# ----------------------------------------------------------------------------------- reports


@pytest.mark.parametrize("target", ["report.json", "report.md"])
def test_a_report_write_killed_mid_write_leaves_complete_reports(killed, target):
    directory = killed.root / target
    info = killed.scenarios[target]
    [temporary] = _io.temporary_files(directory / target)
    assert temporary.stat().st_size == info["written"] == info["total"] // 2

    first, first_markdown = problems.report(1)
    second, second_markdown = problems.report(2)
    # The file being written is the previous one, complete; the other is complete too.
    assert _sha256(directory / target) == info[target]
    expected_json = first if target == "report.json" else second  # report.json comes first
    assert json.loads((directory / "report.json").read_text(encoding="utf-8")) == expected_json
    assert (directory / "report.md").read_text(encoding="utf-8") == first_markdown

    _report.write_json(directory / "report.json", second)
    _io.write_atomically(directory / "report.md", second_markdown)
    assert sorted(p.name for p in directory.iterdir()) == ["report.json", "report.md"]
    assert json.loads((directory / "report.json").read_text(encoding="utf-8")) == second


def test_a_failing_png_or_json_write_leaves_the_previous_file(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from rnnax.compare import _plots

    plt = _plots._pyplot()
    png = tmp_path / "plot.png"
    figure = plt.figure(figsize=(2, 2))
    _plots._save(figure, png)
    plt.close(figure)
    before = png.read_bytes()
    assert before.startswith(b"\x89PNG")

    def write_half_then_fail(file, data):
        file.write(data[: len(data) // 2])
        raise OSError("simulated crash: disk full")

    monkeypatch.setattr(_io, "_write_payload", write_half_then_fail)
    figure = plt.figure(figsize=(3, 3))
    with pytest.raises(OSError, match="simulated crash"):
        _plots._save(figure, png)
    plt.close(figure)
    assert png.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["plot.png"]

    monkeypatch.undo()
    _report.write_json(tmp_path / "report.json", {"mase": 1.0})
    with pytest.raises(ValueError, match="JSON compliant"):  # NaN is refused before any write
        _report.write_json(tmp_path / "report.json", {"mase": float("nan")})
    assert json.loads((tmp_path / "report.json").read_text()) == {"mase": 1.0}


def test_atomic_writes_keep_permissions_and_respect_the_umask(tmp_path):
    path = tmp_path / "file.txt"
    mask = os.umask(0o022)
    try:
        _io.write_atomically(path, "first")
        assert (path.stat().st_mode & 0o777) == 0o644
        path.chmod(0o600)
        _io.write_atomically(path, b"second")
        assert (path.stat().st_mode & 0o777) == 0o600
    finally:
        os.umask(mask)
    assert path.read_bytes() == b"second"
