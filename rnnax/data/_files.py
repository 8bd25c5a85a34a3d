"""Your own time series, read from a CSV file or a pandas DataFrame into a :class:`Series`.

:func:`from_csv` reads a CSV file with the standard library's :mod:`csv` module,
:func:`from_dataframe` reads a pandas ``DataFrame`` (pandas is optional:
``pip install rnnax[pandas]``), and :func:`to_csv` writes a :class:`Series` back
to a CSV file (atomically). Both readers return the same :class:`Series` as the
shipped data sets (:func:`rnnax.data.load`), so everything downstream works
alike on either.

**The time axis.** The time column holds ISO dates or times: ``1949``,
``1949-Q1``, ``1949-01``, ``1949-01-31``, ``1949-01-31 13:00`` (or with a
``T``), with optional seconds. Unless ``time_column`` names it, the first
column is the time column if its first cell is such a time stamp; a column of
bare years (``1949``) counts only if its header says so (contains ``year``,
``date`` or ``time``), so a first column of four-digit numbers stays a value
column. Without a time column the time stamps are the ``int64`` step numbers
``0, 1, ..., T - 1`` and the frequency is ``"steps"``.

**Frequency and period.** Unless given, the frequency is inferred from the
smallest step between two time stamps, and the period from the frequency:

=============  ==========  ==========================
frequency      period      time stamps
=============  ==========  ==========================
``yearly``     1           ``datetime64[Y]``
``quarterly``  4           ``datetime64[M]``
``monthly``    12          ``datetime64[M]``
``weekly``     52          ``datetime64[D]``
``daily``      7           ``datetime64[D]``
``hourly``     24          ``datetime64[h]``
``steps``      1           as read (no calendar grid)
=============  ==========  ==========================

Whatever was inferred is reported in :attr:`Series.source` (for example
``"inferred: monthly, period 12"``), so a surprise is visible. Time stamps must
increase strictly and lie on the grid of the frequency. A missing time step (a
gap in the grid) is a missing value: ``nan_policy="raise"`` (the default)
reports it, ``"ffill"`` and ``"interpolate"`` add the missing rows and fill
them, ``"drop"`` keeps the gap. Pass ``frequency="steps"`` to keep irregular
time stamps as they are.

**Cells.** A value cell holds a number; an empty cell, ``NA``, ``N/A``,
``null`` or ``NaN`` is a missing value, treated (with ``Inf``) by
``nan_policy`` (:data:`rnnax.data.NanPolicy`). Every problem in the input is a
:class:`ValueError` naming the file, the column and the line (as an editor
numbers it; the header is line 1), or the row (``iloc``) of a DataFrame; a
wrong argument type is a :class:`TypeError`.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import importlib
import io
import math
import numbers
import os
import re
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from rnnax._checks import check_choice, check_int
from rnnax._io import write_atomically
from rnnax.data._datasets import Series
from rnnax.data._validation import NanPolicy, apply_nan_policy, check_nan_policy

__all__ = ["FREQUENCIES", "from_csv", "from_dataframe", "to_csv"]


@dataclasses.dataclass(frozen=True)
class _Frequency:
    """One regular calendar grid: its seasonal period, time stamp unit and step."""

    period: int
    unit: str  # the numpy datetime64 unit of the Series' time stamps
    months: int = 0  # a calendar step in months (yearly, quarterly, monthly), or 0
    days: tuple[int, int] = (0, 0)  # the range of days such a calendar step spans
    step: np.timedelta64 | None = None  # a fixed step (weekly, daily, hourly)


_FREQUENCIES: dict[str, _Frequency] = {
    "yearly": _Frequency(1, "Y", months=12, days=(365, 366)),
    "quarterly": _Frequency(4, "M", months=3, days=(89, 92)),
    "monthly": _Frequency(12, "M", months=1, days=(28, 31)),
    "weekly": _Frequency(52, "D", step=np.timedelta64(7, "D")),
    "daily": _Frequency(7, "D", step=np.timedelta64(1, "D")),
    "hourly": _Frequency(24, "h", step=np.timedelta64(1, "h")),
}

FREQUENCIES: tuple[str, ...] = (*_FREQUENCIES, "steps")
"""The frequencies :func:`from_csv` and :func:`from_dataframe` accept; ``"steps"`` is no grid."""

_LICENCE = "not stated (your own data)"
_MISSING_CELLS = frozenset({"", "na", "n/a", "nan", "null"})
_MAX_SHOWN = 10  # how many bad cells an error message lists before it elides the rest
_TIME_WORDS = ("year", "date", "time")
_ISO_TIME = re.compile(r"\d{4}(-\d{2}(-\d{2}([ T]\d{2}(:\d{2}(:\d{2}(\.\d{1,9})?)?)?)?)?)?")
_QUARTER = re.compile(r"(\d{4})-?[Qq]([1-4])")
_YEAR = re.compile(r"\d{4}")
_TIME_FORMATS = "1949, 1949-Q1, 1949-01, 1949-01-31 or 1949-01-31 13:00"
_FILL_HINT = "pass nan_policy='ffill', 'interpolate' or 'drop' to fill or remove them explicitly"


# ------------------------------------------------------------------------------------------
# What every reader hands to the one builder of a Series
# ------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class _Table:
    """The parsed input: value columns as floats (NaN where missing) and the time axis."""

    origin: str  # "file '/path/x.csv'" or "DataFrame": the start of every error message
    where: Callable[[int], str]  # row i as a user finds it: "line 5" or "row iloc[3]"
    columns: tuple[str, ...]
    values: np.ndarray  # float64 [T, D]
    time_column: str | None
    times: np.ndarray | None  # datetime64 [T], or None without a time column

    def at(self, row: int) -> str:
        """``"line 5 (1949-04)"``: row ``row`` with its time stamp, for error messages."""
        return f"{self.where(row)} ({self.stamp(row)})"

    def stamp(self, row: int) -> str:
        """Time stamp ``row`` in the coarsest unit that shows it exactly (no ``.000000``)."""
        assert self.times is not None
        stamp = self.times[row]
        for unit in ("D", "m", "s"):
            if np.datetime_data(stamp.dtype)[0] in ("Y", "M"):
                break
            coarse = stamp.astype(f"M8[{unit}]")
            if coarse == stamp:
                return str(coarse)
        return str(stamp)


@dataclasses.dataclass(frozen=True)
class _Options:
    frequency: str | None
    period: int | None
    nan_policy: NanPolicy
    name: str


@dataclasses.dataclass(frozen=True)
class _Grid:
    """Time stamps on a regular grid: ``stamps[i]`` is grid step ``positions[i]``."""

    stamps: np.ndarray
    positions: np.ndarray | None  # None: no grid (frequency "steps")
    start: np.datetime64 | None = None
    step: Any = None  # months (int) or a np.timedelta64

    def full(self, length: int) -> np.ndarray:
        """The first ``length`` grid time stamps, in the unit of ``stamps``."""
        assert self.start is not None
        return (self.start + np.arange(length) * self.step).astype(self.stamps.dtype)


# ------------------------------------------------------------------------------------------
# Public functions
# ------------------------------------------------------------------------------------------
def from_csv(
    path: str | os.PathLike[str],
    *,
    column: str | list[str] | tuple[str, ...] | None = None,
    time_column: str | None = None,
    period: int | None = None,
    frequency: str | None = None,
    nan_policy: NanPolicy = "raise",
    name: str | None = None,
) -> Series:
    """Reads a time series from a CSV file (a header line, then one line per time step).

    See the module documentation for the accepted time stamps, the inference of
    the frequency and period, gaps and missing cells.

    Args:
        path: The CSV file (UTF-8, comma-separated, the first line names the
            columns).
        column: The value column, or a list of them (in the order of the
            features). Default: every column but the time column.
        time_column: The column of time stamps. Default: the first column if it
            holds time stamps, else none.
        period: The seasonal period. Default: from the frequency.
        frequency: One of :data:`FREQUENCIES`. Default: inferred from the time
            stamps (``"steps"`` without a time column).
        nan_policy: How missing cells and missing time steps are treated; see
            :data:`rnnax.data.NanPolicy`.
        name: The series' name. Default: the file name without its suffix.

    Returns:
        A :class:`Series` with ``values`` of shape ``[T]`` for one value column
        or ``[T, D]`` for ``D`` columns, and ``source`` saying what was inferred.

    Raises:
        FileNotFoundError: If there is no file at ``path``.
        ValueError: For a problem in the file (the message names the file, the
            column and the line) or a wrong argument value.
        TypeError: For an argument of the wrong type.

    Examples:
        >>> import pathlib, tempfile
        >>> scratch = tempfile.TemporaryDirectory()
        >>> folder = pathlib.Path(scratch.name)
        >>> _ = (folder / "sales.csv").write_text(
        ...     "month,units,price\\n2024-01,10,2.5\\n2024-02,12,2.5\\n2024-03,,2.75\\n")
        >>> sales = from_csv(folder / "sales.csv", nan_policy="interpolate")
        >>> sales.values.tolist(), sales.columns, sales.period
        ([[10.0, 2.5], [12.0, 2.5], [12.0, 2.75]], ('units', 'price'), 12)
        >>> sales.source.split("; ")[2:]
        ['inferred: monthly, period 12', "1 missing value filled by nan_policy='interpolate'"]
        >>> from_csv(folder / "sales.csv", column="unit")
        Traceback (most recent call last):
        ...
        ValueError: file '.../sales.csv' has no column 'unit'; its columns are ['month', 'units', 'price']
        >>> scratch.cleanup()
    """
    path = _check_path(path)
    options = _check_options(frequency, period, nan_policy, name, default_name=path.stem)
    names = _check_column_argument(column)
    _check_time_column_argument(time_column)
    table = _csv_table(path, names, time_column)
    return _build_series(table, options)


def from_dataframe(
    df: Any,
    *,
    column: str | list[str] | tuple[str, ...] | None = None,
    time_column: str | None = None,
    period: int | None = None,
    frequency: str | None = None,
    nan_policy: NanPolicy = "raise",
    name: str | None = None,
) -> Series:
    """Reads a time series from a pandas ``DataFrame`` (or ``pandas.Series``).

    The time axis is ``time_column`` if given, else a ``DatetimeIndex`` (or
    ``PeriodIndex``), else the first column if it holds time stamps (datetimes
    or text as in :func:`from_csv`), else none. Column names are matched as
    text (``str(label)``). Everything else works as in :func:`from_csv`; errors
    name the row as ``iloc[i]``.

    Args:
        df: The ``pandas.DataFrame``; a ``pandas.Series`` is read as one column.
        column: The value column, or a list of them. Default: every column but
            the time column.
        time_column: The column of time stamps; see above.
        period: The seasonal period. Default: from the frequency.
        frequency: One of :data:`FREQUENCIES`. Default: inferred.
        nan_policy: How missing values and missing time steps are treated.
        name: The series' name. Default: ``"dataframe"``.

    Returns:
        A :class:`Series`, as :func:`from_csv` returns it.

    Raises:
        ImportError: If pandas is not installed.
        ValueError: For a problem in the data (naming the column and the row) or
            a wrong argument value.
        TypeError: For an argument of the wrong type, or a column whose dtype
            holds no numbers (bool, datetime, categorical).
    """
    pandas = _import_pandas()
    options = _check_options(frequency, period, nan_policy, name, default_name="dataframe")
    names = _check_column_argument(column)
    _check_time_column_argument(time_column)
    if isinstance(df, pandas.Series):
        df = df.to_frame()
    if not isinstance(df, pandas.DataFrame):
        raise TypeError(
            f"df must be a pandas DataFrame or Series, got {df!r:.80} of type {type(df).__name__}"
        )
    table = _frame_table(pandas, df, names, time_column)
    return _build_series(table, options)


def to_csv(series: Series, path: str | os.PathLike[str]) -> None:
    """Writes ``series`` to a CSV file that :func:`from_csv` reads back, atomically.

    The header names a ``time`` column (left out when the time stamps are step
    numbers) and the value columns (``series.columns``, else the series' name,
    numbered when there are several). Values are written exactly (``repr``);
    a missing value is an empty cell. The file is replaced atomically: a crash
    leaves the old file or the new one, never half of it.

    Args:
        series: The :class:`Series` to write.
        path: The file to write; its folder must exist.

    Raises:
        TypeError: If ``series`` is not a :class:`Series` or ``path`` not a path.

    Examples:
        >>> import pathlib, tempfile
        >>> from rnnax import data
        >>> scratch = tempfile.TemporaryDirectory()
        >>> path = pathlib.Path(scratch.name) / "air.csv"
        >>> to_csv(data.load_airline_passengers(), path)
        >>> path.read_text().splitlines()[:2]
        ['time,airline_passengers', '1949-01,112.0']
        >>> from_csv(path).period
        12
        >>> scratch.cleanup()
    """
    if not isinstance(series, Series):
        raise TypeError(
            f"series must be an rnnax.data.Series, got {series!r:.80} of type "
            f"{type(series).__name__}"
        )
    path = _check_path(path)
    values = np.asarray(series.values, np.float64).reshape(len(series), -1)
    columns = list(series.columns) or (
        [series.name]
        if values.shape[1] == 1
        else [f"{series.name}_{index}" for index in range(values.shape[1])]
    )
    timed = np.asarray(series.timestamps).dtype.kind == "M"
    time_header = "time" if "time" not in columns else "time_stamp"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([time_header, *columns] if timed else columns)
    for stamp, row in zip(series.timestamps, values, strict=True):
        cells = [repr(float(value)) if not math.isnan(value) else "" for value in row]
        writer.writerow([np.datetime_as_string(stamp), *cells] if timed else cells)
    write_atomically(path, buffer.getvalue())


# ------------------------------------------------------------------------------------------
# Argument checks (once, at the public boundary)
# ------------------------------------------------------------------------------------------
def _check_path(path: object) -> Path:
    if not isinstance(path, (str, os.PathLike)) or not isinstance(os.fspath(path), str):
        raise TypeError(
            f"path must be a str or an os.PathLike, got {path!r:.80} of type {type(path).__name__}"
        )
    return Path(path)


def _check_options(
    frequency: object, period: object, nan_policy: object, name: object, *, default_name: str
) -> _Options:
    if name is not None:
        if not isinstance(name, str):
            raise TypeError(f"name must be a str, got {name!r:.80} of type {type(name).__name__}")
        if not name:
            raise ValueError("name must be a non-empty str, got ''")
    return _Options(
        frequency=None if frequency is None else check_choice("frequency", frequency, FREQUENCIES),
        period=None if period is None else check_int("period", period, minimum=1),
        nan_policy=check_nan_policy(nan_policy),
        name=default_name if name is None else name,
    )


def _check_column_argument(column: object) -> tuple[str, ...] | None:
    """``column`` as a tuple of names, or ``None`` for every column but the time column."""
    if column is None:
        return None
    expected = "column must be a column name (str) or a list or tuple of them"
    if isinstance(column, str):
        return (column,)
    if not isinstance(column, (list, tuple)):
        raise TypeError(f"{expected}, got {column!r:.80} of type {type(column).__name__}")
    for item in column:
        if not isinstance(item, str):
            raise TypeError(f"{expected}, got {item!r:.80} of type {type(item).__name__} in it")
    if not column:
        raise ValueError(f"column must name at least one column, got {column!r}")
    repeated = sorted({item for item in column if column.count(item) > 1})
    if repeated:
        raise ValueError(f"column must name each column once, got {repeated[0]!r} twice")
    return tuple(column)


def _check_time_column_argument(time_column: object) -> None:
    if time_column is not None and not isinstance(time_column, str):
        raise TypeError(
            f"time_column must be a column name (str) or None, got {time_column!r:.80} of type "
            f"{type(time_column).__name__}"
        )


def _import_pandas() -> ModuleType:
    """The pandas module, imported only when a DataFrame is read (pandas is optional)."""
    try:
        return importlib.import_module("pandas")
    except ImportError:
        raise ImportError(
            "rnnax.data.from_dataframe needs pandas, which is not installed: "
            "pip install rnnax[pandas] (or pip install pandas)"
        ) from None


# ------------------------------------------------------------------------------------------
# Cells: numbers and time stamps, from text
# ------------------------------------------------------------------------------------------
def _number(cell: str) -> float | None:
    """The number in ``cell`` (NaN for a missing-value cell), or ``None`` if it holds none."""
    if cell.lower() in _MISSING_CELLS:
        return math.nan
    try:
        return float(cell)
    except ValueError:
        return None


def _time(cell: str) -> np.datetime64 | None:
    """The time stamp in ``cell`` (an ISO date or time, or a quarter), or ``None``."""
    quarter = _QUARTER.fullmatch(cell)
    if quarter:
        return np.datetime64(f"{quarter[1]}-{3 * int(quarter[2]) - 2:02d}", "M")
    if not _ISO_TIME.fullmatch(cell):
        return None
    try:
        return np.datetime64(cell.replace(" ", "T"))
    except ValueError:  # a month 13, a 30th of February
        return None


def _starts_time_column(header: str, cell: str) -> bool:
    """Whether a first column named ``header`` whose first cell is ``cell`` holds time stamps."""
    if _time(cell) is None:
        return False
    return not _YEAR.fullmatch(cell) or any(word in header.lower() for word in _TIME_WORDS)


def _parse_times(
    cells: list[Any], table: str, column: str, where: Callable[[int], str]
) -> np.ndarray:
    """The time stamps of a column as one datetime64 array (the finest unit of its cells)."""
    stamps = []
    for row, cell in enumerate(cells):
        stamp = _time(cell.strip()) if isinstance(cell, str) else _object_time(cell)
        if stamp is None:
            raise ValueError(
                f"{table}, time column {column!r}, {where(row)}: {cell!r:.60} is not a time "
                f"stamp; expected an ISO date or time such as {_TIME_FORMATS}"
            )
        stamps.append(stamp)
    return np.array(stamps)


def _object_time(cell: object) -> np.datetime64 | None:
    """A date, datetime, numpy datetime64 or whole-number year as a time stamp, or ``None``."""
    if isinstance(cell, (bool, np.bool_)):
        return None
    if isinstance(cell, numbers.Integral):
        return _time(str(cell))
    if isinstance(cell, (datetime.date, np.datetime64)) and getattr(cell, "tzinfo", None) is None:
        stamp = np.datetime64(cell)
        return None if np.isnat(stamp) else stamp
    return None


def _parse_numbers(
    cells: list[Any], table: str, column: str, where: Callable[[int], str]
) -> np.ndarray:
    """The values of a column as float64 ``[T]``, NaN where a cell is missing."""
    values = np.empty(len(cells), np.float64)
    for row, cell in enumerate(cells):
        value = _object_number(cell) if not isinstance(cell, str) else _number(cell.strip())
        if value is None:
            raise ValueError(
                f"{table}, column {column!r}, {where(row)}: {cell!r:.60} is not a number; "
                "expected a number, or an empty cell for a missing value"
            )
        values[row] = value
    return values


def _object_number(cell: object) -> float | None:
    """A real number, or NaN for ``None``/``pandas.NA``/NaN, from a DataFrame's object cell."""
    if cell is None or type(cell).__name__ == "NAType":
        return math.nan
    if isinstance(cell, numbers.Real) and not isinstance(cell, (bool, np.bool_)):
        return float(cell)
    return None


# ------------------------------------------------------------------------------------------
# CSV files
# ------------------------------------------------------------------------------------------
def _read_rows(path: Path) -> tuple[str, list[list[str]], list[int]]:
    """The file's non-blank rows (cells stripped) and the line number of each."""
    origin = f"file {str(path)!r}"
    if not path.exists():
        raise FileNotFoundError(f"no such CSV file: {str(path)!r}")
    if not path.is_file():
        raise ValueError(f"{origin} is not a regular file")
    rows: list[list[str]] = []
    lines: list[int] = []
    line = 0
    try:
        with path.open(encoding="utf-8-sig", newline="") as file:
            reader = csv.reader(file)
            for row in reader:
                line = reader.line_num
                if len(row) > 1 or (row and row[0].strip()):
                    rows.append([cell.strip() for cell in row])
                    lines.append(line)
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{origin} is not UTF-8 text ({error.reason} at byte {error.start})"
        ) from None
    except csv.Error as error:
        raise ValueError(f"{origin}, line {line + 1}: not valid CSV ({error})") from None
    return origin, rows, lines


def _check_header(origin: str, rows: list[list[str]], lines: list[int]) -> list[str]:
    """The header's column names, after checking the header and the shape of every row."""
    if not rows:
        raise ValueError(
            f"{origin} is empty; expected a header line naming the columns, "
            "then one line per time step"
        )
    header = rows[0]
    if len(rows) == 1:
        raise ValueError(f"{origin} has a header (line {lines[0]}) but no data rows")
    for index, column in enumerate(header):
        if not column:
            raise ValueError(f"{origin}, line {lines[0]}: header column {index + 1} has no name")
        if header.count(column) > 1:
            raise ValueError(f"{origin}, line {lines[0]}: the header names {column!r} twice")
    for row, line in zip(rows[1:], lines[1:], strict=True):
        if len(row) != len(header):
            raise ValueError(
                f"{origin}, line {line}: {_count(len(row), 'cell', '')}, but the header (line {lines[0]}) "
                f"names {len(header)} columns {header}"
            )
    return header


def _csv_table(path: Path, names: tuple[str, ...] | None, time_column: str | None) -> _Table:
    origin, rows, lines = _read_rows(path)
    header = _check_header(origin, rows, lines)
    body, body_lines = rows[1:], lines[1:]

    def where(row: int) -> str:
        return f"line {body_lines[row]}"

    if time_column is None and _starts_time_column(header[0], body[0][0]):
        time_column = header[0]
    value_names = _value_columns(origin, header, names, time_column)
    times = None
    if time_column is not None:
        index = header.index(time_column)
        times = _parse_times([row[index] for row in body], origin, time_column, where)
    columns = [
        _parse_numbers([row[header.index(column)] for row in body], origin, column, where)
        for column in value_names
    ]
    return _Table(origin, where, value_names, np.stack(columns, axis=1), time_column, times)


def _value_columns(
    origin: str, available: list[str], names: tuple[str, ...] | None, time_column: str | None
) -> tuple[str, ...]:
    """The value columns: ``names``, or every column but the time column, checked to exist."""
    for column in ((time_column,) if time_column is not None else ()) + (names or ()):
        if column not in available:
            raise ValueError(f"{origin} has no column {column!r}; its columns are {available}")
    if names is None:
        names = tuple(column for column in available if column != time_column)
        if not names:
            raise ValueError(
                f"{origin} has no value column besides the time column {time_column!r}"
            )
    if time_column in names:
        raise ValueError(
            f"{origin}: column {time_column!r} is the time column, it cannot also be a value "
            "column; pass time_column= to choose another time column"
        )
    return names


# ------------------------------------------------------------------------------------------
# pandas DataFrames
# ------------------------------------------------------------------------------------------
def _frame_table(
    pandas: ModuleType, df: Any, names: tuple[str, ...] | None, time_column: str | None
) -> _Table:
    origin = "DataFrame"
    labels = [str(label) for label in df.columns]
    if not labels:
        raise ValueError(f"{origin} has no columns")
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise ValueError(f"{origin} has two columns named {repeated[0]!r}")
    if len(df) == 0:
        raise ValueError(f"{origin} has no rows (columns {labels})")

    def where(row: int) -> str:
        return f"row iloc[{row}]"

    times = None
    time_index = isinstance(df.index, (pandas.DatetimeIndex, pandas.PeriodIndex))
    if time_column is None and not time_index and _frame_starts_time(df.iloc[:, 0], labels[0]):
        time_column = labels[0]
    value_names = _value_columns(origin, labels, names, time_column)
    if time_column is not None:
        data = df.iloc[:, labels.index(time_column)]
        times = _frame_times(pandas, data, origin, time_column, where)
    elif time_index:
        time_column = "index" if df.index.name is None else str(df.index.name)
        times = _frame_times(pandas, df.index, origin, time_column, where)
    columns = [
        _frame_numbers(pandas, df.iloc[:, labels.index(column)], origin, column, where)
        for column in value_names
    ]
    return _Table(origin, where, value_names, np.stack(columns, axis=1), time_column, times)


def _frame_starts_time(data: Any, label: str) -> bool:
    """Whether a DataFrame's first column holds time stamps (datetimes, or text as in a CSV)."""
    if data.dtype.kind == "M" or str(data.dtype).startswith("period"):
        return True
    first = data.iloc[0]
    if isinstance(first, str):
        return _starts_time_column(label, first.strip())
    if isinstance(first, numbers.Integral) and not isinstance(first, (bool, np.bool_)):
        return _starts_time_column(label, str(first))  # a year, if the column's name says so
    return isinstance(first, (datetime.date, np.datetime64))


def _frame_times(
    pandas: ModuleType, data: Any, origin: str, column: str, where: Callable[[int], str]
) -> np.ndarray:
    """A DataFrame's time column or index as datetime64 ``[T]``."""
    if isinstance(data, pandas.PeriodIndex):
        data = data.to_timestamp()
    elif isinstance(data.dtype, pandas.PeriodDtype):
        data = data.dt.to_timestamp()
    if getattr(data.dtype, "tz", None) is not None:
        raise ValueError(
            f"{origin}, time column {column!r} is time-zone aware ({data.dtype}); convert it "
            "to naive times first, for example with .tz_convert(None)"
        )
    if data.dtype.kind != "M":
        return _parse_times(list(data), origin, column, where)
    times = np.asarray(data.to_numpy())
    missing = np.flatnonzero(np.isnat(times))
    if missing.size:
        raise ValueError(
            f"{origin}, time column {column!r}, {where(int(missing[0]))}: no time stamp"
        )
    return times


def _frame_numbers(
    pandas: ModuleType, data: Any, origin: str, column: str, where: Callable[[int], str]
) -> np.ndarray:
    """A DataFrame's value column as float64 ``[T]``, NaN where a value is missing."""
    types = pandas.api.types
    dtype = data.dtype
    numeric = types.is_numeric_dtype(dtype) and not types.is_complex_dtype(dtype)
    if types.is_bool_dtype(dtype) or not (
        numeric or types.is_object_dtype(dtype) or types.is_string_dtype(dtype)
    ):
        raise TypeError(
            f"{origin}, column {column!r} has dtype {dtype}; expected numbers "
            "(or text cells holding numbers)"
        )
    if numeric:
        return np.asarray(data.to_numpy(dtype=np.float64, na_value=np.nan))
    return _parse_numbers(list(data.to_numpy(dtype=object)), origin, column, where)


# ------------------------------------------------------------------------------------------
# The one builder: time axis, frequency, gaps and missing values, then the Series
# ------------------------------------------------------------------------------------------
def _build_series(table: _Table, options: _Options) -> Series:
    notes = [f"{table.origin}, column{'s' if len(table.columns) > 1 else ''} "]
    notes[0] += ", ".join(repr(column) for column in table.columns)
    if table.times is None:
        frequency = options.frequency or "steps"
        grid = _Grid(np.arange(table.values.shape[0], dtype=np.int64), None)
        notes.append("no time column: the time stamps are the step numbers 0, 1, ...")
    else:
        notes.append(f"time column {table.time_column!r}")
        _check_increasing(table)
        frequency = options.frequency or _infer_frequency(table)
        grid = _on_grid(table, frequency)
    period = options.period or _default_period(frequency)
    notes += _inference_note(options, frequency, period)
    _check_missing_values(table, options.nan_policy)
    values, stamps, note = _fill_gaps(table, grid, frequency, options.nan_policy)
    notes += note
    values, stamps, note = _apply_policy(values, stamps, grid, table, options)
    notes += note
    values = values[:, 0] if values.shape[1] == 1 else values
    values.flags.writeable = False
    stamps.flags.writeable = False
    return Series(
        name=options.name,
        values=values,
        timestamps=stamps,
        period=period,
        frequency=frequency,
        unit=", ".join(table.columns),
        source="; ".join(notes),
        licence=_LICENCE,
        columns=table.columns,
    )


def _count(number: int, what: str, noun: str = "time step") -> str:
    """``"1 missing time step"``, ``"3 missing time steps"``: a number with its noun."""
    words = f"{what} {noun}".strip()
    return f"{number} {words}{'' if number == 1 else 's'}"


def _default_period(frequency: str) -> int:
    return _FREQUENCIES[frequency].period if frequency in _FREQUENCIES else 1


def _inference_note(options: _Options, frequency: str, period: int) -> list[str]:
    """What was inferred, for ``Series.source``: ``["inferred: monthly, period 12"]``."""
    if options.frequency is None and options.period is None:
        return [f"inferred: {frequency}, period {period}"]
    if options.frequency is None:
        return [f"inferred: {frequency}"]
    if options.period is None:
        return [f"inferred: period {period} from frequency {frequency!r}"]
    return []


def _check_increasing(table: _Table) -> None:
    """Time stamps must increase strictly: no duplicate, no row out of order."""
    assert table.times is not None
    bad = np.flatnonzero(np.diff(table.times) <= np.timedelta64(0))
    if not bad.size:
        return
    row = int(bad[0]) + 1
    head = f"{table.origin}, time column {table.time_column!r}"
    if table.times[row] == table.times[row - 1]:
        raise ValueError(
            f"{head}: {table.where(row)} repeats the time stamp {table.stamp(row)} of "
            f"{table.where(row - 1)}; each time step must appear once"
        )
    raise ValueError(
        f"{head}: time stamps must increase, but {table.at(row)} comes after "
        f"{table.at(row - 1)}; sort the rows by time"
    )


def _linear(times: np.ndarray) -> np.ndarray:
    """``times`` in a unit of fixed length (days for years and months), so steps compare."""
    return times.astype("M8[D]") if np.datetime_data(times.dtype)[0] in ("Y", "M") else times


def _infer_frequency(table: _Table) -> str:
    """The frequency whose one step is the smallest step between two time stamps."""
    assert table.times is not None
    head = f"{table.origin}, time column {table.time_column!r}"
    if table.times.size < 2:
        raise ValueError(
            f"{head}: one time stamp is too few to infer the frequency; pass frequency= "
            f"(one of {list(FREQUENCIES)})"
        )
    times = _linear(table.times)
    row = int(np.argmin(np.diff(times)))
    first, second = times[row], times[row + 1]
    for name, frequency in _FREQUENCIES.items():
        if _one_step(first, second, frequency):
            return name
    raise ValueError(
        f"{head}: cannot infer the frequency: the smallest step, from {table.at(row)} to "
        f"{table.at(row + 1)}, is {second - first}, which is no step of "
        f"{list(_FREQUENCIES)}; pass frequency='steps' (and period=) to keep the time stamps "
        "as they are"
    )


def _one_step(first: np.datetime64, second: np.datetime64, frequency: _Frequency) -> bool:
    """Whether ``second`` is one step of ``frequency`` after ``first``."""
    if frequency.step is not None:
        return bool(second - first == frequency.step)
    months = int((second.astype("M8[M]") - first.astype("M8[M]")).astype(np.int64))
    days = int((second.astype("M8[D]") - first.astype("M8[D]")).astype(np.int64))
    return months == frequency.months and frequency.days[0] <= days <= frequency.days[1]


def _on_grid(table: _Table, frequency: str) -> _Grid:
    """The time stamps in the unit of ``frequency`` with their grid steps, checked to fit."""
    assert table.times is not None
    if frequency == "steps":
        return _Grid(table.times, None)
    spec = _FREQUENCIES[frequency]
    grid = (_month_grid if spec.months else _fixed_grid)(table, frequency, spec)
    assert grid.positions is not None
    bad = np.flatnonzero(grid.positions[1:] <= grid.positions[:-1])
    if bad.size:
        _raise_off_grid(table, frequency, int(bad[0]) + 1)
    return grid


def _raise_off_grid(table: _Table, frequency: str, row: int) -> None:
    raise ValueError(
        f"{table.origin}, time column {table.time_column!r}: {table.at(row)} is not a whole "
        f"number of {frequency} steps after {table.at(row - 1)}; the time stamps are not on a "
        f"regular {frequency} grid. Pass frequency= to choose another grid, or "
        "frequency='steps' to keep irregular time stamps as they are"
    )


def _month_grid(table: _Table, frequency: str, spec: _Frequency) -> _Grid:
    """The grid of a step of ``spec.months`` calendar months (yearly, quarterly, monthly)."""
    times = table.times
    assert times is not None
    months = times.astype("M8[M]")
    misaligned = _misaligned_in_month(times, months)
    if misaligned is not None:
        _raise_off_grid(table, frequency, misaligned)
    index = months.astype(np.int64)
    offsets = index - index[0]
    bad = np.flatnonzero(offsets % spec.months)
    if bad.size:
        _raise_off_grid(table, frequency, int(bad[0]))
    stamps = months.astype(f"M8[{spec.unit}]")
    return _Grid(stamps, offsets // spec.months, start=months[0], step=spec.months)


def _misaligned_in_month(times: np.ndarray, months: np.ndarray) -> int | None:
    """The first row whose place within its month differs from the others', or ``None``.

    Every stamp must sit at the same offset into its month (the 1st, the 15th at
    noon...), or every stamp on the last day of its month, at the same time of day.
    """
    if np.datetime_data(times.dtype)[0] in ("Y", "M"):
        return None
    within = times - months.astype(times.dtype)
    days = times.astype("M8[D]")
    time_of_day = times - days.astype(times.dtype)
    month_end = (days + np.timedelta64(1, "D")).astype("M8[M]") != months
    same_offset = within == within[0]
    same_end = month_end & (time_of_day == time_of_day[0])
    if same_offset.all() or same_end.all():
        return None
    return int(np.flatnonzero(~(same_end if month_end[0] else same_offset))[0])


def _fixed_grid(table: _Table, frequency: str, spec: _Frequency) -> _Grid:
    """The grid of a fixed step (weekly, daily, hourly)."""
    assert table.times is not None and spec.step is not None
    dtype = np.result_type(_linear(table.times).dtype, np.dtype(f"M8[{spec.unit}]"))
    times = table.times.astype(dtype)
    offsets = times - times[0]
    bad = np.flatnonzero(offsets % spec.step != np.timedelta64(0))
    if bad.size:
        _raise_off_grid(table, frequency, int(bad[0]))
    stamps = times.astype(f"M8[{spec.unit}]")
    if not (stamps.astype(dtype) == times).all():
        stamps = times  # a time of day finer than the unit (daily at 09:30): keep it
    positions = (offsets // spec.step).astype(np.int64)
    return _Grid(stamps, positions, start=stamps[0], step=spec.step)


# ------------------------------------------------------------------------------------------
# Missing values and missing time steps
# ------------------------------------------------------------------------------------------
def _check_missing_values(table: _Table, nan_policy: NanPolicy) -> None:
    """Raises for missing values under ``"raise"``, and for a column the policy cannot fill."""
    bad = ~np.isfinite(table.values)
    if not bad.any():
        return
    if nan_policy == "raise":
        rows, columns = np.nonzero(bad)
        shown = ", ".join(
            f"column {table.columns[column]!r} {table.where(int(row))}"
            for row, column in zip(rows[:_MAX_SHOWN], columns[:_MAX_SHOWN], strict=True)
        )
        more = ", ..." if rows.size > _MAX_SHOWN else ""
        raise ValueError(
            f"{table.origin} has {_count(rows.size, 'missing or non-finite', 'value')} (empty, "
            f"NA, NaN or Inf cells) at {shown}{more}; {_FILL_HINT}"
        )
    empty = np.flatnonzero(bad.all(axis=0))
    if empty.size:
        raise ValueError(
            f"{table.origin}, column {table.columns[int(empty[0])]!r} has no finite value, so "
            f"nan_policy={nan_policy!r} has nothing to "
            f"{'keep' if nan_policy == 'drop' else 'fill from'}"
        )


def _fill_gaps(
    table: _Table, grid: _Grid, frequency: str, nan_policy: NanPolicy
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Values and time stamps with each missing grid step added as a row of NaN (if filled)."""
    positions = grid.positions
    if positions is None or int(positions[-1]) + 1 == positions.size or nan_policy == "drop":
        return table.values, grid.stamps, []
    length = int(positions[-1]) + 1
    missing = length - positions.size
    if nan_policy == "raise":
        row = int(np.flatnonzero(np.diff(positions) > 1)[0]) + 1
        gap = int(positions[row] - positions[row - 1]) - 1
        raise ValueError(
            f"{table.origin}, time column {table.time_column!r}: {_count(missing, frequency)} "
            f"missing, the first {gap} between {table.at(row - 1)} and {table.at(row)}. Pass nan_policy='interpolate' or "
            "'ffill' to add and fill the missing rows, or nan_policy='drop' to keep the gaps"
        )
    values = np.full((length, table.values.shape[1]), np.nan)
    values[positions] = table.values
    note = (
        f"{_count(missing, 'missing ' + frequency)} added and filled by nan_policy={nan_policy!r}"
    )
    return values, grid.full(length), [note]


def _apply_policy(
    values: np.ndarray, stamps: np.ndarray, grid: _Grid, table: _Table, options: _Options
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Applies ``nan_policy`` to the (gap-filled) values; ``"drop"`` drops time stamps too."""
    if options.nan_policy == "drop":
        keep = np.isfinite(values).all(axis=1)
        if not keep.any():
            raise ValueError(
                f"{table.origin}: every row has a missing value, so nan_policy='drop' leaves "
                "nothing"
            )
        dropped = int((~keep).sum())
        note = [f"{_count(dropped, 'row', '')} with missing values dropped"] if dropped else []
        return values[keep], stamps[keep], note
    # On a grid the steps are equal; without one, interpolate in real time.
    sample_times = stamps.astype(np.int64) if grid.positions is None else None
    filled = apply_nan_policy(
        values, options.nan_policy, name=options.name, sample_times=sample_times
    )
    count = int((~np.isfinite(table.values)).sum())
    filled_note = f"{_count(count, 'missing', 'value')} filled by nan_policy={options.nan_policy!r}"
    note = [filled_note] if count else []
    return filled, stamps, note
