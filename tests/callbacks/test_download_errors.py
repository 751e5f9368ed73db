"""Downloads of a result that is not there (gone, or an id that is not one) say so on the
page, over a real HTTP server, instead of failing with a server error."""

from __future__ import annotations

import threading

import pytest
import requests
from werkzeug.serving import make_server


@pytest.fixture(scope="module")
def base_url(dash_app):
    server = make_server("127.0.0.1", 0, dash_app.server, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def download_request(key: str) -> dict:
    """What the Analyze page sends when Download CSV is pressed for the result `key`."""
    return {
        "output": "analyze-download.data",
        "outputs": {"id": "analyze-download", "property": "data"},
        "inputs": [
            {"id": "analyze-download-csv", "property": "n_clicks", "value": 1},
            {"id": "analyze-download-parquet", "property": "n_clicks", "value": None},
            {"id": "analyze-download-report", "property": "n_clicks", "value": None},
        ],
        "changedPropIds": ["analyze-download-csv.n_clicks"],
        "state": [
            {"id": "analyze-result", "property": "data", "value": key},
            {"id": "analyze-min-severity", "property": "value", "value": 0.0},
            {"id": "app-time-zone", "property": "data", "value": "UTC"},
        ],
    }


@pytest.mark.parametrize(
    ("key", "said"),
    [
        ("0123456789abcdef0123", "gone from the server"),
        ("../../etc/passwd", "not valid"),
    ],
)
def test_a_download_of_a_result_that_is_not_there_says_why(base_url, key, said):
    answer = requests.post(
        f"{base_url}/_dash-update-component",
        json=download_request(key),
        headers={"Origin": base_url},
        timeout=30,
    )

    assert answer.status_code == 200, answer.text
    shown = answer.json()["sideUpdate"]["analyze-status"]["children"]
    assert said in str(shown)
    assert "analyze-download" not in answer.json().get("response", {})  # no file
