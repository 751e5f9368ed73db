"""The Alerts page in a real headless Chromium, with a real SMTP server behind it."""

from __future__ import annotations

import pytest
from dash.testing.wait import until

from tests.alerts.smtp_server import Recorder, start_server
from tests.e2e.test_analyst_journey import click

pytestmark = pytest.mark.e2e


def type_into(dash_duo, selector: str, text: str) -> None:
    field = dash_duo.find_element(selector)
    field.clear()
    field.send_keys(text)


def test_a_rule_is_created_and_a_test_email_arrives(dash_duo, dash_app, monkeypatch):
    recorder = Recorder()
    server = start_server(recorder)
    monkeypatch.setenv("VIGIL_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("VIGIL_SMTP_PORT", str(server.port))
    monkeypatch.setenv("VIGIL_ALERT_FROM", "vigil@example.org")
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

        click(dash_duo, "#alerts-rule-pause")
        dash_duo.wait_for_contains_text("#alerts-rules", "paused", timeout=20)

        type_into(dash_duo, "#alerts-test-to", "me@example.org")
        click(dash_duo, "#alerts-test-send")
        dash_duo.wait_for_contains_text("#alerts-test-result", "the server accepted", timeout=30)
        until(lambda: len(recorder.received) == 1, timeout=10)
        assert recorder.received[0]["To"] == "me@example.org"
        dash_duo.wait_for_contains_text("#alerts-outbox", "Test email: alerts reach you")
        dash_duo.wait_for_contains_text("#alerts-sent", "1 sent")
        assert dash_duo.get_logs() == []
    finally:
        server.stop()
