"""Your own series from CSV files and DataFrames: round trips with the shipped data, frequency
and period inference (reported in ``Series.source``), missing values and gaps, and every
malformed input named by file, column and line."""

from __future__ import annotations

import dataclasses
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from rnnax import data


def write(folder: Path, text: str, name: str = "series.csv") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def csv_text(header: str, rows: list[str]) -> str:
    return "\n".join([header, *rows]) + "\n"


# ------------------------------------------------------------------------------------------
# Round trips with the shipped data sets
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", data.available())
def test_to_csv_then_from_csv_gives_the_shipped_series_back(tmp_path: Path, name: str) -> None:
    shipped = data.load(name)
    path = tmp_path / f"{name}.csv"
    data.to_csv(shipped, path)
    series = data.from_csv(path)
    np.testing.assert_array_equal(series.values, shipped.values)
    np.testing.assert_array_equal(series.timestamps, shipped.timestamps)
    assert series.timestamps.dtype == shipped.timestamps.dtype
    assert (series.period, series.frequency, series.name) == (
        shipped.period,
        shipped.frequency,
        name,
    )
    assert f"inferred: {shipped.frequency}, period {shipped.period}" in series.source


def test_the_shipped_airline_file_reads_as_load_does() -> None:
    path = resources.files("rnnax.data").joinpath("files", "airline_passengers.csv")
    series = data.from_csv(Path(str(path)), name="airline_passengers")
    shipped = data.load("airline_passengers")
    np.testing.assert_array_equal(series.values, shipped.values)
    np.testing.assert_array_equal(series.timestamps, shipped.timestamps)
    assert series.period == 12 and series.columns == ("passengers_thousands",)
    assert series.source.endswith("time column 'month'; inferred: monthly, period 12")
    assert series.licence and series.unit == "passengers_thousands"
    with pytest.raises(ValueError, match="read-only"):
        series.values[0] = 1.0


def test_the_shipped_co2_file_with_gaps_in_values_interpolates_as_load_does() -> None:
    path = Path(str(resources.files("rnnax.data").joinpath("files", "co2_weekly.csv")))
    series = data.from_csv(path, nan_policy="interpolate")
    np.testing.assert_allclose(series.values, data.load("co2").values)
    assert series.frequency == "weekly" and series.period == 52
    assert "59 missing values filled by nan_policy='interpolate'" in series.source
    dropped = data.from_csv(path, nan_policy="drop")
    np.testing.assert_array_equal(dropped.timestamps, data.load_co2(nan_policy="drop").timestamps)


def test_series_stays_backward_compatible() -> None:
    fields = [field.name for field in dataclasses.fields(data.Series)]
    assert fields[:8] == [
        "name",
        "values",
        "timestamps",
        "period",
        "frequency",
        "unit",
        "source",
        "licence",
    ]
    assert data.load("airline_passengers").columns == ()


# ------------------------------------------------------------------------------------------
# Inference of the frequency and the period
# ------------------------------------------------------------------------------------------
INFERENCE = {  # id: (time stamps, header, frequency, period, time stamp unit, last stamp)
    "yearly": (["1949", "1950", "1951"], "year", "yearly", 1, "Y", "1951"),
    "yearly_dates": (["1949-07-01", "1950-07-01", "1951-07-01"], "date", "yearly", 1, "Y", "1951"),
    "quarterly": (["2000-Q1", "2000-Q2", "2000Q3"], "quarter", "quarterly", 4, "M", "2000-07"),
    "quarter_ends": (
        ["2000-03-31", "2000-06-30", "2000-09-30"],
        "d",
        "quarterly",
        4,
        "M",
        "2000-09",
    ),
    "monthly": (["2000-01", "2000-02", "2000-03"], "month", "monthly", 12, "M", "2000-03"),
    "month_ends": (["2000-01-31", "2000-02-29", "2000-03-31"], "d", "monthly", 12, "M", "2000-03"),
    "weekly": (["2000-01-01", "2000-01-08", "2000-01-15"], "w", "weekly", 52, "D", "2000-01-15"),
    "daily": (["2000-02-28", "2000-02-29", "2000-03-01"], "day", "daily", 7, "D", "2000-03-01"),
    "hourly": (
        ["2000-01-01 22:00", "2000-01-01T23:00", "2000-01-02 00:00"],
        "t",
        "hourly",
        24,
        "h",
        "2000-01-02T00",
    ),
}


@pytest.mark.parametrize("case", INFERENCE, ids=list(INFERENCE))
def test_frequency_and_period_are_inferred_and_reported(tmp_path: Path, case: str) -> None:
    stamps, header, frequency, period, unit, last = INFERENCE[case]
    path = write(tmp_path, csv_text(f"{header},load", [f"{s},{i}" for i, s in enumerate(stamps)]))
    series = data.from_csv(path)
    assert (series.frequency, series.period) == (frequency, period)
    assert np.datetime_data(series.timestamps.dtype)[0] == unit
    assert f"inferred: {frequency}, period {period}" in series.source
    assert str(series.timestamps[-1]) == last
    np.testing.assert_array_equal(series.values, [0.0, 1.0, 2.0])


def test_daily_stamps_at_a_time_of_day_keep_it(tmp_path: Path) -> None:
    rows = ["2000-01-01 09:30,1", "2000-01-02 09:30,2"]
    series = data.from_csv(write(tmp_path, csv_text("when,v", rows)))
    assert series.frequency == "daily"
    assert str(series.timestamps[1]) == "2000-01-02T09:30"


def test_given_frequency_and_period_are_not_reported_as_inferred(tmp_path: Path) -> None:
    path = write(tmp_path, csv_text("month,v", ["2000-01,1", "2000-02,2"]))
    series = data.from_csv(path, frequency="monthly", period=3)
    assert series.period == 3 and "inferred" not in series.source
    only_period = data.from_csv(path, period=6)
    assert only_period.period == 6 and "inferred: monthly" in only_period.source
    only_frequency = data.from_csv(path, frequency="monthly")
    assert "inferred: period 12 from frequency 'monthly'" in only_frequency.source


def test_one_row_needs_a_frequency(tmp_path: Path) -> None:
    path = write(tmp_path, csv_text("month,v", ["2000-01,1"]))
    with pytest.raises(ValueError, match=r"one time stamp is too few .* pass frequency="):
        data.from_csv(path)
    assert len(data.from_csv(path, frequency="monthly")) == 1


def test_frequency_steps_keeps_irregular_time_stamps(tmp_path: Path) -> None:
    path = write(tmp_path, csv_text("date,v", ["2000-01-01,1", "2000-01-03,2", "2000-01-04,3"]))
    series = data.from_csv(path, frequency="steps", period=2)
    assert series.frequency == "steps" and series.period == 2
    assert [str(stamp) for stamp in series.timestamps] == ["2000-01-01", "2000-01-03", "2000-01-04"]


# ------------------------------------------------------------------------------------------
# Columns and the time column
# ------------------------------------------------------------------------------------------
def test_several_columns_give_t_by_d_values_in_the_given_order(tmp_path: Path) -> None:
    path = write(tmp_path, csv_text("month,a,b,c", ["2000-01,1,2,3", "2000-02,4,5,6"]))
    every = data.from_csv(path)
    assert every.values.shape == (2, 3) and every.columns == ("a", "b", "c")
    chosen = data.from_csv(path, column=["c", "a"])
    np.testing.assert_array_equal(chosen.values, [[3.0, 1.0], [6.0, 4.0]])
    assert chosen.columns == ("c", "a") and "columns 'c', 'a'" in chosen.source
    single = data.from_csv(path, column="b")
    np.testing.assert_array_equal(single.values, [2.0, 5.0])
    assert data.from_csv(path, column=("b",)).values.shape == (2,)


def test_without_a_time_column_the_time_stamps_are_step_numbers(tmp_path: Path) -> None:
    path = write(tmp_path, csv_text("load,price", ["1,2", "3,4", "5,6"]))
    series = data.from_csv(path)
    np.testing.assert_array_equal(series.timestamps, [0, 1, 2])
    assert series.timestamps.dtype == np.int64
    assert (series.frequency, series.period) == ("steps", 1)
    assert "no time column" in series.source
    monthly = data.from_csv(path, frequency="monthly")
    assert monthly.period == 12 and monthly.frequency == "monthly"


def test_bare_years_are_a_time_column_only_when_the_header_says_so(tmp_path: Path) -> None:
    rows = ["1949,1", "1950,2"]
    assert data.from_csv(write(tmp_path, csv_text("Year,v", rows))).frequency == "yearly"
    values = data.from_csv(write(tmp_path, csv_text("load,v", rows)))
    assert values.values.shape == (2, 2) and values.frequency == "steps"
    named = data.from_csv(write(tmp_path, csv_text("load,v", rows)), time_column="load")
    assert named.frequency == "yearly" and named.columns == ("v",)


def test_explicit_time_column_anywhere(tmp_path: Path) -> None:
    path = write(tmp_path, csv_text("v,when", ["1,2000-01-01", "2,2000-01-02"]))
    series = data.from_csv(path, time_column="when")
    assert series.frequency == "daily" and series.columns == ("v",)


def test_blank_lines_bom_and_spaces_are_tolerated_and_lines_still_counted(tmp_path: Path) -> None:
    text = "\ufeffmonth , v\n\n2000-01 , 1\n   \n2000-02, x\n"
    with pytest.raises(ValueError, match=r"column 'v', line 5: 'x' is not a number"):
        data.from_csv(write(tmp_path, text))
    series = data.from_csv(write(tmp_path, text.replace(" x", "2")))
    np.testing.assert_array_equal(series.values, [1.0, 2.0])


def test_name_defaults_to_the_file_name(tmp_path: Path) -> None:
    path = write(tmp_path, csv_text("v", ["1", "2"]), name="my load.csv")
    assert data.from_csv(path).name == "my load"
    assert data.from_csv(str(path), name="load").name == "load"


# ------------------------------------------------------------------------------------------
# Missing values and missing time steps
# ------------------------------------------------------------------------------------------
MISSING = csv_text("day,a,b", ["2000-01-01,1,10", "2000-01-02,,NA", "2000-01-03,3,null"])


def test_missing_cells_raise_naming_column_and_line(tmp_path: Path) -> None:
    with pytest.raises(
        ValueError,
        match=r"series\.csv' has 3 missing or non-finite values .* at column 'a' line 3, "
        r"column 'b' line 3, column 'b' line 4; pass nan_policy='ffill'",
    ):
        data.from_csv(write(tmp_path, MISSING))


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("interpolate", [[1.0, 10.0], [2.0, 10.0], [3.0, 10.0]]),
        ("ffill", [[1.0, 10.0], [1.0, 10.0], [3.0, 10.0]]),
        ("drop", [[1.0, 10.0]]),
    ],
)
def test_missing_cells_follow_the_nan_policy(tmp_path: Path, policy: str, expected) -> None:
    series = data.from_csv(write(tmp_path, MISSING), nan_policy=policy)
    np.testing.assert_array_equal(series.values, expected)
    assert len(series.timestamps) == len(expected)


def test_inf_cells_count_as_missing(tmp_path: Path) -> None:
    path = write(tmp_path, csv_text("v", ["1", "inf", "3"]))
    with pytest.raises(ValueError, match=r"column 'v' line 3"):
        data.from_csv(path)
    np.testing.assert_array_equal(data.from_csv(path, nan_policy="interpolate").values, [1, 2, 3])


GAPPY = csv_text("month,v", ["2000-01,1", "2000-02,2", "2000-05,5", "2000-06,6"])


def test_a_gap_in_the_grid_raises_naming_the_lines_around_it(tmp_path: Path) -> None:
    with pytest.raises(
        ValueError,
        match=r"time column 'month': 2 monthly time steps missing, the first 2 between line 3 "
        r"\(2000-02\) and line 4 \(2000-05\)\. Pass nan_policy='interpolate'",
    ):
        data.from_csv(write(tmp_path, GAPPY))


def test_a_gap_is_filled_by_interpolate_and_kept_by_drop(tmp_path: Path) -> None:
    path = write(tmp_path, GAPPY)
    filled = data.from_csv(path, nan_policy="interpolate")
    np.testing.assert_array_equal(filled.values, [1, 2, 3, 4, 5, 6])
    assert str(filled.timestamps[2]) == "2000-03" and len(filled.timestamps) == 6
    assert "2 missing monthly time steps added and filled" in filled.source
    kept = data.from_csv(path, nan_policy="drop")
    np.testing.assert_array_equal(kept.values, [1, 2, 5, 6])
    ffilled = data.from_csv(path, nan_policy="ffill")
    np.testing.assert_array_equal(ffilled.values, [1, 2, 2, 2, 5, 6])


# ------------------------------------------------------------------------------------------
# Malformed files: each a ValueError naming the file, the column and the line
# ------------------------------------------------------------------------------------------
MALFORMED = {
    "empty": ("", r"series\.csv' is empty; expected a header line"),
    "blank_only": ("\n\n  \n", r"series\.csv' is empty"),
    "header_only": ("month,v\n", r"series\.csv' has a header \(line 1\) but no data rows"),
    "non_numeric": (
        csv_text("month,v", ["2000-01,1", "2000-02,1,5"]),
        r"series\.csv', line 3: 3 cells, but the header \(line 1\) names 2 columns",
    ),
    "text_cell": (
        csv_text("month,v", ["2000-01,1", "2000-02,abc"]),
        r"series\.csv', column 'v', line 3: 'abc' is not a number",
    ),
    "unsorted": (
        csv_text("month,v", ["2000-01,1", "2000-03,2", "2000-02,3"]),
        r"time column 'month': time stamps must increase, but line 4 \(2000-02\) comes after "
        r"line 3 \(2000-03\); sort the rows",
    ),
    "duplicate": (
        csv_text("month,v", ["2000-01,1", "2000-02,2", "2000-02,3"]),
        r"time column 'month': line 4 repeats the time stamp 2000-02 of line 3",
    ),
    "irregular": (
        csv_text("day,v", ["2000-01-01,1", "2000-01-02,2", "2000-01-03 12:00,3"]),
        r"line 4 \(2000-01-03T12:00\) is not a whole number of daily steps after line 3 "
        r"\(2000-01-02\); .* frequency='steps'",
    ),
    "unknown_step": (
        csv_text("day,v", ["2000-01-01,1", "2000-01-03,2", "2000-01-05,3"]),
        r"cannot infer the frequency: the smallest step, from line 2 \(2000-01-01\) to line 3 "
        r"\(2000-01-03\), is 2 days",
    ),
    "bad_time_cell": (
        csv_text("month,v", ["2000-01,1", "2000-13,2"]),
        r"time column 'month', line 3: '2000-13' is not a time stamp; expected an ISO date",
    ),
    "empty_time_cell": (
        csv_text("month,v", ["2000-01,1", ",2"]),
        r"time column 'month', line 3: '' is not a time stamp",
    ),
    "unnamed_column": ("month,,v\n2000-01,1,2\n", r"line 1: header column 2 has no name"),
    "repeated_column": ("month,v,v\n2000-01,1,2\n", r"line 1: the header names 'v' twice"),
    "only_time_column": (
        csv_text("month", ["2000-01", "2000-02"]),
        r"has no value column besides the time column 'month'",
    ),
    "all_missing_under_drop": (
        csv_text("v,w", ["1,", ",2"]),
        r"every row has a missing value, so nan_policy='drop' leaves nothing",
    ),
}


@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_malformed_file_is_a_value_error_naming_where(tmp_path: Path, case: str) -> None:
    text, match = MALFORMED[case]
    policy = "drop" if case == "all_missing_under_drop" else "raise"
    with pytest.raises(ValueError, match=match) as info:
        data.from_csv(write(tmp_path, text), nan_policy=policy)
    assert type(info.value) is ValueError and str(tmp_path) in str(info.value)


def test_missing_column_lists_the_available_ones(tmp_path: Path) -> None:
    path = write(tmp_path, csv_text("month,a,b", ["2000-01,1,2"]))
    with pytest.raises(
        ValueError, match=r"has no column 'c'; its columns are \['month', 'a', 'b'\]"
    ):
        data.from_csv(path, column=["a", "c"])
    with pytest.raises(ValueError, match=r"has no column 'when'; its columns are"):
        data.from_csv(path, time_column="when")
    with pytest.raises(ValueError, match=r"column 'month' is the time column"):
        data.from_csv(path, column="month")


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no such CSV file: '.*nowhere\.csv'"):
        data.from_csv(tmp_path / "nowhere.csv")
    with pytest.raises(ValueError, match=r"is not a regular file"):
        data.from_csv(tmp_path)


def test_a_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("month,caf\xe9\n2000-01,1\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin\.csv' is not UTF-8 text"):
        data.from_csv(path)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"column": 3}, TypeError, r"column must be a column name \(str\) or a list"),
        ({"column": []}, ValueError, r"column must name at least one column"),
        ({"column": ["a", "a"]}, ValueError, r"column must name each column once"),
        ({"time_column": 0}, TypeError, r"time_column must be a column name"),
        ({"frequency": "minutely"}, ValueError, r"frequency must be one of \['yearly'"),
        ({"period": 0}, ValueError, r"period must be an integer >= 1"),
        ({"period": 12.0}, TypeError, r"period must be an integer"),
        ({"nan_policy": "zero"}, ValueError, r"nan_policy must be one of"),
        ({"name": 3}, TypeError, r"name must be a str"),
        ({"name": ""}, ValueError, r"name must be a non-empty str"),
    ],
)
def test_bad_arguments_follow_the_one_rule(tmp_path: Path, kwargs, error, match) -> None:
    path = write(tmp_path, csv_text("month,a", ["2000-01,1", "2000-02,2"]))
    with pytest.raises(error, match=match) as info:
        data.from_csv(path, **kwargs)
    assert type(info.value) is error
    with pytest.raises(TypeError, match=r"path must be a str or an os\.PathLike"):
        data.from_csv(3)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------
# to_csv
# ------------------------------------------------------------------------------------------
def test_to_csv_writes_missing_values_as_empty_cells_and_names_the_columns(tmp_path: Path) -> None:
    path = write(tmp_path, csv_text("day,a,b", ["2000-01-01,1.25,", "2000-01-02,3,4"]))
    series = data.from_csv(path, nan_policy="drop")
    out = tmp_path / "out.csv"
    data.to_csv(series, out)
    assert out.read_text().splitlines() == ["time,a,b", "2000-01-02,3.0,4.0"]
    steps = data.Series(
        name="x",
        values=np.array([[1.5, np.nan], [2.0, 3.0]]),
        timestamps=np.arange(2),
        period=1,
        frequency="steps",
        unit="",
        source="",
        licence="",
    )
    data.to_csv(steps, out)
    assert out.read_text().splitlines() == ["x_0,x_1", "1.5,", "2.0,3.0"]


def test_to_csv_replaces_a_file_atomically(tmp_path: Path) -> None:
    out = tmp_path / "air.csv"
    out.write_text("old")
    data.to_csv(data.load_airline_passengers(), out)
    assert out.read_text().startswith("time,airline_passengers\n1949-01,112.0\n")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["air.csv"]
    with pytest.raises(TypeError, match=r"series must be an rnnax\.data\.Series"):
        data.to_csv(np.ones(3), out)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------
# pandas DataFrames (pandas is optional)
# ------------------------------------------------------------------------------------------
def test_from_dataframe_without_pandas_says_how_to_install_it(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"pip install rnnax\[pandas\]"):
        data.from_dataframe(object())


def test_from_dataframe_with_a_datetime_index_matches_the_shipped_series() -> None:
    pandas = pytest.importorskip("pandas")
    shipped = data.load("airline_passengers")
    index = pandas.DatetimeIndex(shipped.timestamps.astype("M8[ns]"), name="month")
    frame = pandas.DataFrame({"passengers": shipped.values}, index=index)
    series = data.from_dataframe(frame, name="airline_passengers")
    np.testing.assert_array_equal(series.values, shipped.values)
    np.testing.assert_array_equal(series.timestamps, shipped.timestamps)
    assert series.period == 12 and "time column 'month'; inferred: monthly" in series.source
    from_series = data.from_dataframe(frame["passengers"])
    assert from_series.columns == ("passengers",) and from_series.name == "dataframe"


def test_from_dataframe_time_columns_of_every_kind() -> None:
    pandas = pytest.importorskip("pandas")
    text = pandas.DataFrame({"month": ["2000-01", "2000-02"], "v": [1, 2]})
    assert data.from_dataframe(text).frequency == "monthly"
    dates = pandas.DataFrame(
        {"v": [1.0, 2.0], "day": pandas.to_datetime(["2000-01-01", "2000-01-02"])}
    )
    assert data.from_dataframe(dates, time_column="day").frequency == "daily"
    periods = pandas.DataFrame(
        {"v": [1, 2]}, index=pandas.period_range("2000Q1", periods=2, freq="Q")
    )
    assert data.from_dataframe(periods).frequency == "quarterly"
    years = pandas.DataFrame({"year": [1949, 1950], "v": [1, 2]})
    assert data.from_dataframe(years).frequency == "yearly"
    plain = pandas.DataFrame({"a": [1, 2], "b": [3.0, 4.0]})
    series = data.from_dataframe(plain, column=["b", "a"])
    np.testing.assert_array_equal(series.values, [[3.0, 1.0], [4.0, 2.0]])
    assert series.frequency == "steps"


def test_from_dataframe_errors_name_the_column_and_the_row() -> None:
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame({"v": ["1", "x"]})
    with pytest.raises(
        ValueError, match=r"DataFrame, column 'v', row iloc\[1\]: 'x' is not a number"
    ):
        data.from_dataframe(frame)
    unsorted = pandas.DataFrame(
        {"v": [1, 2]}, index=pandas.to_datetime(["2000-01-02", "2000-01-01"])
    )
    with pytest.raises(ValueError, match=r"row iloc\[1\] \(2000-01-01\) comes after row iloc\[0\]"):
        data.from_dataframe(unsorted)
    nullable = pandas.DataFrame({"v": pandas.array([1, None], dtype="Int64")})
    with pytest.raises(ValueError, match=r"column 'v' row iloc\[1\]"):
        data.from_dataframe(nullable)
    np.testing.assert_array_equal(data.from_dataframe(nullable, nan_policy="ffill").values, [1, 1])
    with pytest.raises(TypeError, match=r"column 'v' has dtype bool"):
        data.from_dataframe(pandas.DataFrame({"v": [True, False]}))
    aware = pandas.DataFrame({"v": [1, 2]}, index=pandas.date_range("2000", periods=2, tz="UTC"))
    with pytest.raises(ValueError, match=r"time-zone aware .* \.tz_convert\(None\)"):
        data.from_dataframe(aware)
    with pytest.raises(TypeError, match=r"df must be a pandas DataFrame or Series, got \[1, 2\]"):
        data.from_dataframe([1, 2])
    with pytest.raises(ValueError, match=r"DataFrame has no column 'w'; its columns are \['v'\]"):
        data.from_dataframe(frame, column="w")
