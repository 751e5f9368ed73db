"""Live series to alert emails, the whole way: ingest, the scoring worker, the alert rules, the
outbox and a real SMTP server."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from tests.alerts.smtp_server import Recorder, start_server
from tests.settings import make_settings
from vigil.alerts.delivery import deliver_due
from vigil.alerts.rules import Rule
from vigil.alerts.smtp import SmtpConfig
from vigil.live.points import read_batch
from vigil.services import Services
from vigil.usecases.alerting import alert_engine
from vigil.usecases.live_series import late_window
from vigil.workers.live_scoring import live_worker


def batch(frame: pd.DataFrame):
    return read_batch(
        {
            "points": [
                {"timestamp": t.isoformat(), "value": float(v)}
                for t, v in zip(frame["timestamp"], frame["value"], strict=True)
            ]
        }
    )


@pytest.fixture
def jump() -> pd.DataFrame:
    """Two days of noise around 100, then six points 15 higher (rows 2990 to 2995)."""
    rng = np.random.default_rng(0)
    times = pd.date_range("2024-03-12", periods=3000, freq="min")
    values = 100 + rng.normal(0, 1, len(times))
    values[2990:2996] += 15
    return pd.DataFrame({"timestamp": times, "value": values})


def test_an_episode_over_two_ingest_rounds_is_one_email_then_one_resolved(
    database_url, tmp_path, jump
):
    config = make_settings(
        tmp_path, database_url=database_url, public_url="https://vigil.example.org"
    )
    rule = Services(config).rule_store.save(
        Rule("cpu jumps", "cpu", ("ops@example.org",), group_minutes=0, resolve_minutes=30)
    )
    store = Services(config).live_store
    scoring = live_worker(Services(config))
    # the jump begins three points before the end of the first request, and goes on
    store.add("cpu", batch(jump.iloc[:2993]), late_window=late_window(config))
    scoring.round()
    store.add("cpu", batch(jump.iloc[2993:]), late_window=late_window(config))
    scoring.round()

    engine = alert_engine(Services(config))
    (episode,) = engine.history(rule.id).to_dict("records")
    assert (episode["start_at"], episode["end_at"]) == (
        "2024-03-14 01:50:00",
        "2024-03-14 01:55:00",
    )
    assert (
        Services(config).outbox.counts()["pending"] == 1
    )  # the second round's points sent nothing
    later = time.time() + 31 * 60
    assert engine.dispatch(Services(config).rule_store.rules(), now=later) == 1

    recorder = Recorder()
    server = start_server(recorder)
    try:
        deliver_due(Services(config).outbox, SmtpConfig("127.0.0.1", server.port), now=later)
    finally:
        server.stop()
    alert, resolved = sorted(recorder.received, key=lambda m: "RESOLVED" in m["Subject"])
    assert alert["Subject"].startswith("FIRING · cpu ")
    assert (
        "#1  from 2024-03-14 01:50 UTC (still going on" in alert.get_body(("plain",)).get_content()
    )
    assert any(part.get_content_type() == "image/png" for part in alert.walk())
    assert resolved["Subject"].startswith(
        "RESOLVED · cpu back to normal since 14 Mar 01:55 UTC, after 5 min, peak "
    )
    points = episode["points"]
    assert (
        f"01:50 to 01:55 UTC (5 min, {points} points)"
        in resolved.get_body(("plain",)).get_content()
    )


def test_a_rule_that_names_no_detector_alerts_on_a_series_scored_by_another(
    database_url, tmp_path, jump
):
    config = make_settings(tmp_path, database_url=database_url)
    rule = Services(config).rule_store.save(Rule("cpu jumps", "cpu", ("ops@example.org",)))
    store = Services(config).live_store
    store.configure("cpu", detector="zscore")
    store.add("cpu", batch(jump), late_window=late_window(config))
    live_worker(Services(config)).round()

    assert rule.detector is None
    assert (
        "2024-03-14 01:50:00"
        in alert_engine(Services(config)).history(rule.id)["start_at"].tolist()
    )


def test_a_rule_that_names_a_detector_keeps_to_series_scored_by_it(database_url, tmp_path, jump):
    config = make_settings(tmp_path, database_url=database_url)
    rules = Services(config).rule_store
    stl = rules.save(Rule("stl only", "cpu", ("ops@example.org",), detector="stl"))
    zscore = rules.save(Rule("zscore only", "cpu", ("ops@example.org",), detector="zscore"))
    store = Services(config).live_store
    store.configure("cpu", detector="zscore")
    store.add("cpu", batch(jump), late_window=late_window(config))
    live_worker(Services(config)).round()

    engine = alert_engine(Services(config))
    assert engine.history(stl.id).empty
    assert "2024-03-14 01:50:00" in engine.history(zscore.id)["start_at"].tolist()


def test_corrected_points_from_before_a_rule_existed_raise_no_alert(database_url, tmp_path, jump):
    config = make_settings(tmp_path, database_url=database_url)
    calm = jump.assign(value=jump["value"].where(jump.index < 2990, 100.0))
    store = Services(config).live_store
    scoring = live_worker(Services(config))
    before = time.time() - 3600
    store.add("cpu", batch(calm), late_window=late_window(config), now=before)
    scoring.round()
    rule = Services(config).rule_store.save(Rule("cpu jumps", "cpu", ("ops@example.org",)))

    # the client sends its last ten points again with corrected values: the jump
    answer = store.add("cpu", batch(jump.iloc[2990:]), late_window=late_window(config))
    assert answer.accepted == 10
    scoring.round()
    assert alert_engine(Services(config)).history(rule.id).empty
    assert Services(config).outbox.counts()["pending"] == 0

    # a jump after the rule was made still fires
    later = jump.assign(timestamp=jump["timestamp"] + pd.Timedelta(minutes=3000))
    store.add("cpu", batch(later), late_window=late_window(config))
    scoring.round()
    assert not alert_engine(Services(config)).history(rule.id).empty


def test_a_rule_with_label_matchers_alerts_on_the_series_whose_labels_meet_them(
    database_url, tmp_path, jump
):
    """Two series jump alike; the rule's matchers (env=prod, service=~check.*) select one."""
    config = make_settings(tmp_path, database_url=database_url)
    services = Services(config)
    rule = services.rule_store.save(
        Rule(
            "prod checkout",
            "*",
            ("ops@example.org",),
            labels=("env=prod", "service=~check.*"),
            group_minutes=0,
        )
    )
    scoring = live_worker(services)
    for name, env in (("checkout-eu", "prod"), ("checkout-test", "dev")):
        points = batch(jump)
        points.labels = {"env": env, "service": "checkout"}
        services.live_store.add(name, points, late_window=late_window(config))
    scoring.round()

    history = alert_engine(services).history(rule.id)

    assert set(history["series"]) == {"checkout-eu"}
    assert services.outbox.counts()["pending"] == 1


def test_an_alert_on_a_live_series_whose_points_are_gone_is_emailed_without_a_chart(tmp_path):
    from tests.alerts.test_engine import T0, episode

    services = Services(make_settings(tmp_path))
    rule = services.rule_store.save(Rule("gone", "*", ("ops@example.org",), dataset="live"))
    engine = alert_engine(services)
    engine.record(rule, "deleted-series", "live", [episode(0)], now=T0)

    assert engine.dispatch([rule], now=T0 + 60) == 1
    (email,) = services.outbox.emails()
    assert email.subject.startswith("FIRING · deleted-series")
    assert not any(part.get_content_type() == "image/png" for part in email.message().walk())
