"""The Admin page's callbacks, called as Dash calls them (sign-in is off in this process)."""

from __future__ import annotations

import json

import pytest
from dash._callback_context import context_value
from dash._utils import AttributeDict
from sqlalchemy import text

from tests.alerts.smtp_server import Recorder, start_server
from vigil import services
from vigil.services import token_store


def text_of(component) -> str:
    return str(component.to_plotly_json())


def test_a_token_is_made_shown_once_listed_and_revoked(dash_app):
    from vigil.pages.admin import make_token, revoke_token, show

    shown, changed, cleared = make_token(1, "  nightly <loader>  ")
    assert "Name a token" in text_of(shown)  # "<" is not a token name
    shown, changed, cleared = make_token(1, "nightly loader")
    token = next(t for t in str(shown.to_plotly_json()).split("'") if t.startswith("vgl_"))
    assert token_store().check(token) is not None
    assert cleared == ""
    assert changed > 0

    table, _, _ = show(changed)
    assert "nightly loader" in text_of(table)
    assert token not in text_of(table)  # only its first characters
    assert token[:8] in text_of(table)

    record = next(t for t in token_store().tokens() if t.name == "nightly loader")
    prop = json.dumps({"index": record.id, "type": "admin-revoke"}, separators=(",", ":"))
    prop += ".n_clicks"
    context_value.set(
        AttributeDict(triggered_inputs=[{"prop_id": prop, "value": 1}], args_grouping=[])
    )
    message, _ = revoke_token([1])
    assert "Revoked the token for nightly loader" in text_of(message)
    assert token_store().check(token) is None
    table, _, _ = show(changed)
    assert "revoked" in text_of(table)


def test_the_page_counts_the_configured_tokens_apart_from_the_demo_streams(app_settings):
    from pydantic import SecretStr

    from vigil.pages.admin import show

    app_settings(api_tokens=SecretStr("one,two"), demo_token=SecretStr("demo-stream-token"))
    _, note, _ = show(1)
    assert note.startswith("Also 2 tokens from VIGIL_API_TOKENS or VIGIL_API_TOKENS_FILE")
    assert note.endswith(
        "The demo stream has a token of its own, made anew each time Vigil starts."
    )

    app_settings(api_tokens=None, demo_token=None)
    assert show(1)[1] == ""


@pytest.fixture
def mail_settings_undone():
    """The email server saved by a test, and the emails it sent, are forgotten after it (the
    app's outbox is shared by the session's tests)."""
    with services.database().read() as connection:
        before = connection.execute(text("SELECT COALESCE(MAX(id), 0) FROM outbox")).scalar()
    yield
    with services.database().write() as connection:
        connection.execute(text("DELETE FROM app_settings"))
        connection.execute(text("DELETE FROM outbox WHERE id > :before"), {"before": before})


def test_an_admin_sets_the_email_server_and_alerts_go_through_it(dash_app, mail_settings_undone):
    from vigil.pages.admin import save_mail, show_mail
    from vigil.usecases.alerting import send_test_email

    *values, status = show_mail(None)
    assert values == ["", 25, "none", "", "vigil@localhost", "UTC"]
    assert "No SMTP server is set" in text_of(status)

    refused = save_mail(1, "127.0.0.1", "99999", "none", "", "alerts@example.org", "UTC")
    assert "The port is a number from 1 to 65535" in text_of(refused)
    refused = save_mail(1, "127.0.0.1", "25", "none", "", "<b>not an address</b>", "UTC")
    assert "is not an email address" in text_of(refused)
    assert "127.0.0.1" not in text_of(show_mail(None)[-1])  # nothing of those was kept

    recorder = Recorder()
    server = start_server(recorder)
    try:
        saved = save_mail(
            1, " 127.0.0.1 ", str(server.port), "none", "", "alerts@example.org", "UTC"
        )
        assert "Saved." in text_of(saved)
        assert f"Sending through 127.0.0.1:{server.port}" in text_of(saved)
        assert "VIGIL_SMTP_PASSWORD is not set" in text_of(saved)
        *values, _ = show_mail(None)
        assert values == ["127.0.0.1", server.port, "none", "", "alerts@example.org", "UTC"]

        _, report = send_test_email(services.current(), ["ops@example.org"])
    finally:
        server.stop()
    assert report is not None
    assert report.sent >= 1
    (message,) = [m for m in recorder.received if m["To"] == "ops@example.org"]
    assert message["From"] == "alerts@example.org"
    with services.database().read() as connection:
        kept = dict(connection.execute(text("SELECT name, changed_by FROM app_settings")).all())
    assert kept["smtp_host"] == "local"
    assert not [name for name in kept if "password" in name]


def test_an_admin_sets_the_time_zone_of_emails_and_an_unknown_one_is_refused(
    dash_app, settings, mail_settings_undone
):
    from vigil.pages.admin import save_mail, show_mail

    refused = save_mail(1, "", "25", "none", "", "alerts@example.org", "Europe/Berlln")
    assert "'Europe/Berlln' is not a time zone" in text_of(refused)
    assert show_mail(None)[5] == "UTC"

    saved = save_mail(1, "", "25", "none", "", "alerts@example.org", "Europe/Berlin")

    assert "Saved." in text_of(saved)
    assert show_mail(None)[5] == "Europe/Berlin"
    # the settings the app was handed are as they were, under the saved ones
    assert services.settings().alert_time_zone == settings.alert_time_zone == "UTC"
