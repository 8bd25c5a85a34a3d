"""fit_ensemble: E members vmapped in one jit, each computing what its own ``fit`` computes.

The 4-device sharding of the member axis is tested in tests/test_sharding.py; here (one
device) the members' equivalence with ``fit``, their independent stopping, per-member
hyperparameters and the errors.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from rnnax import training
from rnnax.training import DivergenceWarning, TrainingDiverged


def _data(num_examples: int, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, size=(num_examples, 2)).astype(np.float32)
    y = x @ np.array([[2.0], [-1.0]], np.float32) + 0.5 + 0.05 * rng.normal(size=(num_examples, 1))
    return x, y.astype(np.float32)


TRAIN, VAL = _data(40, 0), _data(12, 1)


def init(key):
    return {"w": 0.1 * jax.random.normal(key, (2, 1)), "b": jnp.zeros((1, 1))}


def loss(params, batch, key):
    x, y = batch
    prediction = x @ params["w"] + params["b"]
    if key is not None:  # training-time noise: the members must get their own fit's keys
        prediction = prediction + 0.01 * jax.random.normal(key, prediction.shape)
    return jnp.mean(jnp.square(prediction - y))


def _close(a, b, rtol=1e-5, atol=1e-6):
    jax.tree.map(
        lambda x, y: np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol),
        a,
        b,
    )


def _member(tree, index):
    return jax.tree.map(lambda leaf: leaf[index], tree)


OPTIONS = {"epochs": 4, "batch_size": 8, "progress": False}


def test_each_member_equals_its_own_fit_run():
    seeds, rates = [0, 1, 0], [0.05, 0.05, 0.2]
    ensemble = training.fit_ensemble(
        loss, init, TRAIN, VAL, seeds=seeds, learning_rate=rates, **OPTIONS
    )
    assert ensemble.size == 3 and ensemble.seeds == (0, 1, 0)
    assert ensemble.train_loss.shape == ensemble.val_loss.shape == (3, 4)
    np.testing.assert_array_equal(ensemble.hyperparams["learning_rate"], rates)
    for index, (seed, rate) in enumerate(zip(seeds, rates, strict=True)):
        alone = training.fit(
            loss, init(jax.random.key(seed)), TRAIN, VAL, seed=seed, learning_rate=rate, **OPTIONS
        )
        _close(ensemble.member(index), alone.params)
        _close(_member(ensemble.last_params, index), alone.last_params)
        # (Losses are means of batched products that vmap may sum in another order.)
        _close(ensemble.train_loss[index], alone.history.train_loss, rtol=1e-4)
        _close(ensemble.val_loss[index], alone.history.val_loss, rtol=1e-4)
        assert ensemble.best_epoch[index] == alone.best_epoch
        assert ensemble.steps[index] == alone.steps == 4 * (40 // 8)
    assert ensemble.stop_reason == ("completed",) * 3 and ensemble.diverged == (None,) * 3
    # Seeds and rates matter; the same call gives the same numbers.
    assert not np.allclose(ensemble.train_loss[0], ensemble.train_loss[1])
    again = training.fit_ensemble(
        loss, init, TRAIN, VAL, seeds=seeds, learning_rate=rates, **OPTIONS
    )
    np.testing.assert_array_equal(again.train_loss, ensemble.train_loss)


def test_members_stop_on_their_own_divergence_and_early_stopping():
    # (The settings of the test above, so that its compiled fit epoch is reused.)
    # Member 1's rate blows the parameters up at once; member 0 trains on, undisturbed.
    with pytest.warns(DivergenceWarning, match=r"1 of 2 members diverged.*member 1 \(seed 0\)"):
        ensemble = training.fit_ensemble(
            loss, init, TRAIN, VAL, seeds=[0, 0], learning_rate=[0.05, 1e37], **OPTIONS
        )
    assert ensemble.stop_reason == ("completed", "diverged")
    record = ensemble.diverged[1]
    assert isinstance(record, TrainingDiverged) and record.epoch == 0
    assert np.isnan(ensemble.train_loss[1, 1:]).all()  # nothing recorded after it stopped
    assert all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(ensemble.last_params))
    alone = training.fit(
        loss, init(jax.random.key(0)), TRAIN, VAL, seed=0, learning_rate=0.05, **OPTIONS
    )
    _close(ensemble.member(0), alone.params)

    # Nothing counts as an improvement after the first epoch: every member stops after
    # `patience` more epochs, as fit does, and the loop ends when all have stopped.
    options = {**OPTIONS, "epochs": 10, "patience": 2, "min_delta": 1e3}
    stopped = training.fit_ensemble(
        loss, init, TRAIN, VAL, seeds=[0, 1], learning_rate=[0.05, 0.05], **options
    )
    assert stopped.stop_reason == ("early_stopping",) * 2
    assert stopped.train_loss.shape == (2, 3) and list(stopped.best_epoch) == [0, 0]
    reference = training.fit(
        loss, init(jax.random.key(1)), TRAIN, VAL, seed=1, learning_rate=0.05, **options
    )
    assert reference.stop_reason == "early_stopping" and len(reference.history.train_loss) == 3
    _close(stopped.member(1), reference.params)


def test_hyperparameters_of_an_injected_optimizer_vary_by_member():
    optimizer = optax.inject_hyperparams(optax.sgd)(learning_rate=0.1, momentum=0.0)
    ensemble = training.fit_ensemble(
        loss,
        init,
        TRAIN,
        seeds=[2, 2],
        optimizer=optimizer,
        grad_clip_norm=1.0,
        hyperparams={"momentum": [0.0, 0.9]},
        **OPTIONS,
    )
    assert not np.allclose(ensemble.train_loss[0], ensemble.train_loss[1])
    alone = training.fit(
        loss,
        init(jax.random.key(2)),
        TRAIN,
        seed=2,
        grad_clip_norm=1.0,
        optimizer=optax.inject_hyperparams(optax.sgd)(learning_rate=0.1, momentum=0.9),
        **OPTIONS,
    )
    _close(ensemble.member(1), alone.params)


def test_stacked_params_default_seeds_and_restore_best():
    stacked = jax.tree.map(
        lambda *leaves: jnp.stack(leaves), init(jax.random.key(5)), init(jax.random.key(6))
    )
    ensemble = training.fit_ensemble(
        loss, stacked, TRAIN, VAL, learning_rate=0.05, restore_best=False, **OPTIONS
    )
    assert ensemble.seeds == (0, 1) and ensemble.hyperparams == {}
    _close(ensemble.params, ensemble.last_params)
    alone = training.fit(
        loss,
        init(jax.random.key(6)),
        TRAIN,
        VAL,
        seed=1,
        learning_rate=0.05,
        restore_best=False,
        **OPTIONS,
    )
    _close(ensemble.member(1), alone.params)


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        (
            {"seeds": [0, 1], "learning_rate": [0.1, 0.2, 0.3]},
            ValueError,
            r"disagree in number.*'seeds': 2",
        ),
        ({}, ValueError, r"give seeds"),
        (
            {"seeds": [0], "learning_rate": [0.0]},
            ValueError,
            r"learning_rate\[0\] must be a positive number",
        ),
        (
            {"seeds": [0], "optimizer": optax.adam(0.1), "learning_rate": 0.1},
            ValueError,
            r"pass learning_rate only with the default optimizer",
        ),
        (
            {"seeds": [0], "hyperparams": {"learning_rate": [0.1]}},
            ValueError,
            r"hyperparams= needs an optimizer",
        ),
        (
            {"seeds": [0], "optimizer": optax.adam(0.1), "hyperparams": {"learning_rate": [0.1]}},
            ValueError,
            r"\['learning_rate'\] are not hyperparameters of the optimizer.*inject_hyperparams",
        ),
        ({"seeds": [0], "data_axis": "data"}, ValueError, r"data_axis needs a mesh"),
        ({"seeds": [0], "mesh": "cpu"}, TypeError, r"mesh must be a jax.sharding.Mesh"),
        ({"seeds": [-1]}, ValueError, r"seeds\[0\] must be an integer >= 0"),
    ],
)
def test_bad_arguments_raise_before_training(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        training.fit_ensemble(loss, init, TRAIN, **{**OPTIONS, **kwargs})


def test_a_mesh_without_the_ensemble_axis_is_named_in_the_error():
    mesh = jax.make_mesh((1,), ("data",))
    with pytest.raises(
        ValueError, match=r"ensemble_axis='ensemble' is not an axis of the mesh.*'data': 1"
    ):
        training.fit_ensemble(loss, init, TRAIN, seeds=[0], mesh=mesh, **OPTIONS)
