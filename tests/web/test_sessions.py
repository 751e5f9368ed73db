"""Sessions end when they should, and a name counts as one name however it is typed: over
real HTTP, against `vigil run` with sign-in on."""

from __future__ import annotations

import pytest
import requests
from requests.adapters import HTTPAdapter

from tests.web.test_sign_in import (
    PASSWORDS,
    dash_call,
    form_token,
    sign_in,
    signed_in_app,
    users_command,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    with signed_in_app(tmp_path_factory.mktemp("sessions")) as served:
        yield served


def _signed_in(session: requests.Session, url: str) -> bool:
    return session.get(f"{url}/live", allow_redirects=False, timeout=10).status_code == 200


def _with_cookie(cookie: str) -> requests.Session:
    session = requests.Session()
    session.cookies.set("vigil_session", cookie)
    return session


def test_signing_out_ends_the_session_for_a_copy_of_its_cookie_too(app_url):
    url, _ = app_url
    analyst = sign_in(url, "anna")
    elsewhere = sign_in(url, "anna")
    copied = analyst.cookies["vigil_session"]
    assert _signed_in(_with_cookie(copied), url)

    page = analyst.get(f"{url}/login", timeout=10).text
    out = analyst.post(
        f"{url}/logout", data={"csrf_token": form_token(page)}, allow_redirects=False, timeout=10
    )
    assert out.status_code == 302

    assert not _signed_in(_with_cookie(copied), url)
    assert not _signed_in(elsewhere, url)  # signing out ends every session of that user
    assert _signed_in(sign_in(url, "anna"), url)


def test_a_new_password_ends_the_sessions_made_with_the_old_one(app_url):
    url, given = app_url
    added = users_command(given, "add", "olga", password="the first password")
    assert added.returncode == 0, added.stderr
    olga = sign_in(url, "olga", "the first password")
    assert _signed_in(olga, url)

    changed = users_command(given, "add", "olga", password="the second password")
    assert changed.returncode == 0, changed.stderr
    assert "Updated olga" in changed.stdout

    assert not _signed_in(olga, url)
    assert _signed_in(sign_in(url, "olga", "the second password"), url)


def test_a_look_alike_name_cannot_be_added_beside_a_user(app_url):
    url, given = app_url
    added = users_command(given, "add", "VERA", "--role", "viewer", password=PASSWORDS["vera"])
    assert added.returncode == 0, added.stderr
    assert "Updated vera (viewer)" in added.stdout
    listed = users_command(given, "list").stdout.splitlines()
    assert [line for line in listed if "vera" in line.lower()] == ["vera\tviewer"]
    assert _signed_in(sign_in(url, " Vera\t", PASSWORDS["vera"]), url)


def test_the_gate_matches_whole_path_segments(app_url):
    url, _ = app_url
    for path in ("/login-anything", "/loginx", "/assetsx/a.css", "/feedback/markdown"):
        answer = requests.get(f"{url}{path}", allow_redirects=False, timeout=10)
        assert answer.status_code == 302, path
        assert answer.headers["Location"].startswith("/login?next=")
    assert requests.get(f"{url}/login", timeout=10).status_code == 200
    assert requests.get(f"{url}/assets/00-bootstrap.min.css", timeout=10).status_code == 200


class _FromAddress(HTTPAdapter):
    """Connects from one address of the loopback network, as a client elsewhere would."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def _from(address: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", _FromAddress(address))
    return session


def test_failed_sign_ins_count_against_one_name_however_it_is_typed(tmp_path):
    """Twenty failures an hour per name, from any address (each address stays under its own
    limit of five a minute): spelling the name differently does not earn more guesses."""
    variants = ["vera", " vera", "vera\t", "VERA", "\uff56\uff45\uff52\uff41"]
    with signed_in_app(tmp_path / "data", host="0.0.0.0") as (url, _):
        statuses = []
        for index, name in enumerate(variants):
            session = _from(f"127.0.0.{10 + index}")
            token = form_token(session.get(f"{url}/login", timeout=10).text)
            for _ in range(4):
                answer = session.post(
                    f"{url}/login",
                    data={"name": name, "password": "a wrong guess", "csrf_token": token},
                    timeout=30,
                )
                statuses.append(answer.status_code)
        assert statuses == [401] * 20

        fresh = _from("127.0.0.99")
        token = form_token(fresh.get(f"{url}/login", timeout=10).text)
        right = fresh.post(
            f"{url}/login",
            data={"name": "Vera", "password": PASSWORDS["vera"], "csrf_token": token},
            allow_redirects=False,
            timeout=30,
        )
        assert right.status_code == 429  # vera's guesses are used up, whoever asks


DOWNLOAD_MODEL = {
    "output": "..analyze-download-model-file.data...analyze-model-status.children",
    "outputs": [
        {"id": "analyze-download-model-file", "property": "data"},
        {"id": "analyze-model-status", "property": "children"},
    ],
    "inputs": [{"id": "analyze-download-model", "property": "n_clicks", "value": 1}],
    "changedPropIds": ["analyze-download-model.n_clicks"],
    "state": [{"id": "analyze-model", "property": "value", "value": None}],
}


def test_viewers_cannot_download_saved_models(app_url):
    """A model file is a signed pickle this installation loads: analysts' business."""
    url, _ = app_url
    refused = dash_call(sign_in(url, "vera"), url, DOWNLOAD_MODEL)
    assert refused.status_code == 403
    assert refused.json() == {"error": "This needs the analyst role."}
    allowed = dash_call(sign_in(url, "anna"), url, DOWNLOAD_MODEL)
    assert allowed.status_code == 200
    assert "Choose a saved model" in allowed.text
