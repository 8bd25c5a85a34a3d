"""Forecasters of any cell: the reset-after GRU and a cell registered here, in the test file,
through the cell protocol alone. Each is configured by name (or by its ``rnnax.Cell``), trained
a few epochs with ``rnnax.training.fit`` and forecasts finite values of the right shape."""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rnnax
from rnnax import data, forecasting, training
from rnnax.forecasting import ForecasterConfig

HORIZON, LOOKBACK, HIDDEN = 2, 8, 4


class ToyForecastParams(NamedTuple):
    """An Elman-like cell's parameters (a type of this test's own: registered cells must not
    share one)."""

    w_x: jax.Array  # [I, H]
    w_h: jax.Array  # [H, H]
    b: jax.Array  # [H]


def toy_init(key, input_size, hidden_size, *, dtype=jnp.float32):
    k_x, k_h = jax.random.split(key)
    return ToyForecastParams(
        (
            jax.random.normal(k_x, (input_size, hidden_size), jnp.float32) / math.sqrt(input_size)
        ).astype(dtype),
        (
            0.5
            * jax.random.normal(k_h, (hidden_size, hidden_size), jnp.float32)
            / math.sqrt(hidden_size)
        ).astype(dtype),
        jnp.zeros((hidden_size,), dtype),
    )


def toy_step(params, h, x):
    bias = params.b.reshape((1,) * (h.ndim - 1) + params.b.shape)  # no rank promotion
    h = jnp.tanh(x @ params.w_x + h @ params.w_h + bias)
    return h, h


TOY = rnnax.register_cell(
    rnnax.Cell(
        name="test_forecasting_cells_toy",
        init=toy_init,
        step=toy_step,
        layout={"w_x": ("I", "H"), "w_h": ("H", "H"), "b": ("H",)},
        carry_init=lambda hidden, batch_shape, dtype: jnp.zeros((*batch_shape, hidden), dtype),
        params_type=ToyForecastParams,
    )
)


@pytest.fixture(scope="module")
def sine_split():
    series = np.sin(2 * np.pi * np.arange(96.0) / 12)
    return data.chronological_split(
        series, lookback=LOOKBACK, horizon=HORIZON, validation=12, test=8
    )


def fit_and_forecast(config, split):
    model = forecasting.forecaster(config)
    params = model.init(jax.random.key(0))
    result = training.fit(
        model,
        params,
        split.train,
        split.validation,
        epochs=4,
        batch_size=16,
        learning_rate=1e-2,
        progress=False,
    )
    return params, result, model.apply(result.params, jnp.asarray(split.test.inputs))


@pytest.mark.parametrize(
    "config",
    [
        ForecasterConfig(horizon=HORIZON, cell="gru_reset_after", hidden=HIDDEN),
        ForecasterConfig(
            horizon=HORIZON,
            cell="test_forecasting_cells_toy",
            hidden=HIDDEN,
            num_layers=2,
            centering="last",
        ),
    ],
    ids=["gru_reset_after", "registered_toy"],
)
def test_forecaster_of_any_cell_trains_and_forecasts(sine_split, config):
    params, result, forecast = fit_and_forecast(config, sine_split)
    cell = config.encoder_cell
    assert type(params.encoder[0][0]) is cell.params_type
    assert type(result.params.encoder[-1][0]) is cell.params_type  # training keeps the type
    history = result.history.train_loss
    assert len(history) == 4 and all(np.isfinite(history)) and history[-1] < history[0]
    assert forecast.shape == (sine_split.test.inputs.shape[0], HORIZON, 1)
    assert bool(jnp.isfinite(forecast).all())
    # The encoder is rnnax.rnn_stack of the cell: the direct forecast is the head on its last
    # hidden state (centering="last" shifts the window and the forecast by the last value).
    windows = jnp.asarray(sine_split.test.inputs)
    last = (
        windows[..., -1:, :] if config.centering == "last" else jnp.zeros_like(windows[..., -1:, :])
    )
    _, ys = rnnax.rnn_stack(result.params.encoder, windows - last, cell=cell)
    head = result.params.head
    expected = (ys[:, -1] @ head.w + head.b[None]).reshape(-1, HORIZON, 1) + last
    np.testing.assert_allclose(forecast, expected, rtol=1e-5, atol=1e-5)


def test_gru_reset_after_name_equals_the_reset_after_flag(rng):
    by_name = ForecasterConfig(horizon=HORIZON, cell="gru_reset_after", hidden=HIDDEN)
    by_flag = ForecasterConfig(horizon=HORIZON, cell="gru", reset_after=True, hidden=HIDDEN)
    assert by_name.encoder_cell == by_flag.encoder_cell == rnnax.GRU_RESET_AFTER
    assert ForecasterConfig(horizon=HORIZON, cell="gru").encoder_cell == rnnax.GRU
    params = forecasting.init(jax.random.key(1), by_name)
    assert type(params.encoder[0][0]) is rnnax.GRUResetAfterParams
    flag_params = forecasting.init(jax.random.key(1), by_flag)
    assert jax.tree.all(jax.tree.map(lambda a, b: bool((a == b).all()), params, flag_params))
    windows = jnp.asarray(rng.normal(size=(3, LOOKBACK, 1)), jnp.float32)
    expected = forecasting.apply(params, windows, config=by_name)
    np.testing.assert_array_equal(forecasting.apply(params, windows, config=by_flag), expected)
    # Plain GRUParams (an older init) still run in the form the config names.
    plain = params._replace(encoder=[[rnnax.GRUParams(*params.encoder[0][0])]])
    np.testing.assert_array_equal(forecasting.apply(plain, windows, config=by_flag), expected)
    # The explainer's GRU refuses reset-after weights instead of computing another function.
    explainer = ForecasterConfig(horizon=HORIZON, cell="gru", hidden=HIDDEN)
    with pytest.raises(
        TypeError,
        match=r"params.encoder holds GRUResetAfterParams but the config has cell='gru': .*"
        r"belong to cell 'gru_reset_after'",
    ):
        forecasting.apply(params, windows, config=explainer)


def test_config_takes_a_cell_object_and_validates_against_the_registry(rng):
    by_object = ForecasterConfig(horizon=HORIZON, cell=TOY, hidden=HIDDEN)
    by_name = ForecasterConfig(horizon=HORIZON, cell="test_forecasting_cells_toy", hidden=HIDDEN)
    # A registered Cell is stored as its name: equal, same hash, printable by name.
    assert by_object.cell == "test_forecasting_cells_toy"
    assert by_object == by_name and hash(by_object) == hash(by_name)
    assert by_object.encoder_cell is TOY
    assert ForecasterConfig(horizon=HORIZON, cell=rnnax.LSTM) == ForecasterConfig(horizon=HORIZON)

    # An unregistered cell is kept as it is: hashable (a static argument of jit) and usable.
    unregistered = TOY._replace(name="test_forecasting_cells_unregistered", params_type=None)
    config = ForecasterConfig(
        horizon=3,
        cell=unregistered,
        hidden=HIDDEN,
        strategy="autoregressive",
        likelihood="gaussian",
    )
    assert config.cell is unregistered and config.encoder_cell is unregistered
    assert hash(config) == hash(
        ForecasterConfig(
            horizon=3,
            cell=unregistered,
            hidden=HIDDEN,
            strategy="autoregressive",
            likelihood="gaussian",
        )
    )
    params = forecasting.init(jax.random.key(2), config)
    forecast = forecasting.apply(
        params, jnp.asarray(rng.normal(size=(2, LOOKBACK, 1)), jnp.float32), config=config
    )
    assert forecast.mean.shape == (2, 3, 1) and bool(jnp.isfinite(forecast.mean).all())
    assert bool((forecast.scale > 0).all())

    with pytest.raises(
        ValueError, match=r"ForecasterConfig\.cell must be one of \[.*'test_forecasting_cells_toy'"
    ):
        ForecasterConfig(horizon=HORIZON, cell="elmann")
    with pytest.raises(TypeError, match=r"ForecasterConfig\.cell is not a valid rnnax\.Cell"):
        ForecasterConfig(horizon=HORIZON, cell=TOY._replace(layout={}))
    with pytest.raises(
        ValueError, match=r"ForecasterConfig\.reset_after=True applies only to cell='gru'"
    ):
        ForecasterConfig(horizon=HORIZON, cell=TOY, reset_after=True)
    # Parameters of another cell are named, with the config's cell.
    lstm_params = forecasting.init(
        jax.random.key(3), ForecasterConfig(horizon=HORIZON, hidden=HIDDEN)
    )
    with pytest.raises(
        TypeError,
        match=r"params.encoder holds LSTMParams but the config has "
        r"cell='test_forecasting_cells_toy'",
    ):
        forecasting.apply(lstm_params, jnp.ones((2, LOOKBACK, 1)), config=by_name)
