"""What a live series' card says about it: one status from its summary row."""

from __future__ import annotations

import math

import pandas as pd

#: Statuses, most pressing first, with what each means.
STATUSES = {
    "error": "its settings cannot score it",
    "stale": "no point has come for a while",
    "anomaly": "a point was flagged in the last hour",
    "scoring": "points are waiting to be scored",
    "warming up": "too few points to score yet",
    "ok": "scored, nothing flagged in the last hour",
    "empty": "no point yet",
}


def status_of(row: pd.Series, *, now: float, stale_after: pd.Timedelta) -> str:
    """The status of one row of `LiveStore.summary()`."""
    if row.get("error"):
        return "error"
    if not row["points"]:
        return "empty"
    if now - float(row["received"]) > stale_after.total_seconds():
        return "stale"
    if row["recent_anomalies"]:
        return "anomaly"
    if row["unscored"]:
        return "scoring"
    if row["last_severity"] is None or math.isnan(row["last_severity"]):
        return "warming up"
    return "ok"
