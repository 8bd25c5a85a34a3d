"""Flax NNX modules ``RNN`` (any cell), ``LSTM`` and ``GRU``: thin wrappers over rnnax's pure
stack functions.

The modules hold their parameters as ``nnx.Param``s in the pure stack layout and every call
runs ``rnnax.rnn_stack`` on them with the module's cell (``rnnax.lstm_stack`` /
``rnnax.gru_stack`` are the same function for the LSTM and the GRU). None of the equations is
written again here, so a module and the pure functions agree exactly for the same parameters.
``RNN`` takes any cell, a registered name (``rnnax.registered_cells()``) or an ``rnnax.Cell``
of your own; ``LSTM`` and ``GRU`` are ``RNN`` with the cell fixed.

Parameter layout: ``model.layers[layer][direction]`` is a ``DirectionParams`` holding the
fields of one cell's parameters NamedTuple (``LSTMParams``: ``w_x``, ``w_h``, ``b``;
``GRUParams``: ``w_x``, ``w_h``, ``b_x``, ``b_h``; any cell's fields alike) as ``nnx.Param``s;
direction 0 is forward, 1 backward. In ``nnx.state`` the paths read ``layers/0/0/w_x``,
``layers/1/1/b_h`` and so on.

Key derivation: the constructor draws ONE key, ``rngs.params()`` (before anything else), and
initializes the whole stack with ``rnnax.rnn_stack_init(cell, key, ...)``, which for the LSTM
is ``rnnax.lstm_stack_init(key, ...)`` (``gru_stack_init`` for the GRU). Hence
``LSTM(I, H, rngs=nnx.Rngs(s)).to_params()`` equals ``lstm_stack_init(nnx.Rngs(s).params(), I,
H)``. When ``dropout_rate > 0`` a dropout stream is then forked from ``rngs.dropout``
(``rngs.default`` when there is no ``dropout`` stream).

Dropout between layers follows ``nnx.Dropout``: the ``deterministic`` attribute (set by
``model.train()`` / ``model.eval()``, overridable per call) says whether it is off.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import jax
import jax.numpy as jnp
from flax import nnx

from rnnax._cell_gru import GRU as GRU_CELL
from rnnax._cell_gru import GRU_RESET_AFTER, apply_reset_after, gru_form
from rnnax._cell_lstm import LSTM as LSTM_CELL
from rnnax._checks import check_bool, check_key, check_rate
from rnnax._layers import check_layers, layers_cell, rnn_stack, rnn_stack_init
from rnnax._protocol import Cell, check_params, get_cell, params_dtype

__all__ = ["GRU", "LSTM", "RNN", "DirectionParams"]

DropoutRngs = nnx.Rngs | nnx.RngStream | jax.Array


def _is_params_tuple(params: Any) -> bool:
    return isinstance(params, tuple) and isinstance(getattr(params, "_fields", None), tuple)


class DirectionParams(nnx.Module):
    """The parameters of one direction of one layer, each field an ``nnx.Param``.

    Holds any cell's parameters NamedTuple (``LSTMParams``, ``GRUParams``,
    ``GRUResetAfterParams``, a cell of your own); the type is kept, so ``to_params`` returns
    parameters of the type that was stored (and the GRU's form, which travels with the type,
    survives the round trip).

    Attributes:
        params_type: the NamedTuple type ``to_params`` returns (``LSTMParams``, ...).
        w_x, w_h, b: for an LSTM (``b_x``, ``b_h`` instead of ``b`` for a GRU; the fields of
            ``params_type`` for any cell), with the shapes of the NamedTuple's fields.

    Examples:
        >>> import jax, rnnax
        >>> from rnnax.nnx import DirectionParams
        >>> params = rnnax.gru_init(jax.random.key(0), 3, 4)
        >>> direction = DirectionParams(params)
        >>> direction.b_h.shape
        (12,)
        >>> bool((direction.to_params().w_x == params.w_x).all())
        True
    """

    def __init__(self, params: Any):
        """Stores ``params``.

        Args:
            params: one cell's parameters, a NamedTuple of arrays (``LSTMParams``,
                ``GRUParams``, ...).

        Raises:
            TypeError: ``params`` is not a NamedTuple.
        """
        if not _is_params_tuple(params):
            raise TypeError(
                "params must be LSTMParams or GRUParams (or another cell's parameters "
                f"NamedTuple), got {type(params).__name__}"
            )
        self.params_type = type(params)
        for field in params._fields:
            setattr(self, field, nnx.Param(getattr(params, field)))

    def to_params(self) -> Any:
        """Returns the current values as a ``params_type`` NamedTuple of arrays."""
        return self.params_type(*(getattr(self, field)[...] for field in self.params_type._fields))


def _check_rngs(rngs: Any) -> None:
    if not isinstance(rngs, nnx.Rngs):
        raise TypeError(f"rngs must be an nnx.Rngs (e.g. nnx.Rngs(0)), got {type(rngs).__name__}")


def _check_layers_sequence(layers: Any) -> None:
    """The part of ``check_layers`` that comes before the cell is known (so ``[]`` and ``None``
    are named as such, not as parameters of the wrong type)."""
    if not isinstance(layers, Sequence) or not layers:
        raise ValueError(f"layers must be a non-empty sequence of layers, got {layers!r:.80}")
    if not isinstance(layers[0], Sequence) or len(layers[0]) not in (1, 2):
        raise ValueError(
            "layers[0] must be a sequence of 1 (forward) or 2 (forward, backward) parameter "
            f"tuples, got {type(layers[0]).__name__}"
        )


class RNN(nnx.Module):
    """A multi-layer, optionally bidirectional stack of any cell, Flax NNX.

    A thin wrapper: the call is ``rnnax.rnn_stack(self.to_params(), xs, carry,
    cell=self.cell, ...)`` with the dropout key taken from the module's dropout stream in
    training mode. ``LSTM`` and ``GRU`` are this module with the cell fixed.

    Attributes:
        cell: the ``rnnax.Cell`` every layer runs.
        layers: ``layers[layer][direction]``, each a ``DirectionParams`` holding the cell's
            parameter fields as ``nnx.Param``s (layer 0 reads ``in_features``, the layers
            above ``D*H``).
        in_features, hidden_size, num_layers, bidirectional, dtype: the sizes and dtype.
        dropout_rate: dropout probability between layers (never after the last layer).
        deterministic: ``True`` turns dropout off (``model.eval()``); ``False`` turns it on
            (``model.train()``).
        dropout_rngs: the forked ``nnx.RngStream`` dropout keys come from, or ``None``.

    Examples:
        >>> import jax, jax.numpy as jnp, rnnax
        >>> from flax import nnx
        >>> from rnnax.nnx import RNN
        >>> model = RNN(3, 8, cell="gru_reset_after", num_layers=2, rngs=nnx.Rngs(0))
        >>> carry, ys = model(jnp.ones((4, 10, 3)))  # batch 4, 10 steps, 3 features
        >>> ys.shape, carry[1][0].shape, type(model.to_params()[0][0]).__name__
        ((4, 10, 8), (4, 8), 'GRUResetAfterParams')
        >>> expected = rnnax.rnn_stack(model.to_params(), jnp.ones((4, 10, 3)))[1]
        >>> bool((ys == expected).all())
        True
    """

    def __init__(
        self,
        in_features: int,
        hidden_size: int,
        *,
        cell: str | Cell = "lstm",
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout_rate: float = 0.0,
        dtype: Any = jnp.float32,
        deterministic: bool = False,
        rngs: nnx.Rngs,
        **init_options: Any,
    ):
        """Initializes the stack with ``rnnax.rnn_stack_init(cell, rngs.params(), ...)``.

        Args:
            in_features: input features ``I`` of layer 0.
            hidden_size: hidden units ``H`` per direction.
            cell: a registered cell's name (``rnnax.registered_cells()``) or an
                ``rnnax.Cell``.
            num_layers: number of stacked layers.
            bidirectional: add a backward direction to every layer; outputs are then
                ``[forward, backward]`` concatenated on the feature axis (``2H`` features).
            dropout_rate: probability of zeroing each input of layers 1 and above in training
                mode (inverted dropout, as ``torch.nn.LSTM``'s ``dropout``).
            dtype: dtype of the parameters; inputs and carries must have it too.
            deterministic: initial mode; ``False`` (training, the ``nnx.Dropout`` default)
                applies dropout when ``dropout_rate > 0``.
            rngs: ``rngs.params()`` gives the initialization key; with ``dropout_rate > 0`` a
                dropout stream is forked from ``rngs.dropout`` (or ``rngs.default``).
            **init_options: passed to every ``cell.init`` (``forget_bias`` for the LSTM,
                ``input_init``, ...).

        Raises:
            ValueError, TypeError: an unknown cell, invalid sizes or ``dropout_rate``.
        """
        cell = get_cell(cell)
        check_rate("dropout_rate", dropout_rate)
        _check_rngs(rngs)
        layers = rnn_stack_init(
            cell,
            rngs.params(),
            in_features,
            hidden_size,
            num_layers=num_layers,
            bidirectional=bidirectional,
            dtype=dtype,
            **init_options,
        )
        self._store(cell, layers, dropout_rate=dropout_rate, deterministic=deterministic, rngs=rngs)

    def _store(
        self,
        cell: Cell,
        layers: Sequence[Sequence[Any]],
        *,
        dropout_rate: float,
        deterministic: bool,
        rngs: nnx.Rngs | None,
    ) -> None:
        num_directions, hidden_size = check_layers(layers, cell)
        input_size, _ = check_params(cell, layers[0][0])
        self.cell: Cell = cell
        self.in_features: int = int(input_size)
        self.hidden_size: int = int(hidden_size)
        self.num_layers: int = len(layers)
        self.bidirectional: bool = num_directions == 2
        self.dtype: Any = jnp.dtype(params_dtype(cell, layers[0][0]))
        self.dropout_rate: float = check_rate("dropout_rate", dropout_rate)
        self.deterministic: bool = check_bool("deterministic", deterministic)
        self.layers = nnx.List(
            [nnx.List([DirectionParams(params) for params in layer]) for layer in layers]
        )
        if rngs is not None and self.dropout_rate > 0.0:
            self.dropout_rngs = rngs["dropout"].fork()
        else:
            self.dropout_rngs = nnx.data(None)

    def to_params(self) -> list[list[Any]]:
        """Returns the parameters in the pure stack layout ``layers[layer][direction]``.

        Returns:
            A list of layers, each a list of one (forward) or two (forward, backward) of the
            cell's parameters NamedTuples: what ``rnnax.rnn_stack`` takes.
        """
        return [[direction.to_params() for direction in layer] for layer in self.layers]

    def _dropout_key(
        self, deterministic: bool | None, rngs: DropoutRngs | None
    ) -> jax.Array | None:
        deterministic = (
            self.deterministic
            if deterministic is None
            else check_bool("deterministic", deterministic)
        )
        if rngs is not None and not isinstance(rngs, (nnx.Rngs, nnx.RngStream)):
            check_key("rngs", rngs)
        if deterministic or self.dropout_rate == 0.0:
            return None
        if rngs is None:
            rngs = self.dropout_rngs
        if rngs is None:
            raise ValueError(
                f"{type(self).__name__} is in training mode with dropout_rate="
                f"{self.dropout_rate} but has no dropout rng: pass rngs= to the call, build the "
                "module with rngs, or call model.eval() (or pass deterministic=True)"
            )
        if isinstance(rngs, nnx.Rngs):
            return rngs["dropout"]()
        if isinstance(rngs, nnx.RngStream):
            return rngs()
        return rngs

    @classmethod
    def _abstract(
        cls,
        cell: Cell,
        input_size: int,
        hidden_size: int,
        num_layers: int,
        bidirectional: bool,
        dtype: Any,
    ) -> Any:
        """A module of this class built abstractly (no initialization is computed)."""
        return nnx.eval_shape(
            lambda: cls(
                input_size,
                hidden_size,
                num_layers=num_layers,
                bidirectional=bidirectional,
                dtype=dtype,
                rngs=nnx.Rngs(0),
                **cls._cell_options(cell),
            )
        )

    @classmethod
    def _cell_options(cls, cell: Cell) -> dict[str, Any]:
        """The constructor's keywords that make this class build ``cell``."""
        return {"cell": cell}

    @classmethod
    def _from_layers(
        cls,
        cell: Cell,
        layers: Sequence[Sequence[Any]],
        *,
        dropout_rate: float,
        deterministic: bool,
        rngs: nnx.Rngs | None,
    ) -> Any:
        num_directions, hidden_size = check_layers(layers, cell)
        input_size, _ = check_params(cell, layers[0][0])
        # Build the module abstractly, then put the given parameters in place of the abstract
        # ones (and the cell the parameters are run as in place of the constructor's).
        module = cls._abstract(
            cell,
            input_size,
            hidden_size,
            len(layers),
            num_directions == 2,
            params_dtype(cell, layers[0][0]),
        )
        module._store(
            cell, layers, dropout_rate=dropout_rate, deterministic=deterministic, rngs=rngs
        )
        return module

    @classmethod
    def from_params(
        cls,
        layers: Sequence[Sequence[Any]],
        *,
        cell: str | Cell | None = None,
        dropout_rate: float = 0.0,
        deterministic: bool = False,
        rngs: nnx.Rngs | None = None,
    ) -> RNN:
        """Builds a module holding the given pure parameters (no initialization is computed).

        Args:
            layers: ``layers[layer][direction]`` of one cell's parameters
                (``rnnax.rnn_stack_init``, ``rnnax.interop`` or ``to_params``); sizes and dtype
                are read from them.
            cell: the cell they run as (a registered name or an ``rnnax.Cell``); ``None``
                finds it from the type of ``layers[0][0]`` (every registered cell's type).
            dropout_rate: dropout probability between layers.
            deterministic: initial mode, as in the constructor.
            rngs: source of the dropout stream; needed only for dropout in training mode
                (otherwise pass ``rngs=`` to the call).

        Returns:
            An ``RNN`` whose ``to_params()`` equals ``layers``.

        Raises:
            TypeError: the parameters are of no registered cell (pass ``cell=``), or not of
                ``cell``.
            ValueError: a malformed stack or ``dropout_rate``.

        Examples:
            >>> import jax, jax.numpy as jnp, rnnax
            >>> from rnnax.nnx import RNN
            >>> layers = rnnax.rnn_stack_init("gru_reset_after", jax.random.key(0), 3, 8)
            >>> model = RNN.from_params(layers)
            >>> model.cell
            Cell('gru_reset_after')
        """
        _check_layers_sequence(layers)
        return cls._from_layers(
            layers_cell(layers, cell),
            layers,
            dropout_rate=dropout_rate,
            deterministic=deterministic,
            rngs=rngs,
        )

    def __call__(
        self,
        xs: jax.Array,
        carry: Sequence[Sequence[Any]] | None = None,
        *,
        seq_lengths: jax.Array | None = None,
        time_major: bool = False,
        deterministic: bool | None = None,
        rngs: DropoutRngs | None = None,
        unroll: int | bool = 1,
        strategy: str = "auto",
    ) -> tuple[list[list[Any]], jax.Array]:
        """Runs the stack over whole sequences.

        Args:
            xs: inputs ``[..., T, I]`` (``[T, ..., I]`` with ``time_major=True``) of the
                module's dtype; any number of leading batch axes, including none.
            carry: initial ``carry[layer][direction]`` in the cell's carry form (an
                ``rnnax.LSTMState`` for the LSTM, an array ``[..., H]`` for the GRU); ``None``
                is the cell's zero carry.
            seq_lengths: optional integer lengths of the batch shape (right padding).
            time_major: whether time is the first axis of ``xs`` and ``ys``.
            deterministic: overrides the ``deterministic`` attribute for this call.
            rngs: overrides the module's dropout stream for this call (an ``nnx.Rngs``, an
                ``nnx.RngStream`` or a key).
            unroll: passed to ``jax.lax.scan`` (the ``"scan"`` strategy).
            strategy: how each core runs, one of ``rnnax.STRATEGIES`` (see ``rnnax.rnn``).

        Returns:
            ``(carry, ys)``: ``carry[layer][direction]`` the final carry of each run (the pure
            ``rnn_stack`` layout) and the last layer's outputs ``[..., T, D*H]``.

        Raises:
            ValueError, TypeError: from ``rnnax.rnn_stack``, naming the bad argument (e.g.
            ``xs`` with the wrong feature size); ``ValueError`` also when dropout is on but
            there is no dropout rng.
        """
        return rnn_stack(
            self.to_params(),
            xs,
            carry,
            cell=self.cell,
            seq_lengths=seq_lengths,
            time_major=time_major,
            dropout_rate=self.dropout_rate,
            dropout_key=self._dropout_key(deterministic, rngs),
            unroll=unroll,
            strategy=strategy,
        )


class LSTM(RNN):
    """A multi-layer, optionally bidirectional LSTM (``torch.nn.LSTM`` semantics), Flax NNX.

    ``RNN`` with ``cell=rnnax.LSTM``: the call is ``rnnax.lstm_stack(self.to_params(), xs,
    carry, ...)`` with the dropout key taken from the module's dropout stream in training mode.

    Attributes:
        layers: ``layers[layer][direction]``, each a ``DirectionParams`` with ``nnx.Param``s
            ``w_x [I, 4H]`` (``I`` is ``in_features`` for layer 0, ``D*H`` above),
            ``w_h [H, 4H]``, ``b [4H]``; gate order ``i, f, g, o``.
        in_features, hidden_size, num_layers, bidirectional, dtype: the sizes and dtype.
        dropout_rate: dropout probability between layers (never after the last layer).
        deterministic: ``True`` turns dropout off (``model.eval()``); ``False`` turns it on
            (``model.train()``).
        dropout_rngs: the forked ``nnx.RngStream`` dropout keys come from, or ``None``.
        cell: ``rnnax.LSTM``.

    Examples:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from rnnax.nnx import LSTM
        >>> model = LSTM(3, 8, num_layers=2, rngs=nnx.Rngs(0))
        >>> carry, ys = model(jnp.ones((4, 10, 3)))  # batch 4, 10 steps, 3 features
        >>> ys.shape, len(carry), len(carry[0]), carry[1][0].h.shape
        ((4, 10, 8), 2, 1, (4, 8))
        >>> model.layers[1][0].w_x.shape  # carry and parameters: [layer][direction]
        (8, 32)
    """

    def __init__(
        self,
        in_features: int,
        hidden_size: int,
        *,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout_rate: float = 0.0,
        forget_bias: float = 1.0,
        dtype: Any = jnp.float32,
        deterministic: bool = False,
        rngs: nnx.Rngs,
    ):
        """Initializes the stack with ``rnnax.lstm_stack_init(rngs.params(), ...)``.

        Args:
            in_features: input features ``I`` of layer 0.
            hidden_size: hidden units ``H`` per direction.
            num_layers: number of stacked layers.
            bidirectional: add a backward direction to every layer; outputs are then
                ``[forward, backward]`` concatenated on the feature axis (``2H`` features).
            dropout_rate: probability of zeroing each input of layers 1 and above in training
                mode (inverted dropout, as ``torch.nn.LSTM``'s ``dropout``).
            forget_bias: initial forget-gate bias (see ``rnnax.lstm_init``).
            dtype: dtype of the parameters; inputs and carries must have it too.
            deterministic: initial mode; ``False`` (training, the ``nnx.Dropout`` default)
                applies dropout when ``dropout_rate > 0``.
            rngs: ``rngs.params()`` gives the initialization key; with ``dropout_rate > 0`` a
                dropout stream is forked from ``rngs.dropout`` (or ``rngs.default``).

        Raises:
            ValueError, TypeError: invalid sizes or ``dropout_rate``.
        """
        super().__init__(
            in_features,
            hidden_size,
            cell=LSTM_CELL,
            num_layers=num_layers,
            bidirectional=bidirectional,
            dropout_rate=dropout_rate,
            dtype=dtype,
            deterministic=deterministic,
            rngs=rngs,
            forget_bias=forget_bias,
        )

    @classmethod
    def _cell_options(cls, cell: Cell) -> dict[str, Any]:
        return {}  # the LSTM's cell is fixed

    # The subclass's own, narrower signature (no ``cell=``: the LSTM's is fixed).
    @classmethod
    def from_params(  # type: ignore[override]
        cls,
        layers: Sequence[Sequence[Any]],
        *,
        dropout_rate: float = 0.0,
        deterministic: bool = False,
        rngs: nnx.Rngs | None = None,
    ) -> LSTM:
        """Builds a module holding the given pure parameters (no initialization is computed).

        Args:
            layers: ``layers[layer][direction]`` of ``LSTMParams`` (``rnnax.lstm_stack_init``,
                ``interop.from_torch`` or ``to_params``); sizes and dtype are read from them.
            dropout_rate: dropout probability between layers.
            deterministic: initial mode, as in the constructor.
            rngs: source of the dropout stream; needed only for dropout in training mode
                (otherwise pass ``rngs=`` to the call).

        Returns:
            An ``LSTM`` whose ``to_params()`` equals ``layers``.

        Examples:
            >>> import jax, jax.numpy as jnp, rnnax
            >>> from rnnax.nnx import LSTM
            >>> layers = rnnax.lstm_stack_init(jax.random.key(0), 3, 8)
            >>> model = LSTM.from_params(layers)
            >>> xs = jnp.ones((10, 3))
            >>> bool((model(xs)[1] == rnnax.lstm_stack(layers, xs)[1]).all())
            True
        """
        _check_layers_sequence(layers)
        return cast(
            LSTM,
            cls._from_layers(
                layers_cell(layers, LSTM_CELL),
                layers,
                dropout_rate=dropout_rate,
                deterministic=deterministic,
                rngs=rngs,
            ),
        )


class GRU(RNN):
    """A multi-layer, optionally bidirectional GRU, Flax NNX; see ``LSTM`` for the conventions.

    ``RNN`` with ``cell=rnnax.GRU`` (``rnnax.GRU_RESET_AFTER`` when ``reset_after``): the call
    is ``rnnax.gru_stack(self.to_params(), xs, carry, reset_after=self.reset_after, ...)``.

    Attributes:
        layers: ``layers[layer][direction]``, each a ``DirectionParams`` with ``nnx.Param``s
            ``w_x [I, 3H]``, ``w_h [H, 3H]``, ``b_x [3H]``, ``b_h [3H]``; gate order ``z, r, n``.
        reset_after: the GRU form of every layer (see ``rnnax.gru_cell``).
        cell: ``rnnax.GRU_RESET_AFTER`` when ``reset_after``, else ``rnnax.GRU``.
        in_features, hidden_size, num_layers, bidirectional, dtype, dropout_rate,
        deterministic, dropout_rngs: as for ``LSTM``.

    Examples:
        >>> import jax.numpy as jnp
        >>> from flax import nnx
        >>> from rnnax.nnx import GRU
        >>> model = GRU(3, 8, bidirectional=True, reset_after=True, rngs=nnx.Rngs(0))
        >>> carry, ys = model(jnp.ones((10, 3)))  # one unbatched sequence
        >>> ys.shape, carry[0][1].shape  # [forward, backward] features; the backward carry
        ((10, 16), (8,))
    """

    def __init__(
        self,
        in_features: int,
        hidden_size: int,
        *,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout_rate: float = 0.0,
        reset_after: bool = False,
        dtype: Any = jnp.float32,
        deterministic: bool = False,
        rngs: nnx.Rngs,
    ):
        """Initializes the stack with ``rnnax.gru_stack_init(rngs.params(), ...)``.

        With ``reset_after=True`` the parameters are the same values typed
        ``GRUResetAfterParams`` (``rnnax.rnn_stack_init("gru_reset_after", ...)``), so the
        form travels with ``to_params()``.

        Args:
            in_features: input features ``I`` of layer 0.
            hidden_size: hidden units ``H`` per direction.
            num_layers: number of stacked layers.
            bidirectional: add a backward direction to every layer.
            dropout_rate: dropout probability between layers in training mode.
            reset_after: ``False`` for the explainer's form (reset before the recurrent
                product), ``True`` for the cuDNN / PyTorch / Flax form.
            dtype: dtype of the parameters; inputs and carries must have it too.
            deterministic: initial mode (``False``: dropout on when ``dropout_rate > 0``).
            rngs: ``rngs.params()`` gives the initialization key; with ``dropout_rate > 0`` a
                dropout stream is forked from ``rngs.dropout`` (or ``rngs.default``).
        """
        reset_after = check_bool("reset_after", reset_after)
        super().__init__(
            in_features,
            hidden_size,
            cell=apply_reset_after(GRU_CELL, reset_after),
            num_layers=num_layers,
            bidirectional=bidirectional,
            dropout_rate=dropout_rate,
            dtype=dtype,
            deterministic=deterministic,
            rngs=rngs,
        )

    def _store(
        self,
        cell: Cell,
        layers: Sequence[Sequence[Any]],
        *,
        dropout_rate: float,
        deterministic: bool,
        rngs: nnx.Rngs | None,
    ) -> None:
        super()._store(
            cell, layers, dropout_rate=dropout_rate, deterministic=deterministic, rngs=rngs
        )
        self.reset_after: bool = cell == GRU_RESET_AFTER

    @classmethod
    def _cell_options(cls, cell: Cell) -> dict[str, Any]:
        return {"reset_after": cell == GRU_RESET_AFTER}

    # The subclass's own signature (``reset_after=`` instead of ``cell=``).
    @classmethod
    def from_params(  # type: ignore[override]
        cls,
        layers: Sequence[Sequence[Any]],
        *,
        reset_after: bool | None = None,
        dropout_rate: float = 0.0,
        deterministic: bool = False,
        rngs: nnx.Rngs | None = None,
    ) -> GRU:
        """Builds a module holding the given pure parameters (no initialization is computed).

        The GRU form travels with the parameters' type: ``GRUResetAfterParams`` (what
        ``rnnax.interop`` returns for torch, Flax and Equinox GRUs, and ``to_params()`` of a
        ``reset_after=True`` module) run in the reset-after form without being told. Plain
        ``GRUParams`` run in the form ``reset_after`` names (the explainer's when ``None``).

        Args:
            layers: ``layers[layer][direction]`` of ``GRUParams`` or ``GRUResetAfterParams``.
            reset_after: the GRU form; ``None`` (the default) takes it from the parameters'
                type. ``False`` with ``GRUResetAfterParams`` is an error.
            dropout_rate: dropout probability between layers.
            deterministic: initial mode, as in the constructor.
            rngs: source of the dropout stream; needed only for dropout in training mode.

        Returns:
            A ``GRU`` whose ``to_params()`` equals ``layers``.

        Raises:
            TypeError: the layers are not GRU parameters, or ``reset_after`` is not a bool.
            ValueError: ``reset_after=False`` with ``GRUResetAfterParams``, or a malformed
                stack.

        Examples:
            >>> import jax, jax.numpy as jnp, rnnax
            >>> from rnnax.nnx import GRU
            >>> layers = rnnax.gru_stack_init(jax.random.key(0), 3, 8)
            >>> model = GRU.from_params(layers, reset_after=True)
            >>> xs = jnp.ones((2, 10, 3))
            >>> expected = rnnax.gru_stack(layers, xs, reset_after=True)[1]
            >>> bool((model(xs)[1] == expected).all())
            True
            >>> converted = rnnax.rnn_stack_init("gru_reset_after", jax.random.key(0), 3, 8)
            >>> GRU.from_params(converted).reset_after  # the form from the type
            True
        """
        _check_layers_sequence(layers)
        return cast(
            GRU,
            cls._from_layers(
                gru_form(layers[0][0], reset_after),
                layers,
                dropout_rate=dropout_rate,
                deterministic=deterministic,
                rngs=rngs,
            ),
        )
