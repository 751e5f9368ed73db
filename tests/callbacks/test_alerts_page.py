"""The Alerts page's callbacks as plain calls, against the real SQLite stores."""

from __future__ import annotations

import pandas as pd
import pytest
from dash._callback_context import context_value
from dash._utils import AttributeDict
from pydantic import SecretStr

from vigil.alerts.episodes import AlertPoint, EpisodeReport
from vigil.alerts.rules import Rule
from vigil.services import Services
from vigil.usecases.alerting import alert_engine


def save_rule(name: str, pattern: str, **fields):
    """Save a new rule as the form's Save button does: its status line."""
    from vigil.pages.alerts import FORM, change_rule

    form = {
        "name": name,
        "series_pattern": pattern,
        "labels": "",
        "detector": "own",
        "dataset": "any",
        "direction": "either",
        "min_severity": 0.9,
        "recipients": "ops@example.org",
        "webhooks": "",
        "group_minutes": 15,
        "resolve_minutes": 60,
        "daily_budget": 20,
    } | fields
    context_value.set(AttributeDict(triggered_inputs=[{"prop_id": "alerts-rule-save.n_clicks"}]))
    status, _, _ = change_rule(1, None, None, None, *(form[key] for key in FORM), "1", None, "UTC")
    return status


def test_a_series_is_silenced_from_its_episode_and_a_bad_rule_is_refused(dash_app, settings):
    from vigil.pages.alerts import _rule_from_form, show, silence_series

    rule = Services(settings).rule_store.save(Rule("page rule", "cpu_*", ("ops@example.org",)))
    peak = AlertPoint(pd.Timestamp("2024-01-02 03:06"), 9.0, 1.0, 0.99, "<b>high</b>")
    start, end = pd.Timestamp("2024-01-02 03:04"), pd.Timestamp("2024-01-02 03:19")
    episode = EpisodeReport(start, end, 6, peak, onset=True, open=False)
    alert_engine(Services(settings)).record(
        rule, "cpu_7", "d1", [episode], now=1.0, dataset_name="ops.csv"
    )

    *_, history = show(None, None, "all")
    row = next(r for r in history if r["series"] == "cpu_7")
    assert row["rule"] == "page rule"
    assert row["span"] == "2024-01-02 03:04 to 03:19 UTC (15 min, 6 points)"
    assert row["dataset"] == "ops.csv"
    assert (row["when"], row["extent"]) == ("2024-01-02 03:04 to 03:19 UTC", "15 min, 6 points")
    assert row["peak"] == "9 (expected 1) at 03:06"
    assert row["emailed"] == "waiting"
    assert row["explanation"] == "<b>high</b>"  # the grid shows text, it does not render it

    status, _ = silence_series(1, [row], "24", "Asia/Kolkata")
    assert "Silenced cpu_7 for 'page rule'" in str(status)
    until = Services(settings).rule_store.silences()[(rule.id, "cpu_7")]
    assert pd.Timedelta(hours=23) < until - pd.Timestamp.now(tz="UTC") <= pd.Timedelta(hours=24)
    in_kolkata = pd.Timestamp(until).tz_convert("Asia/Kolkata")
    assert f"until {in_kolkata:%Y-%m-%d %H:%M} IST" in str(status)  # the zone picked

    form = {
        "name": "x",
        "series_pattern": "*",
        "labels": "",
        "detector": "",
        "dataset": "",
        "direction": "either",
        "min_severity": 1.5,
        "recipients": "a@b.c",
        "webhooks": "",
        "group_minutes": 5,
        "resolve_minutes": 30,
        "daily_budget": 3,
    }
    with pytest.raises(ValueError, match="between 0 and 1"):
        _rule_from_form(form, None, Services(settings).rule_store)


def test_the_page_says_where_email_goes_and_never_shows_the_password(app_settings):
    from vigil.pages.alerts import show

    app_settings(
        smtp_host="smtp.example.org",
        smtp_port=465,
        smtp_security="ssl",
        smtp_username="alerts",
        smtp_password=SecretStr("hunter2-secret"),
    )

    shown = show(None, None, "all")

    assert (
        shown[0] == "Sending through smtp.example.org:465 over SSL as alerts, from vigil@localhost."
    )
    assert "hunter2-secret" not in str(shown)


def test_a_rule_that_matches_no_series_is_saved_with_a_warning(dash_app, settings):
    Services(settings).live_store.configure("disk_io", detector="stl")

    lonely = save_rule("lonely", "nothing_like_it_*")
    watching = save_rule("disks", "disk_*")

    assert "Saved 'lonely'." in str(lonely)
    assert "No series matches it yet" in str(lonely)
    assert "'nothing_like_it_*'" in str(lonely)
    assert "Saved 'disks'." in str(watching)
    assert "No series matches" not in str(watching)


def test_the_rules_table_shows_each_rules_detector_series_last_firing_and_points(
    dash_app, settings
):
    from vigil.pages.alerts import show

    Services(settings).live_store.configure("net_in", detector="stl")
    watching = Services(settings).rule_store.save(Rule("network", "net_*", ("ops@example.org",)))
    Services(settings).rule_store.save(
        Rule(
            "net, stl, live",
            "net_*",
            ("ops@example.org",),
            "stl",
            dataset="live",
            direction="above",
        )
    )
    Services(settings).rule_store.save(Rule("quiet", "nowhere_*", ("ops@example.org",)))
    peak = AlertPoint(pd.Timestamp("2024-01-02 03:06"), 9.0, 1.0, 0.99, "high")
    start, end = pd.Timestamp("2024-01-02 03:04"), pd.Timestamp("2024-01-02 03:19")
    episode = EpisodeReport(start, end, 6, peak, onset=True, open=False)
    alert_engine(Services(settings)).record(
        watching, "net_in", "live", [episode], now=1_700_000_000.0
    )

    rules = {row["name"]: row for row in show(None, None, "all")[2]}

    assert rules["network"]["detector"] == "the series' own"
    assert rules["network"]["dataset"] == "any"
    assert rules["network"]["direction"] == "either way"
    assert "net_in" in rules["network"]["matching"]
    assert rules["network"]["last_fired"] == "2023-11-14 22:13 UTC"
    assert rules["network"]["points"] == 6
    assert rules["net, stl, live"]["detector"] == "Seasonal decomposition (STL)"
    assert (rules["net, stl, live"]["dataset"], rules["net, stl, live"]["direction"]) == (
        "live",
        "above only",
    )
    assert "net_in" in rules["net, stl, live"]["matching"]
    assert rules["quiet"]["matching"] == "none yet"
    assert (rules["quiet"]["last_fired"], rules["quiet"]["points"]) == ("never", 0)


def test_empty_tables_say_what_to_do_not_no_rows_to_show(dash_app):
    from vigil.pages.alerts import HISTORY, OUTBOX, RULES, layout

    page = layout()
    said = {
        grid.id: grid.dashGridOptions["localeText"]["noRowsToShow"]
        for grid in _components(page)
        if getattr(grid, "id", None) in (RULES, OUTBOX, HISTORY)
    }
    assert said == {
        RULES: "No alert rules yet: add one with the form below.",
        OUTBOX: "No alert email yet.",
        HISTORY: "No anomaly episode has been alerted on yet.",
    }


def _components(component):
    """Every component in a layout, depth first."""
    yield component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list | tuple) else [children]:
        if child is not None and not isinstance(child, str | int | float):
            yield from _components(child)


def test_the_history_and_rules_show_times_in_the_zone_picked(dash_app, settings):
    from vigil.pages.alerts import show

    rule = Services(settings).rule_store.save(Rule("kolkata rule", "disk_*", ("ops@example.org",)))
    peak = AlertPoint(pd.Timestamp("2024-01-02 18:36"), 9.0, 1.0, 0.99, "high")
    start, end = pd.Timestamp("2024-01-02 18:34"), pd.Timestamp("2024-01-02 18:49")
    episode = EpisodeReport(start, end, 6, peak, onset=True, open=False)
    alert_engine(Services(settings)).record(rule, "disk_1", "live", [episode], now=1_700_000_000.0)

    _smtp, _counts, rules, _outbox, history = show(None, None, "all", "Asia/Kolkata")

    row = next(r for r in history if r["series"] == "disk_1")
    # 18:34 UTC is 00:04 the next day in Kolkata (+05:30)
    assert row["when"] == "2024-01-03 00:04 to 00:19 IST"
    assert row["peak"] == "9 (expected 1) at 00:06"
    assert row["start"] == "2024-01-02 18:34:00"  # the stored time, what the page looks up
    fired = next(r for r in rules if r["name"] == "kolkata rule")["last_fired"]
    assert fired == "2023-11-15 03:43 IST"  # 22:13 UTC


def test_a_rule_takes_label_matchers_and_one_from_a_rules_file_is_changed_by_its_file(
    dash_app, settings
):
    from dataclasses import replace

    from vigil.alerts.rulebook import FROM_FILE
    from vigil.pages.alerts import FORM, change_rule

    refused = save_rule("labelled", "*", labels="env=~(")
    assert "Labels: env=~(: not a regular expression" in str(refused)

    save_rule("labelled", "*", labels="env=prod  service=~web|api")
    store = Services(settings).rule_store
    (made,) = [rule for rule in store.rules() if rule.name == "labelled"]
    assert made.labels == ("env=prod", "service=~web|api")

    store.save(replace(made, source=FROM_FILE))
    form = [getattr(made, key) if key != "labels" else "" for key in FORM]
    form[list(FORM).index("recipients")] = "x@example.org"
    for button in ("save", "delete"):
        context_value.set(
            AttributeDict(triggered_inputs=[{"prop_id": f"alerts-rule-{button}.n_clicks"}])
        )
        status, _, _ = change_rule(1, None, None, None, *form, "1", made.id, "UTC")
        assert "comes from a rules file" in str(status) or "from a rules file" in str(status)
    assert store.get(made.id) == replace(made, source=FROM_FILE)  # neither saved nor deleted


def test_a_rule_notifies_webhooks_written_one_a_line_and_a_bad_one_is_named(dash_app, settings):
    from vigil.alerts.webhooks import Webhook
    from vigil.pages.alerts import edit_rule

    refused = save_rule(
        "chat", "*", recipients="", webhooks="https://hooks.example.org/a\nslack ftp://x.org/b"
    )
    assert "Webhooks, line 2: 'ftp://x.org/…' is not an http or https address" in str(refused)
    nothing = save_rule("chat", "*", recipients="", webhooks=" \n ")
    assert "Give the recipients (email addresses), webhooks, or both." in str(nothing)

    lines = "https://hooks.example.org/a\n\nslack https://hooks.slack.com/services/T/B/secret\n"
    assert "Saved 'chat'" in str(save_rule("chat", "*", recipients="", webhooks=lines))
    store = Services(settings).rule_store
    (made,) = [rule for rule in store.rules() if rule.name == "chat"]
    assert made.recipients == ()
    assert made.webhooks == (
        Webhook("https://hooks.example.org/a"),
        Webhook("https://hooks.slack.com/services/T/B/secret", "slack"),
    )
    context_value.set(AttributeDict(triggered_inputs=[{"prop_id": "alerts-rules.selectedRows"}]))
    *values, editing = edit_rule([{"id": str(made.id)}], None)
    assert editing == made.id
    assert (
        "https://hooks.example.org/a\nslack https://hooks.slack.com/services/T/B/secret" in values
    )
