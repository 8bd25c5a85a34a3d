"""Rolling-origin backtests: equal to a loop over origins, one compiled call, named errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rnnax import forecasting
from rnnax.forecasting import ForecasterConfig, _backtest, _model

LOOKBACK = 6
PERIOD = 4
LENGTH = 40


def _to_units(values: jax.Array) -> jax.Array:
    # A module-level function (hashable and stable), as backtest's inverse_transform must be.
    return jnp.exp(values * 0.5 + 3.0)


@pytest.fixture(scope="module")
def series() -> np.ndarray:
    t = np.arange(LENGTH, dtype=np.float32)
    target = np.sin(2 * np.pi * t / PERIOD) + 0.05 * t
    covariate = np.cos(2 * np.pi * t / PERIOD)
    return np.stack([target, covariate], axis=1).astype(np.float32)


def _loop_reference(model, params, series, origins, inverse):
    """The definition, one origin at a time, with metrics and baselines in NumPy (test only)."""
    config = model.config
    horizon, targets = config.horizon, config.num_targets
    apply_one = jax.jit(model.apply)
    values = np.asarray(inverse(jnp.asarray(series[:, :targets])), np.float64)  # evaluation units
    first = int(origins.min())
    scale = np.mean(np.abs(values[PERIOD:first] - values[: first - PERIOD]), axis=0)
    rows = {
        name: {metric: [] for metric in ("mae", "rmse", "smape", "mase", "coverage")}
        for name in ("model", "naive", "seasonal_naive")
    }
    for origin in origins:
        window = jnp.asarray(series[None, origin - LOOKBACK : origin])
        covariates = jnp.asarray(series[None, origin : origin + horizon, targets:])
        forecast = apply_one(params, window, future_covariates=covariates)
        actual = values[origin : origin + horizon]
        season = values[origin - PERIOD : origin]
        predictions = {
            "model": np.asarray(inverse(forecasting.point_forecast(forecast)[0])),
            "naive": np.repeat(values[origin - 1 : origin], horizon, axis=0),
            "seasonal_naive": season[np.arange(horizon) % PERIOD],
        }
        for name, predicted in predictions.items():
            error = np.abs(actual - predicted)
            rows[name]["mae"].append(error.mean())
            rows[name]["rmse"].append(np.sqrt(np.mean(np.square(error), axis=0)).mean())
            rows[name]["smape"].append((200 * error / (np.abs(actual) + np.abs(predicted))).mean())
            rows[name]["mase"].append((error.mean(axis=0) / scale).mean())
        lower, upper = forecasting.interval(forecast, 0.9)
        lower, upper = np.asarray(inverse(lower[0])), np.asarray(inverse(upper[0]))
        rows["model"]["coverage"].append(np.mean((actual >= lower) & (actual <= upper)))
    return rows


def test_backtest_equals_a_python_loop_over_origins(series):
    config = ForecasterConfig(
        horizon=3,
        input_size=2,
        num_targets=1,
        hidden=4,
        strategy="autoregressive",
        likelihood="gaussian",
        cell="gru",
    )
    model = forecasting.forecaster(config)
    params = model.init(jax.random.key(0))
    origins = forecasting.rolling_origins(LENGTH, 3, 30, stride=2)
    result = forecasting.backtest(
        model,
        params,
        series,
        origins,
        lookback=LOOKBACK,
        period=PERIOD,
        inverse_transform=_to_units,
        interval_level=0.9,
    )
    expected = _loop_reference(model, params, series, origins, _to_units)

    assert result.actuals.shape == (origins.size, 3, 1)
    assert set(result.forecasts) == {"model", "naive", "seasonal_naive"}
    for method, metrics in expected.items():
        for metric, values in metrics.items():
            if not values:
                assert metric not in result.metrics[method]
                continue
            np.testing.assert_allclose(
                result.metrics[method][metric],
                values,
                rtol=1e-4,
                atol=1e-4,
                err_msg=f"{method} {metric}",
            )
            assert result.summary[method][metric] == pytest.approx(
                np.mean(values), rel=1e-4, abs=1e-4
            )
    assert bool((result.lower <= result.forecasts["model"]).all())
    assert bool((result.forecasts["model"] <= result.upper).all())
    assert "seasonal_naive" in result.table()


def test_backtest_is_one_compiled_call_over_all_origins(series, monkeypatch):
    config = ForecasterConfig(
        horizon=2, input_size=2, num_targets=2, hidden=4
    )  # a config no other test uses
    model = forecasting.forecaster(config)
    params = model.init(jax.random.key(1))
    traced = []
    original = _model.apply

    def counting_apply(*args, **kwargs):
        traced.append(args[1].shape)
        return original(*args, **kwargs)

    monkeypatch.setattr(_model, "apply", counting_apply)
    compiled_before = _backtest._backtest_core._cache_size()
    origins = np.arange(10, 30)
    forecasting.backtest(model, params, series, origins, lookback=LOOKBACK, period=PERIOD)
    # One batched forward pass over all 20 origins, traced once: no Python loop over origins.
    assert traced == [(20, LOOKBACK, 2)]
    assert _backtest._backtest_core._cache_size() == compiled_before + 1
    # Other origins (same count) reuse the compiled program.
    forecasting.backtest(
        model, params, series, origins + 5, lookback=LOOKBACK, period=PERIOD, scale_end=10
    )
    assert _backtest._backtest_core._cache_size() == compiled_before + 1
    assert len(traced) == 1


def test_backtest_rejects_bad_origins_and_series(series):
    model = forecasting.forecaster(ForecasterConfig(horizon=3, input_size=2, hidden=4))
    params = model.init(jax.random.key(2))
    with pytest.raises(ValueError, match=r"origins must lie in \[6, 37\]"):
        forecasting.backtest(model, params, series, [3, 10], lookback=LOOKBACK, period=PERIOD)
    with pytest.raises(ValueError, match=r"origins must lie in \[6, 37\]"):
        forecasting.backtest(model, params, series, [38], lookback=LOOKBACK, period=PERIOD)
    with pytest.raises(ValueError, match="non-empty 1-D integer"):
        forecasting.backtest(model, params, series, [], lookback=LOOKBACK, period=PERIOD)
    broken = series.copy()
    broken[5, 1] = np.nan
    with pytest.raises(ValueError, match=r"non-finite values .* positions \[5\]"):
        forecasting.backtest(model, params, broken, [10], lookback=LOOKBACK, period=PERIOD)
    with pytest.raises(ValueError, match="input_size=2"):
        forecasting.backtest(model, params, series[:, 0], [10], lookback=LOOKBACK, period=PERIOD)
    with pytest.raises(ValueError, match="lookback"):
        forecasting.backtest(model, params, series, [10], lookback=0, period=PERIOD)


def test_rolling_origins():
    assert forecasting.rolling_origins(10, 3, 5).tolist() == [5, 6, 7]
    assert forecasting.rolling_origins(10, 3, 5, stride=2).tolist() == [5, 7]
    with pytest.raises(ValueError, match="leaves no room"):
        forecasting.rolling_origins(10, 3, 8)
    with pytest.raises(ValueError, match="stride"):
        forecasting.rolling_origins(10, 3, 5, stride=0)
