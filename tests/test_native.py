"""The ``"native"`` strategy (the C++ time loop through ``jax.ffi``): exact against the scan,
its custom VJP against numerical gradients, ``jax.jit`` / ``jax.vmap`` / ``jax.grad``, the
batch split over CPU devices, and the fallback where the native library is unavailable.

The native tests skip where the extension was not built (an install without a compiler or
without ``rnnax[native]``); the fallback tests always run.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import rnnax
from rnnax import _native, _strategies

needs_native = pytest.mark.skipif(
    not _native.available(), reason=f"native strategy unavailable: {_native.unavailable_reason()}"
)

T, B, I, H = 6, 4, 3, 5
LENGTHS = np.array([6, 2, 0, 5], np.int32)

CELLS = {
    "lstm": (rnnax.lstm_init, rnnax.lstm, {}),
    "gru": (rnnax.gru_init, rnnax.gru, {}),
    "gru_reset_after": (rnnax.gru_init, rnnax.gru, {"reset_after": True}),
}


def _case(name: str, dtype=jnp.float32):
    init, core, kwargs = CELLS[name]
    params = jax.tree.map(lambda w: w.astype(dtype), init(jax.random.key(1), I, H))
    xs = jax.random.normal(jax.random.key(0), (B, T, I)).astype(dtype)
    shape = (B, H)
    h0 = 0.3 * jax.random.normal(jax.random.key(2), shape).astype(dtype)
    carry = rnnax.LSTMState(h0, -h0) if name == "lstm" else h0
    return params, xs, carry, core, kwargs


def _loss(core, kwargs, seq_lengths, reverse, strategy):
    def loss(params, xs, carry):
        final, ys = core(
            params,
            xs,
            carry,
            seq_lengths=seq_lengths,
            reverse=reverse,
            strategy=strategy,
            **kwargs,
        )
        weights = jnp.linspace(0.5, 1.5, ys.shape[-1], dtype=ys.dtype)
        tail = sum(jnp.sum(jnp.sin(leaf.astype(jnp.float32))) for leaf in jax.tree.leaves(final))
        return jnp.sum((ys * weights[None, None, :]).astype(jnp.float32) ** 2) + tail, (final, ys)

    return loss


@needs_native
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("with_lengths", [False, True])
@pytest.mark.parametrize("name", list(CELLS))
def test_matches_scan_values_and_gradients(name, with_lengths, reverse):
    params, xs, carry, core, kwargs = _case(name)
    lengths = jnp.asarray(LENGTHS) if with_lengths else None
    results = {}
    for strategy in ("scan", "native"):
        loss = _loss(core, kwargs, lengths, reverse, strategy)
        results[strategy] = jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2), has_aux=True))(
            params, xs, carry
        )
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6),
        results["scan"],
        results["native"],
    )
    if with_lengths:  # padded outputs are exactly zero, as for the scan
        ys = results["native"][0][1][1]
        assert not np.any(np.asarray(ys)[np.arange(T)[None, :] >= LENGTHS[:, None]])


@needs_native
@pytest.mark.parametrize("name", list(CELLS))
def test_check_grads(name):
    params, xs, carry, core, kwargs = _case(name)

    def f(params, xs, carry):
        return _loss(core, kwargs, jnp.asarray(LENGTHS), True, "native")(params, xs, carry)[0]

    check_grads(f, (params, xs, carry), order=1, modes=["rev"], atol=2e-2, rtol=2e-2)


@needs_native
@pytest.mark.parametrize("name", ["lstm", "gru"])
def test_vmap_over_data_and_weights(name):
    params, xs, carry, core, kwargs = _case(name)

    def run(strategy):
        def one(params, xs):
            return core(params, xs, carry, strategy=strategy, **kwargs)[1]

        data = jax.vmap(one, in_axes=(None, 0))(params, jnp.stack([xs, -xs]))
        stacked = jax.tree.map(lambda w: jnp.stack([w, 0.5 * w]), params)
        weights = jax.vmap(one, in_axes=(0, None))(stacked, xs)
        grads = jax.grad(lambda p: jnp.sum(jax.vmap(one, in_axes=(0, None))(p, xs) ** 2))(stacked)
        return data, weights, grads

    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6),
        jax.jit(lambda: run("scan"))(),
        jax.jit(lambda: run("native"))(),
    )


@needs_native
@pytest.mark.parametrize("name", list(CELLS))
def test_bfloat16_within_rounding_of_the_scan(name):
    # The native loop computes the gates in float32 and rounds the state to bfloat16 each
    # step; the bfloat16 scan rounds after every operation. Both are compared with the float32
    # scan: the native error must be no larger than the bfloat16 scan's own (plus one bfloat16
    # unit of the values, 2**-8 relative), which is what bfloat16 rounding allows.
    params, xs, carry, core, kwargs = _case(name, jnp.bfloat16)
    lengths = jnp.asarray(LENGTHS)
    upcast = jax.tree.map(lambda a: a.astype(jnp.float32), (params, xs, carry))
    grad = lambda strategy: jax.jit(
        jax.value_and_grad(_loss(core, kwargs, lengths, False, strategy), (0, 1, 2), True)
    )
    reference = grad("scan")(*upcast)
    scan_bf16, native_bf16 = grad("scan")(params, xs, carry), grad("native")(params, xs, carry)
    for ref, scan, native in zip(
        *(jax.tree.leaves(r) for r in (reference, scan_bf16, native_bf16)), strict=True
    ):
        assert native.dtype == scan.dtype
        ref, scan, native = (np.asarray(a, np.float32) for a in (ref, scan, native))
        scale = np.max(np.abs(ref)) + 1e-6
        assert np.max(np.abs(native - ref)) <= np.max(np.abs(scan - ref)) + 2**-7 * scale


@needs_native
def test_native_is_listed_and_takes_no_unroll():
    for name in CELLS:
        cell = rnnax.get_cell("gru_reset_after" if name == "gru_reset_after" else name)
        assert "native" in rnnax.available_strategies(cell)
    params, xs, carry, core, _ = _case("lstm")
    with pytest.raises(ValueError, match="unroll"):
        core(params, xs, carry, strategy="native", unroll=2)


@needs_native
def test_batch_split_over_two_cpu_devices():
    script = textwrap.dedent("""
        import rnnax
        rnnax.set_cpu_device_count(2)
        import jax, jax.numpy as jnp, numpy as np
        from rnnax import _strategies
        xs = jax.random.normal(jax.random.key(0), (4, 6, 3))
        lengths = jnp.array([6, 2, 0, 5], jnp.int32)
        _strategies._AUTO["cpu"] = {"lstm": "native", "gru": "native"}
        for params, core in ((rnnax.lstm_init(jax.random.key(1), 3, 5), rnnax.lstm),
                             (rnnax.gru_init(jax.random.key(1), 3, 5), rnnax.gru)):
            def loss(params, xs, strategy):
                _, ys = core(params, xs, seq_lengths=lengths, reverse=True, strategy=strategy)
                return jnp.sum(ys ** 2)
            single = jax.value_and_grad(loss, argnums=(0, 1))(params, xs, "scan")
            split = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)), static_argnums=2)(
                params, xs, "auto")
            jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
                         single, split)
            _, ys = jax.jit(core)(params, xs)
            assert len(ys.addressable_shards) == 2, ys.sharding
        print("native split OK")
    """)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "native split OK" in result.stdout


# ------------------------------------------------------------------------------- fallback


@pytest.fixture
def unavailable(monkeypatch):
    """The native library made unloadable, as on an install without it."""
    monkeypatch.setattr(_native, "_load", lambda: (False, "libdnnl.so.3 was not found (test)"))
    _strategies._warn_native_fallback.cache_clear()
    yield
    _strategies._warn_native_fallback.cache_clear()


def test_unavailable_native_is_a_clear_error(unavailable):
    assert "native" not in rnnax.available_strategies("lstm")
    params, xs, carry, core, _ = _case("lstm")
    with pytest.raises(RuntimeError, match=r"libdnnl.so.3 was not found.*rnnax\[native\]"):
        core(params, xs, carry, strategy="native")


def test_auto_falls_back_and_says_so_once(unavailable, monkeypatch, caplog):
    monkeypatch.setitem(_strategies._AUTO, "cpu", {"gru": "native"})
    params, xs, carry, core, _ = _case("gru")
    with caplog.at_level(logging.WARNING, logger="rnnax"):
        _, ys = core(params, xs, carry, strategy="auto")
        core(params, 2 * xs, carry, strategy="auto")
    messages = [r.getMessage() for r in caplog.records if "native" in r.getMessage()]
    assert len(messages) == 1 and "custom_vjp" in messages[0], messages
    _, expected = core(params, xs, carry, strategy="scan")
    np.testing.assert_allclose(ys, expected, rtol=1e-5, atol=1e-6)


@needs_native
def test_auto_runs_the_custom_vjp_where_native_cannot():
    # unroll asks for a scan loop, and the native loop runs neither float16 nor float64: "auto"
    # runs the custom VJP there (an explicit strategy="native" is an error instead).
    params, xs, carry, core, _ = _case("lstm")
    _, expected = core(params, xs, carry, strategy="scan")
    _, unrolled = core(params, xs, carry, strategy="auto", unroll=2)
    np.testing.assert_allclose(unrolled, expected, rtol=1e-5, atol=1e-6)
    with jax.enable_x64(True):
        wide = jax.tree.map(lambda a: a.astype(jnp.float64), (params, xs, carry))
        _, ys = core(*wide, strategy="auto")
        assert ys.dtype == jnp.float64
        with pytest.raises(TypeError, match="float32 and bfloat16"):
            core(*wide, strategy="native")
