"""Execution strategies for the cores, and batch parallelism over local CPU devices.

Every strategy computes the same function; they differ in speed and memory, per backend:

- ``"scan"``: autodiff through ``jax.lax.scan`` over the cell's step (``scan_cell``). Every
  cell has it.
- ``"custom_vjp"``: a hand-written backward pass: the cell's own (the LSTM and both GRU forms
  have tuned ones) or, for any cell in the GEMM + pointwise form (``Cell.split``), the generic
  one of ``rnnax._generic_vjp``.
- ``"remat"``: the scan in chunks of about ``sqrt(T)`` steps under ``jax.checkpoint``, so the
  backward pass's memory grows like ``sqrt(T)``: for very long sequences. Every cell has it.
- ``"pallas"``: fused Pallas kernels (``rnnax._pallas``, LSTM and GRU): the input projection
  as one GEMM, then the time loop inside one kernel per direction of differentiation with
  ``w_h`` on chip and the gate math fused with the recurrent product. Written for GPUs
  (Triton); on every other backend the same kernels run in Pallas interpret mode, which is
  exact but slow (for tests, not for speed).
- ``"cudnn"``: cuDNN's fused LSTM through ``jax.experimental.rnn`` (``rnnax._cudnn``): LSTM,
  float32 and GPU only; anything else is a clear error at trace time.
- ``"native"``: the LSTM and both GRU forms with the time loop in C++ on the CPU
  (``rnnax._native``): one ``jax.ffi`` call per direction of differentiation, all its GEMMs
  on oneDNN (the recurrent product per step with ``W_h`` packed once, bfloat16 on AMX where
  the CPU has it) and the gate math fused; float32 and bfloat16. Needs the extension built at
  install time and oneDNN (``pip install "rnnax[native]"``); where they are missing it is a
  clear error, and ``"auto"`` falls back to the custom VJP and says so once (a ``logging``
  warning on the ``"rnnax"`` logger).
- ``"parallel"``: a parallel scan over time (``jax.lax.associative_scan``) for cells whose
  recurrence is linear in the state (minGRU, minLSTM).
- ``"auto"``: the strategy measured fastest for the cell on the default backend (``Cell.auto``,
  see ``benchmarks/``), else ``"scan"``: on CPU ``"native"`` for the LSTM and both GRU forms
  (``"custom_vjp"`` where the native library is not installed, and in float16 and float64).
  Under forward-mode autodiff (``jax.jvp``, ``jax.jacfwd``, ``jax.hessian`` applied to
  a function that calls the core) ``"auto"`` runs the scan, which has tangents; a
  ``custom_vjp`` defines reverse mode only. (A function that was ``jax.jit``-ed *before*
  ``jax.jvp`` sees no forward-mode inputs when it is traced: pass ``strategy="scan"`` there.)
  No cell has a measured GPU choice yet, so on a GPU ``"auto"`` runs the scan;
  ``benchmarks/gpu_suite.sh`` times every strategy at the GPU shapes of
  ``docs/PERFORMANCE.md`` and writes the fastest per cell (``auto_recommendation``), which is
  what a cell's ``auto`` mapping takes. Where ``"auto"`` picks ``"cudnn"``, which runs
  float32 only, other dtypes run ``"pallas"`` instead.

XLA:CPU runs one scan on about one core. With several local CPU devices
(``set_cpu_device_count``), the cores split the batch across them with ``jax.shard_map`` so
each core runs its own scan; parameters are replicated and their gradients summed by XLA.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax._src.interpreters import ad, batching  # forward-mode detection, see _forward_mode
from jax.sharding import Mesh, PartitionSpec

from rnnax._checks import check_positive_int
from rnnax._generic_vjp import split_custom_vjp
from rnnax._machine import jax_started, set_cpu_devices
from rnnax._protocol import Cell, get_cell, params_dtype
from rnnax._scan import NARROW_FLOATS, scan_cell

STRATEGIES = ("auto", "scan", "custom_vjp", "remat", "pallas", "cudnn", "parallel", "native")

# "auto" for cells that name no choice for the backend (``Cell.auto``): each cell records the
# strategy measured fastest for it by benchmarks/bench_rnn.py (the LSTM and both GRU forms: the
# native loop on CPU, benchmarks/results/cpu-2core/native/).
_AUTO_DEFAULT = "scan"
# Overrides of the cells' own choices, backend -> cell name -> strategy: empty unless a benchmark
# sets one to time "auto" with another inner strategy (bench_rnn.py --strategies auto=NAME).
_AUTO: dict[str, dict[str, str]] = {}
# What "auto" uses where its first choice cannot run the dtype (today: "cudnn" beyond float32).
_AUTO_FALLBACK = {"cudnn": "pallas"}
# What "auto" uses where its choice is "native" but the native library cannot be loaded here.
_NATIVE_FALLBACK = "custom_vjp"
# Strategies that run the time loop inside one kernel or a parallel scan, where ``unroll``
# (steps per ``lax.scan`` iteration) has no meaning.
_NO_UNROLL = frozenset({"pallas", "cudnn", "parallel", "native"})


def _native_available() -> bool:
    from rnnax._native import available  # lazy: the first call loads the library

    return available()


@functools.cache
def _warn_native_fallback(reason: str | None) -> None:
    """Says once per process that ``"auto"`` runs without the native strategy."""
    from rnnax._native import INSTALL_HINT

    logging.getLogger("rnnax").warning(
        "rnnax: strategy='auto' would run 'native' on CPU, but it is unavailable (%s); "
        "running %r instead. Install it with %s",
        reason,
        _NATIVE_FALLBACK,
        INSTALL_HINT,
    )


def available_strategies(cell: Cell | str) -> tuple[str, ...]:
    """The strategies ``cell`` (an ``rnnax.Cell`` or a registered name) can run: the scans,
    the generic backward pass of a ``GemmSplit`` cell, and the cell's own kernels.

    Examples:
        >>> import rnnax
        >>> rnnax.available_strategies("minlstm")
        ('auto', 'scan', 'remat', 'parallel')
    """
    cell = get_cell(cell)
    generic = ["auto", "scan", "remat"]
    if cell.split is not None:
        generic.append("custom_vjp")
    return tuple(
        name
        for name in STRATEGIES
        if name in generic or (name in cell.kernels and (name != "native" or _native_available()))
    )


def resolve_strategy(strategy: str, cell: Cell | str = "lstm") -> str:
    """Maps ``"auto"`` to the strategy measured fastest for ``cell`` on the default backend,
    and checks that ``cell`` has the strategy asked for.

    Raises:
        ValueError: an unknown strategy, or one that ``cell`` does not have.
    """
    cell = get_cell(cell)
    if not isinstance(strategy, str) or strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    if strategy == "auto":
        backend = jax.default_backend()
        choice = _AUTO.get(backend, {}).get(cell.name) or cell.auto.get(backend, _AUTO_DEFAULT)
        if choice == "native" and "native" in cell.kernels and not _native_available():
            from rnnax._native import unavailable_reason

            _warn_native_fallback(unavailable_reason())
            choice = _NATIVE_FALLBACK
        return choice if choice in available_strategies(cell) else "scan"
    if strategy not in available_strategies(cell):
        if strategy == "native" and "native" in cell.kernels:
            from rnnax._native import unavailable_error

            raise unavailable_error(f"strategy='native' for cell {cell.name!r}")
        if strategy == "cudnn":
            raise ValueError(
                f"strategy='cudnn' runs the LSTM only (cuDNN through jax.experimental.rnn has "
                f"no {cell.name!r} cell here); use strategy='pallas', 'custom_vjp' or 'scan'"
            )
        raise ValueError(
            f"strategy={strategy!r} is not available for cell {cell.name!r}; it has "
            f"{available_strategies(cell)}"
        )
    return strategy


def _auto_for_dtype(strategy: str, requested: str, dtype: Any, cell: Cell) -> str:
    """``"auto"``'s choice made runnable for ``dtype`` (an explicit request stays as it is, so
    it fails loudly instead)."""
    if requested == "auto" and strategy == "cudnn" and jnp.dtype(dtype) != jnp.float32:
        return _AUTO_FALLBACK["cudnn"]
    if requested == "auto" and strategy == "native":
        # The native loop runs float32 and bfloat16 (in bfloat16 too it measured faster than
        # the custom VJP, benchmarks/results/cpu-2core/native/); float16 and float64 fall back.
        native_dtypes = (jnp.dtype(jnp.float32), jnp.dtype(jnp.bfloat16))
        return strategy if jnp.dtype(dtype) in native_dtypes else _NATIVE_FALLBACK
    # On CPU a bfloat16 scan's gradient pays for JAX's own bfloat16-stacked residuals, which
    # XLA:CPU converts whole at every step; the custom VJP stacks its gates in float32. For the
    # GRU it was 1.3-1.6x faster than the split scan at the docs/PERFORMANCE.md shapes even on one
    # device (benchmarks/results/cpu-2core/gru-bfloat16-strategies-host2.md). This holds
    # for the cells whose measured CPU choice is a hand-written backward pass.
    if (
        requested == "auto"
        and jax.default_backend() == "cpu"
        and jnp.dtype(dtype) in NARROW_FLOATS
        and cell.auto.get("cpu") == "custom_vjp"
    ):
        return "custom_vjp"
    return strategy


def _forward_mode(tree: Any) -> bool:
    """Whether any leaf is being differentiated in forward mode (``jax.jvp``, ``jacfwd``,
    ``hessian``), where a ``custom_vjp`` cannot run: its tangents would be undefined."""
    jvp_tracer = getattr(ad, "JVPTracer", None)
    # Tracers of transformations that wrap another's values: look inside them.
    wrappers = {
        getattr(batching, "BatchTracer", None): "val",
        getattr(ad, "LinearizeTracer", None): "primal",
    }
    for leaf in jax.tree.leaves(tree):
        while isinstance(leaf, jax.core.Tracer):
            if jvp_tracer is not None and isinstance(leaf, jvp_tracer):
                return True
            inner = wrappers.get(type(leaf))
            if inner is None:
                break
            leaf = getattr(leaf, inner, None)
    return False


def check_unroll_for(strategy: str, unroll: Any) -> None:
    """``unroll`` means steps per ``lax.scan`` iteration: an error where no such loop runs."""
    if strategy in _NO_UNROLL and unroll is not False and unroll != 1:
        raise ValueError(
            f"unroll={unroll!r} has no meaning for strategy={strategy!r}, which runs the time "
            "loop inside one kernel (or, for 'parallel', as a parallel scan); leave unroll at 1"
        )


def set_cpu_device_count(count: int) -> None:
    """Exposes ``count`` CPU devices so the cores can run batch shards on separate cores.

    XLA:CPU runs each scan on about one core; with ``count`` devices, ``strategy="auto"``
    splits a batch divisible by ``count`` across them. Call it first, before any JAX
    computation: JAX fixes its devices when it initializes its backends. Equivalent to setting
    ``JAX_NUM_CPU_DEVICES=count`` (or ``XLA_FLAGS=--xla_force_host_platform_device_count=count``)
    in the environment; the flag is also written into ``XLA_FLAGS``, so Python processes this
    one starts get the same count (``rnnax._machine.set_cpu_devices``).

    Args:
        count: number of CPU devices, usually the number of physical cores.

    Raises:
        RuntimeError: JAX has already initialized its backends.
    """
    count = check_positive_int("count", count)
    if jax_started():
        raise RuntimeError(
            "set_cpu_device_count must be called before JAX initializes its backends (before "
            "the first JAX computation); alternatively set JAX_NUM_CPU_DEVICES="
            f"{count} in the environment before starting Python"
        )
    set_cpu_devices(count)


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


def _run_cell(
    cell: Cell,
    strategy: str,
    unroll: int | bool,
    reverse: bool,
    params: Any,
    xs: jax.Array,
    carry: Any,
    lengths: jax.Array | None = None,
) -> tuple[Any, jax.Array]:
    """One strategy on flat time-major arrays: the cell's own kernel where it has one, else the
    generic hand-written backward pass or the scan."""
    kernel = cell.kernels.get(strategy)
    if kernel is not None:
        return kernel(params, xs, carry, lengths, reverse=reverse, unroll=unroll)
    if strategy == "custom_vjp":
        return split_custom_vjp(cell, params, xs, carry, lengths, reverse, unroll)
    return scan_cell(
        cell.step,
        params,
        xs,
        carry,
        seq_lengths=lengths,
        reverse=reverse,
        time_major=True,
        unroll=unroll,
        remat_chunk=_remat_chunk(strategy, xs),
    )


def run_flat(
    cell: Cell,
    params: Any,
    xs: jax.Array,
    carry: Any,
    lengths: jax.Array | None,
    *,
    reverse: bool,
    unroll: int | bool,
    strategy: str,
) -> tuple[Any, jax.Array]:
    """Runs ``cell`` over time-major ``xs [T, B, I]`` with one batch axis (carry leaves
    ``[B, ...]``); returns ``(final carry, ys [T, B, H])``."""
    devices = batch_devices(xs.shape[1], strategy)
    resolved = resolve_strategy(strategy, cell)
    if strategy == "auto" and _forward_mode((params, xs, carry)):
        resolved = "scan"  # forward-mode autodiff: the scan has tangents, a custom_vjp not
    resolved = _auto_for_dtype(resolved, strategy, params_dtype(cell, params), cell)
    if strategy == "auto" and resolved == "native" and unroll is not False and unroll != 1:
        resolved = _NATIVE_FALLBACK  # unroll asks for a scan loop: "auto" runs one
    check_unroll_for(resolved, unroll)
    return _run_flat_compiled(
        cell,
        params,
        xs,
        carry,
        lengths,
        reverse=reverse,
        unroll=unroll,
        strategy=resolved,
        devices=None if devices is None else tuple(devices),
    )


# Jitted so that eager calls reuse the compiled loop instead of re-tracing the scan (whose body
# is a new closure each call); inside an enclosing jit this inlines at no cost.
@functools.partial(jax.jit, static_argnames=("cell", "reverse", "unroll", "strategy", "devices"))
def _run_flat_compiled(
    cell: Cell,
    params: Any,
    xs: jax.Array,
    carry: Any,
    lengths: jax.Array | None,
    *,
    reverse: bool,
    unroll: int | bool,
    strategy: str,
    devices: tuple[Any, ...] | None,
) -> tuple[Any, jax.Array]:
    fn: Callable[..., Any] = functools.partial(_run_cell, cell, strategy, unroll, reverse)
    batched = (carry, *(() if lengths is None else (lengths,)))
    if devices is not None:
        fn = _shard_over_batch(fn, devices, len(batched), 1)
    return fn(params, xs, *batched)
