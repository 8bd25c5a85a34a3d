"""Checkpoints of parameters sharded over 4 forced host CPU devices (one subprocess: JAX fixes
its device count at start-up): saved with their shardings, restored laid out like the template
(sharded, or replicated when the template is), resumed bit for bit; and orbax is imported by
the first save, not by ``import rnnax.training``."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import sys, tempfile
    import jax, jax.numpy as jnp, numpy as np
    from jax.sharding import NamedSharding, PartitionSpec as P
    jax.config.update("jax_numpy_dtype_promotion", "strict")
    jax.config.update("jax_numpy_rank_promotion", "raise")
    assert jax.device_count() == 4, jax.devices()
    from rnnax import training
    assert "orbax.checkpoint" not in sys.modules, "import rnnax.training imported orbax"

    def loss(params, batch, key):
        x, y = batch
        return jnp.mean(jnp.square(jnp.tanh(x @ params["w"]) @ params["v"] + params["b"] - y))

    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 8)).astype(np.float32)
    y = (x[:, :1] - 0.5 * x[:, 1:2]).astype(np.float32)
    params = {"w": jnp.asarray(rng.normal(0, 0.3, (8, 4)), jnp.float32),
              "v": jnp.zeros((4, 1), jnp.float32), "b": jnp.zeros((1, 1), jnp.float32)}
    mesh = jax.make_mesh((4,), ("data",))
    rows = {"w": P("data"), "v": None, "b": None}  # w's 8 rows: 2 on each device
    options = dict(batch_size=8, learning_rate=0.05, seed=1, progress=False, mesh=mesh,
                   param_sharding=rows)
    directory = tempfile.mkdtemp()

    uninterrupted = training.fit(loss, params, (x, y), (x[:8], y[:8]), epochs=4, **options)
    first = training.fit(loss, params, (x, y), (x[:8], y[:8]), epochs=2,
                         checkpoint_dir=directory, **options)
    assert "orbax.checkpoint" in sys.modules

    def shards(array):
        return sorted((s.device.id, s.data.shape) for s in array.addressable_shards)

    # Restored into the run's own state: the values, and each array sharded as it was.
    saved = training.load_checkpoint(directory, first.state)
    for name, leaf in saved.params.items():
        like = first.state.params[name]
        assert leaf.sharding.is_equivalent_to(like.sharding, leaf.ndim), name
        assert shards(leaf) == shards(like), name
        np.testing.assert_array_equal(leaf, like)
    assert saved.params["w"].sharding.spec == P("data")
    assert shards(saved.params["w"]) == [(i, (2, 4)) for i in range(4)]
    assert saved.opt_state[0].mu["w"].sharding.spec == P("data")  # Adam's slots follow
    assert saved.best_params["w"].sharding.spec == P("data")
    for a, b in zip(jax.tree.leaves(saved.opt_state), jax.tree.leaves(first.state.opt_state)):
        np.testing.assert_array_equal(a, b)

    # Into a replicated template: the same values, laid out like the template.
    replicated = NamedSharding(mesh, P())
    template = first.state._replace(params=jax.device_put(first.state.params, replicated))
    again = training.load_checkpoint(directory, template)
    assert again.params["w"].sharding.spec == P()
    assert shards(again.params["w"]) == [(i, (8, 4)) for i in range(4)]
    np.testing.assert_array_equal(again.params["w"], first.state.params["w"])

    # Into an unplaced template (host arrays): the default device, uncommitted.
    host = first.state._replace(params=jax.device_get(first.state.params))
    plain = training.load_checkpoint(directory, host)
    assert not plain.params["w"].committed and len(plain.params["w"].devices()) == 1

    # The run resumed on the mesh ends bit for bit where the uninterrupted one ends.
    resumed = training.fit(loss, params, (x, y), (x[:8], y[:8]), epochs=4,
                           checkpoint_dir=directory, **options)
    assert resumed.resumed_from_epoch == 2
    assert resumed.params["w"].sharding.spec == P("data")
    for a, b in zip(jax.tree.leaves(resumed.state.params), jax.tree.leaves(uninterrupted.state.params)):
        np.testing.assert_array_equal(a, b)
    assert resumed.history.val_loss == uninterrupted.history.val_loss
    print("sharded checkpoints OK")
""")


def test_sharded_parameters_are_saved_and_restored_with_their_shardings():
    env = dict(os.environ)
    env["XLA_FLAGS"] = (
        env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4"
    ).strip()
    env.pop("JAX_NUM_CPU_DEVICES", None)
    env["JAX_PLATFORMS"] = "cpu"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", SCRIPT],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-6000:]
    assert "sharded checkpoints OK" in result.stdout
