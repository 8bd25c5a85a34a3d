r"""minGRU (Feng et al. 2024, "Were RNNs All We Needed?") as a ``Cell``: a GRU whose gate and
candidate read only the input, so the recurrence is linear in ``h`` and runs parallel in time
(``strategy="parallel"``, ``rnnax._parallel``).

The candidate goes through the paper's positive activation ``g`` (its log-space appendix),
so the parallel scan can work with :math:`\log z + \log g(\cdot)`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from rnnax._cells import _with_batch_axes, check_cell_inputs
from rnnax._init import Initializer, glorot_uniform, input_gate_params
from rnnax._parallel import gated_update, gated_update_logs, parallel_runner
from rnnax._protocol import Cell, register_cell


class MinGRUParams(NamedTuple):
    """Parameters of one minGRU cell; gate order along the last axis is ``z, h``.

    No recurrent weights: the update gate and the candidate read only the input.

    Attributes:
        w_x: input weights ``[I, 2H]`` (matrices act on the right: ``x @ w_x``).
        b: bias ``[2H]``.
    """

    w_x: Float[Array, "I H2"]
    b: Float[Array, " H2"]


_LAYOUT = {"w_x": ("I", "2H"), "b": ("2H",)}


def _flops(input_size: int, hidden_size: int) -> int:
    # 2*I*2H (the product) + 2H (bias) + 2H (sigma(k), sigma(-k) = 1 - z) + H (g)
    # + 3H (two multiplies and an add), the convention of rnnax.flops_per_step.
    return 4 * input_size * hidden_size + 8 * hidden_size


def _projection(params: MinGRUParams, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    a = x @ params.w_x
    k, pre = jnp.split(a + _with_batch_axes(params.b, a), 2, axis=-1)
    return k, pre


def _step(params: MinGRUParams, h: jax.Array, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    k, pre = _projection(params, x)
    # 1 - z as sigma(-k): exact where z rounds to 1, and the parallel form's log(1 - z).
    h_new = gated_update(k, h, pre)
    return h_new, h_new


def _log_coefficients(params: MinGRUParams, xs: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``h_t = (1 - z_t) h_{t-1} + z_t g(pre_t)`` in logs: ``log(1 - z) = -softplus(k)``,
    ``log z = -softplus(-k)``."""
    k, pre = _projection(params, xs)
    return gated_update_logs(k, pre)


def mingru_init(
    key: jax.Array,
    input_size: int,
    hidden_size: int,
    *,
    dtype: Any = jnp.float32,
    input_init: Initializer = glorot_uniform,
) -> MinGRUParams:
    """Initializes minGRU parameters.

    Each gate's ``[I, H]`` block of ``w_x`` comes from ``input_init`` (Glorot uniform by
    default); the bias is zero (so ``z = 1/2`` at the start).

    Args:
        key: a PRNG key.
        input_size: number of input features ``I``.
        hidden_size: number of hidden units ``H``.
        dtype: dtype of every parameter.
        input_init: initializer for each ``[I, H]`` block of ``w_x``.

    Returns:
        ``MinGRUParams(w_x [I, 2H], b [2H])``, gate order ``z, h``.

    Raises:
        TypeError: ``key`` is not a PRNG key, a size is not an int, ``dtype`` is not floating,
            or ``input_init`` is not callable.
        ValueError: a size is not positive, or ``input_init`` returns the wrong shape.

    Examples:
        >>> import jax
        >>> from rnnax._cell_mingru import mingru_init
        >>> params = mingru_init(jax.random.key(0), 3, 8)
        >>> params.w_x.shape, params.b.shape
        ((3, 16), (16,))
    """
    w_x, b = input_gate_params(key, input_size, hidden_size, 2, dtype, input_init)
    return MinGRUParams(w_x=w_x, b=b)


# No "auto" entry, so "auto" runs the scan. On the 2-core CPU (shared, interleaved runs, medians)
# the parallel scan was 2.6-2.8x slower than the scan, forward + backward at B=32, T=256,
# I=32, H=128: minGRU 23 ms scan vs 60 ms parallel, minLSTM 33 vs 93 ms (2.8-3.3x at T=1024).
# Each of its ~2T compositions is a log-add-exp (exp + log1p) where the scan does a multiply-add,
# and XLA:CPU gains nothing from its O(log T) depth. Not measured on a GPU yet, where the
# parallel scan is the point.

MINGRU = register_cell(
    Cell(
        name="mingru",
        init=mingru_init,
        step=_step,
        layout=_LAYOUT,
        params_type=MinGRUParams,
        flops=_flops,
        kernels={"parallel": parallel_runner(_log_coefficients)},
        description="minGRU (Feng et al. 2024): gate and candidate from x only; parallel in time",
    )
)
"""The minGRU: ``mingru_cell`` with ``MinGRUParams``; ``strategy="parallel"`` runs it as a
parallel scan over time."""


def mingru_cell(params: MinGRUParams, h: jax.Array, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    r"""One minGRU step.

    .. math::

        z &= \sigma(x W_x^z + b^z), \qquad \tilde h = g(x W_x^h + b^h) \\
        h' &= (1 - z) \odot h + z \odot \tilde h

    with the paper's positive activation :math:`g(u) = u + \tfrac12` for :math:`u \ge 0`,
    :math:`\sigma(u)` otherwise (``rnnax._parallel.g``). Neither ``z`` nor :math:`\tilde h`
    reads ``h``, so a whole sequence is the linear recurrence
    :math:`h_t = a_t h_{t-1} + b_t` that ``strategy="parallel"`` solves with a parallel scan
    in log space (:math:`\log(1 - z) = -\mathrm{softplus}(\cdot)`,
    :math:`\log z + \log g(\cdot)`).

    Type: ``(MinGRUParams, h[..., H], x[..., I]) -> (h'[..., H], h'[..., H])``. All axes
    before the last are batch axes (any number, including none), identical for ``x`` and
    ``h``.

    Args:
        params: ``MinGRUParams`` with ``w_x [I, 2H]`` and ``b [2H]``, gate order ``z, h``.
        h: the hidden state ``[..., H]`` (the carry is this plain array, of any sign).
        x: the input at this step, ``[..., I]``.

    Returns:
        ``(h', h')``.

    Raises:
        TypeError: ``params`` are not ``MinGRUParams``, or a non-floating or mismatched dtype.
        ValueError: a parameter, input or carry of the wrong shape.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from rnnax._cell_mingru import mingru_cell, mingru_init
        >>> params = mingru_init(jax.random.key(0), 3, 4)
        >>> h, y = mingru_cell(params, jnp.zeros(4), jnp.ones(3))
        >>> y.shape, bool(jnp.all(y > 0))  # from h = 0 the state is z * g(...) > 0
        ((4,), True)
    """
    check_cell_inputs(MINGRU, params, h, x, carry_name="h")
    return _step(params, h, x)
