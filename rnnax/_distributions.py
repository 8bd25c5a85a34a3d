"""The predictive distributions of rnnax's forecast heads, as pure ``jax.numpy`` functions:
the standard normal's and Student's t quantiles, the t's CDF and log-density.

``jax.scipy.stats`` has the normal quantile (``ndtri``) and the t density but no t CDF or
quantile; the CDF here is the regularized incomplete beta function and the quantile inverts it
by bisection, so both run under ``jit``, ``vmap`` and on any backend, in the input's dtype.

Examples:
    >>> import jax.numpy as jnp
    >>> round(float(student_t_quantile(jnp.float32(0.975), jnp.float32(5.0))), 4)
    2.5706
    >>> round(float(student_t_cdf(jnp.float32(2.5706), jnp.float32(5.0))), 4)
    0.975
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax.scipy import special


def normal_quantile(level: jax.Array) -> jax.Array:
    """The standard normal's quantile function ``Phi^-1(level)``, elementwise."""
    return special.ndtri(level)


def student_t_logpdf(z: jax.Array, df: jax.Array) -> jax.Array:
    """Log-density of the standard Student's t with ``df`` degrees of freedom at ``z``::

    lgamma((df+1)/2) - lgamma(df/2) - log(pi df)/2 - (df+1)/2 log(1 + z^2/df)
    """
    half = jnp.asarray(0.5, z.dtype)
    return (
        _log_gamma_ratio(half * df)
        - half * jnp.log(jnp.asarray(math.pi, z.dtype) * df)
        - half * (df + 1) * jnp.log1p(jnp.square(z) / df)
    )


def _log_gamma_ratio(x: jax.Array) -> jax.Array:
    """``lgamma(x + 1/2) - lgamma(x)``, also where both terms are large.

    For ``x > 8`` (where float32 ``lgamma`` values near ``x log x`` would cancel to fewer
    digits) the asymptotic series ``log(x)/2 - 1/(8x) + 1/(192x^3) + 1/(640x^5)``, whose
    next term is below ``1e-9`` there.
    """
    large = x > 8
    safe = jnp.where(large, x, jnp.full_like(x, 9.0))
    series = 0.5 * jnp.log(safe) - 1 / (8 * safe) + 1 / (192 * safe**3) + 1 / (640 * safe**5)
    small = jnp.where(large, jnp.ones_like(x), x)
    direct = special.gammaln(small + 0.5) - special.gammaln(small)
    return jnp.where(large, series, direct)


def student_t_cdf(z: jax.Array, df: jax.Array) -> jax.Array:
    """CDF of the standard Student's t, through the regularized incomplete beta function ``I``.

    In the tails (``z^2 >= df``) the tail mass ``I_{df/(df+z^2)}(df/2, 1/2) / 2``; near the
    centre ``1/2 + sign(z) I_{z^2/(df+z^2)}(1/2, df/2) / 2``, the form whose argument is small
    there (the other loses the digits of ``1 - x`` near ``x = 1``).
    """
    half = jnp.asarray(0.5, z.dtype)
    square = jnp.square(z)
    tails = square >= df
    tail = half * special.betainc(half * df, half, df / (df + square))
    central = half * special.betainc(half, half * df, square / (df + square))
    below = jnp.where(tails, tail, half - central)  # the CDF at -|z|
    return jnp.where(z >= 0, 1 - below, below)


def student_t_quantile(level: jax.Array, df: jax.Array, *, iterations: int = 64) -> jax.Array:
    """The standard Student's t quantile ``F^-1(level)``, by bisection on :func:`student_t_cdf`.

    ``level`` and ``df`` have one shape (broadcast them first: no implicit rank promotion).

    The bracket starts at ``+-10^4`` (beyond every quantile of levels in ``[1e-6, 1 - 1e-6]``
    for ``df >= 2``) and is halved ``iterations`` times: 64 halvings reach below float64's
    resolution there.

    Reference loop (per element)::

        low, high = -1e4, 1e4
        for _ in range(iterations):
            mid = (low + high) / 2
            low, high = (mid, high) if cdf(mid) < level else (low, mid)
        return (low + high) / 2
    """
    if jnp.shape(level) != jnp.shape(df):
        raise ValueError(
            f"level and df must have one shape, got {jnp.shape(level)} and {jnp.shape(df)}"
        )
    bound = jnp.full_like(level, 1e4)

    def halve(_: int, bracket: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
        low, high = bracket
        mid = 0.5 * (low + high)
        below = student_t_cdf(mid, df) < level
        return jnp.where(below, mid, low), jnp.where(below, high, mid)

    low, high = jax.lax.fori_loop(0, iterations, halve, (-bound, bound))
    return 0.5 * (low + high)
