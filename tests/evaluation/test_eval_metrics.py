"""Metrics equal hand computations, batch over leading axes, and work under jit, vmap and grad."""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rnnax import evaluation

Y_TRUE = np.array([2.0, 4.0, 8.0, 10.0])
Y_PRED = np.array([3.0, 4.0, 5.0, 12.0])
# errors: -1, 0, 3, -2 ; absolute 1, 0, 3, 2


def test_mae_and_rmse_by_hand() -> None:
    assert float(evaluation.mae(Y_TRUE, Y_PRED)) == pytest.approx((1 + 0 + 3 + 2) / 4)
    assert float(evaluation.rmse(Y_TRUE, Y_PRED)) == pytest.approx(math.sqrt((1 + 0 + 9 + 4) / 4))


def test_mape_by_hand() -> None:
    expected = 100 * (1 / 2 + 0 / 4 + 3 / 8 + 2 / 10) / 4
    assert float(evaluation.mape(Y_TRUE, Y_PRED)) == pytest.approx(expected, rel=1e-6)


def test_smape_by_hand_on_the_0_to_200_scale() -> None:
    expected = 200 * (1 / 5 + 0 / 8 + 3 / 13 + 2 / 22) / 4
    assert float(evaluation.smape(Y_TRUE, Y_PRED)) == pytest.approx(expected, rel=1e-6)
    assert float(evaluation.smape(jnp.array([1.0]), jnp.array([-1.0]))) == pytest.approx(200.0)
    assert float(evaluation.smape(jnp.array([5.0]), jnp.array([0.0]))) == pytest.approx(200.0)


def test_mase_by_hand_with_seasonal_period() -> None:
    y_train = np.array([1.0, 2.0, 4.0, 3.0, 5.0, 8.0])
    # period 3 differences: |3-1|, |5-2|, |8-4| -> 2, 3, 4 -> scale 3
    assert float(evaluation.seasonal_naive_scale(y_train, 3)) == pytest.approx(3.0)
    assert float(evaluation.mase(Y_TRUE, Y_PRED, y_train, period=3)) == pytest.approx(1.5 / 3.0)
    # period 1 differences: 1, 2, 1, 2, 3 -> scale 1.8
    assert float(evaluation.mase(Y_TRUE, Y_PRED, y_train)) == pytest.approx(1.5 / 1.8, rel=1e-6)


def test_mase_on_airline_data_seasonal_naive_is_sensible() -> None:
    from rnnax import data

    air = data.load_airline_passengers().values
    train, test = air[:-12], air[-12:]
    forecast = evaluation.seasonal_naive_forecast(train, 12, period=12)
    score = float(evaluation.mase(test, forecast, train, period=12))
    assert 0.5 < score < 2.0
    naive_score = float(
        evaluation.mase(test, evaluation.naive_forecast(train, 12), train, period=12)
    )
    assert score < naive_score


def test_coverage_by_hand_and_empty_interval() -> None:
    y = jnp.array([1.0, 2.0, 3.0, 4.0, 5.0])
    lower = jnp.array([0.0, 2.0, 3.5, 5.0, 4.0])
    upper = jnp.array([1.0, 2.0, 4.0, 3.0, 6.0])  # interval 4 is empty (lower > upper)
    assert float(evaluation.coverage(y, lower, upper)) == pytest.approx(3 / 5)


def test_pinball_loss_by_hand() -> None:
    # q = 0.25: under-forecast by 4 costs 0.25 * 4 = 1; over-forecast by 2 costs 0.75 * 2 = 1.5
    loss = evaluation.pinball_loss(jnp.array([10.0, 10.0]), jnp.array([6.0, 12.0]), 0.25)
    assert float(loss) == pytest.approx((1.0 + 1.5) / 2)
    median = evaluation.pinball_loss(Y_TRUE, Y_PRED, 0.5)
    assert float(median) == pytest.approx(0.5 * float(evaluation.mae(Y_TRUE, Y_PRED)))


def test_gaussian_nll_by_hand() -> None:
    nll = evaluation.gaussian_nll(
        jnp.array([1.0, 0.0]), jnp.array([0.0, 0.0]), jnp.array([2.0, 1.0])
    )
    first = 0.5 * math.log(2 * math.pi) + math.log(2.0) + 0.5 * 0.25
    second = 0.5 * math.log(2 * math.pi)
    assert float(nll) == pytest.approx((first + second) / 2, rel=1e-6)
    scalar_std = evaluation.gaussian_nll(jnp.array([1.0, 0.0]), jnp.array([0.0, 0.0]), 2.0)
    assert float(scalar_std) == pytest.approx(
        0.5 * math.log(2 * math.pi) + math.log(2.0) + 0.5 * 0.125, rel=1e-6
    )
    assert (
        float(evaluation.gaussian_nll(jnp.array([1.0]), jnp.array([1.0]), jnp.array([0.0])))
        == math.inf
    )


def test_zero_denominators_give_zero_or_inf_never_nan() -> None:
    zeros = jnp.zeros(3)
    assert float(evaluation.mape(zeros, zeros)) == 0.0
    assert float(evaluation.mape(zeros, jnp.array([0.0, 1.0, 0.0]))) == math.inf
    assert float(evaluation.smape(zeros, zeros)) == 0.0
    constant_train = jnp.full(5, 3.0)
    assert (
        float(evaluation.mase(jnp.array([3.0, 3.0]), jnp.array([3.0, 3.0]), constant_train)) == 0.0
    )
    assert (
        float(evaluation.mase(jnp.array([3.0, 3.0]), jnp.array([3.0, 4.0]), constant_train))
        == math.inf
    )


def test_zero_denominator_keeps_gradients_finite() -> None:
    grad = jax.grad(lambda pred: evaluation.smape(jnp.array([0.0, 2.0]), pred))(
        jnp.array([0.0, 1.0])
    )
    assert bool(jnp.isfinite(grad).all())


@pytest.mark.parametrize(
    "metric",
    [
        evaluation.mae,
        evaluation.rmse,
        evaluation.mape,
        evaluation.smape,
        lambda t, p: evaluation.pinball_loss(t, p, 0.8),
        lambda t, p: evaluation.gaussian_nll(t, p, jnp.ones_like(t)),
    ],
)
def test_metrics_batch_over_leading_axes_and_match_vmap_and_jit(
    metric: Callable[..., jax.Array], rng: np.random.Generator
) -> None:
    y_true = jnp.asarray(rng.uniform(1.0, 2.0, size=(3, 5, 7)), dtype=jnp.float32)
    y_pred = jnp.asarray(rng.uniform(1.0, 2.0, size=(3, 5, 7)), dtype=jnp.float32)
    batched = metric(y_true, y_pred)
    assert batched.shape == (3, 5)
    looped = jax.vmap(jax.vmap(metric))(y_true, y_pred)
    np.testing.assert_allclose(batched, looped, rtol=1e-6)
    np.testing.assert_allclose(jax.jit(metric)(y_true, y_pred), batched, rtol=1e-6)
    np.testing.assert_allclose(metric(y_true[1, 2], y_pred[1, 2]), batched[1, 2], rtol=1e-6)


def test_axis_argument() -> None:
    y_true = jnp.arange(6.0).reshape(2, 3)
    y_pred = jnp.zeros((2, 3))
    np.testing.assert_allclose(evaluation.mae(y_true, y_pred, axis=0), [1.5, 2.5, 3.5])
    assert float(evaluation.mae(y_true, y_pred, axis=None)) == pytest.approx(2.5)
    np.testing.assert_allclose(evaluation.coverage(y_true, y_pred, y_true + 1, axis=(0, 1)), 1.0)


def test_mase_batched_with_time_on_another_axis() -> None:
    y_train = jnp.array([[1.0, 10.0], [2.0, 30.0], [4.0, 20.0]])  # [T=3, B=2]
    y_true = jnp.array([[5.0, 20.0]])
    y_pred = jnp.array([[4.0, 25.0]])
    result = evaluation.mase(y_true, y_pred, y_train, period=1, axis=0)
    np.testing.assert_allclose(result, [1.0 / 1.5, 5.0 / 15.0], rtol=1e-6)
    jitted = jax.jit(evaluation.mase, static_argnames=("period", "axis"))
    np.testing.assert_allclose(jitted(y_true, y_pred, y_train, period=1, axis=0), result, rtol=1e-6)


def test_mixed_dtypes_are_promoted_explicitly() -> None:
    ints = jnp.array([1, 2, 3], dtype=jnp.int32)
    floats = jnp.array([1.5, 2.0, 2.0], dtype=jnp.float32)
    assert float(evaluation.mae(ints, floats)) == pytest.approx(0.5)
    assert evaluation.mae(ints, ints).dtype == jnp.float32
    assert evaluation.mae(np.array([1.0, 2.0]), floats[:2]).dtype == jnp.float32


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: evaluation.mae(jnp.zeros(3), jnp.zeros(4)),
            ValueError,
            r"y_pred must have the same shape as y_true \(3,\), got \(4,\)",
        ),
        (
            lambda: evaluation.rmse(jnp.zeros((2, 3)), jnp.zeros(3)),
            ValueError,
            r"y_pred must have the same shape as y_true \(2, 3\), got \(3,\)",
        ),
        (
            lambda: evaluation.coverage(jnp.zeros(3), jnp.zeros(3), jnp.zeros(2)),
            ValueError,
            r"upper must have the same shape as y_true \(3,\), got \(2,\)",
        ),
        (
            lambda: evaluation.mase(jnp.zeros(3), jnp.zeros(3), jnp.zeros(3), period=3),
            ValueError,
            r"y_train must have more than period=3 time steps on axis -1, got 3",
        ),
        (
            lambda: evaluation.mase(jnp.zeros((2, 3)), jnp.zeros((2, 3)), jnp.zeros((3, 8))),
            ValueError,
            r"y_train must match y_true's shape \(2, 3\) except along axis -1, got \(3, 8\)",
        ),
        (
            lambda: evaluation.mase(jnp.zeros(3), jnp.zeros(3), jnp.zeros(8), period=0),
            ValueError,
            "period must be an integer >= 1, got 0",
        ),
        (
            lambda: evaluation.pinball_loss(jnp.zeros(3), jnp.zeros(3), 1.0),
            ValueError,
            "quantile must lie strictly between 0 and 1, got 1.0",
        ),
        (
            lambda: evaluation.gaussian_nll(jnp.zeros(3), jnp.zeros(3), jnp.ones(2)),
            ValueError,
            r"std must have the same shape as y_true \(3,\), got \(2,\)",
        ),
        (
            lambda: evaluation.mae(jnp.zeros(2, dtype=jnp.complex64), jnp.zeros(2)),
            TypeError,
            "y_true must be a real numeric array, got dtype complex64",
        ),
    ],
)
def test_bad_metric_arguments_are_named(
    call: Callable[[], object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        call()
