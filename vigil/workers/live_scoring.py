"""Live scoring wired to one Vigil: the scoring worker over its live store, the scorers its
series' settings ask for, people's marks, and the alert rules the scores feed. Everything
comes from one `Services`; the scoring process builds its own from the settings it is
handed."""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from datetime import datetime

import pandas as pd

from vigil.alerts.compose import LIVE
from vigil.alerts.episodes import episode_reports
from vigil.detection import make_detector
from vigil.detection.feedback import apply_feedback
from vigil.detection.stream import ModelScorer, OnlineScorer
from vigil.live.queue import WHOLE, Shard
from vigil.live.scoring import Adjust, LiveWorker, OnScored, Scorer, ScorerFactory
from vigil.live.series import Series
from vigil.services import Services
from vigil.settings import Settings
from vigil.stores.marks import FeedbackStore
from vigil.usecases.alerting import alert_engine
from vigil.usecases.live_series import late_window


def scorer_factory(services: Services) -> ScorerFactory:
    """Makes a series' scorer: its saved model, or its detector in streaming mode."""
    models = services.model_store

    def make(series: Series) -> Scorer:
        if series.model:
            detector, _info = models.load(series.model)
            return ModelScorer(detector)
        return OnlineScorer(make_detector(series.detector, series.params))

    return make


def alert_on_scores(services: Services) -> OnScored:
    """Sends the episodes in a live series' scored batch through the rules that watch it (with
    its own detector or model, unless a rule names another); the emails show the series around
    them (`stored_context`). An episode going on from an earlier batch comes without its onset,
    and the engine adds it to the one recorded. A rule hears of no episode whose flagged points
    all first came before the rule was made (points sent again with corrected values
    included): it alerts on what comes after it, not on history."""

    def hand_on(series: Series, scored: pd.DataFrame) -> None:
        if not scored["is_anomaly"].any():
            return
        rules = [
            rule
            for rule in services.rule_store.rules()
            if rule.watches(series.name, LIVE, series.scored_by, series.labels)
        ]
        if not rules:
            return
        engine = alert_engine(services)
        now = time.time()
        reports = episode_reports(scored)
        for rule in rules:
            made = datetime.fromisoformat(rule.created).timestamp()
            news = [  # corrected points that came before the rule are its history
                report
                for report in reports
                if services.live_store.flagged_since(series.id, report.first, report.last, made)
            ]
            engine.record(rule, series.name, LIVE, news, now=now)
        engine.dispatch(rules, now=now, silences=services.rule_store.silences())

    return hand_on


#: How long the names of the live series with marks are kept before being read again.
MARKED_FOR = 1.0


class _MarkedSeries:
    """The names of the live series with marks, read again once MARKED_FOR seconds old."""

    def __init__(self, marks: FeedbackStore) -> None:
        self.marks = marks
        self.read_at = -MARKED_FOR
        self.names: frozenset[str] = frozenset()

    def __contains__(self, name: str) -> bool:
        now = time.monotonic()
        if now - self.read_at >= MARKED_FOR:
            self.names, self.read_at = self.marks.marked_series(LIVE), now
        return name in self.names


def respect_marks(services: Services) -> Adjust:
    """Points marked "not an anomaly" (from an alert's link) are not flagged again, and points
    like them are damped, as in a data set's runs. The marks of a series are read only when
    it has some: which series have is read at most once a second (a round scores many
    series, most of them never marked), so a new mark counts from the next second on."""
    marks = services.feedback_store
    marked = _MarkedSeries(marks)

    def adjust(series: Series, scored: pd.DataFrame) -> pd.DataFrame:
        if series.name not in marked:
            return scored
        return apply_feedback(scored, marks.marks(LIVE, series.name))

    return adjust


def live_worker(services: Services, shard: Shard = WHOLE) -> LiveWorker:
    """The scoring worker over the live store of `services` (not started), for the series of
    `shard`."""
    store = services.live_store
    return LiveWorker(
        store,
        scorer_factory(services),
        late_window=late_window(services.settings),
        on_scored=alert_on_scores(services),
        adjust=respect_marks(services),
        shard=shard,
    )


#: How much lower the scoring processes' CPU priority is than the web process': when the
#: cores are busy, pages and ingest (which never loses a point) come first, and scoring,
#: which reads what is waiting, catches up.
SCORING_NICENESS = 5


class ScoringProcess:
    """A live scoring worker in a process of its own, so that scoring and ingest do not take
    turns on one interpreter lock; it scores the series of `shard`. Ingest wakes it with
    `notify`; it reads everything else from the live store, and stops when the process that
    started it is gone."""

    def __init__(self, config: Settings, shard: Shard = WHOLE) -> None:
        context = multiprocessing.get_context("spawn")
        self._wake = context.Event()
        self._process = context.Process(
            target=_score_until_orphaned,
            args=(self._wake, os.getpid(), config, shard),
            name=f"vigil-live-scoring-{shard.index}",
            daemon=True,
        )

    def start(self) -> ScoringProcess:
        self._process.start()
        return self

    def notify(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10) -> None:
        self._process.terminate()
        self._process.join(timeout)


class ScoringProcesses:
    """`count` scoring processes, the live series split between them (`Shard`): the points
    of many series are scored on as many cores. Ingest wakes them all with `notify`."""

    def __init__(self, config: Settings, count: int) -> None:
        self._processes = [ScoringProcess(config, Shard(k, count)) for k in range(count)]

    def start(self) -> ScoringProcesses:
        for process in self._processes:
            process.start()
        return self

    def notify(self) -> None:
        for process in self._processes:
            process.notify()

    def stop(self, timeout: float = 10) -> None:
        for process in self._processes:
            process.stop(timeout)


def _score_until_orphaned(wake, parent: int, config: Settings, shard: Shard) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if hasattr(os, "nice"):  # a busy machine serves pages and takes points in first
        os.nice(SCORING_NICENESS)
    worker = live_worker(Services(config), shard).start()
    try:
        while os.getppid() == parent:
            if wake.wait(1.0):
                wake.clear()
                worker.notify()
    finally:
        worker.stop()
