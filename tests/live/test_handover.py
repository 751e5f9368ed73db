"""Celery workers' scoring slices: each goes on from the state the last one saved, and a slice
that fails halfway leaves nothing half done."""

from __future__ import annotations

import numpy as np
import pytest

from tests.live.test_scoring import LATE, batch
from tests.settings import make_settings
from vigil.detection import make_detector
from vigil.detection.synthetic import seasonal_series
from vigil.live.queue import WHOLE, Shard
from vigil.live.store import LiveStore
from vigil.services import Services
from vigil.workers import tasks


@pytest.fixture
def config(tmp_path, database, monkeypatch):
    monkeypatch.setattr(tasks, "_scoring", {})
    monkeypatch.setattr(tasks, "SCORING_IDLE", 0.01)
    return make_settings(tmp_path, database_url=database.url, model_key="k" * 32)


def test_a_slice_that_fails_halfway_is_scored_again_from_the_saved_state(
    config, database, monkeypatch
):
    frame = seasonal_series(n=3000, seed=8)
    frame.loc[2500, "value"] += 12
    store = LiveStore(database)
    store.add("pump", batch(frame.iloc[:1500]), late_window=LATE)
    assert tasks.score_slice(Services(config), 0.2) == 1500

    store.add("pump", batch(frame.iloc[1500:]), late_window=LATE)
    real = LiveStore.write_many
    monkeypatch.setattr(LiveStore, "write_many", lambda *_a, **_k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        tasks.score_slice(Services(config), 0.2)  # the scorer moved on, its scores were not stored
    assert tasks._scoring[WHOLE].worker is None
    monkeypatch.setattr(LiveStore, "write_many", real)
    tasks._scoring[WHOLE].generation = "another worker's"  # as if the next slice ran elsewhere

    assert tasks.score_slice(Services(config), 0.2) == 1500

    whole = make_detector("auto").score_online(frame)
    scores = store.scores("pump")
    assert scores["scored"].notna().all()
    np.testing.assert_allclose(scores["severity"], whole["severity"], equal_nan=True)
    assert scores["is_anomaly"].tolist() == whole["is_anomaly"].tolist()


def test_each_shard_goes_on_from_its_own_saved_state(config, database):
    frame = seasonal_series(n=2000, seed=9)
    store = LiveStore(database)
    names = [f"pump-{k}" for k in range(4)]
    for name in names:
        store.add(name, batch(frame.iloc[:1000]), late_window=LATE)
    services = Services(config)
    halves = [Shard(0, 2), Shard(1, 2)]
    first = [tasks.score_slice(services, 0.2, shard=shard) for shard in halves]
    assert sum(first) == 4000
    assert 0 not in first  # each shard scored its own series

    states = services.scorer_states
    ids = {series.name: series.id for series in store.series()}
    for shard in halves:
        assert set(states.load(shard).states) == {i for i in ids.values() if shard.holds(i)}
    assert states.generation(halves[0]) != states.generation(halves[1])

    for name in names:
        store.add(name, batch(frame.iloc[1000:]), late_window=LATE)
    tasks._scoring.clear()  # the next slices run on another worker: each loads its shard
    assert sum(tasks.score_slice(services, 0.2, shard=shard) for shard in halves) == 4000

    whole = make_detector("auto").score_online(frame)
    for name in names:
        scores = store.scores(name)
        assert scores["scored"].notna().all()
        assert scores["is_anomaly"].tolist() == whole["is_anomaly"].tolist()
