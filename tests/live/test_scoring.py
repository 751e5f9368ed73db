"""The live scoring worker: rounds, late points, corrections and settings that cannot run."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from vigil import live
from vigil.detection import DETECTORS, make_detector
from vigil.detection.stream import OnlineScorer
from vigil.detection.synthetic import seasonal_series
from vigil.detection.zscore import ZScoreDetector
from vigil.live.points import read_batch
from vigil.live.queue import Shard
from vigil.live.scoring import LiveWorker
from vigil.live.states import ScorerStates, StateError
from vigil.live.store import LiveStore
from vigil.storage.database import Database

LATE = pd.Timedelta(hours=1)


def batch(frame: pd.DataFrame):
    return read_batch(
        {
            "points": [
                {"timestamp": t.isoformat(), "value": float(v)}
                for t, v in zip(frame["timestamp"], frame["value"], strict=True)
            ]
        }
    )


def worker(store: LiveStore, **options) -> LiveWorker:
    return LiveWorker(
        store,
        lambda series: OnlineScorer(make_detector(series.detector, series.params)),
        late_window=LATE,
        **options,
    )


@pytest.fixture
def frame() -> pd.DataFrame:
    frame = seasonal_series(n=3000, seed=4)
    frame.loc[2960, "value"] += 12
    return frame


def stored(store: LiveStore, name: str) -> pd.DataFrame:
    return store.scores(name)


@pytest.mark.parametrize("checkpoint_every", [200, 100_000])
def test_late_points_get_the_scores_they_would_have_had_in_order(
    database, frame, monkeypatch, checkpoint_every
):
    monkeypatch.setattr(live.scoring, "CHECKPOINT_POINTS", checkpoint_every)
    store = LiveStore(database)
    scoring = worker(store)
    for start in range(0, 3000, 500):
        store.add("in_order", batch(frame.iloc[start : start + 500]), late_window=LATE)
    scoring.round()
    held = frame.index[2945:2985:3]  # every third point of 40 minutes, the spike among them
    sent = frame.drop(index=held)
    for start in range(0, len(sent), 700):
        store.add("late", batch(sent.iloc[start : start + 700]), late_window=LATE)
        scoring.round()
    store.add("late", batch(frame.loc[held]), late_window=LATE)
    scored = scoring.round()

    assert scored >= len(held)
    pd.testing.assert_frame_equal(
        stored(store, "late").drop(columns=["received", "scored"]),
        stored(store, "in_order").drop(columns=["received", "scored"]),
    )
    assert stored(store, "late")["is_anomaly"].iloc[2960]
    rescored = scoring._scorers[store.get("late").id].rescored
    if checkpoint_every == 200:  # went back to a checkpoint, not to the start
        assert rescored < 400


def test_flagged_points_are_handed_on_once_scored(database, frame):
    store = LiveStore(database)
    handed = []
    scoring = worker(store, on_scored=lambda series, scored: handed.append((series, scored)))
    store.add("cpu", batch(frame), late_window=LATE)
    scoring.round()

    ((series, scored),) = handed
    assert series.name == "cpu"
    assert series.scored_by == "auto"
    whole = make_detector("auto").score_online(frame)
    flagged = scored.loc[scored["is_anomaly"], "timestamp"].tolist()
    assert flagged == whole.loc[whole["is_anomaly"], "timestamp"].tolist()
    assert frame["timestamp"][2960] in flagged
    assert scoring.round() == 0  # nothing new, nothing handed on
    assert len(handed) == 1


def test_settings_that_cannot_score_a_series_are_reported_and_fixed_by_new_ones(database, frame):
    store = LiveStore(database)
    scoring = worker(store)
    store.configure("cpu", detector="zscore", params={"window": 2})
    store.add("cpu", batch(frame), late_window=LATE)
    scoring.round()
    assert "window" in store.get("cpu").error
    assert store.scores("cpu")["scored"].isna().all()

    store.configure("cpu", detector="zscore", params={"threshold": 6})
    scoring.round()

    assert store.get("cpu").error is None
    scores = store.scores("cpu")
    assert scores["scored"].notna().all()
    assert scores.loc[scores["is_anomaly"], "timestamp"].tolist() == [frame["timestamp"][2960]]


def test_workers_that_split_the_series_score_each_once_as_one_worker_would(database, frame):
    store = LiveStore(database)
    names = [f"host-{k}" for k in range(5)]
    handed = []
    shards = [
        worker(store, shard=Shard(k, 2), on_scored=lambda series, _s: handed.append(series.name))
        for k in range(2)
    ]
    for start in range(0, 3000, 1000):
        for name in names:
            store.add(name, batch(frame.iloc[start : start + 1000]), late_window=LATE)
        first = shards[0].round()  # the first shard's series only; the others wait
        assert 0 < first < 1000 * len(names)
        assert shards[1].round() + first == 1000 * len(names)

    assert sorted(handed) == sorted(names * 3)  # each batch handed on by one worker, once
    whole = make_detector("auto").score_online(frame)
    for name in names:
        scores = store.scores(name)
        assert scores["scored"].notna().all()
        np.testing.assert_array_equal(scores["is_anomaly"], whole["is_anomaly"])
    ids = {series.name: series.id for series in store.series()}
    assert {name for name in names if Shard(0, 2).holds(ids[name])} not in (set(), set(names))
    with pytest.raises(ValueError, match="shard 2 of 2"):
        Shard(2, 2)


def test_a_restarted_worker_scores_what_came_while_it_was_down(database, frame):
    store = LiveStore(database)
    worker(store).round()
    store.add("cpu", batch(frame.iloc[:2000]), late_window=LATE)
    worker(store).round()  # scores the first 2,000, then "crashes"
    store.add("cpu", batch(frame.iloc[2000:]), late_window=LATE)

    worker(store).round()

    whole = make_detector("auto").score_online(frame)
    scores = store.scores("cpu")
    assert scores["scored"].notna().all()
    np.testing.assert_allclose(scores["severity"], whole["severity"], equal_nan=True)


def test_a_worker_going_on_from_saved_state_scores_as_the_one_that_saved_it(
    database, frame, monkeypatch
):
    """What Celery workers do at a hand-over: the first saves its scorers, the second loads
    them and goes on, late points included, as if one worker had scored everything."""
    monkeypatch.setattr(live.scoring, "CHECKPOINT_POINTS", 200)
    store = LiveStore(database)
    states = ScorerStates(database, b"shared key")
    store.configure("broken", detector="zscore", params={"window": 2})
    first = worker(store)
    for start in range(0, 2400, 600):
        store.add("cpu", batch(frame.iloc[start : start + 600]), late_window=LATE)
        store.add("broken", batch(frame.iloc[start : start + 600]), late_window=LATE)
        first.round()
    states.save(first.take_state())

    second = worker(store)
    saved = ScorerStates(Database(database.url), b"shared key").load()
    second.restore(saved.states)
    assert second.round() == 0  # nothing new: nothing scored again
    held = frame.index[2950:2970:2]
    store.add("cpu", batch(frame.iloc[2400:].drop(index=held)), late_window=LATE)
    second.round()
    store.add("cpu", batch(frame.loc[held]), late_window=LATE)  # late, the spike among them
    second.round()

    whole = make_detector("auto").score_online(frame)
    scores = store.scores("cpu")
    assert scores["scored"].notna().all()
    np.testing.assert_allclose(scores["severity"], whole["severity"], equal_nan=True)
    assert scores["is_anomaly"].tolist() == whole["is_anomaly"].tolist()
    # its episodes too: the state of the episodes went over with the scorer's
    assert scores["episode"].tolist() == whole["episode"].tolist()
    assert scores["onset"].tolist() == whole["onset"].tolist()
    assert second._scorers[store.get("cpu").id].rescored < 300  # from a checkpoint it loaded
    assert store.scores("broken")["scored"].isna().all()  # still waiting for new settings


def test_a_saved_state_not_signed_with_the_key_is_refused_unread(database, frame):
    store = LiveStore(database)
    scoring = worker(store)
    store.add("cpu", batch(frame.iloc[:500]), late_window=LATE)
    scoring.round()
    ScorerStates(database, b"the real key").save(scoring.take_state())

    with pytest.raises(StateError, match="not signed by this key"):
        ScorerStates(database, b"another key").load()
    with database.write() as connection:
        connection.execute(text("UPDATE live_scorers SET state = :evil"), {"evil": b"cos\nsystem"})
    with pytest.raises(StateError):
        ScorerStates(database, b"the real key").load()


class _BuggyDetector(ZScoreDetector):
    """A detector with a bug that only some series meet."""

    def _score_online(self, frame, state):
        raise RuntimeError("a bug met by this series\nsecond line")


def test_a_series_whose_scoring_fails_unexpectedly_is_marked_broken_and_the_others_go_on(
    database, frame, monkeypatch, caplog
):
    monkeypatch.setitem(DETECTORS, "buggy", _BuggyDetector)
    store = LiveStore(database)
    scoring = worker(store)
    store.configure("bad", detector="buggy")
    store.add("bad", batch(frame.iloc[:50]), late_window=LATE)
    store.add("good", batch(frame.iloc[:500]), late_window=LATE)

    scoring.round()
    store.add("bad", batch(frame.iloc[50:100]), late_window=LATE)
    store.add("good", batch(frame.iloc[500:600]), late_window=LATE)
    scoring.round()
    scoring.round()

    assert store.scores("good")["scored"].notna().all()
    assert store.scores("bad")["scored"].isna().all()
    assert store.get("bad").error == ("scoring failed (RuntimeError: a bug met by this series)")
    tracebacks = [record for record in caplog.records if record.exc_info]
    assert len(tracebacks) == 1
    assert "'bad'" in tracebacks[0].getMessage()

    store.configure("bad", detector="zscore")  # new settings: scored afresh
    scoring.round()
    assert store.get("bad").error is None
    assert store.scores("bad")["scored"].notna().all()


@pytest.mark.slow
def test_failing_rounds_wait_longer_each_time_and_log_one_traceback(database, caplog):
    store = LiveStore(database)
    with database.write() as connection:
        connection.execute(text("DROP TABLE points"))
    scoring = worker(store, interval=0.05).start()
    try:
        deadline = time.monotonic() + 60
        while scoring.failures < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        scoring.stop()

    assert scoring.failures >= 4
    assert [scoring.backoff() for scoring.failures in (1, 2, 3, 4, 40)] == [
        0.05,
        0.1,
        0.2,
        0.4,
        live.scoring.MOST_BACKOFF,
    ]
    failed = [record for record in caplog.records if "round failed" in record.getMessage()]
    assert len(failed) >= 4
    assert sum(1 for record in failed if record.exc_info) == 1
    assert all("\n" not in record.getMessage() for record in failed)
