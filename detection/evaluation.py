"""Judging detectors on labelled data: point-wise and event-wise precision, recall and F1,
false episodes a day, precision-recall over the severity threshold, and the threshold that
fits an alert budget.

Labels and flags are boolean arrays over the same rows. Labels given as points (a 0/1 column)
or as windows (start and end times, ends included) both become labelled rows; an *event* is
a run of consecutive labelled rows (an anomaly window, or a single labelled point). A
*detection* is a run of consecutive flagged rows or, with `gap=detection.episodes.GAP`, an
episode: runs at most that many unflagged rows apart merged, as users see them and as alerts
fire. A detection *touches* an event when any row from its first flag to its last is
labelled, the rows of a merged gap included; one that touches no event is a false alarm.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from vigil.detection.errors import DataError


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


#: (first, last) row positions of spans of rows, both included, as two arrays.
Spans = tuple[np.ndarray, np.ndarray]


def _spans(rows: np.ndarray, *, gap: int | None = 0, keys: np.ndarray | None = None) -> Spans:
    """The one way rows are merged into spans: `rows` (increasing row positions) split where
    more than `gap` rows lie between one and the next (a gap below 0 counts as 0; None: never),
    and, with `keys` (one per row), where the key changes."""
    rows = np.asarray(rows, dtype=np.int64)
    starts = np.zeros(rows.size, dtype=bool)
    starts[:1] = True
    if gap is not None:
        starts[1:] |= np.diff(rows) > max(gap, 0) + 1
    if keys is not None:
        starts[1:] |= keys[1:] != keys[:-1]
    ends = np.r_[starts[1:], True] if rows.size else starts
    return rows[starts], rows[ends]


def _flag_spans(flags: np.ndarray, gap: int = 0) -> Spans:
    """Runs of True rows, runs at most `gap` rows apart merged into one."""
    return _spans(np.flatnonzero(flags), gap=gap)


def _episode_spans(episode: object) -> Spans:
    """The rows of each episode, in order, from an `episode` column (missing or 0: none)."""
    known = pd.array(np.asarray(episode, dtype=object), dtype="Int64")
    ids = known.fillna(0).to_numpy(dtype=np.int64)
    rows = np.flatnonzero(ids != 0)
    return _spans(rows, gap=None, keys=ids[rows])


def _as_list(spans: Spans) -> list[tuple[int, int]]:
    return list(zip(spans[0].tolist(), spans[1].tolist(), strict=True))


def runs(flags: object) -> list[tuple[int, int]]:
    """Runs of consecutive True values as (first, last) row positions, both included."""
    return _as_list(_flag_spans(as_flags(flags, "flags")))


def detections(flags: object, *, gap: int = 0) -> list[tuple[int, int]]:
    """Runs of flags as (first, last) row positions, runs at most `gap` unflagged rows apart
    merged into one (with `gap=detection.episodes.GAP`, the episodes users see)."""
    return _as_list(_flag_spans(as_flags(flags, "flags"), gap))


def episode_spans(episode: object) -> list[tuple[int, int]]:
    """(first, last) row position of each episode, in order of first row, from a ScoredFrame's
    `episode` column (missing, or 0, where a row belongs to none)."""
    return _as_list(_episode_spans(episode))


def _touching(truth: np.ndarray, spans: Spans) -> np.ndarray:
    """For each span, whether any True row of `truth` lies within it."""
    first, last = spans
    before = np.concatenate(([0], np.cumsum(truth, dtype=np.int64)))
    touching: np.ndarray = before[last + 1] > before[first]
    return touching


def _covered(rows: int, spans: Spans) -> np.ndarray:
    """Rows within any of the spans."""
    first, last = spans
    edges = np.zeros(rows + 1, dtype=np.int64)
    np.add.at(edges, first, 1)
    np.add.at(edges, last + 1, -1)
    return np.cumsum(edges[:-1]) > 0


def span_days(timestamps: object) -> float:
    """How many days the series spans, first timestamp to last (0 for one timestamp or none)."""
    times = pd.to_datetime(pd.Series(timestamps)).dropna()
    if times.empty:
        return 0.0
    return float((times.max() - times.min()) / pd.Timedelta(days=1))


@dataclass(frozen=True)
class EpisodeCounts:
    """A detector's episodes on labelled series: how many, how many of them false (touching
    no labelled anomaly), and over how many days of series."""

    episodes: int
    false: int
    days: float

    @property
    def false_per_day(self) -> float:
        """False episodes a day (per series-day when several series are added up); NaN for a
        series that spans no time."""
        return self.false / self.days if self.days > 0 else math.nan

    @property
    def episodes_per_day(self) -> float:
        """Episodes a day, true or false: the alerts a day one would receive."""
        return self.episodes / self.days if self.days > 0 else math.nan

    def __add__(self, other: EpisodeCounts) -> EpisodeCounts:
        return EpisodeCounts(
            self.episodes + other.episodes, self.false + other.false, self.days + other.days
        )


def false_episodes(labels: object, episode: object, timestamps: object) -> EpisodeCounts:
    """Count the episodes of a ScoredFrame (its `episode` column) that touch no labelled row,
    over the days the series spans (`timestamps`, one per row).

    An episode touches a labelled anomaly when any row from its first flag to its last is
    labelled: a window flagged anywhere inside, or a labelled point within the episode's span
    (a point in a merged gap counts). Such an episode is true, however long it runs on past
    the window; every other episode is one false alarm. `false_per_day` divides by the span
    of the series (first to last timestamp), and adding the counts of several series gives
    false episodes per series-day, as the NAB scoring script counts them.
    """
    truth = as_flags(labels, "labels")
    ids = np.asarray(episode, dtype=object)
    times = pd.Series(timestamps)
    if not (len(truth) == len(ids) == len(times)):
        raise DataError(
            f"Labels ({len(truth)} rows), episodes ({len(ids)} rows) and timestamps "
            f"({len(times)} rows) do not line up."
        )
    spans = _episode_spans(ids)
    false = int((~_touching(truth, spans)).sum())
    return EpisodeCounts(episodes=len(spans[0]), false=false, days=span_days(times))


def per_series_day(counts: Iterable[EpisodeCounts]) -> EpisodeCounts:
    """The counts of several series added up: `false_per_day` is then per series-day."""
    return sum(counts, EpisodeCounts(0, 0, 0.0))


def point_scores(labels: object, flagged: object) -> Scores:
    """Each row counts once: flagged and labelled is a true positive, and so on."""
    truth, guess = _aligned(labels, flagged)
    return Scores(
        true_positives=int((truth & guess).sum()),
        false_positives=int((~truth & guess).sum()),
        false_negatives=int((truth & ~guess).sum()),
    )


def event_scores(labels: object, flagged: object, *, gap: int = 0) -> Scores:
    """Each anomaly window counts once: found if a detection touches it (any of its rows is
    flagged, or with `gap` lies in a merged gap). Each detection (run of flagged rows, runs
    `gap` rows apart merged) that touches no window is one false positive;
    `gap=detection.episodes.GAP` counts false episodes."""
    truth, guess = _aligned(labels, flagged)
    events, spans = _flag_spans(truth), _flag_spans(guess, gap)
    found = int(_touching(_covered(len(guess), spans), events).sum())
    stray = int((~_touching(truth, spans)).sum())
    missed = len(events[0]) - found
    return Scores(true_positives=found, false_positives=stray, false_negatives=missed)


def _aligned(labels: object, flagged: object) -> tuple[np.ndarray, np.ndarray]:
    truth, guess = as_flags(labels, "labels"), as_flags(flagged, "flags")
    if truth.shape != guess.shape:
        raise DataError(f"Labels ({len(truth)} rows) and flags ({len(guess)} rows) do not line up.")
    return truth, guess


def precision_recall_curve(
    labels: object, severity: object, *, events: bool = False, gap: int = 0, steps: int = 101
) -> pd.DataFrame:
    """Precision and recall (point- or event-wise, detections `gap` rows apart merged) for
    thresholds from 0 to 1 on severity.

    Missing severity never flags. Returns one row per threshold: `threshold`, `precision`,
    `recall`, `f1`, `flagged` and `share_flagged` (of all rows).
    """
    truth = as_flags(labels, "labels")
    level = np.nan_to_num(np.asarray(severity, dtype=float), nan=-1.0)
    rows = []
    for threshold in np.round(np.linspace(0.0, 1.0, steps), 6):
        guess = level >= threshold
        result = event_scores(truth, guess, gap=gap) if events else point_scores(truth, guess)
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


def alert_count(flags: np.ndarray, *, gap: int = 0) -> int:
    """Alerts a run of flags would send: one per run of consecutive flagged rows, runs at most
    `gap` unflagged rows apart being one (with `detection.episodes.GAP`, one per episode, as
    alerts fire)."""
    return len(_flag_spans(np.asarray(flags, dtype=bool), gap)[0])


def budget_threshold(
    timestamps: object, severity: object, per_day: float, *, steps: int = 1000
) -> float | None:
    """The lowest severity threshold that keeps to `per_day` alerts a day on average over the
    span of the data (at least one day), a run of consecutive flagged rows being one alert.

    Thresholds are tried from 1 down and the search stops at the first one over the budget,
    so a threshold so low that everything merges into one long run is never chosen. Returns a
    value above 1 when not even the most severe point fits, and None when the budget never
    binds: every threshold tried, down to the lowest, keeps to it.
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
            return chosen
        chosen = float(threshold)
    return None
