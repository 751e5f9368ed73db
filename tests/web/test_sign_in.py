"""Sign-in and roles, against `vigil run` with sign-in on, over real HTTP."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests
from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from tests.alerts.smtp_server import free_port
from tests.services import redis_server
from tests.settings import server_environment
from tests.unit.test_cli import vigil

PASSWORDS = {"vera": "viewer-password", "anna": "analyst-password", "ada": "admin-password"}
ROLES = {"vera": "viewer", "anna": "analyst", "ada": "admin"}


@contextmanager
def signed_in_app(data_dir, *run_options: str, **settings: object) -> Iterator[tuple[str, dict]]:
    """`vigil run` with sign-in on and the three users, this data directory and these
    settings (by field name), and no other; its URL and settings (for `users_command`)."""
    given = {"data_dir": data_dir, "auth": "on", "demo": False, **settings}
    for name, password in PASSWORDS.items():
        added = users_command(given, "add", name, "--role", ROLES[name], password=password)
        assert added.returncode == 0, added.stderr
    port = free_port()
    app = subprocess.Popen(
        [sys.executable, "-m", "vigil.cli", "run", *run_options],
        env=server_environment(**given, port=port, live_scoring=False),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/login", timeout=2)
            break
        except requests.ConnectionError:
            time.sleep(0.3)
    try:
        yield url, given
    finally:
        os.killpg(app.pid, signal.SIGKILL)
        app.wait(10)


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    with signed_in_app(tmp_path_factory.mktemp("signed")) as served:
        yield served


def users_command(settings: dict, *args: str, password: str | None = None):
    """`vigil users ...` for the app's data directory; a password goes in on stdin."""
    if password is None:
        return vigil("users", *args, **settings)
    return vigil("users", *args, "--password-stdin", stdin=password + "\n", **settings)


def form_token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def sign_in(url: str, name: str, password: str | None = None) -> requests.Session:
    session = requests.Session()
    token = form_token(session.get(f"{url}/login", timeout=10).text)
    answer = session.post(
        f"{url}/login",
        data={"name": name, "password": password or PASSWORDS[name], "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 302, answer.text
    return session


def dash_call(session: requests.Session, url: str, body: dict, **headers) -> requests.Response:
    """Run a callback as the page would: its output key is looked up in the app's
    dependencies (keys of outputs that allow duplicates carry a hash)."""
    dependencies = session.get(f"{url}/_dash-dependencies", timeout=10)
    outputs = [d["output"] for d in dependencies.json()] if dependencies.ok else []
    output = next((key for key in outputs if body["output"] in key), body["output"])
    return session.post(
        f"{url}/_dash-update-component",
        json={**body, "output": output},
        headers=headers,
        timeout=30,
    )


APPLY_LIVE_SETTINGS = {
    "output": "live-settings-status.children",
    "outputs": {"id": "live-settings-status", "property": "children"},
    "inputs": [{"id": "live-settings-apply", "property": "n_clicks", "value": 1}],
    "changedPropIds": ["live-settings-apply.n_clicks"],
    "state": [
        {"id": "live-settings-series", "property": "value", "value": None},
        {"id": "live-settings-detector", "property": "value", "value": "auto"},
        {"id": "live-settings-model", "property": "value", "value": None},
        [],
        [],
    ],
}
MAKE_TOKEN = {
    "output": "admin-token-made.children",
    "outputs": [
        {"id": "admin-token-made", "property": "children"},
        {"id": "admin-changed", "property": "data"},
        {"id": "admin-token-name", "property": "value"},
    ],
    "inputs": [{"id": "admin-token-make", "property": "n_clicks", "value": 1}],
    "changedPropIds": ["admin-token-make.n_clicks"],
    "state": [
        {"id": "admin-token-name", "property": "value", "value": "collector"},
        {"id": "admin-token-scopes", "property": "value", "value": ["ingest", "read"]},
    ],
}
SEND_TEST_EMAIL = {
    "output": "..alerts-test-status.children...alerts-refresh.data",
    "outputs": [
        {"id": "alerts-test-status", "property": "children"},
        {"id": "alerts-refresh", "property": "data"},
    ],
    "inputs": [{"id": "alerts-test-send", "property": "n_clicks", "value": 1}],
    "changedPropIds": ["alerts-test-send.n_clicks"],
    "state": [{"id": "alerts-test-to", "property": "value", "value": ""}],
}


def test_without_signing_in_pages_send_you_to_sign_in_and_callbacks_are_refused(app_url):
    url, _ = app_url
    page = requests.get(f"{url}/live?series=cpu&at=2026-01-01", allow_redirects=False, timeout=10)
    assert page.status_code == 302
    assert page.headers["Location"] == "/login?next=%2Flive%3Fseries%3Dcpu%26at%3D2026-01-01"
    assert requests.post(f"{url}/_dash-update-component", json={}, timeout=10).status_code == 401
    assert requests.get(f"{url}/_dash-layout", timeout=10).status_code == 401
    sign_in_page = requests.get(f"{url}/login", timeout=10)
    assert sign_in_page.status_code == 200
    assert "Sign in" in sign_in_page.text


def test_each_role_may_do_its_own_and_is_refused_the_rest(app_url):
    url, _ = app_url
    viewer, analyst, admin = (sign_in(url, name) for name in ("vera", "anna", "ada"))

    for session in (viewer, analyst, admin):
        assert session.get(f"{url}/live", timeout=10).status_code == 200
        assert session.get(f"{url}/_dash-layout", timeout=10).status_code == 200

    refused = dash_call(viewer, url, APPLY_LIVE_SETTINGS)
    assert refused.status_code == 403
    assert "analyst" in refused.json()["error"]
    allowed = dash_call(analyst, url, APPLY_LIVE_SETTINGS)
    assert allowed.status_code == 200
    assert "Choose a series first." in allowed.text

    upload = {"file": ("tiny.csv", b"timestamp,value\n2024-01-01,1\n2024-01-02,2\n")}
    assert viewer.post(f"{url}/api/v1/datasets", files=upload, timeout=30).status_code == 403

    assert dash_call(analyst, url, SEND_TEST_EMAIL).status_code == 403
    as_admin = dash_call(admin, url, SEND_TEST_EMAIL)
    assert as_admin.status_code == 200
    assert "Give at least one address" in as_admin.text

    assert dash_call(analyst, url, MAKE_TOKEN).status_code == 403
    made = dash_call(admin, url, MAKE_TOKEN)
    assert made.status_code == 200
    token = re.search(r"vgl_[\w-]+", made.text).group(0)
    ingest = requests.post(
        f"{url}/api/v1/series/from_token/points",
        json={"points": [{"timestamp": "2026-01-01T00:00:00", "value": 1}]},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert ingest.status_code == 202

    shell = json.dumps(admin.get(f"{url}/_dash-layout", timeout=10).json())
    assert "ada" in shell
    assert "Sign out" in shell
    assert '"href": "/admin"' in shell
    viewers = json.dumps(viewer.get(f"{url}/_dash-layout", timeout=10).json())
    assert '"href": "/live"' in viewers
    assert '"href": "/admin"' not in viewers


def test_a_forged_or_foreign_session_is_not_a_sign_in(app_url):
    url, _ = app_url
    forger = Flask("forger")
    forger.secret_key = b"not the installation's key"
    forged = (
        SecureCookieSessionInterface()
        .get_signing_serializer(forger)
        .dumps({"_user_id": "ada", "_fresh": True})
    )
    session = requests.Session()
    session.cookies.set("vigil_session", forged)
    assert session.get(f"{url}/live", allow_redirects=False, timeout=10).status_code == 302
    assert dash_call(session, url, SEND_TEST_EMAIL).status_code == 401


def test_cross_site_requests_and_forms_without_their_token_are_refused(app_url):
    url, _ = app_url
    admin = sign_in(url, "ada")
    cross = dash_call(admin, url, SEND_TEST_EMAIL, Origin="https://evil.example")
    assert cross.status_code == 403
    assert dash_call(admin, url, SEND_TEST_EMAIL, Origin=url).status_code == 200
    no_token = requests.post(
        f"{url}/login", data={"name": "ada", "password": PASSWORDS["ada"]}, timeout=30
    )
    assert no_token.status_code == 400
    assert admin.post(f"{url}/logout", timeout=10).status_code == 400  # no form token
    assert admin.get(f"{url}/live", allow_redirects=False, timeout=10).status_code == 200


def test_signing_out_and_being_removed_end_the_session(app_url):
    url, given = app_url
    analyst = sign_in(url, "anna")
    page = analyst.get(f"{url}/login", timeout=10).text
    out = analyst.post(
        f"{url}/logout", data={"csrf_token": form_token(page)}, allow_redirects=False, timeout=10
    )
    assert out.status_code == 302
    assert analyst.get(f"{url}/live", allow_redirects=False, timeout=10).status_code == 302

    added = users_command(given, "add", "temp", password="temporary-password")
    assert added.returncode == 0, added.stderr
    temp = sign_in(url, "temp", "temporary-password")
    assert temp.get(f"{url}/live", timeout=10).status_code == 200
    removed = users_command(given, "remove", "temp")
    assert removed.returncode == 0, removed.stderr
    assert temp.get(f"{url}/live", allow_redirects=False, timeout=10).status_code == 302


@pytest.mark.slow
def test_a_wrong_password_is_refused_and_repeated_failures_are_slowed_down(tmp_path):
    """Five failures lock this address out of signing in for a minute (an app of its own, so
    the other tests' app is not locked, whatever order they run in)."""
    with signed_in_app(tmp_path / "data") as (url, _):
        _refused_five_times_then_slowed_down(url)


def _refused_five_times_then_slowed_down(url: str) -> None:
    session = requests.Session()
    token = form_token(session.get(f"{url}/login", timeout=10).text)
    answers = [
        session.post(
            f"{url}/login",
            data={"name": "vera", "password": "a wrong guess", "csrf_token": token},
            timeout=30,
        )
        for _ in range(6)
    ]
    assert [answer.status_code for answer in answers] == [401] * 5 + [429]
    assert "Wrong user name or password." in answers[0].text
    assert "Too many failed sign-ins" in answers[5].text
    right = session.post(
        f"{url}/login",
        data={"name": "vera", "password": PASSWORDS["vera"], "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    assert right.status_code == 429  # even the right password waits out the minute
    assert session.get(f"{url}/live", allow_redirects=False, timeout=10).status_code == 302


@pytest.mark.slow
def test_with_redis_the_sign_in_limit_holds_across_gunicorn_workers(tmp_path):
    """Two workers, one limit: it is kept in Redis, not in each worker's memory."""
    import redis

    with (
        redis_server(tmp_path) as redis_url,
        signed_in_app(tmp_path / "data", "--workers", "2", redis_url=redis_url) as served,
    ):
        url, _ = served
        statuses = []
        for _ in range(6):  # a new connection each time, to whichever worker takes it
            session = requests.Session()
            token = form_token(session.get(f"{url}/login", timeout=10).text)
            answer = session.post(
                f"{url}/login",
                data={"name": "anna", "password": "a wrong guess", "csrf_token": token},
                timeout=30,
            )
            statuses.append(answer.status_code)
        assert statuses == [401] * 5 + [429]
        kept = redis.Redis.from_url(redis_url).keys("LIMITS:LIMITER/vigil/*")
        assert b"LIMITS:LIMITER/vigil/127.0.0.1/vigil_auth.login/5/1/minute" in kept
        assert b"LIMITS:LIMITER/vigil/name:anna/vigil_auth.login/20/1/hour" in kept
        right = session.post(
            f"{url}/login",
            data={"name": "ada", "password": PASSWORDS["ada"], "csrf_token": token},
            allow_redirects=False,
            timeout=30,
        )
        assert right.status_code == 429  # this address waits, whoever signs in
