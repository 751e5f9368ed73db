"""A live series' alert email, its "not an anomaly" link, and scoring that respects the mark."""

from __future__ import annotations

from urllib.parse import urlsplit

import requests

from tests.live.test_api import call, frame_body, fresh, post, scores, spiky, wait_for
from vigil.alerts.outbox import Outbox
from vigil.alerts.rules import Rule
from vigil.services import Services, settings
from vigil.storage.opening import open_database


def scored(api, series):
    return (p := scores(api, series)) and all(x["scored"] for x in p) and p


def test_a_live_alert_links_to_a_mark_that_unflags_the_point_and_later_scoring_keeps_it(api):
    config = settings()
    series = fresh()
    Services(config).rule_store.save(
        Rule("live spikes", series, ("ops@example.org",), group_minutes=0)
    )
    frame = spiky(2880, 2500)
    for start in range(0, len(frame), 1000):
        assert post(api, series, frame_body(frame.iloc[start : start + 1000]))[0] == 202
    assert wait_for(lambda: scored(api, series))[2500]["is_anomaly"]

    outbox = Outbox(open_database(config.database_url))
    spike_time = f"{frame['timestamp'][2500]:%Y-%m-%d %H:%M}"

    def spike_email():
        for email in outbox.emails():
            text = email.message().get_body(("plain",)).get_content()
            if series in email.subject and spike_time in text:
                return text
        return None

    text = wait_for(spike_email)
    assert f"/live?series={series}" in text
    lines = text.splitlines()
    # the spike is an episode of its own, its span the spike's time
    row = next(i for i, line in enumerate(lines) if line.startswith("#") and spike_time in line)
    assert lines[row + 1].strip().startswith("Peak ")
    link = next(
        line.split("Not an anomaly? ")[1] for line in lines[row:] if "Not an anomaly?" in line
    )
    emailed = urlsplit(link)
    here = f"{api}{emailed.path}?{emailed.query}"

    asked = requests.get(here, timeout=10)
    assert asked.status_code == 200
    assert "Is this not an anomaly?" in asked.text
    assert scores(api, series)[2500]["is_anomaly"]  # opening the link marks nothing
    marked = requests.post(here, timeout=10)
    assert marked.status_code == 200
    assert "Marked as not an anomaly." in marked.text

    point = scores(api, series)[2500]
    assert not point["is_anomaly"]
    assert point["explanation"] == "Marked as not an anomaly"

    # Another detector scores the whole series again: the marked point stays unflagged.
    before = scores(api, series)[-1]["severity"]
    status, _ = call(
        f"{api}/api/v1/series/{series}",
        "PUT",
        b'{"detector": "zscore"}',
        headers={"Content-Type": "application/json"},
    )
    assert status == 200
    rescored = wait_for(lambda: (p := scores(api, series)) and p[-1]["severity"] != before and p)
    assert not rescored[2500]["is_anomaly"]
    assert rescored[2500]["explanation"] == "Marked as not an anomaly"
