"""What people send to a live series' points: new points, corrections, deletions, marks.

A point is committed before its request is answered, so an accepted point survives a crash
of the process. A point sent again with the same value is a duplicate, however old, so
retrying is always safe; one with a new value replaces the stored one, which is then scored
again; one more than the late window older than the series' latest point is refused. Every
write holds its series' lock (SQLite: the one write lock), so points of different series go
in side by side in Postgres.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError

from vigil.detection.zones import TimeLike
from vigil.live.labels import labels_text
from vigil.live.points import MAX_REASONS, Batch
from vigil.live.rollups import forget
from vigil.live.series import series_id, series_lock
from vigil.storage.bulk import insert_points
from vigil.storage.database import Database, is_deadlock

#: Tries of a write that Postgres chose to undo to end a deadlock with the scorer.
DEADLOCK_TRIES = 3
#: Series written in one transaction of a request of many series' points, on Postgres.
LOCKS_AT_ONCE = 50


@dataclass
class Ingested:
    """What became of a request's points."""

    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    reasons: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "reasons": self.reasons,
        }


class Ingest:
    """Takes in, corrects and deletes the points of live series."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def add(
        self, name: str, batch: Batch, *, late_window: pd.Timedelta, now: float | None = None
    ) -> Ingested:
        """Store a request's points for a series (created on its first points).

        A point at a time already stored is a duplicate when its value is the same, and
        replaces the stored one (to be scored again) when it differs. A point more than
        `late_window` older than the series' latest point is refused.
        """
        received = time.time() if now is None else now
        tries = 1
        while True:
            try:
                with self.database.write(series_lock(name)) as connection:
                    return _add(connection, name, batch, late_window, received)
            except OperationalError as error:
                if not is_deadlock(error) or tries == DEADLOCK_TRIES:
                    raise
                tries += 1

    def add_many(
        self,
        batches: Sequence[tuple[str, Batch]],
        *,
        late_window: pd.Timedelta,
        now: float | None = None,
    ) -> list[Ingested]:
        """`add` for the points of several series (names unique): a collector's request of
        many series commits once on SQLite (whose one lock every write takes), and once
        every LOCKS_AT_ONCE series on Postgres (each transaction holding its series' locks,
        which Postgres keeps in a table of bounded size). What became of each series'
        points, in the order given."""
        received = time.time() if now is None else now
        step = len(batches) if self.database.is_sqlite else LOCKS_AT_ONCE
        results: list[Ingested] = []
        for start in range(0, len(batches), max(step, 1)):
            results += self._add_together(batches[start : start + step], late_window, received)
        return results

    def _add_together(
        self, batches: Sequence[tuple[str, Batch]], late_window: pd.Timedelta, received: float
    ) -> list[Ingested]:
        locks = [series_lock(name) for name, _ in batches]
        tries = 1
        while True:
            try:
                with self.database.write(*locks) as connection:
                    return [
                        _add(connection, name, batch, late_window, received)
                        for name, batch in batches
                    ]
            except OperationalError as error:
                if not is_deadlock(error) or tries == DEADLOCK_TRIES:
                    raise
                tries += 1

    def mark_normal(self, name: str, timestamp: TimeLike, explanation: str) -> bool:
        """Unflag a scored point someone said is not an anomaly, taking it out of its episode;
        False if there is none."""
        when = pd.Timestamp(timestamp).as_unit("ns").value
        with self.database.write(series_lock(name)) as connection:
            changed = connection.execute(
                text(
                    "UPDATE points SET is_anomaly = 0, episode = NULL, onset = 0, "
                    "explanation = :explanation "
                    "WHERE ts = :ts AND series = (SELECT id FROM series WHERE name = :name)"
                ),
                {"explanation": explanation, "ts": when, "name": name},
            ).rowcount
        return changed > 0

    def delete_points(self, name: str, start: pd.Timestamp, end: pd.Timestamp) -> int | None:
        """Delete a series' points from `start` up to (not including) `end`, naive UTC, with
        their scores and episodes; how many (None when there is no such series). The points
        left are scored afresh, as after new settings (a series that could not be scored is
        tried again), so no score remembers a deleted point."""
        with self.database.write(series_lock(name)) as connection:
            found = connection.execute(
                text("SELECT id FROM series WHERE name = :name"), {"name": name}
            ).scalar()
            if found is None:
                return None
            span = {
                "series": found,
                "start": pd.Timestamp(start).as_unit("ns").value,
                "end": pd.Timestamp(end).as_unit("ns").value,
            }
            forget(connection, found, span["start"], span["end"])
            deleted = connection.execute(
                text("DELETE FROM points WHERE series = :series AND ts >= :start AND ts < :end"),
                span,
            ).rowcount
            if deleted:
                connection.execute(
                    text(
                        "UPDATE series SET version = version + 1, error = NULL, "
                        "learning_left = NULL, learning_at = NULL, step_seconds = NULL "
                        "WHERE id = :id"
                    ),
                    {"id": found},
                )
        return deleted


def _add(
    connection: Connection,
    name: str,
    batch: Batch,
    late_window: pd.Timedelta,
    received: float,
) -> Ingested:
    result = Ingested(rejected=batch.rejected, reasons=list(batch.reasons))
    result.duplicates = batch.repeated
    if batch.labels is not None:
        connection.execute(
            text("UPDATE series SET labels = :labels WHERE id = :series AND labels <> :labels"),
            {"labels": labels_text(batch.labels), "series": series_id(connection, name)},
        )
    if not len(batch.timestamps):
        return result
    times, values = batch.timestamps, batch.values
    series = series_id(connection, name)
    latest = connection.execute(
        text("SELECT MAX(ts) FROM points WHERE series = :series"), {"series": series}
    ).scalar()
    keep = np.ones(len(times), dtype=bool)
    changed: list[int] = []
    if latest is not None and times[0] <= latest:
        # a point sent again is a duplicate however old: retrying is always safe
        rows = connection.execute(
            text(
                "SELECT ts, value, COALESCE(first_received, received) FROM points "
                "WHERE series = :series AND ts BETWEEN :first AND :latest"
            ),
            {"series": series, "first": int(times[0]), "latest": int(latest)},
        ).all()
        stored = {ts: value for ts, value, _ in rows}
        came = {ts: first_received for ts, _, first_received in rows}
        same = np.array([stored.get(int(t)) == v for t, v in zip(times, values, strict=True)])
        result.duplicates += int(same.sum())
        keep &= ~same
        too_late = keep & (times < latest - late_window.value)
        for stamp in times[too_late][: max(0, MAX_REASONS - len(result.reasons))]:
            result.reasons.append(
                f"{pd.Timestamp(stamp).isoformat()}: more than {_span(late_window)} "
                "before the series' latest point"
            )
        result.rejected += int(too_late.sum())
        keep &= ~too_late
        changed = [int(t) for t in times[keep] if int(t) in stored]
        if changed:
            forget(connection, series, min(changed), max(changed) + 1)
            connection.execute(
                text("DELETE FROM points WHERE series = :series AND ts = :ts"),
                [{"series": series, "ts": t} for t in changed],
            )
    if keep.any():
        insert_points(connection, series, times[keep].tolist(), values[keep].tolist(), received)
    if changed:  # a corrected point is still one that first came back then
        connection.execute(
            text("UPDATE points SET first_received = :came WHERE series = :series AND ts = :ts"),
            [{"series": series, "ts": t, "came": came[t]} for t in changed],
        )
    result.accepted = int(keep.sum())
    return result


def _span(delta: pd.Timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("day", 86_400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"
