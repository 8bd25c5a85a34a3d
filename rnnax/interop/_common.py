"""Helpers shared by the converters: which cells a framework has, GRU gate reordering, dtype
handling, input validation.

Every framework handled here that has a GRU (PyTorch, Flax, Equinox) orders its gates
``r, z, n`` and updates ``h' = (1 - z) * n + z * h``. rnnax orders them ``z, r, n`` and updates
``h' = (1 - z) * h + z * n`` (docs/API.md): our ``z`` is their ``1 - z``. Since
``1 - sigmoid(a) == sigmoid(-a)``, converting is a permutation plus a sign flip of every ``z``
weight and bias; negation and permutation are exact, so conversions round-trip bit for bit.
All of those GRUs apply the reset gate after the recurrent product, so converted GRU weights
are ``GRUResetAfterParams``: the type carries the form, and ``rnnax.gru`` runs them right.

The converters dispatch on the cell protocol (``rnnax._protocol.cell_of``): the parameters'
type names the cell, and each framework lists the cells it has a counterpart for.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from rnnax._cell_elman import ELMAN, ELMAN_RELU, ElmanParams
from rnnax._cell_gru import GRU, GRU_RESET_AFTER
from rnnax._cell_lstm import LSTM
from rnnax._checks import check_bool
from rnnax._params import GRUParams, GRUResetAfterParams, LSTMParams
from rnnax._protocol import Cell, cell_of

Params = LSTMParams | GRUParams | ElmanParams
"""One cell's parameters as the converters take and return them (``GRUResetAfterParams`` and
``ElmanReluParams`` are subclasses)."""

RECURRENT_CELLS = (LSTM, GRU, GRU_RESET_AFTER, ELMAN, ELMAN_RELU)
"""The cells of frameworks with LSTM, GRU and Elman cells (PyTorch, Flax)."""
GATED_CELLS = (LSTM, GRU, GRU_RESET_AFTER)
"""The cells of frameworks with LSTM and GRU cells only (Equinox)."""


def accepted_types(cells: Collection[Cell]) -> str:
    """How an error names the parameter types of ``cells``."""
    names = "LSTMParams or GRUParams (GRUResetAfterParams)"
    if ELMAN in cells:
        names += " or ElmanParams (ElmanReluParams)"
    return names


def rzn_to_zrn(gates: Float[Array, "... H3"]) -> Float[Array, "... H3"]:
    """Maps a framework's ``r, z, n`` gate axis (last) to ours: ``z, r, n`` with ``z`` negated."""
    r, z, n = jnp.split(gates, 3, axis=-1)
    return jnp.concatenate([-z, r, n], axis=-1)


def zrn_to_rzn(gates: Float[Array, "... H3"]) -> Float[Array, "... H3"]:
    """The inverse of ``rzn_to_zrn``: ours ``z, r, n`` back to a framework's ``r, z, n``."""
    z, r, n = jnp.split(gates, 3, axis=-1)
    return jnp.concatenate([r, -z, n], axis=-1)


def gru_from_rzn(
    w_x: Float[Array, "I H3"],
    w_h: Float[Array, "H H3"],
    b_x: Float[Array, " H3"],
    b_h: Float[Array, " H3"],
) -> GRUResetAfterParams:
    """Builds ``GRUResetAfterParams`` from right-acting ``r, z, n`` weights of a reset-after
    GRU (every framework's GRU is one)."""
    return GRUResetAfterParams(*(rzn_to_zrn(array) for array in (w_x, w_h, b_x, b_h)))


def gru_to_rzn(params: GRUParams) -> GRUParams:
    """Our ``GRUParams`` with every array in a framework's ``r, z, n`` order and ``z`` sign.

    The result reuses the ``GRUParams`` container only as a 4-tuple of named arrays.
    """
    return GRUParams(*(zrn_to_rzn(array) for array in params))


def resolve_dtype(dtype: Any, source: str) -> jnp.dtype:
    """The JAX dtype converted arrays get; refuses float64 that JAX would silently truncate."""
    try:
        dtype = jnp.dtype(dtype)
    except TypeError:
        raise TypeError(
            f"dtype must be a floating dtype such as jnp.float32, got {dtype!r}"
        ) from None
    if not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(f"{source} must have a floating dtype, got {dtype.name}")
    if jax.dtypes.canonicalize_dtype(dtype) != dtype:
        # jnp.asarray would warn and quietly produce float32; make the choice explicit instead.
        raise ValueError(
            f"{source} is {dtype.name} but JAX's 64-bit mode is off, so it cannot hold "
            f"{dtype.name} arrays. Enable it (jax.config.update('jax_enable_x64', True) or the "
            "jax.enable_x64() context), or pass dtype=jnp.float32 to convert explicitly."
        )
    return dtype


def single_dtype(arrays: dict[str, Any], source: str) -> jnp.dtype:
    """The one dtype shared by ``arrays`` (name -> array); mixed dtypes are an error."""
    for name, array in arrays.items():
        if not isinstance(array, (jax.Array, np.ndarray)):
            raise TypeError(f"{source}: {name} must be an array, got {type(array).__name__}")
    dtypes = {name: jnp.dtype(array.dtype) for name, array in arrays.items()}
    if len(set(dtypes.values())) != 1:
        listing = ", ".join(f"{name}: {dtype.name}" for name, dtype in dtypes.items())
        raise TypeError(f"{source} mixes parameter dtypes ({listing}); cast them to one dtype")
    return next(iter(dtypes.values()))


def find_cell(params: Any, cells: Collection[Cell], what: str, framework: str) -> Cell:
    """The cell of ``params`` (from their type), one of ``cells``.

    Raises:
        TypeError: ``params`` are not the parameters of one of ``cells``; ``what`` starts the
            message (``"to_equinox takes one cell's"``).
    """
    try:
        cell = cell_of(params)
    except TypeError:
        cell = None
    if cell is None or cell not in cells:
        other = "" if cell is None else f" (cell {cell.name!r} has no {framework} counterpart)"
        raise TypeError(f"{what} {accepted_types(cells)}, got {type(params).__name__}{other}")
    return cell


def export_form(cell: Cell, reset_after: Any, framework: str, short: str) -> Cell:
    """The cell a framework's module will compute for parameters of ``cell``.

    Every framework's GRU is the reset-after form, so GRU parameters must be
    ``GRUResetAfterParams``, or plain ``GRUParams`` with ``reset_after=True`` (the caller's
    word that they are reset-after weights): plain ``GRUParams`` run as rnnax's default form
    (reset before the recurrent product), which no framework here computes.

    Raises:
        TypeError: ``reset_after`` is not ``None`` or a bool.
        ValueError: GRU parameters of the default form, or ``reset_after=False`` for
            ``GRUResetAfterParams``, or ``reset_after=True`` for a cell that is not a GRU.
    """
    if reset_after is not None:
        reset_after = check_bool("reset_after", reset_after)
    if cell is GRU_RESET_AFTER and reset_after is False:
        raise ValueError(
            "reset_after=False contradicts params of type GRUResetAfterParams (reset-after "
            f"weights); besides, the reset_after=False form has no {short} equivalent. Drop "
            "reset_after."
        )
    if cell is GRU:
        if not reset_after:
            raise ValueError(
                f"{framework} applies the reset gate after the recurrent product (rnnax's "
                "reset-after GRU, GRUResetAfterParams, which the converters return); rnnax's "
                "default GRU form (plain GRUParams, reset_after=False) has no "
                f"{short} equivalent. If these weights are reset-after ones, convert them with "
                "GRUResetAfterParams(*params) or pass reset_after=True."
            )
        return GRU_RESET_AFTER
    if reset_after and cell is not GRU_RESET_AFTER:
        raise ValueError(
            f"reset_after=True applies only to GRU parameters, got parameters of cell {cell.name!r}"
        )
    return cell


def check_stack_form(layers: Any, cell: Cell, reset_after: bool | None) -> None:
    """Checks that every layer of a checked stack exported as ``cell`` is in that form.

    With ``reset_after=None`` the form is read from the parameters' types, layer by layer: a
    stack of ``GRUResetAfterParams`` must not hold plain ``GRUParams`` (rnnax's default form,
    which no framework computes) anywhere. ``reset_after=True`` declares every layer
    reset-after, so plain and typed layers may mix.

    Raises:
        ValueError: a plain ``GRUParams`` layer in a reset-after stack without
            ``reset_after=True``; the message names the layer.
    """
    if cell is not GRU_RESET_AFTER or reset_after:
        return
    for index, layer in enumerate(layers):
        for direction, params in enumerate(layer):
            if not isinstance(params, GRUResetAfterParams):
                raise ValueError(
                    f"layers[{index}][{direction}] are plain GRUParams (rnnax's default GRU "
                    "form) in a stack of GRUResetAfterParams; the form is read from each "
                    "layer's type, and the default form has no counterpart. If these weights "
                    "are reset-after ones, convert them with GRUResetAfterParams(*params) or "
                    "pass reset_after=True."
                )
