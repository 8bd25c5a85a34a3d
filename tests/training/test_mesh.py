"""fit, backtest and the comparison's seed trainer with a mesh, on the one device of the test
process: same numbers as without, exactly resumable, and clear errors. The 4-device behaviour
(the batch really split, XLA's all-reduce, ensembles over devices) is tests/test_sharding.py.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

from rnnax import forecasting, training
from rnnax.compare._config import CompareConfig
from rnnax.compare._seeds import SeedTrainer
from rnnax.compare._training import seed_mesh


def _data(num_examples: int, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, size=(num_examples, 2)).astype(np.float32)
    y = x @ np.array([[2.0], [-1.0]], np.float32) + 0.5 + 0.05 * rng.normal(size=(num_examples, 1))
    return x, y.astype(np.float32)


TRAIN, VAL = _data(40, 0), _data(10, 1)
PARAMS = {"w": jnp.zeros((2, 1)), "b": jnp.zeros((1, 1))}
OPTIONS = {"batch_size": 8, "learning_rate": 0.05, "progress": False}


def loss(params, batch, key):
    x, y = batch
    prediction = x @ params["w"] + params["b"]
    if key is not None:
        prediction = prediction + 0.01 * jax.random.normal(key, prediction.shape)
    return jnp.mean(jnp.square(prediction - y))


@pytest.fixture(scope="module")
def mesh():
    return jax.make_mesh((1,), ("data",))


def test_a_one_device_mesh_gives_the_numbers_of_no_mesh_and_resumes_exactly(mesh, tmp_path):
    plain = training.fit(loss, PARAMS, TRAIN, VAL, epochs=4, **OPTIONS)
    meshed = training.fit(loss, PARAMS, TRAIN, VAL, epochs=4, mesh=mesh, **OPTIONS)
    for a, b in zip(jax.tree.leaves(plain.params), jax.tree.leaves(meshed.params), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(plain.history.val_loss, meshed.history.val_loss, rtol=1e-6)
    assert all(leaf.sharding.spec == P() for leaf in jax.tree.leaves(meshed.params))

    # Stop after 2 epochs, resume to 4 from the checkpoint: the state is laid out on the mesh
    # again and the run continues bit for bit.
    training.fit(loss, PARAMS, TRAIN, VAL, epochs=2, mesh=mesh, checkpoint_dir=tmp_path, **OPTIONS)
    resumed = training.fit(
        loss, PARAMS, TRAIN, VAL, epochs=4, mesh=mesh, checkpoint_dir=tmp_path, **OPTIONS
    )
    assert resumed.history.val_loss == meshed.history.val_loss
    for a, b in zip(jax.tree.leaves(resumed.params), jax.tree.leaves(meshed.params), strict=True):
        np.testing.assert_array_equal(a, b)
        assert a.sharding == b.sharding


def test_shard_batch_splits_the_example_axis(mesh):
    batch = training.shard_batch({"x": np.zeros((6, 3)), "y": np.ones((6,))}, mesh)
    assert batch["x"].sharding.spec == P("data") and batch["y"].shape == (6,)
    with pytest.raises(ValueError, match=r"same leading \(example\) axis"):
        training.shard_batch((np.zeros((6, 3)), np.zeros((5, 3))), mesh)
    with pytest.raises(ValueError, match=r"data_axis='batch' is not an axis of the mesh"):
        training.shard_batch(np.zeros((6, 3)), mesh, data_axis="batch")
    with pytest.raises(TypeError, match=r"mesh must be a jax.sharding.Mesh"):
        training.shard_batch(np.zeros((6, 3)), jax.devices())


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"param_sharding": {"w": P(), "b": P()}}, ValueError, r"param_sharding needs a mesh"),
        ({"mesh": "mesh"}, TypeError, r"mesh must be a jax.sharding.Mesh"),
        (
            {"mesh": True, "data_axis": "batch"},
            ValueError,
            r"data_axis='batch' is not an axis of the mesh",
        ),
        (
            {"mesh": True, "param_sharding": {"w": P("model")}},
            ValueError,
            r"param_sharding must be None or a pytree prefix of the parameters",
        ),
        (
            {"mesh": True, "param_sharding": {"w": P("model"), "b": P()}},
            ValueError,
            r"param_sharding names mesh axis 'model'",
        ),
    ],
)
def test_mesh_arguments_are_checked_before_training(mesh, kwargs, error, pattern):
    if kwargs.get("mesh") is True:
        kwargs = {**kwargs, "mesh": mesh}
    with pytest.raises(error, match=pattern):
        training.fit(loss, PARAMS, TRAIN, epochs=1, **OPTIONS, **kwargs)


def test_backtest_mesh_arguments_are_checked(mesh):
    model = forecasting.forecaster(forecasting.ForecasterConfig(horizon=2, hidden=2))
    params = None  # the mesh is checked before the parameters are touched
    series = np.sin(np.arange(40.0))
    with pytest.raises(ValueError, match=r"data_axis='origins' is not an axis of the mesh"):
        forecasting.backtest(
            model, params, series, np.arange(20, 30), lookback=8, mesh=mesh, data_axis="origins"
        )
    with pytest.raises(TypeError, match=r"mesh must be a jax.sharding.Mesh"):
        forecasting.backtest(model, params, series, np.arange(20, 30), lookback=8, mesh=object())


def test_comparison_seed_devices_are_checked():
    assert seed_mesh(CompareConfig()) is None  # the default: no mesh, results as before
    with pytest.raises(ValueError, match=r"seeds=5 is not divisible by seed_devices=2"):
        CompareConfig(seeds=5, seed_devices=2)
    with pytest.raises(ValueError, match=r"seed_devices=2, but JAX sees 1 device"):
        seed_mesh(CompareConfig(seeds=4, seed_devices=2))
    trainer = SeedTrainer(
        lambda key: PARAMS,
        lambda p, b: loss(p, b, None),
        TRAIN,
        VAL,
        [0, 1],
        batch_size=8,
        learning_rate=0.05,
        eval_every=2,
    )
    with pytest.raises(ValueError, match=r"seed_axis='ensemble' is not an axis of the mesh"):
        trainer.shard_seeds(jax.make_mesh((1,), ("data",)))
    trainer.shard_seeds(jax.make_mesh((1,), ("ensemble",)))
    state = trainer.init()
    assert state.params["w"].sharding.spec == P("ensemble")
    trainer.compile(state)
    with pytest.raises(RuntimeError, match=r"before the trainer compiles"):
        trainer.shard_seeds(jax.make_mesh((1,), ("ensemble",)))
