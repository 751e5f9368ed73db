"""Vigil as a team runs it: two gunicorn workers, Celery workers for scoring and delivery,
Redis and Postgres, all real and on 127.0.0.1."""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

from tests.alerts.smtp_server import Recorder, free_port, start_server
from tests.processes import start_vigil as start
from tests.processes import stop, wait_until
from tests.services import celery_workers, redis_server
from tests.settings import server_environment
from vigil.alerts.outbox import Outbox
from vigil.alerts.rules import Rule, RuleStore
from vigil.client.api import ApiError, points_body, post_points
from vigil.detection import make_detector
from vigil.detection.synthetic import seasonal_series
from vigil.live.store import LiveStore
from vigil.storage.opening import open_database

pytestmark = pytest.mark.team  # slow: `make test-team` runs it

TOKEN = "team-token"


@pytest.fixture
def team(tmp_path, postgres_url):
    """Settings for a web server and its Celery workers sharing Redis and Postgres."""
    with redis_server(tmp_path) as redis_url:
        yield {
            "data_dir": tmp_path / "web",
            "database_url": postgres_url,
            "redis_url": redis_url,
            "demo": False,
            "api_tokens": TOKEN,
            "model_key": "a key the web and every worker share",
        }


def answers(url: str) -> bool:
    try:
        post_points(url, TOKEN, "probe", b'{"points": []}', timeout=2)
    except ApiError as error:
        return error.status is not None
    return True


def test_live_ingest_through_web_and_celery_workers_loses_and_doubles_nothing(team, tmp_path):
    """Two web workers take every point twice over (a client's retries). A Celery worker
    scores the first half; a second one starts and the first is killed, so the second takes
    over from the state the first saved. Every point is kept once and scored exactly as an
    uninterrupted run scores it, and no email goes out twice."""
    recorder = Recorder()
    smtp = start_server(recorder)
    port = free_port()
    env = server_environment(**team, port=port, smtp_host="127.0.0.1", smtp_port=smtp.port)
    database = open_database(team["database_url"])
    RuleStore(database).save(Rule("spikes", "c_*", ("ops@example.org",), group_minutes=0))

    frames = {f"c_{i}": seasonal_series(n=2000, seed=i) for i in range(6)}
    for frame in frames.values():
        frame.loc[1900, "value"] += 12

    def send(name: str, part: pd.DataFrame) -> tuple[int, int]:
        body = points_body(part["timestamp"], part["value"])
        first = post_points(url, TOKEN, name, body)
        again = post_points(url, TOKEN, name, body)
        return first["accepted"], again["duplicates"]

    def send_rows(rows: slice) -> list[tuple[int, int]]:
        with ThreadPoolExecutor(max_workers=12) as pool:
            return list(
                pool.map(
                    lambda name: [
                        send(name, frames[name].iloc[start : start + 200])
                        for start in range(rows.start, rows.stop, 200)
                    ],
                    frames,
                )
            )

    url = f"http://127.0.0.1:{port}"
    web = start(env, "run", "--workers", "2")
    first_worker = start(env, "worker", "--concurrency", "2")
    second_worker = None
    store = LiveStore(database)
    try:
        assert wait_until(lambda: answers(url), 60), "the web server did not start"
        answered = send_rows(slice(0, 1000))
        assert wait_until(lambda: store.summary()["unscored"].sum() == 0, 120)
        second_worker = start(env, "worker", "--concurrency", "2")
        # it is up, and idle: the first one holds the scoring chain
        assert wait_until(lambda: celery_workers(team["redis_url"]) == 2, 120)
        stop(first_worker, signal.SIGKILL)
        answered += send_rows(slice(1000, 2000))
        assert wait_until(
            lambda: all(store.scores(name)["scored"].notna().all() for name in frames), 180
        ), "points were left unscored"
        flagged = {name for name in frames if store.scores(name)["is_anomaly"].any()}
        outbox = Outbox(database)
        assert wait_until(lambda: outbox.counts()["sent"] >= len(flagged), 60)
        time.sleep(6)  # a further delivery round: nothing more goes out
    finally:
        for process in (web, first_worker, second_worker):
            if process is not None:
                stop(process)
        smtp.stop()

    parts = [part for series in answered for part in series]
    assert sum(accepted for accepted, _ in parts) == 12_000
    assert sum(duplicates for _, duplicates in parts) == 12_000
    for name, frame in frames.items():
        scores = store.scores(name)
        assert scores["timestamp"].tolist() == frame["timestamp"].tolist()
        whole = make_detector("auto").score_online(frame)
        np.testing.assert_allclose(scores["severity"], whole["severity"], equal_nan=True)
        assert scores["is_anomaly"].tolist() == whole["is_anomaly"].tolist()
        assert scores.loc[1900, "is_anomaly"]
    ids = [message["Message-ID"] for message in recorder.received]
    assert len(ids) == len(set(ids)) == outbox.counts()["sent"]
    subjects = [message["Subject"] for message in recorder.received]
    assert {name for name in flagged if any(name in subject for subject in subjects)} == flagged
