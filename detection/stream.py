"""Scoring a live series batch by batch, as its points arrive."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from vigil.detection.base import GRID_SAMPLE, Detector, OnlineState, fill_gaps, grid_step
from vigil.detection.episodes import EpisodeState, add_episodes
from vigil.detection.errors import DataError

#: Points before a batch that a saved model scores it with.
MODEL_CONTEXT = 3000


class OnlineScorer:
    """Scores the points of one series as they arrive, with bounded memory.

    Each point gets exactly the score `Detector.score_online` would give it over the whole
    series: the scorer keeps the detector's `online_context()` rows of history and the
    decisions the detector made on earlier rows (its `OnlineState`), nothing more. A batch is
    scored with the `online_lookback()` rows before it, which once the detector has settled
    (seasons found, forest grown) is far less than the history. Until the time step is
    settled by the first GRID_SAMPLE points (all of them warm-up), those points are kept and
    scored afresh with each batch.
    """

    #: Where the episodes of the points scored so far stand (a class default for scorers
    #: saved before episodes existed).
    episodes = EpisodeState()

    def __init__(self, detector: Detector) -> None:
        self.detector = detector
        self.context = detector.online_context()
        self._head: pd.DataFrame | None = pd.DataFrame(columns=["timestamp", "value"])
        self._history: pd.DataFrame | None = None
        self._state = OnlineState(whole=False)
        self._step: int | None = None
        self._last: int | None = None
        #: Rows of history the last batch was scored with (all of them while settling).
        self.last_context = 0

    @property
    def history_rows(self) -> int:
        """Rows kept in memory now."""
        if self._history is not None:
            return len(self._history)
        return 0 if self._head is None else len(self._head)

    @property
    def rows_seen(self) -> int:
        """Rows of the series so far, on its grid (gaps filled) once the step is settled."""
        if self._history is not None:
            return self._state.offset + len(self._history)
        return 0 if self._head is None else len(self._head)

    @property
    def step(self) -> pd.Timedelta | None:
        """The series' time step, once settled."""
        return None if self._step is None else pd.Timedelta(self._step, unit="ns")

    def learning_left(self) -> int:
        """Rows still to come before the detector can flag this series (0 once it can): its
        learning period, which for some detectors depends on the series' step."""
        seen = self._history if self._history is not None else self._head
        frame = seen if seen is not None and len(seen) >= 2 else None
        return max(0, self.detector.online_warmup(frame) - self.rows_seen)

    def update(self, points: pd.DataFrame) -> pd.DataFrame:
        """Score new `timestamp`/`value` points, later than every point before them; a
        ScoredFrame with one row per point, indexed like `points`."""
        if points.empty:
            return points.iloc[0:0]
        times = _in_order(points, self._last)
        batch = points[["timestamp", "value"]].reset_index(drop=True)
        head = self._head  # None once the step is settled
        scored = self._score_batch(batch) if head is None else self._score_head(head, batch)
        self._last = int(times[-1])
        scored.index = points.index
        self.episodes = add_episodes(scored, self.episodes)
        return scored

    def _score_head(self, earlier: pd.DataFrame, batch: pd.DataFrame) -> pd.DataFrame:
        """While the step is unsettled: score everything seen so far (`earlier`, then `batch`)
        from the start."""
        head = batch if earlier.empty else pd.concat([earlier, batch], ignore_index=True)
        settled = len(head) >= GRID_SAMPLE
        step = grid_step(head["timestamp"]) if settled else None
        grid, original = fill_gaps(head, step)
        state = OnlineState(whole=False)
        scored = self.detector.mask_warmup(self.detector._score_online(grid, state), offset=0)
        positions = np.arange(len(grid)) if original is None else original
        new = scored.iloc[positions[len(head) - len(batch) :]].reset_index(drop=True)
        if settled:
            self._step, self._state, self._head = step, state, None
            self._keep(grid)
        else:
            self._head = head
        return new

    def _score_batch(self, batch: pd.DataFrame) -> pd.DataFrame:
        assert self._history is not None, "kept since the step settled"
        grid, original = fill_gaps(batch, self._step, after=self._last)
        kept = len(self._history)
        start = self._state.offset + kept
        everything = pd.concat([self._history, grid], ignore_index=True)
        self.detector.online_prepare(everything, self._state)
        lookback = self.detector.online_lookback(self._state, start, start + len(grid))
        context = min(kept, lookback)
        self.last_context = context
        state = replace(self._state, offset=start - context, scored_from=context)
        frame = everything.iloc[kept - context :].reset_index(drop=True)
        # only the new rows: the context's would be made and masked to be thrown away
        scored = self.detector._score_online_from(frame, state)
        scored = self.detector.mask_warmup(scored, offset=state.offset + context)
        positions = np.arange(len(grid)) if original is None else original
        new = scored.iloc[positions].reset_index(drop=True)
        self._keep(everything)
        return new

    def _keep(self, frame: pd.DataFrame) -> None:
        """Keep the last `context` rows; the state's offset follows the first one kept."""
        dropped = max(0, len(frame) - self.context)
        self._history = frame.iloc[dropped:].reset_index(drop=True)
        self._state.offset += dropped


class ModelScorer:
    """Scores arriving points with a trained detector (a saved model), which learns no more:
    each batch is scored together with the `context` points before it, for the detectors
    whose score of a point reads its neighbours (rolling windows, level changes)."""

    #: Where the episodes of the points scored so far stand.
    episodes = EpisodeState()

    def __init__(self, detector: Detector, context: int = MODEL_CONTEXT) -> None:
        self.detector = detector
        self.context = context
        self._history = pd.DataFrame(columns=["timestamp", "value"])
        self._last: int | None = None
        self.last_context = 0

    @property
    def history_rows(self) -> int:
        return len(self._history)

    @property
    def rows_seen(self) -> int:
        return len(self._history)

    @property
    def step(self) -> pd.Timedelta | None:
        return None

    def learning_left(self) -> int:
        """0: a trained model judges from its first point."""
        return 0

    def update(self, points: pd.DataFrame) -> pd.DataFrame:
        """Score new points, later than every point before them, like `OnlineScorer.update`."""
        if points.empty:
            return points.iloc[0:0]
        times = _in_order(points, self._last)
        batch = points[["timestamp", "value"]].reset_index(drop=True)
        frame = batch if self._history.empty else pd.concat([self._history, batch])
        frame = frame.reset_index(drop=True)
        self.last_context = len(self._history)
        scored = self.detector.score(frame).iloc[len(self._history) :].reset_index(drop=True)
        scored.index = points.index
        self._history = frame.iloc[-self.context :].reset_index(drop=True)
        self._last = int(times[-1])
        self.episodes = add_episodes(scored, self.episodes)
        return scored


def _in_order(points: pd.DataFrame, last: int | None) -> np.ndarray:
    """The points' times (ns); DataError unless they rise, each later than `last`."""
    times = points["timestamp"].to_numpy(dtype="datetime64[ns]").view("int64")
    if not (np.diff(times) > 0).all() or (last is not None and times[0] <= last):
        raise DataError("Points must arrive in time order, each later than the last one.")
    return times
