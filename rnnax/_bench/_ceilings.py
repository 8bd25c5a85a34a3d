"""What an implementation is measured against, in the same run: the GEMM ceiling (FLOP/s of
a large matmul) and the latency floor (an empty scan per step, one launch)."""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable
from typing import Any

from rnnax._bench._impl import Config, call_compiled


def measure_gemm(jax: Any, size: int, dtype: str, repeats: int) -> dict[str, Any]:
    """Median time of a jitted ``size x size @ size x size`` matmul: the FLOP/s ceiling."""
    import jax.numpy as jnp

    a, b = jax.jit(
        lambda key: tuple(
            jax.random.normal(k, (size, size), jnp.float32).astype(dtype)
            for k in jax.random.split(key)
        )
    )(jax.random.key(3))
    matmul = jax.jit(jnp.matmul).lower(a, b).compile()
    for _ in range(2):
        jax.block_until_ready(matmul(a, b))
    times = []
    for _ in range(max(repeats, 5)):
        start = time.perf_counter()
        jax.block_until_ready(matmul(a, b))
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return {
        "size": size,
        "dtype": dtype,
        "median_s": median,
        "times_s": times,
        "gflops": 2 * size**3 / median / 1e9,
        "matmul_precision": str(jax.config.jax_default_matmul_precision),
    }


def _median_call(call: Callable[[], Any], repeats: int) -> float:
    for _ in range(2):
        call()
    times = []
    for _ in range(max(repeats, 5)):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _pallas_loop(jax: Any, steps: int) -> Callable[[Any], Any]:
    """A Pallas kernel whose time loop does almost nothing: one 16x16 tile updated and stored
    per step, the per-step cost of a loop inside a kernel (the fused kernels' floor)."""
    import jax.numpy as jnp
    from jax.experimental import pallas as pl

    def kernel(x_ref: Any, o_ref: Any) -> None:
        def step(t: Any, h: Any) -> Any:
            h = h * 0.5 + x_ref[t]
            o_ref[t] = h
            return h

        jax.lax.fori_loop(0, steps, step, jnp.zeros((16, 16), jnp.float32))

    spec = pl.BlockSpec((steps, 16, 16), lambda i: (0, 0, 0))
    return pl.pallas_call(
        kernel,
        out_shape=jax.ShapeDtypeStruct((steps, 16, 16), jnp.float32),
        grid=(1,),
        in_specs=[spec],
        out_specs=spec,
    )


def measure_floor(jax: Any, cfg: Config, repeats: int) -> dict[str, Any]:
    """Latency floors at ``cfg``'s B, T, H and dtype, per time step (and one launch).

    - ``scan_{fwd,fwdbwd}_us_per_step``: a jitted ``lax.scan`` whose body is one elementwise
      update of the ``[B, H]`` carry (and its gradient): what a scan costs per step before any
      work (docs/PERFORMANCE.md: about 8-9 us on GPU).
    - ``pallas_loop_us_per_step`` (GPU only): a Pallas kernel looping over T in-kernel with a
      trivial body.
    - ``launch_us``: one jitted elementwise op on ``[B, H]``: dispatch plus one kernel launch.
    """
    import jax.numpy as jnp

    dtype = jnp.dtype(cfg.dtype)
    xs = jnp.zeros((cfg.steps, cfg.batch, cfg.hidden), dtype)

    def scan(x: Any) -> Any:
        def step(h: Any, x_t: Any) -> Any:
            h = h * jnp.asarray(0.5, dtype) + x_t
            return h, h

        return jax.lax.scan(step, jnp.zeros(x.shape[1:], x.dtype), x)[1]

    out: dict[str, Any] = {"shape": cfg.shape, "dtype": cfg.dtype}
    calls = {
        "scan_fwd_us_per_step": (jax.jit(scan), cfg.steps),
        "scan_fwdbwd_us_per_step": (
            jax.jit(jax.grad(lambda x: jnp.sum(jnp.square(scan(x).astype(jnp.float32))))),
            cfg.steps,
        ),
        "launch_us": (jax.jit(lambda x: x + jnp.asarray(1, x.dtype)), 1),
    }
    if jax.default_backend() == "gpu":
        calls["pallas_loop_us_per_step"] = (jax.jit(_pallas_loop(jax, cfg.steps)), cfg.steps)
    for key, (function, per) in calls.items():
        argument = (
            xs[0]
            if key == "launch_us"
            else (jnp.zeros((cfg.steps, 16, 16), jnp.float32) if key.startswith("pallas") else xs)
        )
        try:
            compiled = function.lower(argument).compile()
            median = _median_call(
                functools.partial(call_compiled, jax, compiled, (argument,)), repeats
            )
            out[key] = median / per * 1e6
        except Exception as error:  # a floor is informative, never fatal
            out[key] = None
            out.setdefault("errors", {})[key] = f"{type(error).__name__}: {error}"[:500]
    return out


def floor_multiple(floor: dict[str, Any] | None, mode: str, us_per_step: float) -> float | None:
    """``us_per_step`` over the empty-scan floor of the same mode."""
    base = None if floor is None else floor.get(f"scan_{mode}_us_per_step")
    return None if not base else us_per_step / base
