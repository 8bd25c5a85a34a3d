"""Bad-input fuzzing of ``rnnax.forecasting``: config, forecasters, intervals, rolling origins
and backtests (``rnnax.evaluation``'s are in ``test_fuzz_evaluation.py``).

Every mutation of a valid call must raise exactly a ``ValueError`` or ``TypeError`` naming the
argument, before anything is compiled.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from fuzz_helpers import (
    Case,
    bad_keys,
    cases_from,
    check,
    int_mutations,
    merge,
    params,
    rate_mutations,
    stack_params,
)

from rnnax import forecasting
from rnnax.forecasting import ForecasterConfig

H = 2  # horizon
L = 6  # lookback


def _params(config: ForecasterConfig) -> forecasting.ForecasterParams:
    """Parameters of ``config``'s shapes without ``init`` (whose first call per shape compiles
    the random initializers: seconds the fuzz cases do not need)."""
    steps = config.horizon if config.strategy == "direct" else 1
    outputs = steps * config.outputs_per_step
    head = forecasting.DenseParams(
        jnp.full((config.hidden, outputs), 0.1, jnp.float32), jnp.zeros(outputs, jnp.float32)
    )
    return forecasting.ForecasterParams(
        stack_params(config.cell, config.input_size, config.hidden, num_layers=config.num_layers),
        head,
    )


CONFIG = ForecasterConfig(horizon=H, hidden=3)
MODEL = forecasting.forecaster(CONFIG)
PARAMS = _params(CONFIG)
GAUSSIAN = forecasting.forecaster(ForecasterConfig(horizon=H, hidden=3, likelihood="gaussian"))
GAUSSIAN_PARAMS = _params(GAUSSIAN.config)
AUTOREGRESSIVE = forecasting.forecaster(
    ForecasterConfig(horizon=H, hidden=3, input_size=2, strategy="autoregressive")
)
AUTOREGRESSIVE_PARAMS = _params(AUTOREGRESSIVE.config)
INPUTS = jnp.ones((4, L, 1), jnp.float32)
TARGETS = jnp.ones((4, H, 1), jnp.float32)
SERIES = np.sin(np.arange(40.0) / 3.0).astype(np.float32)
ORIGINS = forecasting.rolling_origins(40, H, 30)


# ------------------------------------------------------------------------------------------
# ForecasterConfig and the bundle
# ------------------------------------------------------------------------------------------
def _config_cases() -> dict[str, Case]:
    cases: dict[str, Case] = {}
    for field in ("horizon", "input_size", "num_targets", "hidden", "num_layers"):
        mutations = int_mutations(rf"ForecasterConfig\.{field}")
        base = {"horizon": 3, "input_size": 2} if field == "num_targets" else {"horizon": 3}
        cases |= {
            f"{field}-{label}": case
            for label, case in cases_from(
                mutations,
                lambda value, field=field, base=base: ForecasterConfig(**{**base, field: value}),
            ).items()
        }
    for field in ("cell", "strategy", "likelihood", "centering"):
        for label, value in {
            "empty": "",
            "upper_case": "LSTM",
            "none": None,
            "int": 3,
            "list": [],
        }.items():
            cases[f"{field}-{label}"] = Case(
                functools.partial(ForecasterConfig, horizon=3, **{field: value}),
                ValueError if isinstance(value, str) else TypeError,
                rf"ForecasterConfig\.{field} must be one of \[",
            )
    for label, (value, error, _) in rate_mutations("dropout_rate").items():
        cases[f"dropout_rate-{label}"] = Case(
            functools.partial(ForecasterConfig, horizon=3, dropout_rate=value),
            error,
            r"ForecasterConfig\.dropout_rate must (be a number|lie) in \[0, 1\)",
        )
    cases |= {
        "reset_after-string": Case(
            lambda: ForecasterConfig(horizon=3, cell="gru", reset_after="yes"),
            TypeError,
            r"ForecasterConfig\.reset_after must be a bool, got 'yes'",
        ),
        "reset_after-int": Case(
            lambda: ForecasterConfig(horizon=3, cell="gru", reset_after=1),
            TypeError,
            r"ForecasterConfig\.reset_after must be a bool",
        ),
        "reset_after-none": Case(
            lambda: ForecasterConfig(horizon=3, cell="gru", reset_after=None),
            TypeError,
            r"ForecasterConfig\.reset_after must be a bool",
        ),
        "reset_after-with_lstm": Case(
            lambda: ForecasterConfig(horizon=3, reset_after=True),
            ValueError,
            r"ForecasterConfig\.reset_after=True applies only to cell='gru'",
        ),
        "num_targets-above_input_size": Case(
            lambda: ForecasterConfig(horizon=3, input_size=2, num_targets=3),
            ValueError,
            r"ForecasterConfig\.num_targets must be at most input_size=2",
        ),
        "forecaster-dict": Case(
            lambda: forecasting.forecaster({"horizon": 3}),
            TypeError,
            r"config must be a ForecasterConfig, got dict",
        ),
        "forecaster-none": Case(
            lambda: forecasting.forecaster(None),
            TypeError,
            r"config must be a ForecasterConfig, got NoneType",
        ),
        "init-config_dict": Case(
            lambda: forecasting.init(jax.random.key(0), {"horizon": 2}),
            TypeError,
            r"config must be a ForecasterConfig",
        ),
    }
    for name, key in bad_keys().items():
        error = ValueError if name == "batch_of_keys" else TypeError
        cases[f"init-key-{name}"] = Case(
            functools.partial(MODEL.init, key), error, r"key must be (a single )?(a )?PRNG key"
        )
    return cases


@pytest.mark.parametrize("case", params(_config_cases()))
def test_config_bad_argument(case: Case) -> None:
    check(case)


def test_config_valid_calls_still_work() -> None:
    config = ForecasterConfig(
        horizon=np.int64(2),
        hidden=np.int32(3),
        dropout_rate=np.float32(0.25),
        cell="gru",
        reset_after=np.bool_(True),
    )
    assert config == ForecasterConfig(
        horizon=2, hidden=3, dropout_rate=0.25, cell="gru", reset_after=True
    )
    assert hash(config) == hash(
        ForecasterConfig(horizon=2, hidden=3, dropout_rate=0.25, cell="gru", reset_after=True)
    )


# ------------------------------------------------------------------------------------------
# apply, loss, interval, point_forecast
# ------------------------------------------------------------------------------------------
def _other_params(**changes) -> forecasting.ForecasterParams:
    return _params(ForecasterConfig(**{"horizon": H, "hidden": 3, **changes}))


def _apply_cases() -> dict[str, Case]:
    def apply(p=PARAMS, inputs=INPUTS, **kwargs):
        return MODEL.apply(p, inputs, **kwargs)

    covariates = jnp.ones((4, H, 1), jnp.float32)

    ar_inputs = jnp.ones((4, L, 2))

    def apply_ar(inputs=ar_inputs, **kwargs):
        return AUTOREGRESSIVE.apply(AUTOREGRESSIVE_PARAMS, inputs, **kwargs)

    cases = {
        "inputs-rank0": Case(
            lambda: apply(inputs=jnp.ones(())),
            ValueError,
            r"inputs must have shape \[\.\.\., lookback, input_size=1\], got \(\)",
        ),
        "inputs-rank1": Case(
            lambda: apply(inputs=jnp.ones(L)),
            ValueError,
            r"inputs must have shape \[\.\.\., lookback, input_size=1\], got \(6,\)",
        ),
        "inputs-wrong_features": Case(
            lambda: apply(inputs=jnp.ones((4, L, 2))),
            ValueError,
            r"inputs must have shape \[\.\.\., lookback, input_size=1\], got \(4, 6, 2\)",
        ),
        "inputs-lookback_zero": Case(
            lambda: apply(inputs=jnp.ones((4, 0, 1))),
            ValueError,
            r"inputs must have at least one time step \(lookback >= 1\), got shape \(4, 0, 1\)",
        ),
        "inputs-int": Case(
            lambda: apply(inputs=INPUTS.astype(jnp.int32)),
            TypeError,
            r"inputs must have a floating dtype \(float32, \.\.\.\), got int32",
        ),
        "inputs-bool": Case(
            lambda: apply(inputs=INPUTS > 0), TypeError, r"inputs must have a floating dtype"
        ),
        "inputs-complex": Case(
            lambda: apply(inputs=INPUTS.astype(jnp.complex64)),
            TypeError,
            r"inputs must have a floating dtype",
        ),
        "inputs-bfloat16": Case(
            lambda: apply(inputs=INPUTS.astype(jnp.bfloat16)),
            TypeError,
            r"inputs has dtype bfloat16 but params has dtype float32",
        ),
        "inputs-strings": Case(
            lambda: apply(inputs=np.full((4, L, 1), "a")),
            TypeError,
            r"inputs must have a floating dtype",
        ),
        "inputs-list": Case(
            lambda: apply(inputs=np.ones((4, L, 1)).tolist()),
            TypeError,
            r"inputs must be an array \[\.\.\., lookback, 1\], got list",
        ),
        "inputs-none": Case(lambda: apply(inputs=None), TypeError, r"inputs must be an array"),
        "inputs-string": Case(
            lambda: apply(inputs="abc"), TypeError, r"inputs must be an array .* got str"
        ),
        "params-none": Case(
            lambda: apply(p=None),
            TypeError,
            r"params must be ForecasterParams \(from init\), got NoneType",
        ),
        "params-tuple": Case(
            lambda: apply(p=tuple(PARAMS)), TypeError, r"params must be ForecasterParams"
        ),
        "params-other_cell": Case(
            lambda: apply(p=_other_params(cell="gru")),
            TypeError,
            r"params.encoder holds GRUParams but the config has cell='lstm'",
        ),
        "params-other_hidden": Case(
            lambda: apply(p=_other_params(hidden=5)),
            ValueError,
            r"params.encoder must have num_layers, directions, input_size and hidden = \(1, 1, 1, 3\) \(the config's\), got \(1, 1, 1, 5\)",
        ),
        "params-other_layers": Case(
            lambda: apply(p=_other_params(num_layers=2)),
            ValueError,
            r"params.encoder must have .* got \(2, 1, 1, 3\)",
        ),
        "params-other_input_size": Case(
            lambda: apply(p=_other_params(input_size=2)),
            ValueError,
            r"params.encoder must have .* got \(1, 1, 2, 3\)",
        ),
        "params-other_horizon": Case(
            lambda: apply(p=_other_params(horizon=H + 1)),
            ValueError,
            r"params.head.w must have shape \(3, 2\) for this config",
        ),
        "params-gaussian_head": Case(
            lambda: apply(p=GAUSSIAN_PARAMS), ValueError, r"params.head.w must have shape \(3, 2\)"
        ),
        "params-head_bfloat16": Case(
            lambda: apply(
                p=PARAMS._replace(head=PARAMS.head._replace(b=PARAMS.head.b.astype(jnp.bfloat16)))
            ),
            TypeError,
            r"params.head.b has dtype bfloat16 but params.encoder has dtype float32",
        ),
        "params-head_tuple": Case(
            lambda: apply(p=PARAMS._replace(head=tuple(PARAMS.head))),
            TypeError,
            r"params.head must be DenseParams, got tuple",
        ),
        "params-head_int": Case(
            lambda: apply(
                p=PARAMS._replace(head=PARAMS.head._replace(w=PARAMS.head.w.astype(jnp.int32)))
            ),
            TypeError,
            r"params.head.w must have a floating dtype",
        ),
        "params-encoder_empty": Case(
            lambda: apply(p=PARAMS._replace(encoder=[])),
            ValueError,
            r"layers must be a non-empty sequence",
        ),
        "config-dict": Case(
            lambda: forecasting.apply(PARAMS, INPUTS, config={"horizon": H}),
            TypeError,
            r"config must be a ForecasterConfig, got dict",
        ),
        "future_covariates-not_used": Case(
            lambda: apply(future_covariates=covariates),
            ValueError,
            r"future_covariates were given but this config reads none",
        ),
        "future_covariates-missing": Case(
            lambda: apply_ar(),
            ValueError,
            r"future_covariates \[\.\.\., horizon=2, 1\] are required",
        ),
        "future_covariates-wrong_horizon": Case(
            lambda: apply_ar(future_covariates=jnp.ones((4, H + 1, 1))),
            ValueError,
            r"future_covariates must have shape \(4, 2, 1\) \(the batch shape of inputs, horizon, num_covariates\), got \(4, 3, 1\)",
        ),
        "future_covariates-broadcastable": Case(
            lambda: apply_ar(future_covariates=jnp.ones((H, 1))),
            ValueError,
            r"future_covariates must have shape \(4, 2, 1\)",
        ),
        "future_covariates-int": Case(
            lambda: apply_ar(future_covariates=covariates.astype(jnp.int32)),
            TypeError,
            r"future_covariates must have a floating dtype",
        ),
        "future_covariates-bfloat16": Case(
            lambda: apply_ar(future_covariates=covariates.astype(jnp.bfloat16)),
            TypeError,
            r"future_covariates has dtype bfloat16 but inputs has dtype float32",
        ),
        "future_covariates-list": Case(
            lambda: apply_ar(future_covariates=np.ones((4, H, 1)).tolist()),
            TypeError,
            r"future_covariates must be an array \[4, 2, 1\], got list",
        ),
    }
    for name, key in bad_keys().items():
        if name == "none":  # no key is inference mode: valid
            continue
        error = ValueError if name == "batch_of_keys" else TypeError
        cases[f"key-{name}"] = Case(
            functools.partial(apply, key=key), error, r"key must be (a single )?(a )?PRNG key"
        )
    return cases


def _loss_cases() -> dict[str, Case]:
    def loss(batch=(INPUTS, TARGETS), **kwargs):
        return MODEL.loss(PARAMS, batch, **kwargs)

    return {
        "batch-none": Case(
            lambda: loss(None),
            TypeError,
            r"batch must be a ForecastBatch, rnnax.data.Windows or an \(inputs, targets\[, "
            r"future_covariates\[, static_covariates\]\]\) tuple, got NoneType",
        ),
        "batch-one_tuple": Case(
            lambda: loss((INPUTS,)), TypeError, r"batch must be a ForecastBatch.* got tuple"
        ),
        "batch-five_tuple": Case(
            lambda: loss((INPUTS, TARGETS, None, None, None)),
            TypeError,
            r"batch must be a ForecastBatch",
        ),
        "batch-dict": Case(
            lambda: loss({"inputs": INPUTS, "targets": TARGETS}),
            TypeError,
            r"batch must be a ForecastBatch.* got dict",
        ),
        "targets-wrong_horizon": Case(
            lambda: loss((INPUTS, jnp.ones((4, H + 1, 1)))),
            ValueError,
            r"targets must have the forecast's shape \(4, 2, 1\) \(\[\.\.\., horizon, num_targets\]\), got \(4, 3, 1\)",
        ),
        "targets-broadcastable": Case(
            lambda: loss((INPUTS, jnp.ones((H, 1)))),
            ValueError,
            r"targets must have the forecast's shape \(4, 2, 1\)",
        ),
        "targets-int": Case(
            lambda: loss((INPUTS, TARGETS.astype(jnp.int32))),
            TypeError,
            r"targets must have a floating dtype",
        ),
        "targets-list": Case(
            lambda: loss((INPUTS, np.ones((4, H, 1)).tolist())),
            TypeError,
            r"targets must be an array \[\.\.\., horizon=2, num_targets=1\], got list",
        ),
        "targets-none": Case(lambda: loss((INPUTS, None)), TypeError, r"targets must be an array"),
        "inputs-int": Case(
            lambda: loss((INPUTS.astype(jnp.int32), TARGETS)),
            TypeError,
            r"inputs must have a floating dtype",
        ),
        "inputs-wrong_features": Case(
            lambda: loss((jnp.ones((4, L, 3)), TARGETS)),
            ValueError,
            r"inputs must have shape \[\.\.\., lookback, input_size=1\]",
        ),
        "key-int": Case(lambda: loss(key=3), TypeError, r"key must be a PRNG key"),
        "params-none": Case(
            lambda: MODEL.loss(None, (INPUTS, TARGETS)),
            TypeError,
            r"params must be ForecasterParams",
        ),
    }


def _interval_cases() -> dict[str, Case]:
    forecast = forecasting.GaussianForecast(jnp.zeros(3), jnp.ones(3))
    cases = {
        "forecast-array": Case(
            lambda: forecasting.interval(jnp.zeros(3), 0.9),
            TypeError,
            r"interval needs a probabilistic forecast \(a forecaster with likelihood 'gaussian', "
            r"'student_t' or 'quantile'\), got ArrayImpl",
        ),
        "forecast-none": Case(
            lambda: forecasting.interval(None, 0.9), TypeError, r"interval needs a probabilistic"
        ),
        "point_forecast-none": Case(
            lambda: forecasting.point_forecast(None),
            TypeError,
            r"forecast must be an array, a GaussianForecast, .* got NoneType",
        ),
        "point_forecast-list": Case(
            lambda: forecasting.point_forecast([1.0]),
            TypeError,
            r"forecast must be an array, a GaussianForecast, .* got list",
        ),
    }
    for label, value in {
        "zero": 0.0,
        "one": 1.0,
        "above_one": 95,
        "negative": -0.5,
        "nan": float("nan"),
        "string": "0.9",
        "none": None,
        "bool": True,
    }.items():
        cases[f"level-{label}"] = Case(
            functools.partial(forecasting.interval, forecast, value),
            TypeError if isinstance(value, (str, bool, type(None))) else ValueError,
            r"level must be a (real|finite) number",
        )
    return cases


FORECASTER_CASES = merge(
    _apply_cases(), _loss_cases(), _interval_cases(), prefix=["apply", "loss", "interval"]
)


@pytest.mark.parametrize("case", params(FORECASTER_CASES))
def test_forecaster_bad_argument(case: Case) -> None:
    check(case)


def test_forecaster_valid_calls_still_work() -> None:
    assert jax.tree.map(jnp.shape, MODEL.init(jax.random.PRNGKey(1))) == jax.tree.map(
        jnp.shape, PARAMS
    )
    forecast = MODEL.apply(PARAMS, np.ones((4, L, 1)))  # NumPy float64 is float32 without x64
    assert forecast.shape == (4, H, 1)
    assert MODEL.loss(PARAMS, forecasting.ForecastBatch(INPUTS, TARGETS)).shape == ()
    lower, upper = forecasting.interval(GAUSSIAN.apply(GAUSSIAN_PARAMS, INPUTS), np.float32(0.9))
    assert bool((lower < upper).all())
    covariates = jnp.ones((4, H, 1))
    assert AUTOREGRESSIVE.apply(
        AUTOREGRESSIVE_PARAMS, jnp.ones((4, L, 2)), future_covariates=covariates
    ).shape == (4, H, 1)


# ------------------------------------------------------------------------------------------
# rolling_origins and backtest
# ------------------------------------------------------------------------------------------
def _rolling_origin_cases() -> dict[str, Case]:
    arguments = {"length": 40, "horizon": H, "first": 30, "stride": 1}
    cases: dict[str, Case] = {}
    for argument, minimum in (("length", 1), ("horizon", 1), ("first", 0), ("stride", 1)):
        mutations = int_mutations(argument, minimum=minimum, huge=False)
        mutations = {
            label: (value, error, rf"{argument} must be an integer")
            for label, (value, error, _) in mutations.items()
        }
        cases |= {
            f"{argument}-{label}": case
            for label, case in cases_from(
                mutations,
                lambda value, argument=argument: forecasting.rolling_origins(
                    **{**arguments, argument: value}
                ),
            ).items()
        }
    cases["first-past_the_end"] = Case(
        lambda: forecasting.rolling_origins(40, H, 39),
        ValueError,
        r"first=39 leaves no room for a horizon of 2 in a series of length 40",
    )
    cases["horizon-longer_than_series"] = Case(
        lambda: forecasting.rolling_origins(10, 11, 0),
        ValueError,
        r"first=0 leaves no room for a horizon of 11",
    )
    return cases


def _backtest_cases() -> dict[str, Case]:
    def run(model=MODEL, p=PARAMS, series=SERIES, origins=ORIGINS, **kwargs):
        return forecasting.backtest(model, p, series, origins, **{"lookback": L, **kwargs})

    def run_gaussian(**kwargs):
        return run(model=GAUSSIAN, p=GAUSSIAN_PARAMS, **kwargs)

    cases = {
        "model-none": Case(
            lambda: run(model=None),
            TypeError,
            r"model must be a Forecaster or a ForecasterConfig, got NoneType",
        ),
        "model-dict": Case(
            lambda: run(model={"horizon": H}),
            TypeError,
            r"model must be a Forecaster or a ForecasterConfig",
        ),
        "params-none": Case(lambda: run(p=None), TypeError, r"params must be ForecasterParams"),
        "params-other_config": Case(
            lambda: run(p=_other_params(hidden=5)),
            ValueError,
            r"params.encoder must have num_layers, directions, input_size and hidden",
        ),
        "series-string": Case(
            lambda: run(series="abc"),
            TypeError,
            r"series must be a real numeric array, got dtype <U3",
        ),
        "series-none": Case(
            lambda: run(series=None),
            TypeError,
            r"series must be a real numeric array, got dtype object",
        ),
        "series-complex": Case(
            lambda: run(series=SERIES.astype(complex)),
            TypeError,
            r"series must be a real numeric array",
        ),
        "series-nan": Case(
            lambda: run(series=np.where(np.arange(40) == 3, np.nan, SERIES)),
            ValueError,
            r"series has non-finite values \(NaN or Inf\) at time positions \[3\]",
        ),
        "series-inf": Case(
            lambda: run(series=np.where(np.arange(40) == 33, np.inf, SERIES)),
            ValueError,
            r"series has non-finite values \(NaN or Inf\) at time positions \[33\]",
        ),
        "series-rank3": Case(
            lambda: run(series=np.ones((40, 1, 1))),
            ValueError,
            r"series must have shape \[T\] or \[T, input_size=1\] \(targets first\), got \(40, 1, 1\)",
        ),
        "series-wrong_columns": Case(
            lambda: run(series=np.ones((40, 3))),
            ValueError,
            r"series must have shape \[T\] or \[T, input_size=1\]",
        ),
        "series-too_short": Case(
            lambda: run(series=SERIES[:20]),
            ValueError,
            r"origins must lie in \[6, 18\] .* in a series of length 20",
        ),
        "series-empty": Case(
            lambda: run(series=np.array([], np.float32)),
            ValueError,
            r"series (is empty|has no time steps|must have at least)",
        ),
        "origins-float": Case(
            lambda: run(origins=ORIGINS.astype(float)),
            TypeError,
            r"origins must be a non-empty 1-D integer array, got float64 array of shape \(9,\)",
        ),
        "origins-empty": Case(
            lambda: run(origins=np.array([], np.int64)),
            ValueError,
            r"origins must be a non-empty 1-D integer array",
        ),
        "origins-rank2": Case(
            lambda: run(origins=ORIGINS[None]),
            ValueError,
            r"origins must be a non-empty 1-D integer array",
        ),
        "origins-string": Case(
            lambda: run(origins="30"), TypeError, r"origins must be a non-empty 1-D integer array"
        ),
        "origins-none": Case(
            lambda: run(origins=None), TypeError, r"origins must be a non-empty 1-D integer array"
        ),
        "origins-before_lookback": Case(
            lambda: run(origins=np.array([2, 30])),
            ValueError,
            r"origins must lie in \[6, 38\] .* got values in \[2, 30\]",
        ),
        "origins-past_the_end": Case(
            lambda: run(origins=np.array([39])), ValueError, r"origins must lie in \[6, 38\]"
        ),
        "origins-negative": Case(
            lambda: run(origins=np.array([-5])), ValueError, r"origins must lie in \[6, 38\]"
        ),
        "period-longer_than_history": Case(
            lambda: run(period=35), ValueError, r"origins must lie in \[35, 38\]"
        ),
        "scale_end-too_large": Case(
            lambda: run(scale_end=100),
            ValueError,
            r"scale_end must be an integer <= 40, got 100",
        ),
        "scale_end-not_after_period": Case(
            lambda: run(scale_end=1), ValueError, r"scale_end must be an integer >= 2, got 1"
        ),
        "scale_end-float": Case(
            lambda: run(scale_end=10.0),
            TypeError,
            r"scale_end must be an integer, got 10.0",
        ),
        "scale_end-string": Case(
            lambda: run(scale_end="10"), TypeError, r"scale_end must be an integer"
        ),
        "interval_level-one": Case(
            lambda: run_gaussian(interval_level=1.0),
            ValueError,
            r"interval_level must be a finite number > 0 and < 1, got 1.0",
        ),
        "interval_level-nan": Case(
            lambda: run_gaussian(interval_level=float("nan")),
            ValueError,
            r"interval_level must be a finite number > 0 and < 1, got nan",
        ),
        "interval_level-string": Case(
            lambda: run_gaussian(interval_level="0.9"), TypeError, r"interval_level must"
        ),
        "interval_level-none_point_model": Case(
            lambda: run(interval_level=None), TypeError, r"interval_level must"
        ),
        "inverse_transform-not_callable": Case(
            lambda: run(inverse_transform=3), TypeError, r"inverse_transform must be"
        ),
        "inverse_transform-changes_shape": Case(
            lambda: run(inverse_transform=jnp.sum), ValueError, r"inverse_transform must"
        ),
    }
    for argument in ("lookback", "period"):
        mutations = int_mutations(argument, huge=False)
        mutations = {
            label: (value, error, rf"{argument} must be an integer")
            for label, (value, error, _) in mutations.items()
        }
        cases |= {
            f"{argument}-{label}": case
            for label, case in cases_from(
                mutations, lambda value, argument=argument: run(**{argument: value})
            ).items()
        }
    return cases


BACKTEST_CASES = merge(
    _rolling_origin_cases(), _backtest_cases(), prefix=["rolling_origins", "backtest"]
)


@pytest.mark.parametrize("case", params(BACKTEST_CASES))
def test_backtest_bad_argument(case: Case) -> None:
    check(case)


def test_backtest_valid_call_still_works() -> None:
    result = forecasting.backtest(
        MODEL, PARAMS, SERIES.tolist(), [30, 32], lookback=np.int64(L), period=np.int64(2)
    )
    assert result.metrics["model"]["mae"].shape == (2,)
    assert np.isfinite(result.summary["model"]["mase"])
