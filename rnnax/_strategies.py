"""Execution strategies for the cores, and batch parallelism over local CPU devices.

Every strategy computes the same function; they differ in speed and memory, per backend:

- ``"scan"``: autodiff through ``jax.lax.scan`` over the cell (``scan_cell``).
- ``"custom_vjp"``: the hand-written backward pass of ``rnnax._custom_vjp``.
- ``"remat"``: the scan in chunks of about ``sqrt(T)`` steps under ``jax.checkpoint``, so the
  backward pass's memory grows like ``sqrt(T)``: for very long sequences.
- ``"pallas"``: fused Pallas kernels (``rnnax._pallas``): the input projection as one GEMM,
  then the time loop inside one kernel per direction of differentiation with ``w_h`` on chip
  and the gate math fused with the recurrent product. Written for GPUs (Triton); on every
  other backend the same kernels run in Pallas interpret mode, which is exact but slow (for
  tests, not for speed).
- ``"cudnn"``: cuDNN's fused LSTM through ``jax.experimental.rnn`` (``rnnax._cudnn``): LSTM,
  float32 and GPU only; anything else is a clear error at trace time.
- ``"auto"``: the strategy measured fastest on the default backend (see ``benchmarks/``):
  on CPU ``"custom_vjp"`` for both cells; ``"scan"`` elsewhere. For forward-mode autodiff
  (``jax.jvp``, ``jax.hessian``) on CPU pass ``strategy="scan"``: a ``custom_vjp`` defines
  reverse mode only.

XLA:CPU runs one scan on about one core. With several local CPU devices
(``set_cpu_device_count``), the cores split the batch across them with ``jax.shard_map`` so
each core runs its own scan; parameters are replicated and their gradients summed by XLA.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, PartitionSpec

from rnnax._cells import _gru_step, _lstm_step
from rnnax._checks import check_positive_int
from rnnax._cudnn import check_cudnn_dtype, lstm_cudnn
from rnnax._custom_vjp import gru_custom_vjp, lstm_custom_vjp
from rnnax._params import GRUParams, LSTMParams, LSTMState
from rnnax._scan import scan_cell

STRATEGIES = ("auto", "scan", "custom_vjp", "remat", "pallas", "cudnn")

# The fastest strategy per backend and cell for forward + backward at the shapes of
# PERFORMANCE.md with the batch split over the CPU cores, measured by benchmarks/bench_rnn.py
# (`--strategies auto=scan,auto=custom_vjp`): on CPU the hand-written backward pass wins for both
# cells (benchmarks/results/cpu-2core/auto-choice/). No GPU or TPU has been measured yet, so
# those keep the plain scan.
#
# >>> GPU auto: NOT MEASURED YET. <<<
# "pallas" (both cells) and "cudnn" (LSTM, float32) exist for the GPU but have never run on
# one. `bash benchmarks/gpu_suite.sh` times every strategy at the PERFORMANCE.md GPU shapes
# and writes, per cell, the fastest strategy it measured ("auto_recommendation" in its JSON
# and Markdown under benchmarks/results/<gpu>/). Put that here, commit the run that decided
# it beside it, and only then say anything about GPU speed. If "cudnn" wins for the LSTM,
# keep in mind that it takes float32 only: `_auto_for_dtype` below then uses
# `_AUTO_FALLBACK` for other dtypes (set it from the bfloat16 rows of the same run).
_AUTO = {
    "cpu": {"lstm": "custom_vjp", "gru": "custom_vjp"},
    "gpu": {"lstm": "scan", "gru": "scan"},
    "tpu": {"lstm": "scan", "gru": "scan"},
}
# What "auto" uses where its first choice cannot run the dtype (today: "cudnn" beyond float32).
_AUTO_FALLBACK = {"cudnn": "pallas"}
_NARROW = (jnp.dtype(jnp.bfloat16), jnp.dtype(jnp.float16))


def _check_backend_strategy(strategy: str, cell: str) -> None:
    """Trace-time errors for strategies that only some cells or backends have."""
    if strategy != "cudnn":
        return
    if cell != "lstm":
        raise ValueError(
            f"strategy='cudnn' runs the LSTM only (cuDNN through jax.experimental.rnn has no "
            f"{cell.upper()} here); use strategy='pallas', 'custom_vjp' or 'scan'"
        )
    backend = jax.default_backend()
    if backend != "gpu":
        raise ValueError(
            "strategy='cudnn' needs a GPU (cuDNN through jax.experimental.rnn), but the default "
            f"backend is {backend!r}; use strategy='pallas' (Pallas interpret mode off-GPU), "
            "'custom_vjp' or 'scan'"
        )


def resolve_strategy(strategy: str, cell: str = "lstm") -> str:
    """Maps ``"auto"`` to the strategy measured fastest for ``cell`` on the default backend.

    Raises:
        ValueError: an unknown strategy, or ``"cudnn"`` for a GRU or off-GPU.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    if strategy == "auto":
        return _AUTO.get(jax.default_backend(), {}).get(cell, "scan")
    _check_backend_strategy(strategy, cell)
    return strategy


def _auto_for_dtype(strategy: str, requested: str, dtype: Any) -> str:
    """``"auto"``'s choice made runnable for ``dtype`` (an explicit request stays as it is, so
    it fails loudly instead)."""
    if requested == "auto" and strategy == "cudnn" and jnp.dtype(dtype) != jnp.float32:
        return _AUTO_FALLBACK["cudnn"]
    # On CPU a bfloat16 scan's gradient pays for JAX's own bfloat16-stacked residuals, which
    # XLA:CPU converts whole at every step; the custom VJP stacks its gates in float32. For the
    # GRU it was 1.3-1.6x faster than the split scan at the PERFORMANCE.md shapes even on one
    # device (benchmarks/results/cpu-2core/gru-bfloat16-strategies-host2.md). This holds
    # whatever the float32 table above says.
    if requested == "auto" and jax.default_backend() == "cpu" and jnp.dtype(dtype) in _NARROW:
        return "custom_vjp"
    return strategy


def set_cpu_device_count(count: int) -> None:
    """Exposes ``count`` CPU devices so the cores can run batch shards on separate cores.

    XLA:CPU runs each scan on about one core; with ``count`` devices, ``strategy="auto"``
    splits a batch divisible by ``count`` across them. Call it first, before any JAX
    computation: JAX fixes its devices when it initializes its backends. Equivalent to setting
    ``JAX_NUM_CPU_DEVICES=count`` (or ``XLA_FLAGS=--xla_force_host_platform_device_count=count``)
    in the environment.

    Args:
        count: number of CPU devices, usually the number of physical cores.

    Raises:
        RuntimeError: JAX has already initialized its backends.
    """
    count = check_positive_int("count", count)
    from jax._src import xla_bridge  # JAX has no public query for this.

    if xla_bridge.backends_are_initialized():
        raise RuntimeError(
            "set_cpu_device_count must be called before JAX initializes its backends (before "
            "the first JAX computation); alternatively set JAX_NUM_CPU_DEVICES="
            f"{count} in the environment before starting Python"
        )
    jax.config.update("jax_num_cpu_devices", count)


def batch_devices(batch_size: int, strategy: str) -> Sequence[Any] | None:
    """The local CPU devices to split a batch over, or ``None`` to run on one device.

    Only ``"auto"`` splits, only on the CPU backend, only with several local CPU devices that
    divide the batch, and never inside an enclosing ``shard_map`` or mesh context (whose
    devices are already the user's to manage).
    """
    if strategy != "auto" or jax.default_backend() != "cpu":
        return None
    devices = jax.local_devices(backend="cpu")
    if len(devices) < 2 or batch_size % len(devices) != 0:
        return None
    if not jax.sharding.get_abstract_mesh().empty:
        return None
    return devices


def _shard_over_batch(
    fn: Callable[..., Any], devices: Sequence[Any], num_batched: int, num_outputs_batched: int
) -> Callable[..., Any]:
    """Wraps ``fn(params, xs [T, B, I], *batched [B, ...]) -> (*carries [B, ...], ys [T, B, H])``
    to run one batch shard per device."""
    mesh = Mesh(np.asarray(devices), ("batch",))
    batch, time_batch = PartitionSpec("batch"), PartitionSpec(None, "batch")

    def per_shard(params: Any, *args: Any) -> Any:
        # Each shard's weight gradient is partial; marking the replicated params as varying
        # over the batch axis makes their transpose a psum, also through the custom VJPs.
        return fn(jax.lax.pcast(params, ("batch",), to="varying"), *args)

    return jax.shard_map(
        per_shard,
        mesh=mesh,
        in_specs=(PartitionSpec(), time_batch, *([batch] * num_batched)),
        out_specs=(*([batch] * num_outputs_batched), time_batch),
    )


def _remat_chunk(strategy: str, xs: jax.Array) -> int | None:
    """The ``"remat"`` chunk: about ``sqrt(T)`` steps, which minimizes ``T / k + k``."""
    return max(1, math.isqrt(max(xs.shape[0], 1))) if strategy == "remat" else None


def _lstm_flat(
    strategy: str,
    unroll: int | bool,
    reverse: bool,
    params: LSTMParams,
    xs: jax.Array,
    h0: jax.Array,
    c0: jax.Array,
    lengths: jax.Array | None = None,
):
    if strategy == "custom_vjp":
        return lstm_custom_vjp(params, xs, h0, c0, lengths, reverse)
    if strategy == "pallas":
        from rnnax._pallas import lstm_pallas  # lazy: Pallas' Triton lowering is ~0.1 s to import

        return lstm_pallas(params, xs, h0, c0, lengths, reverse)
    if strategy == "cudnn":
        return lstm_cudnn(params, xs, h0, c0, lengths, reverse)
    (h, c), ys = scan_cell(
        _lstm_step,
        params,
        xs,
        LSTMState(h0, c0),
        seq_lengths=lengths,
        reverse=reverse,
        time_major=True,
        unroll=unroll,
        remat_chunk=_remat_chunk(strategy, xs),
    )
    return h, c, ys


def _gru_flat(
    strategy: str,
    unroll: int | bool,
    reverse: bool,
    reset_after: bool,
    params: GRUParams,
    xs: jax.Array,
    h0: jax.Array,
    lengths: jax.Array | None = None,
):
    if strategy == "custom_vjp":
        return gru_custom_vjp(params, xs, h0, lengths, reverse, reset_after)
    if strategy == "pallas":
        from rnnax._pallas import gru_pallas  # lazy, as for the LSTM

        return gru_pallas(params, xs, h0, lengths, reverse, reset_after)
    step = functools.partial(_gru_step, reset_after=reset_after)
    return scan_cell(
        step,
        params,
        xs,
        h0,
        seq_lengths=lengths,
        reverse=reverse,
        time_major=True,
        unroll=unroll,
        remat_chunk=_remat_chunk(strategy, xs),
    )


def run_flat(
    params: LSTMParams | GRUParams,
    xs: jax.Array,
    carries: tuple[jax.Array, ...],
    lengths: jax.Array | None,
    *,
    reverse: bool,
    reset_after: bool,
    unroll: int | bool,
    strategy: str,
) -> tuple[jax.Array, ...]:
    """Runs a core over time-major ``xs [T, B, I]`` with one batch axis.

    Returns:
        ``(h, c, ys)`` for an LSTM (``carries = (h0, c0)``), ``(h, ys)`` for a GRU.
    """
    devices = batch_devices(xs.shape[1], strategy)
    cell = "lstm" if isinstance(params, LSTMParams) else "gru"
    resolved = _auto_for_dtype(resolve_strategy(strategy, cell), strategy, params.w_h.dtype)
    if resolved == "cudnn":
        check_cudnn_dtype(params.w_h.dtype)  # a clear error before any tracing
    return _run_flat_compiled(
        params,
        xs,
        carries,
        lengths,
        reverse=reverse,
        reset_after=reset_after,
        unroll=unroll,
        strategy=resolved,
        devices=None if devices is None else tuple(devices),
    )


# Jitted so that eager calls reuse the compiled loop instead of re-tracing the scan (whose body
# is a new closure each call); inside an enclosing jit this inlines at no cost.
@functools.partial(
    jax.jit, static_argnames=("reverse", "reset_after", "unroll", "strategy", "devices")
)
def _run_flat_compiled(
    params: LSTMParams | GRUParams,
    xs: jax.Array,
    carries: tuple[jax.Array, ...],
    lengths: jax.Array | None,
    *,
    reverse: bool,
    reset_after: bool,
    unroll: int | bool,
    strategy: str,
    devices: tuple[Any, ...] | None,
) -> tuple[jax.Array, ...]:
    fn: Callable[..., tuple[jax.Array, ...]]
    if isinstance(params, LSTMParams):
        fn = functools.partial(_lstm_flat, strategy, unroll, reverse)
    else:
        fn = functools.partial(_gru_flat, strategy, unroll, reverse, reset_after)
    batched = (*carries, *(() if lengths is None else (lengths,)))
    if devices is not None:
        fn = _shard_over_batch(fn, devices, len(batched), len(carries))
    return fn(params, xs, *batched)
