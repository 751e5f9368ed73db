"""`vigil run` killed while clients post points, then started again: no accepted point is lost,
and every point ends with the score it would have had without the crash."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pandas as pd

from detection import make_detector
from detection.synthetic import seasonal_series
from live.client import ApiError, points_body, post_points
from live.store import LiveStore
from tests.alerts.smtp_server import free_port
from tests.conftest import app_database
from tests.processes import wait_until

TOKEN = "restart-token"
BATCH = 250


def serve(data_dir, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "VIGIL_DATA_DIR": str(data_dir),
        "VIGIL_PORT": str(port),
        "VIGIL_DEMO": "false",
        "VIGIL_API_TOKENS": TOKEN,
    }
    env.pop("VIGIL_SMTP_HOST", None)
    return subprocess.Popen(
        [sys.executable, "-m", "vigil.cli", "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


class Sender:
    """Posts the frame batch by batch, remembering which batches the app acknowledged."""

    def __init__(self, url: str, frame: pd.DataFrame) -> None:
        self.url = url
        self.batches = [frame.iloc[i : i + BATCH] for i in range(0, len(frame), BATCH)]
        self.acknowledged: set[int] = set()
        self.failed: set[int] = set()

    def send(self, indexes, stop: threading.Event | None = None) -> None:
        for index in indexes:
            if stop is not None and stop.is_set():
                return
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


def test_the_app_killed_mid_ingest_keeps_every_accepted_point_and_scores_it(tmp_path):
    frame = seasonal_series(n=6000, seed=9)
    frame.loc[5500, "value"] += 12
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    sender = Sender(url, frame)

    app = serve(tmp_path, port)
    try:
        assert wait_until(lambda: _answers(url), timeout=60), "the app did not start"
        stop = threading.Event()
        posting = threading.Thread(target=sender.send, args=(range(len(sender.batches)), stop))
        posting.start()
        assert wait_until(lambda: len(sender.acknowledged) >= 8, timeout=60)
        os.killpg(app.pid, signal.SIGKILL)  # the app and everything it started, mid-stream
        app.wait(10)
        time.sleep(1)
        stop.set()
        posting.join(60)
    finally:
        if app.poll() is None:
            os.killpg(app.pid, signal.SIGKILL)
            app.wait(10)

    kept_before_restart = LiveStore(app_database(tmp_path)).scores("orders")
    acknowledged = pd.concat([sender.batches[i] for i in sorted(sender.acknowledged)])
    assert set(acknowledged["timestamp"]) <= set(kept_before_restart["timestamp"])
    assert len(sender.acknowledged) < len(sender.batches), "the kill came after the last batch"

    again = serve(tmp_path, port)
    try:
        assert wait_until(lambda: _answers(url), timeout=60), "the app did not start again"
        # The client retries everything not acknowledged; what did arrive counts as duplicate.
        sender.send(i for i in range(len(sender.batches)) if i not in sender.acknowledged)
        assert len(sender.acknowledged) == len(sender.batches)
        store = LiveStore(app_database(tmp_path))
        assert wait_until(lambda: store.scores("orders")["scored"].notna().all(), timeout=120)
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


def _answers(url: str) -> bool:
    try:
        post_points(url, TOKEN, "probe", b'{"points": []}', timeout=2)
    except ApiError as error:
        return error.status is not None
    return True
