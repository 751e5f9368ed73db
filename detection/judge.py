"""Judging detectors side by side on one labelled series: the Evaluate page and `vigil evaluate`
both call `judge`."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from detection import DETECTORS, make_detector
from detection.evaluation import (
    Scores,
    alert_count,
    budget_threshold,
    event_scores,
    point_scores,
    precision_recall_curve,
)


@dataclass(frozen=True)
class Judgement:
    """How one detector did: at its own threshold, over every threshold (event-wise), and at
    the threshold that fits the alert budget."""

    detector: str
    point: Scores
    event: Scores
    curve: pd.DataFrame
    alerts_per_day: float
    budget_threshold: float | None
    at_budget: Scores | None
    warmup_rows: int
    seconds: float

    @property
    def label(self) -> str:
        return DETECTORS[self.detector].label


def _days(timestamps: pd.Series) -> float:
    span = pd.Timestamp(timestamps.iloc[-1]) - pd.Timestamp(timestamps.iloc[0])
    return max(span / pd.Timedelta(days=1), 1.0)


def judge(
    frame: pd.DataFrame,
    labels: np.ndarray,
    detectors: Sequence[str],
    *,
    online: bool = False,
    per_day: float | None = None,
    progress: Callable[[str], object] | None = None,
) -> list[Judgement]:
    """Run each detector (with its defaults) on `frame` and score it against `labels`."""
    results = []
    days = _days(frame["timestamp"])
    for name in detectors:
        if progress:
            progress(f"Running {DETECTORS[name].label} on {len(frame):,} points…")
        started = time.perf_counter()
        scored = make_detector(name).detect(frame, online=online)
        seconds = time.perf_counter() - started
        flagged = scored["is_anomaly"].to_numpy()
        severity = scored["severity"].to_numpy()
        threshold = at_budget = None
        if per_day is not None:
            threshold = budget_threshold(scored["timestamp"], severity, per_day)
            at_budget = event_scores(labels, np.nan_to_num(severity, nan=-1.0) >= threshold)
        results.append(
            Judgement(
                detector=name,
                point=point_scores(labels, flagged),
                event=event_scores(labels, flagged),
                curve=precision_recall_curve(labels, severity, events=True),
                alerts_per_day=alert_count(flagged) / days,
                budget_threshold=threshold,
                at_budget=at_budget,
                warmup_rows=int(scored.attrs.get("warmup_rows", 0)),
                seconds=seconds,
            )
        )
    return results
