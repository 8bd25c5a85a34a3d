"""PyTorch ``torch.nn.LSTM`` / ``torch.nn.GRU`` <-> rnnax stacks ``layers[layer][direction]``.

torch is an optional dependency: it is imported inside the functions, never when
``rnnax.interop`` is imported.

Mapping (PyTorch's documented equations):

* LSTM: torch's gate order ``i, f, g, o`` is ours. ``weight_ih [4H, I]`` acts on the left, so
  ``w_x = weight_ih.T``; torch adds two biases, ours is their sum ``b = bias_ih + bias_hh``.
* GRU: torch computes ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))`` (our
  ``reset_after=True`` form) with gates ``r, z, n`` and ``h' = (1 - z) n + z h``; we reorder to
  ``z, r, n`` and negate the ``z`` rows (see ``_common``). ``bias_ih``/``bias_hh`` map to
  ``b_x``/``b_h`` one to one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

from rnnax._checks import check_bool
from rnnax._layers import check_layers
from rnnax._params import GRUParams, LSTMParams
from rnnax.interop._common import Params, gru_from_rzn, gru_to_rzn, resolve_dtype

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


def from_torch(module: torch.nn.LSTM | torch.nn.GRU, *, dtype: Any = None) -> list[list[Params]]:
    """Converts a ``torch.nn.LSTM`` or ``torch.nn.GRU`` to rnnax parameters.

    The result runs with ``rnnax.lstm_stack`` / ``rnnax.gru_stack(..., reset_after=True)``:
    layer by layer, the backward direction with ``reverse=True``, the two directions' outputs
    concatenated forward first. That reproduces the module's output; torch's initial/final
    states ``h [L*D, B, H]`` map to ``carry[layer][direction] = h[layer * D + direction]``.

    ``batch_first`` does not change the weights (pass ``time_major=not module.batch_first`` to
    the stack); ``bias=False`` gives zero biases; ``dropout`` only acts in training and is not
    carried over (``lstm_stack`` takes its own ``dropout_rate``).

    Args:
        module: a ``torch.nn.LSTM`` (without ``proj_size``) or a ``torch.nn.GRU``.
        dtype: dtype of the returned arrays; by default the module's parameter dtype
            (float64 needs JAX's 64-bit mode).

    Returns:
        ``layers[layer][direction]`` of ``LSTMParams`` (``b = bias_ih + bias_hh``) or of
        ``GRUParams`` in the ``reset_after=True`` form.

    Raises:
        ImportError: PyTorch is not installed.
        TypeError: ``module`` is not an ``nn.LSTM`` or ``nn.GRU`` (e.g. ``nn.RNN``).
        ValueError: an LSTM with ``proj_size > 0`` (rnnax has no projection), or float64
            parameters while JAX's 64-bit mode is off.

    Examples:
        >>> import torch, rnnax, jax.numpy as jnp  # doctest: +SKIP
        >>> module = torch.nn.GRU(3, 8, num_layers=2, batch_first=True)  # doctest: +SKIP
        >>> layers = rnnax.interop.from_torch(module)  # doctest: +SKIP
        >>> finals, ys = rnnax.gru_stack(layers, jnp.ones((4, 10, 3)),
        ...                              reset_after=True)  # doctest: +SKIP
        >>> ys.shape  # doctest: +SKIP
        (4, 10, 8)
    """
    torch = _import_torch()
    if isinstance(module, torch.nn.LSTM):
        num_gates = 4
    elif isinstance(module, torch.nn.GRU):
        num_gates = 3
    else:
        raise TypeError(
            "from_torch converts torch.nn.LSTM and torch.nn.GRU modules, got "
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
            if num_gates == 4:
                # Summed in the source precision, then rounded once to the target dtype.
                params: Params = LSTMParams(
                    *(jnp.asarray(a, target) for a in (w_x, w_h, b_ih + b_hh))
                )
            else:
                params = gru_from_rzn(*(jnp.asarray(a, target) for a in (w_x, w_h, b_ih, b_hh)))
            directions.append(params)
        layers.append(directions)
    return layers


def to_torch(
    layers: Sequence[Sequence[Params]] | Params,
    *,
    batch_first: bool = False,
    reset_after: bool = True,
) -> torch.nn.LSTM | torch.nn.GRU:
    """Builds a ``torch.nn.LSTM`` / ``torch.nn.GRU`` holding rnnax parameters.

    The reverse of ``from_torch``: ``from_torch(to_torch(layers))`` equals ``layers`` exactly.
    An LSTM's single bias goes into ``bias_ih`` and ``bias_hh`` is zero. The module's dtype is
    the parameters' dtype; it is built on the CPU without touching torch's global RNG.

    A GRU must be the ``reset_after=True`` form: torch applies the reset gate after the
    recurrent product, so rnnax's default GRU form (``reset_after=False``) has no torch
    equivalent and is refused.

    Args:
        layers: ``layers[layer][direction]`` of ``LSTMParams`` or ``GRUParams`` (one or two
            directions per layer), or a single cell's parameters for a one-layer module.
        batch_first: the ``batch_first`` flag of the new module.
        reset_after: the form the GRU parameters are used in; must be ``True`` for a GRU.

    Returns:
        The module, with ``num_layers``, ``bidirectional`` and sizes read from ``layers``.

    Raises:
        ImportError: PyTorch is not installed.
        TypeError, ValueError: ``layers`` is not a valid stack (see ``rnnax.lstm_stack``).
        ValueError: GRU parameters with ``reset_after=False``.

    Examples:
        >>> import jax, rnnax  # doctest: +SKIP
        >>> layers = rnnax.lstm_stack_init(jax.random.key(0), 3, 8, bidirectional=True)  # doctest: +SKIP
        >>> module = rnnax.interop.to_torch(layers, batch_first=True)  # doctest: +SKIP
        >>> module  # doctest: +SKIP
        LSTM(3, 8, batch_first=True, bidirectional=True)
    """
    torch = _import_torch()
    reset_after = check_bool("reset_after", reset_after)
    batch_first = check_bool("batch_first", batch_first)
    if isinstance(layers, (LSTMParams, GRUParams)):
        layers = [[layers]]
    if (
        not isinstance(layers, Sequence)
        or not layers
        or not isinstance(layers[0], Sequence)
        or not layers[0]
    ):
        raise TypeError(
            "to_torch takes layers[layer][direction] of LSTMParams or GRUParams (or one cell's "
            f"parameters), got {type(layers).__name__}"
        )
    first = layers[0][0]
    if isinstance(first, LSTMParams):
        num_gates, module_type = 4, torch.nn.LSTM
    elif isinstance(first, GRUParams):
        num_gates, module_type = 3, torch.nn.GRU
        if not reset_after:
            raise ValueError(
                "torch.nn.GRU applies the reset gate after the recurrent product (rnnax's "
                "reset_after=True form); rnnax's default GRU form (reset_after=False) has no "
                "torch equivalent. Only GRU parameters used with reset_after=True convert."
            )
    else:
        raise TypeError(f"layers[0][0] must be LSTMParams or GRUParams, got {type(first).__name__}")
    num_directions, hidden = check_layers(layers, num_gates)
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
                else:
                    w_x, w_h, b_ih, b_hh = gru_to_rzn(params)
                getattr(module, "weight_ih" + suffix).copy_(tensor(np.asarray(w_x).T))
                getattr(module, "weight_hh" + suffix).copy_(tensor(np.asarray(w_h).T))
                getattr(module, "bias_ih" + suffix).copy_(tensor(b_ih))
                getattr(module, "bias_hh" + suffix).copy_(tensor(b_hh))
    return module
