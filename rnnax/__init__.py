"""rnnax: exact, fast, differentiable LSTM and GRU recurrent networks in JAX.

The core (cells, cores, stacks, initializers, counting) is re-exported here; modules with a
leading underscore are private. ``import rnnax`` itself imports no JAX (so ``rnnax --help``
answers at once): the first use of any core name imports the whole core, in one fixed order,
which also registers the built-in cells. The subpackages load on first use: ``rnnax.nnx`` and
``rnnax.linen`` (Flax modules), ``rnnax.interop``, ``rnnax.data``, ``rnnax.evaluation``,
``rnnax.forecasting``, ``rnnax.training`` and ``rnnax.compare``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rnnax._cell_elman import (
        ELMAN,
        ELMAN_RELU,
        ElmanParams,
        ElmanReluParams,
        elman_cell,
        elman_init,
    )
    from rnnax._cell_gru import GRU, GRU_RESET_AFTER, gru_cell
    from rnnax._cell_layernorm_lstm import (
        LAYERNORM_LSTM,
        LayerNormLSTMParams,
        layernorm_lstm_cell,
        layernorm_lstm_init,
    )
    from rnnax._cell_lstm import LSTM, lstm_cell
    from rnnax._cell_mingru import MINGRU, MinGRUParams, mingru_cell, mingru_init
    from rnnax._cell_minlstm import MINLSTM, MinLSTMParams, minlstm_cell, minlstm_init
    from rnnax._cores import gru, lstm, rnn, zero_carry
    from rnnax._counting import count_params, flops_per_step, param_count, stack_param_count
    from rnnax._init import gru_init, lstm_init
    from rnnax._layers import (
        gru_stack,
        gru_stack_init,
        lstm_stack,
        lstm_stack_init,
        rnn_stack,
        rnn_stack_init,
    )
    from rnnax._params import GRUParams, GRUResetAfterParams, LSTMParams, LSTMState
    from rnnax._protocol import (
        Cell,
        GemmSplit,
        get_cell,
        register_cell,
        registered_cells,
        split_step,
    )
    from rnnax._scan import scan_cell
    from rnnax._strategies import STRATEGIES, available_strategies, set_cpu_device_count
    from rnnax._streaming import StreamState, stream_apply, stream_init, stream_scan

__version__ = "0.1.0"

__all__ = [
    "ELMAN",
    "ELMAN_RELU",
    "GRU",
    "GRU_RESET_AFTER",
    "LAYERNORM_LSTM",
    "LSTM",
    "MINGRU",
    "MINLSTM",
    "STRATEGIES",
    "Cell",
    "ElmanParams",
    "ElmanReluParams",
    "GRUParams",
    "GRUResetAfterParams",
    "GemmSplit",
    "LSTMParams",
    "LSTMState",
    "LayerNormLSTMParams",
    "MinGRUParams",
    "MinLSTMParams",
    "StreamState",
    "available_strategies",
    "count_params",
    "elman_cell",
    "elman_init",
    "flops_per_step",
    "get_cell",
    "gru",
    "gru_cell",
    "gru_init",
    "gru_stack",
    "gru_stack_init",
    "layernorm_lstm_cell",
    "layernorm_lstm_init",
    "lstm",
    "lstm_cell",
    "lstm_init",
    "lstm_stack",
    "lstm_stack_init",
    "mingru_cell",
    "mingru_init",
    "minlstm_cell",
    "minlstm_init",
    "param_count",
    "register_cell",
    "registered_cells",
    "rnn",
    "rnn_stack",
    "rnn_stack_init",
    "scan_cell",
    "set_cpu_device_count",
    "split_step",
    "stack_param_count",
    "stream_apply",
    "stream_init",
    "stream_scan",
    "zero_carry",
]

# Where each core name lives, in the order the modules are imported on first use (the order
# in which the built-in cells register). tests/test_cli.py checks it lists exactly __all__.
_CORE: dict[str, tuple[str, ...]] = {
    "rnnax._cell_elman": (
        "ELMAN",
        "ELMAN_RELU",
        "ElmanParams",
        "ElmanReluParams",
        "elman_cell",
        "elman_init",
    ),
    "rnnax._cell_gru": (
        "GRU",
        "GRU_RESET_AFTER",
        "gru_cell",
    ),
    "rnnax._cell_layernorm_lstm": (
        "LAYERNORM_LSTM",
        "LayerNormLSTMParams",
        "layernorm_lstm_cell",
        "layernorm_lstm_init",
    ),
    "rnnax._cell_lstm": (
        "LSTM",
        "lstm_cell",
    ),
    "rnnax._cell_mingru": (
        "MINGRU",
        "MinGRUParams",
        "mingru_cell",
        "mingru_init",
    ),
    "rnnax._cell_minlstm": (
        "MINLSTM",
        "MinLSTMParams",
        "minlstm_cell",
        "minlstm_init",
    ),
    "rnnax._cores": (
        "gru",
        "lstm",
        "rnn",
        "zero_carry",
    ),
    "rnnax._counting": (
        "count_params",
        "flops_per_step",
        "param_count",
        "stack_param_count",
    ),
    "rnnax._init": (
        "gru_init",
        "lstm_init",
    ),
    "rnnax._layers": (
        "gru_stack",
        "gru_stack_init",
        "lstm_stack",
        "lstm_stack_init",
        "rnn_stack",
        "rnn_stack_init",
    ),
    "rnnax._params": (
        "GRUParams",
        "GRUResetAfterParams",
        "LSTMParams",
        "LSTMState",
    ),
    "rnnax._protocol": (
        "Cell",
        "GemmSplit",
        "get_cell",
        "register_cell",
        "registered_cells",
        "split_step",
    ),
    "rnnax._scan": ("scan_cell",),
    "rnnax._strategies": (
        "STRATEGIES",
        "available_strategies",
        "set_cpu_device_count",
    ),
    "rnnax._streaming": (
        "StreamState",
        "stream_apply",
        "stream_init",
        "stream_scan",
    ),
}

_SUBPACKAGES = frozenset(
    {
        "compare",
        "data",
        "evaluation",
        "forecasting",
        "interop",
        "linen",
        "nnx",
        "pipeline",
        "training",
    }
)


def _load_core() -> None:
    """Imports every core module and binds its public names here (later lookups are plain)."""
    for module_name, names in _CORE.items():
        module = importlib.import_module(module_name)
        globals().update({name: getattr(module, name) for name in names})


def __getattr__(name: str) -> Any:
    # Lazy, so `import rnnax` stays light and optional dependencies stay optional.
    if name in _SUBPACKAGES:
        return importlib.import_module(f"rnnax.{name}")
    if name in __all__:
        _load_core()
        return globals()[name]
    raise AttributeError(f"module 'rnnax' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_SUBPACKAGES})
