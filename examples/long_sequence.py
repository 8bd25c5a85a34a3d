"""Train a GRU on ONE sequence of 100,000 steps with the ``"remat"`` strategy.

Full backpropagation through time over 100k steps: the plain scan would keep every step's
intermediates for the backward pass; ``strategy="remat"`` runs time in chunks of about
``sqrt(T)`` steps under ``jax.checkpoint`` and keeps one carry per chunk, recomputing each
chunk during the backward pass. The script prints XLA's buffer accounting for both strategies
and then trains a few optimizer steps with ``"remat"``.

Run: ``python examples/long_sequence.py [--steps-in-sequence 100000] [--updates 3]``.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import optax

import rnnax


def backward_temp_megabytes(params, xs, strategy: str) -> float:
    grad = jax.jit(jax.grad(lambda p, x: loss(p, x, strategy)))
    return grad.lower(params, xs).compile().memory_analysis().temp_size_in_bytes / 1e6


def loss(params, xs, strategy: str) -> jax.Array:
    """Predict the next input value from each hidden state's first unit."""
    _, ys = rnnax.gru(params, xs[:, :-1], strategy=strategy)
    return jnp.mean((ys[..., 0] - xs[:, 1:, 0]) ** 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps-in-sequence", type=int, default=100_000)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--updates", type=int, default=3)
    args = parser.parse_args()

    t = jnp.arange(args.steps_in_sequence + 1, dtype=jnp.float32)
    xs = jnp.sin(2 * jnp.pi * t / 250.0)[None, :, None]  # [1, T + 1, 1]
    params = rnnax.gru_init(jax.random.key(0), 1, args.hidden)
    for strategy in ("scan", "remat"):
        print(
            f"{strategy:>6}: backward pass temporary buffers "
            f"{backward_temp_megabytes(params, xs, strategy):8.1f} MB"
        )

    optimizer = optax.adam(3e-3)
    opt_state = optimizer.init(params)

    @jax.jit
    def update(params, opt_state):
        value, grads = jax.value_and_grad(loss)(params, xs, "remat")
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, value

    for step in range(args.updates):
        start = time.perf_counter()
        params, opt_state, value = update(params, opt_state)
        value = float(value)
        print(
            f"update {step + 1}: loss {value:.4f}  ({time.perf_counter() - start:.1f} s, "
            f"{'with compile' if step == 0 else 'compiled'})"
        )


if __name__ == "__main__":
    main()
