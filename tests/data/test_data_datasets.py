"""The shipped real data sets: lengths, first/last values, time stamps, periods, provenance."""

from __future__ import annotations

import dataclasses
from importlib import resources

import numpy as np
import pytest

from rnnax import data


def test_available_lists_every_data_set() -> None:
    assert data.available() == ("airline_passengers", "co2", "sunspots_monthly", "sunspots_yearly")


@pytest.mark.parametrize("name", data.available())
def test_load_returns_consistent_series(name: str) -> None:
    series = data.load(name)
    assert series.name == name
    assert series.values.dtype == np.float64
    assert series.values.ndim == 1
    assert np.isfinite(series.values).all()
    assert series.timestamps.shape == series.values.shape
    assert np.issubdtype(series.timestamps.dtype, np.datetime64)
    assert (np.diff(series.timestamps) > np.timedelta64(0)).all()
    assert series.source and series.licence and series.unit
    assert len(series) == series.values.shape[0]


@pytest.mark.parametrize("name", data.available())
def test_loaded_series_is_immutable(name: str) -> None:
    series = data.load(name)
    with pytest.raises(ValueError, match="read-only"):
        series.values[0] = 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        series.period = 3  # type: ignore[misc]


def test_airline_passengers_values() -> None:
    air = data.load_airline_passengers()
    assert len(air) == 144
    assert air.values[:5].tolist() == [112.0, 118.0, 132.0, 129.0, 121.0]
    assert air.values[-1] == 432.0
    assert air.values.sum() == 40363.0
    assert air.values.max() == 622.0
    assert str(air.timestamps[0]) == "1949-01" and str(air.timestamps[-1]) == "1960-12"
    assert air.timestamps.dtype == np.dtype("datetime64[M]")
    assert (air.period, air.frequency) == (12, "monthly")


def test_sunspots_yearly_values() -> None:
    sun = data.load_sunspots_yearly()
    assert len(sun) == 309
    assert sun.values[:4].tolist() == [5.0, 11.0, 16.0, 23.0]
    assert sun.values[-3:].tolist() == [15.2, 7.5, 2.9]
    assert str(sun.timestamps[0]) == "1700" and str(sun.timestamps[-1]) == "2008"
    assert (sun.period, sun.frequency) == (1, "yearly")


def test_sunspots_monthly_values_and_agreement_with_yearly() -> None:
    monthly = data.load_sunspots_monthly()
    assert len(monthly) == 3120
    assert monthly.values[:3].tolist() == [58.0, 62.6, 70.0]
    assert monthly.values[-1] == 0.8
    assert str(monthly.timestamps[0]) == "1749-01" and str(monthly.timestamps[-1]) == "2008-12"
    assert (monthly.period, monthly.frequency) == (12, "monthly")
    # Both come from NGDC: calendar-year means agree with the (rounded) yearly record.
    yearly = data.load_sunspots_yearly().values[1749 - 1700 :]
    assert np.abs(monthly.values.reshape(-1, 12).mean(axis=1) - yearly).max() < 0.5


def test_co2_values_and_gap_filling() -> None:
    co2 = data.load_co2()
    assert len(co2) == 2284
    assert co2.values[:3].tolist() == [316.1, 317.3, 317.6]
    assert co2.values[-1] == 371.5
    assert str(co2.timestamps[0]) == "1958-03-29" and str(co2.timestamps[-1]) == "2001-12-29"
    assert (np.diff(co2.timestamps) == np.timedelta64(7, "D")).all()
    assert (co2.period, co2.frequency) == (52, "weekly")
    # Week 6 is missing at the source: interpolated halfway between weeks 5 and 7.
    assert co2.values[6] == pytest.approx((co2.values[5] + co2.values[7]) / 2)


def test_co2_policies() -> None:
    with pytest.raises(
        ValueError, match=r"series 'co2' has 59 non-finite values .* positions \[6, 9, 10"
    ):
        data.load_co2(nan_policy="raise")
    dropped = data.load_co2(nan_policy="drop")
    assert len(dropped) == 2225 and dropped.timestamps.shape == (2225,)
    assert np.datetime64("1958-05-10") not in dropped.timestamps  # week 6, missing
    filled = data.load("co2", nan_policy="ffill")
    assert filled.values[6] == filled.values[5]


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(
        ValueError, match=r"unknown data set name 'nile'; valid names are \['airline_passengers'"
    ):
        data.load("nile")


def test_unknown_nan_policy_is_refused() -> None:
    with pytest.raises(ValueError, match=r"nan_policy must be one of .*got 'zero'"):
        data.load("co2", nan_policy="zero")  # type: ignore[arg-type]


def test_files_are_package_resources_with_a_readme() -> None:
    files = resources.files("rnnax.data").joinpath("files")
    names = {entry.name for entry in files.iterdir()}
    assert {
        "airline_passengers.csv",
        "sunspots_yearly.csv",
        "sunspots_monthly.csv",
        "co2_weekly.csv",
        "README.md",
    } <= names
    readme = files.joinpath("README.md").read_text(encoding="utf-8")
    for name in (
        "airline_passengers.csv",
        "sunspots_yearly.csv",
        "sunspots_monthly.csv",
        "co2_weekly.csv",
    ):
        assert name in readme
    total_bytes = sum(
        len(entry.read_bytes()) for entry in files.iterdir() if entry.name.endswith(".csv")
    )
    assert total_bytes < 300_000
