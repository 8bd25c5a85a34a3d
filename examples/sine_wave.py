"""Train an LSTM and a GRU with optax to predict the next value of a noisy sine wave.

Only the pure-function core is used: ``rnnax.lstm_stack_init`` / ``rnnax.gru_stack_init``
for parameters, ``rnnax.lstm_stack`` / ``rnnax.gru_stack`` for the forward pass, and a dense
head on the last hidden state. Run with ``python examples/sine_wave.py`` (about 20 s on 2 CPU
cores); ``--steps`` and ``--hidden`` change the size.
"""

from __future__ import annotations

import argparse
import time
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

import rnnax


class Model(NamedTuple):
    layers: Any
    w_out: jax.Array
    b_out: jax.Array


def noisy_sine_windows(seed: int, num_points: int = 2000, lookback: int = 32):
    """Windows of a noisy sine wave: inputs ``[W, lookback, 1]``, next-value targets ``[W, 1]``."""
    rng = np.random.default_rng(seed)
    t = np.arange(num_points, dtype=np.float32)
    series = np.sin(2 * np.pi * t / 50) + 0.1 * rng.normal(size=num_points).astype(np.float32)
    starts = np.arange(num_points - lookback)
    inputs = np.stack([series[s : s + lookback] for s in starts])[..., None]
    targets = series[starts + lookback][:, None]
    return jnp.asarray(inputs), jnp.asarray(targets)


def init_model(cell: str, key: jax.Array, hidden: int) -> Model:
    init = rnnax.lstm_stack_init if cell == "lstm" else rnnax.gru_stack_init
    k_rnn, k_out = jax.random.split(key)
    return Model(
        layers=init(k_rnn, 1, hidden),
        w_out=jax.random.normal(k_out, (hidden, 1)) * hidden**-0.5,
        b_out=jnp.zeros((1,)),
    )


def predict(cell: str, model: Model, inputs: jax.Array) -> jax.Array:
    stack = rnnax.lstm_stack if cell == "lstm" else rnnax.gru_stack
    _, ys = stack(model.layers, inputs)
    return ys[:, -1] @ model.w_out + model.b_out[None]


def train(cell: str, steps: int, hidden: int, seed: int = 0) -> list[float]:
    inputs, targets = noisy_sine_windows(seed)
    model = init_model(cell, jax.random.key(seed), hidden)
    optimizer = optax.adam(1e-2)
    opt_state = optimizer.init(model)

    @jax.jit
    def step(model, opt_state, key):
        batch = jax.random.choice(key, inputs.shape[0], (64,), replace=False)

        def loss_fn(model):
            return jnp.mean((predict(cell, model, inputs[batch]) - targets[batch]) ** 2)

        loss, grads = jax.value_and_grad(loss_fn)(model)
        updates, opt_state = optimizer.update(grads, opt_state, model)
        return optax.apply_updates(model, updates), opt_state, loss

    losses = []
    key = jax.random.key(seed + 1)
    for _ in range(steps):
        key, batch_key = jax.random.split(key)
        model, opt_state, loss = step(model, opt_state, batch_key)
        losses.append(float(loss))
    return losses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--hidden", type=int, default=32)
    args = parser.parse_args()
    for cell in ("lstm", "gru"):
        start = time.perf_counter()
        losses = train(cell, args.steps, args.hidden)
        print(
            f"{cell.upper()} (hidden {args.hidden}, "
            f"{rnnax.stack_param_count(cell, 1, args.hidden)} recurrent parameters)"
        )
        for step in sorted({0, *range(49, args.steps, 50), args.steps - 1}):
            print(f"  step {step + 1:4d}  mse {losses[step]:.4f}")
        print(f"  {time.perf_counter() - start:.1f} s; noise floor (variance of the noise) 0.0100")


if __name__ == "__main__":
    main()
