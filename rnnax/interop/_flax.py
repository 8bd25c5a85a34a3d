"""Flax cells (``flax.linen`` and ``flax.nnx``) <-> rnnax parameters of one cell.

Mappings, read from the installed flax sources (``flax/linen/recurrent.py``,
``flax/nnx/nn/recurrent.py``); every Flax kernel is ``[in, out]`` and acts on the right, as ours:

* ``linen.LSTMCell`` and ``linen.OptimizedLSTMCell`` share one parameter layout (the optimized
  cell concatenates the same per-gate parameters at call time): input kernels ``ii, if, ig, io``
  (no bias) and recurrent ``hi, hf, hg, ho`` (kernel and bias). Gate order ``i, f, g, o`` is
  ours, so ``w_x``/``w_h`` are the kernels concatenated and ``b`` the ``h*`` biases.
* ``nnx.OptimizedLSTMCell``: fused ``dense_i`` (``[I, 4H]``, no bias) and ``dense_h``
  (``[H, 4H]`` + bias), gates ``i, f, g, o``: exactly our layout. ``nnx.LSTMCell``: per-gate
  ``Linear``s named like linen's (``if_`` for ``if``).
* ``linen.GRUCell``: ``r = sigmoid(ir(x) + hr(h))``, ``z = sigmoid(iz(x) + hz(h))``,
  ``n = tanh(in(x) + r * hn(h))``, ``h' = (1 - z) n + z h``; biases on ``ir, iz, in`` and ``hn``
  only. That is our ``reset_after=True`` form with ``b_h = [0, 0, b_hn]`` after the usual
  ``r, z, n`` -> ``z, r, n`` reorder and ``z`` negation (see ``_common``).
* ``nnx.GRUCell``: fused ``dense_i`` (``[I, 3H]`` + bias) and ``dense_h`` (``[H, 3H]``, NO bias),
  gates ``r, z, n``, same equations: like linen's but without a recurrent candidate bias.

The converters check parameter names, not the cell's ``gate_fn``/``activation_fn`` (linen
variables do not record them; nnx cells are checked): cells with non-default activations are
not rnnax cells.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

from rnnax._cells import check_params
from rnnax._params import LSTMParams
from rnnax.interop._common import (
    Params,
    check_params_type,
    gru_from_rzn,
    gru_to_rzn,
    resolve_dtype,
    single_dtype,
)

if TYPE_CHECKING:
    from flax import nnx

_LSTM_GATES = ("i", "f", "g", "o")
_GRU_GATES = ("r", "z", "n")
_LINEN_LSTM_NAMES = frozenset(f"{side}{gate}" for side in "ih" for gate in _LSTM_GATES)
_LINEN_GRU_NAMES = frozenset(f"{side}{gate}" for side in "ih" for gate in _GRU_GATES)


def _cell_params(variables: Mapping[str, Any]) -> Mapping[str, Any]:
    """Finds the cell's parameter dict: unwraps ``{'params': ...}`` and ``nn.RNN``'s ``'cell'``."""
    if not isinstance(variables, Mapping):
        raise TypeError(
            "from_flax_linen takes a cell's variables (a dict such as {'params': {...}}), got "
            f"{type(variables).__name__}"
        )
    if "params" in variables:
        variables = variables["params"]
    if set(variables) == {"cell"}:  # the variables of nn.RNN(cell)
        variables = variables["cell"]
    from flax.core import meta

    return meta.unbox(variables)  # strips nn.Partitioned and other metadata boxes


def _linen_arrays(tree: Mapping[str, Any], dtype: Any) -> dict[str, dict[str, jax.Array]]:
    """``tree[module][name]`` as JAX arrays of one dtype (``dtype``, or the shared source one)."""
    raw = {}
    for module, entries in tree.items():
        if not isinstance(entries, Mapping):
            raise ValueError(f"flax cell parameters: {module} is not a dict of arrays")
        for name, array in entries.items():
            raw[f"{module}/{name}"] = array
    source = single_dtype(raw, "the flax cell's parameters")
    target = resolve_dtype(source if dtype is None else dtype, "the flax cell's parameters")
    return {
        module: {name: jnp.asarray(array, target) for name, array in entries.items()}
        for module, entries in tree.items()
    }


def _entry(tree: Mapping[str, Any], module: str, name: str) -> jax.Array:
    try:
        return tree[module][name]
    except KeyError:
        raise ValueError(f"flax cell parameters lack {module}/{name}") from None


def from_flax_linen(variables: Mapping[str, Any], *, dtype: Any = None) -> Params:
    """Converts a ``flax.linen`` LSTM or GRU cell's variables to rnnax parameters.

    The cell kind is recognised from the parameter names: ``ii .. ho`` for
    ``nn.LSTMCell`` and ``nn.OptimizedLSTMCell`` (they share one layout), ``ir .. hn`` for
    ``nn.GRUCell``. A GRU converts to the ``reset_after=True`` form (flax's ``z`` is our
    ``1 - z``, so the ``z`` kernels and bias are negated; flax has no ``hr``/``hz`` biases, so
    those entries of ``b_h`` are zero).

    Args:
        variables: the cell's variables ``{'params': {...}}``, the inner params dict, or the
            variables of ``nn.RNN(cell)`` (``{'params': {'cell': {...}}}``).
        dtype: dtype of the returned arrays; by default the parameters' own.

    Returns:
        ``LSTMParams`` for ``rnnax.lstm`` / ``lstm_cell``, or ``GRUParams`` for ``rnnax.gru`` /
        ``gru_cell`` with ``reset_after=True``. The flax LSTM carry ``(c, h)`` is our
        ``LSTMState(h, c)``: note the order.

    Raises:
        TypeError: ``variables`` is not a mapping, or its arrays mix dtypes.
        ValueError: the parameter names are not those of a flax LSTM or GRU cell.

    Examples:
        >>> import jax, jax.numpy as jnp, flax.linen as nn, rnnax
        >>> rnn = nn.RNN(nn.GRUCell(8))
        >>> xs = jax.random.normal(jax.random.key(1), (4, 10, 3))
        >>> variables = rnn.init(jax.random.key(0), xs)
        >>> params = rnnax.interop.from_flax_linen(variables)
        >>> _, ys = rnnax.gru(params, xs, reset_after=True)
        >>> bool(jnp.allclose(ys, rnn.apply(variables, xs), atol=1e-6))
        True
    """
    tree = _cell_params(variables)
    names = set(tree)
    if names in (_LINEN_LSTM_NAMES, _LINEN_GRU_NAMES):
        tree = _linen_arrays(tree, dtype)
    if names == _LINEN_LSTM_NAMES:
        kernels_x = [_entry(tree, f"i{gate}", "kernel") for gate in _LSTM_GATES]
        kernels_h = [_entry(tree, f"h{gate}", "kernel") for gate in _LSTM_GATES]
        biases = [_entry(tree, f"h{gate}", "bias") for gate in _LSTM_GATES]
        params: Params = LSTMParams(_concat(kernels_x), _concat(kernels_h), _concat(biases))
    elif names == _LINEN_GRU_NAMES:
        kernels_x = [_entry(tree, f"i{gate}", "kernel") for gate in _GRU_GATES]
        kernels_h = [_entry(tree, f"h{gate}", "kernel") for gate in _GRU_GATES]
        biases_x = [_entry(tree, f"i{gate}", "bias") for gate in _GRU_GATES]
        bias_hn = _entry(tree, "hn", "bias")
        zeros = jnp.zeros_like(bias_hn)
        params = gru_from_rzn(
            _concat(kernels_x),
            _concat(kernels_h),
            _concat(biases_x),
            _concat([zeros, zeros, bias_hn]),
        )
    else:
        raise ValueError(
            "from_flax_linen recognises flax.linen LSTMCell/OptimizedLSTMCell parameters "
            f"{sorted(_LINEN_LSTM_NAMES)} or GRUCell parameters {sorted(_LINEN_GRU_NAMES)}, "
            f"got {sorted(names)}"
        )
    _check_converted(params, "the flax cell's parameters")
    return params


def _check_converted(params: Params, source: str) -> None:
    """Checks converted parameters have consistent shapes (every gate block ``[in, H]``)."""
    try:
        check_params(params, 4 if isinstance(params, LSTMParams) else 3)
    except ValueError as error:
        raise ValueError(f"{source} have inconsistent shapes: {error}") from None


def _concat(arrays: list[jax.Array]) -> jax.Array:
    rows = {np.shape(array)[:-1] for array in arrays}
    if len(rows) != 1 or any(np.ndim(array) == 0 for array in arrays):
        raise ValueError(
            "the flax cell's parameters have inconsistent shapes: gate blocks of shapes "
            f"{[tuple(np.shape(array)) for array in arrays]} do not line up"
        )
    return jnp.concatenate(arrays, axis=-1)


def _split(array: jax.Array, parts: int) -> list[jax.Array]:
    return jnp.split(array, parts, axis=-1)


def to_flax_linen(params: Params) -> dict[str, Any]:
    """Converts rnnax parameters to a ``flax.linen`` cell's variables.

    The reverse of ``from_flax_linen``. LSTM parameters give variables for both
    ``nn.LSTMCell`` and ``nn.OptimizedLSTMCell`` (all of ``b`` goes to the ``h*`` biases).
    GRU parameters must be used in the ``reset_after=True`` form (flax's ``GRUCell`` is that
    form); ``b_h``'s ``z`` and ``r`` entries are folded into the ``iz``/``ir`` biases, since
    flax's ``hz``/``hr`` have none. Variables that came from flax round-trip exactly.

    Args:
        params: one cell's ``LSTMParams`` or ``GRUParams``.

    Returns:
        ``{'params': {...}}`` for the cell's ``apply``; wrap it as
        ``{'params': {'cell': variables['params']}}`` for ``nn.RNN(cell)``.

    Examples:
        >>> import jax, jax.numpy as jnp, flax.linen as nn, rnnax
        >>> params = rnnax.lstm_init(jax.random.key(0), 3, 8)
        >>> variables = rnnax.interop.to_flax_linen(params)
        >>> (c, h), y = nn.OptimizedLSTMCell(8).apply(variables, (jnp.zeros(8), jnp.zeros(8)),
        ...                                           jnp.ones(3))
        >>> state, y_ours = rnnax.lstm_cell(params, rnnax.LSTMState(jnp.zeros(8), jnp.zeros(8)),
        ...                                 jnp.ones(3))
        >>> bool(jnp.allclose(y, y_ours, atol=1e-6))
        True
    """
    check_params_type(params, "to_flax_linen")
    tree: dict[str, Any] = {}
    if isinstance(params, LSTMParams):
        for gate, w_x, w_h, b in zip(
            _LSTM_GATES,
            _split(params.w_x, 4),
            _split(params.w_h, 4),
            _split(params.b, 4),
            strict=True,
        ):
            tree[f"i{gate}"] = {"kernel": w_x}
            tree[f"h{gate}"] = {"kernel": w_h, "bias": b}
    else:
        ws_x, ws_h, bs_x, bs_h = (_split(array, 3) for array in gru_to_rzn(params))
        for index, gate in enumerate(_GRU_GATES):
            tree[f"i{gate}"] = {"kernel": ws_x[index]}
            tree[f"h{gate}"] = {"kernel": ws_h[index]}
        # r and z read x and h summed, so their two biases fold into the input one.
        tree["ir"]["bias"] = bs_x[0] + bs_h[0]
        tree["iz"]["bias"] = bs_x[1] + bs_h[1]
        tree["in"]["bias"] = bs_x[2]
        tree["hn"]["bias"] = bs_h[2]
    return {"params": tree}


def _variable_value(variable: Any) -> Any:
    # flax >= 0.12 deprecates .value in favour of get_value(); older releases only have .value.
    getter = getattr(variable, "get_value", None)
    return getter() if getter is not None else variable.value


def _set_variable(variable: Any, value: jax.Array) -> None:
    setter = getattr(variable, "set_value", None)
    if setter is not None:
        setter(value)
    else:
        variable.value = value


def _check_default_activations(cell: Any) -> None:
    # rnnax's cells are sigmoid gates and tanh activations; other choices change the function.
    if cell.gate_fn is not jax.nn.sigmoid or cell.activation_fn is not jnp.tanh:
        raise ValueError(
            f"{type(cell).__name__} uses gate_fn={getattr(cell.gate_fn, '__name__', cell.gate_fn)}"
            f" and activation_fn="
            f"{getattr(cell.activation_fn, '__name__', cell.activation_fn)}; rnnax's cells "
            "use sigmoid gates and tanh, so only cells with the defaults convert"
        )


def from_flax_nnx(cell: nnx.Module, *, dtype: Any = None) -> Params:
    """Converts a ``flax.nnx`` ``OptimizedLSTMCell``, ``LSTMCell`` or ``GRUCell`` to rnnax.

    Reads the cell's ``nnx.Param`` values. A GRU converts to the ``reset_after=True`` form with
    the ``z`` gate negated; ``nnx.GRUCell`` has no recurrent bias at all, so ``b_h`` is zero.

    Args:
        cell: the nnx cell (not wrapped in ``nnx.RNN``: pass ``rnn.cell``).
        dtype: dtype of the returned arrays; by default the parameters' own.

    Returns:
        ``LSTMParams`` or ``GRUParams`` (use with ``reset_after=True``). The nnx LSTM carry
        ``(c, h)`` is our ``LSTMState(h, c)``.

    Raises:
        TypeError: ``cell`` is not one of the three nnx cells, or its parameters mix dtypes.
        ValueError: the cell has non-default ``gate_fn`` / ``activation_fn``.

    Examples:
        >>> import jax, jax.numpy as jnp, rnnax
        >>> from flax import nnx
        >>> rnn = nnx.RNN(nnx.OptimizedLSTMCell(3, 8, rngs=nnx.Rngs(0)))
        >>> xs = jax.random.normal(jax.random.key(1), (4, 10, 3))
        >>> params = rnnax.interop.from_flax_nnx(rnn.cell)
        >>> _, ys = rnnax.lstm(params, xs)
        >>> bool(jnp.allclose(ys, rnn(xs), atol=1e-6))
        True
    """
    from flax import nnx

    if not isinstance(cell, (nnx.OptimizedLSTMCell, nnx.LSTMCell, nnx.GRUCell)):
        raise TypeError(
            "from_flax_nnx converts flax.nnx OptimizedLSTMCell, LSTMCell and GRUCell, got "
            f"{type(cell).__module__}.{type(cell).__qualname__}"
        )
    _check_default_activations(cell)
    raw = {
        jax.tree_util.keystr(path): leaf
        for path, leaf in jax.tree_util.tree_leaves_with_path(nnx.state(cell, nnx.Param))
    }
    source = single_dtype(raw, f"the nnx {type(cell).__name__}")
    target = resolve_dtype(source if dtype is None else dtype, f"the nnx {type(cell).__name__}")

    def _kernel(linear: Any) -> jax.Array:
        return jnp.asarray(_variable_value(linear.kernel), target)

    def _bias(linear: Any) -> jax.Array:
        # Read only where the nnx cell builds the layer with use_bias=True.
        return jnp.asarray(_variable_value(linear.bias), target)

    if isinstance(cell, nnx.OptimizedLSTMCell):
        return LSTMParams(_kernel(cell.dense_i), _kernel(cell.dense_h), _bias(cell.dense_h))
    elif isinstance(cell, nnx.LSTMCell):
        # nnx names the input forget gate `if_` because `if` is a keyword.
        inputs = [_kernel(getattr(cell, name)) for name in ("ii", "if_", "ig", "io")]
        recurrent = [getattr(cell, f"h{gate}") for gate in _LSTM_GATES]
        return LSTMParams(
            _concat(inputs),
            _concat([_kernel(linear) for linear in recurrent]),
            _concat([_bias(linear) for linear in recurrent]),
        )
    b_x = _bias(cell.dense_i)
    return gru_from_rzn(_kernel(cell.dense_i), _kernel(cell.dense_h), b_x, jnp.zeros_like(b_x))


def to_flax_nnx(params: Params, *, cell_type: type | None = None) -> nnx.Module:
    """Builds a ``flax.nnx`` cell holding rnnax parameters; the reverse of ``from_flax_nnx``.

    Args:
        params: one cell's ``LSTMParams`` or ``GRUParams`` (the latter in the
            ``reset_after=True`` form, with a zero candidate bias ``b_h[2H:]``: ``nnx.GRUCell``
            has no recurrent bias, and the ``z``/``r`` entries of ``b_h`` fold into
            ``dense_i``'s bias).
        cell_type: ``nnx.OptimizedLSTMCell`` (the default for LSTM parameters) or
            ``nnx.LSTMCell`` for an LSTM; ``nnx.GRUCell`` (the default) for a GRU.

    Returns:
        The nnx cell, with ``param_dtype`` the parameters' dtype.

    Raises:
        TypeError: a ``cell_type`` that does not match the parameters.
        ValueError: GRU parameters with a nonzero ``b_h[2H:]`` (use ``to_flax_linen``, whose
            ``GRUCell`` has that bias, or ``to_equinox``).

    Examples:
        >>> import jax, jax.numpy as jnp, rnnax
        >>> params = rnnax.lstm_init(jax.random.key(0), 3, 8)
        >>> cell = rnnax.interop.to_flax_nnx(params)
        >>> type(cell).__name__, cell.dense_h.kernel.shape
        ('OptimizedLSTMCell', (8, 32))
    """
    from flax import nnx

    check_params_type(params, "to_flax_nnx")
    input_size, hidden = params.w_x.shape[0], params.w_h.shape[0]
    is_lstm = isinstance(params, LSTMParams)
    if cell_type is None:
        cell_type = nnx.OptimizedLSTMCell if is_lstm else nnx.GRUCell
    allowed = (nnx.OptimizedLSTMCell, nnx.LSTMCell) if is_lstm else (nnx.GRUCell,)
    if cell_type not in allowed:
        raise TypeError(
            f"cell_type for {type(params).__name__} must be one of "
            f"{[kind.__name__ for kind in allowed]}, got {cell_type!r}"
        )
    # Built abstractly (shapes only): every parameter is set below, so running the random
    # initialisers would only cost time.
    cell = nnx.eval_shape(
        lambda: cell_type(input_size, hidden, param_dtype=params.w_h.dtype, rngs=nnx.Rngs(0))
    )
    # cell_type matches the parameters (checked above); the isinstance tests tell mypy so.
    if isinstance(params, LSTMParams) and cell_type is nnx.OptimizedLSTMCell:
        _set_variable(cell.dense_i.kernel, params.w_x)
        _set_variable(cell.dense_h.kernel, params.w_h)
        _set_variable(cell.dense_h.bias, params.b)
    elif isinstance(params, LSTMParams):  # cell_type is nnx.LSTMCell
        for name, gate, w_x, w_h, b in zip(
            ("ii", "if_", "ig", "io"),
            _LSTM_GATES,
            _split(params.w_x, 4),
            _split(params.w_h, 4),
            _split(params.b, 4),
            strict=True,
        ):
            _set_variable(getattr(cell, name).kernel, w_x)
            _set_variable(getattr(cell, f"h{gate}").kernel, w_h)
            _set_variable(getattr(cell, f"h{gate}").bias, b)
    else:
        w_x, w_h, b_x, b_h = gru_to_rzn(params)
        if np.any(np.asarray(b_h[2 * hidden :]) != 0):
            raise ValueError(
                "nnx.GRUCell has no recurrent candidate bias, but these GRU parameters have a "
                "nonzero b_h[2H:]; convert with to_flax_linen (linen's GRUCell has it) or "
                "to_equinox instead"
            )
        # r and z read x and h summed, so their recurrent biases fold into the input bias.
        folded = b_x + jnp.concatenate([b_h[: 2 * hidden], jnp.zeros_like(b_h[2 * hidden :])])
        _set_variable(cell.dense_i.kernel, w_x)
        _set_variable(cell.dense_i.bias, folded)
        _set_variable(cell.dense_h.kernel, w_h)
    if any(
        isinstance(leaf, jax.ShapeDtypeStruct)
        for leaf in jax.tree_util.tree_leaves(nnx.state(cell))
    ):
        # Only reachable if a flax release adds state to these cells that we do not set.
        raise RuntimeError(f"to_flax_nnx left part of the {cell_type.__name__} unset")
    return cell
