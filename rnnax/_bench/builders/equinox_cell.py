"""equinox's ``LSTMCell`` / ``GRUCell`` under ``lax.scan`` and ``vmap``, on rnnax's weights."""

from __future__ import annotations

from typing import Any

from rnnax._bench._impl import Config, Impl, add_jax, staged, third_party_promotion
from rnnax._bench._weights import framework_weights


def build_equinox(cfg: Config, jax: Any, params: Any, xs: Any) -> Impl:
    import equinox as eqx
    import jax.numpy as jnp

    dtype = jnp.dtype(cfg.dtype)
    impl = Impl("equinox", "equinox", {})
    cell_type = eqx.nn.LSTMCell if cfg.cell == "lstm" else eqx.nn.GRUCell
    cell = None
    try:
        from rnnax.interop import to_equinox

        cell = staged(eqx.filter_jit, to_equinox, framework_weights(params))
        impl.weights = "shared"
    except Exception:
        pass
    if cell is None:
        with third_party_promotion(jax):
            cell = eqx.filter_jit(
                lambda key: cell_type(cfg.inputs, cfg.hidden, dtype=dtype, key=key)
            )(jax.random.key(2))

    def forward(c: Any, x: Any) -> Any:
        def sequence(seq: Any) -> Any:
            zeros = jnp.zeros((cfg.hidden,), dtype)
            if cfg.cell == "lstm":

                def step(state: Any, x_t: Any) -> Any:
                    state = c(x_t, state)
                    return state, state[0]

                init: Any = (zeros, zeros)
            else:

                def step(state: Any, x_t: Any) -> Any:
                    state = c(x_t, state)
                    return state, state

                init = zeros
            return jax.lax.scan(step, init, seq)[1]

        return jax.vmap(sequence)(x)

    add_jax(impl, jax, forward, (cell, xs), lambda: third_party_promotion(jax), cfg.modes)
    return impl
