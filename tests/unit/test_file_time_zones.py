"""Times in a file without a zone are read in the zone the user chose, and stored as UTC.

The files are written here as a logger in Berlin writes them: local wall-clock times across a
daylight-saving change, the hour that never happened in spring, the hour that happened twice in
autumn.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from vigil.detection.errors import DataError
from vigil.detection.io import read_table
from vigil.detection.schema import Schema, infer_schema
from vigil.detection.tidy import prepare

LIMITS = {"max_bytes": 5_000_000, "max_rows": 200_000}
BERLIN = "Europe/Berlin"


def load(data: bytes, zone: str | None = None, **changes):
    raw = read_table(data, "logger.csv", **LIMITS)
    schema = infer_schema(raw)
    if zone is not None:
        changes["time_zone"] = zone
    return prepare(raw, replace(schema, **changes))


def csv_of(wall_times: list[str]) -> bytes:
    values = 10 + np.sin(np.arange(len(wall_times)) / 3)
    rows = [f"{t},{v:.3f}" for t, v in zip(wall_times, values, strict=True)]
    return ("time,value\n" + "\n".join(rows) + "\n").encode()


def berlin_clock(start_utc: str, periods: int, freq: str = "15min") -> list[str]:
    """What a wall clock in Berlin showed at regular UTC instants (no zone written)."""
    instants = pd.date_range(start_utc, periods=periods, freq=freq, tz="UTC")
    return [f"{t:%Y-%m-%d %H:%M}" for t in instants.tz_convert(BERLIN)]


def test_berlin_times_across_the_autumn_change_are_stored_as_regular_utc():
    data = csv_of(berlin_clock("2024-10-26 22:00", 24))  # 00:00 to 06:00 Berlin, 02:xx twice

    tidy, report = load(data, BERLIN)

    expected = pd.date_range("2024-10-26 22:00", periods=24, freq="15min")
    assert list(tidy["timestamp"]) == list(expected)
    assert report.finding("duplicates") is None
    assert report.finding("irregular") is None
    repeated = report.finding("daylight_saving")
    assert repeated.count == 8
    assert "summer time where first seen, winter time when repeated" in repeated.message


def test_berlin_times_across_the_spring_change_are_stored_as_regular_utc():
    data = csv_of(berlin_clock("2024-03-30 23:00", 24))  # 00:00 to 07:45 Berlin, no 02:xx

    tidy, report = load(data, BERLIN)

    assert list(tidy["timestamp"]) == list(
        pd.date_range("2024-03-30 23:00", periods=24, freq="15min")
    )
    assert report.finding("daylight_saving") is None
    assert report.finding("gaps") is None


def test_a_time_in_the_skipped_spring_hour_is_read_as_winter_time_and_counted():
    wall = [f"2024-03-31 {h:02d}:{m:02d}" for h in range(6) for m in (0, 30)]
    wall.remove("2024-03-31 03:30")  # a clock not put forward: 02:30 stands for 03:30
    wall.remove("2024-03-31 03:00")

    tidy, report = load(csv_of(wall), BERLIN)

    stamps = list(tidy["timestamp"])
    assert pd.Timestamp("2024-03-31 01:00") in stamps  # 02:00 read as 02:00 CET
    assert pd.Timestamp("2024-03-31 01:30") in stamps  # 02:30 read as 02:30 CET = 03:30 CEST
    skipped = report.finding("daylight_saving")
    assert skipped.count == 2
    assert "skipped when clocks went forward in Europe/Berlin" in skipped.message


def test_times_written_with_an_offset_keep_it_whatever_zone_is_chosen():
    instants = pd.date_range("2024-10-26 22:00", periods=24, freq="15min", tz="UTC")
    wall = [t.tz_convert(BERLIN).isoformat() for t in instants]  # 2024-10-27T02:00:00+02:00

    as_utc, _ = load(csv_of(wall))
    as_tokyo, report = load(csv_of(wall), "Asia/Tokyo")

    assert list(as_tokyo["timestamp"]) == list(instants.tz_localize(None))
    assert as_tokyo["timestamp"].equals(as_utc["timestamp"])
    said = report.finding("time_zones").message
    assert "keep" in said
    assert "Asia/Tokyo" in said


def test_the_date_example_on_the_card_says_the_zone_it_was_read_in():
    wall = [f"{d:02d}.02.2024 {h:02d}:00" for d in range(1, 3) for h in range(24)]

    _, report = load(csv_of(wall).replace(b",", b";"), BERLIN)

    said = report.finding("time_format").message
    assert "read 01.02.2024 00:00 as 1 Feb 2024 CET (Europe/Berlin)" in said


def test_a_file_read_before_zones_were_chosen_means_utc():
    old = Schema.from_dict({"time_column": "time", "value_columns": ["value"]})
    data = csv_of(berlin_clock("2024-10-26 22:00", 24))

    raw = read_table(data, "logger.csv", **LIMITS)
    tidy, _ = prepare(raw, old)

    assert old.time_zone == "UTC"
    assert tidy["timestamp"].iloc[0] == pd.Timestamp("2024-10-27 00:00")


def test_an_unknown_zone_is_refused_with_its_name():
    with pytest.raises(DataError, match="'Mars/Olympus' is not a time zone"):
        load(csv_of(berlin_clock("2024-01-01", 20)), "Mars/Olympus")
