"""Scored frames and episode tables as files: CSV safe to open in a spreadsheet, and Parquet.

`export_bytes` is the one way out, for the Analyze page's downloads and `vigil detect`'s
files alike. Frames hold naive UTC times. CSV files say the zone in every time: the CLI's in
UTC ('2024-02-01T00:00:00Z'), the app's in the zone the reader picked (`zoned_for_csv`,
`zoned_for_parquet`), so a file read back anywhere names the same instants. Times keep their
fractions of a second when a column has any.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from vigil.times import UTC, local_times

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: The formats a result is written in.
FORMATS = ("csv", "parquet")


def export_bytes(frame: pd.DataFrame, format: str = "csv", *, zone: str | None = None) -> bytes:
    """`frame` (a ScoredFrame or an episodes table) as a file in `format`. With `zone` (the
    app's downloads), each time in that zone with its offset, and in CSV a `timestamp_utc`
    column beside `timestamp`; without (`vigil detect`), times in UTC: '...Z' in CSV, as
    stored in Parquet. Raises ValueError for a format not in FORMATS."""
    if format == "csv":
        return to_csv_bytes(frame if zone is None else zoned_for_csv(frame, zone))
    if format == "parquet":
        return to_parquet_bytes(frame if zone is None else zoned_for_parquet(frame, zone))
    raise ValueError(f"Results are written as {' or '.join(FORMATS)}, not {format!r}.")


def format_of(path: Path) -> str:
    """The format a file name asks for: Parquet for '.parquet', else CSV."""
    return "parquet" if Path(path).suffix.lower() == ".parquet" else "csv"


def download_name(run: Mapping[str, object], ending: str) -> str:
    """A result's file name: 'vigil-<series>-<detector>' (letters, digits, '-', '_' and '.'
    only; at most 80 characters before `ending`, such as '.csv' or '-episodes.csv')."""
    safe = "".join(
        ch if ch.isalnum() or ch in "-_." else "_" for ch in f"{run['series']}-{run['detector']}"
    )
    return f"vigil-{safe}"[:80] + ending


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
        where = list(shown.columns).index("timestamp") + 1
        shown.insert(where, "timestamp_utc", iso_in_zone(frame["timestamp"], UTC))
    return shown


def zoned_for_parquet(frame: pd.DataFrame, zone: str = UTC) -> pd.DataFrame:
    """`frame` with each time column zone-aware in `zone`: Parquet keeps the instants and the
    zone's name, and pandas reads them back in that zone."""
    shown = frame.copy(deep=False)
    for name in _time_columns(frame):
        shown[name] = local_times(frame[name], zone)
    return shown
