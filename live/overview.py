"""Every live series at once, for the overview's swimlane: per series and time bucket, the
highest severity of its flagged points.

`swimlanes` reads in one read transaction: each series' name, labels and first and last time
(index seeks), and the flagged points of the span (a range of the flagged-points index per
series), so its cost grows with the series and the anomalies, not with the points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from vigil.live.labels import labels_of
from vigil.storage.database import Database, query_frame, typed_frame


@dataclass(frozen=True)
class Swimlanes:
    """Series and their buckets over a span cut into `buckets` buckets of `width`.

    `series`: name, labels (a dict), first and last time (NaT when none), `worst` (the
    highest flagged severity in the span, NaN when nothing is flagged) and `flagged_buckets`.
    `severity`: one row per series (in `series`' order), one column per bucket, the highest
    severity of the bucket's flagged points; 0 where the series has points but none flagged,
    NaN where it has none (before its first point or after its last)."""

    series: pd.DataFrame
    severity: np.ndarray
    start: pd.Timestamp
    width: pd.Timedelta
    buckets: int

    def most_anomalous(self, chosen: list[bool] | None = None) -> np.ndarray:
        """The row numbers (of those `chosen`, when given) most anomalous first: the highest
        flagged severity, then the most flagged buckets, then by name."""
        frame = self.series.assign(
            order_worst=-self.series["worst"].fillna(-1.0),
            order_flagged=-self.series["flagged_buckets"],
        )
        if chosen is not None:
            frame = frame[chosen]
        ordered = frame.sort_values(["order_worst", "order_flagged", "name"], kind="stable")
        return ordered.index.to_numpy()

    @property
    def edges(self) -> pd.DatetimeIndex:
        """Each bucket's start."""
        return pd.DatetimeIndex([self.start + i * self.width for i in range(self.buckets)])


def swimlanes(
    database: Database, *, start: pd.Timestamp, end: pd.Timestamp, buckets: int
) -> Swimlanes:
    """Every series over the span from `start` up to `end` (naive UTC) in `buckets` buckets."""
    low, high = pd.Timestamp(start).value, pd.Timestamp(end).value
    width = max(1, -(-(high - low) // buckets))
    with database.read() as connection:
        series = typed_frame(
            query_frame(connection, _SERIES), id="int64", first="Int64", last="Int64"
        )
        flags = typed_frame(
            query_frame(connection, _FLAGS, {"low": low, "high": high, "width": width}),
            series="int64",
            bucket="int64",
            severity="float64",
        )
    count = len(series)
    grid = np.zeros((count, buckets))
    row_of = {int(i): row for row, i in enumerate(series["id"])}
    if len(flags):
        rows = flags["series"].map(row_of).to_numpy()
        columns = np.clip(flags["bucket"].to_numpy(), 0, buckets - 1)
        np.maximum.at(grid, (rows, columns), flags["severity"].fillna(1.0).to_numpy())
    starts = low + width * np.arange(buckets)
    first = series["first"].astype("float64").to_numpy()[:, None]
    last = series["last"].astype("float64").to_numpy()[:, None]
    # no point in the bucket's span: before the series' first point or after its last
    empty = ~((starts[None, :] + width > first) & (starts[None, :] <= last))
    grid[empty & (grid == 0)] = np.nan
    flagged = grid > 0
    worst = np.where(flagged.any(axis=1), np.where(flagged, grid, 0).max(axis=1), np.nan)
    frame = pd.DataFrame(
        {
            "name": series["name"].astype(str),
            "labels": pd.Series(
                [labels_of(text) for text in series["labels"]], index=series.index, dtype=object
            ),
            "first": pd.to_datetime(series["first"].astype("float64"), unit="ns"),
            "last": pd.to_datetime(series["last"].astype("float64"), unit="ns"),
            "worst": worst,
            "flagged_buckets": flagged.sum(axis=1),
        }
    )
    return Swimlanes(frame, grid, pd.Timestamp(low, unit="ns"), pd.Timedelta(width), buckets)


_SERIES = """
SELECT s.id, s.name, s.labels,
       (SELECT MIN(p.ts) FROM points p WHERE p.series = s.id) AS first,
       (SELECT MAX(p.ts) FROM points p WHERE p.series = s.id) AS last
FROM series s ORDER BY s.name
"""

#: CROSS JOIN keeps SQLite to a range of the flagged-points index per series.
_FLAGS = """
SELECT p.series, (p.ts - :low) / :width AS bucket, MAX(p.severity) AS severity
FROM series s CROSS JOIN points p
WHERE p.series = s.id AND p.is_anomaly = 1 AND p.ts >= :low AND p.ts < :high
GROUP BY p.series, (p.ts - :low) / :width
"""
