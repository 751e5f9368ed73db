"""What people see of live series: a series' points with their scores, and one summary row
per series for the Live page, its cards and the API.

Reads only: each is one read transaction, so what it shows is what the scorer last wrote.
The summary is one statement whatever the number of series.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vigil.detection.episodes import GAP
from vigil.live.charts import ChartPoints, chart_points
from vigil.live.labels import labels_of
from vigil.live.overview import Swimlanes, swimlanes
from vigil.live.rows import SCORE_COLUMNS, scores_frame
from vigil.storage.database import Database, query_frame, typed_frame

#: The stretch before a series' latest point that the summary counts episodes in.
RECENT = pd.Timedelta(hours=1)


class LiveViews:
    """Live series as people see them."""

    def __init__(self, database: Database) -> None:
        self.database = database

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
            f"SELECT ts, {', '.join(SCORE_COLUMNS)} FROM points "
            "JOIN series ON series.id = points.series "
            "WHERE series.name = :name AND ts > :low AND ts <= :high "
            f"ORDER BY ts {'DESC' if latest else ''} LIMIT :limit"
        )
        low = -1 if since is None else pd.Timestamp(since).value
        high = np.iinfo(np.int64).max if until is None else pd.Timestamp(until).value
        with self.database.read() as connection:
            rows = query_frame(
                connection, query, {"name": name, "low": low, "high": high, "limit": limit}
            )
        if latest:
            rows = rows.iloc[::-1].reset_index(drop=True)
        return scores_frame(rows)

    def chart(
        self,
        name: str,
        *,
        start: pd.Timestamp,
        end: pd.Timestamp | None = None,
        buckets: int = 1_000,
    ) -> ChartPoints:
        """A series' scored points after `start` for a chart of at most 2 x `buckets`
        points: see `live.charts.chart_points`."""
        return chart_points(self.database, name, start=start, end=end, buckets=buckets)

    def swimlanes(self, *, start: pd.Timestamp, end: pd.Timestamp, buckets: int) -> Swimlanes:
        """Every series over a span in buckets, for the overview: see `live.overview`."""
        return swimlanes(self.database, start=start, end=end, buckets=buckets)

    def summary(
        self,
        *,
        recent: pd.Timedelta = RECENT,
        name: str | None = None,
        count_points: bool = True,
    ) -> pd.DataFrame:
        """One row per series, by name: its labels (a dict), its points (counted unless
        `count_points` is false: the one part whose cost grows with the series, so the Live page,
        which does not show it, leaves it out), first and last time, last value and severity, when a
        point last came (`received`: the latest point's arrival, or a later one's still waiting to
        be scored), points not scored yet (the oldest waiting since `waiting_since`), how long it
        has yet to learn (`learning_left` points as of its point at `learning_at`, NULL before its
        first scores; `step_seconds`), and in the `recent` stretch before its latest point the
        episodes (`recent_episodes`) and flagged points (`recent_anomalies`).

        `open` is true when the series' last flagged point is within GAP points of its latest
        point (its episode may go on); then `open_since`, `open_points` and the peak
        (`open_peak_time`, `_value`, `_expected`, `_severity`, `_explanation`) describe that
        episode. One statement whatever the number of series, reading indexes: a few entries
        per series, the flagged points of the recent stretch and of the open episodes, the
        points waiting to be scored. With `name`, that series' row alone (none if there is no
        such series)."""
        params: dict[str, object] = {"recent": recent.value, "gap": GAP}
        where = ""
        if name is not None:
            where, params["name"] = "WHERE s.name = :name", name
        count = (
            "(SELECT COUNT(*) FROM points c WHERE c.series = ends.id)" if count_points else "NULL"
        )
        with self.database.read() as connection:
            frame = query_frame(connection, _SUMMARY.format(where=where, count=count), params)
        frame = typed_frame(
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
            open_since="Int64",
            open_points="float64",
            open_peak_time="Int64",
            open_peak_value="float64",
            open_peak_expected="float64",
            open_peak_severity="float64",
        )
        labels = [labels_of(text) for text in frame["labels"]]
        frame["labels"] = pd.Series(labels, index=frame.index, dtype=object)
        frame["open"] = frame["open"].fillna(0).astype(bool)
        for column in ("unscored", "recent_anomalies", "recent_episodes"):
            frame[column] = frame[column].fillna(0).astype("int64")
        if count_points:
            frame["points"] = frame["points"].fillna(0).astype("int64")
        for column in ("first", "last", "learning_at", "open_since", "open_peak_time"):
            frame[column] = pd.to_datetime(frame[column].astype("float64"), unit="ns")
        explanation = frame["open_peak_explanation"].astype(object)
        frame["open_peak_explanation"] = explanation.where(~frame["open"], explanation.fillna(""))
        return frame.reset_index(drop=True)


#: Every series with its ends and last flag (index seeks), its points waiting to be scored
#: (the partial index of them; grouped by `+series` so that SQLite keeps to that index rather
#: than scan another in series order), its flags in the recent stretch (a range of the
#: flagged-points index per series: CROSS JOIN keeps SQLite from scanning that whole index
#: instead), and `tail`, the time of the point GAP before the latest: a last flag at or after
#: it is within GAP points of the end, so its episode is `open`. An open episode's flagged
#: points (the episode index) give its start, size and peak, ranked by the rule of
#: `detection.episodes.peak_rows`: the most severe, then the higher score, then the earliest,
#: a missing number below every number (NaN is stored as NULL).
_SUMMARY = """
WITH ends AS (
    SELECT s.id, s.name, s.labels, s.detector, s.model, s.version, s.error,
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
), summed AS (
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
), opened AS (
    SELECT id, last_episode FROM summed
    WHERE last_episode IS NOT NULL AND (tail IS NULL OR last_flag >= tail)
), peaks AS (
    SELECT e.series, e.ts, e.value, e.expected, e.severity, e.explanation,
           ROW_NUMBER() OVER (
               PARTITION BY e.series
               ORDER BY e.severity DESC NULLS LAST, e.score DESC NULLS LAST, e.ts
           ) AS rank,
           COUNT(*) OVER (PARTITION BY e.series) AS size,
           MIN(e.ts) OVER (PARTITION BY e.series) AS since
    FROM opened CROSS JOIN points e
    WHERE e.series = opened.id AND e.episode = opened.last_episode AND e.is_anomaly = 1
)
SELECT summed.id, summed.name, summed.labels, summed.detector, summed.model, summed.version,
       summed.error,
       summed.learning_left, summed.learning_at, summed.step_seconds, summed.first, summed.last,
       summed.points, summed.last_value, summed.last_severity, summed.received, summed.unscored,
       summed.waiting_since, summed.recent_anomalies, summed.recent_episodes,
       CASE WHEN peaks.series IS NULL THEN 0 ELSE 1 END AS open,
       peaks.since AS open_since, peaks.size AS open_points, peaks.ts AS open_peak_time,
       peaks.value AS open_peak_value, peaks.expected AS open_peak_expected,
       peaks.severity AS open_peak_severity, peaks.explanation AS open_peak_explanation
FROM summed
LEFT JOIN peaks ON peaks.series = summed.id AND peaks.rank = 1
ORDER BY summed.name
"""
