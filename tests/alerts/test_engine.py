"""From flagged points to emails: grouped, budgeted, muted, resolved; nothing lost or doubled."""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pandas as pd
import pytest

from alerts.compose import AlertPoint
from alerts.delivery import deliver_due
from alerts.engine import MUTED, AlertEngine
from alerts.outbox import Outbox
from alerts.rules import Rule, RuleStore
from alerts.smtp import SmtpConfig
from storage.database import Database
from tests.alerts.smtp_server import Recorder, start_server

START = pd.Timestamp("2024-03-12 09:00")
T0 = START.timestamp()


def flagged(minute: int, count: int = 1, severity: float = 0.95) -> list[AlertPoint]:
    """`count` flagged points in the given minute of the storm."""
    base = START + pd.Timedelta(minutes=minute)
    return [
        AlertPoint(base + pd.Timedelta(seconds=60 * i / count), 500.0 + i, 100.0, severity, "high")
        for i in range(count)
    ]


@pytest.fixture
def setup(database):
    rules = RuleStore(database)
    outbox = Outbox(database)
    engine = AlertEngine(database, outbox, sender="vigil@example.org", public_url="http://v")
    rule = rules.save(
        Rule(
            "latency storms",
            "latency_*",
            ("ops@example.org",),
            group_minutes=10,
            resolve_minutes=30,
            daily_budget=1000,
        )
    )
    return rules, outbox, engine, rule


def counted(subject: str) -> int:
    found = re.search(r"\] (\d+) anomalies", subject)
    return int(found.group(1)) if found else 1


def test_a_storm_of_ten_thousand_points_is_one_email_per_group_interval(setup):
    _, outbox, engine, rule = setup
    for minute in range(100):
        now = T0 + 60 * (minute + 1)
        engine.record(rule, "latency_ms", "d1", flagged(minute, 100), now=now)
        engine.dispatch([rule], now=now)

    recorder = Recorder()
    server = start_server(recorder)
    try:
        deliver_due(outbox, SmtpConfig("127.0.0.1", server.port), now=T0 + 99999)
    finally:
        server.stop()

    assert len(recorder.received) == 10  # at minutes 1, 11, ..., 91
    # the first lists minute 0, each later one the ten minutes before it
    assert sum(counted(m["Subject"]) for m in recorder.received) == 100 + 9 * 1_000
    history = engine.history(rule.id, limit=20_000)
    assert len(history) == 10_000
    assert history["email_id"].isna().sum() == 900  # minutes 91-99 wait for the next email
    engine.dispatch([rule], now=T0 + 60 * 111)
    assert engine.history(rule.id, limit=20_000)["email_id"].notna().all()
    assert outbox.counts()["pending"] == 1


def test_reporting_the_same_points_again_changes_nothing(setup):
    _, _, engine, rule = setup
    assert engine.record(rule, "latency_ms", "d1", flagged(0, 5), now=T0) == 5
    assert engine.record(rule, "latency_ms", "d1", flagged(0, 5), now=T0 + 1) == 0
    assert engine.record(rule, "requests", "d1", flagged(0, 5), now=T0) == 0  # not its series
    mild = flagged(1, 3, severity=0.5)
    assert engine.record(rule, "latency_ms", "d1", mild, now=T0) == 0  # below the rule's bar
    assert engine.dispatch([rule], now=T0 + 2) == 1
    assert engine.dispatch([rule], now=T0 + 3) == 0


def test_over_the_daily_budget_points_wait_and_the_next_allowed_email_lists_them(setup):
    rules, outbox, engine, rule = setup
    rule = rules.save(replace(rule, daily_budget=2, group_minutes=0))
    for minute in range(5):
        engine.record(rule, "latency_ms", "d1", flagged(minute), now=T0 + 60 * minute)
        engine.dispatch([rule], now=T0 + 60 * minute)
    assert outbox.counts()["pending"] == 2
    tomorrow = T0 + 86_400
    assert engine.dispatch([rule], now=tomorrow) == 2  # the waiting points, then resolved
    resolved, waiting = (email.subject for email in outbox.emails()[:2])
    assert waiting.startswith("[Vigil] 3 anomalies in latency_ms")
    assert resolved.startswith("[Vigil] Resolved: latency_ms")


def test_a_quiet_series_is_resolved_with_one_email_and_fires_again_later(setup):
    _, outbox, engine, rule = setup
    engine.record(rule, "latency_ms", "d1", flagged(0), now=T0)
    engine.dispatch([rule], now=T0)
    assert engine.dispatch([rule], now=T0 + 29 * 60) == 0
    assert engine.dispatch([rule], now=T0 + 31 * 60) == 1
    assert engine.dispatch([rule], now=T0 + 90 * 60) == 0
    subjects = [email.subject for email in outbox.emails()]
    assert subjects[0].startswith("[Vigil] Resolved: latency_ms has had no anomaly since")

    engine.record(rule, "latency_ms", "d1", flagged(120), now=T0 + 121 * 60)
    assert engine.dispatch([rule], now=T0 + 121 * 60) == 1


def test_paused_and_silenced_rules_keep_points_but_send_nothing(setup):
    rules, outbox, engine, rule = setup
    paused = rules.save(replace(rule, paused=True))
    engine.record(paused, "latency_ms", "d1", flagged(0, 4), now=T0)
    assert engine.dispatch([paused], now=T0) == 0
    assert (engine.history(rule.id)["email_id"] == MUTED).all()

    until = pd.Timestamp(T0 + 3600, unit="s", tz="UTC").isoformat()
    silenced = rules.save(replace(rule, paused=False, silenced_until=until))
    engine.record(silenced, "latency_ms", "d1", flagged(10), now=T0 + 600)
    assert engine.dispatch([silenced], now=T0 + 600) == 0
    engine.record(silenced, "latency_ms", "d1", flagged(70), now=T0 + 4200)
    assert engine.dispatch([silenced], now=T0 + 4200) == 1
    (email,) = outbox.emails()
    assert email.subject.startswith("[Vigil] Anomaly in latency_ms")


def test_rules_are_kept_edited_and_deleted(database):
    store = RuleStore(database)
    rule = store.save(Rule("all latency", "latency_*", ("a@example.org", "b@example.org")))
    store.save(replace(rule, min_severity=0.8, name="latency, milder"))
    other = store.save(Rule("requests", "requests_per_min", ("c@example.org",)))

    again = RuleStore(Database(database.url))  # as another process sees them
    assert [r.name for r in again.rules()] == ["latency, milder", "requests"]
    assert again.get(rule.id).recipients == ("a@example.org", "b@example.org")
    assert again.get(rule.id).matches("latency_p99")
    assert not again.get(rule.id).matches("requests_per_min")
    again.delete(other.id)
    assert [r.id for r in again.rules()] == [rule.id]
    with pytest.raises(ValueError, match="recipient"):
        again.save(Rule("nobody", "*", ()))


def test_a_silenced_series_is_muted_while_the_rule_keeps_alerting_on_others(setup):
    rules, outbox, engine, rule = setup
    until = pd.Timestamp(T0 + 3600, unit="s", tz="UTC").to_pydatetime()
    rules.silence(rule.id, "latency_p99", until)
    for series in ("latency_p99", "latency_ms"):
        engine.record(rule, series, "d1", flagged(0), now=T0)

    sent = engine.dispatch([rule], now=T0, silences=rules.silences())

    assert sent == 1
    (email,) = outbox.emails()
    assert "latency_ms" in email.subject
    muted = engine.history(rule.id)
    assert muted.loc[muted["series"] == "latency_p99", "email_id"].eq(MUTED).all()
    engine.record(rule, "latency_p99", "d1", flagged(90), now=T0 + 5400)
    assert engine.dispatch([rule], now=T0 + 5400, silences=rules.silences()) == 2
    subjects = [email.subject for email in outbox.emails()]
    assert any(s.startswith("[Vigil] Anomaly in latency_p99") for s in subjects)  # silence over
    assert any(s.startswith("[Vigil] Resolved: latency_ms") for s in subjects)


def test_two_processes_dispatching_at_once_send_each_email_once(setup, database):
    """The scoring process and the delivery thread (or two machines' workers) both dispatch;
    a slow chart widens the moment in which both could see the same points waiting."""
    _, outbox, engine, rule = setup
    engine.record(rule, "latency_ms", "d1", flagged(0, 5), now=T0)

    def slow_chart(_rule, _series, _points):
        time.sleep(0.3)
        return None

    def dispatcher() -> AlertEngine:
        own = Database(database.url)  # connections of its own, as another process has
        return AlertEngine(
            own,
            Outbox(own),
            sender="vigil@example.org",
            public_url="http://v",
            context=slow_chart,
        )

    barrier = threading.Barrier(4)

    def dispatch(now: float) -> int:
        barrier.wait()
        return dispatcher().dispatch([rule], now=now)

    with ThreadPoolExecutor(max_workers=4) as pool:
        sent = list(pool.map(dispatch, [T0 + 60] * 4))
    assert sum(sent) == 1
    assert outbox.counts()["pending"] == 1
    assert engine.history(rule.id)["email_id"].notna().all()

    # an hour later the alert resolves: one "resolved" email, however many dispatch
    barrier.reset()
    with ThreadPoolExecutor(max_workers=4) as pool:
        resolved = list(pool.map(dispatch, [T0 + 3600] * 4))
    assert sum(resolved) == 1
    assert outbox.counts()["pending"] == 2
