"""Covariates reach the model or are refused by name, never dropped: past covariates from
``rnnax.data.Windows``, known future covariates in direct forecasters, static covariates."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rnnax
from rnnax import data, forecasting, training
from rnnax.forecasting import ForecasterConfig

LOOKBACK, HORIZON = 5, 2


def _series(rng, length=40):
    return np.sin(np.arange(length) / 3.0) + 0.1 * rng.normal(size=length)


def test_past_covariates_of_windows_reach_the_model(rng):
    values = _series(rng)
    past = rng.normal(size=(40, 2))
    windows = data.sliding_windows(values, LOOKBACK, HORIZON, past_covariates=past)
    config = ForecasterConfig(horizon=HORIZON, hidden=4, input_size=3)
    model = forecasting.forecaster(config)
    params = model.init(jax.random.key(0))
    loss = model.loss(params, windows)
    moved = windows._replace(past_covariates=windows.past_covariates + 1.0)
    assert float(model.loss(params, moved)) != float(loss)  # they are read, not dropped
    by_hand = np.concatenate([windows.inputs, windows.past_covariates], axis=-1)
    np.testing.assert_array_equal(loss, model.loss(params, (by_hand, windows.targets)))

    narrow = forecasting.forecaster(ForecasterConfig(horizon=HORIZON, hidden=4))
    with pytest.raises(
        ValueError, match=r"1 value feature\(s\) and 2 past covariate\(s\).*input_size=3"
    ):
        narrow.loss(narrow.init(jax.random.key(0)), windows)


def test_fit_trains_on_windows_with_past_covariates(rng):
    windows = data.sliding_windows(
        _series(rng), LOOKBACK, HORIZON, past_covariates=rng.normal(size=40)
    )
    model = forecasting.forecaster(ForecasterConfig(horizon=HORIZON, hidden=4, input_size=2))
    result = training.fit(model, model.init(jax.random.key(0)), windows, epochs=2, progress=False)
    assert result.params.encoder[0][0].w_x.shape[0] == 2
    narrow = forecasting.forecaster(ForecasterConfig(horizon=HORIZON, hidden=4))
    with pytest.raises(ValueError, match=r"past covariate"):
        training.fit(narrow, narrow.init(jax.random.key(0)), windows, epochs=1, progress=False)


def test_direct_forecasters_read_known_future_covariates(rng):
    config = ForecasterConfig(horizon=HORIZON, hidden=4, input_size=3, num_future_covariates=1)
    assert config.future_features == 1 and config.head_inputs == 4 + HORIZON
    model = forecasting.forecaster(config)
    params = model.init(jax.random.key(0))
    assert params.head.w.shape == (4 + HORIZON, HORIZON)
    inputs = jnp.asarray(rng.normal(size=(6, LOOKBACK, 3)), jnp.float32)
    future = jnp.asarray(rng.normal(size=(6, HORIZON, 1)), jnp.float32)
    forecast = model.apply(params, inputs, future_covariates=future)
    changed = model.apply(params, inputs, future_covariates=future + 1.0)
    assert forecast.shape == (6, HORIZON, 1) and not np.allclose(forecast, changed)
    # By hand: the head reads [last hidden state, future covariates flattened over the horizon].
    _, ys = rnnax.rnn_stack(params.encoder, inputs, cell=config.encoder_cell)
    features = jnp.concatenate([ys[:, -1], future.reshape(6, -1)], axis=-1)
    by_hand = (features @ params.head.w + params.head.b[None]).reshape(6, HORIZON, 1)
    np.testing.assert_allclose(forecast, by_hand, rtol=1e-5, atol=1e-6)
    with pytest.raises(
        ValueError, match=r"future_covariates \[\.\.\., horizon=2, 1\] are required"
    ):
        model.apply(params, inputs)
    series = rng.normal(size=(40, 3)).astype(np.float32)
    result = forecasting.backtest(model, params, series, [20, 30], lookback=LOOKBACK)
    assert result.forecasts["model"].shape == (2, HORIZON, 1)


def test_static_covariates_reach_the_head_and_the_backtest(rng):
    for strategy in ("direct", "autoregressive"):
        config = ForecasterConfig(horizon=HORIZON, hidden=4, num_static=2, strategy=strategy)
        model = forecasting.forecaster(config)
        params = model.init(jax.random.key(0))
        inputs = jnp.asarray(rng.normal(size=(3, LOOKBACK, 1)), jnp.float32)
        static = jnp.asarray(rng.normal(size=(3, 2)), jnp.float32)
        first = model.apply(params, inputs, static_covariates=static)
        second = model.apply(params, inputs, static_covariates=static + 1.0)
        assert not np.allclose(first, second)
        with pytest.raises(
            ValueError, match=r"static_covariates \[\.\.\., num_static=2\] are required"
        ):
            model.apply(params, inputs)
        with pytest.raises(ValueError, match=r"static_covariates must have shape \(3, 2\)"):
            model.apply(params, inputs, static_covariates=static[:, :1])
        targets = jnp.zeros((3, HORIZON, 1))
        assert jnp.isfinite(model.loss(params, (inputs, targets, None, static)))
        result = forecasting.backtest(
            model, params, _series(rng), [20, 30], lookback=LOOKBACK, static_covariates=[0.5, 1.0]
        )
        assert np.isfinite(result.summary["model"]["mae"])
    with pytest.raises(
        ValueError, match=r"static_covariates were given but the config has num_static=0"
    ):
        plain = forecasting.forecaster(ForecasterConfig(horizon=HORIZON, hidden=4))
        plain.apply(plain.init(jax.random.key(0)), inputs, static_covariates=static)


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        ({"num_future_covariates": 2, "input_size": 2}, ValueError, r"<= 1"),
        ({"num_future_covariates": -1}, ValueError, r">= 0"),
        ({"num_future_covariates": "1"}, TypeError, r"must be an integer"),
        (
            {"num_future_covariates": 0, "input_size": 2, "strategy": "autoregressive"},
            ValueError,
            r"must be None \(all\) for strategy='autoregressive'",
        ),
        ({"num_static": -1}, ValueError, r">= 0"),
        ({"num_static": 1.5}, TypeError, r"must be an integer"),
    ],
)
def test_bad_covariate_counts_name_the_field(changes, error, match):
    with pytest.raises(error, match=match):
        ForecasterConfig(horizon=HORIZON, **changes)
