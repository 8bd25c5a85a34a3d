"""Equinox ``eqx.nn.LSTMCell`` / ``eqx.nn.GRUCell`` <-> rnnax parameters of one cell.

Mapping, read from the installed ``equinox/nn/_rnn.py``. Equinox cells are unbatched and their
weights ``[G*H, in]`` act on the left (``weight_ih @ x``), so ``w_x = weight_ih.T``.

* LSTM: ``weight_ih @ x + weight_hh @ h + bias`` split ``i, f, g, o``: our order, ``b = bias``.
* GRU: gates ``r, z, n``; ``bias [3H]`` is added to the input projection and ``bias_n [H]``
  inside the reset: ``n = tanh(W_in x + b_n + r * (W_hn h + bias_n))`` (our ``reset_after=True``
  form), then ``h' = n + z * (h - n) = (1 - z) n + z h``, so equinox's ``z`` is our ``1 - z``:
  reorder to ``z, r, n`` and negate ``z`` (see ``_common``). ``b_x = bias`` (reordered) and
  ``b_h = [0, 0, bias_n]``; the result is ``GRUResetAfterParams``, so ``rnnax.gru`` runs it in
  that form without being told.

``use_bias=False`` cells convert with zero biases. equinox is optional and imported lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import jax
import jax.numpy as jnp

from rnnax._cell_lstm import LSTM
from rnnax._params import GRUParams, LSTMParams
from rnnax._protocol import check_params
from rnnax.interop._common import (
    GATED_CELLS,
    export_form,
    find_cell,
    gru_from_rzn,
    gru_to_rzn,
    resolve_dtype,
    single_dtype,
)

if TYPE_CHECKING:
    import equinox as eqx

_INSTALL_HINT = "pip install rnnax[equinox]"


def _import_equinox() -> Any:
    try:
        import equinox
    except ImportError as error:
        raise ImportError(
            "rnnax.interop's Equinox converters need equinox, which is not installed. "
            f"Install it with `{_INSTALL_HINT}`."
        ) from error
    return equinox


def from_equinox(
    cell: eqx.nn.LSTMCell | eqx.nn.GRUCell, *, dtype: Any = None
) -> LSTMParams | GRUParams:
    """Converts an ``eqx.nn.LSTMCell`` or ``eqx.nn.GRUCell`` to rnnax parameters.

    Args:
        cell: the equinox cell.
        dtype: dtype of the returned arrays; by default the cell's own.

    Returns:
        ``LSTMParams``, or ``GRUResetAfterParams`` (``rnnax.gru`` runs them reset-after
        without being told). Equinox's LSTM state ``(h, c)`` is our ``LSTMState(h, c)``.

    Raises:
        ImportError: equinox is not installed.
        TypeError: ``cell`` is not an equinox LSTM or GRU cell, or its arrays mix dtypes.

    Examples:
        >>> import jax, jax.numpy as jnp, equinox as eqx, rnnax
        >>> cell = eqx.nn.GRUCell(3, 8, key=jax.random.key(0))
        >>> params = rnnax.interop.from_equinox(cell)
        >>> x, h = jnp.ones(3), jnp.zeros(8)
        >>> h_ours, _ = rnnax.gru_cell(params, h, x)
        >>> bool(jnp.allclose(h_ours, cell(x, h), atol=1e-6))
        True
    """
    eqx = _import_equinox()
    if isinstance(cell, eqx.nn.LSTMCell):
        names: tuple[str, ...] = ("weight_ih", "weight_hh", "bias")
    elif isinstance(cell, eqx.nn.GRUCell):
        names = ("weight_ih", "weight_hh", "bias", "bias_n")
    else:
        raise TypeError(
            "from_equinox converts equinox.nn.LSTMCell and equinox.nn.GRUCell, got "
            f"{type(cell).__module__}.{type(cell).__qualname__}"
        )
    raw = {name: getattr(cell, name) for name in names if getattr(cell, name) is not None}
    kind = type(cell).__name__
    target = resolve_dtype(
        single_dtype(raw, f"the equinox {kind}") if dtype is None else dtype, f"the equinox {kind}"
    )
    w_x = jnp.asarray(cell.weight_ih, target).T  # equinox's [G*H, I] acts on the left
    w_h = jnp.asarray(cell.weight_hh, target).T
    num_gates_hidden = w_h.shape[1]
    zeros = jnp.zeros(num_gates_hidden, target)
    bias = zeros if cell.bias is None else jnp.asarray(cell.bias, target)
    if isinstance(cell, eqx.nn.LSTMCell):
        return LSTMParams(w_x, w_h, bias)
    hidden = num_gates_hidden // 3
    bias_n = zeros[:hidden] if cell.bias_n is None else jnp.asarray(cell.bias_n, target)
    # Only the candidate has a recurrent bias in equinox; r and z have one summed bias.
    b_h = jnp.concatenate([zeros[: 2 * hidden], bias_n])
    return gru_from_rzn(w_x, w_h, bias, b_h)


def to_equinox(
    params: LSTMParams | GRUParams, *, reset_after: bool | None = None
) -> eqx.nn.LSTMCell | eqx.nn.GRUCell:
    """Builds an equinox cell (``use_bias=True``) holding rnnax parameters.

    The reverse of ``from_equinox``; cells that came from equinox round-trip exactly. GRU
    parameters must be reset-after ones (equinox's ``GRUCell`` is that form):
    ``GRUResetAfterParams``, or plain ``GRUParams`` with ``reset_after=True``. ``b_h``'s ``z``
    and ``r`` entries fold into equinox's single ``bias`` (so ``GRUParams -> equinox ->
    GRUParams`` is exact as a function, not entry by entry, when those entries were nonzero).
    Equinox has no Elman cell.

    Args:
        params: one cell's ``LSTMParams`` or GRU parameters.
        reset_after: ``None`` (the default) takes a GRU's form from its parameters' type;
            ``True`` declares plain ``GRUParams`` reset-after weights; ``False`` is an error.

    Returns:
        ``eqx.nn.LSTMCell`` or ``eqx.nn.GRUCell`` in the parameters' dtype.

    Raises:
        ImportError: equinox is not installed.
        TypeError: parameters of no cell equinox has, or of inconsistent types or dtypes.
        ValueError: inconsistent shapes, or plain ``GRUParams`` without ``reset_after=True``.

    Examples:
        >>> import jax, jax.numpy as jnp, rnnax
        >>> params = rnnax.lstm_init(jax.random.key(0), 3, 8)
        >>> cell = rnnax.interop.to_equinox(params)
        >>> h, c = cell(jnp.ones(3), (jnp.zeros(8), jnp.zeros(8)))
        >>> state, _ = rnnax.lstm_cell(params, rnnax.LSTMState(jnp.zeros(8), jnp.zeros(8)),
        ...                            jnp.ones(3))
        >>> bool(jnp.allclose(h, state.h, atol=1e-6))
        True
    """
    eqx = _import_equinox()
    cell_kind = find_cell(params, GATED_CELLS, "to_equinox takes one cell's", "equinox")
    check_params(cell_kind, params)
    cell_kind = export_form(cell_kind, reset_after, "equinox.nn.GRUCell", "equinox")
    input_size, hidden = params.w_x.shape[0], params.w_h.shape[0]
    dtype = params.w_h.dtype

    # Built abstractly (shapes only): every array is replaced below, so running the random
    # initialisers would only cost time.
    def abstract_cell(cell_type: type) -> Any:
        return eqx.filter_eval_shape(
            cell_type, input_size, hidden, use_bias=True, dtype=dtype, key=jax.random.key(0)
        )

    if cell_kind is LSTM:
        lstm = cast(LSTMParams, params)
        cell = abstract_cell(eqx.nn.LSTMCell)
        return eqx.tree_at(
            lambda c: (c.weight_ih, c.weight_hh, c.bias),
            cell,
            (lstm.w_x.T, lstm.w_h.T, lstm.b),
        )
    w_x, w_h, b_x, b_h = gru_to_rzn(cast(GRUParams, params))
    bias = b_x + jnp.concatenate([b_h[: 2 * hidden], jnp.zeros_like(b_h[2 * hidden :])])
    cell = abstract_cell(eqx.nn.GRUCell)
    return eqx.tree_at(
        lambda c: (c.weight_ih, c.weight_hh, c.bias, c.bias_n),
        cell,
        (w_x.T, w_h.T, bias, b_h[2 * hidden :]),
    )
