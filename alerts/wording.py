"""What an alert email says in plain words: how far from normal a value is ('2.6x normal',
'35% below normal'), short times ('12 Mar 09:30 UTC'), and the subject and status line that
give a busy reader the state, the series, the direction and how far in one glance. (Examples
here write x and - where emails write a multiplication sign and a middle dot.)"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from alerts.episodes import AlertEpisode, AlertPoint, duration
from detection.explain import number

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


def moment(at: object, *, utc: bool, year: bool = False) -> str:
    """'12 Mar 09:30 UTC' (live series keep UTC), '12 Mar 2024 09:30' (a data set's own
    times, whose zone Vigil does not know)."""
    at = pd.Timestamp(at)
    text = f"{at.day} {at:%b %Y %H:%M}" if year else f"{at.day} {at:%b %H:%M}"
    return f"{text} UTC" if utc else text


def lasted(episodes: Sequence[AlertEpisode]) -> str:
    """From the first episode's start to the last one's end: '45 min', or 'one point'."""
    start = min(pd.Timestamp(episode.start) for episode in episodes)
    end = max(pd.Timestamp(episode.end) for episode in episodes)
    return "one point" if start == end else duration(end - start)


def worst(episodes: Sequence[AlertEpisode]) -> AlertEpisode:
    return max(episodes, key=lambda episode: episode.peak.severity)


def alert_subject(name: str, episodes: Sequence[AlertEpisode], total: int, *, utc: bool) -> str:
    """'FIRING - cpu 2.6x normal since 12 Mar 04:04 UTC', 'ALERT - cpu (ops.csv) was 35%
    below normal on 12 Mar 2024 09:30 for 45 min', 'ALERT - cpu (ops.csv): 3 anomaly episodes, the
    worst 2.6x normal on 12 Mar 2024 09:30'. FIRING while an episode may go on."""
    going = [episode for episode in episodes if episode.open]
    state = "FIRING" if going else "ALERT"
    if total == 1 and going:
        (episode,) = going
        far = how_far(episode.peak.value, episode.peak.expected)
        return f"{state} {DOT} {name} {far} since {moment(episode.start, utc=utc, year=not utc)}"
    top = worst(episodes)
    far = how_far(top.peak.value, top.peak.expected)
    at = moment(top.peak.timestamp, utc=utc, year=not utc)
    if total == 1:
        lasted = "" if top.start == top.end else f" for {top.duration_text}"
        return f"{state} {DOT} {name} was {far} on {at}{lasted}"
    return f"{state} {DOT} {name}: {total} anomaly episodes, the worst {far} on {at}"


def resolved_subject(name: str, episodes: Sequence[AlertEpisode], *, utc: bool) -> str:
    """'RESOLVED - cpu back to normal since 14 Mar 01:55 UTC, after 5 min, peak 2.2x normal'
    (times are the data's: when the last episode ended)."""
    top = worst(episodes)
    end = max(pd.Timestamp(episode.end) for episode in episodes)
    far = how_far(top.peak.value, top.peak.expected)
    return (
        f"RESOLVED {DOT} {name} back to normal since {moment(end, utc=utc, year=not utc)}, "
        f"after {lasted(episodes)}, peak {far}"
    )


def status_line(
    place: str,
    episodes: Sequence[AlertEpisode],
    total: int,
    *,
    utc: bool,
    first: pd.Timestamp | None = None,
) -> str:
    """The email's first line: what is going on where, how far from normal, since when
    (`first`, when more episodes began than `episodes` lists)."""
    top = worst(episodes)
    far = how_far(top.peak.value, top.peak.expected)
    peak = f"{far} ({peak_words(top.peak)}) at {moment(top.peak.timestamp, utc=utc)}"
    going = [episode for episode in episodes if episode.open]
    if total == 1 and going:
        start = moment(top.start, utc=utc, year=not utc)
        return f"{place} has been unusual since {start}, still going on: {peak}."
    if total == 1:
        return f"{place} was unusual {top.when_text} ({top.extent_text}): {peak}."
    first = min(pd.Timestamp(e.start) for e in episodes) if first is None else first
    still = " One is still going on." if going else ""
    return (
        f"{place} had {total} anomaly episodes since {moment(first, utc=utc, year=not utc)}; "
        f"the worst {peak}.{still}"
    )


def resolved_line(place: str, episodes: Sequence[AlertEpisode], *, utc: bool) -> str:
    """'cpu (live) is back to normal since 14 Mar 01:55 UTC. It lasted 5 min; at its peak it
    was 2.2x normal (587.2, normal 270.5) at 14 Mar 01:52 UTC.'"""
    top = worst(episodes)
    end = max(pd.Timestamp(episode.end) for episode in episodes)
    count = "" if len(episodes) == 1 else f" ({len(episodes)} anomaly episodes)"
    return (
        f"{place} is back to normal since {moment(end, utc=utc, year=not utc)}. "
        f"It lasted {lasted(episodes)}{count}; at its peak it was "
        f"{how_far(top.peak.value, top.peak.expected)} ({peak_words(top.peak)}) at "
        f"{moment(top.peak.timestamp, utc=utc)}."
    )
