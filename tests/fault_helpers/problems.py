"""The states, reports and training run shared by tests/test_fault_injection.py and its child.

Everything here is deterministic, so the parent can rebuild exactly what the child wrote.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

import rnnax
from rnnax import training


def folder_sha256(folder: Path) -> str:
    """A SHA-256 over every file's path (relative to ``folder``) and bytes: a checkpoint folder
    byte for byte."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def checkpoint_state(version: int) -> training.TrainState:
    """A small ``TrainState``; ``version`` changes every number in it."""
    rng = np.random.default_rng(version)
    params = {
        "w": jnp.asarray(rng.normal(size=(64, 32)).astype(np.float32)),
        "b": jnp.asarray(rng.normal(size=(32,)).astype(np.float32)),
    }
    with jax.numpy_dtype_promotion("standard"):
        opt_state = optax.adam(1e-3).init(params)
    history = training.History().append(0.5 / version, 0.25 / version, 0.1, 10 * version)
    return training.TrainState(
        params=params,
        opt_state=opt_state,
        rng=jax.random.key(version),
        epoch=version,
        step=10 * version,
        history=history,
    )


def report(version: int) -> tuple[dict[str, Any], str]:
    """A compare-like ``report.json`` content and ``report.md`` text (large enough to tear)."""
    rows = [
        {"seed": seed, "mase": 0.5 + version + seed / 1000, "name": f"run {version}-{seed}"}
        for seed in range(2000)
    ]
    content = {"version": version, "dataset": "airline_passengers", "rows": rows}
    markdown = (
        "\n".join(
            [f"# Report {version}", ""] + [f"| {row['seed']} | {row['mase']:.4f} |" for row in rows]
        )
        + "\n"
    )
    return content, markdown


# ------------------------------------------------------------------------ a small training run


def gru_loss(params: Any, batch: Any, key: jax.Array | None) -> jax.Array:
    """A GRU regression loss with training-time noise (so PRNG keys must resume exactly)."""
    inputs, targets = batch
    h, _ = rnnax.gru(params["gru"], inputs, strategy="scan")
    prediction = h @ params["head"]
    if key is not None:
        prediction = prediction + 0.01 * jax.random.normal(key, prediction.shape)
    return jnp.mean(jnp.square(prediction - targets))


def training_problem() -> tuple[Any, Any, Any]:
    """``(params, train_data, val_data)`` of the run the child is killed in."""
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(48, 6, 1)).astype(np.float32)
    targets = (0.3 * inputs.sum(axis=1)).astype(np.float32)
    # Fixed numbers instead of gru_init: no initializer to compile in every process.
    hidden = 3
    gru = rnnax.GRUParams(
        w_x=jnp.asarray(rng.normal(0, 0.5, size=(1, 3 * hidden)).astype(np.float32)),
        w_h=jnp.asarray(rng.normal(0, 0.5, size=(hidden, 3 * hidden)).astype(np.float32)),
        b_x=jnp.zeros((3 * hidden,), jnp.float32),
        b_h=jnp.zeros((3 * hidden,), jnp.float32),
    )
    params = {"gru": gru, "head": jnp.zeros((hidden, 1), jnp.float32)}
    return params, (inputs[:40], targets[:40]), (inputs[40:], targets[40:])


TRAINING_OPTIONS = {
    "batch_size": 8,
    "learning_rate": 2e-2,
    "grad_clip_norm": 1.0,
    "seed": 3,
    "progress": False,
}
TRAINING_EPOCHS = 6
