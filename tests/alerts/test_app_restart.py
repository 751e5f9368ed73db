"""`vigil run` killed while its worker is sending, then started again: the email goes once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from email.message import EmailMessage

import pytest

from tests.alerts.smtp_server import Recorder, free_port, start_server
from tests.processes import wait_until
from tests.settings import server_environment
from vigil.alerts.outbox import Outbox
from vigil.storage.database import sqlite_url
from vigil.storage.opening import open_database


class Stalling(Recorder):
    async def handle_RCPT(self, server, session, envelope, address, options):
        await asyncio.sleep(120)
        envelope.rcpt_tos.append(address)
        return "250 OK"


def serve(data_dir, smtp_port: int) -> subprocess.Popen:
    env = server_environment(
        data_dir=data_dir,
        port=free_port(),
        demo=False,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
    )
    return subprocess.Popen(
        [sys.executable, "-m", "vigil.cli", "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


@pytest.mark.slow  # starts and kills whole `vigil run` servers: make test-team runs it
def test_the_app_killed_mid_send_sends_the_email_once_after_a_restart(tmp_path):
    outbox = Outbox(open_database(sqlite_url(tmp_path / "vigil.sqlite")))  # the app's
    message = EmailMessage()
    message["To"] = "ops@example.org"
    message["Subject"] = "latency_ms is 6 deviations high"
    message.set_content("body")
    outbox.add(message)

    stalling = start_server(Stalling())
    app = serve(tmp_path, stalling.port)
    try:
        assert wait_until(lambda: outbox.counts()["sending"] == 1, timeout=60)
        os.killpg(app.pid, signal.SIGKILL)  # the app and everything it started
        app.wait(10)
    finally:
        stalling.stop()

    recorder = Recorder()
    server = start_server(recorder)
    again = serve(tmp_path, server.port)
    try:
        assert wait_until(lambda: len(recorder.received) == 1, timeout=60)
        time.sleep(6)  # more delivery rounds: nothing is sent twice
    finally:
        os.killpg(again.pid, signal.SIGKILL)
        again.wait(10)
        server.stop()
    assert len(recorder.received) == 1
    assert recorder.received[0]["Subject"] == "latency_ms is 6 deviations high"
    assert outbox.counts() == {"pending": 0, "sending": 0, "sent": 1, "failed": 0}
