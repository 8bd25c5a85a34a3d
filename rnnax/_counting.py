"""Counting a network: parameters and FLOPs per time step, from a configuration or a tree.

``stack_param_count`` and ``flops_per_step`` read a stack's sizes (cell, input and hidden
size, layers, directions); ``param_count`` counts the elements of a parameter tree you hold.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from rnnax._checks import check_bool, check_positive_int
from rnnax._protocol import Cell, get_cell, param_count_of, registered_cells

CellKind = str
"""A registered cell's name (``"lstm"``, ``"gru"``, ...) or an ``rnnax.Cell``."""


def _sum_over_layers(
    cell: str | Cell,
    input_size: int,
    hidden_size: int,
    num_layers: int,
    bidirectional: bool,
    per_direction: Callable[[Cell, int, int], int],
) -> int:
    """Checks a configuration and sums ``per_direction(cell, layer_input, H)`` over the stack."""
    if not isinstance(cell, (str, Cell)):
        raise ValueError(f"cell must be one of {registered_cells()}, got {cell!r}")
    found = get_cell(cell)
    input_size = check_positive_int("input_size", input_size)
    hidden_size = check_positive_int("hidden_size", hidden_size)
    num_layers = check_positive_int("num_layers", num_layers)
    directions = 2 if check_bool("bidirectional", bidirectional) else 1
    # Closed form (layer 0 reads the input, every later layer D*H features): no loop over
    # layers, so any num_layers costs the same.
    first = per_direction(found, input_size, hidden_size)
    later = per_direction(found, hidden_size * directions, hidden_size)
    return directions * (first + (num_layers - 1) * later)


def stack_param_count(
    cell: CellKind | Cell,
    input_size: int,
    hidden_size: int,
    *,
    num_layers: int = 1,
    bidirectional: bool = False,
) -> int:
    """Exact number of parameters of a (stacked, bidirectional) stack of any cell, from its
    sizes (``param_count`` counts a parameter tree you already hold).

    Read from the cell's parameter layout. Per layer and direction: ``G*H*(I + H) + G*H``
    for the LSTM (one bias, ``G = 4``) and ``G*H*(I + H) + 2*G*H`` for both GRU forms (two
    biases, ``G = 3``, as in PyTorch and cuDNN).

    Examples:
        >>> import rnnax
        >>> rnnax.stack_param_count("lstm", 1, 64), rnnax.stack_param_count("gru", 1, 64)
        (16896, 12864)
    """
    return _sum_over_layers(
        cell, input_size, hidden_size, num_layers, bidirectional, param_count_of
    )


def count_params(
    cell: CellKind | Cell,
    input_size: int,
    hidden_size: int,
    *,
    num_layers: int = 1,
    bidirectional: bool = False,
) -> int:
    """Deprecated name of ``stack_param_count`` (warns with a ``DeprecationWarning``)."""
    warnings.warn(
        "rnnax.count_params is deprecated: use rnnax.stack_param_count (the same count, from "
        "a stack's sizes; rnnax.param_count counts the elements of a parameter tree)",
        DeprecationWarning,
        stacklevel=2,
    )
    return stack_param_count(
        cell, input_size, hidden_size, num_layers=num_layers, bidirectional=bidirectional
    )


def flops_per_step(
    cell: CellKind | Cell,
    input_size: int,
    hidden_size: int,
    *,
    num_layers: int = 1,
    bidirectional: bool = False,
) -> int:
    """Floating-point operations for one time step of one sequence (forward pass).

    Convention: a multiply-add in a matrix product counts 2, every elementwise add, multiply,
    ``sigmoid`` and ``tanh`` counts 1. Each cell states its count (``Cell.flops``); per layer
    and direction (``I`` that layer's input size):

    - LSTM: ``2*I*4H + 2*H*4H`` (products) ``+ 8H`` (adding the two products and ``b``)
      ``+ 9H`` (3 sigmoids, 2 tanh, 3 multiplies, 1 add) ``= 8H(I + H) + 17H``.
    - GRU, either form: ``2*I*3H + 2*H*3H`` ``+ 17H`` (6H bias and product adds, 2 sigmoids,
      1 tanh, the reset multiply and add, 4H for ``(1 - z) h + z n``) ``= 6H(I + H) + 17H``.

    A cell that states none is counted by XLA's cost analysis of one compiled step.
    Multiply by the batch size and the number of steps for a whole run; a backward pass costs
    about twice the forward one.

    Examples:
        >>> import rnnax
        >>> rnnax.flops_per_step("lstm", 1, 64), rnnax.flops_per_step("gru", 1, 64)
        (34368, 26048)
    """
    return _sum_over_layers(cell, input_size, hidden_size, num_layers, bidirectional, _cell_flops)


def _cell_flops(cell: Cell, input_size: int, hidden_size: int) -> int:
    if cell.flops is not None:
        return int(cell.flops(input_size, hidden_size))
    return _xla_flops(cell, input_size, hidden_size)


@functools.lru_cache(maxsize=256)
def _xla_flops(cell: Cell, input_size: int, hidden_size: int) -> int:
    """XLA's own count of one step of one sequence (compiled, abstract inputs)."""
    params = jax.eval_shape(lambda: cell.init(jax.random.key(0), input_size, hidden_size))
    carry = jax.eval_shape(lambda: cell.carry_init(hidden_size, (), jnp.float32))
    x = jax.ShapeDtypeStruct((input_size,), jnp.float32)
    analysis = jax.jit(cell.step).lower(params, carry, x).compile().cost_analysis()
    if isinstance(analysis, list):  # older JAX: one dict per device program
        analysis = analysis[0]
    return round(float((analysis or {}).get("flops", 0.0)))


def param_count(tree: Any) -> int:
    """Total number of array elements in a parameter pytree (``stack_param_count`` gives the
    count of a stack from its sizes, without building it).

    Examples:
        >>> import jax, rnnax
        >>> rnnax.param_count(rnnax.lstm_init(jax.random.key(0), 1, 64))
        16896
    """
    total = 0
    for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
        is_array = hasattr(leaf, "shape") and hasattr(leaf, "dtype")  # also ShapeDtypeStruct
        if not (is_array or isinstance(leaf, (int, float, complex))):
            raise TypeError(
                f"param_count counts array leaves, but tree{jax.tree_util.keystr(path)} is a "
                f"{type(leaf).__name__}"
            )
        total += int(np.size(leaf))
    return total
