"""flax.nnx's ``nnx.RNN`` over its ``OptimizedLSTMCell`` / ``GRUCell``, on rnnax's weights."""

from __future__ import annotations

from typing import Any

from rnnax._bench._impl import Config, Impl, add_jax, staged, third_party_promotion
from rnnax._bench._weights import framework_weights


def build_nnx(cfg: Config, jax: Any, params: Any, xs: Any) -> Impl:
    import jax.numpy as jnp
    from flax import nnx

    dtype = jnp.dtype(cfg.dtype)
    impl = Impl("flax.nnx", "flax.nnx", {})
    cell_type = nnx.OptimizedLSTMCell if cfg.cell == "lstm" else nnx.GRUCell
    try:
        from rnnax.interop import to_flax_nnx

        cell = staged(
            nnx.jit, lambda p: to_flax_nnx(p, cell_type=cell_type), framework_weights(params)
        )
        impl.weights = "shared"
    except Exception:
        # float32 init (flax's orthogonal initializer has no bfloat16 QR on CPU), cast below
        with third_party_promotion(jax):
            cell = staged(
                nnx.jit,
                lambda: cell_type(
                    cfg.inputs, cfg.hidden, dtype=dtype, param_dtype=jnp.float32, rngs=nnx.Rngs(2)
                ),
            )
    model = nnx.RNN(cell, rngs=False)  # zero initial carry passed below: no RNG state
    graphdef, state = nnx.split(model)
    state = jax.tree.map(lambda a: a.astype(dtype), state)
    zeros = jnp.zeros((cfg.batch, cfg.hidden), dtype)
    carry = (zeros, zeros) if cfg.cell == "lstm" else zeros

    def forward(s: Any, x: Any) -> Any:
        return nnx.merge(graphdef, s)(x, initial_carry=carry)

    add_jax(impl, jax, forward, (state, xs), lambda: third_party_promotion(jax), cfg.modes)
    return impl
