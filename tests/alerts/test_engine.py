"""From anomaly episodes to emails: grouped, budgeted, muted, resolved; nothing lost or doubled."""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from tests.alerts.smtp_server import Recorder, start_server
from vigil.alerts.delivery import deliver_due
from vigil.alerts.engine import MUTED, AlertEngine
from vigil.alerts.episodes import AlertPoint, EpisodeReport, episode_reports
from vigil.alerts.outbox import Outbox
from vigil.alerts.rules import Rule, RuleStore
from vigil.alerts.smtp import SmtpConfig
from vigil.detection import make_detector
from vigil.detection.stream import OnlineScorer
from vigil.storage.database import Database

START = pd.Timestamp("2024-03-12 09:00")
T0 = START.timestamp()


def episode(
    minute: float,
    points: int = 1,
    severity: float = 0.95,
    *,
    onset: bool = True,
    open: bool = True,
    value: float = 500.0,
) -> EpisodeReport:
    """An episode's flags from `minute` of the storm on, one every ten seconds, the first the
    most severe (or the part of an episode a later batch saw, without its onset)."""
    first = START + pd.Timedelta(minutes=minute)
    last = first + pd.Timedelta(seconds=10 * (points - 1))
    peak = AlertPoint(first, value, 100.0, severity, f"{value:g} is far above 100")
    return EpisodeReport(first, last, points, peak, onset=onset, open=open)


def deliver(outbox: Outbox) -> list:
    """Everything the outbox has, through a real SMTP server: the messages it accepted."""
    recorder = Recorder()
    server = start_server(recorder)
    try:
        deliver_due(outbox, SmtpConfig("127.0.0.1", server.port), now=T0 + 10 * 86_400)
    finally:
        server.stop()
    return recorder.received


def subject(message) -> str:
    """A subject as received (with no space before it: see test_compose)."""
    return message["Subject"]


def counted(subject: str) -> int:
    found = re.search(r": (\d+) anomaly episodes, the worst ", subject)
    if found:
        return int(found.group(1))
    assert subject.startswith(("ALERT · ", "FIRING · ")), subject
    return 1


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


def test_a_storm_of_episodes_is_one_email_per_group_interval_listing_the_episodes(setup):
    _, outbox, engine, rule = setup
    for minute in range(100):
        now = T0 + 60 * (minute + 1)
        # two short episodes a minute, of three flagged points each
        storm = [episode(minute, 3, open=False), episode(minute + 0.5, 3)]
        engine.record(rule, "latency_ms", "d1", storm, now=now, dataset_name="ops.csv")
        engine.dispatch([rule], now=now)

    received = deliver(outbox)

    assert len(received) == 10  # at minutes 1, 11, ..., 91
    # the first lists minute 0's two episodes, each later one the twenty of ten minutes
    assert [counted(subject(m)) for m in received] == [2] + [20] * 9
    for message in received:
        assert " latency_ms (ops.csv)" in subject(message)
        text = message.get_body(("plain",)).get_content()
        assert "anomalies" not in subject(message) + text  # never points counted as alerts
    history = engine.history(rule.id, limit=1000)
    assert len(history) == 200
    assert history["email_id"].isna().sum() == 18  # minutes 91-99 wait for the next email
    engine.dispatch([rule], now=T0 + 60 * 111)
    assert engine.history(rule.id, limit=1000)["email_id"].notna().all()
    assert outbox.counts()["pending"] == 1


def test_an_email_lists_the_twenty_most_severe_episodes_and_counts_the_rest(setup):
    _, outbox, engine, rule = setup
    storm = [episode(m, severity=0.9 + m / 1000, open=False) for m in range(25)]
    engine.record(rule, "latency_ms", "d1", storm, now=T0)
    assert engine.dispatch([rule], now=T0) == 1

    (email,) = outbox.emails()
    assert email.subject.startswith("ALERT · latency_ms (d1): 25 anomaly episodes, the worst ")
    text = email.message().get_body(("plain",)).get_content()
    assert "#20  2024-03-12 09:24 UTC (1 point)" in text  # the most severe, in time order
    assert "#21" not in text
    assert "#1  2024-03-12 09:05 UTC (1 point)" in text
    assert (
        "... and 5 more anomaly episodes that began between 2024-03-12 09:00 UTC and "
        "2024-03-12 09:24 UTC; all are in Vigil." in text
    )


def test_an_episode_over_two_live_batches_is_one_episode_one_alert_and_one_resolved(setup):
    """Real streaming scores: a level jump begins at the end of one ingest batch and goes on
    into the next, which reports it without its onset."""
    rules, outbox, engine, _ = setup
    rule = rules.save(Rule("cpu", "cpu", ("ops@example.org",), resolve_minutes=30))
    rng = np.random.default_rng(0)
    times = pd.date_range("2024-03-12", periods=3000, freq="min")
    values = 100 + rng.normal(0, 1, len(times))
    values[2990:2996] += 15
    frame = pd.DataFrame({"timestamp": times, "value": values})
    scorer = OnlineScorer(make_detector("auto"))
    batches = [scorer.update(frame.iloc[:2993]), scorer.update(frame.iloc[2993:])]
    first, second = (episode_reports(batch)[-1] for batch in batches)
    assert (first.onset, first.open, second.onset) == (True, True, False)

    assert engine.record(rule, "cpu", "live", [first], now=T0) == 1
    assert engine.dispatch([rule], now=T0) == 1
    assert engine.record(rule, "cpu", "live", [second], now=T0 + 60) == 0  # the same episode
    assert engine.dispatch([rule], now=T0 + 20 * 60) == 0  # it grew: nothing to announce
    (row,) = engine.history(rule.id).to_dict("records")
    assert (row["start_at"], row["end_at"]) == ("2024-03-14 01:50:00", "2024-03-14 01:55:00")
    assert row["points"] == first.points + second.points
    assert engine.dispatch([rule], now=T0 + 60 + 29 * 60) == 0
    assert engine.dispatch([rule], now=T0 + 60 + 30 * 60) == 1  # quiet for the resolve time
    assert engine.dispatch([rule], now=T0 + 3 * 3600) == 0

    alert, resolved = deliver(outbox)
    assert subject(alert).startswith("FIRING · cpu ")
    assert subject(alert).endswith(" normal since 14 Mar 01:50 UTC")
    assert (
        "#1  from 2024-03-14 01:50 UTC (still going on, 2 points so far)"
        in alert.get_body(("plain",)).get_content()
    )
    assert subject(resolved).startswith(
        "RESOLVED · cpu back to normal since 14 Mar 01:55 UTC, after 5 min, peak "
    )
    said = resolved.get_body(("plain",)).get_content()
    assert f"2024-03-14 01:50 to 01:55 UTC (5 min, {row['points']} points)" in said


def test_reporting_the_same_episodes_again_changes_nothing(setup):
    _, outbox, engine, rule = setup
    storm = [episode(0, 5, open=False), episode(10, 3, open=False)]
    assert engine.record(rule, "latency_ms", "d1", storm, now=T0) == 2
    assert engine.record(rule, "latency_ms", "d1", storm, now=T0 + 1) == 0
    assert engine.record(rule, "requests", "d1", storm, now=T0) == 0  # not its series
    assert engine.dispatch([rule], now=T0 + 2) == 1
    assert engine.dispatch([rule], now=T0 + 3) == 0
    assert engine.history(rule.id)["points"].tolist() == [3, 5]
    # each had ended when announced: the alert resolves without a "resolved" email
    assert engine.dispatch([rule], now=T0 + 3600) == 0
    assert outbox.counts()["pending"] == 1


def test_an_episode_is_announced_once_its_peak_reaches_the_rules_severity(setup):
    _, outbox, engine, rule = setup
    mild = episode(0, 3, severity=0.5)
    assert engine.record(rule, "latency_ms", "d1", [mild], now=T0) == 0  # below the bar
    assert engine.dispatch([rule], now=T0) == 0
    assert engine.history(rule.id).empty
    worse = episode(3, 2, severity=0.97, onset=False, value=900.0)
    assert engine.record(rule, "latency_ms", "d1", [worse], now=T0 + 60) == 1
    assert engine.dispatch([rule], now=T0 + 60) == 1
    (row,) = engine.history(rule.id).to_dict("records")
    assert (row["start_at"], row["points"], row["severity"]) == ("2024-03-12 09:00:00", 5, 0.97)
    (email,) = outbox.emails()
    assert email.subject == "FIRING · latency_ms (d1) 9.0\u00d7 normal since 12 Mar 2024 09:00 UTC"


def test_over_the_daily_budget_episodes_wait_and_the_next_allowed_email_lists_them(setup):
    rules, outbox, engine, rule = setup
    rule = rules.save(replace(rule, daily_budget=2, group_minutes=0))
    for minute in range(5):
        engine.record(rule, "latency_ms", "d1", [episode(minute * 10)], now=T0 + 60 * minute)
        engine.dispatch([rule], now=T0 + 60 * minute)
    assert outbox.counts()["pending"] == 2
    tomorrow = T0 + 86_400
    assert engine.dispatch([rule], now=tomorrow) == 2  # the waiting episodes, then resolved
    resolved, waiting = (email.subject for email in outbox.emails()[:2])
    assert waiting.startswith("FIRING · latency_ms (d1): 3 anomaly episodes, the worst ")
    # announced while going on: the first two, and the last of the three (each new one ended
    # the one before, so the email of the three said two of them were over)
    assert resolved == (
        "RESOLVED · latency_ms (d1) back to normal since 12 Mar 2024 09:40 UTC, after 40 min, "
        "peak 5.0\u00d7 normal"
    )


def test_a_quiet_series_is_resolved_with_one_email_and_fires_again_later(setup):
    _, outbox, engine, rule = setup
    engine.record(rule, "latency_ms", "d1", [episode(0)], now=T0)
    engine.dispatch([rule], now=T0)
    assert engine.dispatch([rule], now=T0 + 29 * 60) == 0
    assert engine.dispatch([rule], now=T0 + 31 * 60) == 1
    assert engine.dispatch([rule], now=T0 + 90 * 60) == 0
    subjects = [email.subject for email in outbox.emails()]
    assert subjects[0] == (
        "RESOLVED · latency_ms (d1) back to normal since 12 Mar 2024 09:00 UTC, after one point, "
        "peak 5.0\u00d7 normal"
    )

    engine.record(rule, "latency_ms", "d1", [episode(120)], now=T0 + 121 * 60)
    assert engine.dispatch([rule], now=T0 + 121 * 60) == 1


def test_paused_and_silenced_rules_keep_episodes_but_send_nothing(setup):
    rules, outbox, engine, rule = setup
    paused = rules.save(replace(rule, paused=True))
    engine.record(paused, "latency_ms", "d1", [episode(0, 4)], now=T0)
    assert engine.dispatch([paused], now=T0) == 0
    assert (engine.history(rule.id)["email_id"] == MUTED).all()
    assert engine.dispatch([paused], now=T0 + 3600) == 0  # resolved while muted: no email

    until = pd.Timestamp(T0 + 3600, unit="s", tz="UTC").isoformat()
    silenced = rules.save(replace(rule, paused=False, silenced_until=until))
    engine.record(silenced, "latency_ms", "d1", [episode(10)], now=T0 + 600)
    assert engine.dispatch([silenced], now=T0 + 600) == 0
    engine.record(silenced, "latency_ms", "d1", [episode(70)], now=T0 + 4200)
    assert engine.dispatch([silenced], now=T0 + 4200) == 1
    (email,) = outbox.emails()
    assert email.subject.startswith("FIRING · latency_ms (d1) ")
    assert (
        "since 12 Mar 2024 10:10 UTC" in email.subject
    )  # the episode after the silence, not those muted


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
        engine.record(rule, series, "d1", [episode(0)], now=T0)

    sent = engine.dispatch([rule], now=T0, silences=rules.silences())

    assert sent == 1
    (email,) = outbox.emails()
    assert "latency_ms" in email.subject
    muted = engine.history(rule.id)
    assert muted.loc[muted["series"] == "latency_p99", "email_id"].eq(MUTED).all()
    engine.record(rule, "latency_p99", "d1", [episode(90)], now=T0 + 5400)
    assert engine.dispatch([rule], now=T0 + 5400, silences=rules.silences()) == 2
    subjects = [email.subject for email in outbox.emails()]
    assert any(s.startswith("FIRING · latency_p99 (d1) ") for s in subjects)
    assert any(s.startswith("RESOLVED · latency_ms (d1) back to normal") for s in subjects)


def test_two_processes_dispatching_at_once_send_each_email_once(setup, database):
    """The scoring process and the delivery thread (or two machines' workers) both dispatch;
    a slow chart widens the moment in which both could see the same episodes waiting."""
    _, outbox, engine, rule = setup
    engine.record(rule, "latency_ms", "d1", [episode(0, 5), episode(10, 2)], now=T0)

    def slow_chart(_rule, _series, _dataset, _episodes):
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


def test_two_processes_recording_one_episode_at_once_keep_one_row(setup, database):
    """Two web workers (or a worker taking over) report the same episode together."""
    _, _, _, rule = setup
    barrier = threading.Barrier(4)

    def record(_n: int) -> int:
        own = Database(database.url)
        engine = AlertEngine(own, Outbox(own), sender="vigil@example.org", public_url="http://v")
        barrier.wait()
        return engine.record(rule, "latency_ms", "d1", [episode(0, 3)], now=T0)

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert sum(pool.map(record, range(4))) == 1
    (_, _, engine, _) = setup
    assert len(engine.history(rule.id)) == 1


def test_a_rule_keeps_to_its_direction_and_its_data_set(database):
    rules, outbox = RuleStore(database), Outbox(database)
    engine = AlertEngine(database, outbox, sender="vigil@example.org", public_url="http://v")
    up = rules.save(Rule("rises", "cpu*", ("ops@example.org",), direction="above"))
    down = rules.save(Rule("drops", "cpu*", ("ops@example.org",), direction="below"))
    live = rules.save(Rule("live only", "cpu*", ("ops@example.org",), dataset="live"))
    rise, drop = episode(0, 2, value=500.0), episode(30, 2, value=20.0)

    for rule in (up, down, live):
        engine.record(rule, "cpu", "d1", [rise, drop], now=T0)
        engine.record(rule, "cpu_live", "live", [rise], now=T0)

    def starts(rule: Rule) -> list[tuple[str, str]]:
        history = engine.history(rule.id).sort_values(["start_at", "series"])
        return list(zip(history["series"], history["start_at"], strict=True))

    assert starts(up) == [("cpu", "2024-03-12 09:00:00"), ("cpu_live", "2024-03-12 09:00:00")]
    assert starts(down) == [("cpu", "2024-03-12 09:30:00")]
    assert starts(live) == [("cpu_live", "2024-03-12 09:00:00")]
