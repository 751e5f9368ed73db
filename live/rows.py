"""A stored point as the views read it: its columns, and the frame they make."""

from __future__ import annotations

import pandas as pd

from vigil.storage.database import typed_frame

#: A stored point's columns as `LiveViews.scores` gives them, after its time.
SCORE_COLUMNS = (
    "value",
    "received",
    "scored",
    "score",
    "severity",
    "is_anomaly",
    "expected",
    "lower",
    "upper",
    "explanation",
    "episode",
    "onset",
)


def scores_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows of `ts` and SCORE_COLUMNS (from `query_frame`) as `LiveViews.scores` gives them:
    `timestamp` first, numbers typed, flags as booleans, explanations as text."""
    frame = typed_frame(
        rows,
        ts="int64",
        episode="Int64",
        **dict.fromkeys(
            ("value", "received", "scored", "score", "severity", "expected", "lower", "upper"),
            "float64",
        ),
    )
    frame.insert(0, "timestamp", pd.to_datetime(frame.pop("ts"), unit="ns"))
    frame["is_anomaly"] = frame["is_anomaly"].fillna(0).astype(bool)
    frame["explanation"] = frame["explanation"].fillna("").astype(str)
    frame["onset"] = frame["onset"].fillna(0).astype(bool)
    return frame
