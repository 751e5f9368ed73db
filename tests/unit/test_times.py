"""Times in links and API calls: any ISO 8601 form read as UTC, written back with its zone."""

from __future__ import annotations

import pandas as pd
import pytest

from vigil.times import in_zone, iso_utc, known_zone, local_times, utc_time, zone_label, zone_names


@pytest.mark.parametrize(
    "written",
    [
        "2026-11-30T03:30:54Z",
        "2026-11-30T04:30:54+01:00",
        "2026-11-29T22:30:54-05:00",
        "2026-11-30T03:30:54",
        "2026-11-30 03:30:54",
        " 2026-11-30T03:30:54.000Z ",
    ],
)
def test_every_iso_8601_form_is_read_as_the_same_utc_time(written):
    assert utc_time(written) == pd.Timestamp("2026-11-30 03:30:54")
    assert utc_time(written).tzinfo is None  # comparable with stored times


@pytest.mark.parametrize("written", ["yesterday", "", "2026-13-40T00:00:00Z", "NaT"])
def test_what_is_not_a_time_is_said_plainly(written):
    with pytest.raises(ValueError, match="is not an ISO 8601 time"):
        utc_time(written)


def test_times_are_written_in_utc_with_their_zone():
    assert iso_utc(pd.Timestamp("2026-11-30 03:30:54")) == "2026-11-30T03:30:54Z"
    assert iso_utc(pd.Timestamp("2026-11-30 04:30:54", tz="Europe/Berlin")) == (
        "2026-11-30T03:30:54Z"
    )
    assert iso_utc(pd.Timestamp("2026-11-30 03:30:54.250")) == "2026-11-30T03:30:54.250000Z"
    assert iso_utc(None) is None
    assert iso_utc(pd.NaT) is None
    assert utc_time(iso_utc(pd.Timestamp("2026-11-30 03:30:54"))) == pd.Timestamp(
        "2026-11-30 03:30:54"
    )


def test_stored_times_are_shown_as_the_same_instant_in_the_chosen_zone():
    stored = pd.Series(pd.to_datetime(["2026-01-15 12:00", "2026-07-15 12:00"]))
    shown = local_times(stored, "Europe/Berlin")
    assert [stamp.hour for stamp in shown] == [13, 14]  # winter and summer time
    assert (shown.dt.tz_convert("UTC").dt.tz_localize(None) == stored).all()
    assert in_zone("2026-07-15 12:00", "America/New_York").hour == 8


def test_a_zone_is_named_as_a_reader_expects_it():
    assert zone_label("UTC") == "UTC"
    assert zone_label("Europe/Berlin", "2026-01-15") == "CET"
    assert zone_label("Europe/Berlin", "2026-07-15") == "CEST"
    assert zone_label("America/Sao_Paulo", "2026-07-15") == "-0300"


def test_only_real_zones_are_accepted():
    assert known_zone("Europe/Berlin") == "Europe/Berlin"
    assert known_zone(None) == known_zone("Z") == "UTC"
    assert zone_names()[0] == "UTC"
    assert "Asia/Kolkata" in zone_names()
    with pytest.raises(ValueError, match="not a time zone"):
        known_zone("Mars/Olympus_Mons")
