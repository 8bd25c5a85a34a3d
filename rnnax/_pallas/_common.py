"""Tiling plan, padding and the ``pallas_call`` wrapper shared by the LSTM and GRU kernels.

Why the Triton backend of Pallas (``jax.experimental.pallas`` with ``pl.BlockSpec`` and
``plt.CompilerParams(num_warps=...)``) rather than Mosaic GPU: with jax 0.10 the same kernel
source runs in interpret mode on CPU (``interpret=True``: the kernel becomes an XLA loop over
the grid, so CI checks it without a GPU) *and* lowers to Triton IR on a machine without a GPU
(``jax.jit(...).trace(...).lower(lowering_platforms=("cuda",))``), so the tests also check that
every operation, shape and dtype is accepted by the Triton lowering. Mosaic GPU kernels need
explicit shared-memory and warpgroup programming that cannot be checked here at all.

The Triton lowering imposes the shapes below: every loaded or stored tile has a power-of-2
number of elements, and ``jnp.dot`` wants ``M, N, K >= 16``. So the hidden size is padded to a
multiple of 16 (``Hp``) and split into column tiles of ``block_h`` (a power of 2 dividing
``Hp``), and the batch is padded to a multiple of ``block_b`` (a power of 2). Padding is exact:
padded hidden units have zero weights, biases and initial state, and stay exactly zero (LSTM:
``c' = sigma(0) * 0 + sigma(0) * tanh(0) = 0``, ``h' = sigma(0) * tanh(0) = 0``; GRU:
``n = tanh(0) = 0``, ``h' = h / 2 = 0``), and their rows of ``w_h`` are zero, so they never
reach a real unit; padded batch rows are sliced away.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
from jax.experimental import pallas as pl
from jax.experimental.pallas import triton as plt
from jaxtyping import Array, Float, Int

# Triton's tensor-core dot needs at least 16 rows, columns and reduction length.
_MIN_DOT = 16
_DEFAULT_BLOCK_B = 16
_MAX_BLOCK_H = 128
# Keep w_h in registers/shared memory across the time loop when it is at most this big; above
# it, every step reloads the tiles from global memory (where L2 usually holds them). A first
# guess from the register file size (256 KiB per SM on H100), to be replaced by a measured
# threshold (benchmarks/bench_rnn.py --gpu-suite runs both).
RESIDENT_BYTES = 128 * 1024


def default_interpret() -> bool:
    """Pallas interpret mode unless the default backend is a GPU (Triton needs one)."""
    return jax.default_backend() != "gpu"


def _is_power_of_2(value: int) -> bool:
    return value >= 1 and value & (value - 1) == 0


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


@dataclasses.dataclass(frozen=True)
class KernelPlan:
    """Static shapes and options of one kernel launch (hashable: a ``custom_vjp`` static arg).

    Attributes:
        num_steps: ``T``.
        batch: padded batch ``Bp`` (a multiple of ``block_b``).
        hidden: padded hidden size ``Hp`` (a multiple of 16 and of ``block_h``).
        block_b: batch rows per program; the grid is ``Bp / block_b`` programs, one per SM.
        block_h: hidden units per column tile; each step does ``G (Hp / block_h)^2`` dots
            of ``[block_b, block_h] @ [block_h, block_h]``.
        resident: load ``w_h`` once before the time loop (``True``) or every step.
        interpret: run in Pallas interpret mode (CPU) instead of compiling with Triton.
        num_warps: Triton warps per program.
        num_stages: Triton software-pipelining stages.
    """

    num_steps: int
    batch: int
    hidden: int
    block_b: int
    block_h: int
    resident: bool
    interpret: bool
    num_warps: int
    num_stages: int

    @property
    def num_tiles(self) -> int:
        return self.hidden // self.block_h

    @property
    def grid(self) -> tuple[int]:
        return (self.batch // self.block_b,)

    def rows(self, tile: int) -> slice:
        """Hidden units of column tile ``tile`` (also the rows of ``w_h`` it multiplies)."""
        return slice(tile * self.block_h, (tile + 1) * self.block_h)

    def cols(self, gate: int, tile: int) -> slice:
        """Columns of gate ``gate``, hidden tile ``tile`` in a ``[..., G * Hp]`` array."""
        start = gate * self.hidden + tile * self.block_h
        return slice(start, start + self.block_h)


def _check_block(name: str, value: int, interpret: bool) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not _is_power_of_2(value):
        raise ValueError(f"{name} must be a power of 2 (Triton tiles), got {value!r}")
    if not interpret and value < _MIN_DOT:
        raise ValueError(
            f"{name} must be at least {_MIN_DOT} when compiling with Triton (its dot needs "
            f"16 x 16 tiles), got {value}"
        )
    return value


def plan(
    num_steps: int,
    batch: int,
    hidden: int,
    num_gates: int,
    dtype: Any,
    *,
    block_b: int | None = None,
    block_h: int | None = None,
    resident: bool | None = None,
    interpret: bool | None = None,
    num_warps: int | None = None,
    num_stages: int | None = None,
) -> KernelPlan:
    """Chooses tile sizes and padding for ``T`` steps of a ``[B, H]`` recurrence.

    Args:
        num_steps: ``T``.
        batch: ``B`` (before padding).
        hidden: ``H`` (before padding).
        num_gates: gate blocks of ``w_h`` (4 for the LSTM, 3 for the GRU).
        dtype: the dtype of ``w_h`` (for the resident-size rule).
        block_b: batch rows per program (power of 2); default 16, Triton's smallest dot.
        block_h: hidden units per tile (a power of 2; the padded ``H`` is rounded up to a
            multiple of it); default the largest power of 2 up to 128 dividing ``H`` rounded
            up to a multiple of 16.
        resident: keep ``w_h`` on chip across steps; default when
            ``G * Hp * Hp * itemsize <= RESIDENT_BYTES``.
        interpret: default ``default_interpret()``.
        num_warps: Triton warps per program (default 4, 8 when ``block_h >= 64``).
        num_stages: Triton pipelining stages (default 1: the time loop carries a dependency
            from each step to the next, so there is nothing to prefetch across iterations).

    Raises:
        ValueError: a block size that is not a power of 2, or too small for Triton's dot when
            compiling.
    """
    interpret = default_interpret() if interpret is None else bool(interpret)
    hidden_padded = _round_up(hidden, _MIN_DOT)
    if block_h is None:
        block_h = math.gcd(hidden_padded, _MAX_BLOCK_H)  # a power of 2: 128 is one
    block_h = _check_block("block_h", block_h, interpret)
    if hidden_padded % block_h:
        hidden_padded = _round_up(hidden_padded, block_h)
    block_b = _check_block("block_b", _DEFAULT_BLOCK_B if block_b is None else block_b, interpret)
    if resident is None:
        weight_bytes = num_gates * hidden_padded**2 * jnp.dtype(dtype).itemsize
        resident = weight_bytes <= RESIDENT_BYTES
    if num_warps is None:
        num_warps = 8 if block_h >= 64 else 4
    return KernelPlan(
        num_steps=num_steps,
        batch=_round_up(max(batch, 1), block_b),
        hidden=hidden_padded,
        block_b=block_b,
        block_h=block_h,
        resident=bool(resident),
        interpret=interpret,
        num_warps=num_warps,
        num_stages=1 if num_stages is None else num_stages,
    )


def acc_dtype(dtype: Any) -> Any:
    """The dtype of the gate math, carries and residuals: float32 (float64 for float64)."""
    return jnp.float64 if jnp.dtype(dtype) == jnp.float64 else jnp.float32


# ------------------------------------------------------------------------------------ padding


def pad_gates(
    array: Float[Array, "... GH"], num_gates: int, hidden: int, hidden_padded: int
) -> Float[Array, "... GHp"]:
    """Pads each of the ``G`` gate blocks of the last axis from ``H`` to ``Hp`` with zeros."""
    if hidden == hidden_padded:
        return array
    blocks = array.reshape(*array.shape[:-1], num_gates, hidden)
    widths = [(0, 0)] * (blocks.ndim - 1) + [(0, hidden_padded - hidden)]
    return jnp.pad(blocks, widths).reshape(*array.shape[:-1], num_gates * hidden_padded)


def unpad_gates(
    array: Float[Array, "... GHp"], num_gates: int, hidden: int, hidden_padded: int
) -> Float[Array, "... GH"]:
    """The inverse of ``pad_gates``."""
    if hidden == hidden_padded:
        return array
    blocks = array.reshape(*array.shape[:-1], num_gates, hidden_padded)[..., :hidden]
    return blocks.reshape(*array.shape[:-1], num_gates * hidden)


def pad_axis(array: jax.Array, axis: int, size: int) -> jax.Array:
    """Pads ``axis`` of ``array`` with zeros up to ``size``."""
    if array.shape[axis] == size:
        return array
    widths = [(0, 0)] * array.ndim
    widths[axis] = (0, size - array.shape[axis])
    return jnp.pad(array, widths)


def recurrent_weights(
    w_h: Float[Array, "H GH"], num_gates: int, kplan: KernelPlan
) -> Float[Array, "Hp GHp"]:
    hidden = w_h.shape[0]
    return pad_axis(pad_gates(w_h, num_gates, hidden, kplan.hidden), 0, kplan.hidden)


def input_projection(
    xs: Float[Array, "T B I"],
    w_x: Float[Array, "I GH"],
    bias: Float[Array, " GH"],
    num_gates: int,
    kplan: KernelPlan,
) -> Float[Array, "T Bp GHp"]:
    """``xs @ w_x + bias`` for every step at once (one ``[T B, I] @ [I, G H]`` GEMM),
    accumulated in ``acc_dtype`` and padded to the plan's gate blocks and batch."""
    acc = acc_dtype(w_x.dtype)
    xw = jnp.einsum("tbi,ig->tbg", xs, w_x, preferred_element_type=acc)
    xw = xw + bias.astype(acc)[None, None, :]
    hidden = w_x.shape[-1] // num_gates
    return pad_axis(pad_gates(xw, num_gates, hidden, kplan.hidden), 1, kplan.batch)


def padded_state(array: Float[Array, "B H"], kplan: KernelPlan) -> Float[Array, "Bp Hp"]:
    """A carry ``[B, H]`` in ``acc_dtype``, padded with zeros to ``[Bp, Hp]``."""
    acc = acc_dtype(array.dtype)
    return pad_axis(pad_axis(array.astype(acc), 1, kplan.hidden), 0, kplan.batch)


def padded_lengths(lengths: Int[Array, " B"] | None, kplan: KernelPlan) -> jax.Array | None:
    """``[Bp]`` int32 lengths; padded batch rows get length 0 (never read or written)."""
    if lengths is None:
        return None
    return pad_axis(lengths.astype(jnp.int32), 0, kplan.batch)


# -------------------------------------------------------------------------------- the kernel


class WeightTiles:
    """``[block_h, block_h]`` tiles of ``w_h``, loaded once (resident) or at each use.

    ``tile(row, gate, col)`` is the block of ``w_h`` multiplying hidden tile ``row`` of the
    state into hidden tile ``col`` of gate ``gate``. Resident tiles are loaded before the time
    loop so the kernel keeps them on chip across steps; otherwise each step reloads them.
    """

    def __init__(self, w_ref: Any, kplan: KernelPlan, gates: Sequence[int]):
        self._ref, self._plan = w_ref, kplan
        self._cache: dict[tuple[int, int, int], jax.Array] = {}
        if kplan.resident:
            for row in range(kplan.num_tiles):
                for gate in gates:
                    for col in range(kplan.num_tiles):
                        self._cache[row, gate, col] = self._load(row, gate, col)

    def _load(self, row: int, gate: int, col: int) -> jax.Array:
        return self._ref[self._plan.rows(row), self._plan.cols(gate, col)]

    def tile(self, row: int, gate: int, col: int) -> jax.Array:
        cached = self._cache.get((row, gate, col))
        return self._load(row, gate, col) if cached is None else cached


def matmul(lhs: jax.Array, rhs: jax.Array, out_dtype: Any) -> jax.Array:
    """``lhs @ rhs`` with the operands in ``rhs``'s dtype (tensor cores for bfloat16) and the
    accumulation in ``out_dtype``."""
    return jnp.dot(lhs.astype(rhs.dtype), rhs, preferred_element_type=out_dtype)


def matmul_t(lhs: jax.Array, rhs: jax.Array, out_dtype: Any) -> jax.Array:
    """``lhs @ rhs.T`` (Triton transposes the tile in registers; nothing is copied)."""
    return jax.lax.dot_general(
        lhs.astype(rhs.dtype), rhs, (((1,), (1,)), ((), ())), preferred_element_type=out_dtype
    )


def time_index(step: jax.Array, num_steps: int, backward: bool) -> jax.Array:
    """The time index of loop iteration ``step``, running from ``T - 1`` down if ``backward``."""
    return num_steps - 1 - step if backward else step


def previous_tile(
    carries_ref: Any, initial_ref: Any, t: jax.Array, rows: slice, num_steps: int, reverse: bool
) -> jax.Array:
    """Tile ``rows`` of the carry before step ``t`` (see ``rnnax._backward.previous_carries``), in-kernel."""
    if reverse:
        first, before = t == num_steps - 1, jnp.minimum(t + 1, num_steps - 1)
    else:
        first, before = t == 0, jnp.maximum(t - 1, 0)
    return jnp.where(first, initial_ref[:, rows], carries_ref[before, :, rows])


def call(
    kernel: Callable[..., None],
    kplan: KernelPlan,
    name: str,
    inputs: Sequence[tuple[jax.Array | None, str]],
    outputs: Sequence[tuple[tuple[int, ...], Any, str]],
) -> tuple[jax.Array, ...]:
    """Runs ``kernel`` over a grid of batch tiles.

    Each input and output is described by its kind: ``"tbg"`` (time-major ``[T, Bp, X]``,
    tiled over the batch), ``"bg"`` (``[Bp, X]``, tiled over the batch), ``"b"`` (``[Bp]``)
    or ``"full"`` (the whole array in every program, e.g. ``w_h``). ``None`` inputs are left
    out (the kernel is specialized on their absence).
    """
    block_b = kplan.block_b

    def spec(shape: tuple[int, ...], kind: str) -> pl.BlockSpec:
        if kind == "tbg":
            return pl.BlockSpec((shape[0], block_b, shape[2]), lambda b: (0, b, 0))
        if kind == "bg":
            return pl.BlockSpec((block_b, shape[1]), lambda b: (b, 0))
        if kind == "b":
            return pl.BlockSpec((block_b,), lambda b: (b,))
        if kind == "full":
            return pl.BlockSpec(shape, lambda b: (0,) * len(shape))
        raise ValueError(kind)

    present = [(array, kind) for array, kind in inputs if array is not None]
    return tuple(
        pl.pallas_call(
            kernel,
            out_shape=[jax.ShapeDtypeStruct(shape, dtype) for shape, dtype, _ in outputs],
            grid=kplan.grid,
            in_specs=[spec(array.shape, kind) for array, kind in present],
            out_specs=[spec(shape, kind) for shape, _, kind in outputs],
            compiler_params=plt.CompilerParams(
                num_warps=kplan.num_warps, num_stages=kplan.num_stages
            ),
            interpret=kplan.interpret,
            name=name,
        )(*(array for array, _ in present))
    )
