"""Times as the pages show them: in the time zone the reader picked (UTC until they pick
another), and saying which.

Stored times stay naive UTC; these functions convert at the edge, where a figure, a table row
or a sentence is built, and back again where a time shown on screen (a clicked point, a zoomed
range) comes back to look something up. Plotly draws zone-aware times at their wall-clock
time in their zone and sends back wall-clock times without a zone, so `stored_time` reads
those as wall-clock times in the zone the chart was drawn in.
"""

from __future__ import annotations

import pandas as pd

from vigil.alerts.episodes import when
from vigil.detection.zones import TimeLike
from vigil.times import UTC, in_zone, known_zone, local_times, utc_time, zone_label, zone_names


def shown_zone(stored: object) -> str:
    """The zone to show times in from what the browser keeps (`ids.TIME_ZONE`): that zone when
    it is one Vigil knows, else UTC (a value that is missing, mistyped or from another
    machine's time zone database never breaks a page)."""
    try:
        return known_zone(stored) if isinstance(stored, str | None) else UTC
    except ValueError:
        return UTC


def zone_options(browser: object = None, current: object = None) -> list[dict]:
    """The choices wherever a time zone is picked: UTC first, then the browser's own zone
    ('Europe/Berlin (your browser)') when it is another one Vigil knows, then the one chosen
    before (`current`) when it is neither, then every other zone."""
    first = [UTC]
    for zone in (browser, current):
        known = shown_zone(zone) if zone else UTC
        if known not in first:
            first.append(known)
    own = shown_zone(browser) if browser else UTC
    options = [
        {"label": f"{name} (your browser)" if name == own != UTC else name, "value": name}
        for name in first
    ]
    return options + [{"label": name, "value": name} for name in zone_names() if name not in first]


def picked_zone(stored: object, picked: object, *, picker_changed: bool) -> tuple[str, str]:
    """The zone to keep and to show in the picker, both the same: the one just picked when
    the picker changed (and is a zone), else the one kept (UTC when it is not a zone)."""
    if picker_changed and picked:
        return (zone := shown_zone(picked)), zone
    zone = shown_zone(stored)
    return zone, zone


def zone_words(zone: str, first: TimeLike | None = None, last: TimeLike | None = None) -> str:
    """How a page names the zone of the times from `first` to `last`: 'UTC', 'CET,
    Europe/Berlin', 'CET/CEST, Europe/Berlin' when the span crosses a change of clocks,
    '+0530, Asia/Kolkata'."""
    if zone == UTC:
        return UTC
    labels = dict.fromkeys(
        zone_label(zone, at) for at in (first, last) if at is not None and not pd.isna(at)
    )
    names = "/".join(labels) or zone_label(zone)
    return f"{names}, {zone}"


def axis_title(zone: str, first: TimeLike | None = None, last: TimeLike | None = None) -> str:
    """A time axis' title: 'Time (UTC)', 'Time (CET, Europe/Berlin)'."""
    return f"Time ({zone_words(zone, first, last)})"


def wall_time(stamp: TimeLike, zone: str = UTC) -> pd.Timestamp:
    """A stored time as the clock in `zone` reads it, without a zone: what plotly needs for
    shapes, annotations and axis ranges (it reads an offset there as garbage)."""
    return in_zone(stamp, zone).tz_localize(None)


def wall_times(stamps: pd.Series, zone: str = UTC) -> pd.Series:
    """Stored times as the clock in `zone` reads them (zone-aware: plotly draws them at that
    wall-clock time)."""
    return local_times(stamps, zone)


def time_text(stamp: TimeLike, zone: str = UTC) -> str:
    """A stored time as a page writes it, in `zone`: to the minute, or to the second when it
    has seconds ('2024-03-12 09:30')."""
    return when(wall_time(stamp, zone))


def minute_text(moment: TimeLike, zone: str = UTC) -> str:
    """A stored time (naive UTC, or with a zone) to the minute in `zone`, named:
    '2023-11-14 23:13 CET'."""
    return f"{wall_time(moment, zone):%Y-%m-%d %H:%M} {zone_label(zone, moment)}"


def stored_time(shown: object, zone: str = UTC) -> pd.Timestamp:
    """A time a page showed in `zone` and sent back (a clicked point's x, a zoomed range's
    end: wall-clock times without a zone; or any time with an offset) as naive UTC, the way
    Vigil stores it. A wall-clock time the clocks skip (spring forward) is moved forward to
    the first one they show; one they show twice (fall back) is read as the first."""
    stamp = pd.Timestamp(str(shown).strip())
    if stamp.tzinfo is not None or zone == UTC:
        return utc_time(str(shown))
    local = stamp.tz_localize(zone, ambiguous=True, nonexistent="shift_forward")
    return local.tz_convert(UTC).tz_localize(None)
