"""Live series in SQLite (WAL): each series' detector, its points as they arrive, their scores.

A point is committed before its request is answered, so an accepted point survives a crash
of the process. Each stored point has an id that grows with every write: the scoring worker
reads the points after the last id it saw, and a corrected point gets a new id, so it is
scored again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from live.points import MAX_REASONS, Batch
from storage.sqlite import connect

DEFAULT_DETECTOR = "auto"
SCHEMA = """
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    detector TEXT NOT NULL,
    params TEXT NOT NULL DEFAULT '{}',
    model TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    error TEXT,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS points (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    series INTEGER NOT NULL REFERENCES series (id),
    ts INTEGER NOT NULL,
    value REAL NOT NULL,
    received REAL NOT NULL,
    scored REAL,
    score REAL,
    severity REAL,
    is_anomaly INTEGER,
    expected REAL,
    lower REAL,
    upper REAL,
    explanation TEXT,
    UNIQUE (series, ts)
);
CREATE INDEX IF NOT EXISTS points_flagged ON points (series, is_anomaly, ts);
CREATE INDEX IF NOT EXISTS points_unscored ON points (series) WHERE scored IS NULL;
"""
SERIES_COLUMNS = "id, name, detector, params, model, version, error"
RECENT = pd.Timedelta(hours=1)


@dataclass(frozen=True)
class Series:
    """A live series and how it is scored: a detector with parameters, or a saved model."""

    id: int
    name: str
    detector: str
    params: dict = field(default_factory=dict)
    model: str | None = None
    version: int = 1
    #: Why the series cannot be scored with its settings, if it cannot.
    error: str | None = None

    @property
    def scored_by(self) -> str:
        """What alert rules name to watch this series: the detector, or `model:<id>`."""
        return f"model:{self.model}" if self.model else self.detector


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


class LiveStore:
    """The live series and their points, in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(connect(self.path)) as connection:
            connection.executescript(SCHEMA)

    def _connect(self):
        return connect(self.path)

    # series

    def series(self) -> list[Series]:
        with closing(self._connect()) as connection:
            rows = connection.execute(
                f"SELECT {SERIES_COLUMNS} FROM series ORDER BY name"
            ).fetchall()
        return [_series(row) for row in rows]

    def get(self, name: str) -> Series | None:
        with closing(self._connect()) as connection:
            row = connection.execute(
                f"SELECT {SERIES_COLUMNS} FROM series WHERE name = ?",
                (name,),
            ).fetchone()
        return None if row is None else _series(row)

    def configure(
        self,
        name: str,
        *,
        detector: str = DEFAULT_DETECTOR,
        params: dict | None = None,
        model: str | None = None,
    ) -> Series:
        """Set how a series is scored (creating it if new); its points are scored afresh."""
        with closing(self._connect()) as connection, connection:
            connection.execute("BEGIN IMMEDIATE")
            series_id = self._series_id(connection, name)
            connection.execute(
                "UPDATE series SET detector = ?, params = ?, model = ?, version = version + 1, "
                "error = NULL "
                "WHERE id = ?",
                (detector, json.dumps(params or {}, sort_keys=True), model, series_id),
            )
        found = self.get(name)
        assert found is not None
        return found

    def _series_id(self, connection, name: str) -> int:
        row = connection.execute("SELECT id FROM series WHERE name = ?", (name,)).fetchone()
        if row is not None:
            return int(row[0])
        cursor = connection.execute(
            "INSERT INTO series (name, detector, created) VALUES (?, ?, ?)",
            (name, DEFAULT_DETECTOR, time.time()),
        )
        return int(cursor.lastrowid)

    def set_error(self, series_id: int, error: str | None) -> None:
        with closing(self._connect()) as connection:
            connection.execute("UPDATE series SET error = ? WHERE id = ?", (error, series_id))

    def mark_normal(self, name: str, timestamp: object, explanation: str) -> bool:
        """Unflag a scored point someone said is not an anomaly; False if there is none."""
        when = pd.Timestamp(timestamp).as_unit("ns").value
        with closing(self._connect()) as connection, connection:
            changed = connection.execute(
                "UPDATE points SET is_anomaly = 0, explanation = ? WHERE ts = ? AND series = "
                "(SELECT id FROM series WHERE name = ?)",
                (explanation, when, name),
            ).rowcount
        return changed > 0

    # points in

    def add(
        self, name: str, batch: Batch, *, late_window: pd.Timedelta, now: float | None = None
    ) -> Ingested:
        """Store a request's points for a series (created on its first points).

        A point at a time already stored is a duplicate when its value is the same, and
        replaces the stored one (to be scored again) when it differs. A point more than
        `late_window` older than the series' latest point is refused.
        """
        result = Ingested(rejected=batch.rejected, reasons=list(batch.reasons))
        result.duplicates = batch.repeated
        if not len(batch.timestamps):
            return result
        received = time.time() if now is None else now
        times, values = batch.timestamps, batch.values
        with closing(self._connect()) as connection, connection:
            connection.execute("BEGIN IMMEDIATE")
            series_id = self._series_id(connection, name)
            (latest,) = connection.execute(
                "SELECT MAX(ts) FROM points WHERE series = ?", (series_id,)
            ).fetchone()
            keep = np.ones(len(times), dtype=bool)
            if latest is not None and times[0] <= latest:
                # a point sent again is a duplicate however old: retrying is always safe
                stored = dict(
                    connection.execute(
                        "SELECT ts, value FROM points WHERE series = ? AND ts BETWEEN ? AND ?",
                        (series_id, int(times[0]), int(latest)),
                    ).fetchall()
                )
                same = np.array(
                    [stored.get(int(t)) == v for t, v in zip(times, values, strict=True)]
                )
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
                connection.executemany(
                    "DELETE FROM points WHERE series = ? AND ts = ?",
                    [(series_id, t) for t in changed],
                )
            connection.executemany(
                "INSERT INTO points (series, ts, value, received) VALUES (?, ?, ?, ?)",
                zip(
                    [series_id] * int(keep.sum()),
                    times[keep].tolist(),
                    values[keep].tolist(),
                    [received] * int(keep.sum()),
                    strict=True,
                ),
            )
        result.accepted = int(keep.sum())
        return result

    # points out, to the scorer

    def last_id(self) -> int:
        with closing(self._connect()) as connection:
            (last,) = connection.execute("SELECT COALESCE(MAX(id), 0) FROM points").fetchone()
        return int(last)

    def new_points(self, after: int, limit: int = 200_000) -> pd.DataFrame:
        """Points stored after id `after`, in the order they came: id, series, ts, value."""
        with closing(self._connect()) as connection:
            frame = pd.read_sql_query(
                "SELECT id, series, ts, value FROM points WHERE id > ? ORDER BY id LIMIT ?",
                connection,
                params=(after, limit),
            )
        return frame

    def points_after(
        self, series_id: int, after_ts: int | None, upto_id: int, chunk: int = 200_000
    ) -> Iterator[pd.DataFrame]:
        """A series' points later than `after_ts` (all when None) with ids up to `upto_id`,
        in time order, in chunks: id, ts, value."""
        last = -1 if after_ts is None else after_ts
        with closing(self._connect()) as connection:
            while True:
                frame = pd.read_sql_query(
                    "SELECT id, ts, value FROM points WHERE series = ? AND ts > ? AND id <= ? "
                    "ORDER BY ts LIMIT ?",
                    connection,
                    params=(series_id, last, upto_id, chunk),
                )
                if frame.empty:
                    return
                yield frame
                last = int(frame["ts"].iloc[-1])

    def write_scores(self, scored: pd.DataFrame, *, now: float | None = None) -> None:
        """Store scores for points by id: a ScoredFrame indexed by point id."""
        if scored.empty:
            return
        moment = time.time() if now is None else now
        columns = [
            scored["score"].astype(float),
            scored["severity"].astype(float),
            scored["is_anomaly"].astype(int),
            scored["expected"].astype(float),
            scored["lower"].astype(float),
            scored["upper"].astype(float),
            scored["explanation"].fillna("").astype(str),
        ]
        rows = zip(
            *[column.tolist() for column in columns],  # SQLite stores NaN as NULL
            [moment] * len(scored),
            scored.index.astype(int).tolist(),
            strict=True,
        )
        with closing(self._connect()) as connection, connection:
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(
                "UPDATE points SET score = ?, severity = ?, is_anomaly = ?, expected = ?, "
                "lower = ?, upper = ?, explanation = ?, scored = ? WHERE id = ?",
                rows,
            )

    # points out, to people

    def scores(
        self,
        name: str,
        *,
        since: pd.Timestamp | None = None,
        until: pd.Timestamp | None = None,
        limit: int = 100_000,
        latest: bool = False,
    ) -> pd.DataFrame:
        """A series' points after `since` and up to `until`, in time order, with their
        scores (missing until scored): the first `limit`, or the last with `latest`."""
        query = (
            "SELECT ts, value, received, scored, score, severity, is_anomaly, expected, lower, "
            "upper, explanation FROM points JOIN series ON series.id = points.series "
            "WHERE series.name = ? AND ts > ? AND ts <= ? "
            f"ORDER BY ts {'DESC' if latest else ''} LIMIT ?"
        )
        low = -1 if since is None else pd.Timestamp(since).value
        high = np.iinfo(np.int64).max if until is None else pd.Timestamp(until).value
        with closing(self._connect()) as connection:
            frame = pd.read_sql_query(query, connection, params=(name, low, high, limit))
        if latest:
            frame = frame.iloc[::-1].reset_index(drop=True)
        frame.insert(0, "timestamp", pd.to_datetime(frame.pop("ts"), unit="ns"))
        frame["is_anomaly"] = frame["is_anomaly"].fillna(0).astype(bool)
        frame["explanation"] = frame["explanation"].fillna("")
        return frame

    def summary(self, *, recent: pd.Timedelta = RECENT) -> pd.DataFrame:
        """One row per series: points, first and last time, last value and when it came,
        the latest scored point's severity, and anomalies in the `recent` stretch before the
        series' latest point."""
        with closing(self._connect()) as connection:
            frame = pd.read_sql_query(
                """
                SELECT s.id, s.name, s.detector, s.model, s.version, s.error,
                       COUNT(p.id) AS points, MIN(p.ts) AS first, MAX(p.ts) AS last,
                       MAX(p.received) AS received
                FROM series s LEFT JOIN points p ON p.series = s.id
                GROUP BY s.id ORDER BY s.name
                """,
                connection,
            )
            values, flagged, severities, unscored = [], [], [], []
            for series_id, last in zip(frame["id"], frame["last"], strict=True):
                if pd.isna(last):
                    values.append(np.nan)
                    flagged.append(0)
                    severities.append(np.nan)
                    unscored.append(0)
                    continue
                value, severity = connection.execute(
                    "SELECT value, severity FROM points WHERE series = ? AND ts = ?",
                    (int(series_id), int(last)),
                ).fetchone()
                values.append(value)
                severities.append(severity)
                flagged.append(
                    connection.execute(
                        "SELECT COUNT(*) FROM points WHERE series = ? AND is_anomaly = 1 "
                        "AND ts > ?",
                        (int(series_id), int(last) - recent.value),
                    ).fetchone()[0]
                )
                unscored.append(
                    connection.execute(
                        "SELECT COUNT(*) FROM points WHERE series = ? AND scored IS NULL",
                        (int(series_id),),
                    ).fetchone()[0]
                )
        frame["last_value"] = values
        frame["last_severity"] = severities
        frame["recent_anomalies"] = flagged
        frame["unscored"] = unscored
        for column in ("first", "last"):
            frame[column] = pd.to_datetime(frame[column], unit="ns")
        return frame


def _series(row: tuple) -> Series:
    series_id, name, detector, params, model, version, error = row
    return Series(series_id, name, detector, json.loads(params), model, version, error)


def _span(delta: pd.Timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("day", 86_400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"
