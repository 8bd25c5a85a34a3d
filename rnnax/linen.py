"""Flax Linen modules ``LSTM`` and ``GRU``: thin wrappers over rnnax's pure stack functions.

Each call reads the module's parameters, converts them to the pure ``layers[layer][direction]``
NamedTuples and runs ``rnnax.lstm_stack`` / ``rnnax.gru_stack``. None of the equations is
written again here, so a module and the pure functions agree exactly for the same parameters.

Parameter layout (the ``params`` collection)::

    {"layer_0": {"forward": {"w_x": [I, 4H], "w_h": [H, 4H], "b": [4H]},
                 "backward": {...}},          # only when bidirectional
     "layer_1": {...}, ...}

i.e. flattened names ``layer_0/forward/w_x``, ``layer_1/backward/b`` (``b_x`` and ``b_h``
instead of ``b`` for a GRU). Each ``layer_<l>`` is one ``self.param`` whose value is that
nested dict. ``to_params`` and ``from_params`` convert to and from the pure NamedTuples.

Initialization: when the parameters do not exist yet, the module draws ONE key,
``self.make_rng("params")``, and initializes the whole stack with
``rnnax.lstm_stack_init(key, xs.shape[-1], hidden_size, ...)`` (``gru_stack_init`` for the
GRU); the input size is inferred from ``xs``. For parameters equal to a given
``lstm_stack_init(key, ...)``, use ``from_params(lstm_stack_init(key, ...))``.

``init`` runs the recurrence once, as Flax does; ``model.lazy_init(key,
jax.ShapeDtypeStruct(xs.shape, xs.dtype))`` creates the same parameters without running it.

Dropout between layers is on when ``deterministic=False`` and ``dropout_rate > 0``; its key is
``self.make_rng("dropout")``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from rnnax._checks import MAX_LAYERS, check_bool, check_positive_int
from rnnax._layers import check_layers, gru_stack, gru_stack_init, lstm_stack, lstm_stack_init
from rnnax._params import GRUParams, LSTMParams
from rnnax._scan import sequence_shape

__all__ = ["GRU", "LSTM", "from_params", "to_params"]

DIRECTIONS = ("forward", "backward")
"""Names of the directions inside a ``layer_<l>`` parameter, in the pure stack's order."""


def _layer_name(index: int) -> str:
    return f"layer_{index}"


def from_params(
    layers: Sequence[Sequence[LSTMParams | GRUParams]],
) -> dict[str, dict[str, Any]]:
    """Converts pure ``layers[layer][direction]`` parameters to a Linen variables dict.

    Args:
        layers: ``layers[layer][direction]`` of ``LSTMParams`` or ``GRUParams`` (from
            ``rnnax.lstm_stack_init``, ``interop.from_torch`` or ``to_params``).

    Returns:
        ``{"params": {"layer_0": {"forward": {"w_x": ..., ...}, ...}, ...}}``, ready for
        ``module.apply``. The GRU form is not stored: set ``reset_after`` on the module.

    Raises:
        ValueError: ``layers`` is not a non-empty sequence of 1 or 2 directions per layer.
        TypeError: a direction is not ``LSTMParams`` / ``GRUParams``.

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
            if not isinstance(params, (LSTMParams, GRUParams)):
                raise TypeError(
                    f"layers[{index}] must hold LSTMParams or GRUParams, got "
                    f"{type(params).__name__}"
                )
            directions[name] = dict(params._asdict())
        tree[_layer_name(index)] = directions
    return {"params": tree}


def _direction_from_dict(where: str, fields: Any) -> LSTMParams | GRUParams:
    if not isinstance(fields, Mapping):
        raise TypeError(f"{where} must be a dict of parameters, got {type(fields).__name__}")
    for params_type in (LSTMParams, GRUParams):
        if set(fields) == set(params_type._fields):
            return params_type(**{field: fields[field] for field in params_type._fields})
    raise ValueError(
        f"{where} must have the keys {sorted(LSTMParams._fields)} (LSTM) or "
        f"{sorted(GRUParams._fields)} (GRU), got {sorted(fields)}"
    )


def to_params(variables: Mapping[str, Any]) -> list[list[LSTMParams | GRUParams]]:
    """Converts a Linen ``LSTM`` / ``GRU`` variables dict to pure ``layers[layer][direction]``.

    Args:
        variables: the module's variables ``{"params": {"layer_0": ...}}`` as ``init``
            returns them, or the ``params`` dict itself (e.g. ``variables["params"]["rnn"]``
            for a submodule named ``rnn``).

    Returns:
        A list of layers, each a list of one (forward) or two (forward, backward)
        ``LSTMParams`` / ``GRUParams`` (told apart by their fields), what ``rnnax.lstm_stack``
        / ``gru_stack`` take.

    Raises:
        ValueError: the dict does not have the ``layer_<l>/<direction>/<field>`` layout.
        TypeError: ``variables`` or one of its parts is not a dict.

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
    """
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
    layers: list[list[LSTMParams | GRUParams]] = []
    for name in expected_names:
        layer = tree[name]
        if not isinstance(layer, Mapping) or set(layer) not in ({"forward"}, set(DIRECTIONS)):
            raise ValueError(
                f"{name} must have the keys ['forward'] or ['backward', 'forward'], got "
                f"{sorted(layer) if isinstance(layer, Mapping) else type(layer).__name__}"
            )
        layers.append(
            [
                _direction_from_dict(f"{name}/{direction}", layer[direction])
                for direction in DIRECTIONS
                if direction in layer
            ]
        )
    # The arrays themselves: dtypes, shapes and sizes from layer to layer, as the stacks check.
    check_layers(layers, 4 if isinstance(layers[0][0], LSTMParams) else 3)
    return layers


def _stack_params(
    module: nn.Module,
    xs: jax.Array,
    time_major: bool,
    init_stack: Callable[[jax.Array, int], list[list[Any]]],
) -> list[list[Any]]:
    """Returns the module's parameters as pure layers, creating them on first use."""
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
        layers = to_params(tree)
        layout = (len(layers[0]) == 2, int(layers[0][0].w_h.shape[0]))
        if layout != (module.bidirectional, module.hidden_size):
            raise ValueError(
                f"the variables are for bidirectional={layout[0]}, hidden_size={layout[1]} but "
                f"this {type(module).__name__} has bidirectional={module.bidirectional}, "
                f"hidden_size={module.hidden_size}"
            )
        return layers
    else:
        layers = init_stack(module.make_rng("params"), xs.shape[-1])
        initial = from_params(layers)["params"]
        tree = {name: module.param(name, lambda _key, value=initial[name]: value) for name in names}
    return to_params(tree)


def _dropout_key(module: nn.Module, deterministic: bool) -> jax.Array | None:
    if check_bool("deterministic", deterministic) or module.dropout_rate == 0.0:
        return None
    return module.make_rng("dropout")  # without a "dropout" rng: Flax's InvalidRngError


class LSTM(nn.Module):
    """A multi-layer, optionally bidirectional LSTM (``torch.nn.LSTM`` semantics), Flax Linen.

    A thin wrapper: the call is ``rnnax.lstm_stack(to_params(params), xs, carry, ...)``. See
    the module docstring for the parameter names and the initialization key.

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
        layers = _stack_params(
            self,
            xs,
            time_major,
            lambda key, input_size: lstm_stack_init(
                key,
                input_size,
                self.hidden_size,
                num_layers=self.num_layers,
                bidirectional=self.bidirectional,
                forget_bias=self.forget_bias,
                dtype=self.dtype,
            ),
        )
        return lstm_stack(
            layers,
            xs,
            carry,
            seq_lengths=seq_lengths,
            time_major=time_major,
            dropout_rate=self.dropout_rate,
            dropout_key=_dropout_key(self, deterministic),
            unroll=unroll,
            strategy=strategy,
        )


class GRU(nn.Module):
    """A multi-layer, optionally bidirectional GRU, Flax Linen; see ``LSTM`` for conventions.

    A thin wrapper: the call is ``rnnax.gru_stack(to_params(params), xs, carry,
    reset_after=self.reset_after, ...)``.

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
        layers = _stack_params(
            self,
            xs,
            time_major,
            lambda key, input_size: gru_stack_init(
                key,
                input_size,
                self.hidden_size,
                num_layers=self.num_layers,
                bidirectional=self.bidirectional,
                dtype=self.dtype,
            ),
        )
        return gru_stack(
            layers,
            xs,
            carry,
            reset_after=self.reset_after,
            seq_lengths=seq_lengths,
            time_major=time_major,
            dropout_rate=self.dropout_rate,
            dropout_key=_dropout_key(self, deterministic),
            unroll=unroll,
            strategy=strategy,
        )
