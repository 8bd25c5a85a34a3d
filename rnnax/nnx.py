"""Flax NNX modules ``LSTM`` and ``GRU``: thin wrappers over rnnax's pure stack functions.

The modules hold their parameters as ``nnx.Param``s in the pure stack layout and every call
runs ``rnnax.lstm_stack`` / ``rnnax.gru_stack`` on them. None of the equations is written again
here, so a module and the pure functions agree exactly for the same parameters.

Parameter layout: ``model.layers[layer][direction]`` is a ``DirectionParams`` holding the
fields of one ``LSTMParams`` (``w_x``, ``w_h``, ``b``) or ``GRUParams`` (``w_x``, ``w_h``,
``b_x``, ``b_h``) as ``nnx.Param``s; direction 0 is forward, 1 backward. In ``nnx.state`` the
paths read ``layers/0/0/w_x``, ``layers/1/1/b_h`` and so on.

Key derivation: the constructor draws ONE key, ``rngs.params()`` (before anything else), and
initializes the whole stack with ``rnnax.lstm_stack_init(key, ...)`` (``gru_stack_init`` for the
GRU). Hence ``LSTM(I, H, rngs=nnx.Rngs(s)).to_params()`` equals
``lstm_stack_init(nnx.Rngs(s).params(), I, H)``. When ``dropout_rate > 0`` a dropout stream is
then forked from ``rngs.dropout`` (``rngs.default`` when there is no ``dropout`` stream).

Dropout between layers follows ``nnx.Dropout``: the ``deterministic`` attribute (set by
``model.train()`` / ``model.eval()``, overridable per call) says whether it is off.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, cast

import jax
import jax.numpy as jnp
from flax import nnx

from rnnax._checks import check_bool, check_key, is_real_number
from rnnax._layers import (
    check_layers,
    gru_stack,
    gru_stack_init,
    lstm_stack,
    lstm_stack_init,
)
from rnnax._params import GRUParams, LSTMParams

__all__ = ["GRU", "LSTM", "DirectionParams"]

DropoutRngs = nnx.Rngs | nnx.RngStream | jax.Array


class DirectionParams(nnx.Module):
    """The parameters of one direction of one layer, each field an ``nnx.Param``.

    Attributes:
        params_type: ``LSTMParams`` or ``GRUParams``, the NamedTuple ``to_params`` returns.
        w_x, w_h, b: for an LSTM (``b_x``, ``b_h`` instead of ``b`` for a GRU), with the shapes
            of the NamedTuple's fields.

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

    def __init__(self, params: LSTMParams | GRUParams):
        """Stores ``params``.

        Args:
            params: an ``LSTMParams`` or ``GRUParams``.

        Raises:
            TypeError: ``params`` is neither.
        """
        if not isinstance(params, (LSTMParams, GRUParams)):
            raise TypeError(f"params must be LSTMParams or GRUParams, got {type(params).__name__}")
        self.params_type = type(params)
        for field in params._fields:
            setattr(self, field, nnx.Param(getattr(params, field)))

    def to_params(self) -> LSTMParams | GRUParams:
        """Returns the current values as a ``params_type`` NamedTuple of arrays."""
        return self.params_type(*(getattr(self, field)[...] for field in self.params_type._fields))


def _check_dropout_rate(dropout_rate: Any) -> float:
    if isinstance(dropout_rate, bool) or not is_real_number(dropout_rate):
        raise TypeError(f"dropout_rate must be a float in [0, 1), got {dropout_rate!r}")
    # A numbers.Real orders against floats; typeshed declares only its __lt__ and __le__.
    if not 0.0 <= cast(float, dropout_rate) < 1.0:
        raise ValueError(f"dropout_rate must lie in [0, 1), got {dropout_rate}")
    return float(dropout_rate)


def _check_rngs(rngs: Any) -> None:
    if not isinstance(rngs, nnx.Rngs):
        raise TypeError(f"rngs must be an nnx.Rngs (e.g. nnx.Rngs(0)), got {type(rngs).__name__}")


class _Stack(nnx.Module):
    """What ``LSTM`` and ``GRU`` share: storage, conversion and the dropout key."""

    _num_gates: ClassVar[int]

    if TYPE_CHECKING:  # the constructor LSTM and GRU share, which _from_layers calls

        def __init__(
            self,
            in_features: int,
            hidden_size: int,
            *,
            num_layers: int = 1,
            bidirectional: bool = False,
            dtype: Any = jnp.float32,
            rngs: nnx.Rngs,
            **options: Any,
        ) -> None: ...

    def _store(
        self,
        layers: Sequence[Sequence[LSTMParams | GRUParams]],
        *,
        dropout_rate: float,
        deterministic: bool,
        rngs: nnx.Rngs | None,
    ) -> None:
        num_directions, hidden_size = check_layers(layers, self._num_gates)
        self.in_features: int = int(layers[0][0].w_x.shape[0])
        self.hidden_size: int = int(hidden_size)
        self.num_layers: int = len(layers)
        self.bidirectional: bool = num_directions == 2
        self.dtype: Any = jnp.dtype(layers[0][0].w_h.dtype)
        self.dropout_rate: float = _check_dropout_rate(dropout_rate)
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
            A list of layers, each a list of one (forward) or two (forward, backward)
            ``LSTMParams`` / ``GRUParams``: what ``rnnax.lstm_stack`` / ``gru_stack`` take.
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
    def _from_layers(
        cls,
        layers: Sequence[Sequence[Any]],
        *,
        dropout_rate: float,
        deterministic: bool,
        rngs: nnx.Rngs | None,
        **static: Any,
    ) -> Any:
        check_layers(layers, cls._num_gates)
        # Build the module abstractly (no initialization is computed), then put the given
        # parameters in place of the abstract ones.
        first = layers[0][0]
        module = nnx.eval_shape(
            lambda: cls(
                int(first.w_x.shape[0]),
                int(first.w_h.shape[0]),
                num_layers=len(layers),
                bidirectional=len(layers[0]) == 2,
                dtype=first.w_h.dtype,
                rngs=nnx.Rngs(0),
                **static,
            )
        )
        module._store(layers, dropout_rate=dropout_rate, deterministic=deterministic, rngs=rngs)
        return module


class LSTM(_Stack):
    """A multi-layer, optionally bidirectional LSTM (``torch.nn.LSTM`` semantics), Flax NNX.

    A thin wrapper: the call is ``rnnax.lstm_stack(self.to_params(), xs, carry, ...)`` with the
    dropout key taken from the module's dropout stream in training mode.

    Attributes:
        layers: ``layers[layer][direction]``, each a ``DirectionParams`` with ``nnx.Param``s
            ``w_x [I, 4H]`` (``I`` is ``in_features`` for layer 0, ``D*H`` above),
            ``w_h [H, 4H]``, ``b [4H]``; gate order ``i, f, g, o``.
        in_features, hidden_size, num_layers, bidirectional, dtype: the sizes and dtype.
        dropout_rate: dropout probability between layers (never after the last layer).
        deterministic: ``True`` turns dropout off (``model.eval()``); ``False`` turns it on
            (``model.train()``).
        dropout_rngs: the forked ``nnx.RngStream`` dropout keys come from, or ``None``.

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

    _num_gates: ClassVar[int] = 4

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
        _check_dropout_rate(dropout_rate)
        _check_rngs(rngs)
        layers = lstm_stack_init(
            rngs.params(),
            in_features,
            hidden_size,
            num_layers=num_layers,
            bidirectional=bidirectional,
            forget_bias=forget_bias,
            dtype=dtype,
        )
        self._store(layers, dropout_rate=dropout_rate, deterministic=deterministic, rngs=rngs)

    @classmethod
    def from_params(
        cls,
        layers: Sequence[Sequence[LSTMParams]],
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
        return cls._from_layers(
            layers, dropout_rate=dropout_rate, deterministic=deterministic, rngs=rngs
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
            carry: initial ``carry[layer][direction]`` of ``rnnax.LSTMState``; ``None`` is zeros.
            seq_lengths: optional integer lengths of the batch shape (right padding).
            time_major: whether time is the first axis of ``xs`` and ``ys``.
            deterministic: overrides the ``deterministic`` attribute for this call.
            rngs: overrides the module's dropout stream for this call (an ``nnx.Rngs``, an
                ``nnx.RngStream`` or a key).
            unroll: passed to ``jax.lax.scan`` (the ``"scan"`` strategy).
            strategy: how each core runs, one of ``rnnax.STRATEGIES`` (see ``rnnax.lstm``).

        Returns:
            ``(carry, ys)``: ``carry[layer][direction]`` the final ``LSTMState`` of each run
            (the pure ``lstm_stack`` layout) and the last layer's outputs ``[..., T, D*H]``.

        Raises:
            ValueError, TypeError: from ``rnnax.lstm_stack``, naming the bad argument (e.g.
            ``xs`` with the wrong feature size); ``ValueError`` also when dropout is on but
            there is no dropout rng.
        """
        return lstm_stack(
            self.to_params(),
            xs,
            carry,
            seq_lengths=seq_lengths,
            time_major=time_major,
            dropout_rate=self.dropout_rate,
            dropout_key=self._dropout_key(deterministic, rngs),
            unroll=unroll,
            strategy=strategy,
        )


class GRU(_Stack):
    """A multi-layer, optionally bidirectional GRU, Flax NNX; see ``LSTM`` for the conventions.

    A thin wrapper: the call is ``rnnax.gru_stack(self.to_params(), xs, carry,
    reset_after=self.reset_after, ...)``.

    Attributes:
        layers: ``layers[layer][direction]``, each a ``DirectionParams`` with ``nnx.Param``s
            ``w_x [I, 3H]``, ``w_h [H, 3H]``, ``b_x [3H]``, ``b_h [3H]``; gate order ``z, r, n``.
        reset_after: the GRU form of every layer (see ``rnnax.gru_cell``).
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

    _num_gates: ClassVar[int] = 3

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
        _check_dropout_rate(dropout_rate)
        _check_rngs(rngs)
        layers = gru_stack_init(
            rngs.params(),
            in_features,
            hidden_size,
            num_layers=num_layers,
            bidirectional=bidirectional,
            dtype=dtype,
        )
        self.reset_after: bool = check_bool("reset_after", reset_after)
        self._store(layers, dropout_rate=dropout_rate, deterministic=deterministic, rngs=rngs)

    @classmethod
    def from_params(
        cls,
        layers: Sequence[Sequence[GRUParams]],
        *,
        reset_after: bool = False,
        dropout_rate: float = 0.0,
        deterministic: bool = False,
        rngs: nnx.Rngs | None = None,
    ) -> GRU:
        """Builds a module holding the given pure parameters (no initialization is computed).

        The parameters do not record the GRU form: pass the ``reset_after`` they were made for
        (``True`` for ``interop.from_torch``; ``model.reset_after`` for ``model.to_params()``).

        Args:
            layers: ``layers[layer][direction]`` of ``GRUParams``.
            reset_after: the GRU form.
            dropout_rate: dropout probability between layers.
            deterministic: initial mode, as in the constructor.
            rngs: source of the dropout stream; needed only for dropout in training mode.

        Returns:
            A ``GRU`` whose ``to_params()`` equals ``layers``.

        Examples:
            >>> import jax, jax.numpy as jnp, rnnax
            >>> from rnnax.nnx import GRU
            >>> layers = rnnax.gru_stack_init(jax.random.key(0), 3, 8)
            >>> model = GRU.from_params(layers, reset_after=True)
            >>> xs = jnp.ones((2, 10, 3))
            >>> expected = rnnax.gru_stack(layers, xs, reset_after=True)[1]
            >>> bool((model(xs)[1] == expected).all())
            True
        """
        return cls._from_layers(
            layers,
            dropout_rate=dropout_rate,
            deterministic=deterministic,
            rngs=rngs,
            reset_after=reset_after,
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
            xs: inputs ``[..., T, I]`` (``[T, ..., I]`` with ``time_major=True``).
            carry: initial ``carry[layer][direction]`` hidden states ``[..., H]``; ``None`` is
                zeros.
            seq_lengths: optional integer lengths of the batch shape (right padding).
            time_major: whether time is the first axis of ``xs`` and ``ys``.
            deterministic: overrides the ``deterministic`` attribute for this call.
            rngs: overrides the module's dropout stream for this call.
            unroll: passed to ``jax.lax.scan`` (the ``"scan"`` strategy).
            strategy: how each core runs, one of ``rnnax.STRATEGIES`` (see ``rnnax.lstm``).

        Returns:
            ``(carry, ys)``: ``carry[layer][direction]`` the final hidden states (the pure
            ``gru_stack`` layout) and the last layer's outputs ``[..., T, D*H]``.

        Raises:
            ValueError, TypeError: from ``rnnax.gru_stack``, naming the bad argument.
        """
        return gru_stack(
            self.to_params(),
            xs,
            carry,
            reset_after=self.reset_after,
            seq_lengths=seq_lengths,
            time_major=time_major,
            dropout_rate=self.dropout_rate,
            dropout_key=self._dropout_key(deterministic, rngs),
            unroll=unroll,
            strategy=strategy,
        )
