"""The exception rule for ``rnnax.evaluation``, argument by argument.

For every scalar argument of every public metric and baseline, a value of the wrong type (a
string, a bool or a float where an int belongs, a string where a number belongs) raises exactly
a ``TypeError`` and a value of the right type but out of range raises exactly a ``ValueError``;
both messages name the argument. (The array inputs are fuzzed in ``test_fuzz_forecasting.py``.)
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import pytest
from fuzz_helpers import Case, cases_from, check, params

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
