"""Alert emails: clear, escaped, with the chart inline, and delivered as composed."""

from __future__ import annotations

import pandas as pd
import pytest

from alerts.compose import AlertPoint, compose_alert
from alerts.delivery import deliver_due
from alerts.outbox import Outbox
from alerts.smtp import SmtpConfig
from storage.database import open_database, sqlite_url
from tests.alerts.smtp_server import Recorder, start_server
from tests.conftest import BROWSER_MISSING

HOSTILE = "<script>alert('x')</script> & co"


def context_frame() -> pd.DataFrame:
    times = pd.date_range("2024-03-12 06:00", periods=48, freq="15min")
    values = pd.Series(100.0, index=range(48))
    values[14] = 587.2
    return pd.DataFrame(
        {"timestamp": times, "value": values, "expected": 100.0, "lower": 80.0, "upper": 120.0}
    )


def point(
    at: str, value: float, severity: float, why: str = "59.6 robust deviations"
) -> AlertPoint:
    return AlertPoint(pd.Timestamp(at), value, 270.5, severity, why)


def compose(points, *, series="requests_per_min", context=None, render=None):
    extra = {} if render is None else {"render": render}
    return compose_alert(
        rule="requests spikes",
        series=series,
        dataset="0123456789abcdef",
        points=points,
        recipients=["ops@example.org", "lead@example.org"],
        sender="vigil@example.org",
        public_url="https://vigil.example.org/",
        context=context,
        **extra,
    )


def test_the_subject_says_what_and_where():
    one = compose([point("2024-03-12 09:30", 587.2, 1.0)])
    three = compose(
        [
            point("2024-03-12 09:45", 500, 0.95),
            point("2024-03-12 09:30", 587.2, 1.0),
            point("2024-03-12 10:00", 400, 0.9),
        ]
    )
    assert one["Subject"] == (
        "[Vigil] Anomaly in requests_per_min: 587.2 where 270.5 was expected (2024-03-12 09:30:00)"
    )
    assert three["Subject"].startswith("[Vigil] 3 anomalies in requests_per_min, the worst 587.2")
    assert one["To"] == "ops@example.org, lead@example.org"


def test_user_text_is_escaped_in_html_and_links_open_the_series():
    message = compose([point("2024-03-12 09:30", 587.2, 1.0, why=HOSTILE)], series=HOSTILE)
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()

    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co" in html
    assert HOSTILE in text  # plain text needs no escaping
    assert "https://vigil.example.org/analyze?dataset=0123456789abcdef&series=%3Cscript%3E" in text
    assert "2024-03-12 09:30:00: 587.2 (expected 270.5), severity 1.00" in text


def test_the_chart_is_an_inline_image_the_html_refers_to():
    message = compose(
        [point("2024-03-12 09:30", 587.2, 1.0)],
        context=context_frame(),
        render=lambda context, points, series: b"\x89PNG fake",
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
    outbox.add(compose([point("2024-03-12 09:30", 587.2, 1.0)], context=context_frame()))
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
