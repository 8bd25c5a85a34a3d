"""The Elman (simple) RNN as ``Cell``\\ s: ``h' = act(x W_x + b_x + h W_h + b_h)`` with ``tanh``
(``ELMAN``, ``ElmanParams``) or ``relu`` (``ELMAN_RELU``, ``ElmanReluParams``).

The nonlinearity travels with the parameters' type, as the GRU's form does: ``rnnax.rnn`` runs
``ElmanReluParams`` with ``relu`` without being told. Two biases, as ``torch.nn.RNN``, so
imported weights map one to one.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from rnnax._cells import check_cell_inputs
from rnnax._init import (
    Initializer,
    _check_init_arguments,
    _check_sizes,
    _gate_blocks,
    glorot_uniform,
    orthogonal,
)
from rnnax._protocol import Cell, GemmSplit, register_cell, split_step

NONLINEARITIES = ("tanh", "relu")
"""The nonlinearities of the Elman cells, as ``torch.nn.RNN`` names them."""


class ElmanParams(NamedTuple):
    """Parameters of one Elman cell, ``h' = tanh(x W_x + b_x + h W_h + b_h)``.

    Two biases, as ``torch.nn.RNN`` (only their sum matters; keeping both makes imported
    weights map one to one). The type says the nonlinearity: ``ElmanParams`` run with
    ``tanh``, the subclass ``ElmanReluParams`` with ``relu``.

    Attributes:
        w_x: input weights ``[I, H]`` (matrices act on the right: ``x @ w_x``).
        w_h: recurrent weights ``[H, H]``.
        b_x: input bias ``[H]``.
        b_h: recurrent bias ``[H]``.
    """

    w_x: Float[Array, "I H"]
    w_h: Float[Array, "H H"]
    b_x: Float[Array, " H"]
    b_h: Float[Array, " H"]


class ElmanReluParams(ElmanParams):
    """``ElmanParams`` of the ``relu`` Elman cell (``torch.nn.RNN(nonlinearity="relu")``).

    The same fields and layout as ``ElmanParams`` (a subclass, so code written for
    ``ElmanParams`` reads it unchanged); the type itself says the nonlinearity, and ``jit``,
    ``grad`` and ``vmap`` keep it. Convert with ``ElmanReluParams(*params)`` and back with
    ``ElmanParams(*params)``.
    """

    __slots__ = ()


_LAYOUT = {"w_h": ("H", "H"), "w_x": ("I", "H"), "b_x": ("H",), "b_h": ("H",)}


def _flops(input_size: int, hidden_size: int) -> int:
    # 2*I*H + 2*H*H (products) + 3H (adding b_x, b_h and the two products) + H (tanh or
    # relu), the convention of rnnax.flops_per_step.
    return 2 * hidden_size * (input_size + hidden_size) + 4 * hidden_size


def _weights(params: ElmanParams) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    return params.w_x, params.b_x, params.w_h, params.b_h


def _tanh_pointwise(
    params: ElmanParams, h: jax.Array, a_x: jax.Array, a_h: jax.Array
) -> tuple[jax.Array, jax.Array]:
    h_new = jnp.tanh(a_x + a_h)
    return h_new, h_new


def _relu_pointwise(
    params: ElmanParams, h: jax.Array, a_x: jax.Array, a_h: jax.Array
) -> tuple[jax.Array, jax.Array]:
    h_new = jax.nn.relu(a_x + a_h)
    return h_new, h_new


def _recurrent_input(h: jax.Array) -> jax.Array:
    return h


_TANH_SPLIT = GemmSplit(_weights, _tanh_pointwise, _recurrent_input, additive=True)
_RELU_SPLIT = GemmSplit(_weights, _relu_pointwise, _recurrent_input, additive=True)


def check_nonlinearity(nonlinearity: Any) -> str:
    """Returns ``nonlinearity`` if it names an Elman cell's activation (``NONLINEARITIES``).

    Raises:
        TypeError: not a string.
        ValueError: a string that is not one of ``NONLINEARITIES``.
    """
    message = f"nonlinearity must be one of {NONLINEARITIES}, got {nonlinearity!r:.40}"
    if not isinstance(nonlinearity, str):
        raise TypeError(message)
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(message)
    return nonlinearity


def elman_init(
    key: jax.Array,
    input_size: int,
    hidden_size: int,
    *,
    nonlinearity: str = "tanh",
    dtype: Any = jnp.float32,
    input_init: Initializer = glorot_uniform,
    recurrent_init: Initializer = orthogonal,
) -> ElmanParams:
    """Initializes Elman parameters.

    ``w_x`` comes from ``input_init`` (Glorot uniform by default), ``w_h`` from
    ``recurrent_init`` (orthogonal by default); both biases are zero.

    Args:
        key: a PRNG key.
        input_size: number of input features ``I``.
        hidden_size: number of hidden units ``H``.
        nonlinearity: ``"tanh"`` (``ElmanParams``) or ``"relu"`` (``ElmanReluParams``).
        dtype: dtype of every parameter.
        input_init: initializer for ``w_x [I, H]``.
        recurrent_init: initializer for ``w_h [H, H]``.

    Returns:
        ``ElmanParams(w_x [I, H], w_h [H, H], b_x [H], b_h [H])``, or ``ElmanReluParams``
        for ``nonlinearity="relu"``.

    Raises:
        TypeError: ``key`` is not a PRNG key, a size is not an int, ``dtype`` is not floating,
            or an initializer is not callable.
        ValueError: a size is not positive, an unknown ``nonlinearity``, or an initializer
            returns the wrong shape.

    Examples:
        >>> import jax
        >>> from rnnax._cell_elman import elman_init
        >>> params = elman_init(jax.random.key(0), 3, 8, nonlinearity="relu")
        >>> type(params).__name__, params.w_x.shape, params.w_h.shape, params.b_h.shape
        ('ElmanReluParams', (3, 8), (8, 8), (8,))
    """
    input_size, hidden_size = _check_sizes(input_size, hidden_size)
    nonlinearity = check_nonlinearity(nonlinearity)
    dtype = _check_init_arguments(key, dtype, input_init=input_init, recurrent_init=recurrent_init)
    k_x, k_h = jax.random.split(key)
    h = hidden_size
    params_type = ElmanReluParams if nonlinearity == "relu" else ElmanParams
    return params_type(
        w_x=_gate_blocks(k_x, input_init, input_size, h, 1, dtype, "input_init"),
        w_h=_gate_blocks(k_h, recurrent_init, h, h, 1, dtype, "recurrent_init"),
        b_x=jnp.zeros((h,), dtype),
        b_h=jnp.zeros((h,), dtype),
    )


def _relu_init(
    key: jax.Array,
    input_size: int,
    hidden_size: int,
    *,
    nonlinearity: str = "relu",
    **options: Any,
) -> ElmanReluParams:
    """``elman_init(..., nonlinearity="relu")``: the init of ``ELMAN_RELU``."""
    if nonlinearity != "relu":
        raise ValueError(
            f"the elman_relu cell's init makes relu parameters; nonlinearity={nonlinearity!r:.40} "
            "contradicts it (use the 'elman' cell, or elman_init, for tanh)"
        )
    params = elman_init(key, input_size, hidden_size, nonlinearity="relu", **options)
    assert isinstance(params, ElmanReluParams)
    return params


# "auto" is the scan: with the batch split over 2 CPU devices the generic custom VJP took
# 0.80-0.97x the scan's fwd+bwd time but 1.10-1.16x its temporary memory at the three bar
# shapes (benchmarks/results/cpu-2core/auto-choice/new-cells-float32.md), and an earlier
# timing on a loaded machine had it anywhere from 0.85x to 1.5x: no clear win.
ELMAN = register_cell(
    Cell(
        name="elman",
        init=elman_init,
        step=split_step(_TANH_SPLIT),
        layout=_LAYOUT,
        params_type=ElmanParams,
        flops=_flops,
        split=_TANH_SPLIT,
        description="Elman / simple RNN, tanh (torch.nn.RNN, flax SimpleCell)",
    )
)
"""The tanh Elman cell: ``elman_cell`` with ``ElmanParams``."""

ELMAN_RELU = register_cell(
    Cell(
        name="elman_relu",
        init=_relu_init,
        step=split_step(_RELU_SPLIT),
        layout=_LAYOUT,
        params_type=ElmanReluParams,
        flops=_flops,
        split=_RELU_SPLIT,
        description="Elman / simple RNN, relu (torch.nn.RNN(nonlinearity='relu'))",
    )
)
"""The relu Elman cell: ``elman_cell`` with ``ElmanReluParams``."""


def elman_cell(params: ElmanParams, h: jax.Array, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    r"""One Elman (simple RNN) step.

    .. math::

        h' = \phi(x W_x + b_x + h W_h + b_h)

    with :math:`\phi = \tanh` for ``ElmanParams`` and :math:`\phi = \mathrm{relu}` for
    ``ElmanReluParams``: the nonlinearity is the parameters' type (``torch.nn.RNN``'s
    ``nonlinearity``).

    Type: ``(ElmanParams, h[..., H], x[..., I]) -> (h'[..., H], h'[..., H])``. All axes before
    the last are batch axes (any number, including none), identical for ``x`` and ``h``.

    Args:
        params: ``ElmanParams`` or ``ElmanReluParams`` with ``w_x [I, H]``, ``w_h [H, H]``,
            ``b_x [H]``, ``b_h [H]``.
        h: the hidden state ``[..., H]`` (the carry is this plain array).
        x: the input at this step, ``[..., I]``.

    Returns:
        ``(h', h')``.

    Raises:
        TypeError: ``params`` are not Elman parameters, or a non-floating or mismatched dtype.
        ValueError: a parameter, input or carry of the wrong shape.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from rnnax._cell_elman import elman_cell, elman_init
        >>> params = elman_init(jax.random.key(0), 3, 4)
        >>> h, y = elman_cell(params, jnp.zeros(4), jnp.ones(3))
        >>> y.shape, bool(jnp.all(jnp.abs(y) < 1))
        ((4,), True)
    """
    if not isinstance(params, ElmanParams):
        raise TypeError(
            f"params must be ElmanParams or ElmanReluParams, got {type(params).__name__}"
        )
    cell = ELMAN_RELU if isinstance(params, ElmanReluParams) else ELMAN
    check_cell_inputs(cell, params, h, x)
    return cell.step(params, h, x)
