"""Times written without a zone, read as the wall-clock times of one IANA time zone.

A file's times without an offset are local times of the zone the user says (UTC unless they
say otherwise); Vigil stores them as naive UTC. Two daylight-saving hours need a rule, and the
same rule is used everywhere:

- a time in the hour skipped when clocks go forward (02:30 on a spring night in Berlin) does
  not exist: it is moved forward by the length of the gap (`SKIPPED_RULE`), so steps stay even;
- a time in the hour repeated when clocks go back (02:30 on an autumn night) happens twice: the
  first time a series shows it, it is read as summer time, every later time as winter time
  (`REPEATED_RULE`), which keeps a regular series regular.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

import numpy as np
import pandas as pd

from vigil.detection.errors import DataError

UTC = "UTC"
SKIPPED_RULE = "read as winter time, as a clock not yet put forward would mean them"
REPEATED_RULE = "read as summer time where first seen, winter time when repeated"

#: A time as pandas reads one: a Timestamp (or datetime), a numpy datetime64, ISO 8601 text,
#: or nanoseconds since 1970.
TimeLike = date | np.datetime64 | str | float


@dataclass(frozen=True)
class Localized:
    """Naive UTC times, and how many of the wall times fell in a skipped or repeated hour."""

    times: pd.Series
    skipped: int = 0
    repeated: int = 0


@cache
def known_names() -> frozenset[str]:
    """Every IANA time zone name this machine knows (from the `tzdata` package when the
    system has none), read once: listing them walks the zone files."""
    return frozenset(available_timezones())


def checked_zone(zone: str | None) -> str:
    """`zone` as an IANA name ('UTC' when missing); DataError saying so when unknown (blank
    is not a zone)."""
    name = (zone or UTC).strip()
    if name.upper() in {"UTC", "Z", "GMT", "ETC/UTC"}:
        return UTC
    if name not in known_names():
        raise DataError(
            f"'{name}' is not a time zone Vigil knows; use a name such as UTC or Europe/Berlin."
        )
    return name


def read_in_zone(wall: pd.Series, zone: str, keys: pd.Series | None = None) -> Localized:
    """Naive wall times `wall`, read in `zone`, as naive UTC times (same index; NaT stays
    NaT). `keys` (a series name per row, for long files) makes 'first seen' per series."""
    if zone == UTC or wall.empty:
        return Localized(wall)
    frame = pd.DataFrame({"wall": wall.to_numpy()})
    if keys is not None:
        frame["key"] = keys.to_numpy()
    first_seen = ~frame.duplicated().to_numpy()
    placed = wall.dt.tz_localize(zone, ambiguous=first_seen, nonexistent="NaT")
    times = placed.dt.tz_convert(UTC).dt.tz_localize(None)
    unplaced = placed.isna() & wall.notna()
    skipped = int(unplaced.sum())
    if skipped:
        times = times.where(~unplaced, _before_the_gap(wall[unplaced], zone))
    return Localized(times, skipped=skipped, repeated=int(_repeated(wall, zone).sum()))


def _before_the_gap(wall: pd.Series, zone: str) -> pd.Series:
    """Skipped wall times read with the offset in force just before the clocks went forward
    (02:30 in Berlin's spring gap is 01:30 UTC, shown as 03:30 summer time), as naive UTC."""
    last_before = wall.dt.tz_localize(zone, nonexistent="shift_backward")
    offset = last_before.dt.tz_localize(None) - last_before.dt.tz_convert(UTC).dt.tz_localize(None)
    earlier: pd.Series = wall - offset
    return earlier


def _repeated(wall: pd.Series, zone: str) -> pd.Series:
    """Which wall times happen twice in `zone` (in the hour repeated when clocks go back)."""
    early = wall.dt.tz_localize(zone, ambiguous=True, nonexistent="NaT")
    late = wall.dt.tz_localize(zone, ambiguous=False, nonexistent="NaT")
    repeated: pd.Series = early.notna() & (early != late)
    return repeated


def wall_clock(at: TimeLike, zone: str = UTC) -> pd.Timestamp:
    """A stored time (naive UTC, or zone-aware) as the same instant in `zone`, zone-aware."""
    stamp = pd.Timestamp(at)
    stamp = stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp
    return stamp.tz_convert(UTC if zone == UTC else ZoneInfo(zone))


def abbreviation(local: pd.Timestamp) -> str:
    """What a reader calls a zone-aware time's zone then: 'UTC', 'CET', 'CEST', or the
    offset ('+0530') where the zone has no letters of its own."""
    name = local.tzname() or ""
    if name in {"UTC", "Z"}:
        return UTC
    return local.strftime("%z") if not name or name[:1] in "+-" else name
