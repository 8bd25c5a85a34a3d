"""The models compared: one forecaster per cell, its hidden size, its counts and its structure.

Every cell is reached through the cell protocol (``rnnax.get_cell``, ``rnnax.rnn_stack``,
``rnnax.stack_param_count``), so a newly registered cell needs nothing here. :func:`hidden_sizes`
sizes every cell (the same hidden size, or the reference cell's parameter budget);
:func:`count_model` counts parameters and FLOPs and reads the structure (gates, state,
operations per step) off one initialized model.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

import rnnax
from rnnax import forecasting
from rnnax.compare._cells import reference_cell
from rnnax.compare._config import CompareConfig
from rnnax.compare._results import ModelSize, Structure


def forecaster_config(
    cell: str, hidden: int, layers: int, horizon: int
) -> forecasting.ForecasterConfig:
    """The forecaster every cell uses: a direct multi-step head on the last hidden state,
    trained on squared error, with each window centred on its last value."""
    return forecasting.ForecasterConfig(
        horizon=horizon,
        input_size=1,
        cell=cell,  # any registered cell name
        hidden=hidden,
        num_layers=layers,
        centering="last",
    )


def total_params(cell: str, hidden: int, layers: int, horizon: int) -> int:
    """Recurrent layers plus the dense head (``hidden * horizon`` weights, ``horizon`` biases)."""
    return rnnax.stack_param_count(cell, 1, hidden, num_layers=layers) + hidden * horizon + horizon


# The largest hidden size ``matched_hidden`` considers: far beyond what a comparison runs.
_MAX_MATCHED_HIDDEN = 1 << 20


def matched_hidden(
    cell: str, reference: str, reference_hidden: int, layers: int, horizon: int
) -> int:
    """The hidden size of ``cell`` whose total parameter count is closest to that of
    ``reference`` at ``reference_hidden`` (ties: the smaller).

    A parameter count grows with the hidden size, so the closest size is one of the two
    around the budget, found by doubling and bisection: cells without recurrent weights
    (minGRU, minLSTM) may need many times the reference's hidden size.
    """
    budget = total_params(reference, reference_hidden, layers, horizon)

    def count(hidden: int) -> int:
        return total_params(cell, hidden, layers, horizon)

    high = 1
    while count(high) < budget and high < _MAX_MATCHED_HIDDEN:
        high *= 2
    low = high // 2  # count(low) < budget, or low == 0
    while high - low > 1:  # the smallest size at or over the budget
        middle = (low + high) // 2
        low, high = (middle, high) if count(middle) < budget else (low, middle)
    candidates = [size for size in (high - 1, high) if size >= 1]
    return min(candidates, key=lambda size: (abs(count(size) - budget), size))


def hidden_sizes(config: CompareConfig, horizon: int) -> dict[str, int]:
    """Every compared cell's hidden size: ``config.hidden`` for the reference cell (and for
    all with ``match="hidden"``), the parameter-matched size otherwise."""
    reference = reference_cell(config.cells)
    return {
        cell: config.hidden
        if config.match == "hidden" or cell == reference
        else matched_hidden(cell, reference, config.hidden, config.layers, horizon)
        for cell in config.cells
    }


# The explainer's names for the column blocks of the LSTM's and the GRU's weights. Other cells
# report their block count only: what a block means is the cell's own business.
_BLOCK_NAMES = {
    "lstm": ("input i", "forget f", "candidate g", "output o"),
    "gru": ("update z", "reset r", "candidate n"),
    "gru_reset_after": ("update z", "reset r", "candidate n"),
}


def _block_field(cell: rnnax.Cell) -> str | None:
    """The weight whose column blocks are the cell's gates: the recurrent weight ``[H, kH]``
    where the cell has one, else the input weight ``[I, kH]``; ``None`` if neither."""
    for first in ("H", "I"):
        for field, spec in cell.layout.items():
            if len(spec) == 2 and spec[0] == first and spec[1].endswith("H"):
                return field
    return None


def structure(cell_name: str, params: forecasting.ForecasterParams, hidden: int) -> Structure:
    """Gates, state and per-step operations, read off the model itself.

    Gate blocks are the column blocks of the first layer's gate weight (``w_h`` for the LSTM
    and the GRU); the state is the final carry the stack returns; operations are the
    primitives of one cell step's jaxpr (``Cell.step``), and matrix products its
    ``dot_general`` equations.
    """
    cell = rnnax.get_cell(cell_name)
    layer = params.encoder[0][0]
    field = _block_field(cell)
    blocks = None if field is None else int(getattr(layer, field).shape[-1]) // hidden
    finals, _ = rnnax.rnn_stack(params.encoder, jnp.zeros((1, 1), jnp.float32), cell=cell)
    carry = finals[0][0]
    x = jnp.zeros((1,), jnp.float32)  # the forecaster's first layer reads one feature
    primitives = [eqn.primitive.name for eqn in jax.make_jaxpr(cell.step)(layer, carry, x).eqns]
    names = _BLOCK_NAMES.get(cell.name)
    gates = None
    if names is not None and blocks == len(names):
        gates = [name for name in names if not name.startswith("candidate")]
    return Structure(
        gate_blocks=blocks,
        gates=gates,
        num_gates=None if gates is None else len(gates),
        state=list(carry._fields) if hasattr(carry, "_fields") else ["h"],
        state_vectors=len(jax.tree.leaves(carry)),
        ops_per_step=len(primitives),
        matmuls_per_step=primitives.count("dot_general"),
    )


def count_model(
    cell: str, params: forecasting.ForecasterParams, hidden: int, layers: int
) -> ModelSize:
    """Sizes, counts and structure of one initialized model.

    Raises:
        RuntimeError: ``rnnax.stack_param_count`` disagrees with the initialized encoder (a bug in
            the cell's layout, not a user error).
    """
    counted = rnnax.stack_param_count(cell, 1, hidden, num_layers=layers)
    measured = rnnax.param_count(params.encoder)
    if counted != measured:
        raise RuntimeError(
            f"{cell}: stack_param_count says {counted}, the initialized encoder has {measured}"
        )
    return ModelSize(
        hidden=hidden,
        layers=layers,
        rnn_params=counted,
        params=rnnax.param_count(params),
        flops_per_step=rnnax.flops_per_step(cell, 1, hidden, num_layers=layers),
        structure=structure(cell, params, hidden),
        description=rnnax.get_cell(cell).description,
    )
