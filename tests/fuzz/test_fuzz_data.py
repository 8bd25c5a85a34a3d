"""Bad-input fuzzing of ``rnnax.data``: windows, splits, scalers, missing values, data sets and
the synthetic generators.

Every mutation of a valid call (wrong rank, size or dtype, strings, ``None``, negative, zero,
huge, NaN and Inf values, empty series) must raise exactly a ``ValueError`` or ``TypeError``
naming the argument; NaN and Inf in a series are reported with their time positions.
"""

from __future__ import annotations

import functools
import re

import jax.numpy as jnp
import numpy as np
import pytest
from fuzz_helpers import Case, bool_mutations, cases_from, check, int_mutations, merge, params
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnax import data

SERIES = np.sin(np.arange(40.0) / 3.0)
PANEL = np.stack([SERIES, SERIES + 1.0])
WITH_NAN = np.where(np.arange(40) == 7, np.nan, SERIES)
WITH_INF = np.where(np.arange(40) == 3, np.inf, SERIES)
WITH_NEG_INF = np.where(np.arange(40) == 39, -np.inf, SERIES)


# ------------------------------------------------------------------------------------------
# sliding_windows and chronological_split share their arguments
# ------------------------------------------------------------------------------------------
def _window_cases(function) -> dict[str, Case]:
    def run(values=SERIES, lookback=4, horizon=2, **kwargs):
        return function(values, lookback, horizon, **kwargs)

    cases = {
        "values-string": Case(
            lambda: run("abc"), TypeError, r"values must be a numeric \(real\) array, got dtype <U3"
        ),
        "values-none": Case(
            lambda: run(None),
            TypeError,
            r"values must be a numeric \(real\) array, got dtype object",
        ),
        "values-objects": Case(
            lambda: run(np.array([object()] * 40)),
            TypeError,
            r"values must be a numeric \(real\) array",
        ),
        "values-complex": Case(
            lambda: run(SERIES.astype(complex)),
            TypeError,
            r"values must be a numeric \(real\) array, got dtype complex128",
        ),
        "values-ragged": Case(
            lambda: run([[1.0, 2.0], [3.0]]),
            TypeError,
            r"values must be a numeric array, could not convert it",
        ),
        "values-scalar": Case(
            lambda: run(np.float64(3.0)),
            ValueError,
            r"values must have shape \[T\] or \[T, D\] .* got shape \(\)",
        ),
        "values-rank3_without_panel": Case(
            lambda: run(np.ones((2, 40, 1))),
            ValueError,
            r"values must have shape \[T\] or \[T, D\] \(pass panel=True",
        ),
        "values-rank4_panel": Case(
            lambda: run(np.ones((2, 40, 1, 1)), panel=True),
            ValueError,
            r"values must have shape \[N, T\] or \[N, T, D\] when panel=True",
        ),
        "values-1d_panel": Case(
            lambda: run(SERIES, panel=True), ValueError, r"when panel=True, got shape \(40,\)"
        ),
        "values-empty": Case(
            lambda: run(np.array([])),
            ValueError,
            r"values of series 'series' must hold at least one series, time step and feature, got shape \(0,\)",
        ),
        "values-no_features": Case(
            lambda: run(np.ones((40, 0))),
            ValueError,
            r"must hold at least one series, time step and feature, got shape \(40, 0\)",
        ),
        "values-empty_panel": Case(
            lambda: run(np.ones((0, 40)), panel=True), ValueError, r"must hold at least one series"
        ),
        "values-nan": Case(
            lambda: run(WITH_NAN),
            ValueError,
            r"series 'series' has 1 non-finite values \(NaN or Inf\) at time positions \[7\]",
        ),
        "values-inf": Case(
            lambda: run(WITH_INF),
            ValueError,
            r"non-finite values \(NaN or Inf\) at time positions \[3\]",
        ),
        "values-negative_inf": Case(
            lambda: run(WITH_NEG_INF, name="load"),
            ValueError,
            r"series 'load' has 1 non-finite .* \[39\]",
        ),
        "values-all_nan_ffill": Case(
            lambda: run(np.full(40, np.nan), nan_policy="ffill"),
            ValueError,
            r"feature 0 of series 'series' has no finite value, so nan_policy='ffill'",
        ),
        "values-all_nan_interpolate": Case(
            lambda: run(np.full(40, np.nan), nan_policy="interpolate"),
            ValueError,
            r"has no finite value",
        ),
        "values-panel_nan": Case(
            lambda: run(np.where(np.arange(40) == 5, np.nan, PANEL), panel=True),
            ValueError,
            r"series 'series\[0\]' has 1 non-finite",
        ),
        "values-too_short": Case(
            lambda: run(SERIES[:5]),
            ValueError,
            r"(series 'series' has 5 time steps, fewer than lookback \+ horizon = 6|training segment)",
        ),
        "values-drop_leaves_too_few": Case(
            lambda: run(np.where(np.arange(40) > 2, np.nan, SERIES), nan_policy="drop"),
            ValueError,
            r"(3 time steps|training segment|validation)",
        ),
        "nan_policy-unknown": Case(
            lambda: run(nan_policy="zero"),
            ValueError,
            r"nan_policy must be one of \['raise', 'ffill', 'interpolate', 'drop'\], got 'zero'",
        ),
        "nan_policy-none": Case(
            lambda: run(nan_policy=None), TypeError, r"nan_policy must be one of .* got None"
        ),
        "nan_policy-list": Case(
            lambda: run(nan_policy=["drop"]), TypeError, r"nan_policy must be one of"
        ),
        "nan_policy-drop_with_panel": Case(
            lambda: run(PANEL, panel=True, nan_policy="drop"),
            ValueError,
            r"nan_policy='drop' is not supported with panel=True",
        ),
        "target_columns-float": Case(
            lambda: run(target_columns=0.0),
            TypeError,
            r"target_columns must be an int or a sequence of ints, got 0.0",
        ),
        "target_columns-string": Case(
            lambda: run(target_columns="0"),
            TypeError,
            r"target_columns must be an int or a sequence of ints",
        ),
        "target_columns-float_entry": Case(
            lambda: run(target_columns=[0.0]),
            TypeError,
            r"target_columns must hold integers, got 0.0",
        ),
        "target_columns-bool_entry": Case(
            lambda: run(target_columns=[True]),
            TypeError,
            r"target_columns must hold integers, got True",
        ),
        "target_columns-negative": Case(
            lambda: run(target_columns=-1),
            ValueError,
            r"target_columns entries must lie in \[0, 1\) .* got -1",
        ),
        "target_columns-too_large": Case(
            lambda: run(np.ones((40, 2)), target_columns=[1, 2]),
            ValueError,
            r"target_columns entries must lie in \[0, 2\)",
        ),
        "target_columns-empty": Case(
            lambda: run(target_columns=[]),
            ValueError,
            r"target_columns must name at least one column",
        ),
        "target_columns-repeated": Case(
            lambda: run(np.ones((40, 2)), target_columns=[1, 1]),
            ValueError,
            r"target_columns must not repeat a column",
        ),
        "past_covariates-wrong_length": Case(
            lambda: run(past_covariates=np.ones(39)),
            ValueError,
            r"past_covariates must cover the same series and time steps as values, expected shape \[40, \.\.\.\], got \(39,\)",
        ),
        "past_covariates-nan": Case(
            lambda: run(past_covariates=WITH_NAN),
            ValueError,
            r"series 'series past_covariates' has 1 non-finite",
        ),
        "past_covariates-string": Case(
            lambda: run(past_covariates=np.full(40, "x")),
            TypeError,
            r"past_covariates must be a numeric \(real\) array",
        ),
        "future_covariates-wrong_series": Case(
            lambda: run(PANEL, panel=True, future_covariates=np.ones((3, 40))),
            ValueError,
            r"future_covariates must cover the same series and time steps as values, expected shape \[2, 40, \.\.\.\]",
        ),
        "future_covariates-rank3_single": Case(
            lambda: run(future_covariates=np.ones((1, 40, 1))),
            ValueError,
            r"future_covariates must have shape \[T\] or \[T, D\]",
        ),
        "future_covariates-inf": Case(
            lambda: run(future_covariates=WITH_INF),
            ValueError,
            r"future_covariates' has 1 non-finite",
        ),
        "dtype-int": Case(
            lambda: run(dtype=np.int32),
            TypeError,
            r"dtype must be a floating-point dtype, got int32",
        ),
        "dtype-complex": Case(
            lambda: run(dtype=np.complex64),
            TypeError,
            r"dtype must be a floating-point dtype, got complex64",
        ),
        "dtype-unknown_name": Case(
            lambda: run(dtype="float33"),
            TypeError,
            r"dtype must be a floating-point dtype, got 'float33'",
        ),
        "dtype-bool": Case(
            lambda: run(dtype=bool), TypeError, r"dtype must be a floating-point dtype, got bool"
        ),
    }
    for argument in ("lookback", "horizon", "stride"):
        mutations = int_mutations(argument)
        mutations["array"] = (np.array([3]), TypeError, argument)
        mutations.pop("complex")
        if argument != "stride":
            mutations["huge"] = (
                10**12,
                ValueError,
                r"(fewer than lookback \+ horizon|training segment)",
            )
        else:
            mutations.pop("huge")
        cases |= {
            f"{argument}-{label}": case
            for label, case in cases_from(
                mutations, lambda value, argument=argument: run(**{argument: value})
            ).items()
        }
    cases |= {
        f"panel-{label}": case
        for label, case in cases_from(
            bool_mutations("panel"), lambda value: run(PANEL, panel=value)
        ).items()
    }
    return cases


def _split_cases() -> dict[str, Case]:
    split = functools.partial(data.chronological_split, SERIES, 4, 2)
    cases: dict[str, Case] = {}
    for argument in ("validation", "test"):
        cases |= {
            f"{argument}-nan": Case(
                functools.partial(split, **{argument: float("nan")}),
                ValueError,
                rf"{argument} as a fraction must lie in \[0, 1\), got nan",
            ),
            f"{argument}-inf": Case(
                functools.partial(split, **{argument: float("inf")}),
                ValueError,
                rf"{argument} as a fraction must lie in \[0, 1\)",
            ),
            f"{argument}-one": Case(
                functools.partial(split, **{argument: 1.0}),
                ValueError,
                rf"{argument} as a fraction must lie in \[0, 1\), got 1.0",
            ),
            f"{argument}-negative_fraction": Case(
                functools.partial(split, **{argument: -0.1}),
                ValueError,
                rf"{argument} as a fraction",
            ),
            f"{argument}-negative_count": Case(
                functools.partial(split, **{argument: -1}),
                ValueError,
                rf"{argument} as a count of time steps must lie in \[0, 40\), got -1",
            ),
            f"{argument}-count_too_large": Case(
                functools.partial(split, **{argument: 40}),
                ValueError,
                rf"{argument} as a count of time steps must lie in \[0, 40\)",
            ),
            f"{argument}-huge": Case(
                functools.partial(split, **{argument: 2**70}), ValueError, rf"{argument} as a count"
            ),
            f"{argument}-string": Case(
                functools.partial(split, **{argument: "0.2"}),
                TypeError,
                rf"{argument} must be a fraction \(float\) or a count \(int\), got '0.2'",
            ),
            f"{argument}-none": Case(
                functools.partial(split, **{argument: None}),
                TypeError,
                rf"{argument} must be a fraction",
            ),
            f"{argument}-bool": Case(
                functools.partial(split, **{argument: True}),
                TypeError,
                rf"{argument} must be a fraction",
            ),
            f"{argument}-shorter_than_horizon": Case(
                functools.partial(split, **{argument: 1}),
                ValueError,
                rf"the {argument} segment of series 'series' has 1 time steps, fewer than horizon = 2",
            ),
        }
    cases |= {
        "both-leave_no_training": Case(
            lambda: split(validation=0.5, test=0.5),
            ValueError,
            r"validation \+ test must leave training data",
        ),
        "both-training_too_short": Case(
            lambda: data.chronological_split(SERIES, 20, 2, validation=10, test=10),
            ValueError,
            r"the training segment of series 'series' has 20 time steps, fewer than lookback \+ horizon = 22",
        ),
    }
    cases |= {
        f"split_points-length-{label}": case
        for label, case in cases_from(
            int_mutations("length"),
            lambda value: data.split_points(value, validation=0.1, test=0.1),
        ).items()
        if label not in ("huge",)
    }
    return cases


WINDOW_CASES = merge(
    _window_cases(data.sliding_windows),
    _window_cases(data.chronological_split),
    _split_cases(),
    prefix=["sliding_windows", "chronological_split", "split"],
)


@pytest.mark.parametrize("case", params(WINDOW_CASES))
def test_windows_bad_argument(case: Case) -> None:
    check(case)


def test_windows_valid_calls_still_work() -> None:
    windows = data.sliding_windows(
        SERIES.tolist(),
        np.int64(4),
        2,
        stride=3,
        target_columns=[0],
        past_covariates=SERIES,
        future_covariates=SERIES,
        dtype=None,
    )
    assert windows.inputs.shape == (12, 4, 1) and windows.future_covariates.shape == (12, 2, 1)
    filled = data.sliding_windows(WITH_NAN, 4, 2, nan_policy="interpolate")
    assert np.isfinite(filled.inputs).all()
    split = data.chronological_split(
        jnp.asarray(PANEL), 4, 2, validation=np.float64(0.2), test=np.int64(6), panel=np.bool_(True)
    )
    assert split.train.inputs.shape[1:] == (4, 1)


# ------------------------------------------------------------------------------------------
# scalers
# ------------------------------------------------------------------------------------------
FITS = {
    "standard": data.fit_standard_scaler,
    "min_max": data.fit_min_max_scaler,
    "robust": data.fit_robust_scaler,
}


def _scaler_cases() -> dict[str, Case]:
    cases: dict[str, Case] = {}
    for name, fit in FITS.items():
        cases |= {
            f"{name}-train_values-string": Case(
                functools.partial(fit, "abc"),
                TypeError,
                r"train_values must be a numeric \(real\) array",
            ),
            f"{name}-train_values-none": Case(
                functools.partial(fit, None),
                TypeError,
                r"train_values must be a numeric \(real\) array",
            ),
            f"{name}-train_values-complex": Case(
                functools.partial(fit, SERIES.astype(complex)),
                TypeError,
                r"train_values must be a numeric \(real\) array",
            ),
            f"{name}-train_values-ragged": Case(
                functools.partial(fit, [[1.0], [2.0, 3.0]]),
                TypeError,
                r"train_values must be a numeric array",
            ),
            f"{name}-train_values-scalar": Case(
                functools.partial(fit, 3.0), ValueError, r"train_values must have at least one axis"
            ),
            f"{name}-train_values-empty": Case(
                functools.partial(fit, np.array([])),
                ValueError,
                r"train_values must hold at least one value, got shape \(0,\)",
            ),
            f"{name}-train_values-no_features": Case(
                functools.partial(fit, np.ones((5, 0))),
                ValueError,
                r"train_values must hold at least one value, got shape \(5, 0\)",
            ),
            f"{name}-train_values-nan": Case(
                functools.partial(fit, WITH_NAN),
                ValueError,
                r"series 'train_values' has 1 non-finite values .* \[7\]",
            ),
            f"{name}-train_values-inf": Case(
                functools.partial(fit, WITH_INF),
                ValueError,
                r"series 'train_values' has 1 non-finite",
            ),
            f"{name}-train_values-overflowing": Case(
                functools.partial(fit, np.array([1.7e308, -1.7e308])),
                ValueError,
                r"train_values are too large to scale: their statistics overflow float64",
            ),
        }
    bad_pairs = {
        "single": ((1.0,), TypeError, r" must be a pair \(low, high\) of numbers, got \(1.0,\)"),
        "triple": ((0.0, 1.0, 2.0), TypeError, r" must be a pair"),
        "none": (None, TypeError, r" must be a pair"),
        "string": ("ab", TypeError, r" must be a pair"),
        "string_entries": (("0", "1"), TypeError, r"\[0\] must be a real number, got '0'"),
        "nan": ((0.0, float("nan")), ValueError, r"\[1\] must be a finite number, got nan"),
        "inf": ((-float("inf"), 1.0), ValueError, r"\[0\] must be a finite number"),
        "bool": ((False, True), TypeError, r"\[0\] must be a real number"),
    }
    for label, (value, error, match) in bad_pairs.items():
        cases[f"min_max-feature_range-{label}"] = Case(
            functools.partial(data.fit_min_max_scaler, SERIES, value),
            error,
            "feature_range" + match,
        )
        cases[f"robust-quantile_range-{label}"] = Case(
            functools.partial(data.fit_robust_scaler, SERIES, value),
            error,
            "quantile_range" + match,
        )
    cases |= {
        "min_max-feature_range-reversed": Case(
            lambda: data.fit_min_max_scaler(SERIES, (1.0, 0.0)),
            ValueError,
            r"feature_range must be finite \(low, high\) with low < high, got \(1.0, 0.0\)",
        ),
        "min_max-feature_range-empty_interval": Case(
            lambda: data.fit_min_max_scaler(SERIES, (1.0, 1.0)),
            ValueError,
            r"feature_range must be finite \(low, high\) with low < high",
        ),
        "robust-quantile_range-reversed": Case(
            lambda: data.fit_robust_scaler(SERIES, (75.0, 25.0)),
            ValueError,
            r"quantile_range must be \(q_low, q_high\) with 0 <= q_low < q_high <= 100",
        ),
        "robust-quantile_range-below_zero": Case(
            lambda: data.fit_robust_scaler(SERIES, (-1.0, 50.0)),
            ValueError,
            r"quantile_range must be \(q_low, q_high\)",
        ),
        "robust-quantile_range-above_100": Case(
            lambda: data.fit_robust_scaler(SERIES, (50.0, 101.0)),
            ValueError,
            r"quantile_range must be \(q_low, q_high\)",
        ),
    }
    scaler = data.fit_standard_scaler(np.ones((10, 2)) * np.arange(2.0))
    for function in (data.transform, data.inverse_transform):
        name = function.__name__
        cases |= {
            f"{name}-scaler-none": Case(
                functools.partial(function, None, np.ones((3, 2))),
                TypeError,
                r"scaler must be a Scaler from fit_standard_scaler",
            ),
            f"{name}-scaler-dict": Case(
                functools.partial(function, {"center": 0.0, "scale": 1.0}, np.ones((3, 2))),
                TypeError,
                r"scaler must be a Scaler .* got dict",
            ),
            f"{name}-scaler-tuple": Case(
                functools.partial(function, (np.zeros(2), np.ones(2)), np.ones((3, 2))),
                TypeError,
                r"scaler must be a Scaler .* got tuple",
            ),
            f"{name}-values-wrong_features": Case(
                functools.partial(function, scaler, np.ones((3, 3))),
                ValueError,
                r"values must have the scaler's 2 features on their last axis, got shape \(3, 3\)",
            ),
            f"{name}-values-features_first": Case(
                functools.partial(function, scaler, np.ones((2, 3))),
                ValueError,
                r"values must have the scaler's 2 features",
            ),
            f"{name}-values-scalar": Case(
                functools.partial(function, scaler, 1.0),
                ValueError,
                r"values must have the scaler's 2 features .* got shape \(\)",
            ),
            f"{name}-values-string": Case(
                functools.partial(function, scaler, np.full((3, 2), "a")),
                TypeError,
                r"values must be a numeric \(real\) array",
            ),
            f"{name}-values-complex_numpy": Case(
                functools.partial(function, scaler, np.ones((3, 2), complex)),
                TypeError,
                r"values must be a numeric \(real\) array, got dtype complex128",
            ),
            f"{name}-values-complex_jax": Case(
                functools.partial(function, scaler, jnp.ones((3, 2), jnp.complex64)),
                TypeError,
                r"values must be a numeric \(real\) array, got dtype complex64",
            ),
            f"{name}-values-none": Case(
                functools.partial(function, scaler, None),
                TypeError,
                r"values must be a numeric \(real\) array",
            ),
        }
    return cases


@pytest.mark.parametrize("case", params(_scaler_cases()))
def test_scalers_bad_argument(case: Case) -> None:
    check(case)


def test_scalers_valid_calls_still_work() -> None:
    scaler = data.fit_min_max_scaler(np.arange(10.0), feature_range=np.array([-1, 1]))
    np.testing.assert_allclose(data.transform(scaler, [0.0, 9.0]), [-1.0, 1.0])
    robust = data.fit_robust_scaler(np.arange(10), quantile_range=(np.float32(10), 90))
    back = data.inverse_transform(robust, data.transform(robust, jnp.arange(3.0)))
    np.testing.assert_allclose(back, [0.0, 1.0, 2.0], atol=1e-6)
    constant = data.fit_standard_scaler(np.full((4, 2), 7.0))
    np.testing.assert_array_equal(constant.scale, [1.0, 1.0])


# ------------------------------------------------------------------------------------------
# missing values and the shipped data sets
# ------------------------------------------------------------------------------------------
def _missing_and_load_cases() -> dict[str, Case]:
    fill = functools.partial(data.handle_missing, WITH_NAN, nan_policy="interpolate")
    return {
        "handle_missing-values-rank3": Case(
            lambda: data.handle_missing(np.ones((2, 2, 2)), name="cube"),
            ValueError,
            r"values of series 'cube' must have shape \[T\] or \[T, D\], got shape \(2, 2, 2\)",
        ),
        "handle_missing-values-string": Case(
            lambda: data.handle_missing("abc"),
            TypeError,
            r"values must be a numeric \(real\) array",
        ),
        "handle_missing-values-nan_raise": Case(
            lambda: data.handle_missing(WITH_NAN, name="x"),
            ValueError,
            r"series 'x' has 1 non-finite values \(NaN or Inf\) at time positions \[7\]; pass nan_policy=",
        ),
        "handle_missing-values-many_bad_positions": Case(
            lambda: data.handle_missing(np.full(30, np.nan)),
            ValueError,
            r"series 'series' has 30 non-finite values .* \[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, \.\.\.\]",
        ),
        "handle_missing-nan_policy-unknown": Case(
            lambda: data.handle_missing(SERIES, nan_policy="mean"),
            ValueError,
            r"nan_policy must be one of",
        ),
        "handle_missing-sample_times-wrong_length": Case(
            lambda: fill(sample_times=np.arange(3.0)),
            ValueError,
            r"sample_times must have shape \(40,\) to match the series, got \(3,\)",
        ),
        "handle_missing-sample_times-string": Case(
            lambda: fill(sample_times="abc"),
            TypeError,
            r"sample_times must be a numeric \(real\) array",
        ),
        "handle_missing-sample_times-nan": Case(
            lambda: fill(sample_times=np.full(40, np.nan)),
            ValueError,
            r"sample_times must be finite and strictly increasing",
        ),
        "handle_missing-sample_times-decreasing": Case(
            lambda: fill(sample_times=np.arange(40.0)[::-1]),
            ValueError,
            r"sample_times must be finite and strictly increasing",
        ),
        "handle_missing-sample_times-repeated": Case(
            lambda: fill(sample_times=np.zeros(40)),
            ValueError,
            r"sample_times must be finite and strictly increasing",
        ),
        "load-name-unknown": Case(
            lambda: data.load("nile"),
            ValueError,
            r"unknown data set name 'nile'; valid names are \['airline_passengers'",
        ),
        "load-name-empty": Case(lambda: data.load(""), ValueError, r"unknown data set name ''"),
        "load-name-list": Case(
            lambda: data.load(["co2"]), TypeError, r"unknown data set name \['co2'\]"
        ),
        "load-name-none": Case(lambda: data.load(None), TypeError, r"unknown data set name None"),
        "load-name-path": Case(
            lambda: data.load("../co2"), ValueError, r"unknown data set name '\.\./co2'"
        ),
        "load-nan_policy-unknown": Case(
            lambda: data.load("co2", nan_policy="zero"), ValueError, r"nan_policy must be one of"
        ),
        "load-nan_policy-raise_with_gaps": Case(
            lambda: data.load("co2", nan_policy="raise"),
            ValueError,
            r"series 'co2' has 59 non-finite values",
        ),
        "load_co2-nan_policy-unknown": Case(
            lambda: data.load_co2(nan_policy=3), TypeError, r"nan_policy must be one of .* got 3"
        ),
    }


@pytest.mark.parametrize("case", params(_missing_and_load_cases()))
def test_missing_and_load_bad_argument(case: Case) -> None:
    check(case)


def test_missing_and_load_valid_calls_still_work() -> None:
    filled = data.handle_missing(
        WITH_NAN, nan_policy="interpolate", sample_times=np.arange(40) ** 2
    )
    assert np.isfinite(filled).all()
    assert len(data.load("sunspots_yearly")) == 309
    assert len(data.load("co2", nan_policy="drop")) == 2225


# ------------------------------------------------------------------------------------------
# synthetic generators
# ------------------------------------------------------------------------------------------
def _synthetic_cases() -> dict[str, Case]:
    cases: dict[str, Case] = {}

    def ints(prefix: str, call, argument: str, minimum: int = 1) -> None:
        mutations = int_mutations(argument, minimum=minimum, huge=False)
        mutations.pop("complex")
        cases.update(
            {
                f"{prefix}-{argument}-{label}": case
                for label, case in cases_from(mutations, call).items()
            }
        )

    def reals(prefix: str, call, argument: str, minimum: float | None) -> None:
        bound = "" if minimum is None else r" >= 0"
        table = {
            "nan": (
                float("nan"),
                ValueError,
                rf"{argument} must be a finite number{bound}, got nan",
            ),
            "inf": (
                float("inf"),
                ValueError,
                rf"{argument} must be a finite number{bound}, got inf",
            ),
            "string": ("0.1", TypeError, rf"{argument} must be a real number, got '0.1'"),
            "none": (None, TypeError, rf"{argument} must be a real number, got None"),
            "bool": (True, TypeError, rf"{argument} must be a real number"),
        }
        if minimum is not None:
            table["negative"] = (
                -1.0,
                ValueError,
                rf"{argument} must be a finite number >= 0, got -1.0",
            )
        cases.update(
            {
                f"{prefix}-{argument}-{label}": case
                for label, case in cases_from(table, call).items()
            }
        )

    ints("noisy_sines", lambda v: data.noisy_sines(v), "length")
    reals("noisy_sines", lambda v: data.noisy_sines(20, noise_std=v), "noise_std", 0.0)
    cases |= {
        "noisy_sines-periods-string": Case(
            lambda: data.noisy_sines(20, periods="ab"),
            TypeError,
            r"periods must be a sequence of numbers, got 'ab'",
        ),
        "noisy_sines-periods-none": Case(
            lambda: data.noisy_sines(20, periods=None),
            TypeError,
            r"periods must be a non-empty sequence of positive numbers, got None",
        ),
        "noisy_sines-periods-empty": Case(
            lambda: data.noisy_sines(20, periods=()),
            ValueError,
            r"periods must be a non-empty sequence of positive numbers",
        ),
        "noisy_sines-periods-zero": Case(
            lambda: data.noisy_sines(20, periods=(0.0,)),
            ValueError,
            r"periods must be a non-empty sequence of positive numbers",
        ),
        "noisy_sines-periods-negative": Case(
            lambda: data.noisy_sines(20, periods=(12.0, -5.0)),
            ValueError,
            r"periods must be a non-empty sequence of positive numbers",
        ),
        "noisy_sines-periods-nan": Case(
            lambda: data.noisy_sines(20, periods=(float("nan"),)),
            ValueError,
            r"periods must hold finite numbers",
        ),
        "noisy_sines-amplitudes-count": Case(
            lambda: data.noisy_sines(20, amplitudes=(1.0,)),
            ValueError,
            r"amplitudes must have one entry per period \(2\), got 1",
        ),
        "noisy_sines-amplitudes-nan": Case(
            lambda: data.noisy_sines(20, periods=(3.0,), amplitudes=(float("nan"),)),
            ValueError,
            r"amplitudes must hold finite numbers",
        ),
        "noisy_sines-amplitudes-string": Case(
            lambda: data.noisy_sines(20, periods=(3.0,), amplitudes=("big",)),
            TypeError,
            r"amplitudes must be a sequence of numbers",
        ),
        "noisy_sines-seed-float": Case(
            lambda: data.noisy_sines(20, seed=1.5),
            TypeError,
            r"seed must be an int or a numpy.random.Generator, got 1.5",
        ),
        "noisy_sines-seed-negative": Case(
            lambda: data.noisy_sines(20, seed=-1),
            ValueError,
            r"seed must be an int >= 0 or a numpy.random.Generator, got -1",
        ),
        "noisy_sines-seed-legacy_random_state": Case(
            lambda: data.noisy_sines(20, seed=np.random.RandomState(0)),
            TypeError,
            r"seed must be an int or a numpy.random.Generator",
        ),
        "noisy_sines-seed-none": Case(
            lambda: data.noisy_sines(20, seed=None),
            TypeError,
            r"seed must be an int or a numpy.random.Generator, got None",
        ),
    }
    ints("mackey_glass", lambda v: data.mackey_glass(v, discard=0), "length")
    ints("mackey_glass", lambda v: data.mackey_glass(10, discard=v), "discard", minimum=0)
    for argument in ("tau", "step_size", "sample_every"):
        cases |= {
            f"mackey_glass-{argument}-zero": Case(
                functools.partial(data.mackey_glass, 10, **{argument: 0.0}),
                ValueError,
                rf"{argument} must be a positive number, got 0.0",
            ),
            f"mackey_glass-{argument}-negative": Case(
                functools.partial(data.mackey_glass, 10, **{argument: -1.0}),
                ValueError,
                rf"{argument} must be a positive number, got -1.0",
            ),
            f"mackey_glass-{argument}-nan": Case(
                functools.partial(data.mackey_glass, 10, **{argument: float("nan")}),
                ValueError,
                rf"{argument} must be a positive number, got nan",
            ),
            f"mackey_glass-{argument}-string": Case(
                functools.partial(data.mackey_glass, 10, **{argument: "1"}),
                TypeError,
                rf"{argument} must be a positive number, got '1'",
            ),
            f"mackey_glass-{argument}-none": Case(
                functools.partial(data.mackey_glass, 10, **{argument: None}),
                TypeError,
                rf"{argument} must be a positive number, got None",
            ),
        }
    for argument in ("beta", "gamma", "exponent", "initial_value"):
        reals(
            "mackey_glass",
            lambda v, argument=argument: data.mackey_glass(10, **{argument: v}),
            argument,
            None,
        )
    reals("mackey_glass", lambda v: data.mackey_glass(10, initial_noise=v), "initial_noise", 0.0)
    cases |= {
        "mackey_glass-tau-not_a_multiple": Case(
            lambda: data.mackey_glass(10, tau=17.05),
            ValueError,
            r"tau=17.05 must be a whole multiple of step_size=0.1",
        ),
        "mackey_glass-step_size-absurdly_small": Case(
            lambda: data.mackey_glass(10, step_size=1e-9),
            ValueError,
            r"mackey_glass would integrate .* steps .* at most 100000000 are allowed",
        ),
        "mackey_glass-length-absurdly_long": Case(
            lambda: data.mackey_glass(10**9),
            ValueError,
            r"mackey_glass would integrate .* at most 100000000",
        ),
    }
    ints("trend_seasonal_panel", lambda v: data.trend_seasonal_panel(v, 10), "num_series")
    ints("trend_seasonal_panel", lambda v: data.trend_seasonal_panel(2, v), "length")
    ints("trend_seasonal_panel", lambda v: data.trend_seasonal_panel(2, 10, period=v), "period")
    for argument in ("level_std", "slope_std", "seasonal_amplitude", "noise_std"):
        reals(
            "trend_seasonal_panel",
            lambda v, argument=argument: data.trend_seasonal_panel(2, 10, **{argument: v}),
            argument,
            0.0,
        )
    ints("adding_problem", lambda v: data.adding_problem(v, 10), "num_samples")
    ints("adding_problem", lambda v: data.adding_problem(4, v), "length", minimum=2)
    ints("copy_task", lambda v: data.copy_task(v, 3, 2), "num_samples")
    ints("copy_task", lambda v: data.copy_task(2, v, 2), "sequence_length")
    ints("copy_task", lambda v: data.copy_task(2, 3, v), "delay")
    ints("copy_task", lambda v: data.copy_task(2, 3, 2, num_symbols=v), "num_symbols")
    ints("delayed_recall", lambda v: data.delayed_recall(v, 6, 2), "num_samples")
    ints("delayed_recall", lambda v: data.delayed_recall(2, 6, v), "delay", minimum=0)
    ints("delayed_recall", lambda v: data.delayed_recall(2, 6, 2, num_features=v), "num_features")
    cases["delayed_recall-length-not_after_delay"] = Case(
        lambda: data.delayed_recall(2, 3, 3),
        ValueError,
        r"length must be greater than delay=3, got length=3",
    )
    return cases


@pytest.mark.parametrize("case", params(_synthetic_cases()))
def test_synthetic_bad_argument(case: Case) -> None:
    check(case)


def test_synthetic_valid_calls_still_work() -> None:
    assert data.noisy_sines(
        np.int64(20), periods=np.array([4, 6]), seed=np.random.default_rng(1)
    ).shape == (20,)
    assert data.mackey_glass(5, discard=0, tau=np.float32(1.0)).shape == (5,)
    assert data.trend_seasonal_panel(2, 10, period=1).values.shape == (2, 10)
    assert data.copy_task(1, 1, 1, num_symbols=1).inputs.shape == (1, 3, 3)
    assert data.delayed_recall(1, 2, 0).targets.shape == (1, 2, 1)
    assert data.adding_problem(1, 2).targets.shape == (1, 1)


# ------------------------------------------------------------------------------------------
# the exception rule, argument by argument: a wrong type is a TypeError, a wrong value of the
# right type a ValueError, for every scalar argument of every public function of rnnax.data
# ------------------------------------------------------------------------------------------
WRONG_TYPES: dict[str, dict[str, object]] = {
    "int": {"str": "2", "bool": True, "float": 2.0, "none": None},
    "real": {"str": "0.5", "bool": True, "none": None, "list": [0.5]},
    "size": {"str": "0.2", "bool": True, "none": None},  # a fraction (float) or a count (int)
    "choice": {"int": 1, "none": None, "bytes": b"raise", "list": ["raise"]},
    "bool": {"int": 1, "str": "True", "none": None, "float": 0.0},
    "seed": {"str": "0", "bool": True, "float": 1.0, "none": None},
}


def _rule_cases(function: str, argument: str, kind: str, call, wrong_values: tuple) -> dict:
    """TypeError cases for each wrong type of ``kind``; ValueError cases for ``wrong_values``.

    ``None`` is left out where it is a documented value: ``target_columns`` (all features) and
    the ``nan_policy`` of ``load`` (the data set's default).
    """
    pattern = rf"(?<!\w){re.escape(argument)}(?!\w)"
    none_allowed = argument == "target_columns" or (
        function in ("load", "load_co2") and argument == "nan_policy"
    )
    table = {
        label: (value, TypeError, pattern)
        for label, value in WRONG_TYPES[kind].items()
        if not (none_allowed and value is None)
    }
    table |= {
        f"out_of_range_{index}": (value, ValueError, pattern)
        for index, value in enumerate(wrong_values)
    }
    return {
        f"rule-{function}-{argument}-{label}": case
        for label, case in cases_from(table, call).items()
    }


def _data_rule_cases() -> dict[str, Case]:
    windowing = {
        "sliding_windows": data.sliding_windows,
        "chronological_split": data.chronological_split,
    }
    specs = []
    for name, function in windowing.items():

        def run(function=function, **kwargs):
            return function(SERIES, **{"lookback": 4, "horizon": 2, **kwargs})

        specs += [
            (name, "lookback", "int", (0, -3), run),
            (name, "horizon", "int", (0,), run),
            (name, "stride", "int", (0, -1), run),
            (name, "nan_policy", "choice", ("zero", "Raise", ""), run),
            (name, "panel", "bool", (), run),
            (name, "target_columns", "int", (1, -1), run),
        ]
    specs += [
        ("chronological_split", argument, "size", (1.5, -1, 40, float("nan")), split_run)
        for argument, split_run in (
            ("validation", lambda **kwargs: data.chronological_split(SERIES, 4, 2, **kwargs)),
            ("test", lambda **kwargs: data.chronological_split(SERIES, 4, 2, **kwargs)),
        )
    ]
    specs += [
        ("split_points", "length", "int", (0, -5), lambda **kwargs: data.split_points(**kwargs)),
        (
            "split_points",
            "validation",
            "size",
            (1.0, 100),
            lambda **kw: data.split_points(100, **kw),
        ),
        ("split_points", "test", "size", (-0.1, -1), lambda **kw: data.split_points(100, **kw)),
        (
            "handle_missing",
            "nan_policy",
            "choice",
            ("bfill",),
            lambda **kw: data.handle_missing(SERIES, **kw),
        ),
        ("load", "name", "choice", ("nile", "CO2"), lambda **kwargs: data.load(**kwargs)),
        ("load", "nan_policy", "choice", ("zero",), lambda **kw: data.load("co2", **kw)),
        ("load_co2", "nan_policy", "choice", ("mean",), lambda **kw: data.load_co2(**kw)),
        ("noisy_sines", "length", "int", (0,), lambda **kwargs: data.noisy_sines(**kwargs)),
        (
            "noisy_sines",
            "noise_std",
            "real",
            (-0.5, float("inf")),
            lambda **kw: data.noisy_sines(20, **kw),
        ),
        ("noisy_sines", "seed", "seed", (-1,), lambda **kw: data.noisy_sines(20, **kw)),
        ("mackey_glass", "length", "int", (0,), lambda **kw: data.mackey_glass(**kw, discard=0)),
        ("mackey_glass", "discard", "int", (-1,), lambda **kw: data.mackey_glass(10, **kw)),
        ("mackey_glass", "seed", "seed", (-2,), lambda **kw: data.mackey_glass(10, **kw)),
        (
            "adding_problem",
            "num_samples",
            "int",
            (0,),
            lambda **kw: data.adding_problem(length=4, **kw),
        ),
        ("adding_problem", "length", "int", (1,), lambda **kw: data.adding_problem(2, **kw)),
        ("adding_problem", "seed", "seed", (-1,), lambda **kw: data.adding_problem(2, 4, **kw)),
        ("copy_task", "delay", "int", (0,), lambda **kw: data.copy_task(2, 3, **kw)),
        ("copy_task", "num_symbols", "int", (0,), lambda **kw: data.copy_task(2, 3, 2, **kw)),
        ("copy_task", "seed", "seed", (-1,), lambda **kw: data.copy_task(2, 3, 2, **kw)),
        ("delayed_recall", "delay", "int", (-1, 6), lambda **kw: data.delayed_recall(2, 6, **kw)),
        (
            "delayed_recall",
            "num_features",
            "int",
            (0,),
            lambda **kw: data.delayed_recall(2, 6, 2, **kw),
        ),
        ("delayed_recall", "seed", "seed", (-1,), lambda **kw: data.delayed_recall(2, 6, 2, **kw)),
    ]
    for argument in ("tau", "step_size", "sample_every"):
        specs.append(
            (
                "mackey_glass",
                argument,
                "real",
                (0.0, -1.0, float("nan")),
                lambda **kw: data.mackey_glass(10, **kw),
            )
        )
    for argument in ("beta", "gamma", "exponent", "initial_value"):
        specs.append(
            (
                "mackey_glass",
                argument,
                "real",
                (float("inf"),),
                lambda **kw: data.mackey_glass(10, **kw),
            )
        )
    specs.append(
        ("mackey_glass", "initial_noise", "real", (-0.1,), lambda **kw: data.mackey_glass(10, **kw))
    )
    for argument in ("num_series", "length", "period"):
        specs.append(
            (
                "trend_seasonal_panel",
                argument,
                "int",
                (0,),
                lambda **kw: data.trend_seasonal_panel(**{"num_series": 2, "length": 10, **kw}),
            )
        )
    for argument in ("level_std", "slope_std", "seasonal_amplitude", "noise_std"):
        specs.append(
            (
                "trend_seasonal_panel",
                argument,
                "real",
                (-1.0,),
                lambda **kw: data.trend_seasonal_panel(2, 10, **kw),
            )
        )
    specs.append(
        (
            "trend_seasonal_panel",
            "seed",
            "seed",
            (-1,),
            lambda **kw: data.trend_seasonal_panel(2, 10, **kw),
        )
    )
    cases: dict[str, Case] = {}
    for function, argument, kind, wrong_values, run in specs:
        cases |= _rule_cases(
            function,
            argument,
            kind,
            lambda value, run=run, argument=argument: run(**{argument: value}),
            wrong_values,
        )
    for name, fit, pair in (
        ("fit_min_max_scaler", data.fit_min_max_scaler, "feature_range"),
        ("fit_robust_scaler", data.fit_robust_scaler, "quantile_range"),
    ):
        for position in (0, 1):

            def with_entry(value, fit=fit, position=position):
                bounds = [10.0, 90.0]
                bounds[position] = value
                return fit(SERIES, tuple(bounds))

            cases |= _rule_cases(name, f"{pair}[{position}]", "real", with_entry, (float("nan"),))
    return cases


@pytest.mark.parametrize("case", params(_data_rule_cases()))
def test_data_exception_rule(case: Case) -> None:
    check(case)


# ------------------------------------------------------------------------------------------
# random mutations (hypothesis)
# ------------------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    bad=st.lists(st.integers(0, 39), min_size=1, max_size=6, unique=True),
    value=st.sampled_from([np.nan, np.inf, -np.inf]),
    columns=st.integers(1, 3),
)
def test_random_non_finite_positions_are_reported_exactly(bad, value, columns) -> None:
    """NaN or Inf anywhere in any feature is refused, naming the first bad time positions."""
    series = np.repeat(SERIES[:, None], columns, axis=1)
    series[bad, len(bad) % columns] = value
    expected = ", ".join(str(position) for position in sorted(bad))
    with pytest.raises(ValueError, match=rf"time positions \[{expected}\]"):
        data.sliding_windows(series, 4, 2)
    with pytest.raises(ValueError, match=rf"time positions \[{expected}\]"):
        data.fit_standard_scaler(series)


@settings(max_examples=80, deadline=None, derandomize=True)
@given(
    length=st.integers(-3, 60),
    lookback=st.integers(-2, 50),
    horizon=st.integers(-2, 30),
    validation=st.one_of(st.integers(-2, 60), st.floats(-0.5, 1.5), st.just(float("nan"))),
    test=st.one_of(st.integers(-2, 60), st.floats(-0.5, 1.5), st.just(float("nan"))),
)
def test_random_split_arguments_split_or_name_the_problem(
    length, lookback, horizon, validation, test
) -> None:
    """Random sizes either split without any target leaking across segments, or raise a
    ValueError/TypeError naming one of the arguments."""
    values = np.arange(float(max(length, 0)))
    try:
        split = data.chronological_split(
            values, lookback, horizon, validation=validation, test=test
        )
    except (ValueError, TypeError) as error:
        assert type(error) in (ValueError, TypeError)
        names = ("values", "lookback", "horizon", "validation", "test", "length", "series")
        assert any(name in str(error) for name in names), str(error)
        return
    segments = (split.train, split.validation, split.test)
    ends = (split.points.train_end, split.points.validation_end, split.points.length)
    starts = (0, split.points.train_end, split.points.validation_end)
    for windows, start, end in zip(segments, starts, ends, strict=True):
        if windows.target_start.size:
            assert (
                windows.target_start.min() >= start and windows.target_start.max() + horizon <= end
            )


# ------------------------------------------------------------------------------------------
# ragged panels (a list of series of different lengths) and static covariates
# ------------------------------------------------------------------------------------------
RAGGED = [SERIES, SERIES[:30], SERIES[:25] + 1.0]
RAGGED_STATIC = np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 1.0]])


def _ragged_cases(function) -> dict[str, Case]:
    """Mutations of a valid ragged-panel call of ``function`` (``values`` is its first argument,
    then ``lookback`` and ``horizon``; a panel without asking for one)."""

    def run(values=RAGGED, lookback=4, horizon=2, **kwargs):
        return function(values, lookback, horizon, **kwargs)

    def swap(index, item):
        values = list(RAGGED)
        values[index] = item
        return values

    def per_series(*items):
        return list(items)

    return {
        "values-empty_list": Case(
            lambda: run([]), ValueError, r"must hold at least one series, .* got an empty list"
        ),
        "values-empty_tuple": Case(lambda: run(()), ValueError, r"got an empty tuple"),
        "values-series_scalar": Case(
            lambda: run(swap(1, 3.0)),
            ValueError,
            r"values\[1\] must have shape \[T\] or \[T, D\] \(one series of the panel\), got shape \(\)",
        ),
        "values-series_rank3": Case(
            lambda: run(swap(2, np.ones((25, 1, 1)))),
            ValueError,
            r"values\[2\] must have shape \[T\] or \[T, D\]",
        ),
        "values-series_empty": Case(
            lambda: run(swap(1, [])),
            ValueError,
            r"values\[1\] of series 'series' must hold at least one time step and feature, got shape \(0,\)",
        ),
        "values-series_no_features": Case(
            lambda: run(swap(0, np.ones((40, 0)))),
            ValueError,
            r"values\[0\] of series 'series' must hold at least one time step and feature",
        ),
        "values-series_string": Case(
            lambda: run(swap(1, "abc")),
            TypeError,
            r"values\[1\] must be a numeric \(real\) array, got dtype <U3",
        ),
        "values-series_none": Case(
            lambda: run(swap(2, None)),
            TypeError,
            r"values\[2\] must be a numeric \(real\) array, got dtype object",
        ),
        "values-series_complex": Case(
            lambda: run(swap(0, SERIES.astype(complex))),
            TypeError,
            r"values\[0\] must be a numeric \(real\) array, got dtype complex128",
        ),
        "values-series_nested_ragged": Case(
            lambda: run(swap(1, [[1.0, 2.0], [3.0]])),
            TypeError,
            r"values\[1\] must be a numeric array, could not convert it",
        ),
        "values-features_differ": Case(
            lambda: run(swap(1, np.ones((30, 2)))),
            ValueError,
            r"every series of a panel must have the same features: values\[1\] has 2, values\[0\] has 1",
        ),
        "values-series_nan": Case(
            lambda: run(swap(2, WITH_NAN[:25])),
            ValueError,
            r"series 'series\[2\]' has 1 non-finite values \(NaN or Inf\) at time positions \[7\]",
        ),
        "values-series_inf": Case(
            lambda: run(swap(1, WITH_INF[:30]), name="shops"),
            ValueError,
            r"series 'shops\[1\]' has 1 non-finite .* \[3\]",
        ),
        "values-series_too_short": Case(
            lambda: run(swap(1, SERIES[:5])),
            ValueError,
            r"(series 'series\[1\]' has 5 time steps, fewer than lookback \+ horizon = 6; leave it "
            r"out of the panel|training segment of series 'series\[1\]'|series 'series\[1\]' \(5 time steps\))",
        ),
        "nan_policy-drop": Case(
            lambda: run(nan_policy="drop"),
            ValueError,
            r"nan_policy='drop' is not supported with panel=True",
        ),
        "target_columns-too_large": Case(
            lambda: run(target_columns=1),
            ValueError,
            r"target_columns entries must lie in \[0, 1\)",
        ),
        "past_covariates-wrong_count": Case(
            lambda: run(past_covariates=RAGGED[:2]),
            ValueError,
            r"past_covariates must hold one array per series of values \(3\), got 2",
        ),
        "past_covariates-wrong_length": Case(
            lambda: run(past_covariates=per_series(SERIES, SERIES, SERIES[:25])),
            ValueError,
            r"past_covariates\[1\] must cover the same time steps as values\[1\], expected shape "
            r"\[30, \.\.\.\], got \(40,\)",
        ),
        "past_covariates-one_array": Case(
            lambda: run(past_covariates=SERIES),
            ValueError,
            r"past_covariates of a panel given as a sequence of series must be a sequence of one "
            r"array per series .* got shape \(40,\)",
        ),
        "past_covariates-equal_array_for_ragged": Case(
            lambda: run(past_covariates=np.ones((3, 40))),
            ValueError,
            r"past_covariates\[1\] must cover the same time steps as values\[1\]",
        ),
        "past_covariates-features_differ": Case(
            lambda: run(
                past_covariates=per_series(np.ones((40, 1)), np.ones((30, 2)), np.ones((25, 1)))
            ),
            ValueError,
            r"every series must have the same past_covariates: past_covariates\[1\] has 2 features",
        ),
        "past_covariates-series_nan": Case(
            lambda: run(past_covariates=per_series(SERIES, WITH_NAN[:30], SERIES[:25])),
            ValueError,
            r"series 'series\[1\] past_covariates' has 1 non-finite",
        ),
        "past_covariates-series_string": Case(
            lambda: run(past_covariates=per_series(SERIES, SERIES[:30], np.full(25, "x"))),
            TypeError,
            r"past_covariates\[2\] must be a numeric \(real\) array",
        ),
        "future_covariates-series_rank3": Case(
            lambda: run(future_covariates=per_series(SERIES, SERIES[:30], np.ones((25, 1, 1)))),
            ValueError,
            r"future_covariates\[2\] must have shape \[T\] or \[T, D\]",
        ),
        "future_covariates-none_inside": Case(
            lambda: run(future_covariates=per_series(SERIES, None, SERIES[:25])),
            TypeError,
            r"future_covariates\[1\] must be a numeric \(real\) array, got dtype object",
        ),
        "static_covariates-one_row_for_a_panel": Case(
            lambda: run(static_covariates=[1.0, 2.0]),
            ValueError,
            r"static_covariates must have shape \[N=3, S\], one row per series of the panel, "
            r"got shape \(2,\)",
        ),
        "static_covariates-wrong_rows": Case(
            lambda: run(static_covariates=RAGGED_STATIC[:2]),
            ValueError,
            r"static_covariates must have shape \[N=3, S\], .* got shape \(2, 2\)",
        ),
        "static_covariates-rank3": Case(
            lambda: run(static_covariates=RAGGED_STATIC[:, :, None]),
            ValueError,
            r"static_covariates must have shape \[N=3, S\]",
        ),
        "static_covariates-no_columns": Case(
            lambda: run(static_covariates=np.ones((3, 0))),
            ValueError,
            r"static_covariates must hold at least one covariate per series, got shape \(3, 0\)",
        ),
        "static_covariates-nan": Case(
            lambda: run(static_covariates=np.where(RAGGED_STATIC == 2.0, np.nan, RAGGED_STATIC)),
            ValueError,
            r"static_covariates must be finite \(nan_policy does not fill them\), got NaN or Inf "
            r"in the rows of series \[1\]",
        ),
        "static_covariates-inf": Case(
            lambda: run(static_covariates=np.where(RAGGED_STATIC == 3.0, -np.inf, RAGGED_STATIC)),
            ValueError,
            r"in the rows of series \[2\]",
        ),
        "static_covariates-string": Case(
            lambda: run(static_covariates=np.full((3, 2), "a")),
            TypeError,
            r"static_covariates must be a numeric \(real\) array",
        ),
        "static_covariates-complex": Case(
            lambda: run(static_covariates=RAGGED_STATIC.astype(complex)),
            TypeError,
            r"static_covariates must be a numeric \(real\) array, got dtype complex128",
        ),
        "static_covariates-ragged_rows": Case(
            lambda: run(static_covariates=[[1.0, 2.0], [3.0], [4.0, 5.0]]),
            TypeError,
            r"static_covariates must be a numeric array, could not convert it",
        ),
    }


def _single_static_cases() -> dict[str, Case]:
    run = functools.partial(data.sliding_windows, SERIES, 4, 2)
    return {
        "static_covariates-panel_rows": Case(
            lambda: run(static_covariates=[[1.0, 2.0]]),
            ValueError,
            r"static_covariates must have shape \[S\] for one series \(pass panel=True for a "
            r"panel's \[N, S\]\), got shape \(1, 2\)",
        ),
        "static_covariates-scalar": Case(
            lambda: run(static_covariates=1.0),
            ValueError,
            r"static_covariates must have shape \[S\] for one series",
        ),
        "static_covariates-empty": Case(
            lambda: run(static_covariates=[]),
            ValueError,
            r"static_covariates must hold at least one covariate per series, got shape \(0,\)",
        ),
        "static_covariates-nan": Case(
            lambda: run(static_covariates=[1.0, np.nan]),
            ValueError,
            r"static_covariates must be finite",
        ),
        "static_covariates-none_inside": Case(
            lambda: run(static_covariates=[1.0, None]),
            TypeError,
            r"static_covariates must be a numeric \(real\) array, got dtype object",
        ),
        "static_covariates-array_panel_wrong_rows": Case(
            lambda: data.sliding_windows(PANEL, 4, 2, panel=True, static_covariates=[[1.0]] * 3),
            ValueError,
            r"static_covariates must have shape \[N=2, S\]",
        ),
    }


def _panel_split_cases() -> dict[str, Case]:
    split = functools.partial(data.panel_split, RAGGED, 4, 2)
    return {
        "test-count_too_large_for_one_series": Case(
            lambda: data.panel_split([SERIES, SERIES[:20]], 4, 2, validation=0, test=25),
            ValueError,
            r"series 'series\[1\]' \(20 time steps\): test as a count of time steps must lie in "
            r"\[0, 20\), got 25",
        ),
        "validation-nan": Case(
            lambda: split(validation=float("nan")),
            ValueError,
            r"series 'series\[0\]' \(40 time steps\): validation as a fraction must lie in \[0, 1\)",
        ),
        "test-string": Case(
            lambda: split(test="0.2"),
            TypeError,
            r"test must be a fraction \(float\) or a count \(int\), got '0.2'",
        ),
        "both-leave_no_training": Case(
            lambda: split(validation=0.5, test=0.5),
            ValueError,
            r"series 'series\[0\]' \(40 time steps\): validation \+ test must leave training data",
        ),
        "test-shorter_than_horizon_in_one_series": Case(
            lambda: split(validation=0, test=0.05),
            ValueError,
            r"the test segment of series 'series\[2\]' has 1 time steps, fewer than horizon = 2",
        ),
        "lookback-training_too_short_in_one_series": Case(
            lambda: data.panel_split(RAGGED, 14, 2),
            ValueError,
            r"the training segment of series 'series\[2\]' has 15 time steps, fewer than "
            r"lookback \+ horizon = 16",
        ),
        "values-single_series": Case(
            lambda: data.panel_split(SERIES, 4, 2),
            ValueError,
            r"values must have shape \[N, T\] or \[N, T, D\] when panel=True, got shape \(40,\)",
        ),
        "chronological_split-ragged": Case(
            lambda: data.chronological_split(RAGGED, 4, 2, panel=True),
            ValueError,
            r"the series of 'series' have different lengths \(25 to 40 time steps\); use "
            r"panel_split, which cuts each series at its own points",
        ),
    }


PANEL_CASES = merge(
    _ragged_cases(functools.partial(data.sliding_windows, panel=True)),
    _ragged_cases(data.panel_split),
    _single_static_cases(),
    _panel_split_cases(),
    prefix=["sliding_windows", "panel_split", "sliding_windows_single", "panel_split_sizes"],
)


@pytest.mark.parametrize("case", params(PANEL_CASES))
def test_panels_bad_argument(case: Case) -> None:
    check(case)


def test_panels_valid_calls_still_work() -> None:
    """Lists, tuples, JAX and integer series, NumPy scalars and nested-list static covariates."""
    mixed = (jnp.asarray(SERIES[:20]), np.arange(30), SERIES[:25].tolist())
    windows = data.sliding_windows(
        mixed,
        np.int64(4),
        2,
        panel=np.bool_(True),
        stride=np.int64(2),
        past_covariates=[np.zeros(20), np.zeros((30, 1)), [0.0] * 25],
        static_covariates=[[1], [2], [3]],
        dtype=np.float64,
    )
    assert windows.inputs.shape == (8 + 13 + 10, 4, 1) and windows.inputs.dtype == np.float64
    np.testing.assert_array_equal(windows.static_covariates[:, 0], windows.series_index + 1)
    split = data.panel_split(mixed, 4, 2, validation=np.float64(0.2), test=np.int64(4))
    assert [points.length for points in split.points] == [20, 30, 25]
    assert split.test.static_covariates is None


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    lengths=st.lists(st.integers(-1, 40), min_size=0, max_size=4),
    lookback=st.integers(0, 12),
    horizon=st.integers(0, 6),
    test=st.one_of(st.integers(-1, 20), st.floats(-0.2, 1.1), st.just(float("nan"))),
)
def test_random_ragged_splits_split_each_series_or_name_the_problem(
    lengths, lookback, horizon, test
) -> None:
    """Random ragged panels either split with every target inside its own series' segment, or
    raise a ValueError/TypeError naming an argument or the series."""
    values = [np.arange(float(max(length, 0))) for length in lengths]
    try:
        split = data.panel_split(values, lookback, horizon, validation=0.1, test=test)
    except (ValueError, TypeError) as error:
        assert type(error) in (ValueError, TypeError)
        names = ("values", "lookback", "horizon", "validation", "test", "series")
        assert any(name in str(error) for name in names), str(error)
        return
    for index, points in enumerate(split.points):
        assert points.length == lengths[index]
        for windows, start, end in (
            (split.train, 0, points.train_end),
            (split.validation, points.train_end, points.validation_end),
            (split.test, points.validation_end, points.length),
        ):
            starts = windows.target_start[windows.series_index == index]
            if starts.size:
                assert starts.min() >= start and starts.max() + horizon <= end
                # Each window reads its own series: the value at time t is t.
                own = windows.targets[windows.series_index == index, 0, 0]
                np.testing.assert_array_equal(own, starts)
