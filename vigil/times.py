"""Times as people and programs write them in links and API calls, and as Vigil writes them back.

Vigil keeps every time as naive UTC. `utc_time` reads any ISO 8601 time (with a zone, an offset
or neither: none means UTC) into that; `iso_utc` writes one back with its zone, so what the API
answers can be sent to it again. Shown to people, times are in one IANA time zone, UTC unless
they pick another: `known_zone` checks a name, `in_zone` and `local_times` convert stored times
into it, and `zone_label` names the zone as a reader expects ('UTC', 'CET', '+0530').
"""

from __future__ import annotations

from functools import cache
from typing import overload
from zoneinfo import ZoneInfo

import pandas as pd

from vigil.detection.errors import DataError
from vigil.detection.zones import (
    UTC,
    TimeLike,
    abbreviation,
    checked_zone,
    known_names,
    wall_clock,
)


def utc_time(raw: str) -> pd.Timestamp:
    """`raw` (ISO 8601: '2026-11-30T03:30:54Z', '...+01:00', '2026-11-30 03:30') as naive
    UTC; ValueError saying what is wrong when it is not a time."""
    try:
        stamp = pd.Timestamp(str(raw).strip())
    except (ValueError, TypeError, OverflowError):
        raise ValueError(f"{raw!r} is not an ISO 8601 time.") from None
    if pd.isna(stamp):
        raise ValueError(f"{raw!r} is not an ISO 8601 time.")
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp


def iso_utc(stamp: TimeLike | None) -> str | None:
    """A time (naive UTC, or with a zone) as ISO 8601 in UTC with its zone,
    '2026-11-30T03:30:54Z' (with as many decimals as it has); None for a missing time."""
    if stamp is None or pd.isna(stamp):
        return None
    stamp = pd.Timestamp(stamp)
    if stamp.tzinfo:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.isoformat() + "Z"


@cache
def zone_names() -> tuple[str, ...]:
    """Every IANA time zone name this machine knows (from the `tzdata` package when the system
    has none), UTC first and the rest sorted; aliases such as 'Etc/GMT+1' are left out."""
    names = {name for name in known_names() if "/" in name and not name.startswith("Etc/")}
    return (UTC, *sorted(names))


def known_zone(name: object) -> str:
    """`name` when it is an IANA time zone ('Europe/Berlin', 'UTC'); ValueError saying so
    otherwise (the check a file's zone gets: `detection.zones.checked_zone`). A missing name
    is UTC."""
    try:
        return checked_zone(str(name) if name else None)
    except DataError as error:
        raise ValueError(str(error)) from None


def in_zone(stamp: TimeLike, zone: str = UTC) -> pd.Timestamp:
    """A stored time (naive UTC, or with a zone) as the same instant in `zone`, zone-aware."""
    return wall_clock(stamp, zone)


@overload
def local_times(stamps: pd.Series, zone: str = UTC) -> pd.Series: ...
@overload
def local_times(stamps: pd.DatetimeIndex, zone: str = UTC) -> pd.DatetimeIndex: ...
def local_times(
    stamps: pd.Series | pd.DatetimeIndex, zone: str = UTC
) -> pd.Series | pd.DatetimeIndex:
    """Stored times (naive UTC) as the same instants in `zone`, zone-aware; the values keep
    their order and length, missing times stay missing."""
    stamps = pd.to_datetime(stamps)
    accessor = stamps.dt if isinstance(stamps, pd.Series) else stamps
    if accessor.tz is None:
        stamps = accessor.tz_localize("UTC")
        accessor = stamps.dt if isinstance(stamps, pd.Series) else stamps
    return accessor.tz_convert(ZoneInfo(zone) if zone != UTC else "UTC")


def zone_label(zone: str = UTC, at: TimeLike | None = None) -> str:
    """What a reader calls `zone` at the time `at` (default now): 'UTC', 'CET' or 'CEST' for
    Europe/Berlin, '+0530' where the zone has no letters of its own."""
    if zone == UTC:
        return UTC
    return abbreviation(in_zone(pd.Timestamp.now(tz="UTC") if at is None else at, zone))
