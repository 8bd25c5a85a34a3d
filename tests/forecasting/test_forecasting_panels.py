"""A ragged panel end to end: windows with static covariates, ``training.fit``, and the panel
backtest with per-series and pooled scores (each series' MASE on its own scale)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rnnax import data, forecasting, training
from rnnax.forecasting import ForecasterConfig, _backtest

LOOKBACK, HORIZON = 6, 2
LENGTHS = (40, 31, 52)
STATIC = np.array([[0.0, 1.0], [1.0, -1.0], [2.0, 0.5]])
METRICS = ["coverage", "crps", "mae", "mase", "rmse", "smape"]


def _panel() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [
        (1.0 + index) * np.sin(np.arange(length) / 3.0) + 0.1 * rng.normal(size=length)
        for index, length in enumerate(LENGTHS)
    ]


def _in_units(values: jax.Array) -> jax.Array:
    return 2.0 * values + 10.0


@pytest.fixture(scope="module")
def fitted():
    """A tiny Gaussian forecaster fitted on the training windows of the ragged panel."""
    panel = _panel()
    split = data.panel_split(
        panel, LOOKBACK, HORIZON, validation=0.15, test=0.2, static_covariates=STATIC
    )
    config = ForecasterConfig(horizon=HORIZON, hidden=4, num_static=2, likelihood="gaussian")
    model = forecasting.forecaster(config)
    result = training.fit(
        model,
        model.init(jax.random.key(0)),
        split.train,
        split.validation,
        epochs=3,
        batch_size=16,
        learning_rate=0.02,
        progress=False,
    )
    return model, result, panel, split


def test_fit_on_a_ragged_panel_with_static_covariates(fitted) -> None:
    model, result, _, split = fitted
    assert split.train.static_covariates.shape == (split.train.inputs.shape[0], 2)
    assert set(split.train.series_index.tolist()) == {0, 1, 2}
    losses = result.history.train_loss
    assert len(losses) == 3 and np.isfinite(losses).all() and losses[-1] < losses[0]
    # The static covariates are read: moving them moves the loss.
    moved = split.train._replace(static_covariates=split.train.static_covariates + 1.0)
    assert float(model.loss(result.params, moved)) != float(model.loss(result.params, split.train))


def test_panel_backtest_scores_each_series_and_pools_them(fitted) -> None:
    model, result, panel, split = fitted
    scored = forecasting.backtest_panel(
        model, result.params, panel, lookback=LOOKBACK, test=0.2, static_covariates=STATIC
    )
    assert len(scored.series) == 3
    assert sorted(scored.summary) == ["model", "naive", "seasonal_naive"]
    assert sorted(scored.metrics["model"]) == METRICS
    assert sorted(scored.metrics["naive"]) == ["mae", "mase", "rmse", "smape"]
    for index, own in enumerate(scored.series):
        # The origins are the test windows of panel_split with the same test segment.
        expected = split.test.target_start[split.test.series_index == index]
        np.testing.assert_array_equal(own.origins, expected)
        assert own.actuals.shape == (expected.size, HORIZON, 1)
        assert own.lower.shape == own.upper.shape == own.actuals.shape
        for method, scores in own.metrics.items():
            for name, values in scores.items():
                assert values.shape == (expected.size,), (method, name)
                assert scored.metrics[method][name][index] == pytest.approx(np.mean(values))
    for method, scores in scored.metrics.items():
        for name, values in scores.items():
            assert values.shape == (3,) and np.isfinite(values).all()
            assert scored.summary[method][name] == pytest.approx(np.mean(values))
    table = scored.table(("mae", "mase", "crps"), label="gaussian lstm")
    assert table.splitlines()[0].split() == ["method", "mae", "mase", "crps"]
    assert table.splitlines()[1].startswith("gaussian lstm")


def test_each_series_scores_as_its_own_backtest(fitted) -> None:
    """Padding the panel to one length and one origin count changes no score, the MASE
    included (each series on its own scale), also through an inverse transform."""
    model, result, panel, _ = fitted
    origins = [np.array([20, 25, 30]), np.array([12, 29]), np.array([40, 14, 50, 33])]
    scored = forecasting.backtest_panel(
        model,
        result.params,
        panel,
        lookback=LOOKBACK,
        origins=origins,
        period=3,
        inverse_transform=_in_units,
        static_covariates=STATIC,
    )
    for index, series in enumerate(panel):
        alone = forecasting.backtest(
            model,
            result.params,
            series,
            origins[index],
            lookback=LOOKBACK,
            period=3,
            inverse_transform=_in_units,
            static_covariates=STATIC[index],
        )
        own = scored.series[index]
        np.testing.assert_array_equal(own.origins, origins[index])
        np.testing.assert_allclose(own.forecasts["model"], alone.forecasts["model"], rtol=1e-6)
        for method, scores in alone.metrics.items():
            for name, values in scores.items():
                np.testing.assert_allclose(
                    own.metrics[method][name], values, rtol=1e-5, atol=1e-6, err_msg=name
                )
            assert own.summary[method] == pytest.approx(alone.summary[method], rel=1e-5)


def test_a_ragged_panel_compiles_one_backtest() -> None:
    model = forecasting.forecaster(ForecasterConfig(horizon=3, hidden=3))
    params = model.init(jax.random.key(1))
    panel = [np.cos(np.arange(length) / 4.0) for length in (37, 44, 58, 61, 70)]
    before = _backtest._backtest_core._cache_size()
    first = forecasting.backtest_panel(model, params, panel, lookback=5, test=0.3)
    assert _backtest._backtest_core._cache_size() - before <= 1  # not one per series length
    again = forecasting.backtest_panel(model, params, panel, lookback=5, test=0.3)
    assert _backtest._backtest_core._cache_size() - before <= 1
    assert [own.origins.size for own in first.series] == [9, 11, 15, 16, 19]
    assert first.summary == again.summary
    # An array panel is iterated over its series; the last k origins come from test=horizon+k-1.
    last = forecasting.backtest_panel(
        model, params, np.stack([panel[3], panel[4][:61]]), lookback=5, test=6
    )
    assert [own.origins.tolist() for own in last.series] == [[55, 56, 57, 58]] * 2


def _bad_calls():
    config = ForecasterConfig(horizon=HORIZON, hidden=2, num_static=1)
    model = forecasting.forecaster(config)
    params = model.init(jax.random.key(0))
    panel = [np.arange(30.0), np.arange(20.0)]
    static = np.ones((2, 1))

    def run(panel=panel, **options):
        options = {"lookback": LOOKBACK, "static_covariates": static} | options
        return lambda: forecasting.backtest_panel(model, params, panel, **options)

    with_nan = np.where(np.arange(20) == 7, np.nan, np.arange(20.0))
    return [
        (run([]), ValueError, r"panel must hold at least one series, got none"),
        (run(np.arange(5.0)), ValueError, r"panel must be a sequence .* got shape \(5,\)"),
        (run([panel[0], with_nan]), ValueError, r"panel\[1\]: series has non-finite values"),
        (run([panel[0], np.ones((20, 2))]), ValueError, r"panel\[1\]: series must have shape"),
        (run([panel[0], ["a"] * 20]), TypeError, r"panel\[1\]: series must be a real numeric"),
        (
            run(static_covariates=None),
            ValueError,
            r"static_covariates \[N=2, num_static=1\] of the series are required",
        ),
        (
            run(static_covariates=np.ones((3, 1))),
            ValueError,
            r"static_covariates must be finite with shape \(2, 1\) \(one row per series\), "
            r"got shape \(3, 1\)",
        ),
        (
            run(static_covariates=[[1.0], [np.inf]]),
            ValueError,
            r"static_covariates must be finite with shape \(2, 1\)",
        ),
        (
            run(static_covariates=[[1.0], [2.0, 3.0]]),
            TypeError,
            r"static_covariates must be a real numeric array, could not convert it",
        ),
        (
            run(static_covariates=[["a"], ["b"]]),
            TypeError,
            r"static_covariates must be a real numeric array",
        ),
        (
            run(test=0.2, origins=[[20], [15]]),
            ValueError,
            r"give the origins as test .* or origins, not both",
        ),
        (run(test=0.05), ValueError, r"panel\[1\]: the test segment \[19, 20\) holds no forecast"),
        (run(test=25), ValueError, r"panel\[1\]: test as a count of time steps must lie in"),
        (run(test="0.2"), TypeError, r"panel\[0\]: test must be a fraction"),
        (run(origins=[[20]]), ValueError, r"origins must hold one array per series .* \(2\)"),
        (run(origins=np.array([20, 15])), TypeError, r"origins must be a sequence of one"),
        (run(origins=[[20], [19]]), ValueError, r"panel\[1\]: origins must lie in \[6, 18\]"),
        (run(origins=[[20], [1.5]]), TypeError, r"panel\[1\]: origins must be a non-empty"),
        (
            run(origins=[[20], [10]], lookback=1, period=10),
            ValueError,
            r"panel\[1\]: the first origin 10 leaves no more than period=10 steps",
        ),
        (run(lookback=0), ValueError, r"lookback must be an integer >= 1, got 0"),
        (run(stride="2"), TypeError, r"stride must be an integer"),
        (run(period=1.5), TypeError, r"period must be an integer"),
        (
            lambda: forecasting.backtest_panel("lstm", params, panel, lookback=LOOKBACK),
            TypeError,
            r"model must be a Forecaster or a ForecasterConfig, got str",
        ),
        (
            lambda: forecasting.backtest_panel(
                forecasting.forecaster(ForecasterConfig(horizon=HORIZON, hidden=2)),
                params,
                panel,
                lookback=LOOKBACK,
                static_covariates=static,
            ),
            ValueError,
            r"static_covariates were given but the config has num_static=0",
        ),
        (
            run(inverse_transform=lambda v: v[..., :1, :]),
            ValueError,
            r"inverse_transform must be elementwise",
        ),
    ]


@pytest.mark.parametrize(("call", "error", "match"), _bad_calls())
def test_bad_panel_backtests_are_refused_by_name(call, error, match) -> None:
    with pytest.raises(error, match=match) as info:
        call()
    assert type(info.value) is error


def test_windows_without_static_covariates_are_refused_by_a_static_model() -> None:
    windows = data.sliding_windows(_panel(), LOOKBACK, HORIZON, panel=True)
    model = forecasting.forecaster(ForecasterConfig(horizon=HORIZON, hidden=2, num_static=2))
    with pytest.raises(ValueError, match=r"static_covariates"):
        model.loss(model.init(jax.random.key(0)), windows)
    with_static = data.sliding_windows(
        _panel(), LOOKBACK, HORIZON, panel=True, static_covariates=STATIC
    )
    assert jnp.isfinite(model.loss(model.init(jax.random.key(0)), with_static))
