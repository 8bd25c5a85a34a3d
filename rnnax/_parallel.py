r"""Parallel-in-time recurrences for cells whose state update is linear in the state (minGRU,
minLSTM; Feng et al. 2024, "Were RNNs All We Needed?").

Such a cell computes, from the inputs alone, coefficients ``a_t > 0`` and ``b_t > 0`` with

.. math::

    h_t = a_t \odot h_{t-1} + b_t,

so the whole sequence is a prefix "sum" of the affine maps :math:`h \mapsto a_t h + b_t`,
which ``jax.lax.associative_scan`` computes in ``O(log T)`` depth. As in the paper's
appendix, the maps are composed in log space, :math:`(\log a, \log b)`, for stability:

.. math::

    (\alpha_1, \beta_1) \circ (\alpha_2, \beta_2)
        = (\alpha_1 + \alpha_2,\ \mathrm{logaddexp}(\beta_1 + \alpha_2, \beta_2)),

and the prefix :math:`(A_t, B_t)` gives :math:`h_t = e^{A_t} h_0 + e^{B_t}`. The initial carry
enters only through :math:`e^{A_t} h_0`, never through :math:`\log h_0`, so it may be negative
or zero.

Padded steps are the identity map (:math:`a = 1`, :math:`b = 0`). :math:`\log 0` is written
as the finite ``LOG_ZERO`` rather than ``-inf``: ``exp`` still gives exactly 0, and no
``-inf - (-inf)`` can turn a gradient into NaN (``jnp.logaddexp``'s derivative replaces
infinities by 0, which would give a ``-inf`` term a nonzero weight).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from rnnax._masking import masked_inputs, steps_mask
from rnnax._scan import NARROW_FLOATS

LOG_ZERO = -1e30
"""``log 0`` of the parallel scan: finite, so no ``-inf`` arithmetic reaches a gradient; its
``exp`` is exactly 0 in float32 and float64, and sums of it with ordinary logs stay far below
any real log value."""

Coefficients = Callable[[Any, jax.Array], tuple[jax.Array, jax.Array]]
"""``coefficients(params, xs[T, B, I]) -> (log_a[T, B, H], log_b[T, B, H])``."""


def g(x: Float[Array, "*shape"]) -> Float[Array, "*shape"]:
    r"""The paper's positive activation for the candidate state:
    :math:`g(x) = x + \tfrac12` for :math:`x \ge 0`, :math:`\sigma(x)` otherwise.

    Continuous (both sides give 1/2 at 0), positive everywhere, and linear for large inputs, so
    its log is defined and the state can grow like the input.

    Examples:
        >>> import jax.numpy as jnp
        >>> from rnnax._parallel import g
        >>> [round(v, 4) for v in g(jnp.array([-2.0, 0.0, 2.0])).tolist()]
        [0.1192, 0.5, 2.5]
    """
    return jnp.where(x >= 0, x + 0.5, jax.nn.sigmoid(x))


def log_g(x: Float[Array, "*shape"]) -> Float[Array, "*shape"]:
    r""":math:`\log g(x)` computed without forming ``g``: :math:`\log(x + \tfrac12)` for
    :math:`x \ge 0`, :math:`-\mathrm{softplus}(-x)` otherwise (finite for every finite ``x``,
    where ``log(sigmoid(x))`` would underflow to ``-inf``).

    Examples:
        >>> import jax.numpy as jnp
        >>> from rnnax._parallel import log_g
        >>> float(log_g(jnp.array(-200.0)))
        -200.0
    """
    positive = x >= 0
    # The inner where keeps log's argument >= 1/2 on the unused side, so its derivative there
    # is finite (an outer where alone would multiply an inf by 0).
    return jnp.where(positive, jnp.log(jnp.where(positive, x, 0.0) + 0.5), -jax.nn.softplus(-x))


def compute_dtype(dtype: Any) -> Any:
    """The dtype the parallel scan computes in: float32 for bfloat16 and float16 inputs (their
    logs and exponentials lose too much), else the dtype itself."""
    return jnp.dtype(jnp.float32) if jnp.dtype(dtype) in NARROW_FLOATS else jnp.dtype(dtype)


def gated_update(
    d: Float[Array, "*shape"], h: Float[Array, "*shape"], pre: Float[Array, "*shape"]
) -> Float[Array, "*shape"]:
    r"""The step of minGRU and minLSTM: :math:`h' = \sigma(-d) h + \sigma(d) g(pre)`.

    ``d`` is the log-odds of the input gate against the keep gate (minGRU: ``z``'s
    pre-activation; minLSTM: ``log(i / f)``); ``sigma(-d)`` is the keep gate without a
    ``1 - sigma(d)`` that rounds to 0, and the same number the log-space form uses.
    """
    return jax.nn.sigmoid(-d) * h + jax.nn.sigmoid(d) * g(pre)


def gated_update_logs(
    d: Float[Array, "*shape"], pre: Float[Array, "*shape"]
) -> tuple[Float[Array, "*shape"], Float[Array, "*shape"]]:
    r"""``gated_update`` as ``h' = a h + b`` in logs: :math:`\log a = -\mathrm{softplus}(d)`,
    :math:`\log b = -\mathrm{softplus}(-d) + \log g(pre)`."""
    return -jax.nn.softplus(d), -jax.nn.softplus(-d) + log_g(pre)


def _compose(
    earlier: tuple[jax.Array, jax.Array], later: tuple[jax.Array, jax.Array]
) -> tuple[jax.Array, jax.Array]:
    """The affine map ``earlier`` followed by ``later``, both as ``(log a, log b)``."""
    log_a1, log_b1 = earlier
    log_a2, log_b2 = later
    return log_a1 + log_a2, jnp.logaddexp(log_b1 + log_a2, log_b2)


def linear_recurrence(
    log_a: Float[Array, "T B H"],
    log_b: Float[Array, "T B H"],
    h0: Float[Array, "B H"],
    lengths: Int[Array, " B"] | None = None,
    *,
    reverse: bool = False,
) -> tuple[Float[Array, "B H"], Float[Array, "T B H"]]:
    r"""Solves :math:`h_t = a_t \odot h_{t-1} + b_t` for all ``t`` at once, in log space.

    Type: ``(log_a[T, B, H], log_b[T, B, H], h0[B, H], lengths[B] | None)
    -> (h_final[B, H], hs[T, B, H])``.

    The semantics are ``rnnax.scan_cell``'s: with ``lengths``, steps ``t >= length`` are
    padding, the identity map, with outputs exactly 0; ``reverse=True`` runs each sequence
    from step ``T - 1`` down to step 0 (so the padding comes first and changes nothing). The
    final carry is the state after the last valid step in that order (``h0`` for length 0).

    Args:
        log_a: ``log a_t``, finite (``a_t > 0``).
        log_b: ``log b_t``, finite or ``LOG_ZERO`` (``b_t > 0``, or 0).
        h0: the initial state, any sign (it never goes through a log).
        lengths: optional valid lengths ``[B]`` in ``[0, T]``.
        reverse: run time backward.

    Returns:
        ``(h_final, hs)`` in the dtype of ``log_a``.

    Examples:
        >>> import jax.numpy as jnp
        >>> from rnnax._parallel import linear_recurrence
        >>> log_a = jnp.log(jnp.full((3, 1, 1), 0.5))  # h_t = h_{t-1} / 2 + 1
        >>> h, hs = linear_recurrence(log_a, jnp.zeros((3, 1, 1)), jnp.full((1, 1), -4.0))
        >>> hs[:, 0, 0].tolist(), h.tolist()
        ([-1.0, 0.5, 1.25], [[1.25]])
    """
    num_steps = log_a.shape[0]
    if num_steps == 0:
        return h0, jnp.zeros(log_a.shape, log_a.dtype)
    valid = None
    if lengths is not None:
        valid = steps_mask(num_steps, lengths)
        log_a = jnp.where(valid, log_a, 0.0)
        log_b = jnp.where(valid, log_b, LOG_ZERO)
    big_a, big_b = jax.lax.associative_scan(_compose, (log_a, log_b), reverse=reverse)
    hs = jnp.exp(big_a) * h0[None] + jnp.exp(big_b)
    final = hs[0] if reverse else hs[-1]
    if valid is not None:
        hs = jnp.where(valid, hs, 0.0)
    return final, hs


def parallel_runner(coefficients: Coefficients) -> Callable[..., tuple[jax.Array, jax.Array]]:
    """The ``"parallel"`` strategy (a ``rnnax.Cell`` kernel) of a cell whose carry is one array
    ``h`` and whose step is ``h' = a(x) h + b(x)``.

    ``coefficients(params, xs[T, B, I]) -> (log a, log b)`` computes the logs of the
    coefficients from the inputs of all steps at once (one input GEMM). The runner zeroes the
    padded inputs first (as the scan does, so a NaN there reaches no value or gradient),
    computes in float32 for bfloat16/float16 and casts back, and ignores ``unroll`` (the core
    rejects anything but 1 for this strategy).
    """

    def runner(
        params: Any,
        xs: Float[Array, "T B I"],
        carry: Float[Array, "B H"],
        lengths: Int[Array, " B"] | None,
        *,
        reverse: bool,
        unroll: int | bool,
    ) -> tuple[Float[Array, "B H"], Float[Array, "T B H"]]:
        del unroll  # no loop to unroll
        dtype = carry.dtype
        wide = compute_dtype(dtype)
        xs = masked_inputs(xs, lengths)
        params = jax.tree.map(lambda leaf: leaf.astype(wide), params)
        log_a, log_b = coefficients(params, xs.astype(wide))
        h, hs = linear_recurrence(log_a, log_b, carry.astype(wide), lengths, reverse=reverse)
        return h.astype(dtype), hs.astype(dtype)

    return runner
