"""Marks people put on points, kept in SQLite in the data directory."""

from __future__ import annotations

import hashlib
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from detection.errors import DataError
from detection.feedback import VERDICTS
from storage.sqlite import connect

SCHEMA = """
CREATE TABLE IF NOT EXISTS marks (
    dataset_id TEXT NOT NULL,
    series TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('normal', 'anomaly')),
    value REAL,
    created TEXT NOT NULL,
    PRIMARY KEY (dataset_id, series, timestamp)
)
"""


class FeedbackStore:
    """Marks by data set, series and timestamp; marking a point again replaces its mark."""

    def __init__(self, root: Path) -> None:
        self.path = Path(root) / "feedback.sqlite"

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = connect(self.path)
        connection.execute(SCHEMA)
        return connection

    def mark(
        self, dataset_id: str, series: str, timestamp: object, verdict: str, value: float | None
    ) -> None:
        if verdict not in VERDICTS:
            raise DataError(f"A mark is one of {', '.join(VERDICTS)}, not {verdict!r}.")
        when = pd.Timestamp(timestamp).isoformat()
        with closing(self._connect()) as connection, connection:
            connection.execute(
                "INSERT OR REPLACE INTO marks VALUES (?, ?, ?, ?, ?, ?)",
                (
                    dataset_id,
                    series,
                    when,
                    verdict,
                    None if value is None or pd.isna(value) else float(value),
                    datetime.now(UTC).isoformat(timespec="seconds"),
                ),
            )

    def unmark(self, dataset_id: str, series: str, timestamp: object) -> None:
        when = pd.Timestamp(timestamp).isoformat()
        with closing(self._connect()) as connection, connection:
            connection.execute(
                "DELETE FROM marks WHERE dataset_id = ? AND series = ? AND timestamp = ?",
                (dataset_id, series, when),
            )

    def marks(self, dataset_id: str, series: str) -> pd.DataFrame:
        """`timestamp`, `verdict`, `value` and `created` of a series' marks, oldest first."""
        with closing(self._connect()) as connection:
            frame = pd.read_sql_query(
                "SELECT timestamp, verdict, value, created FROM marks "
                "WHERE dataset_id = ? AND series = ? ORDER BY timestamp",
                connection,
                params=(dataset_id, series),
            )
        frame["timestamp"] = pd.to_datetime(frame["timestamp"])
        return frame

    def version(self, dataset_id: str, series: str) -> str:
        """Changes whenever the series' marks change: for caches."""
        marks = self.marks(dataset_id, series)
        return hashlib.sha256(marks.to_json(date_format="iso").encode()).hexdigest()[:16]
