"""Judging detectors on labelled data: point-wise and event-wise precision, recall and F1,
precision-recall over the severity threshold, and the threshold that fits an alert budget.

Labels and flags are boolean arrays over the same rows. An *event* is a run of consecutive
labelled rows (an anomaly window); a *detection* is a run of consecutive flagged rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from detection.errors import DataError


@dataclass(frozen=True)
class Scores:
    """Precision, recall and F1 with the counts behind them."""

    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        flagged = self.true_positives + self.false_positives
        return self.true_positives / flagged if flagged else 0.0

    @property
    def recall(self) -> float:
        actual = self.true_positives + self.false_negatives
        return self.true_positives / actual if actual else 0.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def as_flags(values: object, what: str) -> np.ndarray:
    """Booleans from 0/1 or true/false values (missing counts as 0), or our own error."""
    array = np.asarray(values)
    if array.dtype != bool:
        if not np.isin(array[~pd.isna(array)], (0, 1)).all():
            raise DataError(f"The {what} must be 0/1 or true/false.")
        array = np.nan_to_num(array.astype(float)).astype(bool)
    return array


def runs(flags: object) -> list[tuple[int, int]]:
    """Runs of consecutive True values as (first, last) row positions, both included."""
    array = as_flags(flags, "flags").astype(np.int8)
    edges = np.diff(np.concatenate(([0], array, [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def point_scores(labels: object, flagged: object) -> Scores:
    """Each row counts once: flagged and labelled is a true positive, and so on."""
    truth, guess = _aligned(labels, flagged)
    return Scores(
        true_positives=int((truth & guess).sum()),
        false_positives=int((~truth & guess).sum()),
        false_negatives=int((truth & ~guess).sum()),
    )


def event_scores(labels: object, flagged: object) -> Scores:
    """Each anomaly window counts once: found if any of its rows is flagged. Each detection
    (run of flagged rows) that touches no window is one false positive."""
    truth, guess = _aligned(labels, flagged)
    events = runs(truth)
    found = sum(bool(guess[start : end + 1].any()) for start, end in events)
    stray = sum(not truth[start : end + 1].any() for start, end in runs(guess))
    return Scores(true_positives=found, false_positives=stray, false_negatives=len(events) - found)


def _aligned(labels: object, flagged: object) -> tuple[np.ndarray, np.ndarray]:
    truth, guess = as_flags(labels, "labels"), as_flags(flagged, "flags")
    if truth.shape != guess.shape:
        raise DataError(f"Labels ({len(truth)} rows) and flags ({len(guess)} rows) do not line up.")
    return truth, guess


def precision_recall_curve(
    labels: object, severity: object, *, events: bool = False, steps: int = 101
) -> pd.DataFrame:
    """Precision and recall (point- or event-wise) for thresholds from 0 to 1 on severity.

    Missing severity never flags. Returns one row per threshold: `threshold`, `precision`,
    `recall`, `f1`, `flagged` and `share_flagged` (of all rows).
    """
    truth = as_flags(labels, "labels")
    level = np.nan_to_num(np.asarray(severity, dtype=float), nan=-1.0)
    score = event_scores if events else point_scores
    rows = []
    for threshold in np.round(np.linspace(0.0, 1.0, steps), 6):
        guess = level >= threshold
        result = score(truth, guess)
        rows.append(
            {
                "threshold": float(threshold),
                "precision": result.precision,
                "recall": result.recall,
                "f1": result.f1,
                "flagged": int(guess.sum()),
                "share_flagged": float(guess.mean()) if guess.size else 0.0,
            }
        )
    return pd.DataFrame(rows)


def alert_count(flags: np.ndarray) -> int:
    """Alerts a run of flags would send: one per run of consecutive flagged rows."""
    flags = np.asarray(flags, dtype=bool)
    if not flags.size:
        return 0
    return int(flags[0]) + int((flags[1:] & ~flags[:-1]).sum())


def budget_threshold(
    timestamps: object, severity: object, per_day: float, *, steps: int = 1000
) -> float:
    """The lowest severity threshold that keeps to `per_day` alerts a day on average over the
    span of the data (at least one day), a run of consecutive flagged rows being one alert.

    Thresholds are tried from 1 down and the search stops at the first one over the budget,
    so a threshold so low that everything merges into one long run is never chosen. Returns a
    value above 1 when not even the most severe point fits.
    """
    if per_day < 0:
        raise DataError("An alert budget cannot be negative.")
    times = pd.to_datetime(pd.Series(timestamps))
    days = max((times.max() - times.min()) / pd.Timedelta(days=1), 1.0)
    allowed = per_day * days
    level = np.nan_to_num(np.asarray(severity, dtype=float), nan=-1.0)
    chosen = float(np.nextafter(1.0, 2.0))  # not even the most severe points fit: flag none
    for threshold in np.linspace(1.0, 0.0, steps + 1)[:-1]:
        if alert_count(level >= threshold) > allowed:
            break
        chosen = float(threshold)
    return chosen
