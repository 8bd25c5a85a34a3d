"""The weights every implementation at a configuration shares (rnnax's, converted for the
other libraries), so their outputs can be compared."""

from __future__ import annotations

from typing import Any

from rnnax._bench._impl import Config, staged
from rnnax._bench._options import FRAMEWORK_CELLS


def shared_params(cfg: Config, jax: Any, jnp: Any) -> Any:
    """The parameters every implementation at ``cfg`` gets (converted where needed)."""
    if cfg.cell not in FRAMEWORK_CELLS:
        return _cell_init_params(cfg, jax, jnp)
    import rnnax

    dtype = jnp.dtype(cfg.dtype)
    inputs, hidden = cfg.inputs, cfg.hidden
    gates = 4 if cfg.cell == "lstm" else 3
    shapes = [(inputs, gates * hidden), (hidden, gates * hidden), (gates * hidden,)]
    if cfg.cell != "lstm":
        shapes.append((gates * hidden,))

    def make(key: Any) -> Any:
        # PyTorch's default U(-1/sqrt(H), 1/sqrt(H)): the values do not change the cost, and
        # this compiles in a fraction of the time of rnnax's orthogonal init.
        bound = 1.0 / hidden**0.5
        arrays = [
            jax.random.uniform(k, shape, jnp.float32, -bound, bound).astype(dtype)
            for k, shape in zip(jax.random.split(key, len(shapes)), shapes, strict=True)
        ]
        if cfg.cell == "lstm":
            return rnnax.LSTMParams(*arrays)
        # nnx.GRUCell has no recurrent candidate bias; zero it so every library can hold the
        # same weights.
        arrays[3] = arrays[3].at[2 * hidden :].set(0)
        if cfg.cell == "gru_reset_after":
            return rnnax.GRUResetAfterParams(*arrays)
        return rnnax.GRUParams(*arrays)

    return jax.jit(make)(jax.random.key(1))


def _cell_init_params(cfg: Config, jax: Any, jnp: Any) -> Any:
    """Parameters of a cell only rnnax runs: its own ``init`` in float32 (initializers need
    not support narrow dtypes), cast to ``cfg.dtype``."""
    import rnnax

    cell = rnnax.get_cell(cfg.cell)
    dtype = jnp.dtype(cfg.dtype)

    def make(key: Any) -> Any:
        params = cell.init(key, cfg.inputs, cfg.hidden)
        return jax.tree.map(lambda leaf: leaf.astype(dtype), params)

    return staged(jax.jit, make, jax.random.key(1))


def framework_weights(params: Any) -> Any:
    """The shared weights as the other libraries hold them: their GRU is the reset-after form,
    so plain ``GRUParams`` (the weights of both rnnax GRU variants) convert typed as
    ``GRUResetAfterParams``, which is what the converters take."""
    import rnnax

    if type(params) is rnnax.GRUParams:
        return rnnax.GRUResetAfterParams(*params)
    return params
