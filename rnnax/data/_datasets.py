"""Real time series shipped with rnnax, loaded offline from package data files.

The values live in small CSV files in ``rnnax/data/files``; their sources and
licences are stated in ``rnnax/data/files/README.md`` and in each
:class:`Series`. Files are read through :mod:`importlib.resources`, so loading
works from a source checkout and from an installed wheel alike.

The ``period`` of every series is its *calendar* seasonal period, the convention
of the M4 competition and of seasonal-naive forecasts: 12 for monthly data, 52
for weekly data and 1 (no seasonality) for yearly data. The sunspot record has
no calendar seasonality; its roughly 11-year solar cycle varies between about 9
and 14 years, so it is not a fixed period and is not encoded. Pass
``period=11`` yourself (to :func:`rnnax.evaluation.mase`, say) to use it.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from importlib import resources

import numpy as np

from rnnax.data._validation import (
    NanPolicy,
    apply_nan_policy,
    check_nan_policy,
    nonfinite_positions,
)

_PUBLIC_DOMAIN = "Public domain"


@dataclasses.dataclass(frozen=True, eq=False)
class Series:
    """One time series with its time stamps and provenance.

    The arrays are read-only, so a loaded series cannot be changed by accident;
    copy them (``series.values.copy()``) to get writable arrays.

    Attributes:
        name: Short identifier, as accepted by :func:`load`.
        values: ``float64`` array of shape ``[T]`` (univariate) or ``[T, D]``.
        timestamps: ``numpy.datetime64`` array of shape ``[T]``, increasing. Its
            unit matches the sampling: ``datetime64[Y]`` for yearly,
            ``datetime64[M]`` for monthly and ``datetime64[D]`` for weekly data.
            A series read from a file without a time column has the ``int64``
            step numbers ``0, 1, ..., T - 1`` instead (see :func:`from_csv`).
        period: Calendar seasonal period (12 monthly, 52 weekly, 1 yearly); see
            the module documentation.
        frequency: ``"yearly"``, ``"monthly"`` or ``"weekly"`` for the shipped
            data; files may also give ``"quarterly"``, ``"daily"``, ``"hourly"``
            or ``"steps"`` (no calendar grid).
        unit: Unit of the values.
        source: Where the values come from.
        licence: Licence of the values.
        columns: Names of the value columns, in the order of the features, for
            a series read from a file or DataFrame; ``()`` for the shipped data.
    """

    name: str
    values: np.ndarray
    timestamps: np.ndarray
    period: int
    frequency: str
    unit: str
    source: str
    licence: str
    columns: tuple[str, ...] = ()

    def __len__(self) -> int:
        return int(self.values.shape[0])


@dataclasses.dataclass(frozen=True)
class _DatasetSpec:
    file_name: str
    time_unit: str
    period: int
    frequency: str
    unit: str
    source: str
    licence: str
    default_nan_policy: NanPolicy = "raise"


_DATASETS: dict[str, _DatasetSpec] = {
    "airline_passengers": _DatasetSpec(
        file_name="airline_passengers.csv",
        time_unit="M",
        period=12,
        frequency="monthly",
        unit="thousands of passengers",
        source=(
            "Box, Jenkins and Reinsel (1976), Time Series Analysis, Forecasting and "
            "Control, 3rd ed., series G: monthly international airline passengers "
            "1949-1960 (values as in R datasets::AirPassengers)"
        ),
        licence=f"{_PUBLIC_DOMAIN} (published historical counts)",
    ),
    "sunspots_yearly": _DatasetSpec(
        file_name="sunspots_yearly.csv",
        time_unit="Y",
        period=1,
        frequency="yearly",
        unit="sunspot number",
        source="NOAA National Geophysical Data Center: yearly mean sunspot numbers 1700-2008",
        licence=f"{_PUBLIC_DOMAIN} (US Government work)",
    ),
    "sunspots_monthly": _DatasetSpec(
        file_name="sunspots_monthly.csv",
        time_unit="M",
        period=12,
        frequency="monthly",
        unit="sunspot number",
        source="NOAA National Geophysical Data Center: monthly mean sunspot numbers 1749-01 to 2008-12",
        licence=f"{_PUBLIC_DOMAIN} (US Government work)",
    ),
    "co2": _DatasetSpec(
        file_name="co2_weekly.csv",
        time_unit="D",
        period=52,
        frequency="weekly",
        unit="ppmv",
        source=(
            "Keeling and Whorf (2004), Scripps Institution of Oceanography / CDIAC: "
            "weekly mean atmospheric CO2 at Mauna Loa, Hawaii, 1958-03-29 to 2001-12-29"
        ),
        licence=f"{_PUBLIC_DOMAIN} (CDIAC, US Department of Energy)",
        default_nan_policy="interpolate",
    ),
}


def available() -> tuple[str, ...]:
    """Names of the data sets that :func:`load` accepts, sorted.

    Returns:
        A tuple of data set names.

    Examples:
        >>> available()
        ('airline_passengers', 'co2', 'sunspots_monthly', 'sunspots_yearly')
    """
    return tuple(sorted(_DATASETS))


def _read_csv(file_name: str) -> tuple[list[str], list[str]]:
    text = resources.files("rnnax.data").joinpath("files", file_name).read_text(encoding="utf-8")
    reader = csv.reader(io.StringIO(text))
    next(reader)  # header
    stamps, fields = [], []
    for row in reader:
        if row:
            stamps.append(row[0])
            fields.append(row[1])
    return stamps, fields


def _dataset_spec(name: object) -> _DatasetSpec:
    """The spec of the data set ``name``, after checking that :func:`load` knows it."""
    if not isinstance(name, str):
        raise TypeError(
            f"unknown data set name {name!r}; name must be a str, one of {list(available())}"
        )
    if name not in _DATASETS:
        raise ValueError(f"unknown data set name {name!r}; valid names are {list(available())}")
    return _DATASETS[name]


def load(name: str, *, nan_policy: NanPolicy | None = None) -> Series:
    """Loads one of the shipped real data sets by name.

    Args:
        name: One of :func:`available`.
        nan_policy: How to treat values missing at the source; see
            :data:`rnnax.data.NanPolicy`. ``None`` (default) uses the data set's
            own default: ``"interpolate"`` for ``"co2"`` (59 of 2284 weeks are
            missing) and ``"raise"`` for the others, which have no gaps. Under
            ``"drop"`` the missing time steps are removed from ``values`` and
            ``timestamps`` alike.

    Returns:
        The :class:`Series`.

    Raises:
        ValueError: If ``name`` is unknown (the message lists the valid names),
            or if ``nan_policy`` is unknown or is ``"raise"`` and the data set has
            missing values.
        TypeError: If ``name`` or ``nan_policy`` is not a string.

    Examples:
        >>> air = load("airline_passengers")
        >>> air.values[:3], len(air), air.period
        (array([112., 118., 132.]), 144, 12)
        >>> str(air.timestamps[-1])
        '1960-12'
        >>> load("nile")
        Traceback (most recent call last):
        ...
        ValueError: unknown data set name 'nile'; valid names are ['airline_passengers', 'co2', 'sunspots_monthly', 'sunspots_yearly']
    """
    spec = _dataset_spec(name)
    policy = spec.default_nan_policy if nan_policy is None else check_nan_policy(nan_policy)

    stamps, fields = _read_csv(spec.file_name)
    timestamps = np.array(stamps, dtype=f"datetime64[{spec.time_unit}]")
    values = np.array([float(field) if field else np.nan for field in fields], dtype=np.float64)

    if policy == "drop":
        keep = np.ones(values.shape[0], dtype=bool)
        keep[nonfinite_positions(values)] = False
        values, timestamps = values[keep], timestamps[keep]
    else:
        values = apply_nan_policy(
            values,
            policy,
            name=name,
            # Interpolate in real time, so irregular gaps would be weighted right.
            sample_times=timestamps.astype(np.int64),
        )
    values.flags.writeable = False
    timestamps.flags.writeable = False
    return Series(
        name=name,
        values=values,
        timestamps=timestamps,
        period=spec.period,
        frequency=spec.frequency,
        unit=spec.unit,
        source=spec.source,
        licence=spec.licence,
    )


def load_airline_passengers() -> Series:
    """Monthly international airline passengers, 1949-01 to 1960-12 (Box & Jenkins).

    144 monthly totals in thousands, ``period=12``. Source and licence as in
    :func:`load`.

    Returns:
        The :class:`Series` named ``"airline_passengers"``.

    Examples:
        >>> air = load_airline_passengers()
        >>> air.values[:5].tolist(), float(air.values[-1]), float(air.values.sum())
        ([112.0, 118.0, 132.0, 129.0, 121.0], 432.0, 40363.0)
    """
    return load("airline_passengers")


def load_sunspots_yearly() -> Series:
    """Yearly mean sunspot numbers, 1700 to 2008 (NOAA NGDC).

    309 values, ``period=1`` (no calendar seasonality; the ~11-year solar cycle
    is irregular and is not encoded as a period).

    Returns:
        The :class:`Series` named ``"sunspots_yearly"``.

    Examples:
        >>> sun = load_sunspots_yearly()
        >>> len(sun), str(sun.timestamps[0]), float(sun.values[0]), sun.period
        (309, '1700', 5.0, 1)
    """
    return load("sunspots_yearly")


def load_sunspots_monthly() -> Series:
    """Monthly mean sunspot numbers, 1749-01 to 2008-12 (NOAA NGDC).

    3120 values, ``period=12`` (the calendar convention for monthly data; the
    sunspot record itself has no yearly seasonality).

    Returns:
        The :class:`Series` named ``"sunspots_monthly"``.

    Examples:
        >>> sun = load_sunspots_monthly()
        >>> len(sun), str(sun.timestamps[0]), float(sun.values[0])
        (3120, '1749-01', 58.0)
    """
    return load("sunspots_monthly")


def load_co2(*, nan_policy: NanPolicy = "interpolate") -> Series:
    """Weekly mean atmospheric CO2 at Mauna Loa, 1958-03-29 to 2001-12-29.

    2284 consecutive weeks (each time stamp is the Saturday that ends the week),
    ``period=52``. 59 weeks have no measurement at the source. By default they
    are filled by linear interpolation in time between the neighbouring
    measured weeks (the longest gap is 18 weeks, in 1964). Choose another
    policy explicitly if you prefer.

    Args:
        nan_policy: ``"interpolate"`` (default), ``"ffill"``, ``"drop"`` (remove
            the missing weeks from values and timestamps) or ``"raise"``.

    Returns:
        The :class:`Series` named ``"co2"``.

    Raises:
        ValueError: With ``nan_policy="raise"``, naming the missing positions.

    Examples:
        >>> co2 = load_co2()
        >>> len(co2), str(co2.timestamps[0]), float(co2.values[0]), co2.period
        (2284, '1958-03-29', 316.1, 52)
        >>> len(load_co2(nan_policy="drop"))
        2225
    """
    return load("co2", nan_policy=nan_policy)
