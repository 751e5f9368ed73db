"""What alerts are about: anomaly episodes, as one scoring pass reports them and as an email
lists them.

A scoring pass (an Analyze run, or one batch of a live series) reports each episode it saw as
an `EpisodeReport`: the part of the episode in that pass, and whether the episode began in it
(its onset) and may go on after it. The engine merges the reports of one episode, however many
passes it spans, into one `AlertEpisode`. Reading a report needs the ScoredFrame's `episode` and
`onset` columns, which detection sets causally: an episode going on across live batches keeps
its id and has one onset, in the batch where it began.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from vigil.detection.episodes import GAP, peak_rows, with_episodes
from vigil.detection.explain import number
from vigil.detection.quality import plural
from vigil.detection.zones import UTC, TimeLike, abbreviation, wall_clock


def stamp(moment: TimeLike) -> str:
    """A timestamp as the alert tables keep it: `2024-03-12 09:30:00` (with a fraction when
    it has one), naive, in UTC when it carried a time zone. Text of this form sorts in time
    order, and the same moment always gives the same text (it is part of an episode's key)."""
    moment = pd.Timestamp(moment)
    if moment.tzinfo is not None:
        moment = moment.tz_convert("UTC").tz_localize(None)
    return str(moment)


def when(moment: TimeLike, zone: str = UTC, *, named: bool = False) -> str:
    """A stored (UTC) time as an email shows it in `zone`: to the minute, or to the second
    when it has seconds; `named` adds the zone's name ('2024-03-12 10:30 CET')."""
    local = wall_clock(moment, zone)
    shown = f"{local:%Y-%m-%d %H:%M}"
    if local.second or local.microsecond or local.nanosecond:
        shown = f"{local:%Y-%m-%d %H:%M:%S}"
    return f"{shown} {abbreviation(local)}" if named else shown


def duration(delta: pd.Timedelta) -> str:
    """'45 s', '15 min', '2 h 5 min', '3 days 4 h'."""
    seconds = round(pd.Timedelta(delta).total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} days {hours} h" if hours else f"{days} days"


def _number(value: float | None) -> float:
    """A stored number, NaN where it is missing (NULL)."""
    return float("nan") if value is None or pd.isna(value) else float(value)


@dataclass(frozen=True)
class AlertPoint:
    """One flagged point: an episode's peak, or a point a caller reports."""

    timestamp: pd.Timestamp
    value: float
    expected: float
    severity: float
    explanation: str

    @property
    def when(self) -> str:
        return when(self.timestamp)

    @property
    def value_text(self) -> str:
        return number(self.value)

    @property
    def expected_text(self) -> str:
        return number(self.expected)


@dataclass(frozen=True)
class EpisodeReport:
    """What one scoring pass saw of one episode.

    `first` and `last` are its first and last flagged points in the pass and `points` how many
    it had there; `peak` is the peak of them, by `detection.episodes.peak_rows`. `onset` says
    the episode began in this pass (`first` is its first point); without it the episode began
    in an earlier pass. `open` says the pass ended within detection's GAP points of `last`, so
    it may go on."""

    first: pd.Timestamp
    last: pd.Timestamp
    points: int
    peak: AlertPoint
    onset: bool = True
    open: bool = False

    @classmethod
    def of_point(cls, point: AlertPoint, *, open: bool = True) -> EpisodeReport:
        """A one-point episode (a point flagged on its own, or one marked as an anomaly)."""
        return cls(point.timestamp, point.timestamp, 1, point, onset=True, open=open)


@dataclass(frozen=True)
class AlertEpisode:
    """One episode as the alert history and emails show it: its span, how many points, its
    peak (time, value, expected value, severity, the reason), and whether it may go on."""

    start: pd.Timestamp
    end: pd.Timestamp
    points: int
    peak: AlertPoint
    open: bool = False

    @classmethod
    def from_row(cls, row: Mapping, *, ended: bool = False) -> AlertEpisode:
        """An episode as the alert history keeps it (`start_at`, `end_at`, `points`, `peak_at`,
        `value`, `expected`, `severity`, `explanation`, `open`); `ended` once its alert has
        resolved."""
        return cls(
            start=pd.Timestamp(row["start_at"]),
            end=pd.Timestamp(row["end_at"]),
            points=int(row["points"]),
            peak=AlertPoint(
                pd.Timestamp(row["peak_at"]),
                _number(row["value"]),
                _number(row["expected"]),
                float(row["severity"]),
                str(row["explanation"] or ""),
            ),
            open=bool(row["open"]) and not ended,
        )

    @property
    def duration_text(self) -> str:
        return duration(pd.Timestamp(self.end) - pd.Timestamp(self.start))

    @property
    def when_text(self) -> str:
        """'2024-03-12 09:30 to 09:45', 'from 2024-03-12 09:30' (still going on), or
        '2024-03-12 09:30' (one moment), in UTC."""
        return self.when_in(UTC, named=False)

    def when_in(self, zone: str = UTC, *, named: bool = True) -> str:
        """`when_text` in `zone`, its end naming the zone: '2024-03-12 10:30 to 10:45 CET'."""
        start, end = wall_clock(self.start, zone), wall_clock(self.end, zone)
        if self.open:
            return f"from {when(start, zone, named=named)}"
        if start == end:
            return when(start, zone, named=named)
        until = when(end, zone, named=named)
        if start.date() == end.date():
            until = until[len("2024-03-12 ") :]
        return f"{when(start, zone)} to {until}"

    @property
    def extent_text(self) -> str:
        """'15 min, 4 points', '1 point', '2 days 3 h, 1,536 points', or 'still going on, 4
        points so far'."""
        points = plural(self.points, "point")
        if self.open:
            return f"still going on, {points} so far"
        if pd.Timestamp(self.start) == pd.Timestamp(self.end):
            return points
        return f"{self.duration_text}, {points}"

    @property
    def span_text(self) -> str:
        """'2024-03-12 09:30 to 09:45 (15 min, 4 points)', 'from 2024-03-12 09:30 (still going
        on, 4 points so far)', or '2024-03-12 09:30 (1 point)'."""
        return f"{self.when_text} ({self.extent_text})"

    def span_in(self, zone: str = UTC) -> str:
        """`span_text` in `zone`, naming it: '2024-03-12 10:30 to 10:45 CET (15 min, 4 points)'."""
        return f"{self.when_in(zone)} ({self.extent_text})"

    @property
    def peak_text(self) -> str:
        """'587.2 where 270.5 was expected'."""
        return f"{self.peak.value_text} where {self.peak.expected_text} was expected"


def episode_reports(scored: pd.DataFrame) -> list[EpisodeReport]:
    """The episodes of a ScoredFrame (a whole run, or one batch of a live series), in time order.

    An episode is the flagged points sharing an `episode` id; it has its onset here when any of
    its rows has `onset` (a point unflagged since, by a person's mark, still began it). A flagged
    point without an id (marked as an anomaly by a person) is an episode of its own. A frame
    without the episode columns is labelled as a whole series would be."""
    if scored.empty:
        return []
    if "episode" not in scored.columns:
        scored = with_episodes(scored.copy())
    flags = scored["is_anomaly"].fillna(False).to_numpy(dtype=bool)
    positions = np.flatnonzero(flags)
    if positions.size == 0:
        return []
    ids = scored["episode"].to_numpy(dtype="float64", na_value=np.nan)
    onsets = scored["onset"].fillna(False).to_numpy(dtype=bool)
    groups = ids[positions].copy()
    alone = np.isnan(groups)
    # a flagged point with no episode is its own: ids below every real one, one each
    groups[alone] = -1.0 - np.arange(int(alone.sum()))
    began = set(ids[onsets & ~np.isnan(ids)].tolist())
    severities = scored["severity"].to_numpy(dtype="float64", na_value=np.nan)
    scores = (
        scored["score"].to_numpy(dtype="float64", na_value=np.nan)[positions]
        if "score" in scored
        else None
    )
    peaks = peak_rows(groups, severities[positions], scores)
    peak_of: dict[int, int] = dict(
        zip(np.unique(groups).tolist(), positions[peaks].tolist(), strict=True)
    )
    times = scored["timestamp"].to_numpy()
    values = scored["value"].to_numpy(dtype="float64", na_value=np.nan)
    expected = scored["expected"].to_numpy(dtype="float64", na_value=np.nan)
    reasons = scored["explanation"].to_numpy(dtype=object) if "explanation" in scored else None
    # each episode's first and last flagged row and their number, in one pass
    spans = pd.Series(positions).groupby(groups, sort=False).agg(["min", "max", "size"])
    reports = []
    for group, first, last, points in spans.itertuples(name=None):
        at = peak_of[group]
        reason = "" if reasons is None or pd.isna(reasons[at]) else str(reasons[at])
        reports.append(
            EpisodeReport(
                first=pd.Timestamp(times[first]),
                last=pd.Timestamp(times[last]),
                points=int(points),
                peak=AlertPoint(
                    pd.Timestamp(times[at]),
                    float(values[at]),
                    float(expected[at]),
                    0.0 if np.isnan(severities[at]) else float(severities[at]),
                    reason,
                ),
                onset=bool(group < 0 or group in began),
                open=len(scored) - 1 - int(last) <= GAP,
            )
        )
    return sorted(reports, key=lambda report: report.first)
