"""Baseline forecasts: hand-computed values, batching, jit with static arguments, bad input."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rnnax import evaluation

HISTORY = jnp.array([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [10.0, 0.0, 20.0, 5.0, 30.0, 10.0]])


def test_naive_repeats_last_value() -> None:
    np.testing.assert_array_equal(evaluation.naive_forecast(HISTORY, 3), [[6, 6, 6], [10, 10, 10]])


def test_seasonal_naive_repeats_last_season() -> None:
    forecast = evaluation.seasonal_naive_forecast(HISTORY, 5, period=2)
    np.testing.assert_array_equal(forecast, [[5, 6, 5, 6, 5], [30, 10, 30, 10, 30]])
    np.testing.assert_array_equal(
        evaluation.seasonal_naive_forecast(HISTORY, 2, period=1),
        evaluation.naive_forecast(HISTORY, 2),
    )
    whole = evaluation.seasonal_naive_forecast(HISTORY, 6, period=6)
    np.testing.assert_array_equal(whole, HISTORY)


def test_drift_continues_average_change() -> None:
    np.testing.assert_allclose(evaluation.drift_forecast(HISTORY, 2), [[7, 8], [10, 10]])
    np.testing.assert_allclose(evaluation.drift_forecast(jnp.array([2.0, 0.0, 5.0]), 2), [6.5, 8.0])


def test_mean_forecast() -> None:
    np.testing.assert_allclose(evaluation.mean_forecast(HISTORY, 2), [[3.5, 3.5], [12.5, 12.5]])


@pytest.mark.parametrize(
    ("baseline", "extra"),
    [
        (evaluation.naive_forecast, {}),
        (evaluation.seasonal_naive_forecast, {"period": 4}),
        (evaluation.drift_forecast, {}),
        (evaluation.mean_forecast, {}),
    ],
)
def test_baselines_batch_jit_and_vmap(
    baseline: Callable[..., jax.Array], extra: dict[str, int], rng: np.random.Generator
) -> None:
    history = jnp.asarray(rng.normal(size=(2, 3, 12)), dtype=jnp.float32)
    forecast = baseline(history, 5, **extra)
    assert forecast.shape == (2, 3, 5) and forecast.dtype == jnp.float32
    jitted = jax.jit(baseline, static_argnames=("horizon", *extra))
    np.testing.assert_allclose(jitted(history, horizon=5, **extra), forecast, rtol=1e-6)
    per_series = jax.vmap(jax.vmap(lambda h: baseline(h, 5, **extra)))(history)
    np.testing.assert_allclose(per_series, forecast, rtol=1e-6)


def test_integer_and_numpy_history_become_float() -> None:
    forecast = evaluation.drift_forecast(np.array([1, 2, 4]), 1)
    assert isinstance(forecast, jax.Array) and jnp.issubdtype(forecast.dtype, jnp.floating)
    np.testing.assert_allclose(forecast, [5.5])


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: evaluation.naive_forecast(HISTORY, 0),
            ValueError,
            "horizon must be an integer >= 1, got 0",
        ),
        (
            lambda: evaluation.naive_forecast(HISTORY, 2.0),
            TypeError,
            "horizon must be an integer, got 2.0",
        ),
        (
            lambda: evaluation.naive_forecast(jnp.array(1.0), 2),
            ValueError,
            "history must have a time axis",
        ),
        (
            lambda: evaluation.naive_forecast(jnp.zeros((2, 0)), 2),
            ValueError,
            r"history must have at least 1 time steps on its last axis, got shape \(2, 0\)",
        ),
        (
            lambda: evaluation.seasonal_naive_forecast(HISTORY, 2, period=7),
            ValueError,
            r"at least 7 time steps on its last axis \(one full period, period=7\)",
        ),
        (
            lambda: evaluation.seasonal_naive_forecast(HISTORY, 2, period=0),
            ValueError,
            "period must be an integer >= 1, got 0",
        ),
        (
            lambda: evaluation.drift_forecast(jnp.array([1.0]), 2),
            ValueError,
            r"at least 2 time steps .*drift needs a first and a last value",
        ),
    ],
)
def test_bad_baseline_arguments_are_named(
    call: Callable[[], object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        call()
