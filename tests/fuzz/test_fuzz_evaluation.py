"""The exception rule for ``rnnax.evaluation``, argument by argument.

For every scalar argument of every public metric and baseline, a value of the wrong type (a
string, a bool or a float where an int belongs, a string where a number belongs) raises exactly
a ``TypeError`` and a value of the right type but out of range raises exactly a ``ValueError``;
both messages name the argument. The second half fuzzes the array inputs (wrong rank, shape or
dtype, NaN, empty) of the same metrics and baselines.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from fuzz_helpers import Case, cases_from, check, int_mutations, merge, params

from rnnax import evaluation

Y = jnp.arange(1.0, 9.0).reshape(2, 4)
Y_TRAIN = jnp.arange(10.0).reshape(2, 5) ** 2

WRONG_TYPES: dict[str, dict[str, Any]] = {
    "int": {"str": "2", "bool": True, "float": 2.0, "none": None, "list": [2]},
    # An axis to average over: an int, a tuple of ints or None.
    "axes": {"str": "time", "bool": True, "float": 1.0, "list": [1], "float_in_tuple": (0, 1.0)},
    # A single time axis: an int only.
    "axis": {"str": "t", "bool": False, "float": -1.0, "none": None, "tuple": (0, 1)},
    "real": {"str": "0.5", "bool": True, "none": None, "list": [0.5]},
}

METRICS = {
    "mae": evaluation.mae,
    "rmse": evaluation.rmse,
    "mape": evaluation.mape,
    "smape": evaluation.smape,
    "coverage": lambda y, p, **kwargs: evaluation.coverage(y, p - 1, p + 1, **kwargs),
    "pinball_loss": lambda y, p, **kwargs: evaluation.pinball_loss(y, p, 0.5, **kwargs),
    "gaussian_nll": lambda y, p, **kwargs: evaluation.gaussian_nll(y, p, 1.0, **kwargs),
}


def _rule_cases(
    function: str,
    argument: str,
    kind: str,
    run: Callable[..., Any],
    wrong_values: tuple[Any, ...],
) -> dict[str, Case]:
    """TypeError cases for each wrong type of ``kind``; ValueError cases for ``wrong_values``."""
    pattern = rf"(?<!\w){re.escape(argument)}(?!\w)"
    table = {label: (value, TypeError, pattern) for label, value in WRONG_TYPES[kind].items()}
    table |= {
        f"out_of_range_{index}": (value, ValueError, pattern)
        for index, value in enumerate(wrong_values)
    }
    call = functools.partial(_call_with, run, argument)
    return {
        f"rule-{function}-{argument}-{label}": case
        for label, case in cases_from(table, call).items()
    }


def _call_with(run: Callable[..., Any], argument: str, value: Any) -> Any:
    return run(**{argument: value})


def _evaluation_rule_cases() -> dict[str, Case]:
    specs: list[tuple[str, str, str, Callable[..., Any], tuple[Any, ...]]] = [
        (name, "axis", "axes", functools.partial(metric, Y, Y), (2, -3, (1, -1)))
        for name, metric in METRICS.items()
    ]
    specs += [
        (
            "pinball_loss",
            "quantile",
            "real",
            functools.partial(evaluation.pinball_loss, Y, Y),
            (0.0, 1.0, -0.5, float("nan")),
        ),
        (
            "mase",
            "period",
            "int",
            functools.partial(evaluation.mase, Y, Y, Y_TRAIN),
            (0, -1, 5),
        ),
        ("mase", "axis", "axis", functools.partial(evaluation.mase, Y, Y, Y_TRAIN), (2, -3)),
        (
            "seasonal_naive_scale",
            "period",
            "int",
            functools.partial(evaluation.seasonal_naive_scale, Y_TRAIN),
            (0, -2, 5),
        ),
        (
            "seasonal_naive_scale",
            "axis",
            "axis",
            functools.partial(evaluation.seasonal_naive_scale, Y_TRAIN),
            (2, -3),
        ),
        (
            "seasonal_naive_forecast",
            "period",
            "int",
            functools.partial(evaluation.seasonal_naive_forecast, Y, 2),
            (0, -1, 5),
        ),
    ]
    baselines = {
        "naive_forecast": evaluation.naive_forecast,
        "seasonal_naive_forecast": functools.partial(evaluation.seasonal_naive_forecast, period=2),
        "drift_forecast": evaluation.drift_forecast,
        "mean_forecast": evaluation.mean_forecast,
    }
    specs += [
        (name, "horizon", "int", functools.partial(baseline, Y), (0, -1))
        for name, baseline in baselines.items()
    ]
    cases: dict[str, Case] = {}
    for function, argument, kind, run, wrong_values in specs:
        cases |= _rule_cases(function, argument, kind, run, wrong_values)
    return cases


@pytest.mark.parametrize("case", params(_evaluation_rule_cases()))
def test_evaluation_exception_rule(case: Case) -> None:
    check(case)


# ------------------------------------------------------------------------------------------
# evaluation: metrics and baselines
# ------------------------------------------------------------------------------------------


def _pair_metric_cases(metric) -> dict[str, Case]:
    name = metric.__name__
    cases = {}
    for argument, position in (("y_true", 0), ("y_pred", 1)):

        def run(value, position=position, **kwargs):
            arguments = [Y, Y]
            arguments[position] = value
            return metric(*arguments, **kwargs)

        cases |= {
            f"{argument}-string": Case(
                functools.partial(run, "abc"),
                TypeError,
                rf"{argument} must be a real numeric array, got dtype <U3",
            ),
            f"{argument}-none": Case(
                functools.partial(run, None),
                TypeError,
                rf"{argument} must be a real numeric array, got dtype object",
            ),
            f"{argument}-objects": Case(
                functools.partial(run, np.full((2, 4), object())),
                TypeError,
                rf"{argument} must be a real numeric array, got dtype object",
            ),
            f"{argument}-complex": Case(
                functools.partial(run, Y.astype(jnp.complex64)),
                TypeError,
                rf"{argument} must be a real numeric array, got dtype complex64",
            ),
            f"{argument}-ragged": Case(
                functools.partial(run, [[1.0, 2.0], [3.0]]),
                TypeError,
                rf"{argument} must be a real numeric array, got list",
            ),
        }
    cases |= {
        "y_pred-broadcastable": Case(
            lambda: metric(Y, Y[0]),
            ValueError,
            r"y_pred must have the same shape as y_true \(4,\), got \(2, 4\)|y_pred must have the same shape as y_true \(2, 4\), got \(4,\)",
        ),
        "y_pred-transposed": Case(
            lambda: metric(Y, Y.T),
            ValueError,
            r"y_pred must have the same shape as y_true \(2, 4\), got \(4, 2\)",
        ),
        "y_true-empty_time_axis": Case(
            lambda: metric(jnp.ones((2, 0)), jnp.ones((2, 0))),
            ValueError,
            r"y_true has no values to average over axis -1 \(shape \(2, 0\)\); a mean of nothing is undefined",
        ),
        "y_true-empty": Case(
            lambda: metric(jnp.ones(0), jnp.ones(0), axis=None),
            ValueError,
            r"y_true has no values to average over axis None",
        ),
        "axis-out_of_range": Case(
            lambda: metric(Y, Y, axis=2),
            ValueError,
            r"axis 2 is out of range for y_true with 2 axes",
        ),
        "axis-negative_out_of_range": Case(
            lambda: metric(Y, Y, axis=-3),
            ValueError,
            r"axis -3 is out of range for y_true with 2 axes",
        ),
        "axis-string": Case(
            lambda: metric(Y, Y, axis="time"),
            TypeError,
            r"axis must be an int, a tuple of ints or None, got 'time'",
        ),
        "axis-float": Case(
            lambda: metric(Y, Y, axis=1.0),
            TypeError,
            r"axis must be an int, a tuple of ints or None, got 1.0",
        ),
        "axis-bool": Case(lambda: metric(Y, Y, axis=True), TypeError, r"axis must be an int"),
        "axis-repeated": Case(
            lambda: metric(Y, Y, axis=(1, -1)),
            ValueError,
            r"axis must not repeat an axis, got \(1, -1\)",
        ),
        "axis-on_scalar": Case(
            lambda: metric(jnp.ones(()), jnp.ones(())),
            ValueError,
            r"axis -1 is out of range for y_true with 0 axes",
        ),
    }
    return {f"{name}-{label}": case for label, case in cases.items()}


def _other_metric_cases() -> dict[str, Case]:
    cases = {
        "mase-y_train-wrong_batch": Case(
            lambda: evaluation.mase(Y, Y, jnp.arange(10.0)),
            ValueError,
            r"y_train must match y_true's shape \(2, 4\) except along axis -1, got \(10,\)",
        ),
        "mase-y_train-too_short": Case(
            lambda: evaluation.mase(Y, Y, Y_TRAIN, period=5),
            ValueError,
            r"y_train must have more than period=5 time steps on axis -1, got 5",
        ),
        "mase-y_train-string": Case(
            lambda: evaluation.mase(Y, Y, "abc"), TypeError, r"y_train must be a real numeric array"
        ),
        "mase-axis-out_of_range": Case(
            lambda: evaluation.mase(Y, Y, Y_TRAIN, axis=5),
            ValueError,
            r"axis 5 is out of range for y_true with 2 axes",
        ),
        "mase-axis-tuple": Case(
            lambda: evaluation.mase(Y, Y, Y_TRAIN, axis=(0, 1)),
            TypeError,
            r"axis must be an int, got \(0, 1\)",
        ),
        "mase-axis-none": Case(
            lambda: evaluation.mase(Y, Y, Y_TRAIN, axis=None),
            TypeError,
            r"axis must be an int, got None",
        ),
        "mase-y_true-empty_time_axis": Case(
            lambda: evaluation.mase(jnp.ones((2, 0)), jnp.ones((2, 0)), Y_TRAIN),
            ValueError,
            r"y_true has no values to average over axis -1",
        ),
        "mase-y_true-scalar": Case(
            lambda: evaluation.mase(jnp.ones(()), jnp.ones(()), Y_TRAIN),
            ValueError,
            r"y_true must have a time axis, got a 0-d array",
        ),
        "seasonal_naive_scale-axis-out_of_range": Case(
            lambda: evaluation.seasonal_naive_scale(Y_TRAIN, axis=2),
            ValueError,
            r"axis 2 is out of range for y_train with 2 axes",
        ),
        "seasonal_naive_scale-axis-string": Case(
            lambda: evaluation.seasonal_naive_scale(Y_TRAIN, axis="t"),
            TypeError,
            r"axis must be an int, got 't'",
        ),
        "seasonal_naive_scale-y_train-scalar": Case(
            lambda: evaluation.seasonal_naive_scale(jnp.ones(())),
            ValueError,
            r"y_train must have a time axis, got a 0-d array",
        ),
        "coverage-lower-wrong_shape": Case(
            lambda: evaluation.coverage(Y, Y[0], Y),
            ValueError,
            r"lower must have the same shape as y_true \(2, 4\), got \(4,\)",
        ),
        "coverage-upper-string": Case(
            lambda: evaluation.coverage(Y, Y, "abc"),
            TypeError,
            r"upper must be a real numeric array",
        ),
        "gaussian_nll-std-wrong_shape": Case(
            lambda: evaluation.gaussian_nll(Y, Y, jnp.ones(4)),
            ValueError,
            r"std must have the same shape as y_true \(2, 4\), got \(4,\)",
        ),
        "gaussian_nll-mean-none": Case(
            lambda: evaluation.gaussian_nll(Y, None, 1.0),
            TypeError,
            r"mean must be a real numeric array",
        ),
        "pinball_loss-y_pred-wrong_shape": Case(
            lambda: evaluation.pinball_loss(Y, Y[:1], 0.5),
            ValueError,
            r"y_pred must have the same shape as y_true",
        ),
    }
    for label, (value, error) in {
        "zero": (0.0, ValueError),
        "one": (1.0, ValueError),
        "nan": (float("nan"), ValueError),
        "negative": (-0.1, ValueError),
        "string": ("0.5", TypeError),
        "none": (None, TypeError),
        "bool": (True, TypeError),
        "vector": (jnp.array([0.1, 0.9]), TypeError),
    }.items():
        cases[f"pinball_loss-quantile-{label}"] = Case(
            functools.partial(evaluation.pinball_loss, Y, Y, value),
            error,
            r"quantile must (lie strictly between 0 and 1|be a number strictly between 0 and 1)",
        )
    for label, value in {"zero": 0, "float": 2.0, "none": None, "string": "12"}.items():
        error = ValueError if label == "zero" else TypeError
        cases[f"mase-period-{label}"] = Case(
            functools.partial(evaluation.mase, Y, Y, Y_TRAIN, value),
            error,
            r"period must be an integer",
        )
    return cases


def _baseline_cases() -> dict[str, Case]:
    baselines = {
        "naive_forecast": evaluation.naive_forecast,
        "seasonal_naive_forecast": functools.partial(evaluation.seasonal_naive_forecast, period=2),
        "drift_forecast": evaluation.drift_forecast,
        "mean_forecast": evaluation.mean_forecast,
    }
    cases: dict[str, Case] = {}
    for name, baseline in baselines.items():
        cases |= {
            f"{name}-history-string": Case(
                functools.partial(baseline, "abc", 2),
                TypeError,
                r"history must be a real numeric array, got dtype <U3",
            ),
            f"{name}-history-none": Case(
                functools.partial(baseline, None, 2),
                TypeError,
                r"history must be a real numeric array",
            ),
            f"{name}-history-complex": Case(
                functools.partial(baseline, Y.astype(jnp.complex64), 2),
                TypeError,
                r"history must be a real numeric array, got dtype complex64",
            ),
            f"{name}-history-scalar": Case(
                functools.partial(baseline, jnp.ones(()), 2),
                ValueError,
                r"history must have a time axis \(last axis\), got a 0-d array",
            ),
            f"{name}-history-empty": Case(
                functools.partial(baseline, jnp.ones((2, 0)), 2),
                ValueError,
                r"history must have at least \d time steps on its last axis.*got shape \(2, 0\)",
            ),
        }
        mutations = int_mutations("horizon", huge=False)
        mutations = {
            label: (value, error, r"horizon must be an integer")
            for label, (value, error, _) in mutations.items()
        }
        cases |= {
            f"{name}-horizon-{label}": case
            for label, case in cases_from(
                mutations, lambda value, baseline=baseline: baseline(Y, value)
            ).items()
        }
    cases |= {
        "seasonal_naive_forecast-period-zero": Case(
            lambda: evaluation.seasonal_naive_forecast(Y, 2, 0),
            ValueError,
            r"period must be an integer >= 1, got 0",
        ),
        "seasonal_naive_forecast-period-float": Case(
            lambda: evaluation.seasonal_naive_forecast(Y, 2, 2.0),
            TypeError,
            r"period must be an integer, got 2.0",
        ),
        "seasonal_naive_forecast-period-longer_than_history": Case(
            lambda: evaluation.seasonal_naive_forecast(Y, 2, 5),
            ValueError,
            r"history must have at least 5 time steps on its last axis \(one full period, period=5\)",
        ),
        "drift_forecast-history-one_step": Case(
            lambda: evaluation.drift_forecast(jnp.ones((2, 1)), 2),
            ValueError,
            r"history must have at least 2 time steps .* \(the drift needs a first and a last value\)",
        ),
    }
    return cases


EVALUATION_CASES = merge(
    *(
        _pair_metric_cases(metric)
        for metric in (evaluation.mae, evaluation.rmse, evaluation.mape, evaluation.smape)
    ),
    _other_metric_cases(),
    _baseline_cases(),
)


@pytest.mark.parametrize("case", params(EVALUATION_CASES))
def test_evaluation_bad_argument(case: Case) -> None:
    check(case)


def test_evaluation_valid_calls_still_work() -> None:
    assert evaluation.mae(Y.tolist(), Y, axis=np.int64(0)).shape == (4,)
    assert float(evaluation.rmse(Y, Y + 1, axis=(0, 1))) == pytest.approx(1.0)
    assert evaluation.mase(Y, Y + 1, Y_TRAIN, period=np.int64(1)).shape == (2,)
    assert float(evaluation.pinball_loss(Y, Y, np.float32(0.5), axis=None)) == 0.0
    assert evaluation.mae(jnp.ones((0, 4)), jnp.ones((0, 4))).shape == (0,)  # nothing to score
    assert evaluation.seasonal_naive_forecast(Y, np.int64(3), period=2).shape == (2, 3)
    assert evaluation.drift_forecast(np.array([1, 2, 4]), 1).dtype == jnp.float32
    jitted = jax.jit(evaluation.mase, static_argnames=("period", "axis"))
    assert jitted(Y, Y, Y_TRAIN, period=1, axis=-1).shape == (2,)
