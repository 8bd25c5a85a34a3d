"""Scalers: statistics, exact inversion on numpy and JAX, constant features, training-only fitting."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rnnax import data

FITTERS: dict[str, Callable[[np.ndarray], data.Scaler]] = {
    "standard": data.fit_standard_scaler,
    "min_max": data.fit_min_max_scaler,
    "robust": data.fit_robust_scaler,
}


def test_standard_scaler_statistics() -> None:
    train = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 40.0]])
    scaler = data.fit_standard_scaler(train)
    np.testing.assert_allclose(scaler.center, [3.0, 20.0])
    np.testing.assert_allclose(scaler.scale, [np.sqrt(8 / 3), np.sqrt(200.0)])
    scaled = data.transform(scaler, train)
    np.testing.assert_allclose(scaled.mean(axis=0), 0.0, atol=1e-15)
    np.testing.assert_allclose(scaled.std(axis=0), 1.0)


def test_min_max_scaler_maps_range() -> None:
    train = np.array([[2.0, -1.0], [6.0, 1.0], [4.0, 0.0]])
    scaler = data.fit_min_max_scaler(train, feature_range=(-1.0, 1.0))
    np.testing.assert_allclose(
        data.transform(scaler, train), [[-1.0, -1.0], [1.0, 1.0], [0.0, 0.0]]
    )
    # Values beyond the training range are not clipped.
    np.testing.assert_allclose(data.transform(scaler, np.array([[8.0, 3.0]])), [[2.0, 3.0]])


def test_robust_scaler_median_and_iqr() -> None:
    train = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 1000.0])
    scaler = data.fit_robust_scaler(train)
    assert scaler.center.shape == ()
    assert float(scaler.center) == 3.5
    assert float(scaler.scale) == np.percentile(train, 75) - np.percentile(train, 25) == 2.5
    wide = data.fit_robust_scaler(train, quantile_range=(0.0, 100.0))
    assert float(wide.scale) == 999.0


@pytest.mark.parametrize("kind", FITTERS)
def test_inverse_is_exact_on_numpy(kind: str, rng: np.random.Generator) -> None:
    train = rng.normal(50.0, 20.0, size=(200, 3))
    later = rng.normal(60.0, 30.0, size=(7, 50, 3))
    scaler = FITTERS[kind](train)
    np.testing.assert_allclose(
        data.inverse_transform(scaler, data.transform(scaler, later)), later, rtol=1e-13, atol=0
    )
    assert data.transform(scaler, later).dtype == np.float64


@pytest.mark.parametrize("kind", FITTERS)
def test_numpy_and_jax_agree_and_jax_inverts(kind: str, rng: np.random.Generator) -> None:
    train = rng.normal(5.0, 2.0, size=(100, 2))
    scaler = FITTERS[kind](train)
    values = jnp.asarray(rng.normal(5.0, 2.0, size=(4, 10, 2)), dtype=jnp.float32)
    scaled = data.transform(scaler, values)
    assert isinstance(scaled, jax.Array) and scaled.dtype == jnp.float32
    np.testing.assert_allclose(
        scaled, data.transform(scaler, np.asarray(values, dtype=np.float64)), rtol=1e-5, atol=1e-5
    )
    np.testing.assert_allclose(data.inverse_transform(scaler, scaled), values, rtol=1e-6, atol=1e-5)


def test_scaler_is_a_pytree_usable_under_jit() -> None:
    scaler = data.fit_standard_scaler(np.array([[0.0, 1.0], [2.0, 3.0]]))

    @jax.jit
    def round_trip(stats: data.Scaler, x: jax.Array) -> jax.Array:
        return data.inverse_transform(stats, data.transform(stats, x))

    x = jnp.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(round_trip(scaler, x), x, rtol=1e-6)
    assert jax.jit(data.transform)(scaler, x).shape == (2, 2)


@pytest.mark.parametrize("kind", FITTERS)
def test_constant_feature_does_not_divide_by_zero(kind: str) -> None:
    train = np.array([[0.1, 1.0], [0.1, 2.0], [0.1, 3.0]])
    scaler = FITTERS[kind](train)
    assert scaler.scale[0] == 1.0
    scaled = data.transform(scaler, train)
    assert np.isfinite(scaled).all()
    # Standard and robust shift a constant to 0; min-max to the low end of (0, 1), also 0.
    np.testing.assert_allclose(scaled[:, 0], 0.0, atol=1e-15)
    np.testing.assert_allclose(data.inverse_transform(scaler, scaled), train, rtol=1e-15)


def test_constant_feature_maps_to_low_end_of_min_max_range() -> None:
    scaler = data.fit_min_max_scaler(np.full(5, 7.0), feature_range=(-1.0, 1.0))
    np.testing.assert_array_equal(data.transform(scaler, np.array([7.0, 8.0])), [-1.0, 0.0])


def test_robust_scaler_with_zero_iqr_uses_unit_scale() -> None:
    scaler = data.fit_robust_scaler(np.array([0.0, 0.0, 0.0, 0.0, 0.0, 5.0]))
    assert float(scaler.scale) == 1.0


def test_fit_on_training_segment_only() -> None:
    air = data.load_airline_passengers()
    points = data.split_points(len(air), validation=24, test=24)
    scaler = data.fit_standard_scaler(air.values[: points.train_end])
    assert float(scaler.center) == pytest.approx(air.values[:96].mean())
    scaled = data.transform(scaler, air.values)
    # The later, higher traffic lies above the training distribution: nothing leaked into the fit.
    assert scaled[: points.train_end].mean() == pytest.approx(0.0, abs=1e-12)
    assert scaled[points.validation_end :].mean() > 1.0


def test_panel_statistics_pool_all_leading_axes() -> None:
    panel = np.stack([np.zeros((4, 1)), np.full((4, 1), 2.0)])  # [N=2, T=4, D=1]
    scaler = data.fit_standard_scaler(panel)
    np.testing.assert_allclose(scaler.center, [1.0])
    np.testing.assert_allclose(scaler.scale, [1.0])


def test_statistics_are_read_only() -> None:
    scaler = data.fit_standard_scaler(np.arange(4.0))
    with pytest.raises(ValueError, match="read-only"):
        scaler.center[...] = 0.0


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: data.fit_standard_scaler(np.array(1.0)),
            ValueError,
            "train_values must have at least one axis",
        ),
        (
            lambda: data.fit_standard_scaler(np.zeros((0, 2))),
            ValueError,
            r"train_values must hold at least one value, got shape \(0, 2\)",
        ),
        (
            lambda: data.fit_standard_scaler(np.array([1.0, np.nan])),
            ValueError,
            r"series 'train_values' has 1 non-finite values .* \[1\]",
        ),
        (
            lambda: data.fit_min_max_scaler(np.arange(3.0), feature_range=(1.0, 1.0)),
            ValueError,
            r"feature_range must be finite \(low, high\) with low < high, got \(1.0, 1.0\)",
        ),
        (
            lambda: data.fit_robust_scaler(np.arange(3.0), quantile_range=(75.0, 25.0)),
            ValueError,
            "quantile_range must be",
        ),
        (
            lambda: data.transform(data.fit_standard_scaler(np.zeros((3, 2))), np.zeros((3, 3))),
            ValueError,
            r"values must have the scaler's 2 features on their last axis, got shape \(3, 3\)",
        ),
    ],
)
def test_bad_scaler_arguments_are_named(
    call: Callable[[], object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        call()
