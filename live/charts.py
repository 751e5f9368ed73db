"""A live series' points for a chart, light at any window: every point when they are few,
else the range of each time bucket, and every flagged point as it is.

`chart_points` reads one series over a span in a single read transaction and never returns
more than 2 x `buckets` rows plus the flagged points (at most MOST_FLAGGED of them), however
many points the span holds. Buckets are summed by the database, from the minutes summed by the
scorer (`live.rollups`) where a bucket spans minutes, so a week at a point a second reads
10,080 sums, not 604,800 points. Only scored points are drawn: the span ends before the
series' first point still waiting for a score, from where a chart appends.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from vigil.live.rollups import MINUTE, rolled_count, rolled_until, rollups, sums_frame
from vigil.live.rows import SCORE_COLUMNS, scores_frame
from vigil.storage.database import Database, query_frame, typed_frame

#: The most flagged points a bucketed chart marks one by one: the most severe are kept.
MOST_FLAGGED = 2_000
#: The most points summed one by one for buckets under a minute; past it, minutes are used.
SCAN_POINTS = 200_000


@dataclass(frozen=True)
class ChartPoints:
    """What a chart of a series over a span draws.

    `points` has the columns of `LiveViews.scores` when `bucket` is None (every point), else
    two rows a bucket, its lowest value then its highest (`timestamp`: the bucket's first and
    last point; `points`: how many it holds; `lower`, `upper` the widest expected band in it,
    `expected` its mean, `severity` its highest, `is_anomaly` false: flagged points come in
    `flagged`). `flagged` has the flagged points of the span (timestamp, value, severity,
    explanation), empty when `bucket` is None (they are in `points`)."""

    points: pd.DataFrame
    flagged: pd.DataFrame
    #: Points in the span (scored ones, up to `end`).
    total: int
    #: The width of a bucket, or None when every point is drawn.
    bucket: pd.Timedelta | None
    #: The span drawn: after `start`, up to and with `end` (None: no scored point in it).
    start: pd.Timestamp
    end: pd.Timestamp | None


def chart_points(
    database: Database,
    name: str,
    *,
    start: pd.Timestamp,
    end: pd.Timestamp | None = None,
    buckets: int = 1_000,
) -> ChartPoints:
    """The scored points of series `name` after `start`, up to and with `end` (its latest
    when None), for a chart of at most 2 x `buckets` points: every point when there are no
    more than `buckets`, else at most `buckets` buckets of equal width, each its lowest and
    highest value, with the flagged points apart. Buckets of a minute or more are made of the sums
    of `live.rollups` (and of the points of minutes not summed); shorter ones are summed
    from the points, unless there are more than SCAN_POINTS, when minutes are the finest."""
    low = pd.Timestamp(start).value
    high = np.iinfo(np.int64).max if end is None else pd.Timestamp(end).value
    with database.read() as connection:
        series = connection.execute(
            text("SELECT id FROM series WHERE name = :name"), {"name": name}
        ).scalar()
        if series is None:
            return _empty(start)
        waiting = connection.execute(
            # the partial index of waiting points, not the series' (a scan of all its points)
            text("SELECT MIN(ts) FROM points WHERE scored IS NULL AND +series = :series"),
            {"series": series},
        ).scalar()
        if waiting is not None:
            high = min(high, int(waiting) - 1)
        latest = connection.execute(
            text("SELECT MAX(ts) FROM points WHERE series = :series AND ts > :low AND ts <= :high"),
            {"series": series, "low": low, "high": high},
        ).scalar()
        if latest is None:
            return _empty(start)
        high = int(latest)
        span = _Span(series, low, high, rolled_until(connection, series))
        total = span.count(connection)
        if total <= buckets:
            rows = query_frame(connection, _EVERY_POINT, span.params())
            return ChartPoints(
                scores_frame(rows), _no_flags(), total, None, _time(low), _time(high)
            )
        width = max(1, -(-(high - low) // max(1, buckets)))
        if width < MINUTE and total <= SCAN_POINTS:
            every = {**span.params(), "origin": low, "width": width}
            sums = query_frame(connection, _SUMS, every)
        else:
            width = -(-width // MINUTE) * MINUTE  # whole minutes
            sums = _merged(span.minutes(connection), low, width)
        flagged = query_frame(connection, _FLAGGED, {**span.params(), "most": MOST_FLAGGED})
    return ChartPoints(
        _bucket_rows(sums),
        _flagged_frame(flagged),
        total,
        pd.Timedelta(width, unit="ns"),
        _time(low),
        _time(high),
    )


@dataclass(frozen=True)
class _Span:
    """A series' points after `low`, up to and with `high` (ns): the whole minutes summed in
    `live.rollups`, and the points around them (of the first, partial minute, and of those
    not summed yet)."""

    series: int
    low: int
    high: int
    rolled: int | None

    @property
    def summed(self) -> tuple[int, int]:
        """The minutes of the span summed already: from the first up to the second."""
        first = self.low // MINUTE + 1
        until = min(self.rolled or 0, (self.high + 1) // MINUTE)
        return first, max(first, until)

    def params(self) -> dict[str, int]:
        return {"series": self.series, "low": self.low, "high": self.high}

    def unsummed(self) -> list[dict[str, int]]:
        """The parts of the span (as `params`) not in its summed minutes: before the first
        and from the last on."""
        first, until = self.summed
        parts = [(self.low, min(first * MINUTE - 1, self.high)), (until * MINUTE - 1, self.high)]
        if until == first:  # nothing summed: the whole span at once
            parts = [(self.low, self.high)]
        return [
            {"series": self.series, "low": max(low, self.low), "high": high}
            for low, high in parts
            if high > max(low, self.low)
        ]

    def count(self, connection: Connection) -> int:
        """How many points the span holds."""
        counted = sum(
            connection.execute(text(_COUNT), part).scalar_one() for part in self.unsummed()
        )
        first, until = self.summed
        return int(counted) + rolled_count(connection, self.series, first, until)

    def minutes(self, connection: Connection) -> pd.DataFrame:
        """The span's sums a minute at a time: the summed minutes, and those not summed
        (summed from their points), in time order."""
        first, until = self.summed
        parts = [rollups(connection, self.series, first, until)] + [
            query_frame(connection, _SUMS, {**part, "origin": 0, "width": MINUTE})
            for part in self.unsummed()
        ]
        frame = pd.concat([sums_frame(part) for part in parts], ignore_index=True)
        return frame.sort_values("first", kind="stable")


def _merged(minutes: pd.DataFrame, low: int, width: int) -> pd.DataFrame:
    """Minutes' sums merged into buckets `width` ns wide from `low`."""
    bucket = (minutes["first"] - low) // width
    merged = minutes.groupby(bucket.to_numpy(), sort=True).agg(
        points=("points", "sum"),
        first=("first", "min"),
        last=("last", "max"),
        low=("low", "min"),
        high=("high", "max"),
        lower=("lower", "min"),
        upper=("upper", "max"),
        expected_sum=("expected_sum", "sum"),
        expected_points=("expected_points", "sum"),
        severity=("severity", "max"),
    )
    return merged.reset_index(drop=True)


def _time(ns: int) -> pd.Timestamp:
    return pd.Timestamp(ns, unit="ns")


def _empty(start: pd.Timestamp) -> ChartPoints:
    return ChartPoints(
        scores_frame(pd.DataFrame(columns=["ts", *SCORE_COLUMNS])),
        _no_flags(),
        0,
        None,
        pd.Timestamp(start),
        None,
    )


def _no_flags() -> pd.DataFrame:
    return _flagged_frame(pd.DataFrame(columns=["ts", "value", "severity", "explanation"]))


def _flagged_frame(rows: pd.DataFrame) -> pd.DataFrame:
    frame = typed_frame(rows, ts="int64", value="float64", severity="float64")
    frame = frame.sort_values("ts", kind="stable").reset_index(drop=True)
    frame.insert(0, "timestamp", pd.to_datetime(frame.pop("ts"), unit="ns"))
    frame["explanation"] = frame["explanation"].fillna("").astype(str)
    return frame


def _bucket_rows(summed: pd.DataFrame) -> pd.DataFrame:
    """Two rows a bucket, in time order: (first time, lowest value), (last time, highest)."""
    frame = sums_frame(summed)
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["expected"] = frame["expected_sum"] / frame["expected_points"].where(
            frame["expected_points"] > 0
        )
    count = len(frame)
    times = np.empty(2 * count, dtype=np.int64)
    times[0::2], times[1::2] = frame["first"].to_numpy(), frame["last"].to_numpy()
    values = np.empty(2 * count)
    values[0::2], values[1::2] = frame["low"].to_numpy(), frame["high"].to_numpy()

    def twice(column: str) -> np.ndarray:
        return np.repeat(frame[column].to_numpy(), 2)

    return pd.DataFrame(
        {
            "timestamp": pd.to_datetime(times, unit="ns"),
            "value": values,
            "lower": twice("lower"),
            "upper": twice("upper"),
            "expected": twice("expected"),
            "severity": twice("severity"),
            "points": twice("points"),
            "first": pd.to_datetime(twice("first"), unit="ns"),
            "last": pd.to_datetime(twice("last"), unit="ns"),
            "is_anomaly": np.zeros(2 * count, dtype=bool),
        }
    )


_EVERY_POINT = (
    f"SELECT ts, {', '.join(SCORE_COLUMNS)} FROM points "
    "WHERE series = :series AND ts > :low AND ts <= :high ORDER BY ts"
)

_COUNT = "SELECT COUNT(*) FROM points WHERE series = :series AND ts > :low AND ts <= :high"

#: Sums of buckets of equal width from `origin` (integer division in both dialects).
_SUMS = """
SELECT (ts - :origin) / :width AS bucket, COUNT(*) AS points, MIN(ts) AS first, MAX(ts) AS last,
       MIN(value) AS low, MAX(value) AS high, MIN(lower) AS lower, MAX(upper) AS upper,
       SUM(expected) AS expected_sum, COUNT(expected) AS expected_points,
       MAX(severity) AS severity
FROM points WHERE series = :series AND ts > :low AND ts <= :high
GROUP BY 1 ORDER BY 1
"""

#: The flagged points of the span (the flagged-points index), the most severe first.
_FLAGGED = """
SELECT ts, value, severity, explanation FROM points
WHERE series = :series AND is_anomaly = 1 AND ts > :low AND ts <= :high
ORDER BY severity DESC NULLS LAST, ts LIMIT :most
"""
