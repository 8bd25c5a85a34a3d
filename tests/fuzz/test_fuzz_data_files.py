"""Bad-input fuzzing of ``rnnax.data.from_csv``, ``from_dataframe`` and ``to_csv``: bad files,
bad columns and bad arguments.

Every malformed file must raise exactly a ``ValueError`` whose message names the file, the
column and the line (as an editor numbers it); every bad argument exactly a ``TypeError`` (wrong
type) or ``ValueError`` (wrong value) naming the argument. Random cell grids either load or
raise one of the two, naming the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fuzz_helpers import Case, cases_from, check, int_mutations, merge, params
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnax import data

FILE = "bad.csv"
GOOD = "month,load,price\n2000-01,1,10\n2000-02,2,11\n2000-03,3,12\n"

# The scratch folder of the running case (set by the autouse fixture below): the cases are
# built at collection time but write their file only when they run.
_FOLDER: list[Path] = []


@pytest.fixture(autouse=True)
def _scratch_folder(tmp_path: Path):
    _FOLDER[:] = [tmp_path]
    yield
    _FOLDER.clear()


def _csv(text: str, name: str = FILE) -> Path:
    path = _FOLDER[0] / name
    path.write_text(text, encoding="utf-8")
    return path


def _read(text: str = GOOD, **kwargs):
    return data.from_csv(_csv(text), **kwargs)


def _rows(header: str, *rows: str) -> str:
    return "\n".join([header, *rows]) + "\n"


# ------------------------------------------------------------------------------------------
# Malformed files: ValueError naming the file, the column and the line
# ------------------------------------------------------------------------------------------
def _file_cases() -> dict[str, Case]:
    named = r"bad\.csv'"
    table = {
        "empty": ("", rf"{named} is empty"),
        "whitespace_only": ("  \n\n", rf"{named} is empty"),
        "header_only": ("month,load\n", rf"{named} has a header \(line 1\) but no data rows"),
        "header_only_after_blank_lines": (
            "\n\nmonth,load\n",
            rf"{named} has a header \(line 3\) but no data rows",
        ),
        "short_row": (
            _rows("month,load", "2000-01,1", "2000-02"),
            rf"{named}, line 3: 1 cell, but the header \(line 1\) names 2 columns",
        ),
        "long_row": (
            _rows("month,load", "2000-01,1,9"),
            rf"{named}, line 2: 3 cells, but the header",
        ),
        "text_value": (
            _rows("month,load", "2000-01,1", "2000-02,one"),
            rf"{named}, column 'load', line 3: 'one' is not a number",
        ),
        "comma_decimal": (
            _rows("month;load", "2000-01;1,5"),
            rf"{named}, line 2: 2 cells, but the header \(line 1\) names 1 columns",
        ),
        "percent_value": (
            _rows("month,load", "2000-01,5%"),
            r"column 'load', line 2: '5%' is not a number",
        ),
        "bad_month": (
            _rows("month,load", "2000-01,1", "2000-13,2"),
            rf"{named}, time column 'month', line 3: '2000-13' is not a time stamp",
        ),
        "bad_day": (
            _rows("day,load", "2001-02-28,1", "2001-02-29,2"),
            r"time column 'day', line 3: '2001-02-29' is not a time stamp",
        ),
        "us_date": (
            _rows("day,load", "2000-01-01,1", "01/02/2000,2"),
            r"time column 'day', line 3: '01/02/2000' is not a time stamp; expected an ISO",
        ),
        "time_zone": (
            _rows("t,load", "2000-01-01 00:00,1", "2000-01-01 01:00Z,2"),
            r"time column 't', line 3: '2000-01-01 01:00Z' is not a time stamp",
        ),
        "missing_time": (
            _rows("month,load", "2000-01,1", ",2"),
            r"time column 'month', line 3: '' is not a time stamp",
        ),
        "unsorted": (
            _rows("month,load", "2000-01,1", "2000-03,2", "2000-02,3"),
            rf"{named}, time column 'month': time stamps must increase, but line 4 \(2000-02\) "
            r"comes after line 3 \(2000-03\)",
        ),
        "duplicate": (
            _rows("month,load", "2000-01,1", "2000-01,2"),
            rf"{named}, time column 'month': line 3 repeats the time stamp 2000-01 of line 2",
        ),
        "duplicate_after_blank_line": (
            "month,load\n2000-01,1\n\n2000-01,2\n",
            r"line 4 repeats the time stamp 2000-01 of line 2",
        ),
        "gap": (
            _rows("month,load", "2000-01,1", "2000-02,2", "2000-04,4"),
            rf"{named}, time column 'month': 1 monthly time step missing, the first 1 between "
            r"line 3 \(2000-02\) and line 4 \(2000-04\)",
        ),
        "off_grid": (
            _rows("day,load", "2000-01-01,1", "2000-01-02,2", "2000-01-03 06:00,3"),
            r"line 4 \(2000-01-03T06:00\) is not a whole number of daily steps after line 3",
        ),
        "misaligned_month": (
            _rows("day,load", "2000-01-01,1", "2000-02-01,2", "2000-03-15,3", "2000-05-15,5"),
            r"time column 'day': line 4 \(2000-03-15\) is not a whole number of monthly steps "
            r"after line 3 \(2000-02-01\)",
        ),
        "unknown_step": (
            _rows("day,load", "2000-01-01,1", "2000-01-04,2"),
            r"cannot infer the frequency: the smallest step, from line 2 \(2000-01-01\) to line 3 "
            r"\(2000-01-04\), is 3 days",
        ),
        "single_row": (
            _rows("month,load", "2000-01,1"),
            rf"{named}, time column 'month': one time stamp is too few to infer the frequency",
        ),
        "missing_value": (
            _rows("month,load", "2000-01,1", "2000-02,"),
            rf"{named} has 1 missing or non-finite value .* at column 'load' line 3; "
            r"pass nan_policy=",
        ),
        "nan_and_inf": (
            _rows("month,a,b", "2000-01,NaN,1", "2000-02,2,-inf"),
            r"has 2 missing or non-finite values .* at column 'a' line 2, column 'b' line 3",
        ),
        "unnamed_column": ("month,,load\n2000-01,1,2\n", rf"{named}, line 1: header column 2"),
        "repeated_column": ("a,b,a\n1,2,3\n", rf"{named}, line 1: the header names 'a' twice"),
        "only_time_column": (
            _rows("month", "2000-01", "2000-02"),
            r"has no value column besides the time column 'month'",
        ),
    }
    cases = {
        label: Case(lambda text=text: _read(text), ValueError, match)
        for label, (text, match) in table.items()
    }
    cases["not_utf8"] = Case(
        lambda: data.from_csv(_bytes("month,caf\xe9\n2000-01,1\n".encode("latin-1"))),
        ValueError,
        rf"{named} is not UTF-8 text",
    )
    cases["directory"] = Case(
        lambda: data.from_csv(_FOLDER[0]), ValueError, r"is not a regular file"
    )
    cases["missing_file"] = Case(
        lambda: data.from_csv(_FOLDER[0] / "absent.csv"),
        FileNotFoundError,
        r"no such CSV file: '.*absent\.csv'",
    )
    return cases


def _bytes(payload: bytes) -> Path:
    path = _FOLDER[0] / FILE
    path.write_bytes(payload)
    return path


def _policy_cases() -> dict[str, Case]:
    """Missing values the chosen policy cannot treat."""
    empty_column = _rows("month,a,b", "2000-01,1,", "2000-02,2,")
    return {
        "interpolate_empty_column": Case(
            lambda: _read(empty_column, nan_policy="interpolate"),
            ValueError,
            r"bad\.csv', column 'b' has no finite value, so nan_policy='interpolate'",
        ),
        "ffill_empty_column": Case(
            lambda: _read(empty_column, nan_policy="ffill"), ValueError, r"column 'b' has no"
        ),
        "drop_empty_column": Case(
            lambda: _read(empty_column, nan_policy="drop"),
            ValueError,
            r"column 'b' has no finite value, so nan_policy='drop' has nothing to keep",
        ),
        "drop_every_row": Case(
            lambda: _read(_rows("a,b", "1,", ",2"), nan_policy="drop"),
            ValueError,
            r"every row has a missing value",
        ),
        "given_frequency_does_not_fit": Case(
            lambda: _read(frequency="weekly"),
            ValueError,
            r"line 3 \(2000-02\) is not a whole number of weekly steps after line 2 \(2000-01\)",
        ),
        "given_yearly_for_monthly": Case(
            lambda: _read(frequency="yearly"),
            ValueError,
            r"line 3 \(2000-02\) is not a whole number of yearly steps",
        ),
        "given_daily_with_gaps": Case(
            lambda: _read(frequency="daily"),
            ValueError,
            r"58 daily time steps missing, the first 30 between line 2 \(2000-01\) and line 3",
        ),
    }


# ------------------------------------------------------------------------------------------
# Bad columns
# ------------------------------------------------------------------------------------------
def _column_cases() -> dict[str, Case]:
    columns = r"its columns are \['month', 'load', 'price'\]"
    return {
        "absent": Case(lambda: _read(column="loads"), ValueError, rf"no column 'loads'; {columns}"),
        "absent_in_list": Case(
            lambda: _read(column=["load", "cost"]), ValueError, rf"no column 'cost'; {columns}"
        ),
        "case_differs": Case(lambda: _read(column="Load"), ValueError, r"no column 'Load'"),
        "time_column_absent": Case(
            lambda: _read(time_column="date"), ValueError, rf"no column 'date'; {columns}"
        ),
        "time_column_as_value": Case(
            lambda: _read(column=["month", "load"]),
            ValueError,
            r"column 'month' is the time column, it cannot also be a value column",
        ),
        "value_column_as_time": Case(
            lambda: _read(time_column="load"),
            ValueError,
            r"time column 'load', line 2: '1' is not a time stamp",
        ),
        "empty_list": Case(lambda: _read(column=[]), ValueError, r"column must name at least one"),
        "repeated": Case(
            lambda: _read(column=["load", "load"]),
            ValueError,
            r"column must name each column once, got 'load' twice",
        ),
        "int": Case(
            lambda: _read(column=1),
            TypeError,
            r"column must be a column name \(str\) or a list or tuple of them, got 1 of type int",
        ),
        "int_in_list": Case(
            lambda: _read(column=["load", 2]), TypeError, r"got 2 of type int in it"
        ),
        "set": Case(lambda: _read(column={"load"}), TypeError, r"of type set"),
        "bytes": Case(lambda: _read(column=b"load"), TypeError, r"of type bytes"),
        "time_column_int": Case(
            lambda: _read(time_column=0),
            TypeError,
            r"time_column must be a column name \(str\) or None, got 0 of type int",
        ),
        "time_column_list": Case(
            lambda: _read(time_column=["month"]), TypeError, r"time_column must be a column name"
        ),
    }


# ------------------------------------------------------------------------------------------
# Bad arguments
# ------------------------------------------------------------------------------------------
def _argument_cases() -> dict[str, Case]:
    period = {
        label: mutation
        for label, mutation in int_mutations("period").items()
        if label not in ("huge", "none")  # any positive int is a period; None means "infer"
    }
    cases = merge(
        cases_from(period, lambda value: _read(period=value)),
        prefix=["period"],
    )
    cases.update(
        {
            "frequency-unknown": Case(
                lambda: _read(frequency="minutely"),
                ValueError,
                r"frequency must be one of \['yearly', 'quarterly', 'monthly', 'weekly', "
                r"'daily', 'hourly', 'steps'\], got 'minutely'",
            ),
            "frequency-capitalised": Case(
                lambda: _read(frequency="Monthly"), ValueError, r"frequency must be one of"
            ),
            "frequency-int": Case(
                lambda: _read(frequency=12), TypeError, r"frequency must be one of .* got 12"
            ),
            "nan_policy-unknown": Case(
                lambda: _read(nan_policy="zero"), ValueError, r"nan_policy must be one of"
            ),
            "nan_policy-none": Case(
                lambda: _read(nan_policy=None), TypeError, r"nan_policy must be one of"
            ),
            "name-int": Case(lambda: _read(name=1), TypeError, r"name must be a str, got 1"),
            "name-empty": Case(lambda: _read(name=""), ValueError, r"name must be a non-empty"),
            "path-int": Case(
                lambda: data.from_csv(3),
                TypeError,
                r"path must be a str or an os\.PathLike, got 3 of type int",
            ),
            "path-none": Case(lambda: data.from_csv(None), TypeError, r"path must be a str"),
            "path-bytes": Case(lambda: data.from_csv(b"x.csv"), TypeError, r"of type bytes"),
            "positional_column": Case(
                lambda: data.from_csv(_csv(GOOD), "load"), TypeError, r"positional argument"
            ),
            "to_csv-series": Case(
                lambda: data.to_csv(np.ones(3), _FOLDER[0] / "out.csv"),
                TypeError,
                r"series must be an rnnax\.data\.Series, got array",
            ),
            "to_csv-path": Case(
                lambda: data.to_csv(data.load_airline_passengers(), 3),
                TypeError,
                r"path must be a str or an os\.PathLike",
            ),
        }
    )
    return cases


# ------------------------------------------------------------------------------------------
# DataFrames (pandas is optional: these cases skip without it)
# ------------------------------------------------------------------------------------------
def _frame_cases() -> dict[str, Case]:
    def frame(**columns):
        import pandas  # the test skips before the case runs when pandas is missing

        return pandas.DataFrame(columns)

    def read(**kwargs):
        return data.from_dataframe(frame(**kwargs.pop("columns")), **kwargs)

    months = ["2000-01", "2000-02", "2000-03"]
    return {
        "not_a_frame": Case(
            lambda: data.from_dataframe({"load": [1.0]}),
            TypeError,
            r"df must be a pandas DataFrame or Series, got \{'load': \[1\.0\]\} of type dict",
        ),
        "text_value": Case(
            lambda: read(columns={"load": ["1", "2", "x"]}),
            ValueError,
            r"DataFrame, column 'load', row iloc\[2\]: 'x' is not a number",
        ),
        "object_value": Case(
            lambda: read(columns={"load": [1.0, object(), 3.0]}),
            ValueError,
            r"column 'load', row iloc\[1\]: <object object",
        ),
        "bool_column": Case(
            lambda: read(columns={"load": [True, False]}),
            TypeError,
            r"DataFrame, column 'load' has dtype bool; expected numbers",
        ),
        "complex_column": Case(
            lambda: read(columns={"load": [1j, 2j]}), TypeError, r"has dtype complex128"
        ),
        "missing_value": Case(
            lambda: read(columns={"month": months, "load": [1.0, np.nan, 3.0]}),
            ValueError,
            r"DataFrame has 1 missing or non-finite value .* column 'load' row iloc\[1\]",
        ),
        "bad_time_text": Case(
            lambda: read(columns={"month": ["2000-01", "2000-1x", "2000-03"], "load": [1, 2, 3]}),
            ValueError,
            r"DataFrame, time column 'month', row iloc\[1\]: '2000-1x' is not a time stamp",
        ),
        "unsorted_time": Case(
            lambda: read(columns={"month": months[::-1], "load": [1, 2, 3]}),
            ValueError,
            r"row iloc\[1\] \(2000-02\) comes after row iloc\[0\] \(2000-03\)",
        ),
        "absent_column": Case(
            lambda: read(columns={"load": [1.0]}, column="cost"),
            ValueError,
            r"DataFrame has no column 'cost'; its columns are \['load'\]",
        ),
        "absent_time_column": Case(
            lambda: read(columns={"load": [1.0]}, time_column="date"),
            ValueError,
            r"DataFrame has no column 'date'",
        ),
        "no_rows": Case(
            lambda: read(columns={"load": []}), ValueError, r"DataFrame has no rows \(columns"
        ),
        "no_columns": Case(lambda: read(columns={}), ValueError, r"DataFrame has no columns"),
        "bad_period": Case(
            lambda: read(columns={"load": [1.0]}, period=0),
            ValueError,
            r"period must be an integer >= 1, got 0",
        ),
    }


FILE_CASES = merge(
    _file_cases(),
    _policy_cases(),
    _column_cases(),
    _argument_cases(),
    prefix=["file", "policy", "column", "argument"],
)
FRAME_CASES = _frame_cases()


@pytest.mark.parametrize("case", params(FILE_CASES))
def test_from_csv_bad_input(case: Case) -> None:
    check(case)


@pytest.mark.parametrize("case", params(FRAME_CASES))
def test_from_dataframe_bad_input(case: Case) -> None:
    pytest.importorskip("pandas")
    check(case)


def test_the_valid_file_still_loads() -> None:
    series = _read()
    assert series.values.shape == (3, 2) and series.frequency == "monthly"


# ------------------------------------------------------------------------------------------
# Random cell grids
# ------------------------------------------------------------------------------------------
NUMBER_CELLS = st.sampled_from(["1", "-2.5", "0", "1e3", " 3 ", "", "NA", "inf"])
BAD_CELLS = st.sampled_from(["x", "2000-01", "2000-13", "1,5", '"q""', "", "1949", "2000-01-15"])


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    rows=st.lists(st.tuples(NUMBER_CELLS, NUMBER_CELLS), max_size=6),
    corruption=st.one_of(st.none(), st.tuples(st.integers(0, 5), st.integers(0, 2), BAD_CELLS)),
    policy=st.sampled_from(data.NAN_POLICIES),
)
def test_random_files_load_or_name_the_file(
    rows: list[tuple[str, str]], corruption: tuple[int, int, str] | None, policy: str
) -> None:
    """A monthly file of random cells, perhaps with one bad cell, either loads into a finite,
    increasing series or raises a ValueError naming the file."""
    grid = [[f"2000-{index + 1:02d}", a, b] for index, (a, b) in enumerate(rows)]
    if corruption is not None and grid:
        row, column, cell = corruption
        grid[row % len(grid)][column] = cell
    try:
        series = _read("\n".join(["month,a,b", *map(",".join, grid)]), nan_policy=policy)
    except ValueError as error:
        assert type(error) is ValueError and FILE in str(error), str(error)
        return
    assert np.isfinite(series.values).all() and series.values.shape[1:] == (2,)
    assert len(series.timestamps) == len(series) and series.frequency == "monthly"
    assert (np.diff(series.timestamps) > np.timedelta64(0)).all()
