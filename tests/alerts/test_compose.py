"""Alert emails: how many episodes and where, each one's span, peak and reason, escaped, with
the chart inline, and delivered as composed."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.alerts.smtp_server import Recorder, start_server
from tests.conftest import BROWSER_MISSING
from vigil.alerts.compose import compose_alert, compose_resolved
from vigil.alerts.delivery import deliver_due
from vigil.alerts.episodes import AlertEpisode, AlertPoint
from vigil.alerts.outbox import Outbox
from vigil.alerts.smtp import SmtpConfig
from vigil.storage.database import sqlite_url
from vigil.storage.opening import open_database

HOSTILE = "<script>alert('x')</script> & co"


def context_frame() -> pd.DataFrame:
    """The scored rows around SPIKE and RUN."""
    times = pd.date_range("2024-03-12 06:00", periods=48, freq="15min")
    values = pd.Series(100.0, index=range(48))
    values[14] = 587.2
    values[16:20] = [400.0, 500.0, 450.0, 420.0]
    return pd.DataFrame(
        {
            "timestamp": times,
            "value": values,
            "expected": 100.0,
            "lower": 80.0,
            "upper": 120.0,
            "is_anomaly": values > 120,
        }
    )


def episode(
    start: str,
    end: str,
    points: int,
    peak: str,
    value: float,
    severity: float,
    why: str = "59.6 robust deviations above the expected value",
    open: bool = False,
) -> AlertEpisode:
    at = pd.Timestamp(peak)
    return AlertEpisode(
        pd.Timestamp(start),
        pd.Timestamp(end),
        points,
        AlertPoint(at, value, 270.5, severity, why),
        open,
    )


SPIKE = episode("2024-03-12 09:30", "2024-03-12 09:30", 1, "2024-03-12 09:30", 587.2, 1.0)
RUN = episode("2024-03-12 10:00", "2024-03-12 10:45", 4, "2024-03-12 10:15", 500, 0.95)
GOING_ON = episode(
    "2024-03-12 11:00", "2024-03-12 11:05", 2, "2024-03-12 11:05", 12, 0.91, open=True
)


def compose(episodes, *, series="cpu", context=None, render=None, dataset_name="ops"):
    extra = {} if render is None else {"render": render}
    return compose_alert(
        rule="cpu spikes",
        series=series,
        dataset="0123456789abcdef",
        dataset_name=dataset_name,
        episodes=episodes,
        recipients=["ops@example.org", "lead@example.org"],
        sender="vigil@example.org",
        public_url="https://vigil.example.org/",
        context=context,
        **extra,
    )


def test_the_subject_says_state_series_and_how_far_from_normal_in_plain_words():
    one = compose([SPIKE])
    three = compose([GOING_ON, RUN, SPIKE])
    assert one["Subject"] == "ALERT · cpu (ops) was 2.2\u00d7 normal on 12 Mar 2024 09:30 UTC"
    assert compose([RUN])["Subject"] == (
        "ALERT · cpu (ops) was 85% above normal on 12 Mar 2024 10:15 UTC for 45 min"
    )
    assert (
        compose([GOING_ON])["Subject"]
        == "FIRING · cpu (ops) 96% below normal since 12 Mar 2024 11:00 UTC"
    )
    assert three["Subject"] == (
        "FIRING · cpu (ops): 3 anomaly episodes, the worst 2.2\u00d7 normal "
        "on 12 Mar 2024 09:30 UTC"
    )
    assert one["To"] == "ops@example.org, lead@example.org"
    assert compose([SPIKE], dataset_name=None)["Subject"].startswith(
        "ALERT · cpu (0123456789abcdef) was "
    )


def test_each_episode_is_listed_with_its_span_and_peak_without_jargon():
    message = compose([GOING_ON, RUN, SPIKE])
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()

    assert text.startswith(
        "cpu (data set ops) had 3 anomaly episodes since 12 Mar 2024 09:30 UTC; "
        "the worst 2.2\u00d7 normal "
        "(587.2, normal 270.5) at 12 Mar 09:30 UTC. One is still going on.\n"
    )
    assert text.index("#1  2024-03-12 09:30 UTC (1 point)") < text.index("#2  2024-03-12 10:00 to")
    assert "#2  2024-03-12 10:00 to 10:45 UTC (45 min, 4 points)" in text
    assert "Peak 85% above normal (500.0, normal 270.5) at 12 Mar 10:15" in text
    assert "#3  from 2024-03-12 11:00 UTC (still going on, 2 points so far)" in text
    assert "not emailed again as it grows: one email will say when it is over" in text
    assert "2024-03-12 10:00 to 10:45 UTC <span" in html
    assert "(45 min, 4 points)</span>" in html
    assert "(still going on, 2 points so far)</span>" in html
    for jargon in ("robust deviations", "severity", "anomalies"):
        assert jargon not in text + html


def test_a_long_episode_counts_its_points_as_the_pages_do():
    long = episode("2024-03-10 09:00", "2024-03-12 11:00", 3012, "2024-03-11 10:15", 500, 0.95)

    text = compose([long]).get_body(("plain",)).get_content()

    assert "#1  2024-03-10 09:00 to 2024-03-12 11:00 UTC (2 days 2 h, 3,012 points)" in text


def test_user_text_is_escaped_in_html_and_links_open_the_series():
    hostile = episode(
        "2024-03-12 09:30", "2024-03-12 09:30", 1, "2024-03-12 09:30", 587.2, 1.0, why=HOSTILE
    )
    message = compose([hostile], series=HOSTILE, dataset_name=HOSTILE)
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()

    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co" in html
    assert HOSTILE in text  # plain text needs no escaping
    assert "https://vigil.example.org/analyze?dataset=0123456789abcdef&series=%3Cscript%3E" in text
    assert "Peak 2.2\u00d7 normal (587.2, normal 270.5) at 12 Mar 09:30" in text


def test_a_name_with_line_breaks_cannot_break_the_subject_header():
    message = compose([SPIKE], series="cpu\r\nBcc: everyone@example.org")
    assert "\n" not in message["Subject"]
    assert message["Bcc"] is None


def test_the_resolved_email_says_since_when_how_long_and_the_peak_in_the_datas_time():
    message = compose_resolved(
        rule="cpu spikes",
        series="cpu",
        dataset="live",
        episodes=[RUN, SPIKE],
        recipients=["ops@example.org"],
        sender="vigil@example.org",
        public_url="https://vigil.example.org",
    )
    text = message.get_body(("plain",)).get_content()
    assert message["Subject"] == (
        "RESOLVED · cpu back to normal since 12 Mar 10:45 UTC, after 1 h 15 min, "
        "peak 2.2\u00d7 normal"
    )
    assert text.startswith(
        "cpu (live) is back to normal since 12 Mar 10:45 UTC. It lasted 1 h 15 min "
        "(2 anomaly episodes); at its peak it was 2.2\u00d7 normal (587.2, normal 270.5) "
        "at 12 Mar 09:30 UTC."
    )
    assert "#1  2024-03-12 09:30 UTC (1 point)" in text
    assert "#2  2024-03-12 10:00 to 10:45 UTC (45 min, 4 points)" in text
    assert "https://vigil.example.org/live?series=cpu" in text


def test_the_chart_is_an_inline_image_the_html_refers_to():
    message = compose(
        [SPIKE],
        context=context_frame(),
        render=lambda context, episodes, series, zone: b"\x89PNG fake",
    )
    html_part = message.get_body(("related",))
    image = next(part for part in html_part.iter_parts() if part.get_content_type() == "image/png")
    cid = image["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in message.get_body(("html",)).get_content()
    assert image.get_content() == b"\x89PNG fake"


@pytest.mark.skipif(BROWSER_MISSING, reason="kaleido renders charts with chromium, absent here")
def test_a_composed_alert_arrives_whole_with_a_real_chart(tmp_path):
    recorder = Recorder()
    server = start_server(recorder)
    outbox = Outbox(open_database(sqlite_url(tmp_path / "vigil.sqlite")))
    outbox.add(compose([SPIKE, RUN], context=context_frame()))
    try:
        report = deliver_due(outbox, SmtpConfig("127.0.0.1", server.port))
    finally:
        server.stop()

    assert report.sent == 1
    (received,) = recorder.received
    image = next(part for part in received.walk() if part.get_content_type() == "image/png")
    assert image.get_content()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(image.get_content()) > 5_000
    assert "587.2" in received.get_body(("plain",)).get_content()
