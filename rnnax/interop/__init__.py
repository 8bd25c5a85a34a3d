"""Converters between rnnax parameters and PyTorch, Flax (linen and nnx) and Equinox cells.

* ``from_torch`` / ``to_torch``: ``torch.nn.LSTM`` / ``torch.nn.GRU`` / ``torch.nn.RNN`` <->
  stacks ``layers[layer][direction]`` for ``rnnax.rnn_stack`` (``lstm_stack``, ``gru_stack``).
* ``from_flax_linen`` / ``to_flax_linen``: a ``flax.linen`` ``LSTMCell``,
  ``OptimizedLSTMCell``, ``GRUCell`` or ``SimpleCell``'s variables <-> one cell's parameters.
* ``from_flax_nnx`` / ``to_flax_nnx``: a ``flax.nnx`` ``OptimizedLSTMCell``, ``LSTMCell``,
  ``GRUCell`` or ``SimpleCell`` <-> one cell's parameters.
* ``from_equinox`` / ``to_equinox``: ``equinox.nn.LSTMCell`` / ``GRUCell`` <-> one cell's
  parameters.

The parameters' type is the cell (the cell protocol): converted LSTMs are ``LSTMParams``, Elman
cells (torch's ``RNN``, Flax's ``SimpleCell``) ``ElmanParams`` or, with ``relu``,
``ElmanReluParams``. Every GRU here (torch, flax, equinox) is the reset-after form, with gates
``r, z, n`` and ``h' = (1 - z) n + z h``; the converters reorder to rnnax's ``z, r, n``, negate
the ``z`` weights and biases (their ``z`` is our ``1 - z``) and return
``GRUResetAfterParams``, which ``rnnax.gru`` and the stacks run in that form with no
``reset_after`` argument. The ``to_*`` converters refuse plain ``GRUParams`` (rnnax's default
form, which no framework computes) unless told ``reset_after=True``. LSTMs map directly: every
framework uses gate order ``i, f, g, o``.

torch, flax and equinox are imported only when a converter for them is called.
"""

from rnnax.interop._equinox import from_equinox, to_equinox
from rnnax.interop._flax import from_flax_linen, from_flax_nnx, to_flax_linen, to_flax_nnx
from rnnax.interop._torch import from_torch, to_torch

__all__ = [
    "from_equinox",
    "from_flax_linen",
    "from_flax_nnx",
    "from_torch",
    "to_equinox",
    "to_flax_linen",
    "to_flax_nnx",
    "to_torch",
]
