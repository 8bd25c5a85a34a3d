"""One implementation at one configuration: the shape (``Config``), the compiled calls ready
to time (``Impl``), and how a JAX function is lowered, compiled and measured for memory."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import time
from collections.abc import Callable, Sequence
from typing import Any

from rnnax._bench._options import MODES


@dataclasses.dataclass
class Config:
    cell: str
    batch: int
    steps: int
    inputs: int
    hidden: int
    dtype: str
    sweep_axes: tuple[str, ...] = ()
    modes: tuple[str, ...] = MODES
    in_shape_set: bool = True  # False: only on a sweep (summarized in the sweep tables)

    @property
    def shape(self) -> dict[str, int]:
        return {"B": self.batch, "T": self.steps, "I": self.inputs, "H": self.hidden}


@dataclasses.dataclass
class Impl:
    """One implementation at one configuration, ready to time."""

    family: str
    label: str
    options: dict[str, Any]
    weights: str = "own init"
    calls: dict[str, Callable[[], Any]] = dataclasses.field(default_factory=dict)
    info: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    output: Any = None  # forward ys as float32 NumPy, for the agreement check
    error: str | None = None
    times: dict[str, list[float]] = dataclasses.field(default_factory=dict)


@contextlib.contextmanager
def third_party_promotion(jax: Any):
    """Standard dtype and rank promotion while tracing other libraries' code.

    rnnax itself stays under whatever the caller set (the test suite makes promotion strict);
    flax, equinox and jax.experimental.rnn are not ours to make strict-clean.
    """
    with jax.numpy_dtype_promotion("standard"), jax.numpy_rank_promotion("allow"):
        yield


def _memory_stats(compiled: Any) -> dict[str, Any]:
    try:
        stats = compiled.memory_analysis()
    except Exception as error:  # backends may not implement it
        return {"kind": "unavailable", "reason": f"{type(error).__name__}: {error}"}
    if stats is None:
        return {"kind": "unavailable", "reason": "memory_analysis() returned None"}
    fields = {
        "temp_bytes": "temp_size_in_bytes",
        "argument_bytes": "argument_size_in_bytes",
        "output_bytes": "output_size_in_bytes",
        "alias_bytes": "alias_size_in_bytes",
        "generated_code_bytes": "generated_code_size_in_bytes",
    }
    out: dict[str, Any] = {"kind": "xla_memory_analysis"}
    for key, attribute in fields.items():
        value = getattr(stats, attribute, None)
        out[key] = int(value) if value is not None else None
    parts = [out.get(key) for key in ("temp_bytes", "argument_bytes", "output_bytes")]
    if all(part is not None for part in parts):
        out["peak_estimate_bytes"] = sum(part for part in parts if part is not None) - (
            out.get("alias_bytes") or 0
        )
    return out


def _loss(jnp: Any, ys: Any) -> Any:
    return jnp.sum(jnp.square(ys.astype(jnp.float32)))


def add_jax(
    impl: Impl,
    jax: Any,
    forward: Callable[..., Any],
    args: tuple[Any, ...],
    promotion: Callable[[], Any],
    modes: Sequence[str],
) -> None:
    """Compiles ``forward(*args) -> ys`` and its gradient w.r.t. all args; stores the calls."""
    import jax.numpy as jnp

    def fwdbwd(*call_args: Any) -> Any:
        return jax.grad(lambda *a: _loss(jnp, forward(*a)), argnums=tuple(range(len(args))))(
            *call_args
        )

    for mode, function in (("fwd", forward), ("fwdbwd", fwdbwd)):
        if mode not in modes:
            continue
        with promotion():
            start = time.perf_counter()
            lowered = jax.jit(function).lower(*args)
            lowered_at = time.perf_counter()
            compiled = lowered.compile()
            compiled_at = time.perf_counter()
        result = jax.block_until_ready(compiled(*args))
        first_at = time.perf_counter()
        impl.info[mode] = {
            "lower_s": lowered_at - start,
            "compile_s": compiled_at - lowered_at,
            "first_call_s": first_at - compiled_at,
            "memory": _memory_stats(compiled),
        }
        if mode == "fwd":
            impl.output = as_numpy(jax, result)
        impl.calls[mode] = functools.partial(call_compiled, jax, compiled, args)


def as_numpy(jax: Any, array: Any) -> Any:
    import jax.numpy as jnp
    import numpy as np

    return np.asarray(jax.device_get(array.astype(jnp.float32)))


def staged(jit: Callable[..., Any], function: Callable[..., Any], *args: Any) -> Any:
    """``jit(function)(*args)``, or ``function(*args)`` where it cannot be traced.

    Only to build parameters with one compile instead of many eager ones (startup time).
    """
    try:
        return jit(function)(*args)
    except Exception:  # e.g. a converter that reads concrete values
        return function(*args)


def call_compiled(jax: Any, compiled: Any, args: tuple[Any, ...]) -> Any:
    """One timed call: ``compiled(*args)`` to ``jax.block_until_ready``."""
    return jax.block_until_ready(compiled(*args))
