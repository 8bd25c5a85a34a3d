"""Forecaster models: shapes, decoding against hand loops, Gaussian intervals, losses, errors."""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rnnax
from rnnax import data, evaluation, forecasting
from rnnax.forecasting import ForecasterConfig, GaussianForecast

LOOKBACK = 6
HIDDEN = 4
BATCH = 3

# A few shared configs, so that each compiled program is reused by several tests.
AR_LSTM_COVARIATES = ForecasterConfig(
    horizon=3,
    input_size=3,
    num_targets=1,
    cell="lstm",
    hidden=HIDDEN,
    num_layers=2,
    strategy="autoregressive",
)
AR_GRU_GAUSSIAN = ForecasterConfig(
    horizon=3,
    cell="gru",
    reset_after=True,
    hidden=HIDDEN,
    strategy="autoregressive",
    likelihood="gaussian",
    centering="last",
)
DIRECT_GRU_TWO_TARGETS = ForecasterConfig(
    horizon=3, input_size=2, num_targets=2, cell="gru", hidden=HIDDEN, num_layers=2
)
DIRECT_LSTM_GAUSSIAN_DROPOUT = ForecasterConfig(
    horizon=3,
    hidden=HIDDEN,
    num_layers=2,
    likelihood="gaussian",
    dropout_rate=0.5,
    centering="mean",
)
CONFIGS = [
    AR_LSTM_COVARIATES,
    AR_GRU_GAUSSIAN,
    DIRECT_GRU_TWO_TARGETS,
    DIRECT_LSTM_GAUSSIAN_DROPOUT,
]


def _inputs(rng: np.random.Generator, *shape: int) -> jax.Array:
    return jnp.asarray(rng.normal(size=shape).astype(np.float32))


def _covariates(
    rng: np.random.Generator, config: ForecasterConfig, *batch_shape: int
) -> jax.Array | None:
    if config.strategy == "autoregressive" and config.num_covariates:
        return _inputs(rng, *batch_shape, config.horizon, config.num_covariates)
    return None


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"{c.strategy}-{c.likelihood}-{c.cell}")
def test_forecast_shapes_for_every_strategy_and_head(rng, config):
    model = forecasting.forecaster(config)
    params = model.init(jax.random.key(0))
    forecast = model.apply(
        params,
        _inputs(rng, BATCH, LOOKBACK, config.input_size),
        future_covariates=_covariates(rng, config, BATCH),
    )
    mean = forecasting.point_forecast(forecast)
    assert mean.shape == (BATCH, config.horizon, config.num_targets)
    assert mean.dtype == jnp.float32
    if config.likelihood == "gaussian":
        assert isinstance(forecast, GaussianForecast)
        assert forecast.scale.shape == mean.shape
        assert bool((forecast.scale > 0).all())
    else:
        assert isinstance(forecast, jax.Array)


@pytest.mark.parametrize("batch_shape", [(), (2, 3)])
def test_any_number_of_batch_axes(rng, batch_shape):
    config = AR_LSTM_COVARIATES
    params = forecasting.init(jax.random.key(0), config)
    forecast = forecasting.apply(
        params,
        _inputs(rng, *batch_shape, LOOKBACK, config.input_size),
        config=config,
        future_covariates=_covariates(rng, config, *batch_shape),
    )
    assert forecast.shape == (*batch_shape, config.horizon, 1)


def test_head_size_depends_on_strategy_and_likelihood():
    direct = forecasting.init(jax.random.key(0), DIRECT_LSTM_GAUSSIAN_DROPOUT)
    stepwise = forecasting.init(jax.random.key(0), AR_LSTM_COVARIATES)
    assert direct.head.w.shape == (HIDDEN, 3 * 2)
    assert stepwise.head.w.shape == (HIDDEN, 1)
    # A fresh Gaussian head predicts unit scale (softplus of the scale bias is 1).
    assert np.allclose(jax.nn.softplus(direct.head.b.reshape(3, 2)[:, 1]), 1.0)


def _stack(config: ForecasterConfig):
    if config.cell == "lstm":
        return rnnax.lstm_stack
    return functools.partial(rnnax.gru_stack, reset_after=config.reset_after)


@functools.partial(jax.jit, static_argnums=1)  # one compile for the whole Python loop
def _hand_decode(params, config, window, covariates):
    """The autoregressive definition, one window at a time, with a Python loop over steps."""
    stack = _stack(config)
    carry, ys = stack(params.encoder, window)
    hidden = ys[-1]
    outputs = []
    for step in range(config.horizon):
        output = hidden @ params.head.w + params.head.b
        outputs.append(output)
        if step + 1 < config.horizon:
            fed_back = output[: config.num_targets]  # the mean for a Gaussian head
            x = fed_back if covariates is None else jnp.concatenate([fed_back, covariates[step]])
            carry, ys = stack(params.encoder, x[None, :], carry)
            hidden = ys[0]
    return jnp.stack(outputs)


@pytest.mark.parametrize(
    "config", [AR_LSTM_COVARIATES, AR_GRU_GAUSSIAN], ids=["lstm-covariates", "gru-gaussian"]
)
def test_autoregressive_decoding_equals_a_hand_loop(rng, config):
    params = forecasting.init(jax.random.key(1), config)
    windows = _inputs(rng, BATCH, LOOKBACK, config.input_size)
    covariates = _covariates(rng, config, BATCH)
    forecast = forecasting.apply(params, windows, config=config, future_covariates=covariates)

    for index in range(windows.shape[0]):
        window = windows[index]
        center = (
            window[-1:, : config.num_targets]
            if config.centering == "last"
            else jnp.zeros((1, config.num_targets))
        )
        centered = jnp.concatenate(
            [window[:, : config.num_targets] - center, window[:, config.num_targets :]], axis=1
        )
        raw = _hand_decode(
            params, config, centered, None if covariates is None else covariates[index]
        )
        mean = raw[:, : config.num_targets] + center
        np.testing.assert_allclose(
            forecasting.point_forecast(forecast)[index], mean, rtol=1e-5, atol=1e-5
        )
        if config.likelihood == "gaussian":
            scale = jax.nn.softplus(raw[:, config.num_targets :]) + 1e-4
            np.testing.assert_allclose(forecast.scale[index], scale, rtol=1e-5, atol=1e-6)


def test_direct_forecast_is_the_head_on_the_last_hidden_state(rng):
    config = DIRECT_GRU_TWO_TARGETS
    params = forecasting.init(jax.random.key(2), config)
    windows = _inputs(rng, BATCH, LOOKBACK, 2)
    _, ys = jax.jit(rnnax.gru_stack)(params.encoder, windows)
    expected = (ys[:, -1] @ params.head.w + params.head.b[None]).reshape(BATCH, 3, 2)
    np.testing.assert_allclose(
        forecasting.apply(params, windows, config=config), expected, rtol=1e-6, atol=1e-6
    )


@pytest.mark.parametrize(
    "config", [AR_GRU_GAUSSIAN, DIRECT_LSTM_GAUSSIAN_DROPOUT], ids=["last", "mean"]
)
def test_centering_makes_forecasts_shift_with_the_level(rng, config):
    params = forecasting.init(jax.random.key(3), config)
    windows = _inputs(rng, BATCH, LOOKBACK, 1)
    shifted = forecasting.apply(params, windows + 10.0, config=config)
    plain = forecasting.apply(params, windows, config=config)
    np.testing.assert_allclose(shifted.mean, plain.mean + 10.0, atol=1e-4)
    np.testing.assert_allclose(shifted.scale, plain.scale, atol=1e-5)


def test_gaussian_intervals_contain_the_mean_and_widen_with_the_level(rng):
    config = DIRECT_LSTM_GAUSSIAN_DROPOUT
    params = forecasting.init(jax.random.key(4), config)
    forecast = forecasting.apply(params, _inputs(rng, BATCH, LOOKBACK, 1), config=config)
    previous_width = None
    for level in (0.5, 0.8, 0.95, 0.99):
        lower, upper = forecasting.interval(forecast, level)
        assert bool(((lower < forecast.mean) & (forecast.mean < upper)).all())
        np.testing.assert_allclose(forecast.mean - lower, upper - forecast.mean, rtol=1e-5)
        width = upper - lower
        if previous_width is not None:
            assert bool((width > previous_width).all())
        previous_width = width
    lower, upper = forecasting.interval(GaussianForecast(jnp.zeros(1), jnp.ones(1)), 0.95)
    np.testing.assert_allclose(upper, [1.959964], rtol=1e-6)


def test_interval_rejects_point_forecasts_and_bad_levels():
    with pytest.raises(TypeError, match="likelihood 'gaussian', 'student_t' or 'quantile'"):
        forecasting.interval(jnp.zeros((3, 1)))
    for level in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="level"):
            forecasting.interval(GaussianForecast(jnp.zeros(1), jnp.ones(1)), level)
    with pytest.raises(TypeError, match="level"):
        forecasting.interval(GaussianForecast(jnp.zeros(1), jnp.ones(1)), True)


def test_dropout_is_active_only_with_a_key_and_is_seeded(rng):
    config = DIRECT_LSTM_GAUSSIAN_DROPOUT
    params = forecasting.init(jax.random.key(5), config)
    windows = _inputs(rng, BATCH, LOOKBACK, 1)
    plain = forecasting.apply(params, windows, config=config).mean
    np.testing.assert_array_equal(plain, forecasting.apply(params, windows, config=config).mean)
    first = forecasting.apply(params, windows, config=config, key=jax.random.key(0)).mean
    again = forecasting.apply(params, windows, config=config, key=jax.random.key(0)).mean
    other = forecasting.apply(params, windows, config=config, key=jax.random.key(1)).mean
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, plain)
    assert not np.allclose(first, other)


def test_losses_are_mse_and_gaussian_nll_and_accept_windows(rng):
    t = np.arange(LOOKBACK + 3 + BATCH - 1.0)
    windows = data.sliding_windows(
        np.stack([np.sin(t / 3), np.cos(t / 3)], axis=1), LOOKBACK, 3
    )  # BATCH windows
    point = forecasting.forecaster(DIRECT_GRU_TWO_TARGETS)
    params = point.init(jax.random.key(6))
    predicted = point.apply(params, jnp.asarray(windows.inputs))
    expected = jnp.mean(jnp.square(predicted - windows.targets))
    np.testing.assert_allclose(point.loss(params, windows), expected, rtol=1e-6)
    np.testing.assert_allclose(
        point.loss(params, (windows.inputs, windows.targets)), expected, rtol=1e-6
    )

    gaussian = forecasting.forecaster(DIRECT_LSTM_GAUSSIAN_DROPOUT)
    params = gaussian.init(jax.random.key(6))
    inputs, targets = windows.inputs[..., :1], windows.targets[..., :1]
    forecast = gaussian.apply(params, jnp.asarray(inputs))
    expected = evaluation.gaussian_nll(targets, forecast.mean, forecast.scale, axis=None)
    np.testing.assert_allclose(
        gaussian.loss(params, forecasting.ForecastBatch(inputs, targets)), expected, rtol=1e-6
    )


@pytest.mark.parametrize(
    ("changes", "field", "error"),
    [
        ({"horizon": 0}, "horizon", ValueError),
        ({"horizon": 2.5}, "horizon", TypeError),
        ({"horizon": True}, "horizon", TypeError),
        ({"hidden": -1}, "hidden", ValueError),
        ({"hidden": "32"}, "hidden", TypeError),
        ({"num_layers": 0}, "num_layers", ValueError),
        ({"input_size": 0}, "input_size", ValueError),
        ({"num_targets": 2}, "num_targets", ValueError),
        ({"cell": "rnn"}, "cell", ValueError),
        ({"cell": 3}, "cell", TypeError),
        ({"strategy": "seq2seq"}, "strategy", ValueError),
        ({"likelihood": "poisson"}, "likelihood", ValueError),
        ({"likelihood": None}, "likelihood", TypeError),
        ({"centering": "median"}, "centering", ValueError),
        ({"dropout_rate": 1.0}, "dropout_rate", ValueError),
        ({"dropout_rate": -0.1}, "dropout_rate", ValueError),
        ({"dropout_rate": "0.1"}, "dropout_rate", TypeError),
        ({"reset_after": True}, "reset_after", ValueError),
        ({"reset_after": "yes", "cell": "gru"}, "reset_after", TypeError),
    ],
)
def test_bad_config_raises_the_rules_error_naming_the_field(changes, field, error):
    """A wrong type is a TypeError, a wrong value a ValueError; both name the field."""
    arguments = {"horizon": 3, **changes}
    with pytest.raises(error, match=rf"ForecasterConfig\.{field}\b"):
        ForecasterConfig(**arguments)


def test_config_is_frozen_and_hashable():
    config = ForecasterConfig(horizon=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.hidden = 8  # type: ignore[misc]
    assert hash(config) == hash(ForecasterConfig(horizon=3))
    with pytest.raises(TypeError, match="ForecasterConfig"):
        forecasting.forecaster({"horizon": 3})  # type: ignore[arg-type]


def test_apply_checks_inputs_and_covariates(rng):
    config = AR_LSTM_COVARIATES
    params = forecasting.init(jax.random.key(8), config)
    with pytest.raises(ValueError, match="input_size=3"):
        forecasting.apply(params, _inputs(rng, 3, LOOKBACK, 1), config=config)
    with pytest.raises(ValueError, match=r"future_covariates .* are required"):
        forecasting.apply(params, _inputs(rng, 3, LOOKBACK, 3), config=config)
    with pytest.raises(ValueError, match=r"future_covariates must have shape \(3, 3, 2\)"):
        forecasting.apply(
            params,
            _inputs(rng, 3, LOOKBACK, 3),
            config=config,
            future_covariates=_inputs(rng, 3, 2, 2),
        )
    direct = ForecasterConfig(horizon=2, hidden=HIDDEN)
    with pytest.raises(ValueError, match="future_covariates were given but this config reads none"):
        forecasting.apply(
            forecasting.init(jax.random.key(8), direct),
            _inputs(rng, 3, LOOKBACK, 1),
            config=direct,
            future_covariates=_inputs(rng, 3, 2, 1),
        )
    model = forecasting.forecaster(direct)
    with pytest.raises(ValueError, match="targets must have the forecast's shape"):
        model.loss(
            model.init(jax.random.key(8)), (_inputs(rng, 3, LOOKBACK, 1), _inputs(rng, 3, 5, 1))
        )
    with pytest.raises(TypeError, match="batch must be"):
        model.loss(model.init(jax.random.key(8)), _inputs(rng, 3, LOOKBACK, 1))
