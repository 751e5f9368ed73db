"""The "not an anomaly" link of an alert email, over a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import threading

import pandas as pd
import pytest
import requests
from werkzeug.serving import make_server

from alerts.compose import compose_alert
from alerts.episodes import AlertEpisode, AlertPoint
from vigil.links import mark_url
from vigil.models import model_key
from vigil.services import feedback_store, settings


@pytest.fixture(scope="module")
def base_url(dash_app):
    server = make_server("127.0.0.1", 0, dash_app.server, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_the_emailed_link_asks_first_then_marks_the_point(base_url):
    point = AlertPoint(pd.Timestamp("2024-03-12 09:30"), 587.2, 270.5, 1.0, "59.6 deviations")
    episode = AlertEpisode(point.timestamp, point.timestamp, 1, point)
    series = "<i>requests</i>"
    key = model_key(settings())
    message = compose_alert(
        rule="spikes",
        series=series,
        dataset="feedfacefeedface",
        episodes=[episode],
        recipients=["ops@example.org"],
        sender="vigil@example.org",
        public_url=base_url,
        mark_link=lambda p: mark_url(base_url, key, "feedfacefeedface", series, p),
    )
    html = message.get_body(("html",)).get_content()
    link = next(
        line.split("Not an anomaly? ")[1]
        for line in message.get_body(("plain",)).get_content().splitlines()
        if "Not an anomaly?" in line
    )
    assert link.replace("&", "&amp;") in html

    asked = requests.get(link, timeout=10)
    assert asked.status_code == 200
    assert "Is this not an anomaly?" in asked.text
    assert "&lt;i&gt;requests&lt;/i&gt;" in asked.text
    assert feedback_store().marks("feedfacefeedface", series).empty  # a GET changes nothing

    done = requests.post(link, timeout=10)
    assert done.status_code == 200
    assert "Marked as not an anomaly." in done.text
    marks = feedback_store().marks("feedfacefeedface", series)
    assert marks["verdict"].tolist() == ["normal"]
    assert marks["timestamp"].iloc[0] == pd.Timestamp("2024-03-12 09:30")

    forged = requests.post(link[:-6] + "000000", timeout=10)
    assert forged.status_code == 400
    assert "not valid" in forged.text
