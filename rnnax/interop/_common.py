"""Helpers shared by the converters: GRU gate reordering, dtype handling, input validation.

Every framework handled here that has a GRU (PyTorch, Flax, Equinox) orders its gates
``r, z, n`` and updates ``h' = (1 - z) * n + z * h``. rnnax orders them ``z, r, n`` and updates
``h' = (1 - z) * h + z * n`` (API.md): our ``z`` is their ``1 - z``. Since
``1 - sigmoid(a) == sigmoid(-a)``, converting is a permutation plus a sign flip of every ``z``
weight and bias; negation and permutation are exact, so conversions round-trip bit for bit.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from rnnax._cells import check_params
from rnnax._params import GRUParams, LSTMParams

Params = LSTMParams | GRUParams


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
) -> GRUParams:
    """Builds ``GRUParams`` from right-acting ``r, z, n`` weights of a reset-after GRU."""
    return GRUParams(*(rzn_to_zrn(array) for array in (w_x, w_h, b_x, b_h)))


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


def check_params_type(params: Any, function: str) -> None:
    """Raises unless ``params`` is one cell's valid ``LSTMParams`` or ``GRUParams`` (types,
    shapes and dtypes checked as the cores check them)."""
    if not isinstance(params, (LSTMParams, GRUParams)):
        raise TypeError(
            f"{function} takes one cell's LSTMParams or GRUParams, got {type(params).__name__}"
        )
    check_params(params, 4 if isinstance(params, LSTMParams) else 3)
