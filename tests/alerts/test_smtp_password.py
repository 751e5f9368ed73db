"""VIGIL_SMTP_PASSWORD goes only to the server the environment names: an admin who points
email at another server on the Admin page gets no password sent there. Two real SMTP servers
on 127.0.0.1, each recording the logins it is offered."""

from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.alerts.smtp_server import PASSWORD, USER, Recorder, free_port
from tests.settings import make_settings
from vigil.services import Services
from vigil.storage.database import sqlite_url
from vigil.stores.mail_settings import FIELDS
from vigil.usecases.alerting import send_test_email


class LoginRecorder(Recorder):
    """Accepts mail and any login, and keeps every login and password it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.logins: list[tuple[str, str]] = []

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=True)


@pytest.fixture
def servers():
    started = []
    for _ in range(2):
        recorder = LoginRecorder()
        controller = Controller(
            recorder,
            hostname="127.0.0.1",
            port=free_port(),
            authenticator=recorder.authenticate,
            auth_require_tls=False,
        )
        controller.start()
        started.append((controller, recorder))
    yield started
    for controller, _ in started:
        controller.stop()


def _admin_saves(config, **changes) -> dict:
    """What the Admin page's Save does: the form shows what is in effect, some fields changed."""
    before = {name: getattr(Services(config).mail(), name) for name in FIELDS}
    return Services(config).mail_settings.save({**before, **changes}, by="mallory", before=before)


def test_the_password_is_not_sent_to_a_server_an_admin_points_email_at(tmp_path, servers):
    (ours, at_ours), (theirs, at_theirs) = servers
    config = make_settings(
        tmp_path,
        database_url=sqlite_url(tmp_path / "vigil.sqlite"),
        smtp_host="127.0.0.1",
        smtp_port=ours.port,
        smtp_username=USER,
        smtp_password=PASSWORD,
        alert_from="vigil@example.org",
    )
    _, report = send_test_email(Services(config), ["ops@example.org"])
    assert report.sent == 1
    assert at_ours.logins == [(USER, PASSWORD)]

    saved = _admin_saves(config, smtp_port=theirs.port)
    assert saved["smtp_username"] is None  # the login belonged to the other server
    send_test_email(Services(config), ["ops@example.org"])
    assert at_theirs.received  # mail goes where the admin said...
    assert at_theirs.logins == []  # ...with no login and no password

    _admin_saves(config, smtp_username="mallory")
    send_test_email(Services(config), ["ops@example.org"])
    assert at_theirs.logins == [("mallory", "")]  # a login of their own, never ours

    _admin_saves(config, smtp_port=ours.port, smtp_username=USER)
    send_test_email(Services(config), ["ops@example.org"])
    assert at_ours.logins == [(USER, PASSWORD)] * 2  # back home, the password works again
    assert all(PASSWORD not in password for _, password in at_theirs.logins)
