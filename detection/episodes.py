"""Episodes: what a user sees of the flags. An episode is a run of flagged points, runs apart
by at most GAP unflagged points merged; its onset is its first flagged point, the moment an
alert fires; its peak, its most severe point, is chosen by one rule (`peak_rows`).

Episodes are built causally: a point's episode and onset depend on the points before it only,
so a stream labels its points batch by batch (carrying an `EpisodeState`) exactly as the whole
series would be labelled at once, and an episode that goes on across batches keeps its id and
its one onset.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Runs of flags with at most this many unflagged points between them are one episode.
GAP = 3

EPISODE_COLUMNS = (
    "episode",
    "start",
    "end",
    "peak_time",
    "peak_severity",
    "peak_score",
    "points",
    "value",
    "expected",
    "explanation",
    "open",
)


@dataclass(frozen=True)
class EpisodeState:
    """Where labelling stopped: the row number of the last flagged point (None before the
    first), the last episode's id (0 before the first), and the rows labelled so far."""

    last_flag: int | None = None
    last_id: int = 0
    rows: int = 0


def label_episodes(
    flags: np.ndarray, state: EpisodeState | None = None
) -> tuple[np.ndarray, np.ndarray, EpisodeState]:
    """Episode ids (0 where a point is not flagged) and onsets for `flags`, the rows that
    follow `state`; and the state after them."""
    state = state or EpisodeState()
    flags = np.asarray(flags, dtype=bool)
    rows = state.rows + np.flatnonzero(flags)
    ids = np.zeros(len(flags), dtype=np.int64)
    onset = np.zeros(len(flags), dtype=bool)
    if rows.size == 0:
        return ids, onset, EpisodeState(state.last_flag, state.last_id, state.rows + len(flags))
    before = -GAP - 2 if state.last_flag is None else state.last_flag
    starts = np.diff(rows, prepend=before) > GAP + 1
    numbers = state.last_id + np.cumsum(starts)
    ids[rows - state.rows] = numbers
    onset[rows - state.rows] = starts
    after = EpisodeState(int(rows[-1]), int(numbers[-1]), state.rows + len(flags))
    return ids, onset, after


def with_episodes(scored: pd.DataFrame, state: EpisodeState | None = None) -> pd.DataFrame:
    """`scored` with its `episode` (nullable integer, missing where not flagged) and `onset`
    columns, for rows that follow `state`."""
    add_episodes(scored, state)
    return scored


def add_episodes(scored: pd.DataFrame, state: EpisodeState | None = None) -> EpisodeState:
    """Set `scored`'s `episode` and `onset` columns in place, for rows that follow `state`;
    the state after them."""
    ids, onset, after = label_episodes(scored["is_anomaly"].to_numpy(dtype=bool), state)
    scored["episode"] = pd.arrays.IntegerArray(ids, ids == 0)  # missing where not flagged
    scored["onset"] = onset
    return after


def peak_rows(
    episodes: np.ndarray, severity: np.ndarray, score: np.ndarray | None = None
) -> np.ndarray:
    """The peak of each episode, as positions in these arrays, episodes in ascending order.

    The arrays are the flagged rows in time order, `episodes` the episode each belongs to.
    The peak is the most severe row; of equally severe ones (severities saturate near 1), the
    one with the higher `score`, the detector's own measure; then the earliest. A missing
    severity or score ranks below every number. This is the one rule for a peak: the episodes
    table and the alert report of each scoring pass pick it here; the Live cards and API rank
    by it in SQL (`vigil.live.views`), and tests/live/test_episodes.py checks they agree."""
    episodes = np.asarray(episodes)
    if episodes.size == 0:
        return np.zeros(0, dtype=np.int64)
    severity = _ranked(severity)
    score = np.zeros(episodes.size) if score is None else _ranked(score)
    order = np.lexsort((np.arange(episodes.size), -score, -severity, episodes))
    heads = np.r_[True, episodes[order][1:] != episodes[order][:-1]]
    return order[heads]


def _ranked(values: object) -> np.ndarray:
    """Numbers for ranking: missing ones below every number."""
    numbers = np.asarray(values, dtype="float64")
    return np.where(np.isnan(numbers), -np.inf, numbers)


def episode_table(scored: pd.DataFrame) -> pd.DataFrame:
    """One row per episode of a ScoredFrame with `episode` column, by episode id: its start and
    end, the time, severity and score of its peak (`peak_rows`), its flagged points, the value
    and expected value at the peak and the peak's explanation; `open` when the series ends
    within GAP points of its last flag, so it may go on."""
    flagged = scored[scored["episode"].notna()]
    if flagged.empty:
        return pd.DataFrame({column: [] for column in EPISODE_COLUMNS})
    by_episode = flagged.groupby("episode", sort=True)
    ids = flagged["episode"].to_numpy(dtype=np.int64)
    severity = flagged["severity"].to_numpy(dtype="float64", na_value=np.nan)
    score = (
        flagged["score"].to_numpy(dtype="float64", na_value=np.nan) if "score" in flagged else None
    )
    peaks = flagged.iloc[peak_rows(ids, severity, score)]
    last_row = len(scored) - 1
    positions = pd.Series(np.arange(len(scored)), index=scored.index)
    last_flag = positions[flagged.index].groupby(ids).max()
    return pd.DataFrame(
        {
            "episode": peaks["episode"].to_numpy(),
            "start": by_episode["timestamp"].min().to_numpy(),
            "end": by_episode["timestamp"].max().to_numpy(),
            "peak_time": peaks["timestamp"].to_numpy(),
            "peak_severity": peaks["severity"].to_numpy(),
            "peak_score": (
                np.full(len(peaks), np.nan) if score is None else peaks["score"].to_numpy()
            ),
            "points": by_episode.size().to_numpy(),
            "value": peaks["value"].to_numpy(),
            "expected": peaks["expected"].to_numpy(),
            "explanation": peaks["explanation"].to_numpy(),
            "open": (last_row - last_flag.to_numpy()) <= GAP,
        }
    )
