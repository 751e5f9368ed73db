"""Each minute of a live series' scored points, summed as they are scored.

A chart of a long window reads these sums rather than every point: a week at a point a second
is 10,080 rows, not 604,800. The scorer sums in the transaction that writes its scores
(`sum_scored`), so the sums always agree with the scores beside them: every minute before the
series' `rolled_until` is summed from its scored points as they are now. Points scored for the
first time are added to their minutes' sums (a few rows, however many points the minute
holds); points scored again have their minutes summed anew from the points; deleted and
corrected points take their minutes' sums with them until they are scored again.
"""

from __future__ import annotations

from collections.abc import Mapping, Set

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from vigil.storage.database import execute_many, query_frame, typed_frame

#: The length of a rolled-up bucket, in nanoseconds.
MINUTE = 60_000_000_000
#: Series one statement reads or checks at most.
PART = 500

_COLUMNS = "points, first, last, low, high, lower, upper, expected_sum, expected_points, severity"


def addable(connection: Connection, firsts: Mapping[int, int]) -> set[int]:
    """Of the series in `firsts` (series id: the time, ns, of the first of its points about to
    be scored), those whose points may be added to the minute sums: no point of theirs from
    there or from their first minute not summed on has a score yet (else their minutes are
    summed anew). Call it before writing their scores; one query for every series."""
    rolled = rolled_until_many(connection, list(firsts))
    starts = {
        series: min(first, until * MINUTE)
        for series, first in firsts.items()
        if (until := rolled.get(series)) is not None
    }
    scored: set[int] = set()
    for part in _parts(list(starts)):
        wanted = ", ".join(
            f"(CAST(:s{k} AS BIGINT), CAST(:t{k} AS BIGINT))" for k in range(len(part))
        )
        params = {f"s{k}": series for k, series in enumerate(part)}
        params |= {f"t{k}": starts[series] for k, series in enumerate(part)}
        found = connection.execute(
            text(
                f"WITH wanted (series, start) AS (VALUES {wanted}) SELECT series FROM wanted "
                "WHERE EXISTS (SELECT 1 FROM points WHERE points.series = wanted.series "
                "AND points.ts >= wanted.start AND points.scored IS NOT NULL)"
            ),
            params,
        )
        scored.update(int(series) for (series,) in found)
    return set(starts) - scored


def sum_scored(
    connection: Connection, scored: Mapping[int, pd.DataFrame], addable: Set[int]
) -> None:
    """Bring the minute sums of the series in `scored` (series id: a ScoredFrame of its points
    whose scores were just written) up to date: added to the sums for the series `addable`
    said may be, else their minutes, and any not summed before them, summed anew from the
    points (those after them are then not summed until their points are scored again: the
    scorer scores on from a point to the end). The added sums of every series are written
    together."""
    rolled = rolled_until_many(connection, list(scored))
    sums: list[dict[str, list]] = []
    moved: dict[int, int] = {}
    for series, frame in scored.items():
        if frame.empty:
            continue
        times = frame["timestamp"].to_numpy(dtype="datetime64[ns]").astype("int64")
        first_minute, last_minute = int(times.min()) // MINUTE, int(times.max()) // MINUTE
        before = rolled.get(series)
        if series in addable:
            sums.append(_sums(series, times, frame))
            until = last_minute + 1 if before is None else max(before, last_minute + 1)
        else:
            # summed anew up to these points; the sums of later minutes go, to be made again
            # when their points are scored (again)
            start = first_minute if before is None else min(first_minute, before)
            until = last_minute + 1
            _sum_anew(connection, series, start, until)
        if until != before:
            moved[series] = until
    if sums:
        execute_many(
            connection, _MERGE, {name: [v for s in sums for v in s[name]] for name in sums[0]}
        )
    if moved:
        execute_many(
            connection,
            "UPDATE series SET rolled_until = :until WHERE id = :series",
            {"series": list(moved), "until": list(moved.values())},
        )


def _parts(items: list[int]) -> list[list[int]]:
    """`items` in parts of at most PART (the parameters of one statement stay few)."""
    return [items[start : start + PART] for start in range(0, len(items), PART)]


def _sum_anew(connection: Connection, series: int, start: int, until: int) -> None:
    """Sum the series' minutes from `start` up to `until` from their scored points, and drop
    the sums of the minutes after."""
    span = {"series": series, "start": start, "until": until}
    connection.execute(
        text("DELETE FROM point_rollups WHERE series = :series AND bucket >= :start"), span
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


def _sums(series: int, times: np.ndarray, scored: pd.DataFrame) -> dict[str, list]:
    """The sums of the minutes of points scored for the first time, to add to the stored ones:
    one row per minute, as lists by column (summed with numpy: a round of the scorer adds a
    point or two to each of many series, where pandas' grouping would cost more than the rest
    of the round)."""
    order = np.argsort(times, kind="stable")
    stamps = times[order]
    buckets = stamps // MINUTE
    starts = np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1]])
    ends = np.r_[starts[1:], len(stamps)] - 1

    def column(name: str) -> np.ndarray:
        return scored[name].to_numpy(dtype=float)[order]

    expected = column("expected")
    known = ~np.isnan(expected)
    counted = np.add.reduceat(known.astype(np.int64), starts)
    sums = {
        "points": ends - starts + 1,
        "first": stamps[starts],
        "last": stamps[ends],
        "low": np.minimum.reduceat(column("value"), starts),
        "high": np.maximum.reduceat(column("value"), starts),
        # fmin and fmax pass over a missing bound, as the sums of the minutes in SQL do
        "lower": np.fmin.reduceat(column("lower"), starts),
        "upper": np.fmax.reduceat(column("upper"), starts),
        "expected_sum": np.where(
            counted > 0, np.add.reduceat(np.where(known, expected, 0.0), starts), np.nan
        ),
        "expected_points": counted,
        "severity": np.fmax.reduceat(column("severity"), starts),
    }

    def listed(values: np.ndarray) -> list:
        return [None if isinstance(v, float) and np.isnan(v) else v for v in values.tolist()]

    return {
        "series": [series] * len(starts),
        "bucket": buckets[starts].tolist(),
        **{name: listed(sums[name]) for name in _COLUMNS.split(", ")},
    }


def _least(column: str) -> str:
    """The smaller of the stored and the added value, a missing one aside (both dialects)."""
    return (
        f"{column} = CASE WHEN point_rollups.{column} IS NULL THEN excluded.{column} "
        f"WHEN excluded.{column} IS NULL THEN point_rollups.{column} "
        f"WHEN excluded.{column} < point_rollups.{column} THEN excluded.{column} "
        f"ELSE point_rollups.{column} END"
    )


def _greatest(column: str) -> str:
    return _least(column).replace(" < ", " > ")


def _plus(column: str) -> str:
    return (
        f"{column} = CASE WHEN point_rollups.{column} IS NULL THEN excluded.{column} "
        f"WHEN excluded.{column} IS NULL THEN point_rollups.{column} "
        f"ELSE point_rollups.{column} + excluded.{column} END"
    )


_MERGE = (
    f"INSERT INTO point_rollups (series, bucket, {_COLUMNS}) VALUES (:series, :bucket, "
    + ", ".join(f":{name}" for name in _COLUMNS.split(", "))
    + ") ON CONFLICT (series, bucket) DO UPDATE SET "
    + ", ".join(
        [
            "points = point_rollups.points + excluded.points",
            _least("first"),
            _greatest("last"),
            _least("low"),
            _greatest("high"),
            _least("lower"),
            _greatest("upper"),
            _plus("expected_sum"),
            "expected_points = point_rollups.expected_points + excluded.expected_points",
            _greatest("severity"),
        ]
    )
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
    return rolled_until_many(connection, [series]).get(series)


def rolled_until_many(connection: Connection, series: list[int]) -> dict[int, int | None]:
    """The first minute of each of these series not summed yet (None: none is)."""
    rolled: dict[int, int | None] = {}
    for part in _parts(series):
        # series ids are the store's own integers: written into the query as numbers
        listed = ", ".join(str(int(number)) for number in part)
        found = connection.execute(
            text(f"SELECT id, rolled_until FROM series WHERE id IN ({listed})")
        )
        rolled |= {int(number): None if until is None else int(until) for number, until in found}
    return rolled


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
    rows = query_frame(
        connection,
        f"SELECT bucket, {_COLUMNS} FROM point_rollups WHERE series = :series "
        "AND bucket >= :first AND bucket < :until ORDER BY bucket",
        {"series": series, "first": first, "until": until},
    )
    return typed_frame(sums_frame(rows), bucket="int64")


def sums_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows of sums (from `point_rollups` or summed alike from points), their numbers typed."""
    return typed_frame(
        rows,
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
