"""Data and ensemble parallelism over a mesh of 4 forced CPU devices, each test in a subprocess
(JAX fixes its device count at start-up, so these cannot share the pytest process).

What is checked, beside the numbers: where the arrays live (``sharding.spec`` and the shapes of
``addressable_shards``), what sharding XLA gave the minibatch inside the compiled step
(``jax.debug.inspect_array_sharding``), that the gradient reduction is XLA's all-reduce, and
that rnnax's cores do not split the batch a second time under a mesh.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PRELUDE = textwrap.dedent("""
    import functools, re
    import jax, jax.numpy as jnp, numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    jax.config.update("jax_numpy_dtype_promotion", "strict")
    jax.config.update("jax_numpy_rank_promotion", "raise")
    assert jax.device_count() == 4, jax.devices()
    from rnnax import _strategies, forecasting, training
    from rnnax import _sharding
    from rnnax.training import _epochs, _optimizers

    def close(a, b, rtol=1e-5, atol=1e-6):
        jax.tree.map(lambda x, y: np.testing.assert_allclose(np.asarray(x), np.asarray(y),
                                                             rtol=rtol, atol=atol), a, b)

    t = np.arange(240, dtype=np.float32)
    windows = np.lib.stride_tricks.sliding_window_view(np.sin(t / 4) + 0.1 * np.cos(t / 7), 14)
    inputs, targets = windows[:, :12, None], windows[:, 12:, None]
    train, val = (inputs[:160], targets[:160]), (inputs[160:206], targets[160:206])  # 46: not /4

    # Record what the cores decide about splitting the batch themselves.
    decisions = []
    _original_batch_devices = _strategies.batch_devices
    def recording_batch_devices(*args):
        devices = _original_batch_devices(*args)
        decisions.append(None if devices is None else len(devices))
        return devices
    _strategies.batch_devices = recording_batch_devices

    def expect_error(kind, pattern, function, *args, **kwargs):
        try:
            function(*args, **kwargs)
        except kind as error:
            assert re.search(pattern, str(error)), str(error)
        else:
            raise AssertionError(f"expected {kind.__name__} matching {pattern!r}")
""")

DATA_PARALLEL = PRELUDE + textwrap.dedent("""
    model = forecasting.forecaster(forecasting.ForecasterConfig(horizon=2, hidden=8))
    params = model.init(jax.random.key(0))
    options = dict(epochs=2, batch_size=32, learning_rate=1e-2, progress=False)

    seen = []
    def loss_fn(params, batch, key):
        jax.debug.inspect_array_sharding(
            batch[0],
            callback=lambda s: seen.append(("train" if key is not None else "eval", s.spec)))
        return model.loss(params, batch, key)

    # jax.make_mesh makes Explicit axes; fit accepts them. The training set is a global array
    # split over the data axis, as each host builds it in a multi-host run.
    mesh = jax.make_mesh((4,), ("data",))
    split = NamedSharding(mesh, P("data"))
    global_train = tuple(jax.make_array_from_process_local_data(split, a) for a in train)
    sharded = training.fit(loss_fn, params, global_train, val, mesh=mesh, **options)
    # Under the mesh the cores were asked and declined to split the batch themselves (which
    # they do without one).
    assert decisions and set(decisions) == {None}, decisions
    assert len(_strategies.batch_devices(32, "auto")) == 4
    # The minibatch is split over the 4 devices inside the step; validation too (44 of the 46
    # examples split, the 2 left over scored everywhere).
    assert ("train", P("data")) in seen and ("eval", P("data")) in seen, seen
    assert ("train", P()) not in seen, seen
    # The parameters come back replicated on all 4 devices.
    for leaf in jax.tree.leaves(sharded.params):
        assert leaf.sharding.spec == P() and len(leaf.addressable_shards) == 4, leaf.sharding
        assert {s.device for s in leaf.addressable_shards} == set(jax.devices())

    # Single-device training: a mesh of one device (which also keeps the cores unsplit).
    one = Mesh(np.asarray(jax.devices()[:1]), ("data",))
    single = training.fit(model, params, train, val, mesh=one, **options)
    close(sharded.params, single.params)
    close(sharded.history.train_loss, single.history.train_loss)
    close(sharded.history.val_loss, single.history.val_loss)

    # The gradient reduction is XLA's all-reduce, and each device runs the model on 8 of the
    # 32 examples of a minibatch.
    placement = _epochs.Placement(
        _sharding.LeadingAxisConstraint(_sharding.check_mesh(mesh), "data"),
        *[_sharding.flat(jax.tree.map(lambda leaf: leaf.sharding, tree))
          for tree in (sharded.state.params, sharded.state.opt_state)])
    epoch = _epochs.compiled_epoch(loss_fn, _optimizers.default_optimizer(1e-2), 160, 32, 46, None, placement)
    placed = [_sharding.place_data(forecasting.ForecastBatch(*map(jnp.asarray, d), None),
                                   placement.mesh, "d") for d in (global_train, val)]
    with jax.set_mesh(placement.mesh):
        hlo = epoch.jitted.lower(sharded.state.params, sharded.state.opt_state, jax.random.key(0),
                                 *placed).compile().as_text()
    assert "all-reduce" in hlo
    assert re.search(r"f32\\[8,12,1\\]", hlo), "no per-device [8, 12, 1] input slice in the HLO"

    # Parameters sharded on request (the head's rows over the data axis; Adam's moments
    # follow), with numpy data copied to every device: the same numbers again.
    head_rows = forecasting.ForecasterParams(
        encoder=None, head=forecasting.DenseParams(w=P("data"), b=None))
    rows = training.fit(model, params, train, val, mesh=mesh, param_sharding=head_rows, **options)
    assert rows.params.head.w.sharding.spec == P("data")
    assert [s.data.shape for s in rows.params.head.w.addressable_shards] == [(2, 2)] * 4
    assert rows.state.opt_state[0].mu.head.w.sharding.spec == P("data")
    assert rows.params.head.b.sharding.spec == P()
    close(rows.params, single.params)

    # Clear errors before any compilation.
    expect_error(ValueError,
                 r"batch_size=30 is not divisible by the size of mesh axis 'data' \\(4\\).*28 or 3",
                 training.fit, model, params, train, mesh=mesh, epochs=1, batch_size=30,
                 progress=False)
    expect_error(ValueError, r"batch_size=500 is clamped to the 158 training examples.*e.g. 156",
                 training.fit, model, params, (inputs[:158], targets[:158]), mesh=mesh, epochs=1,
                 batch_size=500, progress=False)
    expect_error(ValueError, r"eval_batch_size=10 is not divisible", training.fit, model, params,
                 train, val, mesh=mesh, epochs=1, eval_batch_size=10, progress=False)
    expect_error(ValueError, r"data_axis='batch' is not an axis of the mesh", training.fit, model,
                 params, train, mesh=mesh, data_axis="batch", epochs=1, progress=False)
    expect_error(TypeError, r"mesh must be a jax.sharding.Mesh", training.fit, model, params, train,
                 mesh=jax.devices(), epochs=1, progress=False)
    expect_error(ValueError, r"param_sharding names mesh axis 'model'", training.fit, model, params,
                 train, mesh=mesh, param_sharding=P("model"), epochs=1, progress=False)

    # backtest: the origins split over the data axis; 20 origins split 4 ways, 18 padded to 20.
    series = windows[:, 0]
    result = forecasting.backtest(model, single.params, series, np.arange(20, 40), lookback=12,
                                  mesh=mesh)
    assert result.forecasts["model"].sharding.spec == P("data")
    assert [s.data.shape for s in result.forecasts["model"].addressable_shards] == [(5, 2, 1)] * 4
    # (Without a mesh the cores split over the 4 devices, which cannot take parameters
    # committed to one device: hand them over from the host.)
    alone = forecasting.backtest(model, jax.device_get(single.params), series, np.arange(20, 40),
                                 lookback=12)
    close(result.forecasts, alone.forecasts)
    close(result.summary, alone.summary)
    odd = forecasting.backtest(model, single.params, series, np.arange(20, 38), lookback=12,
                               mesh=mesh)
    assert odd.metrics["model"]["mae"].shape == (18,)
    close(odd.metrics, jax.tree.map(lambda a: a[:18], alone.metrics))
    print("data-parallel OK")
""")

ENSEMBLE = PRELUDE + textwrap.dedent("""
    from rnnax.compare._seeds import SeedTrainer, train_seeds

    model = forecasting.forecaster(forecasting.ForecasterConfig(horizon=2, hidden=8))
    options = dict(epochs=2, batch_size=32, progress=False,
                   learning_rate=[1e-2, 1e-2, 3e-3, 3e-3])
    seen = []
    def loss_fn(params, batch, key):
        jax.debug.inspect_array_sharding(params.head.w,
                                         callback=lambda s: seen.append(("w", s.spec)))
        jax.debug.inspect_array_sharding(batch[0], callback=lambda s: seen.append(("x", s.spec)))
        return model.loss(params, batch, key)

    # Four members (2 seeds x 2 learning rates) split over 4 devices: one member per device.
    mesh = jax.make_mesh((4,), ("ensemble",))
    sharded = training.fit_ensemble(loss_fn, model.init, train, val, seeds=[0, 1, 0, 1], mesh=mesh,
                                    **options)
    assert set(decisions) == {None}, decisions
    assert ("w", P("ensemble")) in seen, seen
    for leaf in jax.tree.leaves((sharded.params, sharded.opt_state)):
        assert leaf.sharding.spec == P("ensemble"), leaf.sharding
        assert len({s.device for s in leaf.addressable_shards}) == 4
        assert all(s.data.shape[0] == 1 for s in leaf.addressable_shards)
    assert np.all(sharded.train_loss[:, -1] < sharded.train_loss[:, 0]), sharded.train_loss
    assert sharded.stop_reason == ("completed",) * 4

    # Member 3 (seed 1, rate 3e-3) trained alone by fit on one device: the same numbers.
    alone = training.fit(model, model.init(jax.random.key(1)), train, val, seed=1,
                         learning_rate=3e-3, epochs=2, batch_size=32, progress=False,
                         mesh=Mesh(np.asarray(jax.devices()[:1]), ("data",)))
    close(sharded.member(3), alone.params)
    close(sharded.train_loss[3], alone.history.train_loss, rtol=1e-4)

    # A 2 x 2 mesh: two members per device pair, and each member's minibatch split in two.
    seen.clear()
    grid = jax.make_mesh((2, 2), ("ensemble", "data"))
    two_d = training.fit_ensemble(loss_fn, model.init, train, val, seeds=[0, 1, 0, 1], mesh=grid,
                                  data_axis="data", **options)
    assert ("x", P("ensemble", "data")) in seen, seen
    assert [s.data.shape[0] for s in two_d.params.head.w.addressable_shards] == [2] * 4
    close(two_d.params, sharded.params)

    expect_error(ValueError, r"ensemble size \\(members\\)=3 is not divisible by the size of mesh "
                 r"axis 'ensemble' \\(4\\)", training.fit_ensemble, model, model.init, train,
                 seeds=[0, 1, 2],
                 mesh=mesh, epochs=1, progress=False)
    expect_error(ValueError, r"batch_size=31 is not divisible by the size of mesh axis .data.",
                 training.fit_ensemble, model, model.init, train, seeds=[0, 1], mesh=grid,
                 data_axis="data", epochs=1, batch_size=31, progress=False)

    # The comparison's seed trainer: seeds split over the mesh, numbers unchanged.
    def trainer(**kwargs):
        return SeedTrainer(model.init, lambda p, b: model.loss(p, b), train, val, [3, 4, 5, 6],
                           batch_size=16, learning_rate=1e-2, eval_every=3, **kwargs)
    plain = train_seeds(trainer(), steps=6)
    split = train_seeds(trainer(mesh=mesh), steps=6)
    assert split.final_params.head.w.sharding.spec == P("ensemble")
    assert [s.data.shape[0] for s in split.final_params.head.w.addressable_shards] == [1] * 4
    close(split.val_matrix(), plain.val_matrix())
    close(split.best_params, plain.best_params)
    expect_error(ValueError,
                 r"number of seeds=4 is not divisible by the size of mesh axis 'ensemble' \\(3\\)",
                 trainer, mesh=jax.make_mesh((3,), ("ensemble",), devices=jax.devices()[:3]))
    print("ensemble OK")
""")


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    """Runs ``python *argv`` with 4 forced host CPU devices."""
    env = dict(os.environ)
    env["XLA_FLAGS"] = (
        env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4"
    ).strip()
    env.pop("JAX_NUM_CPU_DEVICES", None)
    env["JAX_PLATFORMS"] = "cpu"
    return subprocess.run(
        [sys.executable, *argv], capture_output=True, text=True, timeout=600, env=env, cwd=ROOT
    )


def test_data_parallel_fit_on_four_devices_matches_one_device_and_splits_the_batch():
    result = _run("-c", DATA_PARALLEL)
    assert result.returncode == 0, result.stderr[-6000:]
    assert "data-parallel OK" in result.stdout


def test_ensemble_sharded_over_four_devices_trains_and_matches_one_device():
    result = _run("-c", ENSEMBLE)
    assert result.returncode == 0, result.stderr[-6000:]
    assert "ensemble OK" in result.stdout


def test_multi_host_launch_example_runs_as_one_process_over_four_devices():
    result = _run(str(ROOT / "examples" / "multi_host_launch.py"), "--epochs", "2", "--hidden", "8")
    assert result.returncode == 0, result.stderr[-6000:]
    assert "1 process(es), 4 device(s), mesh {'data': 4}" in result.stdout
    assert "parameters come back replicated: spec P(), 4 devices" in result.stdout
