"""The training loop: learning, determinism, early stopping, divergence guard, data checks."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from rnnax import data, forecasting, training
from rnnax.training import DivergenceWarning, TrainingDivergedError


def _linear_data(slope: float, num_examples: int = 32, noise: float = 0.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, size=(num_examples, 2)).astype(np.float32)
    y = (
        x @ np.array([[slope], [-slope]], np.float32)
        + 0.5
        + noise * rng.normal(size=(num_examples, 1))
    )
    return x, y.astype(np.float32)


def _linear_params():
    return {"w": jnp.zeros((2, 1)), "b": jnp.zeros((1, 1))}


def linear_loss(params, batch, key):
    x, y = batch
    prediction = x @ params["w"] + params["b"]
    if key is not None:  # training-time noise, so the test sees whether keys are seeded
        prediction = prediction + 0.01 * jax.random.normal(key, prediction.shape)
    return jnp.mean(jnp.square(prediction - y))


def _trees_equal(a, b) -> bool:
    return all(
        np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)
    )


# The same problem and settings as the resume test in test_training_checkpoint.py, so that
# both reuse one compiled epoch.
SINE_CONFIG = forecasting.ForecasterConfig(horizon=2, hidden=4, dropout_rate=0.1)
SINE_OPTIONS = {"batch_size": 8, "learning_rate": 1e-2, "grad_clip_norm": 1.0, "progress": False}


def test_training_loss_falls_on_a_tiny_sine_problem():
    series = np.sin(2 * np.pi * np.arange(96.0) / 12)
    split = data.chronological_split(series, lookback=8, horizon=2, validation=12, test=0)
    model = forecasting.forecaster(SINE_CONFIG)
    result = training.fit(
        model,
        model.init(jax.random.key(0)),
        split.train,
        split.validation,
        epochs=10,
        seed=0,
        **SINE_OPTIONS,
    )
    history = result.history
    assert len(history.train_loss) == 10 and len(history.val_loss) == 10
    assert history.train_loss[-1] < 0.3 * history.train_loss[0]
    assert min(history.val_loss) < 0.3 * history.val_loss[0]
    assert history.steps[-1] == result.steps == 10 * (len(split.train.inputs) // 8)
    assert all(seconds > 0 for seconds in history.epoch_seconds)
    assert result.best_epoch == int(np.argmin(history.val_loss))
    assert _trees_equal(result.params, result.best_params)


def test_same_seed_gives_identical_numbers_and_another_seed_does_not():
    train, val = _linear_data(2.0), _linear_data(2.0, seed=1)
    runs = [
        training.fit(
            linear_loss,
            _linear_params(),
            train,
            val,
            epochs=5,
            batch_size=8,
            learning_rate=0.05,
            seed=seed,
            progress=False,
        )
        for seed in (7, 7, 8)
    ]
    assert _trees_equal(runs[0].last_params, runs[1].last_params)
    assert _trees_equal(runs[0].opt_state, runs[1].opt_state)
    assert runs[0].history.train_loss == runs[1].history.train_loss
    assert runs[0].history.val_loss == runs[1].history.val_loss
    assert not _trees_equal(runs[0].last_params, runs[2].last_params)


def test_early_stopping_restores_the_best_params():
    # Training pulls the slope from 0 towards 3; validation wants 1, so its loss falls, then rises.
    train, val = _linear_data(3.0), _linear_data(1.0, seed=1)
    options = {"batch_size": 32, "optimizer": optax.sgd(0.05), "seed": 0, "progress": False}
    result = training.fit(
        linear_loss, _linear_params(), train, val, epochs=200, patience=3, **options
    )
    assert result.stop_reason == "early_stopping"
    best = result.best_epoch
    assert 0 < best < result.epochs_completed - 1
    assert result.epochs_completed == best + 1 + 3
    assert result.history.val_loss[best] == min(result.history.val_loss)
    assert _trees_equal(result.params, result.best_params)
    assert not _trees_equal(result.params, result.last_params)
    # The restored params are exactly those after the best epoch of the same run.
    reference = training.fit(linear_loss, _linear_params(), train, val, epochs=best + 1, **options)
    assert _trees_equal(result.params, reference.last_params)
    no_restore = training.fit(
        linear_loss,
        _linear_params(),
        train,
        val,
        epochs=200,
        patience=3,
        restore_best=False,
        **options,
    )
    assert _trees_equal(no_restore.params, result.last_params)


def test_divergence_guard_stops_on_an_absurd_learning_rate_and_keeps_the_last_good_state():
    train = _linear_data(2.0)
    options = {
        "batch_size": 32,
        "optimizer": optax.sgd(1e6),
        "seed": 0,
        "progress": False,
    }  # one step per epoch
    with pytest.warns(
        DivergenceWarning, match=r"diverged at epoch \d+, step \d+.*kept the parameters"
    ):
        result = training.fit(linear_loss, _linear_params(), train, epochs=100, **options)
    record = result.diverged
    assert result.stop_reason == "diverged" and record is not None
    assert 0 < record.step < 100 and record.epoch == record.step
    assert result.steps == record.step == result.history.steps[-1]
    assert all(bool(jnp.isfinite(leaf).all()) for leaf in jax.tree.leaves(result.last_params))
    # The kept state is exactly the state after the last good step.
    good = training.fit(linear_loss, _linear_params(), train, epochs=record.step, **options)
    assert good.diverged is None
    assert _trees_equal(result.last_params, good.last_params)
    assert _trees_equal(result.opt_state, good.opt_state)


def test_divergence_guard_catches_a_nan_gradient_behind_a_finite_loss():
    def loss_with_nan_gradient(params, batch, key):
        # sqrt'(0) is inf and 0 * inf is NaN: the loss stays finite, its gradient does not.
        return linear_loss(params, batch, key) + 0.0 * jnp.sum(jnp.sqrt(jnp.abs(params["w"])))

    params = _linear_params()
    with pytest.raises(
        TrainingDivergedError, match="gradients or the updated parameters"
    ) as caught:
        training.fit(
            loss_with_nan_gradient,
            params,
            _linear_data(2.0),
            epochs=5,
            batch_size=8,
            progress=False,
            on_divergence="raise",
        )
    result = caught.value.result
    assert result.diverged.step == 0 and np.isfinite(result.diverged.loss)
    assert _trees_equal(result.last_params, params)
    assert result.steps == 0


@pytest.mark.parametrize("bad_value", [np.nan, np.inf])
def test_non_finite_data_is_rejected_before_training(bad_value):
    calls = []

    def counting_loss(params, batch, key):
        calls.append(1)
        return linear_loss(params, batch, key)

    x, y = _linear_data(2.0)
    y_bad = y.copy()
    y_bad[7, 0] = bad_value
    with pytest.raises(
        ValueError, match=r"train_data\[1\] has non-finite values .* first at example 7"
    ):
        training.fit(counting_loss, _linear_params(), (x, y_bad), epochs=2, progress=False)
    x_bad = x.copy()
    x_bad[3, 1] = bad_value
    with pytest.raises(
        ValueError, match=r"val_data\[0\] has non-finite values .* first at example 3"
    ):
        training.fit(counting_loss, _linear_params(), (x, y), (x_bad, y), epochs=2, progress=False)
    assert calls == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"epochs": 0}, "epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"patience": 0}, "patience"),
        ({"grad_clip_norm": -1.0}, "grad_clip_norm"),
        ({"learning_rate": -1.0}, "learning_rate"),
        ({"learning_rate": 0.1, "optimizer": optax.sgd(0.1)}, "inside your optimizer"),
        ({"on_divergence": "ignore"}, "on_divergence"),
    ],
)
def test_bad_arguments_raise_value_errors(arguments, message):
    with pytest.raises(ValueError, match=message):
        training.fit(linear_loss, _linear_params(), _linear_data(2.0), progress=False, **arguments)


def test_inconsistent_or_empty_data_is_rejected():
    x, y = _linear_data(2.0)
    with pytest.raises(ValueError, match="same number of examples"):
        training.fit(linear_loss, _linear_params(), (x, y[:-1]), progress=False)
    with pytest.raises(ValueError, match="val_data has no examples"):
        training.fit(linear_loss, _linear_params(), (x, y), (x[:0], y[:0]), progress=False)


def test_schedules_clipping_and_chunked_validation():
    train, val = _linear_data(2.0), _linear_data(2.0, seed=1)
    options = {"epochs": 3, "batch_size": 8, "seed": 0, "progress": False}
    constant = training.fit(
        linear_loss, _linear_params(), train, val, learning_rate=0.05, **options
    )
    # 32 validation examples in chunks of 5: six full chunks and a remainder of 2.
    scheduled = training.fit(
        linear_loss,
        _linear_params(),
        train,
        val,
        learning_rate=optax.constant_schedule(0.05),
        eval_batch_size=5,
        **options,
    )
    assert _trees_equal(constant.last_params, scheduled.last_params)
    np.testing.assert_allclose(constant.history.val_loss, scheduled.history.val_loss, rtol=1e-5)

    # SGD with lr 1 after clipping to norm 1e-3: the first step moves the params by exactly 1e-3.
    clipped = training.fit(
        linear_loss,
        _linear_params(),
        train,
        epochs=1,
        batch_size=32,
        optimizer=optax.sgd(1.0),
        grad_clip_norm=1e-3,
        progress=False,
    )
    moved = np.sqrt(
        sum(float(jnp.sum(jnp.square(leaf))) for leaf in jax.tree.leaves(clipped.last_params))
    )
    assert moved == pytest.approx(1e-3, rel=1e-4)


def test_progress_bar_shows_the_losses(capsys):
    train, val = _linear_data(2.0), _linear_data(2.0, seed=1)
    training.fit(linear_loss, _linear_params(), train, val, epochs=2, batch_size=8, progress=True)
    err = capsys.readouterr().err
    assert "fit" in err and "train=" in err and "val=" in err and "2/2" in err
