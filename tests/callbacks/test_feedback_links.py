"""The "not an anomaly" link of an alert email, over a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest
import requests
from werkzeug.serving import make_server

from vigil.alerts.compose import compose_alert
from vigil.alerts.episodes import AlertEpisode, AlertPoint, EpisodeReport
from vigil.alerts.rules import Rule
from vigil.links import MARK_LINK_DAYS, SILENCE_LINK_DAYS, mark_url, silence_url
from vigil.services import Services, current, feedback_store, settings
from vigil.stores.models import model_key
from vigil.usecases.alerting import alert_engine


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


def test_an_alert_emails_silence_button_silences_that_series_after_asking(base_url):
    config = settings().model_copy(update={"public_url": base_url})
    rules = Services(config).rule_store
    rule = rules.save(Rule("checkout latency", "checkout_*", ("ops@example.org",)))
    engine = alert_engine(Services(config))
    peak = AlertPoint(pd.Timestamp("2024-03-12 09:30"), 587.2, 270.5, 1.0, "far above")
    report = EpisodeReport(peak.timestamp, peak.timestamp, 1, peak, onset=True, open=True)
    now = time.time()
    engine.record(rule, "checkout_p95", "feedfacefeedface", [report], now=now)
    engine.dispatch([rule], now=now)
    email = next(e for e in engine.outbox.emails() if "checkout_p95" in e.subject)
    engine.outbox.mark_sent(email.id)  # read here; no other test delivers it
    message = email.message()
    text = message.get_body(("plain",)).get_content()
    link = next(line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("Silence:"))
    assert f'href="{link.replace("&", "&amp;")}"' in message.get_body(("html",)).get_content()

    asked = requests.get(link, timeout=10)
    assert asked.status_code == 200
    assert "Silence checkout_p95?" in asked.text
    assert (rule.id, "checkout_p95") not in rules.silences()  # a mail scanner's GET does nothing

    done = requests.post(link, data={"hours": "4"}, timeout=10)
    assert done.status_code == 200
    assert "Silenced for 4 hours." in done.text
    until = rules.silences()[(rule.id, "checkout_p95")]
    assert 3.9 * 3600 < until.timestamp() - now < 4.1 * 3600

    forged = requests.post(link[:-6] + "000000", data={"hours": "4"}, timeout=10)
    assert forged.status_code == 400
    assert "not valid" in forged.text
    mark_link_as_silence = mark_url(base_url, model_key(config), "d", "s", peak).replace(
        "/feedback/mark", "/feedback/silence"
    )
    assert requests.get(mark_link_as_silence, timeout=10).status_code == 400


def test_a_silence_link_expires_and_says_where_to_silence_instead(base_url):
    rules = current().rule_store
    rule = rules.save(Rule("disk", "disk_*", ("ops@example.org",)))
    week_ago = time.time() - (SILENCE_LINK_DAYS * 24 + 1) * 3600
    old = silence_url(base_url, model_key(settings()), rule.id, "disk_free", week_ago)

    answer = requests.get(old, timeout=10)

    assert answer.status_code == 400
    assert "expired" in answer.text
    assert (rule.id, "disk_free") not in rules.silences()


def _mark_link(base_url: str, series: str, now: float | None = None) -> str:
    point = AlertPoint(pd.Timestamp("2024-05-01 12:00"), 41.5, 20.0, 1.0, "far above")
    return mark_url(base_url, model_key(settings()), "feedfacefeedface", series, point, now=now)


def test_a_mark_link_used_again_changes_nothing_and_says_when_it_was_used(base_url):
    link = _mark_link(base_url, "queue_depth")
    assert "Marked as not an anomaly." in requests.post(link, timeout=10).text
    first = feedback_store().marks("feedfacefeedface", "queue_depth")

    for again in (requests.post(link, timeout=10), requests.get(link, timeout=10)):
        assert again.status_code == 200
        assert "Already marked as not an anomaly." in again.text
        marked = first["created"].iloc[0][:16].replace("T", " ")
        assert f"It was marked on {marked} UTC; nothing was changed." in again.text
        assert "<form" not in again.text
    assert feedback_store().marks("feedfacefeedface", "queue_depth").equals(first)


def test_a_mark_link_expires_and_says_where_to_mark_instead(base_url):
    long_ago = time.time() - (MARK_LINK_DAYS * 24 + 1) * 3600
    link = _mark_link(base_url, "old_series", now=long_ago)

    for answer in (requests.get(link, timeout=10), requests.post(link, timeout=10)):
        assert answer.status_code == 400
        assert "This link has expired; mark the point on the Analyze or Live page" in answer.text
    assert feedback_store().marks("feedfacefeedface", "old_series").empty
    assert MARK_LINK_DAYS == 30
