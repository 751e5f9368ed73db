"""The demo stream `vigil run` starts beside its server."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pandas as pd
from werkzeug.serving import make_server

from vigil.client.demo import SERIES, DemoStream
from vigil.services import current


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_demo_stream_waits_for_a_server_that_starts_after_it(dash_app, caplog):
    from tests.conftest import API_TOKEN

    caplog.set_level(logging.WARNING, logger="vigil.client.demo")
    port = free_port()
    stream = DemoStream(
        f"http://127.0.0.1:{port}", API_TOKEN, backfill=pd.Timedelta(seconds=30)
    ).start()
    time.sleep(0.5)  # the server is still starting
    server = make_server("127.0.0.1", port, dash_app.server, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        for _ in range(600):  # until the first points are stored
            if current().live_store.get(SERIES[1]) is not None:
                break
            time.sleep(0.1)
    finally:
        stream.stop()
        server.shutdown()

    assert current().live_store.get(SERIES[1]) is not None
    assert caplog.text == ""


def test_a_demo_stream_whose_server_never_answers_says_so_once(caplog):
    caplog.set_level(logging.WARNING, logger="vigil.client.demo")
    stream = DemoStream(f"http://127.0.0.1:{free_port()}", "any", wait=0.5)

    stream.run()  # returns: it gives up

    (record,) = caplog.records
    assert record.getMessage() == (
        f"demo stream: {stream.url} did not answer within 0.5 s; no demo points are sent."
    )
