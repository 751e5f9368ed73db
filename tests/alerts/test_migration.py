"""Revision 0007 (alert episodes): the alert history recorded as points survives, both ways."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import inspect, text

from vigil.alerts.engine import MUTED, AlertEngine
from vigil.alerts.outbox import Outbox
from vigil.alerts.rules import Rule, RuleStore
from vigil.storage.database import Database, query_frame
from vigil.storage.migrations import downgrade, upgrade

T0 = pd.Timestamp("2024-03-12 09:00").timestamp()
POINTS = [  # series, timestamp, severity, email_id: sent in email 1, muted, waiting
    ("cpu", "2024-03-12 08:00:00", 0.95, 1),
    ("cpu", "2024-03-12 08:30:00", 0.99, 1),
    ("disk", "2024-03-12 07:00:00", 0.97, MUTED),
    ("mem", "2024-03-12 08:55:00", 0.92, None),
]


def old_rule(
    database: Database,
    name: str,
    pattern: str,
    detector: str,
    *,
    group_minutes: float = 15,
    resolve_minutes: float = 60,
) -> None:
    """A rule as revisions before 0008 kept it."""
    with database.write() as connection:
        connection.execute(
            text(
                "INSERT INTO rules (name, series_pattern, detector, min_severity, recipients, "
                "group_minutes, resolve_minutes, daily_budget, created) VALUES (:name, "
                ":pattern, :detector, 0.9, '[\"ops@example.org\"]', :group, :resolve, 20, "
                "'2026-11-20T09:00:00+00:00')"
            ),
            {
                "name": name,
                "pattern": pattern,
                "detector": detector,
                "group": group_minutes,
                "resolve": resolve_minutes,
            },
        )


@pytest.fixture
def at_0006(database_url):
    """A database at revision 0006 with a rule's alert history as points: cpu's alert still
    firing (emailed, not yet resolved), disk's resolved while muted, mem's point waiting."""
    database = Database(database_url)
    upgrade(database, "0006")
    rule = Rule("all", "*", ("ops@example.org",), group_minutes=0, resolve_minutes=30, id=1)
    old_rule(database, "all", "*", "auto", group_minutes=0, resolve_minutes=30)
    with database.write() as connection:
        for series, timestamp, severity, email_id in POINTS:
            connection.execute(
                text(
                    "INSERT INTO alert_points (rule_id, series, timestamp, value, expected, "
                    "severity, explanation, recorded, email_id) VALUES (:rule, :series, :ts, "
                    "500, 100, :severity, 'far above 100', :now, :email)"
                ),
                {
                    "rule": rule.id,
                    "series": series,
                    "ts": timestamp,
                    "severity": severity,
                    "now": T0 - 600,
                    "email": email_id,
                },
            )
        for series, status in (("cpu", "firing"), ("disk", "resolved"), ("mem", "firing")):
            connection.execute(
                text(
                    "INSERT INTO alerts (rule_id, series, dataset, status, opened, last_flag, "
                    "last_email) VALUES (:rule, :series, 'd1', :status, :t, :t, :t)"
                ),
                {"rule": rule.id, "series": series, "status": status, "t": T0 - 600},
            )
    yield database, rule
    database.dispose()


def test_0007_makes_each_recorded_point_a_one_point_episode(at_0006):
    database, rule = at_0006
    upgrade(database, "0007")

    assert "alert_points" not in inspect(database.engine).get_table_names()
    with database.read() as connection:  # as 0007 left it (today's engine reads later columns)
        history = query_frame(
            connection,
            "SELECT series, start_at, end_at, points, severity, email_id FROM alert_episodes "
            "WHERE rule_id = :rule ORDER BY start_at",
            {"rule": rule.id},
        )
    assert history[["series", "start_at", "end_at", "points", "severity"]].values.tolist() == [
        ["disk", "2024-03-12 07:00:00", "2024-03-12 07:00:00", 1, 0.97],
        ["cpu", "2024-03-12 08:00:00", "2024-03-12 08:00:00", 1, 0.95],
        ["cpu", "2024-03-12 08:30:00", "2024-03-12 08:30:00", 1, 0.99],
        ["mem", "2024-03-12 08:55:00", "2024-03-12 08:55:00", 1, 0.92],
    ]
    emailed = dict(zip(history["start_at"], history["email_id"], strict=True))
    assert emailed["2024-03-12 08:00:00"] == 1
    assert emailed["2024-03-12 07:00:00"] == MUTED
    assert pd.isna(emailed["2024-03-12 08:55:00"])


def test_after_0007_the_waiting_point_is_emailed_and_the_firing_alert_resolves_once(at_0006):
    database, rule = at_0006
    upgrade(database)
    outbox = Outbox(database)
    engine = AlertEngine(database, outbox, sender="v@example.org", public_url="http://v")

    assert engine.dispatch([rule], now=T0) == 1  # mem's waiting point, as an episode
    # cpu's resolved email; mem's point had ended when its email announced it
    assert engine.dispatch([rule], now=T0 + 3600) == 1
    assert engine.dispatch([rule], now=T0 + 7200) == 0
    subjects = sorted(email.subject for email in outbox.emails())
    assert subjects[0] == "ALERT · mem (d1) was 5.0\u00d7 normal on 12 Mar 2024 08:55 UTC"
    assert subjects[1].startswith(
        "RESOLVED · cpu (d1) back to normal since 12 Mar 2024 08:30 UTC, "
    )


def test_0007_goes_down_to_points_again(at_0006):
    database, _ = at_0006
    upgrade(database, "0007")
    downgrade(database, "0006")

    with database.read() as connection:
        rows = connection.execute(
            text("SELECT series, timestamp, severity, email_id FROM alert_points ORDER BY id")
        ).all()
    assert sorted(tuple(row) for row in rows) == sorted(POINTS)
    assert "dataset_name" not in {c["name"] for c in inspect(database.engine).get_columns("alerts")}


@pytest.fixture
def rules_at_0007(database_url):
    """A database at revision 0007 with a rule left at the old default detector, 'auto', and
    one that chose STL."""
    database = Database(database_url)
    upgrade(database, "0007")
    old_rule(database, "default", "cpu*", "auto")
    old_rule(database, "chosen", "cpu*", "stl")
    yield database
    database.dispose()


def test_0008_makes_rules_at_the_old_default_watch_each_series_with_its_own_detector(
    rules_at_0007,
):
    upgrade(rules_at_0007, "0008")

    default, chosen = RuleStore(rules_at_0007).rules()
    assert (default.detector, default.dataset, default.direction) == (None, None, "either")
    assert default.watches("cpu_1", "live", "stl")
    assert default.watches("cpu_1", "d1", "zscore")
    assert chosen.detector == "stl"
    assert chosen.watches("cpu_1", "live", "stl")
    assert not chosen.watches("cpu_1", "live", "auto")


def test_0008_goes_down_to_the_old_default_again(rules_at_0007):
    upgrade(rules_at_0007, "0008")
    downgrade(rules_at_0007, "0007")

    with rules_at_0007.read() as connection:
        detectors = connection.execute(text("SELECT detector FROM rules ORDER BY id")).all()
    assert [detector for (detector,) in detectors] == ["auto", "stl"]
    assert "direction" not in {
        c["name"] for c in inspect(rules_at_0007.engine).get_columns("rules")
    }
