"""Checkpoints: round trip, exact resumption, atomic writes, corruption and mismatch errors,
the last N and the best kept, errors of background saves, the earlier single-file format."""

from __future__ import annotations

import hashlib
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from rnnax import data, forecasting, training
from rnnax.training import TrainingDiverged, TrainState, _checkpoint, _engine


def _trees_equal(a, b) -> bool:
    leaves_a, leaves_b = jax.tree.leaves(a), jax.tree.leaves(b)
    return len(leaves_a) == len(leaves_b) and all(
        x.dtype == y.dtype and np.array_equal(x, y) for x, y in zip(leaves_a, leaves_b, strict=True)
    )


def _states_equal(a: TrainState, b: TrainState) -> bool:
    return (
        _trees_equal(a.params, b.params)
        and _trees_equal(a.opt_state, b.opt_state)
        and _trees_equal(a.best_params, b.best_params)
        and np.array_equal(jax.random.key_data(a.rng), jax.random.key_data(b.rng))
        and (
            a.epoch,
            a.step,
            a.best_loss,
            a.best_epoch,
            a.epochs_without_improvement,
            a.stop_reason,
            a.diverged,
        )
        == (
            b.epoch,
            b.step,
            b.best_loss,
            b.best_epoch,
            b.epochs_without_improvement,
            b.stop_reason,
            b.diverged,
        )
        and a.history.train_loss == b.history.train_loss
        and a.history.val_loss == b.history.val_loss
        and a.history.steps == b.history.steps
    )


def linear_loss(params, batch, key):
    x, y = batch
    prediction = x @ params["w"] + params["b"]
    if key is not None:
        prediction = prediction + 0.01 * jax.random.normal(key, prediction.shape)
    return jnp.mean(jnp.square(prediction - y))


def _linear_problem():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(24, 2)).astype(np.float32)
    y = (x @ np.array([[2.0], [-1.0]], np.float32) + 0.5).astype(np.float32)
    return {"w": jnp.zeros((2, 1)), "b": jnp.zeros((1, 1))}, (x, y), (x[:8], y[:8])


@pytest.fixture(scope="module")
def sine_split():
    # The problem and settings of the sine test in test_training_loop.py: one compiled epoch for both.
    series = np.sin(2 * np.pi * np.arange(96.0) / 12)
    return data.chronological_split(series, lookback=8, horizon=2, validation=12, test=0)


def test_checkpoint_round_trip_is_bit_exact(tmp_path):
    params, train, val = _linear_problem()
    result = training.fit(
        linear_loss, params, train, val, epochs=3, batch_size=8, learning_rate=0.1, progress=False
    )
    state = result.state._replace(
        diverged=TrainingDiverged(epoch=2, step=9, loss=float("nan"), message="example"),
        stop_reason="diverged",
    )
    path = training.save_checkpoint(tmp_path, state, metadata={"seed": 0, "note": "x"})
    assert path == tmp_path / "3" and sorted(p.name for p in tmp_path.iterdir()) == ["3"]
    restored = training.load_checkpoint(tmp_path, result.state)
    assert _states_equal(restored._replace(diverged=None), state._replace(diverged=None))
    assert restored.diverged.step == 9 and np.isnan(restored.diverged.loss)
    assert restored.history.epoch_seconds == state.history.epoch_seconds
    assert training.load_metadata(tmp_path) == {"seed": 0, "note": "x"}
    assert isinstance(restored.params["w"], jax.Array)


def test_resumed_run_equals_an_uninterrupted_run(tmp_path, sine_split):
    # A forecaster with dropout: shuffling and dropout keys must both resume exactly.
    model = forecasting.forecaster(
        forecasting.ForecasterConfig(horizon=2, hidden=4, dropout_rate=0.1)
    )
    params = model.init(jax.random.key(0))
    options = {
        "batch_size": 8,
        "learning_rate": 1e-2,
        "grad_clip_norm": 1.0,
        "patience": 50,
        "seed": 3,
        "progress": False,
    }
    uninterrupted = training.fit(
        model, params, sine_split.train, sine_split.validation, epochs=4, **options
    )

    first = training.fit(
        model,
        params,
        sine_split.train,
        sine_split.validation,
        epochs=2,
        checkpoint_dir=tmp_path,
        **options,
    )
    assert first.epochs_completed == 2 and training.has_checkpoint(tmp_path)
    resumed = training.fit(
        model,
        params,
        sine_split.train,
        sine_split.validation,
        epochs=4,
        checkpoint_dir=tmp_path,
        **options,
    )
    assert resumed.epochs_completed == 4
    assert _states_equal(resumed.state, uninterrupted.state)
    assert _trees_equal(resumed.params, uninterrupted.params)
    assert not _trees_equal(resumed.last_params, first.last_params)


def test_a_run_interrupted_mid_way_resumes_exactly(tmp_path, monkeypatch):
    params, train, val = _linear_problem()
    options = {"epochs": 6, "batch_size": 8, "learning_rate": 0.05, "seed": 1, "progress": False}
    reference = training.fit(linear_loss, params, train, val, **options)

    original = _engine.run_one_epoch
    completed = []

    def crash_in_epoch_four(state, *args):
        if state.epoch == 3:
            raise KeyboardInterrupt  # e.g. the job was killed
        completed.append(state.epoch)
        return original(state, *args)

    monkeypatch.setattr(_engine, "run_one_epoch", crash_in_epoch_four)
    with pytest.raises(KeyboardInterrupt):
        training.fit(linear_loss, params, train, val, checkpoint_dir=tmp_path, **options)
    monkeypatch.setattr(_engine, "run_one_epoch", original)
    assert completed == [0, 1, 2]
    resumed = training.fit(linear_loss, params, train, val, checkpoint_dir=tmp_path, **options)
    assert _states_equal(resumed.state, reference.state)


def _folder_sha256(folder: Path) -> str:
    """A SHA-256 over every file's relative path and bytes in ``folder``."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def test_a_failed_write_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    params, train, val = _linear_problem()
    result = training.fit(linear_loss, params, train, val, epochs=2, batch_size=8, progress=False)
    training.save_checkpoint(tmp_path, result.state)
    before = _folder_sha256(tmp_path)

    def write_half_then_fail(file, payload):
        file.write(payload[: len(payload) // 2])
        raise OSError("simulated crash: disk full")

    monkeypatch.setattr(_checkpoint, "_write_payload", write_half_then_fail)
    newer = result.state._replace(
        epoch=99, params=jax.tree.map(lambda leaf: leaf + 1.0, result.state.params)
    )
    with pytest.raises(OSError, match="simulated crash"):
        training.save_checkpoint(tmp_path, newer)
    # No temporary left behind, and the previous checkpoint is byte for byte the same.
    assert [p.name for p in tmp_path.iterdir()] == ["2"]
    assert _folder_sha256(tmp_path) == before
    assert _states_equal(training.load_checkpoint(tmp_path, result.state), result.state)


def test_a_failed_background_save_stops_fit_with_its_error(tmp_path, monkeypatch):
    params, train, val = _linear_problem()
    options = {"epochs": 3, "batch_size": 8, "progress": False, "checkpoint_dir": tmp_path}
    calls = []

    def fail_the_second(file, payload):
        calls.append(len(payload))
        if len(calls) == 2:
            raise OSError("simulated crash: disk full")
        file.write(payload)

    monkeypatch.setattr(_checkpoint, "_write_payload", fail_the_second)
    with pytest.raises(OSError, match="simulated crash"):
        training.fit(linear_loss, params, train, val, **options)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1"]  # the temporary is gone
    monkeypatch.undo()
    resumed = training.fit(linear_loss, params, train, val, **options)
    assert resumed.resumed_from_epoch == 1 and resumed.epochs_completed == 3


def test_the_last_checkpoints_and_the_best_one_are_kept(tmp_path):
    # Validation against zero targets: the loss grows as the model learns, so epoch 0 is best.
    params, train, val = _linear_problem()
    val = (val[0], np.zeros_like(val[1]))
    result = training.fit(
        linear_loss,
        params,
        train,
        val,
        epochs=5,
        batch_size=8,
        learning_rate=0.05,
        progress=False,
        checkpoint_dir=tmp_path,
        keep_checkpoints=2,
    )
    assert result.best_epoch == 0 and result.epochs_completed == 5
    assert _checkpoint.checkpoint_epochs(tmp_path) == [1, 4, 5]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1", "4", "5"]
    best = training.load_checkpoint(tmp_path, result.state, epoch=result.best_epoch + 1)
    assert best.epoch == 1 and _trees_equal(best.params, result.best_params)
    assert _states_equal(training.load_checkpoint(tmp_path, result.state), result.state)
    with pytest.raises(ValueError, match=r"epoch=2 has no checkpoint in .*it holds epochs 1, 4, 5"):
        training.load_checkpoint(tmp_path, result.state, epoch=2)
    with pytest.raises(ValueError, match=r"keep_checkpoints must be an integer >= 1, got 0"):
        training.fit(linear_loss, params, train, val, epochs=1, keep_checkpoints=0)


def test_checkpoints_are_refused_in_a_run_of_several_processes(tmp_path, monkeypatch):
    params, train, _ = _linear_problem()
    monkeypatch.setattr(jax, "process_count", lambda: 2)
    with pytest.raises(ValueError, match=r"checkpoint_dir is not supported .* several processes"):
        training.fit(linear_loss, params, train, epochs=1, checkpoint_dir=tmp_path)


def test_a_relative_checkpoint_dir_works(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    params, train, val = _linear_problem()
    options = {"batch_size": 8, "progress": False, "checkpoint_dir": "runs/linear"}
    first = training.fit(linear_loss, params, train, val, epochs=1, **options)
    assert _checkpoint.checkpoint_epochs(tmp_path / "runs" / "linear") == [1]
    assert _states_equal(training.load_checkpoint("runs/linear", first.state), first.state)
    again = training.fit(linear_loss, params, train, val, epochs=2, **options)
    assert again.resumed_from_epoch == 1 and again.epochs_completed == 2


def test_corrupted_or_foreign_files_and_mismatched_templates_are_named_errors(tmp_path):
    params, train, _ = _linear_problem()
    result = training.fit(linear_loss, params, train, epochs=1, batch_size=8, progress=False)
    folder = training.save_checkpoint(tmp_path, result.state)
    record = folder / "record" / "record.json"
    good = record.read_bytes()
    record.write_bytes(good.replace(b'"step": 3', b'"step": 4'))
    with pytest.raises(ValueError, match=r"record\.json' is corrupted \(checksum mismatch"):
        training.load_checkpoint(tmp_path, result.state)
    record.write_bytes(good[:-10])
    with pytest.raises(ValueError, match=r"record\.json' is corrupted \(not valid JSON"):
        training.load_metadata(tmp_path)
    record.write_bytes(b'{"not": "a checkpoint"}')
    with pytest.raises(ValueError, match="not an rnnax training checkpoint"):
        training.load_checkpoint(tmp_path, result.state)
    record.unlink()
    with pytest.raises(ValueError, match=rf"the checkpoint in '{folder}' is damaged: its record"):
        training.load_checkpoint(tmp_path, result.state)
    training.save_checkpoint(tmp_path, result.state)
    other = result.state._replace(params={"weights": jnp.zeros((2, 1))})
    with pytest.raises(ValueError, match=r"parameters .* do not match"):
        training.load_checkpoint(tmp_path, other)
    wider = result.state._replace(params={"w": jnp.zeros((3, 1)), "b": jnp.zeros((1, 1))})
    with pytest.raises(ValueError, match=r"params\['w'\] is \(2, 1\) there, \(3, 1\) here"):
        training.load_checkpoint(tmp_path, wider)
    with pytest.raises(FileNotFoundError):
        training.load_checkpoint(tmp_path / "missing", result.state)


def test_a_checkpoint_of_the_earlier_single_file_format_is_refused_unless_restart(tmp_path):
    params, train, val = _linear_problem()
    options = {"epochs": 1, "batch_size": 8, "progress": False, "checkpoint_dir": tmp_path}
    (tmp_path / "checkpoint.msgpack").write_bytes(b"RNNAXCK1" + bytes(40))
    assert training.has_checkpoint(tmp_path)
    with pytest.raises(ValueError, match=r"earlier single-file format.*restart=True"):
        training.fit(linear_loss, params, train, val, **options)
    with pytest.raises(ValueError, match=r"checkpoint\.msgpack' is an rnnax checkpoint in"):
        training.load_checkpoint(tmp_path, TrainState(params, (), jax.random.key(0)))
    fresh = training.fit(linear_loss, params, train, val, restart=True, **options)
    assert fresh.resumed_from_epoch is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1"]


def test_resuming_refuses_another_run_and_does_not_continue_a_finished_one(tmp_path):
    params, train, val = _linear_problem()
    options = {
        "batch_size": 8,
        "learning_rate": 0.05,
        "progress": False,
        "checkpoint_dir": tmp_path,
    }
    training.fit(linear_loss, params, train, val, epochs=2, seed=0, **options)
    with pytest.raises(ValueError, match="different run"):
        training.fit(linear_loss, params, train, val, epochs=4, seed=1, **options)

    stopped = training.fit(
        linear_loss,
        params,
        train,
        val,
        epochs=2,
        seed=5,
        patience=1,
        **{**options, "checkpoint_dir": tmp_path / "early"},
    )
    state = stopped.state._replace(stop_reason="early_stopping")
    training.save_checkpoint(
        tmp_path / "early", state, metadata=training.load_metadata(tmp_path / "early")
    )
    again = training.fit(
        linear_loss,
        params,
        train,
        val,
        epochs=10,
        seed=5,
        patience=1,
        **{**options, "checkpoint_dir": tmp_path / "early"},
    )
    assert again.epochs_completed == 2 and again.stop_reason == "early_stopping"


# ------------------------------------------------------------- resuming only the same run


def _sine_forecast_split(phase: float):
    series = np.sin(2 * np.pi * np.arange(96.0) / 12 + phase)
    return data.chronological_split(series, lookback=8, horizon=2, validation=12, test=0)


FORECAST_OPTIONS = {"batch_size": 8, "learning_rate": 1e-2, "seed": 3, "progress": False}


def test_a_checkpoint_of_other_data_is_refused_unless_restart_trains_afresh(tmp_path, sine_split):
    model = forecasting.forecaster(forecasting.ForecasterConfig(horizon=2, hidden=4))
    params = model.init(jax.random.key(0))
    other = _sine_forecast_split(1.0)  # another CSV of the same length
    first = training.fit(
        model,
        params,
        sine_split.train,
        sine_split.validation,
        epochs=2,
        checkpoint_dir=tmp_path,
        **FORECAST_OPTIONS,
    )
    assert first.resumed_from_epoch is None
    stale = (
        r"different run: it was trained on different training data \(fingerprint [0-9a-f]{12}"
        r"\.\.\. there, [0-9a-f]{12}\.\.\. here\); on different validation data"
    )
    with pytest.raises(ValueError, match=stale) as caught:
        training.fit(
            model,
            params,
            other.train,
            other.validation,
            epochs=2,
            checkpoint_dir=tmp_path,
            **FORECAST_OPTIONS,
        )
    assert str(tmp_path) in str(caught.value) and "restart=True" in str(caught.value)

    fresh = training.fit(model, params, other.train, other.validation, epochs=2, **FORECAST_OPTIONS)
    restarted = training.fit(
        model,
        params,
        other.train,
        other.validation,
        epochs=2,
        checkpoint_dir=tmp_path,
        restart=True,
        **FORECAST_OPTIONS,
    )
    assert restarted.resumed_from_epoch is None
    assert _states_equal(restarted.state, fresh.state)
    assert _trees_equal(restarted.params, fresh.params)
    # The checkpoint now belongs to the new run: it resumes, the old one is refused.
    again = training.fit(
        model,
        params,
        other.train,
        other.validation,
        epochs=2,
        checkpoint_dir=tmp_path,
        **FORECAST_OPTIONS,
    )
    assert again.resumed_from_epoch == 2 and _states_equal(again.state, fresh.state)
    with pytest.raises(ValueError, match="different training data"):
        training.fit(
            model,
            params,
            sine_split.train,
            sine_split.validation,
            epochs=2,
            checkpoint_dir=tmp_path,
            **FORECAST_OPTIONS,
        )


def test_a_checkpoint_of_another_hidden_size_is_refused_naming_the_shapes(tmp_path, sine_split):
    wide = forecasting.forecaster(forecasting.ForecasterConfig(horizon=2, hidden=4))
    narrow = forecasting.forecaster(forecasting.ForecasterConfig(horizon=2, hidden=2))
    training.fit(
        wide,
        wide.init(jax.random.key(0)),
        sine_split.train,
        sine_split.validation,
        epochs=1,
        checkpoint_dir=tmp_path,
        **FORECAST_OPTIONS,
    )
    with pytest.raises(
        ValueError,
        match=r"on parameters of other shapes: encoder\[0\]\[0\]\.w_x is \(1, 16\) there, "
        r"\(1, 8\) here \(and 3 more\); with another loss \(hidden=4 there, hidden=2 here\)",
    ):
        training.fit(
            narrow,
            narrow.init(jax.random.key(0)),
            sine_split.train,
            sine_split.validation,
            epochs=1,
            checkpoint_dir=tmp_path,
            **FORECAST_OPTIONS,
        )


def test_an_identical_rerun_says_it_resumes_and_ends_where_an_uninterrupted_run_ends(
    tmp_path, capsys
):
    params, train, val = _linear_problem()
    options = {"batch_size": 8, "learning_rate": 0.05, "seed": 2}
    uninterrupted = training.fit(
        linear_loss, params, train, val, epochs=4, progress=False, **options
    )
    training.fit(
        linear_loss,
        params,
        train,
        val,
        epochs=2,
        progress=False,
        checkpoint_dir=tmp_path,
        **options,
    )
    assert "resuming" not in capsys.readouterr().err
    resumed = training.fit(
        linear_loss, params, train, val, epochs=4, progress=True, checkpoint_dir=tmp_path, **options
    )
    assert f"resuming from epoch 2 of {tmp_path}\n" in capsys.readouterr().err
    assert resumed.resumed_from_epoch == 2
    assert _states_equal(resumed.state, uninterrupted.state)
    assert _trees_equal(resumed.params, uninterrupted.params)
    quiet = training.fit(
        linear_loss,
        params,
        train,
        val,
        epochs=4,
        progress=False,
        checkpoint_dir=tmp_path,
        **options,
    )
    assert quiet.resumed_from_epoch == 4 and capsys.readouterr().err == ""


ADAM = optax.adam(0.05)  # one object for every case: its compiled epoch is reused


def _any_dtype_loss(params, batch, key):
    return linear_loss(jax.tree.map(lambda leaf: leaf.astype(jnp.float32), params), batch, key)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"seed": 1},
            r"different run: it was trained with seed 0 there, 1 here\. Pass restart=True",
        ),
        ({"batch_size": 4}, r"with batch size 8 there, 4 here"),
        ({"val": None}, r"with validation data there, without validation data here"),
        (
            {"train": "fewer"},
            r"on different training data \(24 examples there, 20 here; fingerprint ",
        ),
        ({"optimizer": "sgd"}, r"with a different optimizer state \(of another structure: "),
        (
            {"loss_fn": linear_loss},
            r"with another loss \(test_training_checkpoint\._any_dtype_loss there, "
            r"test_training_checkpoint\.linear_loss here\)",
        ),
        (
            {"params": "float16"},
            r"on parameters of other dtypes: params\['b'\] is float32 there, float16 here "
            r"\(and 1 more\)",
        ),
    ],
    ids=["seed", "batch_size", "no_val", "fewer_examples", "optimizer", "loss", "dtype"],
)
def test_every_kind_of_other_run_is_named(tmp_path, change, message):
    params, train, val = _linear_problem()
    training.fit(
        _any_dtype_loss,
        params,
        train,
        val,
        epochs=1,
        batch_size=8,
        checkpoint_dir=tmp_path,
        optimizer=ADAM,
        progress=False,
    )
    arguments = {
        "loss_fn": _any_dtype_loss,
        "params": params,
        "train": train,
        "val": val,
        "batch_size": 8,
        "seed": 0,
        "optimizer": ADAM,
        **change,
    }
    if change.get("train") == "fewer":
        arguments["train"] = (train[0][:20], train[1][:20])
    if change.get("optimizer") == "sgd":
        arguments["optimizer"] = optax.sgd(0.05)
    if change.get("params") == "float16":
        arguments["params"] = jax.tree.map(lambda leaf: leaf.astype(jnp.float16), params)
    with pytest.raises(ValueError, match=message):
        training.fit(
            arguments.pop("loss_fn"),
            arguments.pop("params"),
            arguments.pop("train"),
            arguments.pop("val"),
            epochs=1,
            checkpoint_dir=tmp_path,
            progress=False,
            **arguments,
        )


def test_a_checkpoint_without_a_run_record_is_refused_unless_restart(tmp_path):
    params, train, val = _linear_problem()
    options = {"epochs": 1, "batch_size": 8, "progress": False, "checkpoint_dir": tmp_path}
    old = training.fit(linear_loss, params, train, val, **options)
    old_metadata = {"seed": 0, "batch_size": 8, "num_train": 24, "num_val": 8}  # before records
    training.save_checkpoint(tmp_path, old.state, metadata=old_metadata)
    assert training.load_metadata(tmp_path) == old_metadata
    with pytest.raises(ValueError, match=r"without a record of the data and model .* restart=True"):
        training.fit(linear_loss, params, train, val, **options)
    fresh = training.fit(linear_loss, params, train, val, restart=True, **options)
    assert fresh.resumed_from_epoch is None
    assert training.load_metadata(tmp_path)["run_record"] == 1
