"""`vigil run --workers 2`: gunicorn workers take points side by side, and the one scoring
process beside them scores them all."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.alerts.smtp_server import free_port
from tests.processes import start_vigil, stop
from tests.settings import server_environment
from vigil.client.api import ApiError, points_body, post_points
from vigil.detection.synthetic import seasonal_series
from vigil.live.store import LiveStore
from vigil.storage.opening import open_database

pytestmark = pytest.mark.team  # slow: `make test-team` runs it

TOKEN = "workers-token"


def children(pid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines())
        except (OSError, ValueError):
            continue
        if int(fields.get("PPid", "0").strip()) == pid:
            found.append(int(fields["Pid"].strip()))
    return found


def assert_every_worker_serves_the_page(url: str, dash_app) -> None:
    """Every worker serves the page's scripts from the start, also one that has not rendered
    the page itself (Dash learns which files it may serve when it renders the page)."""
    with dash_app.server.test_request_context("/"):
        scripts = re.findall(r'<script src="([^"]+)"', dash_app.index())  # the same files
    assert len(scripts) > 5

    def fetch(script: str) -> tuple[str, int]:
        with requests.Session() as fresh:  # a new connection: any worker may take it
            return script, fresh.get(f"{url}{script}", timeout=30).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:  # before anyone opened the page
        answers = list(pool.map(fetch, scripts * 2))
    assert [(script, status) for script, status in answers if status != 200] == []
    assert requests.get(f"{url}/", timeout=30).status_code == 200


def test_two_gunicorn_workers_keep_every_point_once_and_all_are_scored(
    tmp_path, database_url, dash_app
):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = server_environment(
        data_dir=tmp_path, database_url=database_url, port=port, demo=False, api_tokens=TOKEN
    )
    app = start_vigil(env, "run", "--workers", "2")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                post_points(url, TOKEN, "probe", b'{"points": []}', timeout=2)
                break
            except ApiError as error:
                if error.status is not None:  # it answered
                    break
            time.sleep(0.3)
        gunicorn = next(
            pid
            for pid in children(app.pid)
            if b"gunicorn" in Path(f"/proc/{pid}/cmdline").read_bytes()
        )
        # the first worker may answer before the second has booted: wait for both
        deadline = time.monotonic() + 60
        while len(children(gunicorn)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(children(gunicorn)) == 2
        assert_every_worker_serves_the_page(url, dash_app)

        frames = {f"w_{i}": seasonal_series(n=2000, seed=i) for i in range(8)}
        for frame in frames.values():
            frame.loc[1900, "value"] += 12
        jobs = [
            (name, frame.iloc[start : start + 200])
            for name, frame in frames.items()
            for start in range(0, 2000, 200)
        ]

        def send(job):
            name, part = job
            body = points_body(part["timestamp"], part["value"])
            first = post_points(url, TOKEN, name, body)
            again = post_points(url, TOKEN, name, body)  # a client's retry
            return first["accepted"], again["duplicates"]

        # each series' batches in order, the series side by side on 32 connections
        by_series = [[job for job in jobs if job[0] == name] for name in frames]
        with ThreadPoolExecutor(max_workers=32) as pool:
            answers = [
                answer
                for series_answers in pool.map(lambda js: [send(j) for j in js], by_series)
                for answer in series_answers
            ]
        assert sum(accepted for accepted, _ in answers) == 16_000
        assert sum(duplicates for _, duplicates in answers) == 16_000

        store = LiveStore(open_database(database_url))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if all(store.scores(name)["scored"].notna().all() for name in frames):
                break
            time.sleep(0.5)
        for name, frame in frames.items():
            scores = store.scores(name)
            assert scores["timestamp"].tolist() == frame["timestamp"].tolist()
            assert scores["scored"].notna().all()
            assert scores.loc[1900, "is_anomaly"]
    finally:
        stop(app)
