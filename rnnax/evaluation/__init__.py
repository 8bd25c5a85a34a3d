"""Forecast evaluation for rnnax: accuracy metrics and classical baselines.

All functions are pure ``jax.numpy`` code: they accept numpy or JAX arrays,
treat the last axis as time by default, keep leading batch axes, and work under
``jax.jit`` and ``jax.vmap``.

* Metrics: :func:`mae`, :func:`rmse`, :func:`mape`, :func:`smape` (0..200),
  :func:`mase` (with :func:`seasonal_naive_scale`), :func:`coverage`,
  :func:`pinball_loss`, :func:`gaussian_nll`.
* Statistics over seeds and repeated timings: :func:`mean_interval`,
  :func:`paired_difference`, :func:`paired_ratio`, :func:`combined_ratio` (each an
  :class:`Interval`), and the
  verdicts they support, :func:`verdict` and :func:`beats`.
* Probabilistic scores: :func:`student_t_nll`, :func:`crps_gaussian` (closed form) and
  :func:`crps_quantiles` (the CRPS from any forecast's quantiles).
* Baselines: :func:`naive_forecast`, :func:`seasonal_naive_forecast`,
  :func:`drift_forecast`, :func:`mean_forecast`.

Examples:
    >>> import jax.numpy as jnp
    >>> from rnnax import evaluation
    >>> history = jnp.array([[1.0, 2.0, 3.0, 4.0]])
    >>> forecast = evaluation.naive_forecast(history, 2)
    >>> evaluation.mase(jnp.array([[5.0, 6.0]]), forecast, history)
    Array([1.5], dtype=float32)
"""

from rnnax._statistics import (
    Interval,
    beats,
    combined_ratio,
    mean_interval,
    paired_difference,
    paired_ratio,
    verdict,
)
from rnnax.evaluation._baselines import (
    drift_forecast,
    mean_forecast,
    naive_forecast,
    seasonal_naive_forecast,
)
from rnnax.evaluation._metrics import (
    coverage,
    gaussian_nll,
    mae,
    mape,
    mase,
    pinball_loss,
    rmse,
    seasonal_naive_scale,
    smape,
)
from rnnax.evaluation._probabilistic import crps_gaussian, crps_quantiles, student_t_nll

__all__ = [
    "Interval",
    "beats",
    "combined_ratio",
    "coverage",
    "crps_gaussian",
    "crps_quantiles",
    "drift_forecast",
    "gaussian_nll",
    "mae",
    "mape",
    "mase",
    "mean_forecast",
    "mean_interval",
    "naive_forecast",
    "paired_difference",
    "paired_ratio",
    "pinball_loss",
    "rmse",
    "seasonal_naive_forecast",
    "seasonal_naive_scale",
    "smape",
    "student_t_nll",
    "verdict",
]
