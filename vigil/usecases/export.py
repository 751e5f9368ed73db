"""Scored frames as files: CSV safe to open in a spreadsheet, and Parquet.

Frames hold naive UTC times. CSV files say the zone in every time: the CLI's in UTC
('2024-02-01T00:00:00Z'), the app's in the zone the reader picked (`zoned_for_csv`,
`zoned_for_parquet`), so a file read back anywhere names the same instants. Times keep their
fractions of a second when a column has any.
"""

from __future__ import annotations

import io

import pandas as pd

from vigil.times import UTC, local_times

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells a spreadsheet would run as a formula get a leading apostrophe."""
    safe = frame.copy()
    for column in safe.columns:
        if pd.api.types.is_string_dtype(safe[column]) or safe[column].dtype == object:
            text = safe[column].astype("string")
            risky = text.str.startswith(_FORMULA_STARTS).fillna(False)
            safe[column] = text.where(~risky, "'" + text)
    return safe


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """The frame as CSV: formulas neutralised, times (still naive UTC) in ISO 8601 with 'Z'."""
    written = frame.copy(deep=False)
    for name in _time_columns(written):
        written[name] = iso_in_zone(written[name], UTC)
    return neutralise_formulas(written).to_csv(index=False).encode("utf-8")


def to_parquet_bytes(frame: pd.DataFrame) -> bytes:
    """The frame as Parquet, without its `attrs` (run notes such as when online scoring's
    learning ended, which Parquet's metadata cannot hold)."""
    plain = frame.copy(deep=False)
    plain.attrs = {}
    buffer = io.BytesIO()
    plain.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _time_columns(frame: pd.DataFrame) -> list[str]:
    return [name for name in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[name])]


def iso_in_zone(stamps: pd.Series, zone: str = UTC) -> pd.Series:
    """Stored times as ISO 8601 text in `zone` with its offset, to the second (to the
    microsecond when any has a fraction): '2024-02-01T01:00:00+01:00'; in UTC,
    '2024-02-01T00:00:00Z'. Missing times stay missing."""
    shown = local_times(stamps, zone)
    fraction = ".%f" if (shown.dt.microsecond.fillna(0) != 0).any() else ""
    clock = shown.dt.strftime(f"%Y-%m-%dT%H:%M:%S{fraction}")
    if zone == UTC:
        return clock.where(shown.isna(), clock + "Z")
    offset = shown.dt.strftime("%z")
    return clock.where(shown.isna(), clock + offset.str[:3] + ":" + offset.str[3:])


def zoned_for_csv(frame: pd.DataFrame, zone: str = UTC) -> pd.DataFrame:
    """`frame` with each time column as ISO 8601 text with `zone`'s offset (see
    `iso_in_zone`), and after a `timestamp` column a `timestamp_utc` column with the same
    instants in UTC ('...Z'). A column whose offset changes (a zone's clocks change in the
    file's span) is one pandas reads back as text: `timestamp_utc` reads back as one
    datetime column whatever the zone (`pd.read_csv(path, parse_dates=["timestamp_utc"])`)."""
    shown = frame.copy(deep=False)
    for name in _time_columns(frame):
        shown[name] = iso_in_zone(frame[name], zone)
    if "timestamp" in _time_columns(frame):
        where = shown.columns.get_loc("timestamp") + 1
        shown.insert(where, "timestamp_utc", iso_in_zone(frame["timestamp"], UTC))
    return shown


def zoned_for_parquet(frame: pd.DataFrame, zone: str = UTC) -> pd.DataFrame:
    """`frame` with each time column zone-aware in `zone`: Parquet keeps the instants and the
    zone's name, and pandas reads them back in that zone."""
    shown = frame.copy(deep=False)
    for name in _time_columns(frame):
        shown[name] = local_times(frame[name], zone)
    return shown
