"""`vigil run` serves with a production server: idle, half-sent connections neither starve
the requests of others nor stay open."""

from __future__ import annotations

import os
import signal
import socket

import pytest
import requests

from tests.alerts.smtp_server import free_port
from tests.processes import start_vigil, stop, wait_until
from tests.settings import server_environment

IDLE = 200

pytestmark = pytest.mark.slow


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).ok
    except requests.RequestException:
        return False


@pytest.fixture
def served(tmp_path):
    port = free_port()
    env = server_environment(
        data_dir=tmp_path, port=port, demo=False, live_scoring=False, idle_timeout_seconds=2
    )
    app = start_vigil(env, "run")
    url = f"http://127.0.0.1:{port}"
    assert wait_until(lambda: _answers(f"{url}/_dash-layout"), timeout=90)
    yield port, url, app
    stop(app, signal.SIGKILL)


def test_idle_half_sent_connections_do_not_block_others_and_are_closed(served):
    port, url, _app = served
    idle = []
    for _ in range(IDLE):
        connection = socket.create_connection(("127.0.0.1", port), timeout=120)
        connection.sendall(b"GET /_dash-layout HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # no end
        idle.append(connection)

    answer = requests.get(f"{url}/_dash-layout", timeout=30)
    assert answer.status_code == 200

    for connection in idle:
        connection.setblocking(False)
    open_ = set(idle)

    def all_closed() -> bool:
        for connection in list(open_):
            try:
                if connection.recv(1024) == b"":  # the server hung up on it
                    open_.discard(connection)
            except BlockingIOError:
                pass  # still open
            except ConnectionResetError:
                open_.discard(connection)
        return not open_

    try:
        assert wait_until(all_closed, timeout=60), f"{len(open_)} idle connections still open"
    finally:
        for connection in idle:
            connection.close()


def test_ctrl_c_stops_the_server(served):
    _port, url, app = served
    os.killpg(app.pid, signal.SIGINT)
    assert app.wait(30) == 0
    assert not _answers(f"{url}/_dash-layout")


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", b'{"output": 3}', b'{"output": "x.children", "inputs": "no"}'],
)
def test_a_malformed_callback_request_gets_a_400_in_json(served, body):
    _port, url, _app = served
    answer = requests.post(
        f"{url}/_dash-update-component",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert answer.status_code == 400
    assert answer.json() == {"error": "A callback request must be Dash's JSON object."}
