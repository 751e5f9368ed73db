"""Episodes: what a user sees of the flags. An episode is a run of flagged points, runs apart
by at most GAP unflagged points merged; its onset is its first flagged point, the moment an
alert fires.

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
    episode = pd.array(ids, dtype="Int64")
    episode[ids == 0] = pd.NA
    scored["episode"] = pd.Series(episode, index=scored.index)
    scored["onset"] = onset
    return after


def episode_table(scored: pd.DataFrame) -> pd.DataFrame:
    """One row per episode of a ScoredFrame with `episode` column: its start and end, the
    time and severity of its peak, its flagged points, the value and expected value at the
    peak and the peak's explanation; `open` when the series ends within GAP points of its last
    flag, so it may go on."""
    flagged = scored[scored["episode"].notna()]
    if flagged.empty:
        return pd.DataFrame({column: [] for column in EPISODE_COLUMNS})
    by_episode = flagged.groupby("episode", sort=True)
    peaks = flagged.loc[
        flagged["severity"].fillna(-1).groupby(flagged["episode"]).idxmax().to_numpy()
    ]
    last_row = len(scored) - 1
    positions = pd.Series(np.arange(len(scored)), index=scored.index)
    last_flag = positions[flagged.index].groupby(flagged["episode"].to_numpy()).max()
    return pd.DataFrame(
        {
            "episode": peaks["episode"].to_numpy(),
            "start": by_episode["timestamp"].min().to_numpy(),
            "end": by_episode["timestamp"].max().to_numpy(),
            "peak_time": peaks["timestamp"].to_numpy(),
            "peak_severity": peaks["severity"].to_numpy(),
            "points": by_episode.size().to_numpy(),
            "value": peaks["value"].to_numpy(),
            "expected": peaks["expected"].to_numpy(),
            "explanation": peaks["explanation"].to_numpy(),
            "open": (last_row - last_flag.to_numpy()) <= GAP,
        }
    )
