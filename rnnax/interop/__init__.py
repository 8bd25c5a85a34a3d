"""Converters between rnnax parameters and PyTorch, Flax (linen and nnx) and Equinox cells.

* ``from_torch`` / ``to_torch``: ``torch.nn.LSTM`` / ``torch.nn.GRU`` <-> stacks
  ``layers[layer][direction]`` for ``rnnax.lstm_stack`` / ``rnnax.gru_stack``.
* ``from_flax_linen`` / ``to_flax_linen``: a ``flax.linen`` ``LSTMCell``,
  ``OptimizedLSTMCell`` or ``GRUCell``'s variables <-> one cell's parameters.
* ``from_flax_nnx`` / ``to_flax_nnx``: a ``flax.nnx`` ``OptimizedLSTMCell``, ``LSTMCell`` or
  ``GRUCell`` <-> one cell's parameters.
* ``from_equinox`` / ``to_equinox``: ``equinox.nn.LSTMCell`` / ``GRUCell`` <-> one cell's
  parameters.

Every GRU here (torch, flax, equinox) is the ``reset_after=True`` form, with gates ``r, z, n``
and ``h' = (1 - z) n + z h``; the converters reorder to rnnax's ``z, r, n`` and negate the ``z``
weights and biases (their ``z`` is our ``1 - z``). Run converted GRUs with
``reset_after=True``. LSTMs map directly: every framework uses gate order ``i, f, g, o``.

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
