r"""The LSTM through cuDNN (``jax.experimental.rnn``): weight conversion and the ``"cudnn"``
strategy.

``jax.experimental.rnn.lstm`` calls cuDNN's fused LSTM (GPU only, float32 only, LSTM only). Its
weights are one flat vector in cuDNN's layout, PyTorch's convention (matrices act on the left,
gate order ``i, f, g, o``, two biases): for every pseudo-layer ``l`` (layer by layer, the
forward direction then the reverse one) the matrices ``W_ih^l [4H, I]`` and ``W_hh^l [4H, H]``,
then for every pseudo-layer the biases ``b_ih^l [4H]`` and ``b_hh^l [4H]``:

.. math::

    a = W_{ih} x + b_{ih} + W_{hh} h + b_{hh}
      = x W_x + h W_h + b \quad\text{with}\quad
    W_{ih} = W_x^\top,\; W_{hh} = W_h^\top,\; b_{ih} = b,\; b_{hh} = 0

Our gate order is already ``i, f, g, o``, so converting is transposing and packing; the second
bias is redundant and converting back folds it into ``b = b_{ih} + b_{hh}``.

cuDNN has no single-direction reverse LSTM, so ``reverse=True`` reverses each sequence within
its length (padding stays at the end), runs forward, and reverses the outputs back. It may not
accept sequences of length 0, so those run one (zeroed) step whose outputs are discarded: the
final carry is the initial one and ``ys`` is 0, as in ``rnnax.scan_cell``.

``implementation="reference"`` runs the same conversion and sequence handling through
``jax.experimental.rnn.lstm_ref``, its pure-JAX transcription of cuDNN's LSTM, which runs on
any backend: that is how the conversion is tested without a GPU.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from jax.experimental import rnn as jax_rnn
from jaxtyping import Array, Float, Int

from rnnax._masking import steps_mask, zero_padded
from rnnax._params import LSTMParams
from rnnax._protocol import get_cell

IMPLEMENTATIONS = ("cudnn", "reference")


def _layer_shapes(layers: Sequence[Sequence[LSTMParams]]) -> tuple[int, int, bool]:
    """``(input_size, hidden_size, bidirectional)`` of a ``[layer][direction]`` stack, checked
    against what cuDNN can hold (one hidden size; layer ``l > 0`` reads ``D H`` features)."""
    if not layers or not all(layers):
        raise ValueError("layers must be a non-empty [layer][direction] list of LSTMParams")
    directions = len(layers[0])
    if directions not in (1, 2) or any(len(layer) != directions for layer in layers):
        raise ValueError("every layer must have the same 1 or 2 directions (cuDNN's layout)")
    input_size, hidden = layers[0][0].w_x.shape[0], layers[0][0].w_h.shape[0]
    for index, layer in enumerate(layers):
        expected_in = input_size if index == 0 else directions * hidden
        for params in layer:
            if get_cell("lstm").params_type is not type(params):
                raise TypeError(f"cuDNN weights hold LSTMParams, got {type(params).__name__}")
            if params.w_h.shape != (hidden, 4 * hidden) or params.w_x.shape != (
                expected_in,
                4 * hidden,
            ):
                raise ValueError(
                    f"layer {index}: cuDNN needs w_x [{expected_in}, {4 * hidden}] and w_h "
                    f"[{hidden}, {4 * hidden}], got {tuple(params.w_x.shape)} and "
                    f"{tuple(params.w_h.shape)}"
                )
    return input_size, hidden, directions == 2


def pack_lstm_weights(layers: Sequence[Sequence[LSTMParams]]) -> Float[Array, " P"]:
    """Packs a ``[layer][direction]`` stack of ``LSTMParams`` into cuDNN's flat weight vector.

    The layout of ``jax.experimental.rnn`` (see the module docstring): every pseudo-layer's
    ``W_ih = w_x.T`` and ``W_hh = w_h.T``, then every pseudo-layer's ``b_ih = b`` and
    ``b_hh = 0``. ``jax.experimental.rnn.unpack_lstm_weights`` inverts it.

    Args:
        layers: ``layers[l][d]``, as ``rnnax.lstm_stack_init`` returns (``d = 1`` is the
            reverse direction).

    Returns:
        The ``[get_num_params_in_lstm(I, H, L, bidirectional)]`` vector, in the dtype of the
        parameters.
    """
    _layer_shapes(layers)
    pseudo_layers = [params for layer in layers for params in layer]
    matrices = [m for p in pseudo_layers for m in (p.w_x.T.reshape(-1), p.w_h.T.reshape(-1))]
    biases = [b for p in pseudo_layers for b in (p.b, jnp.zeros_like(p.b))]
    return jnp.concatenate(matrices + biases)


def to_cudnn_weights(params: LSTMParams) -> Float[Array, " P"]:
    """One LSTM cell's parameters as cuDNN's flat weight vector (one layer, one direction)."""
    return pack_lstm_weights([[params]])


def unpack_to_params(
    weights: Float[Array, " P"],
    input_size: int,
    hidden_size: int,
    num_layers: int = 1,
    bidirectional: bool = False,
) -> list[list[LSTMParams]]:
    """cuDNN's flat weight vector back to ``[layer][direction]`` ``LSTMParams``.

    The two biases fold into one: ``b = b_ih + b_hh`` (the same function).
    """
    w_ih, w_hh, b_ih, b_hh = jax_rnn.unpack_lstm_weights(
        weights, input_size, hidden_size, num_layers, bidirectional
    )
    directions = 2 if bidirectional else 1
    return [
        [
            LSTMParams(w_ih[k].T, w_hh[k].T, b_ih[k] + b_hh[k])
            for k in range(layer * directions, (layer + 1) * directions)
        ]
        for layer in range(num_layers)
    ]


def _flip_within_lengths(
    xs: Float[Array, "T B X"], lengths: Int[Array, " B"] | None
) -> Float[Array, "T B X"]:
    """Reverses each sequence's first ``length`` steps and leaves its padding where it is.

    Step ``t < length`` moves to ``length - 1 - t``; an involution, so it also undoes itself.
    """
    if lengths is None:
        return xs[::-1]
    steps = jnp.arange(xs.shape[0], dtype=lengths.dtype)[:, None]
    source = jnp.where(steps < lengths[None, :], lengths[None, :] - 1 - steps, steps)
    return jnp.take_along_axis(xs, source[..., None], axis=0)


def check_cudnn_dtype(dtype: jnp.dtype) -> None:
    """Raises ``TypeError`` unless ``dtype`` is float32, the only one cuDNN's LSTM takes here."""
    if jnp.dtype(dtype) != jnp.float32:
        raise TypeError(
            "strategy='cudnn' runs float32 only (jax.experimental.rnn's cuDNN LSTM), got "
            f"{jnp.dtype(dtype).name}; use strategy='pallas' or 'scan' for other dtypes"
        )


def lstm_cudnn(
    params: LSTMParams,
    xs: Float[Array, "T B I"],
    h0: Float[Array, "B H"],
    c0: Float[Array, "B H"],
    lengths: Int[Array, " B"] | None = None,
    reverse: bool = False,
    *,
    implementation: str = "cudnn",
) -> tuple[Float[Array, "B H"], Float[Array, "B H"], Float[Array, "T B H"]]:
    """The LSTM over time-major ``xs [T, B, I]`` through ``jax.experimental.rnn``.

    Computes ``rnnax.lstm(params, xs, LSTMState(h0, c0), seq_lengths=lengths,
    reverse=reverse, time_major=True)`` (one batch axis): the same function, so values and
    gradients (cuDNN's own backward pass) agree with the scan up to float32 rounding, and with
    TF32 on the GPU wherever JAX's default matmul precision allows it for the scan too.

    Args:
        params: float32 ``LSTMParams``.
        xs: inputs ``[T, B, I]``.
        h0, c0: the initial carry, ``[B, H]`` each.
        lengths: optional ``[B]`` integer lengths (right padding).
        reverse: run each sequence from its last valid step back to its first.
        implementation: ``"cudnn"`` (``jax.experimental.rnn.lstm``; CUDA or ROCm GPU) or
            ``"reference"`` (``jax.experimental.rnn.lstm_ref``, any backend, for tests).

    Returns:
        ``(h, c, ys)``.

    Raises:
        ValueError: an unknown ``implementation``, or ``"cudnn"`` off-GPU.
        TypeError: ``"cudnn"`` with parameters other than float32.
    """
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(f"implementation must be one of {IMPLEMENTATIONS}, got {implementation!r}")
    dtype = params.w_h.dtype
    if implementation == "cudnn":
        check_cudnn_dtype(dtype)
        if jax.default_backend() != "gpu":
            raise ValueError(
                "the cuDNN LSTM (jax.experimental.rnn) runs on a GPU only; the default backend "
                f"is {jax.default_backend()!r}"
            )
    num_steps, batch, input_size = xs.shape
    hidden = h0.shape[-1]
    if num_steps == 0:
        return h0, c0, jnp.zeros((0, batch, hidden), dtype)
    if lengths is not None:
        lengths = lengths.astype(jnp.int32)
        valid = steps_mask(num_steps, lengths)
        # Zero the padded inputs so not even a NaN there reaches cuDNN or a gradient.
        xs = zero_padded(valid, xs)
    if reverse:
        xs = _flip_within_lengths(xs, lengths)
    # cuDNN reads at least one step of each sequence; a length-0 sequence's outputs are
    # replaced below, so its one (zeroed) step changes nothing.
    run_lengths = (
        jnp.full((batch,), num_steps, jnp.int32) if lengths is None else jnp.maximum(lengths, 1)
    )
    weights = to_cudnn_weights(params)
    x_bm = jnp.swapaxes(xs, 0, 1)
    if implementation == "cudnn":
        ys, h_n, c_n = jax_rnn.lstm(
            x_bm,
            h0[None],
            c0[None],
            weights,
            run_lengths,
            input_size=input_size,
            hidden_size=hidden,
            num_layers=1,
            dropout=0.0,
            bidirectional=False,
        )
    else:
        # lstm_ref is written in standard promotion; our own code above stays strict.
        with jax.numpy_dtype_promotion("standard"):
            ys, h_n, c_n = jax_rnn.lstm_ref(
                x_bm,
                h0[None],
                c0[None],
                *jax_rnn.unpack_lstm_weights(weights, input_size, hidden, 1, False),
                run_lengths,
                input_size,
                hidden,
                1,
                0.0,
                False,
            )
    ys = jnp.swapaxes(ys, 0, 1)
    h, c = h_n[0], c_n[0]
    if lengths is not None:
        ys = zero_padded(valid, ys)
        empty = (lengths == 0)[:, None]
        h, c = jnp.where(empty, h0, h), jnp.where(empty, c0, c)
    if reverse:
        ys = _flip_within_lengths(ys, lengths)
    return h, c, ys
