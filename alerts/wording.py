"""What an alert email says in plain words: how far from normal a value is ('2.6x normal',
'35% below normal'), short times in the emails' time zone, always named ('12 Mar 09:30 UTC',
'12 Mar 10:30 CET'), and the subject and status line that give a busy reader the state, the
series, the direction and how far in one glance. Times come in as Vigil stores them, naive UTC.
(Examples here write x and - where emails write a multiplication sign and a middle dot.)"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from vigil.alerts.episodes import AlertEpisode, AlertPoint, duration
from vigil.detection.explain import number
from vigil.detection.zones import UTC, TimeLike, abbreviation, wall_clock

TIMES, DOT = "\N{MULTIPLICATION SIGN}", "\N{MIDDLE DOT}"
#: Above this many times normal, a rise is said as a multiple ('2.6x normal').
MULTIPLE = 2.0


def how_far(value: float, expected: float) -> str:
    """How far `value` is from `expected`, in words: '2.6x normal', '35% above normal',
    '60% below normal', or, where a ratio means nothing (no expected value, values around or
    below zero), '12.5 above normal'."""
    if math.isnan(value):
        return "missing"
    if math.isnan(expected):
        return f"at {number(value)}"
    if expected > 0 and value >= 0:
        ratio = value / expected
        if ratio >= MULTIPLE:
            return f"{ratio:.1f}{TIMES} normal"
        if round(abs(ratio - 1) * 100) == 0:
            return "at normal"
        side = "above" if ratio > 1 else "below"
        return f"{abs(ratio - 1):.0%} {side} normal"
    side = "above" if value >= expected else "below"
    return f"{number(abs(value - expected))} {side} normal"


def peak_words(point: AlertPoint) -> str:
    """'587.2, normal 270.5': the peak's value beside what was expected."""
    if math.isnan(point.expected):
        return number(point.value)
    return f"{number(point.value)}, normal {number(point.expected)}"


def moment(at: TimeLike, zone: str = UTC, *, year: bool = False) -> str:
    """A stored time in `zone`, the zone named: '12 Mar 09:30 UTC', '12 Mar 2024 10:30 CET'
    (with the year for a data set's times, which may be from any year)."""
    local = wall_clock(at, zone)
    text = f"{local.day} {local:%b %Y %H:%M}" if year else f"{local.day} {local:%b %H:%M}"
    return f"{text} {abbreviation(local)}"


def lasted(episodes: Sequence[AlertEpisode]) -> str:
    """From the first episode's start to the last one's end: '45 min', or 'one point'."""
    start = min(pd.Timestamp(episode.start) for episode in episodes)
    end = max(pd.Timestamp(episode.end) for episode in episodes)
    return "one point" if start == end else duration(end - start)


def worst(episodes: Sequence[AlertEpisode]) -> AlertEpisode:
    return max(episodes, key=lambda episode: episode.peak.severity)


def alert_subject(
    name: str,
    episodes: Sequence[AlertEpisode],
    total: int,
    *,
    zone: str = UTC,
    year: bool = False,
) -> str:
    """'FIRING - cpu 2.6x normal since 12 Mar 04:04 UTC', 'ALERT - cpu (ops.csv) was 35%
    below normal on 12 Mar 2024 10:30 CET for 45 min', 'ALERT - cpu (ops.csv): 3 anomaly
    episodes, the worst 2.6x normal on 12 Mar 2024 09:30 UTC'. FIRING while an episode may go
    on. Times in `zone`, with the `year` for a data set's."""
    going = [episode for episode in episodes if episode.open]
    state = "FIRING" if going else "ALERT"
    if total == 1 and going:
        (episode,) = going
        far = how_far(episode.peak.value, episode.peak.expected)
        return f"{state} {DOT} {name} {far} since {moment(episode.start, zone, year=year)}"
    top = worst(episodes)
    far = how_far(top.peak.value, top.peak.expected)
    at = moment(top.peak.timestamp, zone, year=year)
    if total == 1:
        lasted = "" if top.start == top.end else f" for {top.duration_text}"
        return f"{state} {DOT} {name} was {far} on {at}{lasted}"
    return f"{state} {DOT} {name}: {total} anomaly episodes, the worst {far} on {at}"


def resolved_subject(
    name: str, episodes: Sequence[AlertEpisode], *, zone: str = UTC, year: bool = False
) -> str:
    """'RESOLVED - cpu back to normal since 14 Mar 01:55 UTC, after 5 min, peak 2.2x normal'
    (times are the data's: when the last episode ended)."""
    top = worst(episodes)
    end = max(pd.Timestamp(episode.end) for episode in episodes)
    far = how_far(top.peak.value, top.peak.expected)
    return (
        f"RESOLVED {DOT} {name} back to normal since {moment(end, zone, year=year)}, "
        f"after {lasted(episodes)}, peak {far}"
    )


def status_line(
    place: str,
    episodes: Sequence[AlertEpisode],
    total: int,
    *,
    zone: str = UTC,
    year: bool = False,
    first: pd.Timestamp | None = None,
) -> str:
    """The email's first line: what is going on where, how far from normal, since when
    (`first`, when more episodes began than `episodes` lists)."""
    top = worst(episodes)
    far = how_far(top.peak.value, top.peak.expected)
    peak = f"{far} ({peak_words(top.peak)}) at {moment(top.peak.timestamp, zone)}"
    going = [episode for episode in episodes if episode.open]
    if total == 1 and going:
        start = moment(top.start, zone, year=year)
        return f"{place} has been unusual since {start}, still going on: {peak}."
    if total == 1:
        return f"{place} was unusual {top.when_in(zone)} ({top.extent_text}): {peak}."
    first = min(pd.Timestamp(e.start) for e in episodes) if first is None else first
    still = " One is still going on." if going else ""
    return (
        f"{place} had {total} anomaly episodes since {moment(first, zone, year=year)}; "
        f"the worst {peak}.{still}"
    )


def resolved_line(
    place: str, episodes: Sequence[AlertEpisode], *, zone: str = UTC, year: bool = False
) -> str:
    """'cpu (live) is back to normal since 14 Mar 01:55 UTC. It lasted 5 min; at its peak it
    was 2.2x normal (587.2, normal 270.5) at 14 Mar 01:52 UTC.'"""
    top = worst(episodes)
    end = max(pd.Timestamp(episode.end) for episode in episodes)
    count = "" if len(episodes) == 1 else f" ({len(episodes)} anomaly episodes)"
    return (
        f"{place} is back to normal since {moment(end, zone, year=year)}. "
        f"It lasted {lasted(episodes)}{count}; at its peak it was "
        f"{how_far(top.peak.value, top.peak.expected)} ({peak_words(top.peak)}) at "
        f"{moment(top.peak.timestamp, zone)}."
    )
