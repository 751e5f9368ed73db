"""The Alerts page's callbacks as plain calls, against the real SQLite stores."""

from __future__ import annotations

import pandas as pd
import pytest

from alerts.episodes import AlertPoint, EpisodeReport
from alerts.rules import Rule
from vigil.alerting import alert_engine, rule_store
from vigil.settings import load_settings


def test_a_series_is_silenced_from_its_episode_and_a_bad_rule_is_refused(dash_app):
    from pages.alerts import _rule_from_form, show, silence_series

    config = load_settings()
    rule = rule_store(config).save(Rule("page rule", "cpu_*", ("ops@example.org",)))
    peak = AlertPoint(pd.Timestamp("2024-01-02 03:06"), 9.0, 1.0, 0.99, "<b>high</b>")
    start, end = pd.Timestamp("2024-01-02 03:04"), pd.Timestamp("2024-01-02 03:19")
    episode = EpisodeReport(start, end, 6, peak, onset=True, open=False)
    alert_engine(config).record(rule, "cpu_7", "d1", [episode], now=1.0, dataset_name="ops.csv")

    *_, history = show(None, None, "all")
    row = next(r for r in history if r["series"] == "cpu_7")
    assert row["rule"] == "page rule"
    assert row["span"] == "2024-01-02 03:04 to 03:19 (15 min, 6 points)"
    assert row["dataset"] == "ops.csv"
    assert (row["when"], row["extent"]) == ("2024-01-02 03:04 to 03:19", "15 min, 6 points")
    assert row["peak"] == "9 (expected 1) at 03:06"
    assert row["emailed"] == "waiting"
    assert row["explanation"] == "<b>high</b>"  # the grid shows text, it does not render it

    status, _ = silence_series(1, [row], "24")
    assert "Silenced cpu_7 for 'page rule'" in str(status)
    until = rule_store(config).silences()[(rule.id, "cpu_7")]
    assert pd.Timedelta(hours=23) < until - pd.Timestamp.now(tz="UTC") <= pd.Timedelta(hours=24)

    form = {
        "name": "x",
        "series_pattern": "*",
        "detector": "auto",
        "min_severity": 1.5,
        "recipients": "a@b.c",
        "group_minutes": 5,
        "resolve_minutes": 30,
        "daily_budget": 3,
    }
    with pytest.raises(ValueError, match="between 0 and 1"):
        _rule_from_form(form, None, rule_store(config))


def test_the_page_says_where_email_goes_and_never_shows_the_password(dash_app, monkeypatch):
    from pages.alerts import show

    monkeypatch.setenv("VIGIL_SMTP_HOST", "smtp.example.org")
    monkeypatch.setenv("VIGIL_SMTP_PORT", "465")
    monkeypatch.setenv("VIGIL_SMTP_SECURITY", "ssl")
    monkeypatch.setenv("VIGIL_SMTP_USERNAME", "alerts")
    monkeypatch.setenv("VIGIL_SMTP_PASSWORD", "hunter2-secret")

    shown = show(None, None, "all")

    assert (
        shown[0] == "Sending through smtp.example.org:465 over SSL as alerts, from vigil@localhost."
    )
    assert "hunter2-secret" not in str(shown)
