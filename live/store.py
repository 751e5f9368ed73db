"""Live series in the database: each series' detector, its points as they arrive, their scores.

A point is committed before its request is answered, so an accepted point survives a crash
of the process. Each stored point has an id that grows with every write, and no score until
the scorer gives it one: the scorer reads the points without one, and a corrected point is
stored anew, so it is scored again. A write holds its series' lock (SQLite: the one write
lock), so points of different series go in side by side in Postgres.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError

from vigil.detection.episodes import GAP, peak_rows
from vigil.live.points import MAX_REASONS, Batch
from vigil.storage.bulk import insert_points, update_scores
from vigil.storage.database import Database, is_deadlock, query_frame

DEFAULT_DETECTOR = "auto"
SERIES_COLUMNS = "id, name, detector, params, model, version, error"
RECENT = pd.Timedelta(hours=1)
#: Held while scores are written (by the one scorer): in Postgres, ingest goes on meanwhile.
SCORES_LOCK = "live-scores"
#: Tries of a write that Postgres chose to undo to end a deadlock with the scorer.
DEADLOCK_TRIES = 3


def _lock(name: str) -> str:
    """The lock held by writes to a series and its points (not its scores)."""
    return f"live-series:{name}"


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


@dataclass(frozen=True)
class Learning:
    """How long a series has yet to learn, as its scorer saw it after its point at `at`."""

    series_id: int
    #: Points still to come before the series can be flagged (0: it can be).
    left: int
    #: The latest point scored (ns since the epoch).
    at: int
    #: The series' time step in seconds: the scorer's once settled, until then the mean
    #: spacing of the points so far (None when not known).
    step_seconds: float | None = None


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
    """The live series and their points."""

    def __init__(self, database: Database) -> None:
        self.database = database

    # series

    def series(self) -> list[Series]:
        with self.database.read() as connection:
            rows = connection.execute(
                text(f"SELECT {SERIES_COLUMNS} FROM series ORDER BY name")
            ).all()
        return [_series(row) for row in rows]

    def get(self, name: str) -> Series | None:
        with self.database.read() as connection:
            row = connection.execute(
                text(f"SELECT {SERIES_COLUMNS} FROM series WHERE name = :name"), {"name": name}
            ).first()
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
        with self.database.write(_lock(name)) as connection:
            series_id = self._series_id(connection, name)
            connection.execute(
                text(
                    "UPDATE series SET detector = :detector, params = :params, model = :model, "
                    "version = version + 1, error = NULL, learning_left = NULL, "
                    "learning_at = NULL, step_seconds = NULL WHERE id = :id"
                ),
                {
                    "detector": detector,
                    "params": json.dumps(params or {}, sort_keys=True),
                    "model": model,
                    "id": series_id,
                },
            )
        found = self.get(name)
        assert found is not None
        return found

    def _series_id(self, connection: Connection, name: str) -> int:
        found = connection.execute(
            text("SELECT id FROM series WHERE name = :name"), {"name": name}
        ).scalar()
        if found is not None:
            return int(found)
        return int(
            connection.execute(
                text(
                    "INSERT INTO series (name, detector, created) "
                    "VALUES (:name, :detector, :created) RETURNING id"
                ),
                {"name": name, "detector": DEFAULT_DETECTOR, "created": time.time()},
            ).scalar_one()
        )

    def set_error(self, series_id: int, error: str | None) -> None:
        with self.database.write(SCORES_LOCK) as connection:
            connection.execute(
                text("UPDATE series SET error = :error WHERE id = :id"),
                {"error": error, "id": series_id},
            )

    def mark_normal(self, name: str, timestamp: object, explanation: str) -> bool:
        """Unflag a scored point someone said is not an anomaly, taking it out of its episode;
        False if there is none."""
        when = pd.Timestamp(timestamp).as_unit("ns").value
        with self.database.write(_lock(name)) as connection:
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
        with self.database.write(_lock(name)) as connection:
            series_id = connection.execute(
                text("SELECT id FROM series WHERE name = :name"), {"name": name}
            ).scalar()
            if series_id is None:
                return None
            deleted = connection.execute(
                text("DELETE FROM points WHERE series = :series AND ts >= :start AND ts < :end"),
                {
                    "series": series_id,
                    "start": pd.Timestamp(start).as_unit("ns").value,
                    "end": pd.Timestamp(end).as_unit("ns").value,
                },
            ).rowcount
            if deleted:
                connection.execute(
                    text(
                        "UPDATE series SET version = version + 1, error = NULL, "
                        "learning_left = NULL, learning_at = NULL, step_seconds = NULL "
                        "WHERE id = :id"
                    ),
                    {"id": series_id},
                )
        return deleted

    # points in

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
                with self.database.write(_lock(name)) as connection:
                    return self._add(connection, name, batch, late_window, received)
            except OperationalError as error:
                if not is_deadlock(error) or tries == DEADLOCK_TRIES:
                    raise
                tries += 1

    def _add(
        self,
        connection: Connection,
        name: str,
        batch: Batch,
        late_window: pd.Timedelta,
        received: float,
    ) -> Ingested:
        result = Ingested(rejected=batch.rejected, reasons=list(batch.reasons))
        result.duplicates = batch.repeated
        if not len(batch.timestamps):
            return result
        times, values = batch.timestamps, batch.values
        series_id = self._series_id(connection, name)
        latest = connection.execute(
            text("SELECT MAX(ts) FROM points WHERE series = :series"), {"series": series_id}
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
                {"series": series_id, "first": int(times[0]), "latest": int(latest)},
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
                connection.execute(
                    text("DELETE FROM points WHERE series = :series AND ts = :ts"),
                    [{"series": series_id, "ts": t} for t in changed],
                )
        if keep.any():
            insert_points(
                connection, series_id, times[keep].tolist(), values[keep].tolist(), received
            )
        if changed:  # a corrected point is still one that first came back then
            connection.execute(
                text(
                    "UPDATE points SET first_received = :came WHERE series = :series AND ts = :ts"
                ),
                [{"series": series_id, "ts": t, "came": came[t]} for t in changed],
            )
        result.accepted = int(keep.sum())
        return result

    # points out, to the scorer

    def flagged_since(self, series_id: int, first: object, last: object, moment: float) -> bool:
        """Whether a flagged point of a series from `first` to `last` first came at `moment`
        or later (a point sent again with a corrected value came when it first did)."""
        with self.database.read() as connection:
            found = connection.execute(
                text(
                    "SELECT 1 FROM points WHERE series = :series AND is_anomaly = 1 "
                    "AND ts BETWEEN :first AND :last "
                    "AND COALESCE(first_received, received) >= :moment LIMIT 1"
                ),
                {
                    "series": series_id,
                    "first": pd.Timestamp(first).value,
                    "last": pd.Timestamp(last).value,
                    "moment": moment,
                },
            ).scalar()
        return found is not None

    def last_id(self) -> int:
        with self.database.read() as connection:
            last = connection.execute(text("SELECT COALESCE(MAX(id), 0) FROM points")).scalar()
        return int(last)

    def unscored(
        self, upto: int, limit: int = 200_000, skip: set[int] = frozenset()
    ) -> pd.DataFrame:
        """Points not scored yet, with ids up to `upto`, in the order they came, but those of
        the series in `skip`: id, series, ts, value."""
        # series ids are the store's own integers: written into the query as numbers
        skipped = f"AND series NOT IN ({', '.join(str(int(i)) for i in sorted(skip))})"
        with self.database.read() as connection:
            return _typed(
                query_frame(
                    connection,
                    "SELECT id, series, ts, value FROM points WHERE scored IS NULL "
                    f"AND id <= :upto {skipped if skip else ''} ORDER BY id LIMIT :limit",
                    {"upto": upto, "limit": limit},
                ),
                id="int64",
                series="int64",
                ts="int64",
                value="float64",
            )

    def points_after(
        self, series_id: int, after_ts: int | None, upto_id: int, chunk: int = 200_000
    ) -> Iterator[pd.DataFrame]:
        """A series' points later than `after_ts` (all when None) with ids up to `upto_id`,
        in time order, in chunks: id, ts, value."""
        last = -1 if after_ts is None else after_ts
        with self.database.read() as connection:
            while True:
                frame = _typed(
                    query_frame(
                        connection,
                        "SELECT id, ts, value FROM points WHERE series = :series AND ts > :last "
                        "AND id <= :upto ORDER BY ts LIMIT :chunk",
                        {"series": series_id, "last": last, "upto": upto_id, "chunk": chunk},
                    ),
                    id="int64",
                    ts="int64",
                    value="float64",
                )
                if frame.empty:
                    return
                yield frame
                last = int(frame["ts"].iloc[-1])

    def write_scores(
        self,
        scored: pd.DataFrame,
        *,
        learning: Learning | None = None,
        now: float | None = None,
    ) -> None:
        """Store scores for points by id (a ScoredFrame indexed by point id, with `episode` and
        `onset`), and with them, in the same transaction, how long their series has yet to
        learn: what any process reads of a series is what the scorer last wrote."""
        if scored.empty and learning is None:
            return
        moment = time.time() if now is None else now

        def numbers(column: str) -> list:
            values = scored[column].astype(float)
            # NaN is stored as NULL: an unknown number, not one that is "not a number"
            return values.astype(object).where(values.notna(), None).tolist()

        episodes = pd.array(scored["episode"], dtype="Int64")
        columns = {
            "score": numbers("score"),
            "severity": numbers("severity"),
            "is_anomaly": scored["is_anomaly"].astype(int).tolist(),
            "expected": numbers("expected"),
            "lower": numbers("lower"),
            "upper": numbers("upper"),
            "explanation": scored["explanation"].fillna("").astype(str).tolist(),
            "episode": [None if pd.isna(e) else int(e) for e in episodes],
            "onset": scored["onset"].astype(bool).astype(int).tolist(),
            "id": scored.index.astype(int).tolist(),
        }
        with self.database.write(SCORES_LOCK) as connection:
            if not scored.empty:
                update_scores(connection, columns, moment)
            if learning is not None:
                connection.execute(
                    text(
                        "UPDATE series SET learning_left = :left, learning_at = :at, "
                        "step_seconds = :step WHERE id = :id"
                    ),
                    {
                        "left": int(learning.left),
                        "at": int(learning.at),
                        "step": learning.step_seconds,
                        "id": learning.series_id,
                    },
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
        scores (missing until scored) and episodes (`episode` missing where not flagged,
        `onset` true at an episode's first point): the first `limit`, or the last with
        `latest`."""
        query = (
            "SELECT ts, value, received, scored, score, severity, is_anomaly, expected, lower, "
            "upper, explanation, episode, onset FROM points "
            "JOIN series ON series.id = points.series "
            "WHERE series.name = :name AND ts > :low AND ts <= :high "
            f"ORDER BY ts {'DESC' if latest else ''} LIMIT :limit"
        )
        low = -1 if since is None else pd.Timestamp(since).value
        high = np.iinfo(np.int64).max if until is None else pd.Timestamp(until).value
        with self.database.read() as connection:
            frame = _typed(
                query_frame(
                    connection, query, {"name": name, "low": low, "high": high, "limit": limit}
                ),
                ts="int64",
                episode="Int64",
                **dict.fromkeys(
                    (
                        "value",
                        "received",
                        "scored",
                        "score",
                        "severity",
                        "expected",
                        "lower",
                        "upper",
                    ),
                    "float64",
                ),
            )
        if latest:
            frame = frame.iloc[::-1].reset_index(drop=True)
        frame.insert(0, "timestamp", pd.to_datetime(frame.pop("ts"), unit="ns"))
        frame["is_anomaly"] = frame["is_anomaly"].fillna(0).astype(bool)
        frame["explanation"] = frame["explanation"].fillna("")
        frame["onset"] = frame["onset"].fillna(0).astype(bool)
        return frame

    def summary(
        self,
        *,
        recent: pd.Timedelta = RECENT,
        name: str | None = None,
        count_points: bool = True,
    ) -> pd.DataFrame:
        """One row per series, by name: its points (counted unless `count_points` is false:
        the one part whose cost grows with the series, so the Live page, which does not show
        it, leaves it out), first and last time, last value and severity, when a point last
        came (`received`: the latest point's arrival, or a later one's still waiting to be
        scored), points not scored yet (the oldest waiting since `waiting_since`), how long
        it has yet to learn (`learning_left` points as of its point at `learning_at`, NULL
        before its first scores; `step_seconds`), and in the `recent` stretch before its
        latest point the episodes (`recent_episodes`) and flagged points (`recent_anomalies`).

        `open` is true when the series' last flagged point is within GAP points of its latest
        point (its episode may go on); then `open_since`, `open_points` and the peak
        (`open_peak_time`, `_value`, `_expected`, `_severity`, `_explanation`) describe that
        episode. Two statements whatever the number of series (the second only when an
        episode is open), each reading indexes: a few entries per series, the flagged points
        of the recent stretch, the points waiting to be scored. With `name`, that series' row
        alone (none if there is no such series)."""
        params = {"recent": recent.value, "gap": GAP}
        where = ""
        if name is not None:
            where, params["name"] = "WHERE s.name = :name", name
        count = (
            "(SELECT COUNT(*) FROM points c WHERE c.series = ends.id)" if count_points else "NULL"
        )
        with self.database.read() as connection:
            frame = query_frame(connection, _SUMMARY.format(where=where, count=count), params)
            frame = _typed(
                frame,
                points="float64",
                first="Int64",
                last="Int64",
                received="float64",
                waiting_since="float64",
                last_value="float64",
                last_severity="float64",
                learning_left="Int64",
                learning_at="Int64",
                step_seconds="float64",
                last_flag="Int64",
                tail="Int64",
                last_episode="Int64",
            )
            flag, tail = frame["last_flag"], frame["tail"]
            frame["open"] = (
                frame["last_episode"].notna() & (tail.isna() | (flag >= tail).fillna(False))
            ).astype(bool)
            peaks = self._open_episodes(connection, frame.loc[frame["open"]])
        frame = frame.drop(columns=["tail", "last_flag", "last_episode"])
        for column in ("unscored", "recent_anomalies", "recent_episodes"):
            frame[column] = frame[column].fillna(0).astype("int64")
        if count_points:
            frame["points"] = frame["points"].fillna(0).astype("int64")
        frame = frame.join(peaks, on="id")
        for column in ("first", "last", "learning_at"):
            frame[column] = pd.to_datetime(frame[column].astype("float64"), unit="ns")
        return frame.reset_index(drop=True)

    def _open_episodes(self, connection: Connection, series: pd.DataFrame) -> pd.DataFrame:
        """Per series id (the index), its open episode's start, points and peak (the one rule
        of `detection.episodes.peak_rows`, as the episodes table and alerts pick it)."""
        columns = [
            "open_since",
            "open_points",
            "open_peak_time",
            "open_peak_value",
            "open_peak_expected",
            "open_peak_severity",
            "open_peak_explanation",
        ]
        if series.empty:
            return pd.DataFrame(columns=columns, index=pd.Index([], name="id"))
        wanted, params = [], {}
        for number, (series_id, episode) in enumerate(
            zip(series["id"], series["last_episode"], strict=True)
        ):
            wanted.append(f"(series = :s{number} AND episode = :e{number})")
            params |= {f"s{number}": int(series_id), f"e{number}": int(episode)}
        points = _typed(
            query_frame(
                connection,
                "SELECT series, ts, value, expected, severity, score, explanation FROM points "
                f"WHERE is_anomaly = 1 AND ({' OR '.join(wanted)}) ORDER BY series, ts",
                params,
            ),
            series="int64",
            ts="int64",
            value="float64",
            expected="float64",
            severity="float64",
            score="float64",
        )
        rows = {}
        for series_id, episode in points.groupby("series", sort=False):
            (at,) = peak_rows(
                np.zeros(len(episode)),
                episode["severity"].to_numpy(dtype="float64"),
                episode["score"].to_numpy(dtype="float64"),
            )
            peak = episode.iloc[at]
            rows[int(series_id)] = {
                "open_since": pd.Timestamp(int(episode["ts"].iloc[0])),
                "open_points": len(episode),
                "open_peak_time": pd.Timestamp(int(peak["ts"])),
                "open_peak_value": float(peak["value"]),
                "open_peak_expected": float(peak["expected"]),
                "open_peak_severity": float(peak["severity"]),
                "open_peak_explanation": peak["explanation"] or "",
            }
        found = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
        found.index.name = "id"
        return found


#: Every series with its ends and last flag (index seeks), its points waiting to be scored
#: (the partial index of them; grouped by `+series` so that SQLite keeps to that index rather
#: than scan another in series order), its flags in the recent stretch (a range of the
#: flagged-points index per series: CROSS JOIN keeps SQLite from scanning that whole index
#: instead), and `tail`, the time of the point GAP before the latest: a last flag
#: at or after it is within GAP points of the end.
_SUMMARY = """
WITH ends AS (
    SELECT s.id, s.name, s.detector, s.model, s.version, s.error,
           s.learning_left, s.learning_at, s.step_seconds,
           (SELECT MIN(p.ts) FROM points p WHERE p.series = s.id) AS first,
           (SELECT MAX(p.ts) FROM points p WHERE p.series = s.id) AS last,
           (SELECT MAX(p.ts) FROM points p WHERE p.series = s.id AND p.is_anomaly = 1)
               AS last_flag
    FROM series s {where}
), waiting AS (
    SELECT +series AS series, COUNT(*) AS unscored, MIN(received) AS waiting_since,
           MAX(received) AS received
    FROM points WHERE scored IS NULL GROUP BY 1
), recent AS (
    SELECT f.series, COUNT(*) AS flagged, COUNT(DISTINCT f.episode) AS episodes
    FROM ends CROSS JOIN points f
    WHERE f.series = ends.id AND f.is_anomaly = 1 AND f.ts > ends.last - :recent
    GROUP BY f.series
)
SELECT ends.*, {count} AS points,
       latest.value AS last_value, latest.severity AS last_severity,
       CASE WHEN waiting.received > latest.received THEN waiting.received
            ELSE latest.received END AS received,
       waiting.unscored, waiting.waiting_since,
       recent.flagged AS recent_anomalies, recent.episodes AS recent_episodes,
       flag.episode AS last_episode,
       CASE WHEN ends.last_flag IS NULL THEN NULL ELSE (
           SELECT t.ts FROM points t WHERE t.series = ends.id
           ORDER BY t.ts DESC LIMIT 1 OFFSET :gap
       ) END AS tail
FROM ends
LEFT JOIN points latest ON latest.series = ends.id AND latest.ts = ends.last
LEFT JOIN points flag ON flag.series = ends.id AND flag.ts = ends.last_flag
LEFT JOIN waiting ON waiting.series = ends.id
LEFT JOIN recent ON recent.series = ends.id
ORDER BY ends.name
"""


def _typed(frame: pd.DataFrame, **dtypes: str) -> pd.DataFrame:
    """Columns as the numbers they hold (NULLs as NaN), also when no row was found."""
    return frame.astype({column: dtypes[column] for column in frame.columns if column in dtypes})


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
