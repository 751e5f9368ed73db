"""The streaming upload endpoint, over a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import gzip
import http.client
import threading
import uuid

import pytest
import requests
from werkzeug.serving import make_server

from tests.hostile import ACCEPTED, REFUSED
from vigil.services import dataset_store, settings


@pytest.fixture(scope="module")
def base_url(dash_app):
    server = make_server("127.0.0.1", 0, dash_app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def upload(base_url: str, filename: str, data: bytes) -> requests.Response:
    return requests.post(
        f"{base_url}/api/v1/datasets", files={"file": (filename, data)}, timeout=60
    )


def test_a_good_file_is_stored_and_a_repeat_is_reused(base_url):
    filename, data = ACCEPTED["long_format"]
    data += f"2024-01-02 00:00,web0,{uuid.uuid4().int % 1000}\n".encode()  # new to this server

    first = upload(base_url, filename, data)
    again = upload(base_url, "copy.csv", data)

    assert first.status_code == 201
    assert first.json()["name"] == "long.csv"
    assert again.status_code == 200
    assert again.json() == {"id": first.json()["id"], "name": "long.csv", "reused": True}
    assert dataset_store().info(first.json()["id"]).report.series == ("web0", "web1", "web2")


@pytest.mark.parametrize("case", ["empty", "binary", "no_timestamp", "wrong_type"])
def test_a_bad_file_gets_its_message_and_nothing_is_stored(base_url, case):
    filename, data, fragment = REFUSED[case]
    before = {info.id for info in dataset_store().list()}

    answer = upload(base_url, filename, data)

    assert answer.status_code == 400
    assert fragment in answer.json()["error"]
    assert {info.id for info in dataset_store().list()} == before


def test_a_request_without_a_file_is_refused(base_url):
    answer = requests.post(f"{base_url}/api/v1/datasets", data={"x": "1"}, timeout=30)
    assert answer.status_code == 400
    assert answer.json()["error"] == "No file was sent."


def test_a_body_over_the_limit_is_refused_before_it_is_read(base_url):
    host, port = base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    too_big = settings().max_upload_bytes + 5_000_000
    connection.putrequest("POST", "/api/v1/datasets")
    connection.putheader("Content-Type", "multipart/form-data; boundary=x")
    connection.putheader("Content-Length", str(too_big))
    connection.endheaders()
    connection.send(b"--x\r\n")
    answer = connection.getresponse()
    assert answer.status == 413
    assert b"upload limit" in answer.read()


def test_a_file_whose_columns_cannot_be_guessed_is_kept_as_a_draft_not_listed(base_url):
    data = "stamp,level\n" + "".join(f"{1_700_000_000 + 60 * i},{i % 3}\n" for i in range(40))
    before = {info.id for info in dataset_store().list()}

    answer = upload(base_url, "meter.csv", data.encode())

    assert answer.status_code == 400
    assert "No timestamp column" in answer.json()["error"]
    assert answer.json()["name"] == "meter.csv"
    assert dataset_store().draft(answer.json()["draft"])[0] == "meter.csv"
    assert {info.id for info in dataset_store().list()} == before


def _bombs() -> dict[str, tuple[str, bytes, str]]:
    """Small files that would unpack or parse into something huge, and what each is told."""
    wide = "timestamp," + ",".join(f"c{i}" for i in range(20_000))
    rows = "2024-01-01 00:00," + ",".join("1" for _ in range(20_000))
    return {
        "rows": ("rows.csv.gz", gzip.compress(b"value\n" + b"1\n" * 6_000_000), "VIGIL_MAX_ROWS"),
        "columns": ("wide.csv.gz", gzip.compress(f"{wide}\n{rows}\n".encode()), "10,000"),
    }


@pytest.mark.parametrize("case", ["rows", "columns"])
def test_a_file_bomb_is_refused_with_the_limit_named(base_url, case):
    filename, data, fragment = _bombs()[case]
    before = {info.id for info in dataset_store().list()}

    answer = upload(base_url, filename, data)

    assert answer.status_code == 400
    assert fragment in answer.json()["error"]
    assert {info.id for info in dataset_store().list()} == before
