"""Parameter and state containers (``typing.NamedTuple`` pytrees, layouts fixed by docs/API.md)."""

from __future__ import annotations

from typing import NamedTuple

from jaxtyping import Array, Float


class LSTMParams(NamedTuple):
    """Parameters of one LSTM cell; gate order along the last axis is ``i, f, g, o``.

    Attributes:
        w_x: input weights ``[I, 4H]`` (matrices act on the right: ``x @ w_x``).
        w_h: recurrent weights ``[H, 4H]``.
        b: bias ``[4H]``.
    """

    w_x: Float[Array, "I H4"]
    w_h: Float[Array, "H H4"]
    b: Float[Array, " H4"]


class GRUParams(NamedTuple):
    """Parameters of one GRU cell; gate order along the last axis is ``z, r, n``.

    Two biases, as in cuDNN/PyTorch: ``b_x`` is added to the input projection and ``b_h`` to
    the recurrent one (the distinction matters for the candidate ``n``).

    Attributes:
        w_x: input weights ``[I, 3H]``.
        w_h: recurrent weights ``[H, 3H]``.
        b_x: input bias ``[3H]``.
        b_h: recurrent bias ``[3H]``.
    """

    w_x: Float[Array, "I H3"]
    w_h: Float[Array, "H H3"]
    b_x: Float[Array, " H3"]
    b_h: Float[Array, " H3"]


class GRUResetAfterParams(GRUParams):
    """``GRUParams`` of the reset-after GRU (``reset_after=True``: cuDNN, PyTorch, Flax).

    The same fields and layout as ``GRUParams`` (it is a subclass, so code written for
    ``GRUParams`` reads it unchanged); the type itself says which form the weights were trained
    in, and ``jit``, ``grad`` and ``vmap`` keep it. The converters return it, so imported
    weights run in the right form with no ``reset_after`` argument. Convert plain parameters
    with ``GRUResetAfterParams(*params)`` and back with ``GRUParams(*params)``.
    """

    __slots__ = ()


class LSTMState(NamedTuple):
    """The LSTM carry: hidden state ``h [..., H]`` and cell state ``c [..., H]``."""

    h: Float[Array, "*batch H"]
    c: Float[Array, "*batch H"]


RNNParams = LSTMParams | GRUParams  # GRUResetAfterParams is a GRUParams
