"""The scoring queue of live series: points waiting for a score, and the scores written back.

Each stored point has an id that grows with every write and no score until a scorer gives
it one: the scorer reads the points without one, and a corrected point is stored anew, so it
is scored again. The series may be split between scorers (`Shard`), each series scored by
one. Scores are written under SCORES_LOCK, with how long each series has yet to learn in the
same transaction; in Postgres, ingest goes on meanwhile.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence, Set
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from vigil.detection.zones import TimeLike
from vigil.live.rollups import addable, sum_scored
from vigil.storage.bulk import update_scores
from vigil.storage.database import Database, execute_many, query_frame, typed_frame

#: Held while scores are written (by the one scorer): in Postgres, ingest goes on meanwhile.
SCORES_LOCK = "live-scores"


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


@dataclass(frozen=True)
class Shard:
    """The series one of `count` scorers scores: those whose id leaves `index` divided by
    `count`. Each series is scored by one scorer, so scorers never write the same points."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError(f"shard {self.index} of {self.count} does not exist")

    def holds(self, series_id: int) -> bool:
        """Whether this shard scores the series `series_id`."""
        return series_id % self.count == self.index


#: Every series: the one scorer's.
WHOLE = Shard()


class ScoringQueue:
    """Hands the scorer the points it has not scored, and keeps what it made of them."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def last_id(self) -> int:
        """The id of the latest point stored (0 before the first)."""
        with self.database.read() as connection:
            last = connection.execute(text("SELECT COALESCE(MAX(id), 0) FROM points")).scalar_one()
        return int(last)

    def unscored(
        self,
        upto: int,
        limit: int = 200_000,
        skip: Set[int] = frozenset(),
        shard: Shard = WHOLE,
    ) -> pd.DataFrame:
        """Points not scored yet, with ids up to `upto`, in the order they came, of the series
        in `shard` but those in `skip`: id, series, ts, value."""
        # series ids are the store's own integers: written into the query as numbers
        skipped = f"AND series NOT IN ({', '.join(str(int(i)) for i in sorted(skip))})"
        mine = f"AND series % {int(shard.count)} = {int(shard.index)}"
        with self.database.read() as connection:
            return typed_frame(
                query_frame(
                    connection,
                    "SELECT id, series, ts, value FROM points WHERE scored IS NULL "
                    f"AND id <= :upto {skipped if skip else ''} "
                    f"{mine if shard.count > 1 else ''} ORDER BY id LIMIT :limit",
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
                frame = typed_frame(
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
        """Store scores for points of one series by id (a ScoredFrame indexed by point id, with
        `episode` and `onset`), and with them, in the same transaction, how long the series
        has yet to learn and the sums of its minutes these points are in (`live.rollups`):
        what any process reads of a series is what the scorer last wrote."""
        self.write_many([(scored, learning)], now=now)

    def write_many(
        self,
        written: Sequence[tuple[pd.DataFrame, Learning | None]],
        *,
        now: float | None = None,
    ) -> None:
        """`write_scores` for the scores of several series (each with how long it has yet to
        learn), all in one transaction: a round of the scorer that gave many series a point
        or two each commits once."""
        moment = time.time() if now is None else now
        written = [(s, learning) for s, learning in written if not s.empty or learning]
        if not written:
            return
        with self.database.write(SCORES_LOCK) as connection:
            for together in _each_series_once(_with_series(connection, written)):
                _write(connection, together, moment)

    def set_error(self, series_id: int, error: str | None) -> None:
        """Say why a series cannot be scored with its settings (None: it can be again)."""
        with self.database.write(SCORES_LOCK) as connection:
            connection.execute(
                text("UPDATE series SET error = :error WHERE id = :id"),
                {"error": error, "id": series_id},
            )

    def flagged_since(self, series_id: int, first: TimeLike, last: TimeLike, moment: float) -> bool:
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


#: A series' scores to write: its id, its ScoredFrame, how long it has yet to learn.
_Scores = tuple[int, pd.DataFrame, Learning | None]


def _with_series(
    connection: Connection, written: Sequence[tuple[pd.DataFrame, Learning | None]]
) -> list[_Scores]:
    """Each series' scores with its id: its learning's, else its first point's series."""
    found = []
    for scored, learning in written:
        if learning is not None:
            series = learning.series_id
        else:
            series = connection.execute(
                text("SELECT series FROM points WHERE id = :id"), {"id": int(scored.index[0])}
            ).scalar_one()
        found.append((int(series), scored, learning))
    return found


def _each_series_once(written: list[_Scores]) -> list[list[_Scores]]:
    """`written` in runs, in order, that hold each series at most once (each run is written
    together: a series' minute sums are checked before any of its scores are written)."""
    runs: list[list[_Scores]] = [[]]
    seen: set[int] = set()
    for item in written:
        if item[0] in seen:
            runs.append([])
            seen.clear()
        runs[-1].append(item)
        seen.add(item[0])
    return runs


def _write(connection: Connection, written: list[_Scores], moment: float) -> None:
    """Several series' scores, minute sums and learning, in the caller's transaction: a few
    statements for all of them (each series once)."""
    scored = {series: frame for series, frame, _ in written if not frame.empty}
    if scored:
        firsts = {
            series: int(frame["timestamp"].to_numpy(dtype="datetime64[ns]").view("int64").min())
            for series, frame in scored.items()
        }
        may_add = addable(connection, firsts)
        update_scores(connection, _score_columns(list(scored.values())), moment)
        sum_scored(connection, scored, may_add)
    learned = [learning for _, _, learning in written if learning is not None]
    if learned:
        execute_many(
            connection,
            "UPDATE series SET learning_left = :left, learning_at = :at, "
            "step_seconds = :step WHERE id = :id",
            {
                "left": [int(learning.left) for learning in learned],
                "at": [int(learning.at) for learning in learned],
                "step": [learning.step_seconds for learning in learned],
                "id": [learning.series_id for learning in learned],
            },
        )


def _score_columns(frames: list[pd.DataFrame]) -> dict[str, list]:
    """The score columns of ScoredFrames (indexed by point id) as the points table stores
    them, and `id`: every frame's rows, one list a column (joined in numpy: a round writes a
    row or two of each of many series)."""

    def joined(column: str, dtype: Any) -> np.ndarray:
        return np.concatenate([f[column].to_numpy(dtype=dtype) for f in frames])

    def numbers(column: str) -> list:
        # NaN is stored as NULL: an unknown number, not one that is "not a number"
        return [None if value != value else value for value in joined(column, float).tolist()]

    episodes = np.concatenate(
        [f["episode"].to_numpy(dtype="float64", na_value=np.nan) for f in frames]
    ).tolist()
    return {
        "score": numbers("score"),
        "severity": numbers("severity"),
        "is_anomaly": joined("is_anomaly", bool).astype(int).tolist(),
        "expected": numbers("expected"),
        "lower": numbers("lower"),
        "upper": numbers("upper"),
        "explanation": [
            "" if text is None or text != text else str(text)
            for text in joined("explanation", object).tolist()
        ],
        "episode": [None if e != e else int(e) for e in episodes],
        "onset": joined("onset", bool).astype(int).tolist(),
        "id": np.concatenate([f.index.to_numpy(dtype=np.int64) for f in frames]).tolist(),
    }
