"""`vigil run` killed while clients post points, then started again: no accepted point is lost,
and every point ends with the score and episode it would have had without the crash. The web
process, which holds no scorer, shows what the scoring process wrote: a new series learning."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import urllib.request

import numpy as np
import pandas as pd
import pytest

from tests.alerts.smtp_server import free_port
from tests.conftest import app_database
from tests.processes import wait_until
from tests.settings import server_environment
from vigil.client.api import ApiError, points_body, post_points
from vigil.detection import make_detector
from vigil.detection.synthetic import seasonal_series
from vigil.live.store import LiveStore

TOKEN = "restart-token"
BATCH = 250
#: The app is killed once this many batches are acknowledged, and before the next is sent.
KILL_AFTER = 8


def serve(data_dir, port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "vigil.cli", "run"],
        env=server_environment(data_dir=data_dir, port=port, demo=False, api_tokens=TOKEN),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


class Pause:
    """Holds the sender before batch `before` until the test says go: the kill lands there
    whichever thread the machine runs first."""

    def __init__(self, before: int) -> None:
        self.before = before
        self.reached = threading.Event()
        self.resume = threading.Event()

    def wait(self) -> None:
        self.reached.set()
        assert self.resume.wait(120), "the test never let the sender go on"


class Sender:
    """Posts the frame batch by batch, remembering which batches the app acknowledged."""

    def __init__(self, url: str, frame: pd.DataFrame) -> None:
        self.url = url
        self.batches = [frame.iloc[i : i + BATCH] for i in range(0, len(frame), BATCH)]
        self.acknowledged: set[int] = set()
        self.failed: set[int] = set()

    def send(self, indexes, pause: Pause | None = None) -> None:
        for index in indexes:
            if pause is not None and index == pause.before:
                pause.wait()
            part = self.batches[index]
            try:
                answer = post_points(
                    self.url, TOKEN, "orders", points_body(part["timestamp"], part["value"])
                )
            except ApiError:
                self.failed.add(index)
                continue
            assert answer["rejected"] == 0, answer
            self.acknowledged.add(index)
            self.failed.discard(index)


@pytest.mark.slow  # starts and kills whole `vigil run` servers: make test-team runs it
def test_the_app_killed_mid_ingest_keeps_every_accepted_point_and_scores_it(tmp_path):
    frame = seasonal_series(n=6000, seed=9)
    frame.loc[5500, "value"] += 12
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    sender = Sender(url, frame)

    app = serve(tmp_path, port)
    try:
        assert wait_until(lambda: _answers(url), timeout=60), "the app did not start"
        pause = Pause(before=KILL_AFTER)
        posting = threading.Thread(target=sender.send, args=(range(len(sender.batches)), pause))
        posting.start()
        assert pause.reached.wait(120), "the sender did not get through its first batches"
        os.killpg(app.pid, signal.SIGKILL)  # the app and everything it started, mid-stream
        app.wait(10)
        pause.resume.set()  # the rest of the stream meets a dead app
        posting.join(120)
        assert not posting.is_alive()
    finally:
        if app.poll() is None:
            os.killpg(app.pid, signal.SIGKILL)
            app.wait(10)

    kept_before_restart = LiveStore(app_database(tmp_path)).scores("orders")
    acknowledged = pd.concat([sender.batches[i] for i in sorted(sender.acknowledged)])
    assert set(acknowledged["timestamp"]) <= set(kept_before_restart["timestamp"])
    assert sender.acknowledged == set(range(KILL_AFTER))
    assert sender.failed == set(range(KILL_AFTER, len(sender.batches)))

    again = serve(tmp_path, port)
    try:
        assert wait_until(lambda: _answers(url), timeout=60), "the app did not start again"
        # The client retries everything not acknowledged; what did arrive counts as duplicate.
        sender.send(i for i in range(len(sender.batches)) if i not in sender.acknowledged)
        assert len(sender.acknowledged) == len(sender.batches)
        store = LiveStore(app_database(tmp_path))
        assert wait_until(lambda: store.scores("orders")["scored"].notna().all(), timeout=120)
        learnt = described(url, "orders")
        assert (learnt["learning_left_points"], learnt["learning_until"]) == (0, None)
        fresh = seasonal_series(n=100, seed=2)  # minute points: a day of them to learn
        post_points(url, TOKEN, "fresh", points_body(fresh["timestamp"], fresh["value"]))
        assert wait_until(lambda: described(url, "fresh")["learning_left_points"], 120)
        learning = described(url, "fresh")
        assert (learning["status"], learning["learning_left_points"]) == ("learning", 1340)
    finally:
        os.killpg(again.pid, signal.SIGKILL)
        again.wait(10)

    scores = LiveStore(app_database(tmp_path)).scores("orders")
    assert scores["timestamp"].tolist() == frame["timestamp"].tolist()
    np.testing.assert_allclose(scores["value"], frame["value"])
    whole = make_detector("auto").score_online(frame)
    np.testing.assert_allclose(scores["severity"], whole["severity"], equal_nan=True)
    assert scores["is_anomaly"].astype(bool).tolist() == whole["is_anomaly"].tolist()
    assert scores.loc[5500, "is_anomaly"]
    assert scores["episode"].tolist() == whole["episode"].tolist()
    assert scores["onset"].tolist() == whole["onset"].tolist()


def described(url: str, series: str) -> dict:
    """GET /api/v1/series/<series>: the series as the web process sees it."""
    request = urllib.request.Request(
        f"{url}/api/v1/series/{series}", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _answers(url: str) -> bool:
    try:
        post_points(url, TOKEN, "probe", b'{"points": []}', timeout=2)
    except ApiError as error:
        return error.status is not None
    return True
