"""Long sequences three ways: streaming inference, a million steps, truncated BPTT.

1. Streaming: feed a series to a GRU chunk by chunk (as it arrives), keeping the state; the
   outputs equal one pass over the whole series.
2. A million steps in bounded memory: ``rnnax.stream_scan`` over inputs generated from the step
   index, keeping every 100,000th output; XLA's buffer accounting beside one pass's.
3. Truncated BPTT: learn next-step prediction of a 20,000-step series, updating every 50
   steps.

Run: ``python examples/streaming.py [--steps 1000000] [--epochs 3]`` (about 15 s on 2 cores).
"""

from __future__ import annotations

import argparse
import functools
import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

import rnnax
from rnnax.training import tbptt_fit


def streaming_equals_one_pass() -> None:
    params = rnnax.gru_init(jax.random.key(0), 1, 16)
    series = jnp.sin(jnp.arange(1000.0) / 20)[None, :, None]  # [B=1, T, I=1]
    state = rnnax.stream_init(params, batch_shape=(1,))
    outputs = []
    for start in range(0, 1000, 64):  # chunks of 64 steps; the last one has 40
        state, ys = rnnax.stream_apply(params, state, series[:, start : start + 64])
        outputs.append(ys)
    h, ys = rnnax.gru(params, series)
    difference = float(jnp.max(jnp.abs(jnp.concatenate(outputs, axis=1) - ys)))
    print(
        f"1. streamed {int(state.steps[0])} steps in 16 chunks; largest difference from one "
        f"pass: {difference:g} (outputs), {float(jnp.max(jnp.abs(state.carry - h))):g} (state)"
    )


def waves(t: jax.Array) -> jax.Array:
    """The input at step indices ``t [..., k]``: ``[..., k, 1]``."""
    return jnp.sin(t.astype(jnp.float32) / 100.0)[..., None]


def million_steps(num_steps: int) -> None:
    params = rnnax.lstm_init(jax.random.key(0), 1, 64)
    state = rnnax.stream_init(params, batch_shape=(8,))
    run = jax.jit(
        functools.partial(
            rnnax.stream_scan, xs=waves, num_steps=num_steps, chunk_length=1000, keep_every=100_000
        )
    )
    compiled = run.lower(params, state).compile()
    start = time.perf_counter()
    final, kept = jax.block_until_ready(compiled(params, state))
    seconds = time.perf_counter() - start
    one_pass = (
        jax.jit(rnnax.lstm)
        .lower(params, jax.ShapeDtypeStruct((8, num_steps, 1), jnp.float32))
        .compile()
    )
    temp = compiled.memory_analysis().temp_size_in_bytes
    needed = (
        one_pass.memory_analysis().temp_size_in_bytes
        + one_pass.memory_analysis().output_size_in_bytes
    )
    print(
        f"2. {int(final.steps[0]):,} steps, B=8, H=64 in {seconds:.1f} s; kept outputs "
        f"{tuple(kept.shape)}; temporary buffers {temp / 1e6:.2f} MB (one pass would need "
        f"{needed / 1e6:,.0f} MB)"
    )


class Model(NamedTuple):
    rnn: rnnax.GRUParams
    w: jax.Array  # readout [H, 1]


def next_step_loss(params: Model, h: jax.Array, chunk: tuple[jax.Array, jax.Array]):
    xs, targets = chunk
    h, ys = rnnax.gru(params.rnn, xs, h)
    return jnp.mean((ys @ params.w - targets) ** 2), h


def truncated_bptt(epochs: int) -> list[float]:
    t = jnp.arange(20_001.0)
    series = (0.6 * jnp.sin(2 * jnp.pi * t / 40) + 0.3 * jnp.sin(2 * jnp.pi * t / 97))[:, None]
    data = (series[:-1], series[1:])  # predict x[t + 1] from x[..t]
    params = Model(rnnax.gru_init(jax.random.key(0), 1, 16), jnp.zeros((16, 1)))
    updates = epochs * 400  # 20,000 steps in chunks of 50
    start = time.perf_counter()
    result = tbptt_fit(
        next_step_loss,
        params,
        jnp.zeros(16),
        data,
        chunk_length=50,
        epochs=epochs,
        learning_rate=optax.cosine_decay_schedule(1e-2, updates),
    )
    means = [float(row.mean()) for row in result.losses]
    persistence = float(jnp.mean((series[1:] - series[:-1]) ** 2))
    print(
        f"3. TBPTT, {updates} updates of 50 steps: mean loss per epoch "
        f"{', '.join(f'{m:.1e}' for m in means)} (predicting no change: {persistence:.1e}; "
        f"{time.perf_counter() - start:.1f} s)"
    )
    return means


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    streaming_equals_one_pass()
    million_steps(args.steps)
    truncated_bptt(args.epochs)


if __name__ == "__main__":
    main()
