r"""minLSTM (Feng et al. 2024, "Were RNNs All We Needed?") as a ``Cell``: an LSTM whose gates
and candidate read only the input, with the forget and input gates normalized to sum to 1
(the paper's length-independent form), so the recurrence is linear in ``h`` and runs
parallel in time (``strategy="parallel"``, ``rnnax._parallel``).

The carry is the plain array ``h`` (the output is ``h``; there is no separate cell state).
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


class MinLSTMParams(NamedTuple):
    """Parameters of one minLSTM cell; gate order along the last axis is ``f, i, h``.

    No recurrent weights: the gates and the candidate read only the input.

    Attributes:
        w_x: input weights ``[I, 3H]`` (matrices act on the right: ``x @ w_x``).
        b: bias ``[3H]``.
    """

    w_x: Float[Array, "I H3"]
    b: Float[Array, " H3"]


_LAYOUT = {"w_x": ("I", "3H"), "b": ("3H",)}


def _flops(input_size: int, hidden_size: int) -> int:
    # 2*I*3H (the product) + 3H (bias) + 2H (sigma(f), sigma(i)) + H (g) + 3H (f + i and the
    # two divisions) + 3H (two multiplies and an add), the convention of rnnax.flops_per_step.
    return 6 * input_size * hidden_size + 12 * hidden_size


def _projection(params: MinLSTMParams, x: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    a = x @ params.w_x
    k_f, k_i, pre = jnp.split(a + _with_batch_axes(params.b, a), 3, axis=-1)
    return k_f, k_i, pre


def _log_ratio(k_f: jax.Array, k_i: jax.Array) -> jax.Array:
    """``log(i / f) = softplus(-k_f) - softplus(-k_i)``, finite for all finite ``k``."""
    return jax.nn.softplus(-k_f) - jax.nn.softplus(-k_i)


def _step(params: MinLSTMParams, h: jax.Array, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    k_f, k_i, pre = _projection(params, x)
    # f / (f + i) = sigma(-log(i / f)): no 0 / 0 where both gates underflow.
    h_new = gated_update(_log_ratio(k_f, k_i), h, pre)
    return h_new, h_new


def _log_coefficients(params: MinLSTMParams, xs: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``h_t = f'_t h_{t-1} + i'_t g(pre_t)`` in logs: with ``d = log(i / f)``,
    ``log f' = -softplus(d)`` and ``log i' = -softplus(-d)`` (the paper's appendix)."""
    k_f, k_i, pre = _projection(params, xs)
    return gated_update_logs(_log_ratio(k_f, k_i), pre)


def minlstm_init(
    key: jax.Array,
    input_size: int,
    hidden_size: int,
    *,
    dtype: Any = jnp.float32,
    input_init: Initializer = glorot_uniform,
) -> MinLSTMParams:
    """Initializes minLSTM parameters.

    Each gate's ``[I, H]`` block of ``w_x`` comes from ``input_init`` (Glorot uniform by
    default); the bias is zero (so ``f' = i' = 1/2`` at the start).

    Args:
        key: a PRNG key.
        input_size: number of input features ``I``.
        hidden_size: number of hidden units ``H``.
        dtype: dtype of every parameter.
        input_init: initializer for each ``[I, H]`` block of ``w_x``.

    Returns:
        ``MinLSTMParams(w_x [I, 3H], b [3H])``, gate order ``f, i, h``.

    Raises:
        TypeError: ``key`` is not a PRNG key, a size is not an int, ``dtype`` is not floating,
            or ``input_init`` is not callable.
        ValueError: a size is not positive, or ``input_init`` returns the wrong shape.

    Examples:
        >>> import jax
        >>> from rnnax._cell_minlstm import minlstm_init
        >>> params = minlstm_init(jax.random.key(0), 3, 8)
        >>> params.w_x.shape, params.b.shape
        ((3, 24), (24,))
    """
    w_x, b = input_gate_params(key, input_size, hidden_size, 3, dtype, input_init)
    return MinLSTMParams(w_x=w_x, b=b)


# No "auto" entry, so "auto" runs the scan. On the 2-core CPU (shared, interleaved runs, medians)
# the parallel scan was 2.6-2.8x slower than the scan, forward + backward at B=32, T=256,
# I=32, H=128: minGRU 23 ms scan vs 60 ms parallel, minLSTM 33 vs 93 ms (2.8-3.3x at T=1024).
# Each of its ~2T compositions is a log-add-exp (exp + log1p) where the scan does a multiply-add,
# and XLA:CPU gains nothing from its O(log T) depth. Not measured on a GPU yet, where the
# parallel scan is the point.
MINLSTM = register_cell(
    Cell(
        name="minlstm",
        init=minlstm_init,
        step=_step,
        layout=_LAYOUT,
        params_type=MinLSTMParams,
        flops=_flops,
        kernels={"parallel": parallel_runner(_log_coefficients)},
        description="minLSTM (Feng et al. 2024): normalized gates from x only; parallel in time",
    )
)
"""The minLSTM: ``minlstm_cell`` with ``MinLSTMParams``; ``strategy="parallel"`` runs it as a
parallel scan over time."""


def minlstm_cell(params: MinLSTMParams, h: jax.Array, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    r"""One minLSTM step, in the paper's length-independent (normalized) form.

    .. math::

        f &= \sigma(x W_x^f + b^f), \qquad i = \sigma(x W_x^i + b^i), \qquad
            \tilde h = g(x W_x^h + b^h) \\
        f' &= \frac{f}{f + i}, \qquad i' = \frac{i}{f + i} \\
        h' &= f' \odot h + i' \odot \tilde h

    with the paper's positive activation :math:`g(u) = u + \tfrac12` for :math:`u \ge 0`,
    :math:`\sigma(u)` otherwise (``rnnax._parallel.g``). ``f'`` is computed as
    :math:`\sigma(-d)` with :math:`d = \log(i / f) = \mathrm{softplus}(-k_f) -
    \mathrm{softplus}(-k_i)`, the same number without a ``0 / 0`` where both gates underflow.
    No gate reads ``h``, so a whole sequence is the linear recurrence
    :math:`h_t = f'_t h_{t-1} + i'_t \tilde h_t` that ``strategy="parallel"`` solves with a
    parallel scan in log space.

    Type: ``(MinLSTMParams, h[..., H], x[..., I]) -> (h'[..., H], h'[..., H])``. All axes
    before the last are batch axes (any number, including none), identical for ``x`` and
    ``h``.

    Args:
        params: ``MinLSTMParams`` with ``w_x [I, 3H]`` and ``b [3H]``, gate order ``f, i, h``.
        h: the hidden state ``[..., H]`` (the carry is this plain array, of any sign).
        x: the input at this step, ``[..., I]``.

    Returns:
        ``(h', h')``.

    Raises:
        TypeError: ``params`` are not ``MinLSTMParams``, or a non-floating or mismatched dtype.
        ValueError: a parameter, input or carry of the wrong shape.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from rnnax._cell_minlstm import minlstm_cell, minlstm_init
        >>> params = minlstm_init(jax.random.key(0), 3, 4)
        >>> h, y = minlstm_cell(params, jnp.ones(4), jnp.zeros(3))  # f' = i' = 1/2, g(0) = 1/2
        >>> y.tolist()
        [0.75, 0.75, 0.75, 0.75]
    """
    check_cell_inputs(MINLSTM, params, h, x, carry_name="h")
    return _step(params, h, x)
