"""The forecast heads beside the Gaussian: Student's t and quantiles; their losses, intervals,
quantiles and the CRPS, against float64 SciPy / NumPy references."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats

from rnnax import _distributions, evaluation, forecasting
from rnnax.forecasting import ForecasterConfig

LOOKBACK = 6


def _model_and_params(**changes):
    config = ForecasterConfig(horizon=3, hidden=4, **changes)
    model = forecasting.forecaster(config)
    return model, model.init(jax.random.key(0))


def _scrambled(params, scale):
    """Parameters with a large random head, so the raw outputs span a wide range."""
    w = scale * jax.random.normal(jax.random.key(1), params.head.w.shape)
    b = scale * jax.random.normal(jax.random.key(2), params.head.b.shape)
    return params._replace(head=forecasting.DenseParams(w, b))


def test_student_t_distribution_functions_match_scipy():
    z = np.linspace(-30.0, 30.0, 61)
    for df in (2.05, 3.0, 7.5, 100.0):
        np.testing.assert_allclose(
            _distributions.student_t_cdf(jnp.asarray(z, jnp.float32), jnp.float32(df)),
            stats.t.cdf(z, df),
            atol=5e-6,  # float32's incomplete beta function
        )
        np.testing.assert_allclose(
            _distributions.student_t_logpdf(jnp.asarray(z, jnp.float32), jnp.float32(df)),
            stats.t.logpdf(z, df),
            rtol=1e-5,
            atol=1e-5,
        )
        levels = np.array([0.001, 0.025, 0.1, 0.5, 0.7, 0.975, 0.999])
        np.testing.assert_allclose(
            _distributions.student_t_quantile(
                jnp.asarray(levels, jnp.float32), jnp.full(levels.shape, df, jnp.float32)
            ),
            stats.t.ppf(levels, df),
            rtol=2e-5,
            atol=1e-6,
        )


def test_probabilistic_scores_match_float64_references():
    rng = np.random.default_rng(0)
    y, loc = rng.normal(size=5), rng.normal(size=5)
    scale, df = rng.uniform(0.5, 2.0, size=5), rng.uniform(2.5, 9.0, size=5)
    as32 = lambda a: jnp.asarray(a, jnp.float32)
    np.testing.assert_allclose(
        evaluation.student_t_nll(as32(y), as32(loc), as32(scale), as32(df)),
        -np.mean(stats.t.logpdf(y, df, loc=loc, scale=scale)),
        rtol=1e-5,
    )

    def crps_by_integration(y, mean, std):  # the definition: integral of (F(x) - 1[x >= y])^2
        cdf = stats.norm(mean, std).cdf
        below = integrate.quad(lambda x: cdf(x) ** 2, mean - 40 * std, y)[0]
        above = integrate.quad(lambda x: (1 - cdf(x)) ** 2, y, mean + 40 * std)[0]
        return below + above

    reference = np.mean([crps_by_integration(*args) for args in zip(y, loc, scale, strict=True)])
    np.testing.assert_allclose(
        evaluation.crps_gaussian(as32(y), as32(loc), as32(scale)), reference, rtol=1e-5
    )
    levels = tuple(np.arange(1, 1000) / 1000)
    grid = stats.norm.ppf(np.asarray(levels))[None] * scale[:, None] + loc[:, None]
    approximate = evaluation.crps_quantiles(as32(y), as32(grid), levels)
    np.testing.assert_allclose(approximate, reference, rtol=5e-3)
    # Pinball losses by hand: 2 * mean over levels of max(q d, (q - 1) d).
    q = np.array([0.2, 0.5, 0.8])
    d = y[:, None] - grid[:, [199, 499, 799]]
    by_hand = np.mean(2 * np.mean(np.maximum(q * d, (q - 1) * d), axis=-1))
    got = evaluation.crps_quantiles(as32(y), as32(grid[:, [199, 499, 799]]), (0.2, 0.5, 0.8))
    np.testing.assert_allclose(got, by_hand, rtol=1e-5)


def test_quantile_head_never_crosses_and_its_loss_is_the_mean_pinball():
    levels = (0.05, 0.3, 0.5, 0.95)
    model, params = _model_and_params(likelihood="quantile", quantiles=levels)
    params = _scrambled(params, 5.0)
    inputs = jax.random.normal(jax.random.key(3), (16, LOOKBACK, 1))
    targets = jax.random.normal(jax.random.key(4), (16, 3, 1))
    forecast = model.apply(params, inputs)
    assert isinstance(forecast, forecasting.QuantileForecast)
    assert forecast.quantiles.shape == (16, 3, 1, 4) and forecast.levels == levels
    assert bool((jnp.diff(forecast.quantiles, axis=-1) >= 0).all())
    np.testing.assert_array_equal(forecasting.point_forecast(forecast), forecast.quantiles[..., 2])
    q = np.asarray(forecast.quantiles, np.float64)
    d = np.asarray(targets, np.float64)[..., None] - q
    pinball = np.maximum(np.array(levels) * d, (np.array(levels) - 1) * d).mean()
    np.testing.assert_allclose(model.loss(params, (inputs, targets)), pinball, rtol=1e-5)
    lower, upper = forecasting.interval(forecast, 0.9)
    np.testing.assert_array_equal(lower, forecast.quantiles[..., 0])
    np.testing.assert_array_equal(upper, forecast.quantiles[..., 3])
    with pytest.raises(
        ValueError, match=r"level=0.8 needs the quantile levels 0.1 and 0.9.*\[0.9\]"
    ):
        forecasting.interval(forecast, 0.8)


def test_student_t_head_and_its_intervals():
    model, params = _model_and_params(likelihood="student_t", strategy="autoregressive")
    params = _scrambled(params, 2.0)
    inputs = jax.random.normal(jax.random.key(3), (8, LOOKBACK, 1))
    targets = jax.random.normal(jax.random.key(4), (8, 3, 1))
    forecast = model.apply(params, inputs)
    assert isinstance(forecast, forecasting.StudentTForecast)
    assert bool((forecast.df > 2).all()) and bool((forecast.scale > 0).all())
    np.testing.assert_allclose(
        model.loss(params, (inputs, targets)),
        evaluation.student_t_nll(targets, forecast.loc, forecast.scale, forecast.df, axis=None),
        rtol=1e-6,
    )
    _lower, upper = forecasting.interval(forecast, 0.9)
    expected = stats.t.ppf(0.95, np.asarray(forecast.df, np.float64))
    np.testing.assert_allclose(
        (np.asarray(upper) - np.asarray(forecast.loc)) / np.asarray(forecast.scale),
        expected,
        rtol=1e-4,
    )
    grid = forecasting.quantiles(forecast, (0.1, 0.5))
    np.testing.assert_allclose(grid[..., 1], forecast.loc, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("likelihood", ["student_t", "quantile"])
def test_every_head_trains_its_whole_output(likelihood):
    """The gradient reaches every head weight and is finite."""
    model, params = _model_and_params(likelihood=likelihood)
    batch = (jnp.ones((4, LOOKBACK, 1)), jnp.full((4, 3, 1), 0.5))
    grads = jax.grad(model.loss)(params, batch)
    assert bool(jnp.isfinite(grads.head.w).all()) and bool((grads.head.w != 0).all())


def test_fresh_heads_start_at_unit_scale_and_five_degrees_of_freedom():
    model, params = _model_and_params(likelihood="student_t")
    forecast = model.apply(
        params._replace(head=params.head._replace(w=params.head.w * 0)), jnp.ones((1, 4, 1))
    )
    np.testing.assert_allclose(forecast.scale, 1.0 + 1e-4, rtol=1e-6)
    np.testing.assert_allclose(forecast.df, 5.0, rtol=1e-6)


def test_backtest_scores_every_probabilistic_head():
    series = np.sin(np.arange(60.0) / 3.0).astype(np.float32)
    origins = forecasting.rolling_origins(60, 3, 40)
    for likelihood in ("gaussian", "student_t", "quantile"):
        model, params = _model_and_params(likelihood=likelihood)
        result = forecasting.backtest(model, params, series, origins, lookback=LOOKBACK)
        assert {"coverage", "crps"} <= set(result.summary["model"]), likelihood
        assert result.lower.shape == result.actuals.shape
        assert 0.0 < result.summary["model"]["crps"] < np.inf
        if likelihood == "gaussian":  # the 99-level CRPS is within ~1% of the closed form
            forecast = model.apply(
                params, np.stack([series[o - LOOKBACK : o] for o in origins])[..., None]
            )
            exact = evaluation.crps_gaussian(
                result.actuals, forecast.mean, forecast.scale, axis=None
            )
            np.testing.assert_allclose(result.summary["model"]["crps"], exact, rtol=0.02)
    with pytest.raises(ValueError, match=r"interval_level=0.9 needs the quantile levels"):
        forecasting.backtest(model, params, series, origins, lookback=LOOKBACK, interval_level=0.9)


@pytest.mark.parametrize(
    ("quantiles", "error"),
    [
        ((0.5, 0.1), ValueError),
        ((), ValueError),
        ((0.0, 0.5), ValueError),
        ((0.5, 1.0), ValueError),
        ((0.5, 0.5), ValueError),
        ("0.5", TypeError),
        ((0.5, "0.9"), TypeError),
        (0.5, TypeError),
    ],
)
def test_bad_quantile_levels_name_the_field(quantiles, error):
    with pytest.raises(error, match=r"ForecasterConfig\.quantiles"):
        ForecasterConfig(horizon=3, likelihood="quantile", quantiles=quantiles)


def test_point_forecasts_have_no_quantiles_or_intervals():
    model, params = _model_and_params()
    forecast = model.apply(params, jnp.ones((1, 4, 1)))
    with pytest.raises(TypeError, match="probabilistic forecast"):
        forecasting.interval(forecast)
    with pytest.raises(TypeError, match="probabilistic forecast"):
        forecasting.quantiles(forecast, (0.5,))
    assert (
        ForecasterConfig(
            horizon=2, likelihood="quantile", num_targets=2, input_size=2
        ).outputs_per_step
        == 14
    )
