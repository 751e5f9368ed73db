"""Each minute of a live series' scored points, summed once the minute has ended.

A chart of a long window reads these sums rather than every point: a week at a point a second
is 10,080 rows, not 604,800. The scorer calls `roll_up` in the transaction that writes its
scores, so the sums always agree with the scores beside them: every minute before the series'
`rolled_until` is summed from the points as they are now. A minute is summed anew whenever a
point in it is scored (again), and its sums go with its points when they are deleted.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, text

from vigil.storage.database import query_frame, typed_frame

#: The length of a rolled-up bucket, in nanoseconds.
MINUTE = 60_000_000_000

_COLUMNS = "points, first, last, low, high, lower, upper, expected_sum, expected_points, severity"


def roll_up(connection: Connection, series: int, earliest_scored: int) -> None:
    """Sum again the series' minutes from the one holding `earliest_scored` (the earliest time
    just scored, in ns) and every minute not summed yet, up to the minute of its latest
    point, which may still grow and is left for later."""
    found = connection.execute(
        text(
            "SELECT s.rolled_until, (SELECT MAX(p.ts) FROM points p WHERE p.series = s.id) "
            "FROM series s WHERE s.id = :series"
        ),
        {"series": series},
    ).one_or_none()
    if found is None or found[1] is None:
        return
    rolled, latest = found
    until = int(latest) // MINUTE
    start = earliest_scored // MINUTE
    if rolled is not None:
        start = min(start, int(rolled))
    if start < until:
        span = {"series": series, "start": start, "until": until}
        connection.execute(
            text(
                "DELETE FROM point_rollups "
                "WHERE series = :series AND bucket >= :start AND bucket < :until"
            ),
            span,
        )
        connection.execute(
            text(
                f"INSERT INTO point_rollups (series, bucket, {_COLUMNS}) "
                f"SELECT series, ts / {MINUTE}, COUNT(*), MIN(ts), MAX(ts), MIN(value), "
                "MAX(value), MIN(lower), MAX(upper), SUM(expected), COUNT(expected), "
                "MAX(severity) FROM points WHERE series = :series AND scored IS NOT NULL "
                f"AND ts >= :start * {MINUTE} AND ts < :until * {MINUTE} "
                f"GROUP BY series, ts / {MINUTE}"
            ),
            span,
        )
    if rolled is None or until != int(rolled):
        connection.execute(
            text("UPDATE series SET rolled_until = :until WHERE id = :series"),
            {"series": series, "until": until},
        )


def forget(connection: Connection, series: int, start: int, end: int) -> None:
    """Drop the sums of the series' minutes that overlap its points from `start` up to (not
    including) `end` (ns), and mark them not summed: for points about to be deleted."""
    first, last = start // MINUTE, (end - 1) // MINUTE
    connection.execute(
        text(
            "DELETE FROM point_rollups WHERE series = :series AND bucket >= :first "
            "AND bucket <= :last"
        ),
        {"series": series, "first": first, "last": last},
    )
    connection.execute(
        text(
            "UPDATE series SET rolled_until = :first WHERE id = :series AND rolled_until > :first"
        ),
        {"series": series, "first": first},
    )


def rolled_until(connection: Connection, series: int) -> int | None:
    """The first minute of the series not summed yet (None: none is)."""
    found = connection.execute(
        text("SELECT rolled_until FROM series WHERE id = :series"), {"series": series}
    ).scalar()
    return None if found is None else int(found)


def rolled_count(connection: Connection, series: int, first: int, until: int) -> int:
    """How many points the series' summed minutes from `first` up to `until` hold."""
    found = connection.execute(
        text(
            "SELECT COALESCE(SUM(points), 0) FROM point_rollups "
            "WHERE series = :series AND bucket >= :first AND bucket < :until"
        ),
        {"series": series, "first": first, "until": until},
    ).scalar()
    return int(found or 0)


def rollups(connection: Connection, series: int, first: int, until: int) -> pd.DataFrame:
    """The series' summed minutes from `first` up to `until`, in time order."""
    return typed_frame(
        query_frame(
            connection,
            f"SELECT bucket, {_COLUMNS} FROM point_rollups WHERE series = :series "
            "AND bucket >= :first AND bucket < :until ORDER BY bucket",
            {"series": series, "first": first, "until": until},
        ),
        bucket="int64",
        points="int64",
        first="int64",
        last="int64",
        low="float64",
        high="float64",
        lower="float64",
        upper="float64",
        expected_sum="float64",
        expected_points="int64",
        severity="float64",
    )
