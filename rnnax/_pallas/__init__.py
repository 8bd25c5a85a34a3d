"""Fused Pallas kernels for the LSTM and both GRU forms (the ``"pallas"`` strategy).

``lstm_pallas`` and ``gru_pallas`` compute exactly the functions of ``rnnax.lstm`` and
``rnnax.gru`` on time-major ``[T, B, I]`` inputs with one batch axis:

- the input projection ``X W_x + b`` for all steps is one large GEMM before the kernel;
- the forward kernel runs one program per batch tile (the grid spreads the tiles over the
  SMs), loops over time inside the kernel (``jax.lax.fori_loop``), keeps ``w_h`` on chip across
  the steps where it fits (``resident``), fuses the gate math with the recurrent product, and
  writes ``ys`` (plus, when differentiating, the gate activations and carries);
- the backward kernel loops over time in reverse doing only ``dh = dA W_h^T`` and the gate
  derivatives; ``dW_x = X^T dA``, ``dW_h = H_prev^T dA``, the bias and input gradients are
  large GEMMs outside the kernel (a ``jax.custom_vjp``, reverse mode only);
- ``seq_lengths`` (padded steps write ``ys = 0`` and hold the carry) and ``reverse`` work as in
  ``rnnax.scan_cell``.

Off-GPU the kernels run in Pallas interpret mode (``interpret=True``, chosen automatically; pass
``interpret=`` to force either way), so the same code is tested on CPU. The kernels target the
Triton backend of Pallas; ``_common`` says why and what shapes Triton imposes.
"""

from rnnax._pallas._common import KernelPlan, default_interpret, plan
from rnnax._pallas._gru import gru_pallas
from rnnax._pallas._lstm import lstm_pallas

__all__ = ["KernelPlan", "default_interpret", "gru_pallas", "lstm_pallas", "plan"]
