"""Webhooks through a real HTTP endpoint: each episode opened and resolved, signed, once;
an endpoint that is down, slow or failing gets its calls when it recovers."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import replace

import pandas as pd
import pytest
from sqlalchemy import text
from standardwebhooks import Webhook as Verifier

from tests.alerts.smtp_server import Recorder, start_server
from tests.alerts.test_engine import START, T0, episode
from tests.alerts.webhook_server import Answer, Receiver
from vigil.alerts.delivery import deliver_due, deliver_webhooks_due
from vigil.alerts.engine import AlertEngine
from vigil.alerts.outbox import Outbox
from vigil.alerts.rules import Rule, RuleStore
from vigil.alerts.smtp import SmtpConfig
from vigil.alerts.webhooks import webhook
from vigil.keys import secret_of_key

KEY = secrets.token_bytes(32)
BACKOFF = (60.0,)
#: Seconds to connect and to wait for an answer: a slow endpoint is found out quickly.
QUICK = (2.0, 0.5)


@pytest.fixture
def receiver():
    endpoint = Receiver().start()
    yield endpoint
    endpoint.stop()


def alerting(database, *hooks, recipients=()) -> tuple[RuleStore, Outbox, AlertEngine, Rule]:
    rules = RuleStore(database)
    outbox = Outbox(database)
    engine = AlertEngine(database, outbox, sender="vigil@example.org", public_url="http://v")
    rule = rules.save(
        Rule(
            "checkout latency",
            "latency_*",
            tuple(recipients),
            webhooks=tuple(hooks),
            group_minutes=10,
            resolve_minutes=30,
        )
    )
    return rules, outbox, engine, rule


def verified(call) -> dict:
    """A call's body, once its signature holds for the installation's secret (as a receiver
    checks it with a Standard Webhooks library)."""
    return Verifier(secret_of_key(KEY)).verify(call.body, call.headers)


def deliver(outbox: Outbox, at: float = T0 + 86_400):
    return deliver_webhooks_due(outbox, KEY, now=at, backoff=BACKOFF, timeout=QUICK)


def status(outbox: Outbox) -> list[tuple[str, int, str | None]]:
    return [(c.status, c.attempts, c.last_error) for c in reversed(outbox.emails())]


def test_each_episode_is_posted_opened_then_resolved_signed_and_once(database, receiver):
    _, outbox, engine, rule = alerting(database, webhook(receiver.url))
    engine.record(rule, "latency_ms", "live", [episode(0, 5)], now=T0)
    engine.dispatch([rule], now=T0 + 60)
    first = deliver(outbox)
    again = deliver(outbox)
    engine.dispatch([rule], now=T0 + 3600)  # quiet for the resolve time
    engine.dispatch([rule], now=T0 + 3700)  # a second dispatcher finds it resolved
    last = deliver(outbox)

    assert (first.sent, again.sent, last.sent) == (1, 0, 1)
    opened, resolved = (verified(call) for call in receiver.calls)
    assert opened["type"] == "episode.opened"
    assert resolved["type"] == "episode.resolved"
    assert opened["data"]["id"] == resolved["data"]["id"]  # the episode's, to pair them
    ids = [call.headers["webhook-id"] for call in receiver.calls]
    assert len(set(ids)) == 2
    data = opened["data"]
    assert data["rule"] == {"id": rule.id, "name": "checkout latency"}
    assert (data["series"], data["dataset"], data["points"]) == ("latency_ms", "live", 5)
    assert data["start"] == "2024-03-12T09:00:00Z"
    assert data["ongoing"] is True
    assert data["peak"] == {
        "at": "2024-03-12T09:00:00Z",
        "value": 500.0,
        "expected": 100.0,
        "severity": 0.95,
        "reason": "500 is far above 100",
    }
    assert data["summary"] == (
        "checkout latency: latency_ms 5.0\N{MULTIPLICATION SIGN} normal since 12 Mar 09:00 UTC"
    )
    assert data["url"] == "http://v/live?series=latency_ms&at=2024-03-12T09%3A00%3A00"
    assert resolved["data"]["summary"].startswith(
        "checkout latency: latency_ms back to normal, was 5.0"
    )
    assert receiver.calls[0].path == "/hooks/vigil-7f3a"
    history = engine.history(rule.id)
    assert history["email_kind"].tolist() == ["webhook"]


def test_a_signature_made_with_another_secret_does_not_hold(database, receiver):
    _, outbox, engine, rule = alerting(database, webhook(receiver.url))
    engine.record(rule, "latency_ms", "live", [episode(0)], now=T0)
    engine.dispatch([rule], now=T0 + 60)
    deliver(outbox)

    (call,) = receiver.calls
    with pytest.raises(Exception, match="No matching signature"):
        Verifier(secret_of_key(secrets.token_bytes(32))).verify(call.body, call.headers)
    tampered = call.body.replace(b"latency_ms", b"latency_mz")
    with pytest.raises(Exception, match="No matching signature"):
        Verifier(secret_of_key(KEY)).verify(tampered, call.headers)


def test_an_endpoint_down_then_slow_then_failing_gets_the_call_once_it_recovers(database):
    down = Receiver()  # its port is free: nothing listens yet
    _, outbox, engine, rule = alerting(database, webhook(down.url))
    engine.record(rule, "latency_ms", "live", [episode(0)], now=T0)
    engine.dispatch([rule], now=T0 + 60)

    at = T0 + 86_400
    rounds = [deliver(outbox, at)]
    down.answers = [Answer(delay=2.0), Answer(500, body=b"<h1>Internal Server Error</h1>")]
    down.start()
    try:
        for step in (1, 2, 3, 4):
            early = deliver(outbox, at + 60 * step - 1)  # before its backoff: not tried
            assert early.sent + early.retrying + early.failed == 0
            rounds.append(deliver(outbox, at + 60 * step))
    finally:
        down.stop()

    assert [(r.sent, r.retrying, r.failed) for r in rounds] == [
        (0, 1, 0),
        (0, 1, 0),
        (0, 1, 0),
        (1, 0, 0),
        (0, 0, 0),
    ]
    assert status(outbox) == [("sent", 4, None)]
    # the slow answer came after Vigil had stopped waiting: the same call again, same id
    assert len(down.calls) == 3
    assert len({call.headers["webhook-id"] for call in down.calls}) == 1
    assert len({call.body for call in down.calls}) == 1
    for call in down.calls:
        verified(call)


def test_what_a_failing_endpoint_said_is_kept_while_it_is_retried(database, receiver):
    receiver.answers = [Answer(503, body=b"upstream   busy\n")]
    _, outbox, engine, rule = alerting(database, webhook(receiver.url))
    engine.record(rule, "latency_ms", "live", [episode(0)], now=T0)
    engine.dispatch([rule], now=T0 + 60)
    deliver(outbox)

    assert status(outbox) == [("pending", 1, "503 Service Unavailable: upstream busy")]


REDIRECT = (("Location", "http://elsewhere.example/secret-path"),)


@pytest.mark.parametrize(
    ("answer", "kept"),
    [
        (Answer(410, body=b"gone"), ("failed", "410 Gone: gone", 0.0)),
        (
            Answer(301, headers=REDIRECT),
            (
                "failed",
                "301: {url} redirects to http://elsewhere.example/…; give the rule "
                "the address it ends at",
                0.0,
            ),
        ),
        (Answer(429, headers=(("Retry-After", "900"),)), ("pending", "429 Too Many Requests", 900)),
        (Answer(429, headers=(("Retry-After", "5"),)), ("pending", "429 Too Many Requests", 60)),
    ],
    ids=["gone", "redirect", "429-longer-than-backoff", "429-shorter-than-backoff"],
)
def test_refusals_fail_for_good_redirects_are_not_followed_and_429_waits_as_asked(
    database, receiver, answer, kept
):
    receiver.answers = [answer]
    _, outbox, engine, rule = alerting(database, webhook(receiver.url))
    engine.record(rule, "latency_ms", "live", [episode(0)], now=T0)
    engine.dispatch([rule], now=T0 + 60)
    deliver(outbox, T0 + 120)

    (call,) = outbox.emails()
    state, error, wait = kept
    shown = f"http://127.0.0.1:{receiver.port}/…"
    assert (call.status, call.last_error) == (state, error.format(url=shown))
    with database.read() as connection:
        due = connection.execute(text("SELECT next_attempt FROM outbox")).scalar_one()
    if state == "pending":
        assert due == T0 + 120 + wait
    assert len(receiver.calls) == 1  # a redirect is followed nowhere


def test_an_ended_episodes_resolved_call_goes_once_its_opened_call_failed_for_good(
    database, receiver
):
    receiver.answers = [Answer(400, body=b"bad request")]
    _, outbox, engine, rule = alerting(database, webhook(receiver.url))
    engine.record(rule, "latency_ms", "live", [episode(0, 3, open=False)], now=T0)
    engine.dispatch([rule], now=T0 + 60)
    first = deliver(outbox)
    second = deliver(outbox)

    assert (first.failed, first.sent, second.sent) == (1, 0, 1)
    kinds = [json.loads(call.body)["type"] for call in receiver.calls]
    assert kinds == ["episode.opened", "episode.resolved"]


def test_a_resolved_call_waits_until_its_opened_call_went(database, receiver):
    receiver.answers = [Answer(500)]
    _, outbox, engine, rule = alerting(database, webhook(receiver.url))
    engine.record(rule, "latency_ms", "live", [episode(0, 3, open=False)], now=T0)
    engine.dispatch([rule], now=T0 + 60)  # announced after it ended: opened and resolved

    at = T0 + 86_400
    for step in range(4):
        deliver(outbox, at + 60 * step)

    kinds = [json.loads(call.body)["type"] for call in receiver.calls]
    assert kinds == ["episode.opened", "episode.opened", "episode.resolved"]
    assert [c.status for c in outbox.emails()] == ["sent", "sent"]


def test_a_rule_with_recipients_and_webhooks_sends_both_and_its_history_names_the_email(
    database, receiver
):
    _, outbox, engine, rule = alerting(
        database,
        webhook(receiver.url),
        webhook(receiver.url.replace("vigil-7f3a", "chat"), "slack"),
        recipients=["ops@example.org"],
    )
    engine.record(rule, "latency_<b>", "live", [episode(0)], now=T0)
    engine.dispatch([rule], now=T0 + 60)
    recorder = Recorder()
    server = start_server(recorder)
    try:
        mailed = deliver_due(outbox, SmtpConfig("127.0.0.1", server.port), now=T0 + 86_400)
    finally:
        server.stop()
    posted = deliver(outbox)

    assert (mailed.sent, posted.sent) == (1, 2)
    assert len(recorder.received) == 1
    by_path = {call.path: call for call in receiver.calls}
    slack = json.loads(by_path["/hooks/chat"].body)
    assert list(slack) == ["text"]
    assert slack["text"].startswith(":red_circle: *FIRING* checkout latency: latency_&lt;b&gt; ")
    assert "\n500 is far above 100\n<http://v/live?series=latency_%3Cb%3E&at=" in slack["text"]
    assert slack["text"].endswith("|Open in Vigil>")
    verified(by_path["/hooks/chat"])
    history = engine.history(rule.id)
    assert history["email_kind"].tolist() == ["email"]
    assert outbox.counts("email")["sent"] == 1
    assert outbox.counts("webhook")["sent"] == 2


def test_paused_rules_post_nothing(database, receiver):
    rules, outbox, engine, rule = alerting(database, webhook(receiver.url))
    rule = rules.save(replace(rule, paused=True))
    engine.record(rule, "latency_ms", "live", [episode(0)], now=T0)
    engine.dispatch([rule], now=T0 + 60)
    engine.dispatch([rule], now=T0 + 3600)

    assert deliver(outbox).sent == 0
    assert receiver.calls == []


def test_a_call_is_kept_once_whoever_queues_it_again(database):
    outbox = Outbox(database)
    with database.write() as connection:
        ids = [
            outbox.add_webhook(
                "ep_1.opened.abc",
                "https://hooks.example.org/x",
                "https://hooks.example.org/…",
                "OPENED cpu",
                b"{}",
                now=time.time(),
                connection=connection,
            )
            for _ in range(3)
        ]
    assert len(set(ids)) == 1
    assert outbox.counts("webhook")["pending"] == 1


def test_start_is_iso_utc_whatever_the_stored_time(database, receiver):
    """Stored times are naive UTC; a receiver gets them with their zone."""
    _, outbox, engine, rule = alerting(database, webhook(receiver.url))
    late = START + pd.Timedelta(hours=14, minutes=59, seconds=59)
    engine.record(
        rule, "latency_ms", "live", [episode((late - START).total_seconds() / 60)], now=T0
    )
    engine.dispatch([rule], now=T0 + 60)
    deliver(outbox)

    assert verified(receiver.calls[0])["data"]["start"] == "2024-03-12T23:59:59Z"
