"""Judging detectors side by side on one labelled series: the Evaluate page and `vigil evaluate`
both call `judge`.

Detections are judged as users see them: an episode (flags at most `GAP` rows apart merged)
is one detection and one alert, and an episode that touches no labelled anomaly is one false
alarm, in the event-wise precision and curve and in the false episodes a day. The alert
budget alone counts every run of flags as an alert: counting episodes there would let a
threshold so low that most points are flagged pass, its flags merged into a few long episodes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from vigil.detection import DETECTORS, make_detector
from vigil.detection.episodes import GAP
from vigil.detection.evaluation import (
    EpisodeCounts,
    Scores,
    budget_threshold,
    event_scores,
    false_episodes,
    point_scores,
    precision_recall_curve,
)


@dataclass(frozen=True)
class Judgement:
    """How one detector did: at its own threshold (points, windows and episodes), over every
    threshold (event-wise), and at the threshold that fits the alert `budget` (alerts a day,
    when one was given): `budget_threshold` and `at_budget` are None when the budget never
    binds."""

    detector: str
    point: Scores
    event: Scores
    episodes: EpisodeCounts
    curve: pd.DataFrame
    budget_threshold: float | None
    at_budget: Scores | None
    warmup_rows: int
    seconds: float
    budget: float | None = None

    @property
    def label(self) -> str:
        return DETECTORS[self.detector].label

    @property
    def budget_binds(self) -> bool:
        """Whether a budget was given and some threshold keeps to it that a lower one would
        not (else every threshold keeps to it)."""
        return self.budget_threshold is not None

    @property
    def budget_threshold_text(self) -> str:
        """The budget's threshold in words: '0.52'; 'none fits' when not even the most severe
        point keeps to the budget; 'never binds' when every threshold does; '' without a
        budget. The Evaluate table and `vigil evaluate` print the same words."""
        if self.budget is None:
            return ""
        if self.budget_threshold is None:
            return "never binds"
        return "none fits" if self.budget_threshold > 1 else f"{self.budget_threshold:.2f}"

    @property
    def alerts_per_day(self) -> float:
        """Episodes a day, true or false: one alert each."""
        return self.episodes.episodes_per_day

    @property
    def false_per_day(self) -> float:
        """Episodes a day that touch no labelled anomaly."""
        return self.episodes.false_per_day


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
        if threshold is not None:
            budget_flags = np.nan_to_num(severity, nan=-1.0) >= threshold
            at_budget = event_scores(labels, budget_flags, gap=GAP)

        results.append(
            Judgement(
                detector=name,
                point=point_scores(labels, flagged),
                event=event_scores(labels, flagged, gap=GAP),
                episodes=false_episodes(labels, scored["episode"], scored["timestamp"]),
                curve=precision_recall_curve(labels, severity, events=True, gap=GAP),
                budget_threshold=threshold,
                at_budget=at_budget,
                warmup_rows=int(scored.attrs.get("warmup_rows", 0)),
                seconds=seconds,
                budget=per_day,
            )
        )
    return results
