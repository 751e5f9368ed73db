"""What a live series' card and the API say about it: one status from its summary row, and
how long it has yet to learn."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

#: A row of `LiveStore.summary()`, or the same as a dict: its values are as the database gave
#: them.
SummaryRow = pd.Series | Mapping[str, Any]

#: Points waiting this long (seconds) to be scored make a series' status "scoring"; shorter
#: waits are the moment between ingest and scoring, not worth a word.
SCORING_LAG = 10.0
#: Statuses, most pressing first, with what each means.
STATUSES = {
    "error": "it cannot be scored (the card says why): new settings try again",
    "stale": "no point has come for a while",
    "anomaly": "an anomaly is going on, or was in the last hour",
    "learning": "learning what is normal for it: nothing is flagged yet",
    "scoring": "points are waiting to be scored",
    "warming up": "too few points to score yet",
    "ok": "scored, no anomaly in the last hour",
    "empty": "no point yet",
}


@dataclass(frozen=True)
class LearningLeft:
    """How much longer a series learns, as of its latest scored point."""

    #: Points still to come before it can be flagged.
    points: int
    #: About how long they take at the series' step (None when the step is not known yet).
    duration: pd.Timedelta | None
    #: About when the series' own clock gets there (None when the step is not known yet).
    until: pd.Timestamp | None


def learning_left(row: SummaryRow) -> LearningLeft | None:
    """How long the series of a `LiveStore.summary()` row has yet to learn; None once it can
    be flagged, and when its scorer has not said (nothing scored since its settings changed)."""
    left = row.get("learning_left")
    if left is None or pd.isna(left) or int(left) <= 0:
        return None
    step = step_of(row)
    if step is None:
        return LearningLeft(int(left), None, None)
    duration = int(left) * step
    at = row.get("learning_at")
    until = None if at is None or pd.isna(at) else pd.Timestamp(at) + duration
    return LearningLeft(int(left), duration, until)


def step_of(row: SummaryRow) -> pd.Timedelta | None:
    """A summary row's time step as its scorer last wrote it (before the scorer settles it,
    the mean spacing of the points so far); None when not known."""
    seconds = row.get("step_seconds")
    if seconds is None or pd.isna(seconds) or seconds <= 0:
        return None
    return pd.Timedelta(seconds=float(seconds))


def _never_scored(row: SummaryRow) -> bool:
    """Nothing scored since the series came or its settings changed."""
    left = row.get("learning_left")
    return left is None or bool(pd.isna(left))


def _float(row: SummaryRow, column: str) -> float:
    value = row.get(column)
    return math.nan if value is None or pd.isna(value) else float(value)


def error_of(row: SummaryRow) -> str | None:
    """Why a summary row's series cannot be scored, or None (a missing value is no error:
    a column of text with one error in it holds NaN, not None, for the other series)."""
    error = row.get("error")
    return error if isinstance(error, str) and error else None


def status_of(row: SummaryRow, *, now: float, stale_after: pd.Timedelta) -> str:
    """The status of one row of `LiveStore.summary()` at time `now` (a time.time())."""
    if error_of(row):
        return "error"
    if pd.isna(row["last"]):
        return "empty"
    if now - float(row["received"]) > stale_after.total_seconds():
        return "stale"
    # flagged points without an episode were scored before episodes were stored
    if row["recent_episodes"] or row["recent_anomalies"] or row.get("open"):
        return "anomaly"
    if learning_left(row) is not None:
        return "learning"
    if row["unscored"] and (_never_scored(row) or now - _float(row, "waiting_since") > SCORING_LAG):
        return "scoring"
    # a series scored since the learning was stored says it is learning while it is; one
    # scored before says nothing, and its points without a severity were its warm-up
    if _never_scored(row) and math.isnan(_float(row, "last_severity")):
        return "warming up"
    return "ok"


#: The order of statuses when series are listed most pressing first: anomalies, then what
#: needs a person (errors, stale series), then the rest.
LISTED_ORDER = ("anomaly", "error", "stale", "scoring", "learning", "warming up", "ok", "empty")


def most_anomalous_first(summary: pd.DataFrame, statuses: pd.Series) -> pd.DataFrame:
    """The rows of `LiveStore.summary()` most pressing first: series with an anomaly (one
    going on first, the most severe peak first, then the most episodes in the last hour),
    then by status (LISTED_ORDER), then by name. `statuses` holds each row's status."""
    rank = statuses.map({status: i for i, status in enumerate(LISTED_ORDER)}).fillna(
        len(LISTED_ORDER)
    )
    keys = pd.DataFrame(
        {
            "rank": rank.to_numpy(),
            "open": ~summary["open"].to_numpy(dtype=bool),
            "peak": -summary["open_peak_severity"].astype(float).fillna(-1.0).to_numpy(),
            "episodes": -summary["recent_episodes"].to_numpy(dtype=float),
            "name": summary["name"].to_numpy(),
        },
        index=summary.index,
    )
    order = keys.sort_values(["rank", "open", "peak", "episodes", "name"], kind="stable").index
    return summary.loc[order]
