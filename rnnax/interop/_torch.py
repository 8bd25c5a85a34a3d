"""PyTorch ``torch.nn.LSTM`` / ``torch.nn.GRU`` / ``torch.nn.RNN`` <-> rnnax stacks
``layers[layer][direction]``.

torch is an optional dependency: it is imported inside the functions, never when
``rnnax.interop`` is imported.

Mapping (PyTorch's documented equations):

* LSTM: torch's gate order ``i, f, g, o`` is ours. ``weight_ih [4H, I]`` acts on the left, so
  ``w_x = weight_ih.T``; torch adds two biases, ours is their sum ``b = bias_ih + bias_hh``.
* GRU: torch computes ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))`` (our reset-after form,
  ``GRUResetAfterParams``) with gates ``r, z, n`` and ``h' = (1 - z) n + z h``; we reorder to
  ``z, r, n`` and negate the ``z`` rows (see ``_common``). ``bias_ih``/``bias_hh`` map to
  ``b_x``/``b_h`` one to one.
* RNN (Elman): ``h' = act(W_ih x + b_ih + W_hh h + b_hh)`` is ours with ``w_x = weight_ih.T``,
  ``w_h = weight_hh.T``, ``b_x = bias_ih``, ``b_h = bias_hh``; ``nonlinearity="tanh"`` gives
  ``ElmanParams``, ``"relu"`` ``ElmanReluParams``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

from rnnax._cell_elman import ELMAN, ELMAN_RELU, ElmanParams, ElmanReluParams
from rnnax._cell_gru import GRU_RESET_AFTER
from rnnax._cell_lstm import LSTM
from rnnax._checks import check_bool
from rnnax._layers import check_layers
from rnnax._params import LSTMParams
from rnnax.interop._common import (
    RECURRENT_CELLS,
    Params,
    accepted_types,
    check_stack_form,
    export_form,
    find_cell,
    gru_from_rzn,
    gru_to_rzn,
    resolve_dtype,
)

if TYPE_CHECKING:  # only for annotations: importing torch is the caller's choice
    import torch

_INSTALL_HINT = "pip install rnnax[torch]"


def _import_torch() -> Any:
    try:
        import torch
    except ImportError as error:
        raise ImportError(
            f"rnnax.interop's PyTorch converters need PyTorch, which is not installed "
            f"(or failed to import). Install it with `{_INSTALL_HINT}` or see pytorch.org."
        ) from error
    return torch


def _jax_dtype_of(torch_module: Any, tensor: Any) -> jnp.dtype:
    names = {
        torch_module.float16: jnp.float16,
        torch_module.bfloat16: jnp.bfloat16,
        torch_module.float32: jnp.float32,
        torch_module.float64: jnp.float64,
    }
    if tensor.dtype not in names:
        raise TypeError(f"unsupported torch parameter dtype {tensor.dtype}")
    return jnp.dtype(names[tensor.dtype])


def _to_numpy(tensor: Any) -> np.ndarray:
    # NumPy has no bfloat16; float32 holds every bfloat16 value exactly.
    tensor = tensor.detach().cpu()
    if str(tensor.dtype) == "torch.bfloat16":
        tensor = tensor.float()
    return tensor.numpy()


def from_torch(
    module: torch.nn.LSTM | torch.nn.GRU | torch.nn.RNN, *, dtype: Any = None
) -> list[list[Params]]:
    """Converts a ``torch.nn.LSTM``, ``torch.nn.GRU`` or ``torch.nn.RNN`` to rnnax parameters.

    The result runs with ``rnnax.rnn_stack`` (or ``rnnax.lstm_stack`` / ``rnnax.gru_stack``),
    no other argument needed: layer by layer, the backward direction with ``reverse=True``,
    the two directions' outputs concatenated forward first. That reproduces the module's
    output; torch's initial/final states ``h [L*D, B, H]`` map to
    ``carry[layer][direction] = h[layer * D + direction]``. The parameters' type says the
    cell: ``GRUResetAfterParams`` for a GRU (torch's GRU is the reset-after form, and
    ``rnnax.gru`` runs these in it without ``reset_after``), ``ElmanParams`` or
    ``ElmanReluParams`` for an RNN by its ``nonlinearity``.

    ``batch_first`` does not change the weights (pass ``time_major=not module.batch_first`` to
    the stack); ``bias=False`` gives zero biases; ``dropout`` only acts in training and is not
    carried over (the stacks take their own ``dropout_rate``).

    Args:
        module: a ``torch.nn.LSTM`` (without ``proj_size``), ``torch.nn.GRU`` or
            ``torch.nn.RNN`` (``nonlinearity`` ``"tanh"`` or ``"relu"``).
        dtype: dtype of the returned arrays; by default the module's parameter dtype
            (float64 needs JAX's 64-bit mode).

    Returns:
        ``layers[layer][direction]`` of ``LSTMParams`` (``b = bias_ih + bias_hh``),
        ``GRUResetAfterParams``, or ``ElmanParams`` / ``ElmanReluParams``.

    Raises:
        ImportError: PyTorch is not installed.
        TypeError: ``module`` is not an ``nn.LSTM``, ``nn.GRU`` or ``nn.RNN``.
        ValueError: an LSTM with ``proj_size > 0`` (rnnax has no projection), or float64
            parameters while JAX's 64-bit mode is off.

    Examples:
        >>> import torch, rnnax, jax.numpy as jnp  # doctest: +SKIP
        >>> module = torch.nn.GRU(3, 8, num_layers=2, batch_first=True)  # doctest: +SKIP
        >>> layers = rnnax.interop.from_torch(module)  # doctest: +SKIP
        >>> type(layers[0][0]).__name__  # doctest: +SKIP
        'GRUResetAfterParams'
        >>> finals, ys = rnnax.gru_stack(layers, jnp.ones((4, 10, 3)))  # doctest: +SKIP
        >>> ys.shape  # doctest: +SKIP
        (4, 10, 8)
        >>> elman = torch.nn.RNN(3, 8, nonlinearity="relu")  # doctest: +SKIP
        >>> type(rnnax.interop.from_torch(elman)[0][0]).__name__  # doctest: +SKIP
        'ElmanReluParams'
    """
    torch = _import_torch()
    elman_type: type[ElmanParams] = ElmanParams
    if isinstance(module, torch.nn.LSTM):
        num_gates = 4
    elif isinstance(module, torch.nn.GRU):
        num_gates = 3
    elif isinstance(module, torch.nn.RNN):
        num_gates = 1
        if module.nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"torch.nn.RNN with nonlinearity={module.nonlinearity!r}: rnnax's Elman cells "
                "are 'tanh' and 'relu'"
            )
        elman_type = ElmanReluParams if module.nonlinearity == "relu" else ElmanParams
    else:
        raise TypeError(
            "from_torch converts torch.nn.LSTM, torch.nn.GRU and torch.nn.RNN modules, got "
            f"{type(module).__module__}.{type(module).__qualname__}"
        )
    if getattr(module, "proj_size", 0) > 0:
        raise ValueError(
            f"torch.nn.LSTM with proj_size={module.proj_size} projects h to a smaller size; "
            "rnnax's LSTM has no projection, so this module cannot be converted"
        )
    source = f"torch.nn.{type(module).__name__}"
    target = resolve_dtype(
        _jax_dtype_of(torch, module.weight_ih_l0) if dtype is None else dtype, source
    )
    num_directions = 2 if module.bidirectional else 1
    hidden = module.hidden_size

    def parameter(name: str) -> np.ndarray:
        return _to_numpy(getattr(module, name))

    layers: list[list[Params]] = []
    for layer in range(module.num_layers):
        directions: list[Params] = []
        for direction in range(num_directions):
            suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
            w_x = parameter("weight_ih" + suffix).T  # torch's [G*H, I] acts on the left
            w_h = parameter("weight_hh" + suffix).T
            zeros = np.zeros(num_gates * hidden, w_x.dtype)
            b_ih = parameter("bias_ih" + suffix) if module.bias else zeros
            b_hh = parameter("bias_hh" + suffix) if module.bias else zeros
            params: Params
            if num_gates == 4:
                # Summed in the source precision, then rounded once to the target dtype.
                params = LSTMParams(*(jnp.asarray(a, target) for a in (w_x, w_h, b_ih + b_hh)))
            elif num_gates == 3:
                params = gru_from_rzn(*(jnp.asarray(a, target) for a in (w_x, w_h, b_ih, b_hh)))
            else:
                params = elman_type(*(jnp.asarray(a, target) for a in (w_x, w_h, b_ih, b_hh)))
            directions.append(params)
        layers.append(directions)
    return layers


def to_torch(
    layers: Sequence[Sequence[Params]] | Params,
    *,
    batch_first: bool = False,
    reset_after: bool | None = None,
) -> torch.nn.LSTM | torch.nn.GRU | torch.nn.RNN:
    """Builds a ``torch.nn.LSTM`` / ``torch.nn.GRU`` / ``torch.nn.RNN`` holding rnnax parameters.

    The reverse of ``from_torch``: ``from_torch(to_torch(layers))`` equals ``layers`` exactly
    (types included). The module is read from the parameters' type: ``LSTMParams`` give an
    ``nn.LSTM`` (the single bias goes into ``bias_ih``, ``bias_hh`` is zero), GRU parameters
    an ``nn.GRU``, ``ElmanParams`` / ``ElmanReluParams`` an ``nn.RNN`` with
    ``nonlinearity="tanh"`` / ``"relu"``. The module's dtype is the parameters' dtype; it is
    built on the CPU without touching torch's global RNG.

    torch's GRU applies the reset gate after the recurrent product, so GRU parameters must be
    in that form: ``GRUResetAfterParams`` (what the converters and
    ``rnnax.GRU_RESET_AFTER.init`` return), or plain ``GRUParams`` with ``reset_after=True``.
    Plain ``GRUParams`` alone are rnnax's default form, which has no torch equivalent, and are
    refused rather than silently exported as another function: with ``reset_after=None`` the
    form is read from each layer's type, so a plain layer in a stack of
    ``GRUResetAfterParams`` is refused too, while ``reset_after=True`` declares every layer
    reset-after (as ``rnnax.gru_stack(..., reset_after=True)`` runs them).

    Args:
        layers: ``layers[layer][direction]`` of one cell's parameters (one or two directions
            per layer), or a single cell's parameters for a one-layer module.
        batch_first: the ``batch_first`` flag of the new module.
        reset_after: ``None`` (the default) takes a GRU's form from its parameters' type;
            ``True`` declares plain ``GRUParams`` reset-after weights; ``False`` is an error.

    Returns:
        The module, with ``num_layers``, ``bidirectional`` and sizes read from ``layers``.

    Raises:
        ImportError: PyTorch is not installed.
        TypeError, ValueError: ``layers`` is not a valid stack (see ``rnnax.rnn_stack``), or
            holds parameters of a cell torch does not have.
        ValueError: plain ``GRUParams`` (in any layer) without ``reset_after=True``,
            ``reset_after=False`` for a GRU, or ``reset_after=True`` for another cell.

    Examples:
        >>> import jax, rnnax  # doctest: +SKIP
        >>> layers = rnnax.lstm_stack_init(jax.random.key(0), 3, 8, bidirectional=True)  # doctest: +SKIP
        >>> module = rnnax.interop.to_torch(layers, batch_first=True)  # doctest: +SKIP
        >>> module  # doctest: +SKIP
        LSTM(3, 8, batch_first=True, bidirectional=True)
        >>> from rnnax._cell_elman import elman_init  # doctest: +SKIP
        >>> relu = elman_init(jax.random.key(0), 3, 8, nonlinearity="relu")  # doctest: +SKIP
        >>> rnnax.interop.to_torch(relu).nonlinearity  # doctest: +SKIP
        'relu'
    """
    torch = _import_torch()
    if reset_after is not None:
        reset_after = check_bool("reset_after", reset_after)
    batch_first = check_bool("batch_first", batch_first)
    if hasattr(layers, "_fields"):  # one cell's parameters (a NamedTuple)
        layers = [[layers]]  # type: ignore[list-item]
    if (
        not isinstance(layers, Sequence)
        or not layers
        or not isinstance(layers[0], Sequence)
        or not layers[0]
    ):
        raise TypeError(
            f"to_torch takes layers[layer][direction] of {accepted_types(RECURRENT_CELLS)} (or "
            f"one cell's parameters), got {type(layers).__name__}"
        )
    first = layers[0][0]
    cell = find_cell(first, RECURRENT_CELLS, "layers[0][0] must be", "torch")
    # The form first: reset_after=True makes a stack of plain GRUParams (any of its layers
    # possibly typed GRUResetAfterParams) a reset-after one, checked as such.
    cell = export_form(cell, reset_after, "torch.nn.GRU", "torch")
    num_directions, hidden = check_layers(layers, cell)
    check_stack_form(layers, cell, reset_after)
    options: dict[str, Any] = {}
    if cell is LSTM:
        num_gates, module_type = 4, torch.nn.LSTM
    elif cell is GRU_RESET_AFTER:
        num_gates, module_type = 3, torch.nn.GRU
    else:
        num_gates, module_type = 1, torch.nn.RNN
        options["nonlinearity"] = "relu" if cell is ELMAN_RELU else "tanh"
        assert cell in (ELMAN, ELMAN_RELU)
    dtype = jnp.dtype(first.w_h.dtype)
    torch_dtype = {
        "float16": torch.float16,
        "bfloat16": torch.bfloat16,
        "float32": torch.float32,
        "float64": torch.float64,
    }.get(dtype.name)
    if torch_dtype is None:
        raise TypeError(f"no torch dtype for parameters of dtype {dtype.name}")

    # Built on the meta device so no random initialisation runs (and torch's RNG is untouched);
    # every parameter is overwritten below.
    module = module_type(
        first.w_x.shape[0],
        hidden,
        num_layers=len(layers),
        bias=True,
        batch_first=batch_first,
        bidirectional=num_directions == 2,
        device="meta",
        dtype=torch_dtype,
        **options,
    ).to_empty(device="cpu")

    def tensor(array: Any) -> Any:
        # NumPy has no bfloat16: go through float32, which holds it exactly.
        values = np.asarray(array)
        if values.dtype.name == "bfloat16":
            values = values.astype(np.float32)
        # A writable copy: JAX's buffers are read-only, which torch.from_numpy warns about.
        return torch.from_numpy(np.array(values, copy=True)).to(torch_dtype)

    with torch.no_grad():
        for layer, directions in enumerate(layers):
            for direction, params in enumerate(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                b_hh: jax.Array | np.ndarray
                if num_gates == 4:
                    w_x, w_h = params.w_x, params.w_h
                    b_ih, b_hh = params.b, np.zeros_like(np.asarray(params.b))
                elif num_gates == 3:
                    w_x, w_h, b_ih, b_hh = gru_to_rzn(params)
                else:
                    w_x, w_h, b_ih, b_hh = params
                getattr(module, "weight_ih" + suffix).copy_(tensor(np.asarray(w_x).T))
                getattr(module, "weight_hh" + suffix).copy_(tensor(np.asarray(w_h).T))
                getattr(module, "bias_ih" + suffix).copy_(tensor(b_ih))
                getattr(module, "bias_hh" + suffix).copy_(tensor(b_hh))
    return module
