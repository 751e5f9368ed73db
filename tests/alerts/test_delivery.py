"""Delivery through a real SMTP server: nothing lost, nothing sent twice."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from email.message import EmailMessage

import pytest
from sqlalchemy import text

from tests.alerts.smtp_server import (
    PASSWORD,
    USER,
    Certificates,
    Recorder,
    free_port,
    start_server,
)
from vigil.alerts.delivery import deliver_due
from vigil.alerts.outbox import Outbox
from vigil.alerts.smtp import SmtpConfig

BACKOFF = (60.0,)


def email(
    number: int = 1, subject: str = "Vigil: latency_ms is 5.2 deviations high"
) -> EmailMessage:
    message = EmailMessage()
    message["To"] = "ops@example.org, lead@example.org"
    message["Subject"] = f"{subject} #{number}"
    message.set_content(f"Alert number {number}.")
    return message


@pytest.fixture
def t0() -> float:
    """A moment by which every email the test adds is due."""
    return time.time() + 5


@pytest.fixture
def outbox(database) -> Outbox:
    return Outbox(database)


@pytest.fixture
def certificates(tmp_path) -> Certificates:
    return Certificates(tmp_path)


@pytest.mark.parametrize("security", ["none", "starttls", "ssl"])
def test_mail_is_delivered_plain_starttls_and_ssl_with_a_login(outbox, certificates, security):
    recorder = Recorder()
    server = start_server(recorder, security=security, certificates=certificates, auth=True)
    config = SmtpConfig(
        "127.0.0.1",
        server.port,
        security=security,
        username=USER,
        password=PASSWORD,
        sender="vigil@example.org",
        ca_file=certificates.ca_file,
    )
    try:
        for number in (1, 2):
            outbox.add(email(number))
        report = deliver_due(outbox, config)
    finally:
        server.stop()

    assert (report.sent, report.retrying, report.failed) == (2, 0, 0)
    assert [m["Subject"] for m in recorder.received] == [
        "Vigil: latency_ms is 5.2 deviations high #1",
        "Vigil: latency_ms is 5.2 deviations high #2",
    ]
    assert recorder.received[0]["From"] == "vigil@example.org"
    assert outbox.counts() == {"pending": 0, "sending": 0, "sent": 2, "failed": 0}
    assert deliver_due(outbox, config).sent == 0  # nothing sent twice


def test_a_refused_login_keeps_the_mail_and_says_why_without_the_password(t0, outbox, certificates):
    recorder = Recorder()
    server = start_server(recorder, auth=True)
    wrong = SmtpConfig("127.0.0.1", server.port, username=USER, password="not-the-password")
    try:
        outbox.add(email())
        report = deliver_due(outbox, wrong, now=t0, backoff=BACKOFF)
        (kept,) = outbox.emails()
        fixed = SmtpConfig("127.0.0.1", server.port, username=USER, password=PASSWORD)
        assert deliver_due(outbox, fixed, now=t0 + 30, backoff=BACKOFF).sent == 0  # backing off
        later = deliver_due(outbox, fixed, now=t0 + 61, backoff=BACKOFF)
    finally:
        server.stop()

    assert report.retrying == 1
    assert kept.status == "pending"
    assert kept.last_error.startswith("login refused: 535")
    assert "not-the-password" not in kept.last_error
    assert "not-the-password" not in repr(wrong)
    assert later.sent == 1
    assert len(recorder.received) == 1


def test_a_server_that_is_down_at_first_gets_the_mail_when_it_is_up(t0, outbox):
    port = free_port()
    config = SmtpConfig("127.0.0.1", port, timeout=3)
    outbox.add(email())
    down = deliver_due(outbox, config, now=t0, backoff=BACKOFF)
    assert down.retrying == 1
    assert "cannot reach 127.0.0.1" in outbox.emails()[0].last_error

    recorder = Recorder()
    server = start_server(recorder, port=port)
    try:
        up = deliver_due(outbox, config, now=t0 + 61, backoff=BACKOFF)
    finally:
        server.stop()
    assert up.sent == 1
    assert len(recorder.received) == 1


def test_a_451_is_retried_and_a_550_is_kept_as_failed_with_the_reply(t0, outbox):
    recorder = Recorder(replies=["451 4.3.0 Mailbox busy, try again later"])
    server = start_server(recorder)
    config = SmtpConfig("127.0.0.1", server.port)
    try:
        outbox.add(email(1))
        first = deliver_due(outbox, config, now=t0, backoff=BACKOFF)
        second = deliver_due(outbox, config, now=t0 + 61, backoff=BACKOFF)
        recorder.replies.append("550 5.1.1 No such user here")
        outbox.add(email(2), now=t0 + 61)
        refused = deliver_due(outbox, config, now=t0 + 62, backoff=BACKOFF)
        again = deliver_due(outbox, config, now=t0 + 9999, backoff=BACKOFF)
    finally:
        server.stop()

    assert (first.retrying, second.sent) == (1, 1)
    assert refused.failed == 1
    assert again == type(again)(0, 0, 0)
    failed = outbox.emails("failed")
    assert failed[0].last_error == "550 5.1.1 No such user here"
    assert [m["Subject"].endswith("#1") for m in recorder.received] == [True]


def test_a_sender_killed_mid_send_is_resumed_after_a_restart_and_nothing_is_doubled(
    outbox, tmp_path
):
    """The first server answers so slowly that the sending process is killed while waiting;
    the next round on this machine sees the process is gone and sends the email, once."""
    import asyncio

    class Slow(Recorder):
        async def handle_RCPT(self, server, session, envelope, address, options):
            await asyncio.sleep(30)
            envelope.rcpt_tos.append(address)
            return "250 OK"

    slow = start_server(Slow())
    outbox.add(email())
    script = textwrap.dedent(
        f"""
        from vigil.alerts.delivery import deliver_due
        from vigil.alerts.outbox import Outbox
        from vigil.alerts.smtp import SmtpConfig
        from vigil.storage.database import Database
        deliver_due(Outbox(Database({outbox.database.url!r})), SmtpConfig("127.0.0.1", {slow.port}))
        """
    )
    sender = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 20
        while outbox.counts()["sending"] == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert outbox.counts()["sending"] == 1
        sender.kill()
        sender.wait(10)
    finally:
        slow.stop()

    recorder = Recorder()
    server = start_server(recorder)
    config = SmtpConfig("127.0.0.1", server.port)
    try:
        resumed = deliver_due(outbox, config)  # its sender's process is gone: no lease to wait
        after = deliver_due(outbox, config, now=time.time() + 9999)
    finally:
        server.stop()
    assert resumed.sent == 1
    assert after.sent == 0
    assert len(recorder.received) == 1
    assert outbox.counts()["sent"] == 1


def test_the_worker_delivers_what_arrives_in_the_outbox_until_stopped(outbox):
    from vigil.alerts.delivery import DeliveryWorker

    recorder = Recorder()
    server = start_server(recorder)
    worker = DeliveryWorker(outbox, lambda: SmtpConfig("127.0.0.1", server.port), interval=0.1)
    worker.start()
    try:
        outbox.add(email(7))
        deadline = time.monotonic() + 20
        while not recorder.received and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.stop()
        server.stop()
    assert not worker.is_alive()
    assert [m["Subject"].endswith("#7") for m in recorder.received] == [True]
    assert outbox.counts()["sent"] == 1


def test_a_failed_tls_handshake_delays_the_mail(t0, outbox, certificates, tmp_path):
    recorder = Recorder()
    server = start_server(recorder, security="ssl", certificates=certificates)
    untrusted = SmtpConfig("127.0.0.1", server.port, security="ssl")  # does not know the CA
    trusted = replace(untrusted, ca_file=certificates.ca_file)
    try:
        outbox.add(email())
        failed = deliver_due(outbox, untrusted, now=t0, backoff=BACKOFF)
        error = outbox.emails()[0].last_error
        later = deliver_due(outbox, trusted, now=t0 + 61, backoff=BACKOFF)
    finally:
        server.stop()
    assert failed.retrying == 1
    assert error.startswith("TLS failed: CERTIFICATE_VERIFY_FAILED")
    assert later.sent == 1
    assert len(recorder.received) == 1


def test_a_server_that_never_answers_times_out_and_the_mail_waits(t0, outbox):
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()  # accepts connections, never says a word
    config = SmtpConfig("127.0.0.1", silent.getsockname()[1], timeout=1)
    try:
        outbox.add(email())
        report = deliver_due(outbox, config, now=t0, backoff=BACKOFF)
    finally:
        silent.close()
    assert report.retrying == 1
    assert outbox.emails()[0].last_error.startswith("no answer from 127.0.0.1")
    assert outbox.counts()["pending"] == 1


def test_a_claim_from_another_machine_is_honoured_until_its_lease_runs_out(t0, outbox):
    outbox.add(email())
    (claimed,) = outbox.claim(now=t0, lease=300)
    with outbox.database.write() as connection:
        connection.execute(text("UPDATE outbox SET claimed_by = 'elsewhere:4242'"))
    assert outbox.claim(now=t0 + 299, lease=300) == []  # still being sent over there
    (again,) = outbox.claim(now=t0 + 301, lease=300)
    assert again.id == claimed.id


def test_two_workers_delivering_at_once_send_every_email_exactly_once(outbox):
    """Two processes, as two Celery workers on two machines would, deliver round after round
    from one outbox while emails keep arriving."""
    recorder = Recorder()
    server = start_server(recorder)
    for number in range(60):
        outbox.add(email(number))
    script = textwrap.dedent(
        f"""
        import time
        from vigil.alerts.delivery import deliver_due
        from vigil.alerts.outbox import Outbox
        from vigil.alerts.smtp import SmtpConfig
        from vigil.storage.database import Database
        outbox = Outbox(Database({outbox.database.url!r}))
        config = SmtpConfig("127.0.0.1", {server.port})
        quiet_since, sent = time.monotonic(), 0
        while time.monotonic() - quiet_since < 2:
            done = deliver_due(outbox, config).sent
            if done:
                sent, quiet_since = sent + done, time.monotonic()
            time.sleep(0.01)
        print(sent)
        """
    )
    workers = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    try:
        for number in range(60, 120):  # more arrive while they deliver
            outbox.add(email(number))
            time.sleep(0.02)
        each = [int(worker.communicate(timeout=120)[0]) for worker in workers]
    finally:
        server.stop()

    subjects = [message["Subject"] for message in recorder.received]
    assert len(subjects) == 120
    assert len(set(subjects)) == 120
    assert sum(each) == 120
    assert min(each) > 0  # both delivered: they did race
    assert outbox.counts()["sent"] == 120
