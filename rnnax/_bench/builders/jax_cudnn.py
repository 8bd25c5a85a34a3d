"""``jax.experimental.rnn.lstm`` (cuDNN, GPU only), called directly on rnnax's weights."""

from __future__ import annotations

from typing import Any

from rnnax._bench._impl import Config, Impl, add_jax, third_party_promotion


def build_cudnn(cfg: Config, jax: Any, params: Any, xs: Any) -> Impl:
    """``jax.experimental.rnn.lstm`` (cuDNN; GPU only), with the shared weights packed flat.

    Called directly, as a user of jax.experimental.rnn would: beside ``rnnax[cudnn]`` (the same
    call behind rnnax's sequence handling) it shows what that handling costs.
    """
    import jax.numpy as jnp
    from jax.experimental import rnn

    impl = Impl("jax.experimental.rnn", "jax.experimental.rnn", {}, weights="shared")
    dtype = jnp.dtype(cfg.dtype)
    from rnnax._cudnn import to_cudnn_weights

    weights = to_cudnn_weights(params).astype(dtype)
    zeros = jnp.zeros((1, cfg.batch, cfg.hidden), dtype)
    lengths = jnp.full((cfg.batch,), cfg.steps, jnp.int32)

    def forward(w: Any, x: Any) -> Any:
        return rnn.lstm(
            x,
            zeros,
            zeros,
            w,
            lengths,
            input_size=cfg.inputs,
            hidden_size=cfg.hidden,
            num_layers=1,
            dropout=0.0,
            bidirectional=False,
        )[0]

    add_jax(impl, jax, forward, (weights, xs), lambda: third_party_promotion(jax), cfg.modes)
    return impl
