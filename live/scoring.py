"""Scoring live series as their points arrive: a worker on an asyncio loop of its own thread.

Each round reads the points stored since the last one, scores each series' new points with its
detector in streaming mode (`detection.stream`), applies people's marks, groups the flags into
episodes, stores the scores with how long the series has yet to learn, and hands them on (to
the alert rules). The scoring runs in an executor thread, so the loop stays free to be woken by
ingest; Isolation Forest grows its forests in a pool of its own, outside the GIL.

A late point (earlier than a series' latest scored one) or a corrected one is scored by going
back to a checkpoint of the series' scorer taken before it, and scoring every later point again
from the store: the scores are exactly those the points would have had arriving in order. The
episodes are built from the flags as stored (after the marks), causally, with their state
checkpointed beside the scorer's, so an episode going on across rounds keeps one id and one
onset, late points and hand-overs between workers included.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import cast

import pandas as pd
from sqlalchemy.exc import SQLAlchemyError

from vigil.detection.episodes import EpisodeState, add_episodes
from vigil.detection.errors import VigilError
from vigil.detection.stream import ModelScorer, OnlineScorer
from vigil.live.queue import WHOLE, Learning, Shard
from vigil.live.series import Series
from vigil.live.store import LiveStore

log = logging.getLogger(__name__)

Scorer = OnlineScorer | ModelScorer
#: Makes the scorer a series' settings ask for; raises VigilError for settings that cannot run.
ScorerFactory = Callable[[Series], Scorer]
#: Called with a series and the rows just scored (a ScoredFrame indexed by point id).
OnScored = Callable[[Series, pd.DataFrame], None]
#: Changes a series' rows just scored before they are stored (to respect people's marks).
Adjust = Callable[[Series, pd.DataFrame], pd.DataFrame]

#: A series' scorer is saved every this many points, to score late points again from.
CHECKPOINT_POINTS = 5_000
#: Most points one round reads.
ROUND_POINTS = 200_000
#: A round stores what it has scored (in one transaction) at least this often, seconds...
HAND_ON_EVERY = 0.2
#: ... and once it has scored this many series since it last did.
HAND_ON_SERIES = 500
#: A round that fails waits longer each time it fails again, up to this many seconds.
MOST_BACKOFF = 60.0
#: Most characters of an unexpected error kept as a series' reason.
MAX_REASON = 300


#: Episodes before the first flag (frozen, so one value serves every series).
NO_EPISODES = EpisodeState()


@dataclass(frozen=True)
class _Checkpoint:
    last: int  # the latest timestamp (ns) the scorer had seen
    saved: bytes
    episodes: EpisodeState = NO_EPISODES  # where the episodes stood then


class SeriesScorer:
    """One series' scorer, with the checkpoints that let it score late points again, and the
    episodes of its points as stored (after `adjust`)."""

    #: Where the episodes of the points scored so far stand (a class default for states saved
    #: before episodes were stored).
    episodes = NO_EPISODES
    _adjust: Adjust | None = None
    #: The time (ns) of the first point scored since the scorer started from scratch.
    first: int | None = None

    def __init__(
        self,
        series: Series,
        factory: ScorerFactory,
        late_window: pd.Timedelta,
        adjust: Adjust | None = None,
    ) -> None:
        self.series = series
        self.late_window = late_window
        self._factory = factory
        self._adjust = adjust
        self.scorer = factory(series)
        self.last: int | None = None
        self._checkpoints: deque[_Checkpoint] = deque()
        self._unsaved = 0
        #: Points scored again since the start, because an earlier one came late.
        self.rescored = 0

    def score(self, points: pd.DataFrame, store: LiveStore, upto_id: int) -> pd.DataFrame:
        """Score this series' new points (`id`, `ts`, `value`); the ScoredFrame (indexed by
        point id) of every point scored, later points scored again included."""
        points = points.sort_values("ts")
        first = int(points["ts"].iloc[0])
        if self.last is None or first > self.last:
            return self._update(points)
        return self._rewind(first, store, upto_id)

    def replay(self, store: LiveStore, upto_id: int) -> pd.DataFrame:
        """Score every stored point of the series afresh (its settings changed, or this
        worker has no scorer of it yet)."""
        if self.last is not None or self._checkpoints:
            self.scorer, self.last = self._factory(self.series), None
            self._checkpoints.clear()
        self.episodes = NO_EPISODES
        return self._score_stored(store, upto_id)

    def learning(self) -> Learning | None:
        """How long the series has yet to learn, as of its latest point scored (None before
        the first), with its step: the scorer's once settled, until then the mean spacing of
        the points so far (None for a single point)."""
        if self.last is None:
            return None
        step = self.scorer.step
        seconds = None if step is None else step.total_seconds()
        seen = self.scorer.rows_seen
        if seconds is None and self.first is not None and seen >= 2 and self.last > self.first:
            seconds = (self.last - self.first) / (seen - 1) / 1e9
        left = int(self.scorer.learning_left())
        return Learning(self.series.id, left=left, at=self.last, step_seconds=seconds)

    def _rewind(self, first: int, store: LiveStore, upto_id: int) -> pd.DataFrame:
        while self._checkpoints and self._checkpoints[-1].last >= first:
            self._checkpoints.pop()
        if self._checkpoints:
            saved = self._checkpoints[-1]
            self.scorer, self.last = pickle.loads(saved.saved), saved.last
            self.episodes = saved.episodes
        else:
            self.scorer, self.last = self._factory(self.series), None
            self.episodes = NO_EPISODES
        scored = self._score_stored(store, upto_id)
        self.rescored += len(scored)
        return scored

    def _score_stored(self, store: LiveStore, upto_id: int) -> pd.DataFrame:
        self._unsaved = 0
        parts = [
            self._update(chunk) for chunk in store.points_after(self.series.id, self.last, upto_id)
        ]
        return pd.concat(parts) if parts else _empty()

    def _update(self, points: pd.DataFrame) -> pd.DataFrame:
        """Score points later than the last; a checkpoint follows every CHECKPOINT_POINTS or
        more (a long stretch, as in a replay, is scored in pieces of that size)."""
        if len(points) <= 2 * CHECKPOINT_POINTS:
            return self._update_chunk(points)
        parts = [
            self._update_chunk(points.iloc[start : start + CHECKPOINT_POINTS])
            for start in range(0, len(points), CHECKPOINT_POINTS)
        ]
        return pd.concat(parts)

    def _update_chunk(self, points: pd.DataFrame) -> pd.DataFrame:
        frame = pd.DataFrame(
            {
                "timestamp": pd.to_datetime(points["ts"].to_numpy(), unit="ns"),
                "value": points["value"].to_numpy(dtype=float),
            },
            index=pd.Index(points["id"].to_numpy(), name="id"),
        )
        if self.last is None:  # scoring from scratch
            self.first = int(points["ts"].iloc[0])
        scored = self.scorer.update(frame)
        # the scorer has moved on: should what follows fail, these points are scored again
        # from a checkpoint (episodes included), not refused as out of order
        self.last = int(points["ts"].iloc[-1])
        if self._adjust is not None:
            scored = self._adjust(self.series, scored)
        # episodes of the flags as stored: a point someone marked is in or out of one
        self.episodes = add_episodes(scored, self.episodes)
        self._unsaved += len(points)
        if self._unsaved >= CHECKPOINT_POINTS:
            self._save()
        return scored

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        # closures over settings: the process that loads it gives its own
        del state["_factory"]
        state.pop("_adjust", None)
        return state

    def _save(self) -> None:
        """Checkpoint the scorer; keep the checkpoints a late point could go back to."""
        assert self.last is not None
        self._checkpoints.append(_Checkpoint(self.last, pickle.dumps(self.scorer), self.episodes))
        self._unsaved = 0
        horizon = self.last - self.late_window.value
        while len(self._checkpoints) > 1 and self._checkpoints[1].last < horizon:
            self._checkpoints.popleft()


@dataclass(frozen=True)
class _Done:
    """A series' points scored in a round, waiting to be stored with the others'."""

    series: Series
    scored: pd.DataFrame
    learning: Learning | None


class LiveWorker:
    """Scores the points of every live series (of its shard) as they are stored."""

    def __init__(
        self,
        store: LiveStore,
        factory: ScorerFactory,
        *,
        late_window: pd.Timedelta,
        on_scored: OnScored | None = None,
        adjust: Adjust | None = None,
        interval: float = 0.25,
        shard: Shard = WHOLE,
    ) -> None:
        self.store = store
        #: The series this worker scores (every one, unless scoring is split between workers).
        self.shard = shard
        self.factory = factory
        self.late_window = late_window
        self.on_scored = on_scored
        self.adjust = adjust
        self.interval = interval
        self._scorers: dict[int, SeriesScorer] = {}
        self._versions: dict[int, int] = {}  # the settings each series was scored with
        self._broken: set[int] = set()  # series whose settings cannot score them
        self._changed: set[int] = set()  # series scored since the state was last taken
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vigil-scoring")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._stopping = False
        self._thread: threading.Thread | None = None

    def round(self) -> int:
        """Score the points stored and not scored yet; how many points were scored.

        What is not scored is read from the store, not from where the last round stopped: a
        point committed late (by another web worker) is never passed over, and a worker that
        takes over from another finds what is left. A series this worker has no scorer of
        yet is scored from its first point, as it would have been all along. The scores of
        many series are stored together (every HAND_ON_EVERY seconds, or HAND_ON_SERIES
        series), each series' in full, then handed on."""
        upto = self.store.last_id()
        new = self.store.unscored(upto, ROUND_POINTS, skip=self._broken, shard=self.shard)
        settings = {
            series.id: series for series in self.store.series() if self.shard.holds(series.id)
        }
        done: list[_Done] = []
        stored, since = 0, time.monotonic()
        for series in settings.values():
            seen = self._versions.get(series.id)
            if seen is not None and seen != series.version:  # its settings changed
                self._broken.discard(series.id)
                self._scorers.pop(series.id, None)
                self._score(series, lambda s: s.replay(self.store, upto), done)
                new = new[new["series"] != series.id]
        for series_id, points in new.groupby("series", sort=False):
            # the column holds series ids (pandas' types cannot know)
            found = settings.get(int(cast(int, series_id)))
            if found is None or found.id in self._broken:
                continue
            if found.id in self._scorers:
                new_points = partial(
                    SeriesScorer.score, points=points, store=self.store, upto_id=upto
                )
                self._score(found, new_points, done)
            else:
                self._score(found, lambda s: s.replay(self.store, upto), done)
            if time.monotonic() - since >= HAND_ON_EVERY or len(done) >= HAND_ON_SERIES:
                stored, since = stored + self._hand_on(done), time.monotonic()
        return stored + self._hand_on(done)

    def _hand_on(self, done: list[_Done]) -> int:
        """Store what the round scored so far, in one transaction, then hand it on (to the
        alert rules); how many points. `done` is emptied."""
        if not done:
            return 0
        self.store.write_many([(d.scored, d.learning) for d in done])
        stored = sum(len(d.scored) for d in done)
        for item in done:
            if self.on_scored is None or not len(item.scored):
                continue
            try:
                self.on_scored(item.series, item.scored)
            except Exception:  # the scores are kept; the hook's failure is logged
                log.exception("handing on the scores of %r failed", item.series.name)
        done.clear()
        return stored

    def take_state(self) -> dict[int, bytes]:
        """What a worker elsewhere needs to go on from here: the pickled scorer (checkpoints
        included) of each series scored since the last call."""
        states = {}
        for series_id in self._changed:
            scorer = self._scorers.get(series_id)
            states[series_id] = pickle.dumps(
                (self._versions.get(series_id), series_id in self._broken, scorer)
            )
        self._changed.clear()
        return states

    def restore(self, states: dict[int, bytes]) -> None:
        """Go on from state another worker took (`take_state`): every series as it left it."""
        self._scorers.clear()
        self._versions.clear()
        self._broken.clear()
        self._changed.clear()
        for series_id, saved in states.items():
            version, broken, scorer = pickle.loads(saved)
            if version is not None:
                self._versions[series_id] = version
            if broken:
                self._broken.add(series_id)
            if scorer is not None:
                scorer._factory, scorer._adjust = self.factory, self.adjust
                self._scorers[series_id] = scorer

    def _score(
        self, series: Series, how: Callable[[SeriesScorer], pd.DataFrame], done: list[_Done]
    ) -> None:
        self._versions[series.id] = series.version
        self._changed.add(series.id)
        try:
            scorer = self._scorers.get(series.id)
            if scorer is None:
                scorer = SeriesScorer(series, self.factory, self.late_window, self.adjust)
                self._scorers[series.id] = scorer
            scored = how(scorer)
        except SQLAlchemyError:  # the store, not this series: the round fails and backs off
            raise
        except VigilError as error:
            # settings that cannot score this series: say so on the series, and wait for
            # new settings, which score it all afresh
            self._set_broken(series, str(error))
            log.warning("cannot score live series %r: %s", series.name, error)
            return
        except Exception as error:  # a bug met by this series only: the others go on
            self._set_broken(series, _unexpected(error))
            log.exception("scoring live series %r failed; it waits for new settings", series.name)
            return
        if series.error:
            self.store.set_error(series.id, None)
        if len(scored):
            done.append(_Done(series, scored, scorer.learning()))

    def _set_broken(self, series: Series, reason: str) -> None:
        """Score `series` no more until its settings change; its reason shows on its card."""
        self._scorers.pop(series.id, None)
        self._broken.add(series.id)
        self.store.set_error(series.id, reason)

    #: Rounds that failed in a row.
    failures = 0

    async def run(self) -> None:
        """Score round after round until `stop`; sleep between rounds unless woken.

        A round that fails (the database is gone, a bug) is logged with its traceback once;
        while it goes on failing, each retry waits twice as long as the one before (up to
        MOST_BACKOFF seconds; new points do not cut the wait short) and says so in one line."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        while not self._stopping:
            self._wake.clear()
            try:
                busy = await self._loop.run_in_executor(self._executor, self.round)
            except Exception as error:
                busy = 0
                self._round_failed(error)
            else:
                if self.failures:
                    log.warning("live scoring works again after %d failed rounds", self.failures)
                self.failures = 0
            if self.failures and not self._stopping:
                await asyncio.sleep(self.backoff())
            elif not busy and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.interval)

    def backoff(self) -> float:
        """Seconds to wait before the next round after `failures` failed rounds in a row."""
        if not self.failures:
            return 0.0
        return min(self.interval * 2 ** min(self.failures - 1, 32), MOST_BACKOFF)

    def _round_failed(self, error: Exception) -> None:
        self.failures += 1
        if self.failures == 1:
            log.exception("a live scoring round failed; retrying with growing pauses")
        else:
            log.error(
                "a live scoring round failed again (%d in a row, %s); next try in %gs",
                self.failures,
                _unexpected(error),
                self.backoff(),
            )

    def notify(self) -> None:
        """New points were stored: start a round now (safe from any thread)."""
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            loop.call_soon_threadsafe(wake.set)

    def start(self) -> LiveWorker:
        """Run in a daemon thread of its own."""
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self.run()), name="vigil-live", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 10) -> None:
        self._stopping = True
        self.notify()
        if self._thread is not None:
            self._thread.join(timeout)
        self._executor.shutdown(wait=False)


def _unexpected(error: Exception) -> str:
    """An unexpected error in a line, short enough to show on a card."""
    lines = str(error).splitlines()
    text = f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
    text = f"scoring failed ({text})"
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 3] + "..."


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        columns=[
            "timestamp",
            "value",
            "score",
            "severity",
            "is_anomaly",
            "expected",
            "lower",
            "upper",
            "explanation",
            "episode",
            "onset",
        ]
    )
