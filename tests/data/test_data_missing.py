"""Missing-value policies: raise with names and positions, or fill/drop exactly as documented."""

from __future__ import annotations

import numpy as np
import pytest

from rnnax import data


def test_raise_names_series_and_first_positions() -> None:
    values = np.arange(30.0)
    bad = [2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24]
    values[bad] = np.nan
    values[24] = -np.inf
    with pytest.raises(
        ValueError,
        match=r"series 'load' has 12 non-finite values \(NaN or Inf\) at time positions "
        r"\[2, 4, 6, 8, 10, 12, 14, 16, 18, 20, \.\.\.\]; pass nan_policy=",
    ):
        data.handle_missing(values, name="load")


def test_finite_input_is_returned_unchanged_as_a_copy() -> None:
    values = np.array([1.0, 2.0])
    result = data.handle_missing(values)
    np.testing.assert_array_equal(result, values)
    assert result is not values


def test_integer_input_becomes_float() -> None:
    assert data.handle_missing(np.array([1, 2, 3])).dtype == np.float64


def test_ffill_backfills_a_leading_gap() -> None:
    values = np.array([np.nan, np.nan, 3.0, np.nan, 5.0, np.inf])
    np.testing.assert_array_equal(
        data.handle_missing(values, nan_policy="ffill"), [3, 3, 3, 3, 5, 5]
    )


def test_interpolate_is_linear_with_constant_ends() -> None:
    values = np.array([np.nan, 1.0, np.nan, np.nan, 4.0, np.nan])
    np.testing.assert_allclose(
        data.handle_missing(values, nan_policy="interpolate"), [1, 1, 2, 3, 4, 4]
    )


def test_interpolate_uses_sample_times_when_given() -> None:
    values = np.array([0.0, np.nan, 10.0])
    filled = data.handle_missing(values, nan_policy="interpolate", sample_times=[0.0, 9.0, 10.0])
    np.testing.assert_allclose(filled, [0.0, 9.0, 10.0])


def test_policies_work_per_feature_on_two_dimensional_series() -> None:
    values = np.array([[1.0, 10.0], [np.nan, 20.0], [3.0, np.nan], [4.0, 40.0]])
    np.testing.assert_allclose(
        data.handle_missing(values, nan_policy="interpolate"), [[1, 10], [2, 20], [3, 30], [4, 40]]
    )
    np.testing.assert_allclose(
        data.handle_missing(values, nan_policy="ffill"), [[1, 10], [1, 20], [3, 20], [4, 40]]
    )
    np.testing.assert_allclose(data.handle_missing(values, nan_policy="drop"), [[1, 10], [4, 40]])


def test_input_is_not_modified() -> None:
    values = np.array([1.0, np.nan, 3.0])
    data.handle_missing(values, nan_policy="ffill")
    assert np.isnan(values[1])


def test_all_missing_feature_cannot_be_filled() -> None:
    values = np.array([[1.0, np.nan], [2.0, np.nan]])
    with pytest.raises(
        ValueError, match=r"feature 1 of series 'x' has no finite value, so nan_policy='ffill'"
    ):
        data.handle_missing(values, nan_policy="ffill", name="x")


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"nan_policy must be one of"):
        data.handle_missing(np.zeros(3), nan_policy="bfill")  # type: ignore[arg-type]
    with pytest.raises(
        ValueError,
        match=r"values of series 'cube' must have shape \[T\] or \[T, D\], got shape \(2, 2, 2\)",
    ):
        data.handle_missing(np.zeros((2, 2, 2)), name="cube")
    with pytest.raises(ValueError, match=r"sample_times must have shape \(3,\)"):
        data.handle_missing(
            np.array([1.0, np.nan, 2.0]), nan_policy="interpolate", sample_times=[0.0, 1.0]
        )
    assert data.NAN_POLICIES == ("raise", "ffill", "interpolate", "drop")
