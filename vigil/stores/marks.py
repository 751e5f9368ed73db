"""Marks people put on points, kept in the database."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import text

from vigil.detection.errors import DataError
from vigil.detection.feedback import VERDICTS
from vigil.detection.zones import TimeLike
from vigil.storage.database import Database, query_frame

LOCK = "marks"


class FeedbackStore:
    """Marks by data set, series and timestamp; marking a point again replaces its mark."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def mark(
        self,
        dataset_id: str,
        series: str,
        timestamp: TimeLike,
        verdict: str,
        value: float | None,
        *,
        created: str | None = None,
    ) -> None:
        """Mark a point (replacing its mark); `created` is now unless given."""
        if verdict not in VERDICTS:
            raise DataError(f"A mark is one of {', '.join(VERDICTS)}, not {verdict!r}.")
        when = pd.Timestamp(timestamp).isoformat()
        with self.database.write(LOCK) as connection:
            connection.execute(
                text(
                    "INSERT INTO marks (dataset_id, series, timestamp, verdict, value, created) "
                    "VALUES (:dataset, :series, :timestamp, :verdict, :value, :created) "
                    "ON CONFLICT (dataset_id, series, timestamp) DO UPDATE SET "
                    "verdict = excluded.verdict, value = excluded.value, "
                    "created = excluded.created"
                ),
                {
                    "dataset": dataset_id,
                    "series": series,
                    "timestamp": when,
                    "verdict": verdict,
                    "value": None if value is None or pd.isna(value) else float(value),
                    "created": created or datetime.now(UTC).isoformat(timespec="seconds"),
                },
            )

    def unmark(self, dataset_id: str, series: str, timestamp: TimeLike) -> None:
        when = pd.Timestamp(timestamp).isoformat()
        with self.database.write(LOCK) as connection:
            connection.execute(
                text(
                    "DELETE FROM marks WHERE dataset_id = :dataset AND series = :series "
                    "AND timestamp = :timestamp"
                ),
                {"dataset": dataset_id, "series": series, "timestamp": when},
            )

    def mark_of(self, dataset_id: str, series: str, timestamp: TimeLike) -> dict | None:
        """The mark on one point as `verdict`, `value` and `created`; None if unmarked."""
        with self.database.read() as connection:
            row = connection.execute(
                text(
                    "SELECT verdict, value, created FROM marks WHERE dataset_id = :dataset "
                    "AND series = :series AND timestamp = :timestamp"
                ),
                {
                    "dataset": dataset_id,
                    "series": series,
                    "timestamp": pd.Timestamp(timestamp).isoformat(),
                },
            ).first()
        if row is None:
            return None
        verdict, value, created = row
        return {"verdict": verdict, "value": value, "created": created}

    def restore(
        self, dataset_id: str, series: str, timestamp: TimeLike, previous: dict | None
    ) -> None:
        """Put one point's mark back as `mark_of` gave it (None: no mark), to undo a change."""
        if previous is None:
            self.unmark(dataset_id, series, timestamp)
            return
        self.mark(
            dataset_id,
            series,
            timestamp,
            previous["verdict"],
            previous["value"],
            created=previous["created"],
        )

    def marks(self, dataset_id: str, series: str) -> pd.DataFrame:
        """`timestamp`, `verdict`, `value` and `created` of a series' marks, oldest first."""
        with self.database.read() as connection:
            frame = query_frame(
                connection,
                "SELECT timestamp, verdict, value, created FROM marks "
                "WHERE dataset_id = :dataset AND series = :series ORDER BY timestamp",
                {"dataset": dataset_id, "series": series},
            )
        frame["timestamp"] = pd.to_datetime(frame["timestamp"])
        frame["value"] = frame["value"].astype(float)
        return frame

    def marked_series(self, dataset_id: str) -> frozenset[str]:
        """The names of the data set's series that have marks."""
        with self.database.read() as connection:
            rows = connection.execute(
                text("SELECT DISTINCT series FROM marks WHERE dataset_id = :dataset"),
                {"dataset": dataset_id},
            ).all()
        return frozenset(name for (name,) in rows)

    def version(self, dataset_id: str, series: str) -> str:
        """Changes whenever the series' marks change: for caches."""
        marks = self.marks(dataset_id, series)
        return hashlib.sha256(marks.to_json(date_format="iso").encode()).hexdigest()[:16]
