"""Your own cell, with everything rnnax gives the LSTM and the GRU.

JANET (van der Westhuizen & Lasenby 2018, "The unreasonable effectiveness of the forget gate")
keeps only the LSTM's forget gate::

    f  = sigmoid(x W_f + h U_f + b_f)
    c~ = tanh(x W_c + h U_c + b_c)
    h' = f * h + (1 - f) * c~

Described once as an ``rnnax.Cell`` (about 30 lines below), it runs in every strategy
(including the generic hand-written backward pass, since it is an "input GEMM + recurrent GEMM
+ pointwise" cell), with lengths and reverse, in bidirectional stacks, as a stream, in an NNX
module and as the encoder of a forecaster.

Run: ``python examples/custom_cell.py`` (about 20 s on 2 CPU cores).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

import rnnax


# ---------------------------------------------------------------- the cell, in about 30 lines
class JanetParams(NamedTuple):
    w_x: jax.Array  # [I, 2H]: the forget gate's and the candidate's input weights
    w_h: jax.Array  # [H, 2H]
    b: jax.Array  # [2H]


def janet_init(key, input_size, hidden_size, *, dtype=jnp.float32):
    k_x, k_h = jax.random.split(key)
    return JanetParams(
        w_x=jax.nn.initializers.glorot_uniform()(k_x, (input_size, 2 * hidden_size), dtype),
        w_h=jax.nn.initializers.orthogonal()(k_h, (hidden_size, 2 * hidden_size), dtype),
        b=jnp.zeros((2 * hidden_size,), dtype).at[:hidden_size].set(1.0),  # remember at first
    )


def janet_pointwise(params, h, a_x, a_h):
    f, c = jnp.split(a_x + a_h, 2, axis=-1)
    h = jax.nn.sigmoid(f) * h + (1 - jax.nn.sigmoid(f)) * jnp.tanh(c)
    return h, h


JANET_SPLIT = rnnax.GemmSplit(
    weights=lambda p: (p.w_x, p.b, p.w_h, None),
    pointwise=janet_pointwise,
    recurrent_input=lambda h: h,
    additive=True,
)
JANET = rnnax.register_cell(
    rnnax.Cell(
        name="janet",
        init=janet_init,
        step=rnnax.split_step(JANET_SPLIT),
        layout={"w_x": ("I", "2H"), "w_h": ("H", "2H"), "b": ("2H",)},
        params_type=JanetParams,
        split=JANET_SPLIT,
        description="JANET: an LSTM with only its forget gate",
    )
)


# -------------------------------------------------------------------------- what it gets
def main() -> None:
    key = jax.random.key(0)
    params = JANET.init(key, 3, 16)
    xs = jax.random.normal(key, (8, 50, 3))
    lengths = jnp.array([50, 40, 30, 20, 10, 5, 1, 0])

    # Every strategy the cell has computes the same function, with lengths and reverse.
    print("strategies:", rnnax.available_strategies(JANET))
    _, ys = rnnax.rnn(params, xs, seq_lengths=lengths, reverse=True, strategy="scan")
    for strategy in ("custom_vjp", "remat", "auto"):
        _, other = rnnax.rnn(params, xs, seq_lengths=lengths, reverse=True, strategy=strategy)
        print(
            f"  {strategy:>10}: max |difference| from the scan {float(abs(other - ys).max()):.1e}"
        )

    # Gradients through the generic hand-written backward pass.
    def loss(params, strategy):
        return jnp.mean(rnnax.rnn(params, xs, seq_lengths=lengths, strategy=strategy)[1] ** 2)

    grads = jax.grad(loss)(params, "custom_vjp")
    print("gradient w_h norm:", float(jnp.linalg.norm(grads.w_h)))

    # Stacks: two bidirectional layers with dropout between them.
    layers = rnnax.rnn_stack_init(JANET, key, 3, 16, num_layers=2, bidirectional=True)
    _, ys = rnnax.rnn_stack(layers, xs, dropout_rate=0.1, dropout_key=key)
    print("bidirectional stack output:", ys.shape)

    # Streaming, chunk by chunk, equals one pass.
    state = rnnax.stream_init(params, (8,))
    state, first = rnnax.stream_apply(params, state, xs[:, :20])
    state, rest = rnnax.stream_apply(params, state, xs[:, 20:])
    _, whole = rnnax.rnn(params, xs)
    streamed = jnp.concatenate([first, rest], axis=1)
    print("stream == one pass:", bool(jnp.allclose(streamed, whole, atol=1e-5)))

    # An NNX module.
    from flax import nnx

    module = rnnax.nnx.RNN(3, 16, cell=JANET, rngs=nnx.Rngs(0))
    _, ys = module(xs)
    print("NNX module output:", ys.shape)

    # A forecaster with a JANET encoder, trained a little on a sine wave.
    from rnnax import data, forecasting, training

    series = jnp.sin(jnp.arange(400.0) / 8)[:, None]
    windows = data.sliding_windows(series, lookback=24, horizon=6)
    model = forecasting.forecaster(forecasting.ForecasterConfig(horizon=6, cell="janet", hidden=16))
    result = training.fit(model, model.init(key), windows, windows, epochs=5, progress=False)
    print("forecaster validation loss:", f"{result.history.val_loss[-1]:.4f}")


if __name__ == "__main__":
    main()
