"""The GRU's two forms as ``Cell``\\ s: the explainer's (reset before the recurrent product,
``GRUParams``) and the reset-after form of cuDNN, PyTorch and Flax (``GRUResetAfterParams``).

The form travels with the parameters' type: ``rnnax.gru`` runs ``GRUResetAfterParams`` in the
reset-after form without being told.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp

from rnnax._cells import _gru_step, check_cell_inputs
from rnnax._checks import check_bool
from rnnax._custom_vjp import gru_custom_vjp
from rnnax._init import gru_init
from rnnax._params import GRUParams, GRUResetAfterParams
from rnnax._protocol import Cell, GemmSplit, register_cell

_LAYOUT = {"w_h": ("H", "3H"), "w_x": ("I", "3H"), "b_x": ("3H",), "b_h": ("3H",)}


def _flops(input_size: int, hidden_size: int) -> int:
    # 2*I*3H + 2*H*3H + 17H: 6H bias and product adds, 2 sigmoids, 1 tanh, the reset
    # multiply and add, 4H for (1 - z) h + z n. The same for both forms.
    return 6 * hidden_size * (input_size + hidden_size) + 17 * hidden_size


def _kernels(reset_after: bool) -> dict[str, Any]:
    def custom_vjp(params, xs, h, lengths, *, reverse, unroll):
        return gru_custom_vjp(params, xs, h, lengths, reverse, reset_after, unroll)

    def pallas(params, xs, h, lengths, *, reverse, unroll):
        from rnnax._pallas import gru_pallas  # lazy, as for the LSTM

        return gru_pallas(params, xs, h, lengths, reverse, reset_after)

    def native(params, xs, h, lengths, *, reverse, unroll):
        from rnnax._native import _rnn  # lazy: loads the C++ library

        kind = _rnn.GRU_RESET_AFTER if reset_after else _rnn.GRU
        h, _, ys = _rnn.rnn_native(kind, params, xs, h, None, lengths, reverse)
        return h, ys

    return {"custom_vjp": custom_vjp, "pallas": pallas, "native": native}


def _reset_after_init(
    key: jax.Array, input_size: int, hidden_size: int, **options: Any
) -> GRUResetAfterParams:
    """``rnnax.gru_init``, typed as reset-after parameters."""
    return GRUResetAfterParams(*gru_init(key, input_size, hidden_size, **options))


def _weights(params: GRUParams) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    return params.w_x, params.b_x, params.w_h, params.b_h


def _reset_after_pointwise(
    params: GRUParams, h: jax.Array, a_x: jax.Array, a_h: jax.Array
) -> tuple[jax.Array, jax.Array]:
    ax_z, ax_r, ax_n = jnp.split(a_x, 3, axis=-1)
    ah_z, ah_r, ah_n = jnp.split(a_h, 3, axis=-1)
    z = jax.nn.sigmoid(ax_z + ah_z)
    r = jax.nn.sigmoid(ax_r + ah_r)
    n = jnp.tanh(ax_n + r * ah_n)
    h_new = (1 - z) * h + z * n
    return h_new, h_new


# Measured on CPU (benchmarks/results/cpu-2core/native/): the native loop, in float32 and
# bfloat16, where it is installed; else the hand-written backward pass.
GRU = register_cell(
    Cell(
        name="gru",
        init=gru_init,
        step=functools.partial(_gru_step, reset_after=False),
        layout=_LAYOUT,
        params_type=GRUParams,
        flops=_flops,
        # Not of the GEMM + pointwise form: the reset gate scales h before the candidate's
        # recurrent product. Its hand-written backward pass is a kernel of its own.
        kernels=_kernels(False),
        auto={"cpu": "native"},
        description="GRU, the explainer's form (reset applied to h before the product)",
    )
)
"""The explainer's GRU: ``rnnax.gru_cell`` with ``GRUParams`` (reset before the product)."""

GRU_RESET_AFTER = register_cell(
    Cell(
        name="gru_reset_after",
        init=_reset_after_init,
        step=functools.partial(_gru_step, reset_after=True),
        layout=_LAYOUT,
        params_type=GRUResetAfterParams,
        flops=_flops,
        split=GemmSplit(_weights, _reset_after_pointwise, lambda h: h),
        kernels=_kernels(True),
        auto={"cpu": "native"},
        description="GRU, reset-after form (cuDNN, PyTorch, Keras, Flax)",
    )
)
"""The reset-after GRU: ``rnnax.gru_cell(..., reset_after=True)`` with ``GRUResetAfterParams``."""


def gru_form(params: Any, reset_after: Any = None) -> Cell:
    """The GRU cell for ``params`` and ``reset_after``: the form travels with the parameters'
    type (``GRUResetAfterParams`` is reset-after), ``reset_after=True`` picks the reset-after
    form for plain ``GRUParams``, and a contradiction is an error.

    Raises:
        TypeError: ``params`` are not GRU parameters, or ``reset_after`` is not a bool.
        ValueError: ``reset_after=False`` with ``GRUResetAfterParams``.
    """
    if reset_after is not None:
        reset_after = check_bool("reset_after", reset_after)
    if isinstance(params, GRUResetAfterParams):
        if reset_after is False:
            raise ValueError(
                "reset_after=False contradicts params of type GRUResetAfterParams (reset-after "
                "weights, as converted from torch, Flax or Equinox); drop reset_after, or "
                "convert with GRUParams(*params) if you mean to run them in the other form"
            )
        return GRU_RESET_AFTER
    if not isinstance(params, GRUParams):
        raise TypeError(f"params must be GRUParams, got {type(params).__name__}")
    return GRU_RESET_AFTER if reset_after else GRU


def gru_cell(
    params: GRUParams, h: jax.Array, x: jax.Array, *, reset_after: bool | None = None
) -> tuple[jax.Array, jax.Array]:
    r"""One GRU step.

    The default form (``reset_after=False``) is the explainer's: the reset gate scales ``h``
    before the recurrent product, and ``z`` weights the NEW candidate:

    .. math::

        z &= \sigma(x W_x^z + b_x^z + h W_h^z + b_h^z) \\
        r &= \sigma(x W_x^r + b_x^r + h W_h^r + b_h^r) \\
        n &= \tanh(x W_x^n + b_x^n + (r \odot h) W_h^n + b_h^n) \\
        h' &= (1 - z) \odot h + z \odot n

    With ``reset_after=True`` (the cuDNN / PyTorch / Keras / Flax placement of ``r``):

    .. math::

        n = \tanh(x W_x^n + b_x^n + r \odot (h W_h^n + b_h^n))

    PyTorch and Flax write ``h' = (1 - z) n + z h``: their ``z`` is our ``1 - z``.

    Type: ``(GRUParams, h[..., H], x[..., I]) -> (h'[..., H], h'[..., H])``.

    Args:
        params: ``GRUParams`` with ``w_x [I, 3H]``, ``w_h [H, 3H]``, ``b_x [3H]``, ``b_h [3H]``
            in gate order ``z, r, n``.
        h: the hidden state ``[..., H]`` (the GRU carry is this plain array).
        x: the input at this step, ``[..., I]``.
        reset_after: where the reset gate applies (see above); ``None`` (the default) takes
            it from the parameters' type: ``GRUResetAfterParams`` are reset-after, plain
            ``GRUParams`` the explainer's form. ``False`` with ``GRUResetAfterParams`` is an
            error.

    Returns:
        ``(h', h')``.

    Examples:
        >>> import jax, jax.numpy as jnp, rnnax
        >>> params = rnnax.gru_init(jax.random.key(0), 3, 4)
        >>> h, y = rnnax.gru_cell(params, jnp.zeros(4), jnp.ones(3))
        >>> y.shape
        (4,)
    """
    cell = gru_form(params, reset_after)
    check_cell_inputs(cell, params, h, x, carry_name="h")
    return cell.step(params, h, x)


def apply_reset_after(cell: Cell, reset_after: Any) -> Cell:
    """``cell`` with a ``reset_after`` option of the functions that predate the protocol
    applied: ``None`` keeps it; for the GRU cells it picks the form as ``gru_form`` does.

    Raises:
        TypeError: ``reset_after`` is not ``None`` or a bool.
        ValueError: ``reset_after=True`` for a cell that is not a GRU, or ``False`` for
            reset-after parameters.
    """
    if reset_after is None:
        return cell
    reset_after = check_bool("reset_after", reset_after)
    if cell is GRU_RESET_AFTER and not reset_after:
        raise ValueError(
            "reset_after=False contradicts params of type GRUResetAfterParams (reset-after "
            "weights); drop reset_after, or convert with GRUParams(*params)"
        )
    if cell is GRU:
        return GRU_RESET_AFTER if reset_after else GRU
    if reset_after and cell is not GRU_RESET_AFTER:
        raise ValueError(
            f"reset_after=True applies only to GRU parameters, got parameters of cell {cell.name!r}"
        )
    return cell
