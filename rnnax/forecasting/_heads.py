"""A forecaster's output heads: what the dense head's raw outputs mean for each likelihood
(point, Gaussian, Student's t, quantiles), the forecasts they give, their losses, point
forecasts, quantiles and prediction intervals.

Per forecast step the head emits ``outputs_per_step`` raw numbers, in blocks of
``num_targets``:

=============  =====================================  ===================================
likelihood     raw blocks                             forecast
=============  =====================================  ===================================
``point``      value                                  the array itself
``gaussian``   mean, scale                            ``GaussianForecast``
``student_t``  location, scale, df                    ``StudentTForecast``
``quantile``   one per level (lowest first)           ``QuantileForecast``
=============  =====================================  ===================================

Scales are ``softplus(raw) + 1e-4``; degrees of freedom ``2 + softplus(raw)`` (above 2, so
the variance is finite); the quantiles are ``q_0 = raw_0`` and ``q_k = q_{k-1} +
softplus(raw_k)``, so they never cross.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from rnnax import evaluation
from rnnax._checks import check_real
from rnnax._distributions import normal_quantile, student_t_quantile
from rnnax.forecasting._config import ForecasterConfig

# Smallest forecast scale of a Gaussian or t head: keeps the NLL finite when a residual is ~0.
MIN_SCALE = 1e-4
# softplus(SCALE_BIAS) == 1: a fresh head predicts unit scale (suits scaled data).
SCALE_BIAS = math.log(math.expm1(1.0))
# A fresh Student's t head starts at df = 2 + softplus(_DF_BIAS) = 5.
_DF_BIAS = math.log(math.expm1(3.0))
# Levels the CRPS of a parametric forecast is computed on (backtest): 1%, ..., 99%.
CRPS_LEVELS = tuple(k / 100 for k in range(1, 100))


class GaussianForecast(NamedTuple):
    """A forecast with independent Gaussian uncertainty per step and target.

    Attributes:
        mean: forecast means ``[..., horizon, num_targets]``.
        scale: forecast standard deviations, same shape, strictly positive.
    """

    mean: Float[Array, "*batch horizon targets"]
    scale: Float[Array, "*batch horizon targets"]


class StudentTForecast(NamedTuple):
    """A forecast with independent Student's t uncertainty per step and target.

    Attributes:
        loc: forecast locations (the means and medians) ``[..., horizon, num_targets]``.
        scale: forecast scales, same shape, strictly positive (the standard deviation is
            ``scale * sqrt(df / (df - 2))``).
        df: degrees of freedom, same shape, above 2.
    """

    loc: Float[Array, "*batch horizon targets"]
    scale: Float[Array, "*batch horizon targets"]
    df: Float[Array, "*batch horizon targets"]


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class QuantileForecast:
    """A forecast of several quantiles per step and target, non-crossing.

    A pytree whose only leaf is ``quantiles``; ``levels`` is static (known at trace time), so
    intervals are read from the levels without a device round trip.

    Attributes:
        quantiles: ``[..., horizon, num_targets, len(levels)]``, non-decreasing on the last axis.
        levels: the quantile levels, strictly increasing in ``(0, 1)``.
    """

    quantiles: Float[Array, "*batch horizon targets levels"]
    levels: tuple[float, ...] = dataclasses.field(metadata={"static": True})


Forecast = jax.Array | GaussianForecast | StudentTForecast | QuantileForecast
"""What ``apply`` returns: an array for ``likelihood="point"``, else the head's forecast type."""


def head_bias(config: ForecasterConfig) -> np.ndarray:
    """A fresh head's bias ``[outputs_per_step]`` per step: unit scales, df 5, else zeros."""
    targets = config.num_targets
    bias = np.zeros(config.outputs_per_step, np.float32)
    if config.likelihood in ("gaussian", "student_t"):
        bias[targets : 2 * targets] = SCALE_BIAS
    if config.likelihood == "student_t":
        bias[2 * targets :] = _DF_BIAS
    return bias


def _positive(raw: jax.Array, floor: float) -> jax.Array:
    return jax.nn.softplus(raw) + jnp.asarray(floor, raw.dtype)


def _blocks(raw: jax.Array, config: ForecasterConfig) -> jax.Array:
    """``[..., outputs_per_step]`` as ``[..., num_targets, blocks]``."""
    per_target = config.outputs_per_step // config.num_targets
    return jnp.swapaxes(raw.reshape(*raw.shape[:-1], per_target, config.num_targets), -1, -2)


def _quantiles(raw: jax.Array, config: ForecasterConfig) -> jax.Array:
    blocks = _blocks(raw, config)
    steps = jnp.concatenate([blocks[..., :1], jax.nn.softplus(blocks[..., 1:])], axis=-1)
    return jnp.cumsum(steps, axis=-1)


def point_level_index(levels: Sequence[float]) -> int:
    """The index of the level nearest 0.5 (the first of two equally near)."""
    return min(range(len(levels)), key=lambda k: abs(levels[k] - 0.5))


def fed_back(raw: jax.Array, config: ForecasterConfig) -> jax.Array:
    """The point forecast an autoregressive decoder feeds back, from one step's raw outputs."""
    if config.likelihood == "quantile":
        return _quantiles(raw, config)[..., point_level_index(config.quantiles)]
    return raw[..., : config.num_targets]


def forecast_from_raw(
    raw: jax.Array, config: ForecasterConfig, center: jax.Array | None
) -> Forecast:
    """The forecast of raw head outputs ``[..., horizon, outputs_per_step]``, with the window's
    ``center`` (see ``ForecasterConfig.centering``) added back to every location."""
    targets = config.num_targets
    shift = (lambda x: x) if center is None else (lambda x: x + center)
    if config.likelihood == "quantile":
        quantiles = _quantiles(raw, config)
        if center is not None:
            quantiles = quantiles + center[..., None]
        return QuantileForecast(quantiles=quantiles, levels=config.quantiles)
    location = shift(raw[..., :targets])
    if config.likelihood == "point":
        return location
    scale = _positive(raw[..., targets : 2 * targets], MIN_SCALE)
    if config.likelihood == "gaussian":
        return GaussianForecast(mean=location, scale=scale)
    return StudentTForecast(loc=location, scale=scale, df=_positive(raw[..., 2 * targets :], 2.0))


def head_loss(forecast: Forecast, targets: jax.Array) -> jax.Array:
    """The training loss: squared error, the Gaussian or t NLL, or the mean pinball loss."""
    if isinstance(forecast, GaussianForecast):
        return evaluation.gaussian_nll(targets, forecast.mean, forecast.scale, axis=None)
    if isinstance(forecast, StudentTForecast):
        return evaluation.student_t_nll(
            targets, forecast.loc, forecast.scale, forecast.df, axis=None
        )
    if isinstance(forecast, QuantileForecast):
        return 0.5 * evaluation.crps_quantiles(
            targets, forecast.quantiles, forecast.levels, axis=None
        )
    return jnp.mean(jnp.square(forecast - targets))


def point_forecast(forecast: Forecast) -> jax.Array:
    """The point forecast: the array itself, the mean of a ``GaussianForecast``, the location of
    a ``StudentTForecast``, or a ``QuantileForecast``'s quantile nearest the median.

    Examples:
        >>> import jax.numpy as jnp
        >>> point_forecast(GaussianForecast(jnp.zeros(2), jnp.ones(2)))
        Array([0., 0.], dtype=float32)
    """
    if isinstance(forecast, GaussianForecast):
        return forecast.mean
    if isinstance(forecast, StudentTForecast):
        return forecast.loc
    if isinstance(forecast, QuantileForecast):
        return forecast.quantiles[..., point_level_index(forecast.levels)]
    if not isinstance(forecast, (jax.Array, np.ndarray)):
        raise TypeError(
            "forecast must be an array, a GaussianForecast, a StudentTForecast or a "
            f"QuantileForecast, got {type(forecast).__name__}"
        )
    return forecast


def quantiles(forecast: Forecast, levels: Sequence[float]) -> jax.Array:
    """The forecast's quantiles at ``levels``: ``[..., horizon, num_targets, len(levels)]``.

    Gaussian and Student's t forecasts give any level; a ``QuantileForecast`` only the levels
    it was trained for.

    Raises:
        TypeError: for a point forecast (it has no distribution).
        ValueError: for a level outside ``(0, 1)``, or one a ``QuantileForecast`` lacks.

    Examples:
        >>> import jax.numpy as jnp
        >>> grid = quantiles(GaussianForecast(jnp.zeros((1, 1)), jnp.ones((1, 1))), (0.5, 0.975))
        >>> grid.shape, [round(float(q), 4) for q in grid[0, 0]]
        ((1, 1, 2), [0.0, 1.96])
    """
    checked = tuple(
        check_real(f"levels[{k}]", level, minimum=0.0, maximum=1.0, exclusive=True)
        for k, level in enumerate(levels)
    )
    if isinstance(forecast, QuantileForecast):
        return forecast.quantiles[..., [_level_index(forecast.levels, lv) for lv in checked]]
    if isinstance(forecast, GaussianForecast):
        level = _levels_array(checked, forecast.mean)
        return forecast.mean[..., None] + forecast.scale[..., None] * normal_quantile(level)
    if isinstance(forecast, StudentTForecast):
        level = _levels_array(checked, forecast.loc)
        shape = (*forecast.df.shape, len(checked))
        z = student_t_quantile(
            jnp.broadcast_to(level, shape), jnp.broadcast_to(forecast.df[..., None], shape)
        )
        return forecast.loc[..., None] + forecast.scale[..., None] * z
    raise TypeError(
        "quantiles needs a probabilistic forecast (likelihood 'gaussian', 'student_t' or "
        f"'quantile'), got {type(forecast).__name__}"
    )


def check_interval_levels(levels: tuple[float, ...], level: float, name: str) -> None:
    """Raises unless a quantile head's ``levels`` hold the central ``level`` interval's ends."""
    missing = [
        end
        for end in (0.5 - 0.5 * level, 0.5 + 0.5 * level)
        if not any(math.isclose(end, candidate, abs_tol=1e-9) for candidate in levels)
    ]
    if missing:
        central = sorted(
            round(high - low, 9)
            for low in levels
            for high in levels
            if low < high and math.isclose(low + high, 1.0)
        )
        raise ValueError(
            f"{name}={level:g} needs the quantile levels {0.5 - 0.5 * level:g} and "
            f"{0.5 + 0.5 * level:g}, which this quantile head lacks (its levels {list(levels)} give "
            f"central intervals {central}; choose them with ForecasterConfig.quantiles)"
        )


def _levels_array(levels: tuple[float, ...], like: jax.Array) -> jax.Array:
    """``levels`` as an array of ``like``'s dtype, shaped to broadcast after its axes."""
    return jnp.asarray(levels, like.dtype).reshape((1,) * like.ndim + (-1,))


def _level_index(levels: tuple[float, ...], level: float) -> int:
    for index, candidate in enumerate(levels):
        if math.isclose(candidate, level, rel_tol=0.0, abs_tol=1e-9):
            return index
    raise ValueError(
        f"the quantile forecast has no level {level:g}; its levels are {list(levels)} "
        "(choose them with ForecasterConfig.quantiles)"
    )


def interval(forecast: Forecast, level: float = 0.95) -> tuple[jax.Array, jax.Array]:
    """Central prediction interval: the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles.

    For a Gaussian forecast ``mean -/+ z * scale`` (``z`` = 1.96 for 0.95); for Student's t
    the t quantiles; a ``QuantileForecast`` must hold both levels (its default levels give
    0.5, 0.8 and 0.95).

    Args:
        forecast: a ``GaussianForecast``, ``StudentTForecast`` or ``QuantileForecast``.
        level: nominal coverage in ``(0, 1)``.

    Returns:
        ``(lower, upper)``, each ``[..., horizon, num_targets]``.

    Raises:
        TypeError: if ``forecast`` is a point forecast (it has no intervals: use a
            probabilistic ``likelihood``).
        ValueError: if ``level`` is not strictly between 0 and 1, or a quantile forecast lacks
            its levels.

    Examples:
        >>> import jax.numpy as jnp
        >>> lower, upper = interval(GaussianForecast(jnp.array([10.0]), jnp.array([2.0])), 0.95)
        >>> lower, upper
        (Array([6.080072], dtype=float32), Array([13.919928], dtype=float32))
    """
    if not isinstance(forecast, (GaussianForecast, StudentTForecast, QuantileForecast)):
        raise TypeError(
            "interval needs a probabilistic forecast (a forecaster with likelihood 'gaussian', "
            f"'student_t' or 'quantile'), got {type(forecast).__name__}"
        )
    level = check_real("level", level, minimum=0.0, maximum=1.0, exclusive=True)
    if isinstance(forecast, GaussianForecast):  # exact to the last digit, as before
        z = statistics.NormalDist().inv_cdf(0.5 + 0.5 * level)
        half_width = jnp.asarray(z, forecast.scale.dtype) * forecast.scale
        return forecast.mean - half_width, forecast.mean + half_width
    if isinstance(forecast, QuantileForecast):
        check_interval_levels(forecast.levels, level, "level")
    bounds = quantiles(forecast, (0.5 - 0.5 * level, 0.5 + 0.5 * level))
    return bounds[..., 0], bounds[..., 1]


def crps(forecast: Forecast, actuals: jax.Array, to_units: Any) -> jax.Array:
    """The CRPS per step and target ``[..., horizon, num_targets]`` in the data's units.

    From the forecast's quantiles mapped through the (monotone, elementwise) ``to_units``: a
    quantile head's own levels, else the 99 levels 1%, ..., 99%. ``actuals`` are in units.
    """
    levels = forecast.levels if isinstance(forecast, QuantileForecast) else CRPS_LEVELS
    # Levels first while mapping, so a transform that broadcasts over the targets still does.
    grid = jnp.moveaxis(to_units(jnp.moveaxis(quantiles(forecast, levels), -1, 0)), 0, -1)
    return evaluation.crps_quantiles(actuals, grid, levels, axis=())
