"""One alert that cannot be emailed holds up no other mail: it is logged once and skipped,
and what waits in the outbox is delivered whatever happens while queueing new alerts."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from sqlalchemy import text

from tests.alerts.smtp_server import Recorder, start_server
from tests.alerts.test_engine import T0, episode
from vigil.alerts.delivery import DeliveryWorker, deliver_due
from vigil.alerts.engine import UNSENDABLE, AlertEngine
from vigil.alerts.outbox import Outbox
from vigil.alerts.rules import Rule, RuleStore
from vigil.alerts.smtp import SmtpConfig


def waiting_email(number: int) -> EmailMessage:
    message = EmailMessage()
    message["To"] = "ops@example.org"
    message["Subject"] = f"waiting #{number}"
    message.set_content(f"Email number {number}.")
    return message


def chart_that_fails_for_one_series(_rule, series, _dataset, _episodes):
    if series == "latency_broken":
        raise RuntimeError("the chart of this series cannot be drawn")
    return None


@pytest.fixture
def smtp():
    recorder = Recorder()
    server = start_server(recorder)
    yield recorder, SmtpConfig("127.0.0.1", server.port, sender="vigil@example.org")
    server.stop()


@pytest.fixture
def alerting(database):
    outbox = Outbox(database)
    engine = AlertEngine(
        database,
        outbox,
        sender="vigil@example.org",
        public_url="http://v",
        context=chart_that_fails_for_one_series,
    )
    rule = RuleStore(database).save(
        Rule("latency", "latency_*", ("ops@example.org",), group_minutes=10, resolve_minutes=30)
    )
    for number in range(30):
        outbox.add(waiting_email(number), now=T0)
    return outbox, engine, rule


def test_an_alert_whose_email_cannot_be_built_is_skipped_and_the_rest_goes_out(
    alerting, smtp, caplog
):
    outbox, engine, rule = alerting
    recorder, config = smtp
    engine.record(rule, "latency_broken", "d1", [episode(0)], now=T0 + 60)
    engine.record(rule, "latency_ok", "d1", [episode(0)], now=T0 + 60)
    worker = DeliveryWorker(
        outbox, lambda: config, before_round=lambda: engine.dispatch([rule], now=T0 + 120)
    )

    worker.round()
    worker.round()

    subjects = [message["Subject"] for message in recorder.received]
    assert sorted(s for s in subjects if s.startswith("waiting")) == sorted(
        f"waiting #{number}" for number in range(30)
    )
    assert [s for s in subjects if not s.startswith("waiting")] == [
        s for s in subjects if "latency_ok" in s
    ]
    assert len(subjects) == 31
    history = engine.history(rule.id).set_index("series")
    assert history.loc["latency_broken", "email_id"] == UNSENDABLE
    tracebacks = [record for record in caplog.records if record.exc_info]
    assert len(tracebacks) == 1  # logged once, not tried again each round
    assert "'latency_broken'" in tracebacks[0].getMessage()


def test_the_outbox_is_delivered_when_queueing_new_alerts_fails(alerting, smtp, database):
    outbox, engine, rule = alerting
    recorder, config = smtp
    with database.write() as connection:
        connection.execute(text("DROP TABLE alerts"))
    worker = DeliveryWorker(
        outbox, lambda: config, before_round=lambda: engine.dispatch([rule], now=T0 + 120)
    )

    worker.round()

    assert len(recorder.received) == 30


def test_a_series_name_with_a_line_separator_still_makes_a_one_line_subject(alerting, smtp):
    """A name no longer accepted by ingest may be kept from before (or come from a file):
    its alert is built and sent with a subject of one line."""
    outbox, engine, rule = alerting
    recorder, config = smtp
    engine.record(rule, "latency_\u2028ms\u0085", "d1", [episode(0)], now=T0 + 60)
    assert engine.dispatch([rule], now=T0 + 120) == 1
    deliver_due(outbox, config)

    [alert] = [m for m in recorder.received if not m["Subject"].startswith("waiting")]
    assert "latency_" in alert["Subject"]
    assert len(str(alert["Subject"]).splitlines()) == 1


def test_webhooks_hear_of_an_alert_whose_email_cannot_be_built(database, smtp, caplog):
    from tests.alerts.test_webhooks import KEY
    from tests.alerts.webhook_server import Receiver
    from vigil.alerts.webhooks import webhook

    receiver = Receiver().start()
    outbox = Outbox(database)
    engine = AlertEngine(
        database,
        outbox,
        sender="vigil@example.org",
        public_url="http://v",
        context=chart_that_fails_for_one_series,
    )
    rule = RuleStore(database).save(
        Rule(
            "latency",
            "latency_*",
            ("ops@example.org",),
            webhooks=(webhook(receiver.url),),
            resolve_minutes=30,
        )
    )
    recorder, config = smtp
    engine.record(rule, "latency_broken", "d1", [episode(0)], now=T0 + 60)
    worker = DeliveryWorker(
        outbox,
        lambda: config,
        webhook_key=lambda: KEY,
        before_round=lambda: engine.dispatch([rule], now=T0 + 120),
    )
    try:
        worker.round()
    finally:
        receiver.stop()

    assert recorder.received == []
    assert len(receiver.calls) == 1
    history = engine.history(rule.id)
    assert history["email_kind"].tolist() == ["webhook"]
    assert len([record for record in caplog.records if record.exc_info]) == 1
