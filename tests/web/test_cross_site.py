"""With sign-in off (the default on 127.0.0.1), other web pages cannot act on Vigil: a
state-changing request from another site is refused by its Origin or Sec-Fetch-Site, and a
request addressed to another host name (DNS rebinding) is refused by its Host. Over real
HTTP, against `vigil run`."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests

from tests.settings import API_TOKEN
from tests.web.served import served
from tests.web.test_sign_in import MAKE_TOKEN, dash_call

ROWS = "".join(f"2024-01-{day:02d},{day % 5}\n" for day in range(1, 21))
TINY = {"file": ("tiny.csv", f"timestamp,value\n{ROWS}".encode())}


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    with served(tmp_path_factory.mktemp("open"), api_tokens=API_TOKEN) as address:
        yield address


def test_a_cross_site_upload_is_refused_and_a_same_site_one_is_stored(url):
    cross = requests.post(
        f"{url}/api/v1/datasets", files=TINY, headers={"Origin": "https://evil.example"}, timeout=30
    )
    assert cross.status_code == 403
    assert cross.json() == {"error": "Cross-site requests are refused: use Vigil's own pages."}

    fetched = requests.post(
        f"{url}/api/v1/datasets", files=TINY, headers={"Sec-Fetch-Site": "cross-site"}, timeout=30
    )
    assert fetched.status_code == 403

    ours = requests.post(f"{url}/api/v1/datasets", files=TINY, headers={"Origin": url}, timeout=30)
    assert ours.status_code == 201, ours.text
    again = requests.post(
        f"{url}/api/v1/datasets",
        files=TINY,
        headers={"Origin": url, "Sec-Fetch-Site": "same-origin"},
        timeout=30,
    )
    assert again.status_code == 200
    assert again.json()["reused"] is True  # the same file: the cross-site ones stored nothing


def test_a_cross_site_callback_makes_no_api_token(url):
    session = requests.Session()
    refused = dash_call(session, url, MAKE_TOKEN, Origin="http://evil.example")
    assert refused.status_code == 403
    assert "vgl_" not in refused.text

    made = dash_call(session, url, MAKE_TOKEN, Origin=url, **{"Sec-Fetch-Site": "same-origin"})
    assert made.status_code == 200
    assert "vgl_" in made.text


def test_a_page_that_rebinds_its_own_name_to_vigil_is_refused(url):
    """The page's origin and the Host it sends agree (http://evil.example:PORT), so only the
    Host tells this request from one of Vigil's own pages."""
    port = urlsplit(url).port
    rebound = {"Host": f"evil.example:{port}", "Origin": f"http://evil.example:{port}"}
    session = requests.Session()

    page = session.get(f"{url}/", headers={"Host": rebound["Host"]}, timeout=10)
    assert page.status_code == 403
    assert "does not answer to the host name 'evil.example:" in page.text
    layout = session.get(f"{url}/_dash-layout", headers={"Host": rebound["Host"]}, timeout=10)
    assert layout.status_code == 403
    minted = dash_call(session, url, MAKE_TOKEN, **rebound)
    assert minted.status_code == 403
    assert "vgl_" not in minted.text

    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        assert session.get(f"{url}/", headers={"Host": host}, timeout=10).status_code == 200


def test_programs_without_origin_still_post_points_with_a_token(url):
    answer = requests.post(
        f"{url}/api/v1/series/cpu/points",
        json={"points": [{"timestamp": "2026-01-01T00:00:00", "value": 1}]},
        headers={"Authorization": f"Bearer {API_TOKEN}"},
        timeout=30,
    )
    assert answer.status_code == 202


def test_named_hosts_are_answered_when_allowed(tmp_path):
    with served(tmp_path, allowed_hosts="vigil.internal, Other.Example") as address:
        port = urlsplit(address).port
        for host, status in (
            ("vigil.internal", 200),
            ("other.example", 200),
            ("evil.example", 403),
        ):
            page = requests.get(f"{address}/", headers={"Host": f"{host}:{port}"}, timeout=10)
            assert page.status_code == status, host
