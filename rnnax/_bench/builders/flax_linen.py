"""flax.linen's ``nn.RNN`` over its ``OptimizedLSTMCell`` / ``GRUCell``, on rnnax's weights."""

from __future__ import annotations

from typing import Any

from rnnax._bench._impl import Config, Impl, add_jax, staged, third_party_promotion
from rnnax._bench._weights import framework_weights


def build_linen(cfg: Config, jax: Any, params: Any, xs: Any) -> Impl:
    import flax.linen as nn
    import jax.numpy as jnp

    dtype = jnp.dtype(cfg.dtype)
    impl = Impl("flax.linen", "flax.linen", {})
    cell_type = nn.OptimizedLSTMCell if cfg.cell == "lstm" else nn.GRUCell
    model = nn.RNN(cell_type(cfg.hidden, dtype=dtype, param_dtype=dtype))
    # flax's orthogonal initializer has no bfloat16 QR on CPU: initialize in float32, then cast.
    init_model = nn.RNN(cell_type(cfg.hidden, dtype=dtype, param_dtype=jnp.float32))

    def own_init(key: Any, x: Any) -> Any:
        return jax.tree.map(lambda a: a.astype(dtype), init_model.init(key, x))

    variables = None
    with third_party_promotion(jax):
        try:
            from rnnax.interop import to_flax_linen

            shared = staged(
                jax.jit,
                lambda p: {"params": {"cell": to_flax_linen(p)["params"]}},
                framework_weights(params),
            )
            expected = jax.eval_shape(own_init, jax.random.key(2), xs)
            if jax.tree.structure(shared) == jax.tree.structure(expected) and [
                a.shape for a in jax.tree.leaves(shared)
            ] == [a.shape for a in jax.tree.leaves(expected)]:
                variables, impl.weights = shared, "shared"
        except Exception:  # interop is optional here: keep flax's own init
            pass
        if variables is None:
            variables = jax.jit(own_init)(jax.random.key(2), xs)
    add_jax(
        impl,
        jax,
        lambda v, x: model.apply(v, x),
        (variables, xs),
        lambda: third_party_promotion(jax),
        cfg.modes,
    )
    return impl
