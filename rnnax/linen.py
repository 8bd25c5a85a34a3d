"""Flax Linen modules ``RNN`` (any cell), ``LSTM`` and ``GRU``: thin wrappers over rnnax's pure
stack functions.

Each call reads the module's parameters, converts them to the pure ``layers[layer][direction]``
NamedTuples and runs ``rnnax.rnn_stack`` with the module's cell (``rnnax.lstm_stack`` /
``rnnax.gru_stack`` are the same function for the LSTM and the GRU). None of the equations is
written again here, so a module and the pure functions agree exactly for the same parameters.
``RNN`` takes any cell, a registered name (``rnnax.registered_cells()``) or an ``rnnax.Cell``
of your own; ``LSTM`` and ``GRU`` are the same computation with the cell fixed.

Parameter layout (the ``params`` collection)::

    {"layer_0": {"forward": {"w_x": [I, 4H], "w_h": [H, 4H], "b": [4H]},
                 "backward": {...}},          # only when bidirectional
     "layer_1": {...}, ...}

i.e. flattened names ``layer_0/forward/w_x``, ``layer_1/backward/b`` (``b_x`` and ``b_h``
instead of ``b`` for a GRU; a cell's parameter fields in general). Each ``layer_<l>`` is one
``self.param`` whose value is that nested dict. ``to_params`` and ``from_params`` convert to
and from the pure NamedTuples.

Initialization: when the parameters do not exist yet, the module draws ONE key,
``self.make_rng("params")``, and initializes the whole stack with
``rnnax.rnn_stack_init(cell, key, xs.shape[-1], hidden_size, ...)``, which for the LSTM is
``rnnax.lstm_stack_init(key, ...)`` (``gru_stack_init`` for the GRU); the input size is
inferred from ``xs``. For parameters equal to a given ``lstm_stack_init(key, ...)``, use
``from_params(lstm_stack_init(key, ...))``.

``init`` runs the recurrence once, as Flax does; ``model.lazy_init(key,
jax.ShapeDtypeStruct(xs.shape, xs.dtype))`` creates the same parameters without running it.

Dropout between layers is on when ``deterministic=False`` and ``dropout_rate > 0``; its key is
``self.make_rng("dropout")``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax.core import FrozenDict

from rnnax._cell_gru import GRU as GRU_CELL
from rnnax._cell_gru import apply_reset_after
from rnnax._cell_lstm import LSTM as LSTM_CELL
from rnnax._checks import MAX_LAYERS, check_bool, check_positive_int
from rnnax._layers import check_layers, layers_cell, rnn_stack, rnn_stack_init
from rnnax._protocol import Cell, get_cell
from rnnax._scan import sequence_shape

__all__ = ["GRU", "LSTM", "RNN", "from_params", "to_params"]

DIRECTIONS = ("forward", "backward")
"""Names of the directions inside a ``layer_<l>`` parameter, in the pure stack's order."""

# The cells ``to_params`` reads without being told (``cell=None``), as before the protocol:
# their parameter fields tell them apart.
_DEFAULT_CELLS = (LSTM_CELL, GRU_CELL)


def _layer_name(index: int) -> str:
    return f"layer_{index}"


def _is_params_tuple(params: Any) -> bool:
    return isinstance(params, tuple) and isinstance(getattr(params, "_fields", None), tuple)


def from_params(layers: Sequence[Sequence[Any]]) -> dict[str, dict[str, Any]]:
    """Converts pure ``layers[layer][direction]`` parameters to a Linen variables dict.

    Args:
        layers: ``layers[layer][direction]`` of one cell's parameters NamedTuples
            (``LSTMParams``, ``GRUParams``, any cell's; from ``rnnax.rnn_stack_init``,
            ``interop.from_torch`` or ``to_params``).

    Returns:
        ``{"params": {"layer_0": {"forward": {"w_x": ..., ...}, ...}, ...}}``, ready for
        ``module.apply``. Only the arrays are stored, not the parameters' type: the module's
        cell says how they run (set ``reset_after=True`` on a ``GRU``, or use
        ``RNN(cell="gru_reset_after")``, for converted reset-after weights).

    Raises:
        ValueError: ``layers`` is not a non-empty sequence of 1 or 2 directions per layer.
        TypeError: a direction is not a parameters NamedTuple.

    Examples:
        >>> import jax, jax.numpy as jnp, rnnax
        >>> from rnnax import linen
        >>> layers = rnnax.lstm_stack_init(jax.random.key(0), 3, 8)
        >>> variables = linen.from_params(layers)
        >>> variables["params"]["layer_0"]["forward"]["w_h"].shape
        (8, 32)
        >>> xs = jnp.ones((2, 10, 3))
        >>> _, ys = linen.LSTM(8).apply(variables, xs)
        >>> bool((ys == rnnax.lstm_stack(layers, xs)[1]).all())
        True
    """
    if not isinstance(layers, Sequence) or not layers:
        raise ValueError(f"layers must be a non-empty sequence of layers, got {layers!r:.80}")
    tree: dict[str, Any] = {}
    for index, layer in enumerate(layers):
        if not isinstance(layer, Sequence) or len(layer) not in (1, 2):
            raise ValueError(
                f"layers[{index}] must be a sequence of 1 (forward) or 2 (forward, backward) "
                "parameter tuples"
            )
        directions = {}
        for name, params in zip(DIRECTIONS, layer, strict=False):
            if not _is_params_tuple(params):
                raise TypeError(
                    f"layers[{index}] must hold LSTMParams or GRUParams (or another cell's "
                    f"parameters NamedTuple), got {type(params).__name__}"
                )
            directions[name] = dict(params._asdict())
        tree[_layer_name(index)] = directions
    return {"params": tree}


@functools.lru_cache(maxsize=64)
def _params_type(cell: Cell) -> Any:
    """The NamedTuple type of ``cell``'s parameters (from an abstract ``init`` when the cell
    does not name it)."""
    if cell.params_type is not None:
        return cell.params_type
    params = jax.eval_shape(lambda: cell.init(jax.random.key(0), 1, 1))
    if not _is_params_tuple(params):
        raise TypeError(
            f"cell {cell.name!r}: init must return a NamedTuple of parameters, got "
            f"{type(params).__name__}"
        )
    return type(params)


def _keys(params_type: Any) -> str:
    return str(sorted(params_type._fields))


def _direction_from_dict(where: str, fields: Any, cell: Cell | None) -> Any:
    if not isinstance(fields, Mapping):
        raise TypeError(f"{where} must be a dict of parameters, got {type(fields).__name__}")
    expected = [cell] if cell is not None else list(_DEFAULT_CELLS)
    # With a cell, the LSTM's and the GRU's fields are still recognized, so that variables of
    # the other kind are named as such by the stack check (a TypeError), not as missing keys.
    candidates = expected + [other for other in _DEFAULT_CELLS if other not in expected]
    for candidate in candidates:
        params_type = _params_type(candidate)
        if set(fields) == set(params_type._fields):
            return params_type(**{field: fields[field] for field in params_type._fields})
    if cell is None:
        spelled = " or ".join(
            f"{_keys(_params_type(candidate))} ({candidate.name.upper()})" for candidate in expected
        )
        hint = "; pass cell= for another cell"
    else:
        spelled = f"{_keys(_params_type(cell))} (cell {cell.name!r})"
        hint = ""
    raise ValueError(f"{where} must have the keys {spelled}, got {sorted(fields)}{hint}")


def to_params(variables: Mapping[str, Any], *, cell: str | Cell | None = None) -> list[list[Any]]:
    """Converts a Linen ``RNN`` / ``LSTM`` / ``GRU`` variables dict to pure
    ``layers[layer][direction]``.

    Args:
        variables: the module's variables ``{"params": {"layer_0": ...}}`` as ``init``
            returns them, or the ``params`` dict itself (e.g. ``variables["params"]["rnn"]``
            for a submodule named ``rnn``).
        cell: the cell whose parameters these are (a registered name or an ``rnnax.Cell``):
            the directions become its parameters NamedTuple (``GRUResetAfterParams`` for
            ``"gru_reset_after"``). ``None`` reads LSTM and GRU variables, told apart by their
            fields, as ``LSTMParams`` / ``GRUParams``.

    Returns:
        A list of layers, each a list of one (forward) or two (forward, backward) parameters
        NamedTuples, what ``rnnax.rnn_stack`` (``lstm_stack`` / ``gru_stack``) takes.

    Raises:
        ValueError: the dict does not have the ``layer_<l>/<direction>/<field>`` layout.
        TypeError: ``variables`` or one of its parts is not a dict, or the parameters are not
            ``cell``'s.

    Examples:
        >>> import jax, jax.numpy as jnp, rnnax
        >>> from rnnax import linen
        >>> model = linen.GRU(8, num_layers=2, reset_after=True)
        >>> xs = jnp.ones((2, 10, 3))
        >>> outputs, variables = model.init_with_output(jax.random.key(0), xs)
        >>> layers = linen.to_params(variables)
        >>> type(layers[1][0]).__name__, layers[1][0].w_x.shape
        ('GRUParams', (8, 24))
        >>> expected = rnnax.gru_stack(layers, xs, reset_after=True)
        >>> bool((outputs[1] == expected[1]).all())
        True
        >>> type(linen.to_params(variables, cell="gru_reset_after")[0][0]).__name__
        'GRUResetAfterParams'
    """
    resolved = None if cell is None else get_cell(cell)
    if not isinstance(variables, Mapping):
        raise TypeError(f"variables must be a dict, got {type(variables).__name__}")
    tree = variables.get("params", variables)
    if not isinstance(tree, Mapping):
        raise TypeError(f"variables['params'] must be a dict, got {type(tree).__name__}")
    expected_names = [_layer_name(index) for index in range(len(tree))]
    if not tree or sorted(tree) != sorted(expected_names):
        raise ValueError(
            f"variables must hold layer_0 ... layer_<L-1> and nothing else, got {sorted(tree)}"
        )
    layers: list[list[Any]] = []
    for name in expected_names:
        layer = tree[name]
        if not isinstance(layer, Mapping) or set(layer) not in ({"forward"}, set(DIRECTIONS)):
            raise ValueError(
                f"{name} must have the keys ['forward'] or ['backward', 'forward'], got "
                f"{sorted(layer) if isinstance(layer, Mapping) else type(layer).__name__}"
            )
        layers.append(
            [
                _direction_from_dict(f"{name}/{direction}", layer[direction], resolved)
                for direction in DIRECTIONS
                if direction in layer
            ]
        )
    # The arrays themselves: dtypes, shapes and sizes from layer to layer, as the stacks check.
    check_layers(layers, layers_cell(layers, resolved))
    return layers


def _stack_params(
    module: nn.Module,
    cell: Cell,
    xs: jax.Array,
    time_major: bool,
    init_options: Mapping[str, Any],
) -> list[list[Any]]:
    """Returns the module's parameters as ``cell``'s pure layers, creating them on first use."""
    # Checks xs (floating, rank) before its last axis is used as the input size.
    sequence_shape(xs, time_major=time_major)
    num_layers = check_positive_int("num_layers", module.num_layers, MAX_LAYERS)
    check_positive_int("hidden_size", module.hidden_size)
    check_bool("bidirectional", module.bidirectional)
    names = [_layer_name(index) for index in range(num_layers)]
    existing = sorted(
        name for name in module.variables.get("params", {}) if name.startswith("layer_")
    )
    if existing and existing != sorted(names):
        raise ValueError(
            f"the variables hold {existing} but this {type(module).__name__} has num_layers="
            f"{num_layers} ({names}); use the module the variables were made with"
        )
    if existing:
        # Existing parameters are read as they are: the pure function then checks xs against
        # them and names the argument on a mismatch (self.param would compare the shapes of a
        # fresh, xs-sized initialization and raise a Flax shape error instead).
        tree: dict[str, Any] = {name: module.get_variable("params", name) for name in names}
        layers = to_params(tree, cell=cell)
        num_directions, hidden_size = check_layers(layers, cell)
        layout = (num_directions == 2, hidden_size)
        if layout != (module.bidirectional, module.hidden_size):
            raise ValueError(
                f"the variables are for bidirectional={layout[0]}, hidden_size={layout[1]} but "
                f"this {type(module).__name__} has bidirectional={module.bidirectional}, "
                f"hidden_size={module.hidden_size}"
            )
        return layers
    layers = rnn_stack_init(
        cell,
        module.make_rng("params"),
        xs.shape[-1],
        module.hidden_size,
        num_layers=module.num_layers,
        bidirectional=module.bidirectional,
        dtype=module.dtype,
        **init_options,
    )
    initial = from_params(layers)["params"]
    tree = {name: module.param(name, lambda _key, value=initial[name]: value) for name in names}
    return to_params(tree, cell=cell)


def _dropout_key(module: nn.Module, deterministic: bool) -> jax.Array | None:
    if check_bool("deterministic", deterministic) or module.dropout_rate == 0.0:
        return None
    return module.make_rng("dropout")  # without a "dropout" rng: Flax's InvalidRngError


def _run(
    module: nn.Module,
    cell: Cell,
    init_options: Mapping[str, Any],
    xs: jax.Array,
    carry: Sequence[Sequence[Any]] | None,
    *,
    seq_lengths: jax.Array | None,
    time_major: bool,
    deterministic: bool,
    unroll: int | bool,
    strategy: str,
) -> tuple[list[list[Any]], jax.Array]:
    """What every module's call is: its parameters (made on first use), then ``rnn_stack``."""
    layers = _stack_params(module, cell, xs, time_major, init_options)
    return rnn_stack(
        layers,
        xs,
        carry,
        cell=cell,
        seq_lengths=seq_lengths,
        time_major=time_major,
        dropout_rate=module.dropout_rate,
        dropout_key=_dropout_key(module, deterministic),
        unroll=unroll,
        strategy=strategy,
    )


class RNN(nn.Module):
    """A multi-layer, optionally bidirectional stack of any cell, Flax Linen.

    A thin wrapper: the call is ``rnnax.rnn_stack(to_params(params, cell=cell), xs, carry,
    cell=cell, ...)``. See the module docstring for the parameter names and the
    initialization key.

    Attributes:
        hidden_size: hidden units ``H`` per direction.
        cell: a registered cell's name (``rnnax.registered_cells()``) or an ``rnnax.Cell``.
        num_layers: number of stacked layers.
        bidirectional: add a backward direction to every layer; outputs are then
            ``[forward, backward]`` concatenated on the feature axis (``2H`` features).
        dropout_rate: probability of zeroing each input of layers 1 and above when
            ``deterministic=False`` (never after the last layer).
        dtype: dtype of the parameters; inputs and carries must have it too.
        init_options: keyword arguments of every ``cell.init`` (``{"forget_bias": 2.0}`` for
            the LSTM); a dict is stored as a ``FrozenDict``, so the module stays hashable.

    Examples:
        >>> import jax, jax.numpy as jnp, rnnax
        >>> from rnnax import linen
        >>> model = linen.RNN(8, cell="gru_reset_after", num_layers=2)
        >>> xs = jnp.ones((4, 10, 3))  # batch 4, 10 steps, 3 features
        >>> (carry, ys), variables = model.init_with_output(jax.random.key(0), xs)
        >>> ys.shape, carry[1][0].shape
        ((4, 10, 8), (4, 8))
        >>> layers = linen.to_params(variables, cell=model.cell)
        >>> bool((ys == rnnax.rnn_stack(layers, xs)[1]).all())
        True
    """

    hidden_size: int
    cell: str | Cell = "lstm"
    num_layers: int = 1
    bidirectional: bool = False
    dropout_rate: float = 0.0
    dtype: Any = jnp.float32
    init_options: Mapping[str, Any] = FrozenDict()

    def __post_init__(self) -> None:
        if isinstance(self.init_options, Mapping) and not isinstance(self.init_options, FrozenDict):
            # The module is a static argument of jit (and hashed by Flax): a dict is not.
            object.__setattr__(self, "init_options", FrozenDict(self.init_options))
        super().__post_init__()

    @nn.compact
    def __call__(
        self,
        xs: jax.Array,
        carry: Sequence[Sequence[Any]] | None = None,
        *,
        seq_lengths: jax.Array | None = None,
        time_major: bool = False,
        deterministic: bool = True,
        unroll: int | bool = 1,
        strategy: str = "auto",
    ) -> tuple[list[list[Any]], jax.Array]:
        """Runs the stack over whole sequences, initializing the parameters on first use.

        Args:
            xs: inputs ``[..., T, I]`` (``[T, ..., I]`` with ``time_major=True``) of the
                module's dtype; ``I`` sets the input size at initialization.
            carry: initial ``carry[layer][direction]`` in the cell's carry form (an
                ``rnnax.LSTMState`` for the LSTM, an array ``[..., H]`` for the GRU); ``None``
                is the cell's zero carry.
            seq_lengths: optional integer lengths of the batch shape (right padding).
            time_major: whether time is the first axis of ``xs`` and ``ys``.
            deterministic: ``False`` applies dropout (needs a ``"dropout"`` rng).
            unroll: passed to ``jax.lax.scan`` (the ``"scan"`` strategy).
            strategy: how each core runs, one of ``rnnax.STRATEGIES`` (see ``rnnax.rnn``).

        Returns:
            ``(carry, ys)``: ``carry[layer][direction]`` the final carry of each run (the pure
            ``rnn_stack`` layout) and the last layer's outputs ``[..., T, D*H]``.

        Raises:
            ValueError, TypeError: an unknown ``cell`` or ``init_options`` that are not a
            mapping; from ``rnnax.rnn_stack``, naming the bad argument (e.g. ``xs`` with the
            wrong feature size).
        """
        if not isinstance(self.init_options, Mapping):
            raise TypeError(
                "init_options must be a mapping of cell.init keyword arguments, got "
                f"{type(self.init_options).__name__}"
            )
        return _run(
            self,
            get_cell(self.cell),
            self.init_options,
            xs,
            carry,
            seq_lengths=seq_lengths,
            time_major=time_major,
            deterministic=deterministic,
            unroll=unroll,
            strategy=strategy,
        )


class LSTM(nn.Module):
    """A multi-layer, optionally bidirectional LSTM (``torch.nn.LSTM`` semantics), Flax Linen.

    A thin wrapper: the call is ``rnnax.lstm_stack(to_params(params), xs, carry, ...)``
    (``RNN`` with ``cell="lstm"`` and ``init_options={"forget_bias": forget_bias}`` computes
    the same). See the module docstring for the parameter names and the initialization key.

    Attributes:
        hidden_size: hidden units ``H`` per direction.
        num_layers: number of stacked layers.
        bidirectional: add a backward direction to every layer; outputs are then
            ``[forward, backward]`` concatenated on the feature axis (``2H`` features).
        dropout_rate: probability of zeroing each input of layers 1 and above when
            ``deterministic=False`` (never after the last layer).
        forget_bias: initial forget-gate bias (see ``rnnax.lstm_init``).
        dtype: dtype of the parameters; inputs and carries must have it too.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from rnnax import linen
        >>> model = linen.LSTM(8, num_layers=2, dropout_rate=0.1)
        >>> xs = jnp.ones((4, 10, 3))  # batch 4, 10 steps, 3 features
        >>> variables = model.init(jax.random.key(0), xs)
        >>> variables["params"]["layer_1"]["forward"]["w_x"].shape
        (8, 32)
        >>> carry, ys = model.apply(variables, xs, deterministic=False,
        ...                         rngs={"dropout": jax.random.key(1)})
        >>> ys.shape, carry[1][0].h.shape
        ((4, 10, 8), (4, 8))
    """

    hidden_size: int
    num_layers: int = 1
    bidirectional: bool = False
    dropout_rate: float = 0.0
    forget_bias: float = 1.0
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(
        self,
        xs: jax.Array,
        carry: Sequence[Sequence[Any]] | None = None,
        *,
        seq_lengths: jax.Array | None = None,
        time_major: bool = False,
        deterministic: bool = True,
        unroll: int | bool = 1,
        strategy: str = "auto",
    ) -> tuple[list[list[Any]], jax.Array]:
        """Runs the stack over whole sequences, initializing the parameters on first use.

        Args:
            xs: inputs ``[..., T, I]`` (``[T, ..., I]`` with ``time_major=True``) of the
                module's dtype; ``I`` sets the input size at initialization.
            carry: initial ``carry[layer][direction]`` of ``rnnax.LSTMState``; ``None`` is zeros.
            seq_lengths: optional integer lengths of the batch shape (right padding).
            time_major: whether time is the first axis of ``xs`` and ``ys``.
            deterministic: ``False`` applies dropout (needs a ``"dropout"`` rng).
            unroll: passed to ``jax.lax.scan`` (the ``"scan"`` strategy).
            strategy: how each core runs, one of ``rnnax.STRATEGIES`` (see ``rnnax.lstm``).

        Returns:
            ``(carry, ys)``: ``carry[layer][direction]`` the final ``LSTMState`` of each run
            (the pure ``lstm_stack`` layout) and the last layer's outputs ``[..., T, D*H]``.

        Raises:
            ValueError, TypeError: from ``rnnax.lstm_stack``, naming the bad argument (e.g.
            ``xs`` with the wrong feature size).
        """
        return _run(
            self,
            LSTM_CELL,
            {"forget_bias": self.forget_bias},
            xs,
            carry,
            seq_lengths=seq_lengths,
            time_major=time_major,
            deterministic=deterministic,
            unroll=unroll,
            strategy=strategy,
        )


class GRU(nn.Module):
    """A multi-layer, optionally bidirectional GRU, Flax Linen; see ``LSTM`` for conventions.

    A thin wrapper: the call is ``rnnax.gru_stack(to_params(params), xs, carry,
    reset_after=self.reset_after, ...)`` (``RNN`` with ``cell="gru"``, or
    ``"gru_reset_after"`` when ``reset_after``, computes the same).

    Attributes:
        hidden_size: hidden units ``H`` per direction.
        num_layers: number of stacked layers.
        bidirectional: add a backward direction to every layer.
        dropout_rate: dropout probability between layers when ``deterministic=False``.
        reset_after: ``False`` for the explainer's form (reset before the recurrent product),
            ``True`` for the cuDNN / PyTorch / Flax form.
        dtype: dtype of the parameters; inputs and carries must have it too.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from rnnax import linen
        >>> model = linen.GRU(8, bidirectional=True)
        >>> xs = jnp.ones((10, 3))  # one unbatched sequence
        >>> (carry, ys), variables = model.init_with_output(jax.random.key(0), xs)
        >>> ys.shape, carry[0][1].shape  # [forward, backward] features; the backward carry
        ((10, 16), (8,))
    """

    hidden_size: int
    num_layers: int = 1
    bidirectional: bool = False
    dropout_rate: float = 0.0
    reset_after: bool = False
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(
        self,
        xs: jax.Array,
        carry: Sequence[Sequence[Any]] | None = None,
        *,
        seq_lengths: jax.Array | None = None,
        time_major: bool = False,
        deterministic: bool = True,
        unroll: int | bool = 1,
        strategy: str = "auto",
    ) -> tuple[list[list[Any]], jax.Array]:
        """Runs the stack over whole sequences, initializing the parameters on first use.

        Args:
            xs: inputs ``[..., T, I]`` (``[T, ..., I]`` with ``time_major=True``).
            carry: initial ``carry[layer][direction]`` hidden states ``[..., H]``; ``None`` is
                zeros.
            seq_lengths: optional integer lengths of the batch shape (right padding).
            time_major: whether time is the first axis of ``xs`` and ``ys``.
            deterministic: ``False`` applies dropout (needs a ``"dropout"`` rng).
            unroll: passed to ``jax.lax.scan`` (the ``"scan"`` strategy).
            strategy: how each core runs, one of ``rnnax.STRATEGIES`` (see ``rnnax.lstm``).

        Returns:
            ``(carry, ys)``: ``carry[layer][direction]`` the final hidden states (the pure
            ``gru_stack`` layout) and the last layer's outputs ``[..., T, D*H]``.

        Raises:
            ValueError, TypeError: from ``rnnax.gru_stack``, naming the bad argument.
        """
        return _run(
            self,
            apply_reset_after(GRU_CELL, check_bool("reset_after", self.reset_after)),
            {},
            xs,
            carry,
            seq_lengths=seq_lengths,
            time_major=time_major,
            deterministic=deterministic,
            unroll=unroll,
            strategy=strategy,
        )
