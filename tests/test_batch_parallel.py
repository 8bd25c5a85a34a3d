"""Batch parallelism over several local CPU devices, in a subprocess with 2 forced devices
(JAX fixes its device count at start-up, so this test cannot share the pytest process)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import functools
    import rnnax
    rnnax.set_cpu_device_count(2)
    import jax, jax.numpy as jnp, numpy as np
    from rnnax import _strategies

    assert len(jax.devices()) == 2
    try:
        rnnax.set_cpu_device_count(4)
    except RuntimeError as error:
        assert "before JAX initializes its backends" in str(error)
    else:
        raise AssertionError("set_cpu_device_count after start-up must raise")

    xs = jax.random.normal(jax.random.key(0), (4, 6, 3))
    lengths = jnp.array([6, 2, 0, 5], jnp.int32)
    cases = [
        ("lstm", rnnax.lstm_init(jax.random.key(1), 3, 5), rnnax.lstm, {}),
        ("gru", rnnax.gru_init(jax.random.key(1), 3, 5), rnnax.gru, {}),
        ("gru_ra", rnnax.gru_init(jax.random.key(1), 3, 5), rnnax.gru, {"reset_after": True}),
    ]
    for inner in ("scan", "custom_vjp"):
        # The override table is keyed by registered cell name: the reset-after GRU is its own.
        _strategies._AUTO["cpu"] = {"lstm": inner, "gru": inner, "gru_reset_after": inner}
        for name, params, core, kwargs in cases:
            for seq_lengths in (None, lengths):
                def loss(params, xs, strategy):
                    _, ys = core(params, xs, seq_lengths=seq_lengths, reverse=True,
                                 strategy=strategy, **kwargs)
                    return jnp.sum(ys ** 2)
                single = jax.value_and_grad(loss, argnums=(0, 1))(params, xs, "scan")
                split = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)),
                                static_argnums=2)(params, xs, "auto")
                jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5,
                                                                     atol=1e-5), single, split)
                _, ys = jax.jit(functools.partial(core, seq_lengths=seq_lengths, **kwargs))(
                    params, xs)
                # The batch really is split: each device holds half of it.
                shards = ys.addressable_shards
                assert len(shards) == 2 and shards[0].data.shape == (2, 6, 5), (name, shards)
            # A batch the devices don't divide runs on one device, unchanged.
            _, odd = core(params, xs[:3], **kwargs)
            assert len(odd.addressable_shards) == 1
            # An ensemble: vmap over parameters around the split core.
            stacked = jax.tree.map(lambda leaf: jnp.stack([leaf, 0.5 * leaf]), params)
            members = jax.jit(jax.vmap(lambda p: core(p, xs, **kwargs)[1]))(stacked)
            np.testing.assert_allclose(members[1], core(
                jax.tree.map(lambda leaf: 0.5 * leaf, params), xs, strategy="scan",
                **kwargs)[1], rtol=1e-5, atol=1e-6)
    print("batch-parallel OK")
""")


def test_batch_split_over_two_cpu_devices_matches_one_device():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert "batch-parallel OK" in result.stdout
