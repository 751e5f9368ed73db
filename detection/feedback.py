"""What people said about points: applied to a ScoredFrame, and turned into labels.

Marks are a frame with `timestamp`, `verdict` ("normal" or "anomaly") and `value` (the value
when it was marked). A point marked normal is never flagged again, and points like it (on the
same side of the expected value, with a value close to the marked one) have their severity
damped. A point marked as an anomaly is flagged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from vigil.detection.explain import number
from vigil.detection.quality import plural
from vigil.detection.zones import TimeLike

NORMAL = "normal"
ANOMALY = "anomaly"
VERDICTS = (NORMAL, ANOMALY)
#: The explanation of a point marked normal.
MARKED_NORMAL = "Marked as not an anomaly"
#: Severity of a point like one marked normal is multiplied by this.
DAMPING = 0.5
#: "Like": a value within this share of the series' 1st-99th percentile range of a marked one.
SIMILAR_SHARE = 0.05


def apply_feedback(scored: pd.DataFrame, marks: pd.DataFrame) -> pd.DataFrame:
    """A copy of `scored` that respects the marks (unchanged when there are none)."""
    if marks is None or marks.empty:
        return scored
    result = scored.copy()
    times = pd.DatetimeIndex(result["timestamp"])
    values = result["value"].to_numpy(dtype=float)
    expected = result["expected"].to_numpy(dtype=float)
    severity = result["severity"].to_numpy(dtype=float).copy()
    flagged = result["is_anomaly"].to_numpy().copy()
    explanation = result["explanation"].to_numpy(dtype=object).copy()
    cut = np.nanmin(severity[flagged]) if flagged.any() else np.inf

    normal = marks[marks["verdict"] == NORMAL]
    if not normal.empty:
        low, high = np.nanpercentile(values, [1, 99]) if np.isfinite(values).any() else (0, 0)
        tolerance = max(SIMILAR_SHARE * (high - low), 1e-12)
        above = np.where(np.isnan(expected), True, values >= expected)
        near = np.zeros(len(result), dtype=bool)
        for value, when in zip(normal["value"], normal["timestamp"], strict=True):
            row = times.get_indexer(pd.Index([pd.Timestamp(when)]))[0]
            side = above[row] if row >= 0 else True
            near |= (np.abs(values - value) <= tolerance) & (above == side)
            if row >= 0:
                flagged[row] = False
                explanation[row] = MARKED_NORMAL
        damped = near & ~times.isin(pd.DatetimeIndex(normal["timestamp"]))
        severity[damped] *= DAMPING
        still = damped & flagged & (severity >= cut)
        for row in np.flatnonzero(damped & flagged & ~still):
            explanation[row] = ""
        flagged[damped] = still[damped]
        for row in np.flatnonzero(still):
            explanation[row] = f"{explanation[row]} (damped: like a point marked normal)"
        result["severity"] = severity

    for when in marks.loc[marks["verdict"] == ANOMALY, "timestamp"]:
        row = times.get_indexer(pd.Index([pd.Timestamp(when)]))[0]
        if row >= 0 and not np.isnan(values[row]):
            flagged[row] = True
            explanation[row] = f"Marked as an anomaly ({number(values[row])})"
    result["is_anomaly"] = flagged
    result["explanation"] = pd.Series(explanation, index=result.index, dtype=object)
    return result


def labels_from_marks(marks: pd.DataFrame) -> pd.Series:
    """Labels by timestamp: the points marked as anomalies are positive, those marked normal
    negative (unmarked points count as normal when aligned)."""
    return pd.Series(
        (marks["verdict"] == ANOMALY).to_numpy(), index=pd.DatetimeIndex(marks["timestamp"])
    )


@dataclass(frozen=True)
class FlagChanges:
    """What a change of marks did to the other points of a series: how many are no longer
    flagged, how many were damped but stay flagged, and how many are flagged again."""

    unflagged: int = 0
    damped: int = 0
    flagged: int = 0


def flag_changes(before: pd.DataFrame, after: pd.DataFrame, at: TimeLike) -> FlagChanges:
    """Compare a ScoredFrame with marks applied `before` and `after` one point's mark (at
    `at`) changed; the marked point itself is left out. Both have the same rows."""
    others = np.asarray(pd.DatetimeIndex(before["timestamp"]) != pd.Timestamp(at))
    was = before["is_anomaly"].to_numpy(dtype=bool) & others
    now = after["is_anomaly"].to_numpy(dtype=bool) & others
    lower = after["severity"].to_numpy(dtype=float) < before["severity"].to_numpy(dtype=float)
    return FlagChanges(
        unflagged=int((was & ~now).sum()),
        damped=int((was & now & lower).sum()),
        flagged=int((~was & now).sum()),
    )


def mark_words(verdict: str | None, changes: FlagChanges) -> str:
    """What a mark did, for the person who made it: `verdict` is the new mark (None when it
    was cleared), `changes` what that did to the other points."""
    said: dict[str | None, str] = {
        NORMAL: "Marked as not an anomaly",
        ANOMALY: "Marked as an anomaly",
    }
    parts = [said.get(verdict, "Mark cleared")]
    if changes.unflagged:
        similar = plural(changes.unflagged, "similar point")
        parts.append(f"{similar} damped (no longer flagged)")
    if changes.damped:
        parts.append(f"{plural(changes.damped, 'more point')} damped, still flagged")
    if changes.flagged:
        parts.append(f"{plural(changes.flagged, 'point')} flagged again")
    if len(parts) == 1 and verdict == NORMAL:
        parts.append("no other point changed")
    return "; ".join(parts) + "."
