"""The Alerts page in a real headless Chromium, with a real SMTP server behind it."""

from __future__ import annotations

import re
import time

import pandas as pd
import pytest
from dash.testing.wait import until
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.alerts.smtp_server import Recorder, start_server
from tests.e2e.test_analyst_journey import click
from tests.e2e.waits import texts
from vigil.alerts.episodes import AlertPoint, EpisodeReport
from vigil.services import Services
from vigil.usecases.alerting import alert_engine

pytestmark = pytest.mark.e2e


def type_into(dash_duo, selector: str, text: str) -> None:
    field = dash_duo.find_element(selector)
    field.clear()
    field.send_keys(text)


def to_me(recorder: Recorder) -> list:
    return [message for message in recorder.received if message["To"] == "me@example.org"]


def sent_count(dash_duo) -> int:
    """The number before "sent" on the Alerts page's outbox summary (0 while it is missing)."""
    found = re.search(r"(\d[\d,]*) sent", " ".join(texts(dash_duo, "#alerts-sent") or []))
    return int(found.group(1).replace(",", "")) if found else 0


def test_a_rule_is_created_and_a_test_email_arrives(dash_duo, dash_app, app_settings, settings):
    recorder = Recorder()
    server = start_server(recorder)
    app_settings(smtp_host="127.0.0.1", smtp_port=server.port, alert_from="vigil@example.org")
    try:
        dash_duo.start_server(dash_app)
        dash_duo.driver.get(f"{dash_duo.server_url}/alerts")
        dash_duo.wait_for_contains_text("#alerts-smtp", f"127.0.0.1:{server.port} without TLS")

        type_into(dash_duo, "#alerts-rule-name", "Latency <spikes> & co")
        type_into(dash_duo, "#alerts-rule-series", "latency_*")
        type_into(dash_duo, "#alerts-rule-recipients", "not-an-address")
        click(dash_duo, "#alerts-rule-save")
        dash_duo.wait_for_contains_text("#alerts-rule-error", "email addresses", timeout=20)
        type_into(dash_duo, "#alerts-rule-recipients", "ops@example.org")
        click(dash_duo, "#alerts-rule-save")
        dash_duo.wait_for_contains_text("#alerts-rule-ok", "Saved 'Latency <spikes> & co'")
        dash_duo.wait_for_contains_text("#alerts-rules", "Latency <spikes> & co", timeout=20)
        assert "active" in dash_duo.find_element("#alerts-rules").text
        click(dash_duo, "#alerts-rule-new")
        until(lambda: dash_duo.find_element("#alerts-rule-name").get_attribute("value") == "", 10)
        rows = dash_duo.find_elements("#alerts-rules .ag-center-cols-container .ag-row")
        next(row for row in rows if "Latency <spikes>" in row.text).click()
        until(
            lambda: (
                dash_duo.find_element("#alerts-rule-name").get_attribute("value")
                == "Latency <spikes> & co"
            ),
            10,
        )

        click(dash_duo, "#alerts-rule-pause")
        dash_duo.wait_for_contains_text("#alerts-rules", "paused", timeout=20)
        click(dash_duo, "#alerts-rule-pause")
        dash_duo.wait_for_contains_text("#alerts-rule-ok", "Resumed", timeout=20)
        Select(dash_duo.find_element("#alerts-silence-hours")).select_by_visible_text("for a day")
        click(dash_duo, "#alerts-rule-silence")
        dash_duo.wait_for_contains_text("#alerts-rule-ok", "Silenced 'Latency <spikes> & co' until")
        dash_duo.wait_for_contains_text("#alerts-rules", "silenced until", timeout=20)

        type_into(dash_duo, "#alerts-test-to", "me@example.org")
        click(dash_duo, "#alerts-test-send")
        dash_duo.wait_for_contains_text("#alerts-test-result", "the server accepted", timeout=30)
        # the outbox is shared with earlier tests, whose waiting emails may go out with it
        until(lambda: to_me(recorder), timeout=30)
        assert len(to_me(recorder)) == 1
        dash_duo.wait_for_contains_text("#alerts-outbox", "Vigil test email: alerts reach you")
        until(lambda: sent_count(dash_duo) >= 1, timeout=30)

        rule = next(
            r for r in Services(settings).rule_store.rules() if r.name == "Latency <spikes> & co"
        )
        peak = AlertPoint(pd.Timestamp("2024-03-12 09:34"), 587.2, 270.5, 0.99, "far above")
        start, end = pd.Timestamp("2024-03-12 09:30"), pd.Timestamp("2024-03-12 09:45")
        episode = EpisodeReport(start, end, 4, peak, onset=True, open=False)
        alert_engine(Services(settings)).record(
            rule, "latency_ms", "d1", [episode], now=time.time(), dataset_name="ops.csv"
        )
        dash_duo.wait_for_contains_text("#alerts-history", "2024-03-12 09:30 to 09:45", timeout=30)
        rows = dash_duo.find_elements("#alerts-history .ag-center-cols-container .ag-row")
        row = next(row for row in rows if "latency_ms" in row.text)
        assert "15 min, 4 points" in row.text
        assert "587.2 (expected 270.5) at 09:34" in row.text
        assert "ops.csv" in row.text
        # the tables above refresh on a timer and may shift the row and the button as they
        # are clicked: each is clicked where it is, in one step
        cell = row.find_element(By.CSS_SELECTOR, ".ag-cell")
        dash_duo.driver.execute_script("arguments[0].click()", cell)
        silence = dash_duo.find_element("#alerts-silence-series")
        dash_duo.driver.execute_script("arguments[0].click()", silence)
        dash_duo.wait_for_contains_text("#alerts-silenced", "Silenced latency_ms for", timeout=20)
        assert (rule.id, "latency_ms") in Services(settings).rule_store.silences()
        assert dash_duo.get_logs() == []
    finally:
        server.stop()
