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
* ``SimpleCell`` (linen: ``i`` with kernel and bias, ``h`` with a kernel; nnx: ``dense_i`` and
  ``dense_h`` alike): ``h' = act(x W_i + b_i + h W_h)``, our Elman cell with ``b_x = b_i`` and
  ``b_h = 0``. Its ``residual=True`` adds ``h`` before ``act``, which is ``W_h + 1`` (nnx cells
  record it and are converted so; linen variables do not).

Every Flax GRU is the reset-after form, so converted GRUs are ``GRUResetAfterParams``.

The converters check parameter names, not the cell's ``gate_fn``/``activation_fn`` (linen
variables do not record them, so ``from_flax_linen`` takes a SimpleCell's ``nonlinearity``;
nnx cells are checked): cells with other activations are not rnnax cells.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

import jax
import jax.numpy as jnp
import numpy as np

from rnnax._cell_elman import ELMAN, ELMAN_RELU, ElmanParams, ElmanReluParams, check_nonlinearity
from rnnax._cell_lstm import LSTM
from rnnax._params import GRUParams, LSTMParams
from rnnax._protocol import cell_of, check_params
from rnnax.interop._common import (
    RECURRENT_CELLS,
    Params,
    export_form,
    find_cell,
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
_LINEN_SIMPLE_NAMES = frozenset({"i", "h"})


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


def from_flax_linen(
    variables: Mapping[str, Any], *, dtype: Any = None, nonlinearity: str | None = None
) -> Params:
    """Converts a ``flax.linen`` LSTM, GRU or simple cell's variables to rnnax parameters.

    The cell kind is recognised from the parameter names: ``ii .. ho`` for
    ``nn.LSTMCell`` and ``nn.OptimizedLSTMCell`` (they share one layout), ``ir .. hn`` for
    ``nn.GRUCell``, ``i`` and ``h`` for ``nn.SimpleCell``. A GRU converts to
    ``GRUResetAfterParams`` (flax's ``z`` is our ``1 - z``, so the ``z`` kernels and bias are
    negated; flax has no ``hr``/``hz`` biases, so those entries of ``b_h`` are zero); a
    ``SimpleCell`` to ``ElmanParams`` (``b_h`` zero), or ``ElmanReluParams`` with
    ``nonlinearity="relu"``: linen variables do not record the cell's ``activation_fn``, nor
    its ``residual`` (a ``residual=True`` cell's ``h`` kernel needs the identity added).

    Args:
        variables: the cell's variables ``{'params': {...}}``, the inner params dict, or the
            variables of ``nn.RNN(cell)`` (``{'params': {'cell': {...}}}``).
        dtype: dtype of the returned arrays; by default the parameters' own.
        nonlinearity: a ``SimpleCell``'s ``activation_fn``, ``"tanh"`` (``None``, the
            default) or ``"relu"``; only for ``SimpleCell`` variables.

    Returns:
        ``LSTMParams`` for ``rnnax.lstm`` / ``lstm_cell``, ``GRUResetAfterParams`` for
        ``rnnax.gru`` / ``gru_cell`` (reset-after, read from the type), or ``ElmanParams`` /
        ``ElmanReluParams`` for ``rnnax.rnn``. The flax LSTM carry ``(c, h)`` is our
        ``LSTMState(h, c)``: note the order.

    Raises:
        TypeError: ``variables`` is not a mapping, or its arrays mix dtypes.
        ValueError: the parameter names are not those of a flax LSTM, GRU or simple cell, or
            a ``nonlinearity`` for another cell or of another name.

    Examples:
        >>> import jax, jax.numpy as jnp, flax.linen as nn, rnnax
        >>> rnn = nn.RNN(nn.GRUCell(8))
        >>> xs = jax.random.normal(jax.random.key(1), (4, 10, 3))
        >>> variables = rnn.init(jax.random.key(0), xs)
        >>> params = rnnax.interop.from_flax_linen(variables)
        >>> type(params).__name__
        'GRUResetAfterParams'
        >>> _, ys = rnnax.gru(params, xs)
        >>> bool(jnp.allclose(ys, rnn.apply(variables, xs), atol=1e-6))
        True
    """
    tree = _cell_params(variables)
    names = set(tree)
    if nonlinearity is not None:
        nonlinearity = check_nonlinearity(nonlinearity)
        if names != _LINEN_SIMPLE_NAMES:
            raise ValueError(
                "nonlinearity applies to SimpleCell variables only (the LSTM and GRU cells' "
                f"activations are fixed), got variables with parameters {sorted(names)}"
            )
    if names in (_LINEN_LSTM_NAMES, _LINEN_GRU_NAMES, _LINEN_SIMPLE_NAMES):
        tree = _linen_arrays(tree, dtype)
    params: Params
    if names == _LINEN_LSTM_NAMES:
        kernels_x = [_entry(tree, f"i{gate}", "kernel") for gate in _LSTM_GATES]
        kernels_h = [_entry(tree, f"h{gate}", "kernel") for gate in _LSTM_GATES]
        biases = [_entry(tree, f"h{gate}", "bias") for gate in _LSTM_GATES]
        params = LSTMParams(_concat(kernels_x), _concat(kernels_h), _concat(biases))
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
    elif names == _LINEN_SIMPLE_NAMES:
        elman_type = ElmanReluParams if nonlinearity == "relu" else ElmanParams
        bias = _entry(tree, "i", "bias")
        params = elman_type(
            _entry(tree, "i", "kernel"), _entry(tree, "h", "kernel"), bias, jnp.zeros_like(bias)
        )
    else:
        raise ValueError(
            "from_flax_linen recognises flax.linen LSTMCell/OptimizedLSTMCell parameters "
            f"{sorted(_LINEN_LSTM_NAMES)}, GRUCell parameters {sorted(_LINEN_GRU_NAMES)} or "
            f"SimpleCell parameters {sorted(_LINEN_SIMPLE_NAMES)}, got {sorted(names)}"
        )
    _check_converted(params, "the flax cell's parameters")
    return params


def _check_converted(params: Params, source: str) -> None:
    """Checks converted parameters have consistent shapes (every gate block ``[in, H]``)."""
    try:
        check_params(cell_of(params), params)
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


def _export_cell(params: Any, function: str) -> Any:
    """The (checked) cell of ``params`` that a Flax cell computes."""
    cell = find_cell(params, RECURRENT_CELLS, f"{function} takes one cell's", "flax")
    check_params(cell, params)
    return cell


def to_flax_linen(params: Params, *, reset_after: bool | None = None) -> dict[str, Any]:
    """Converts rnnax parameters to a ``flax.linen`` cell's variables.

    The reverse of ``from_flax_linen``. LSTM parameters give variables for both
    ``nn.LSTMCell`` and ``nn.OptimizedLSTMCell`` (all of ``b`` goes to the ``h*`` biases).
    GRU parameters must be reset-after ones (flax's ``GRUCell`` is that form):
    ``GRUResetAfterParams``, or plain ``GRUParams`` with ``reset_after=True``; ``b_h``'s ``z``
    and ``r`` entries are folded into the ``iz``/``ir`` biases, since flax's ``hz``/``hr`` have
    none. Elman parameters give ``nn.SimpleCell`` variables (``b_x + b_h`` in ``i``'s bias);
    build the cell with ``activation_fn=nn.relu`` for ``ElmanReluParams``. Variables that came
    from flax round-trip exactly.

    Args:
        params: one cell's ``LSTMParams``, GRU parameters, ``ElmanParams`` or
            ``ElmanReluParams``.
        reset_after: ``None`` (the default) takes a GRU's form from its parameters' type;
            ``True`` declares plain ``GRUParams`` reset-after weights; ``False`` is an error.

    Returns:
        ``{'params': {...}}`` for the cell's ``apply``; wrap it as
        ``{'params': {'cell': variables['params']}}`` for ``nn.RNN(cell)``.

    Raises:
        TypeError: parameters of no cell flax has, or of inconsistent types or dtypes.
        ValueError: inconsistent shapes, or plain ``GRUParams`` without ``reset_after=True``.

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
    cell = _export_cell(params, "to_flax_linen")
    cell = export_form(cell, reset_after, "flax's GRUCell", "flax")
    tree: dict[str, Any] = {}
    if cell is LSTM:
        lstm = cast(LSTMParams, params)
        for gate, w_x, w_h, b in zip(
            _LSTM_GATES,
            _split(lstm.w_x, 4),
            _split(lstm.w_h, 4),
            _split(lstm.b, 4),
            strict=True,
        ):
            tree[f"i{gate}"] = {"kernel": w_x}
            tree[f"h{gate}"] = {"kernel": w_h, "bias": b}
    elif cell in (ELMAN, ELMAN_RELU):
        elman = cast(ElmanParams, params)
        # x and h are summed before the nonlinearity, so the two biases fold into one.
        tree["i"] = {"kernel": elman.w_x, "bias": elman.b_x + elman.b_h}
        tree["h"] = {"kernel": elman.w_h}
    else:
        gru = cast(GRUParams, params)
        ws_x, ws_h, bs_x, bs_h = (_split(array, 3) for array in gru_to_rzn(gru))
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


def _name(function: Any) -> str:
    return getattr(function, "__name__", repr(function))


def _check_default_activations(cell: Any) -> None:
    # rnnax's cells are sigmoid gates and tanh activations; other choices change the function.
    if cell.gate_fn is not jax.nn.sigmoid or cell.activation_fn is not jnp.tanh:
        raise ValueError(
            f"{type(cell).__name__} uses gate_fn={_name(cell.gate_fn)} and "
            f"activation_fn={_name(cell.activation_fn)}; rnnax's cells use sigmoid gates and "
            "tanh, so only cells with the defaults convert"
        )


def _simple_cell_type(cell: Any) -> type[ElmanParams]:
    """The Elman parameter type of an nnx ``SimpleCell``, from its ``activation_fn``."""
    if cell.activation_fn is jnp.tanh:
        return ElmanParams
    if cell.activation_fn is jax.nn.relu:
        return ElmanReluParams
    raise ValueError(
        f"SimpleCell uses activation_fn={_name(cell.activation_fn)}; rnnax's Elman cells are "
        "tanh and relu (jax.nn.relu), so only those convert"
    )


def from_flax_nnx(cell: nnx.Module, *, dtype: Any = None) -> Params:
    """Converts a ``flax.nnx`` ``OptimizedLSTMCell``, ``LSTMCell``, ``GRUCell`` or
    ``SimpleCell`` to rnnax.

    Reads the cell's ``nnx.Param`` values. A GRU converts to ``GRUResetAfterParams`` with the
    ``z`` gate negated; ``nnx.GRUCell`` has no recurrent bias at all, so ``b_h`` is zero. A
    ``SimpleCell`` converts to ``ElmanParams`` (``activation_fn=tanh``) or ``ElmanReluParams``
    (``jax.nn.relu``) with ``b_h`` zero; a ``residual=True`` cell adds ``h`` before the
    nonlinearity, so the identity is added to ``w_h`` (the same function, up to rounding).

    Args:
        cell: the nnx cell (not wrapped in ``nnx.RNN``: pass ``rnn.cell``).
        dtype: dtype of the returned arrays; by default the parameters' own.

    Returns:
        ``LSTMParams``, ``GRUResetAfterParams`` (``rnnax.gru`` runs them reset-after without
        being told), or ``ElmanParams`` / ``ElmanReluParams``. The nnx LSTM carry ``(c, h)``
        is our ``LSTMState(h, c)``.

    Raises:
        TypeError: ``cell`` is not one of the four nnx cells, or its parameters mix dtypes.
        ValueError: the cell has a non-default ``gate_fn`` / ``activation_fn`` (a
            ``SimpleCell`` may have ``jax.nn.relu``).

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

    if not isinstance(cell, (nnx.OptimizedLSTMCell, nnx.LSTMCell, nnx.GRUCell, nnx.SimpleCell)):
        raise TypeError(
            "from_flax_nnx converts flax.nnx OptimizedLSTMCell, LSTMCell, GRUCell and "
            f"SimpleCell, got {type(cell).__module__}.{type(cell).__qualname__}"
        )
    if isinstance(cell, nnx.SimpleCell):
        elman_type = _simple_cell_type(cell)
    else:
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
    elif isinstance(cell, nnx.SimpleCell):
        w_h = _kernel(cell.dense_h)
        if cell.residual:  # act(x W_i + b + h W_h + h) = act(x W_i + b + h (W_h + 1))
            w_h = w_h + jnp.eye(w_h.shape[0], dtype=w_h.dtype)
        b_x = _bias(cell.dense_i)
        return elman_type(_kernel(cell.dense_i), w_h, b_x, jnp.zeros_like(b_x))
    b_x = _bias(cell.dense_i)
    return gru_from_rzn(_kernel(cell.dense_i), _kernel(cell.dense_h), b_x, jnp.zeros_like(b_x))


def to_flax_nnx(
    params: Params, *, cell_type: type | None = None, reset_after: bool | None = None
) -> nnx.Module:
    """Builds a ``flax.nnx`` cell holding rnnax parameters; the reverse of ``from_flax_nnx``.

    Args:
        params: one cell's ``LSTMParams``; GRU parameters in the reset-after form
            (``GRUResetAfterParams``, or plain ``GRUParams`` with ``reset_after=True``) with a
            zero candidate bias ``b_h[2H:]`` (``nnx.GRUCell`` has no recurrent bias, and the
            ``z``/``r`` entries of ``b_h`` fold into ``dense_i``'s bias); or ``ElmanParams`` /
            ``ElmanReluParams`` (``b_x + b_h`` is ``dense_i``'s bias).
        cell_type: ``nnx.OptimizedLSTMCell`` (the default for LSTM parameters) or
            ``nnx.LSTMCell`` for an LSTM; ``nnx.GRUCell`` (the default) for a GRU;
            ``nnx.SimpleCell`` (the default, ``activation_fn`` tanh or ``jax.nn.relu`` by the
            type) for an Elman cell.
        reset_after: ``None`` (the default) takes a GRU's form from its parameters' type;
            ``True`` declares plain ``GRUParams`` reset-after weights; ``False`` is an error.

    Returns:
        The nnx cell, with ``param_dtype`` the parameters' dtype.

    Raises:
        TypeError: parameters of no cell nnx has, or a ``cell_type`` that does not match them.
        ValueError: GRU parameters with a nonzero ``b_h[2H:]`` (use ``to_flax_linen``, whose
            ``GRUCell`` has that bias, or ``to_equinox``), or plain ``GRUParams`` without
            ``reset_after=True``.

    Examples:
        >>> import jax, jax.numpy as jnp, rnnax
        >>> params = rnnax.lstm_init(jax.random.key(0), 3, 8)
        >>> cell = rnnax.interop.to_flax_nnx(params)
        >>> type(cell).__name__, cell.dense_h.kernel.shape
        ('OptimizedLSTMCell', (8, 32))
    """
    from flax import nnx

    cell_kind = _export_cell(params, "to_flax_nnx")
    input_size, hidden = params.w_x.shape[0], params.w_h.shape[0]
    allowed: tuple[type, ...]
    options: dict[str, Any] = {}
    if cell_kind is LSTM:
        allowed = (nnx.OptimizedLSTMCell, nnx.LSTMCell)
    elif cell_kind in (ELMAN, ELMAN_RELU):
        allowed = (nnx.SimpleCell,)
        options["activation_fn"] = jax.nn.relu if cell_kind is ELMAN_RELU else jnp.tanh
    else:
        allowed = (nnx.GRUCell,)
    if cell_type is None:
        cell_type = allowed[0]
    if cell_type not in allowed:
        raise TypeError(
            f"cell_type for {type(params).__name__} must be one of "
            f"{[kind.__name__ for kind in allowed]}, got {cell_type!r}"
        )
    cell_kind = export_form(cell_kind, reset_after, "nnx.GRUCell", "nnx")
    # Built abstractly (shapes only): every parameter is set below, so running the random
    # initialisers would only cost time.
    cell = nnx.eval_shape(
        lambda: cell_type(
            input_size, hidden, param_dtype=params.w_h.dtype, rngs=nnx.Rngs(0), **options
        )
    )
    # cell_type matches the parameters (checked above).
    if cell_kind is LSTM and cell_type is nnx.OptimizedLSTMCell:
        lstm = cast(LSTMParams, params)
        _set_variable(cell.dense_i.kernel, lstm.w_x)
        _set_variable(cell.dense_h.kernel, lstm.w_h)
        _set_variable(cell.dense_h.bias, lstm.b)
    elif cell_kind is LSTM:  # cell_type is nnx.LSTMCell
        params = cast(LSTMParams, params)
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
    elif cell_kind in (ELMAN, ELMAN_RELU):
        elman = cast(ElmanParams, params)
        _set_variable(cell.dense_i.kernel, elman.w_x)
        _set_variable(cell.dense_i.bias, elman.b_x + elman.b_h)
        _set_variable(cell.dense_h.kernel, elman.w_h)
    else:
        w_x, w_h, b_x, b_h = gru_to_rzn(cast(GRUParams, params))
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
