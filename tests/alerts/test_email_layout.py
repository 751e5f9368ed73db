"""Alert emails as a busy reader gets them, through a real SMTP server: a status line, the
chart, the buttons, then a few episodes; a layout that reads on a phone (checked in headless
Chromium at 390 px); headers that date the email and thread an incident's emails on Vigil's
public host."""

from __future__ import annotations

import base64
import re
from email.utils import parsedate_to_datetime

import pytest
from selenium import webdriver

from scripts.chromium import chromium_flags
from tests.alerts.smtp_server import Recorder, start_server
from tests.alerts.test_compose import context_frame, episode
from tests.alerts.test_engine import T0
from tests.alerts.test_engine import episode as report
from tests.conftest import BROWSER_MISSING
from vigil.alerts.compose import compose_alert, compose_test
from vigil.alerts.delivery import deliver_due
from vigil.alerts.engine import AlertEngine
from vigil.alerts.outbox import Outbox
from vigil.alerts.rules import Rule, RuleStore
from vigil.alerts.smtp import SmtpConfig
from vigil.storage.database import sqlite_url
from vigil.storage.opening import open_database

PUBLIC = "https://vigil.example.org/"
FIVE = [
    episode("2024-03-12 07:00", "2024-03-12 07:15", 2, "2024-03-12 07:15", 150.0, 0.91),
    episode("2024-03-12 08:00", "2024-03-12 08:00", 1, "2024-03-12 08:00", 300.0, 0.93),
    episode("2024-03-12 09:30", "2024-03-12 09:30", 1, "2024-03-12 09:30", 587.2, 1.0),
    episode("2024-03-12 10:00", "2024-03-12 10:45", 4, "2024-03-12 10:15", 500, 0.95),
    episode("2024-03-12 11:00", "2024-03-12 11:05", 2, "2024-03-12 11:05", 12, 0.92),
]


def delivered(outbox: Outbox) -> list:
    recorder = Recorder()
    server = start_server(recorder)
    try:
        deliver_due(outbox, SmtpConfig("127.0.0.1", server.port), now=T0 + 10**6)
    finally:
        server.stop()
    return recorder.received


def as_page(message) -> str:
    """The HTML part as a mail client shows it: the inline chart in place of its cid."""
    html = message.get_body(("html",)).get_content()
    for part in message.walk():
        if part.get_content_type() == "image/png":
            data = base64.b64encode(part.get_content()).decode()
            cid = part["Content-ID"].strip("<>")
            html = html.replace(f"cid:{cid}", f"data:image/png;base64,{data}")
    return html


@pytest.fixture
def received(tmp_path):
    """An email about five episodes of a series with a long name, chart and all."""
    outbox = Outbox(open_database(sqlite_url(tmp_path / "vigil.sqlite")))
    message = compose_alert(
        rule="checkout latency",
        series="checkout_service_p95_latency_milliseconds_eu_west",
        dataset="0123456789abcdef",
        dataset_name="checkout-latency-export-2024-03.csv",
        episodes=FIVE,
        recipients=["lead@example.org"],
        sender="vigil@example.org",
        public_url=PUBLIC,
        context=context_frame(),
        mark_link=lambda point: f"{PUBLIC}mark?at={point.timestamp:%H%M}",
    )
    outbox.add(message, now=T0)
    (email,) = delivered(outbox)
    return email


@pytest.mark.skipif(BROWSER_MISSING, reason="kaleido and the phone check need chromium")
def test_status_chart_and_buttons_come_first_then_a_few_episodes(received):
    html = received.get_body(("html",)).get_content()
    text = received.get_body(("plain",)).get_content()

    status = html.index(
        "had 5 anomaly episodes since 12 Mar 2024 07:00 UTC; the worst 2.2\u00d7 normal"
    )
    chart = html.index('<img src="cid:')
    buttons = html.index(">Open in Vigil</a>")
    assert status < chart < buttons < html.index(">#")
    assert ">Silence or change the rule</a>" in html
    assert 'href="https://vigil.example.org/alerts"' in html
    # the three worst in the HTML, each still numbered as on the chart; the rest a link
    assert re.findall(r">#(\d)</strong>", html) == ["2", "3", "4"]
    assert ">See all 5 anomaly episodes in Vigil</a>" in html
    # the plain text is whole: the status, both links, every episode
    assert text.startswith("checkout_service_p95_latency_milliseconds_eu_west (data set ")
    assert "Open in Vigil: https://vigil.example.org/analyze?" in text
    assert "Silence or change the rule: https://vigil.example.org/alerts" in text
    for number in range(1, 6):
        assert f"\n#{number}  2024-03-12 " in text
    assert "Not an anomaly? https://vigil.example.org/mark?at=0930" in text


@pytest.mark.skipif(BROWSER_MISSING, reason="kaleido and the phone check need chromium")
def test_the_html_email_reads_on_a_phone_without_scrolling_sideways(received, tmp_path):
    page = tmp_path / "email.html"
    page.write_text(as_page(received), encoding="utf-8")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in (
        page.read_text(encoding="utf-8")
    )
    options = webdriver.ChromeOptions()
    for flag in chromium_flags(390, 844):
        options.add_argument(flag)
    options.add_experimental_option(
        "mobileEmulation", {"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 2}}
    )
    browser = webdriver.Chrome(options=options)
    try:
        browser.get(page.as_uri())
        layout = browser.execute_script(
            "const img = document.querySelector('img');"
            "return {page: document.documentElement.scrollWidth, view: window.innerWidth,"
            " image: img.getBoundingClientRect().width, loaded: img.naturalWidth > 0};"
        )
        browser.save_screenshot(str(tmp_path / "phone.png"))
    finally:
        browser.quit()
    assert layout["view"] == 390
    assert layout["page"] <= 390  # nothing to scroll sideways
    assert layout["loaded"]
    assert 300 <= layout["image"] <= 390  # the chart fills the width, no more


@pytest.fixture
def engine(tmp_path):
    database = open_database(sqlite_url(tmp_path / "vigil.sqlite"))
    rule = RuleStore(database).save(
        Rule("latency", "latency_*", ("ops@example.org",), group_minutes=10, resolve_minutes=30)
    )
    return AlertEngine(database, Outbox(database), sender="v@example.org", public_url=PUBLIC), rule


def test_an_incidents_emails_are_dated_and_threaded_on_the_public_host(engine):
    engine, rule = engine
    engine.record(rule, "latency_ms", "d1", [report(0, 3)], now=T0)
    engine.dispatch([rule], now=T0)  # the alert
    engine.record(rule, "latency_ms", "d1", [report(20, 2)], now=T0 + 20 * 60)
    engine.dispatch([rule], now=T0 + 20 * 60)  # another episode of the same incident
    engine.dispatch([rule], now=T0 + 60 * 60)  # resolved
    engine.record(rule, "latency_ms", "d1", [report(120, 2)], now=T0 + 120 * 60)
    engine.dispatch([rule], now=T0 + 120 * 60)  # a new incident
    first, more, resolved, again = sorted(
        delivered(engine.outbox), key=lambda message: parsedate_to_datetime(message["Date"])
    )

    assert [parsedate_to_datetime(m["Date"]).timestamp() for m in (first, more, again)] == [
        T0,
        T0 + 20 * 60,
        T0 + 120 * 60,
    ]
    root = first["Message-ID"]
    assert root.endswith("@vigil.example.org>")
    assert first["In-Reply-To"] is None
    for reply in (more, resolved):
        assert reply["In-Reply-To"] == root
        assert reply["References"] == root
        assert reply["Message-ID"] != root
        assert reply["Message-ID"].endswith("@vigil.example.org>")
    assert resolved["Subject"].startswith("RESOLVED · latency_ms (d1) back to normal since ")
    assert again["Message-ID"] not in (root, more["Message-ID"])
    assert again["In-Reply-To"] is None  # a new incident, a new thread


def test_received_subjects_have_no_stray_space_whatever_their_length(tmp_path):
    """Python's email folds an ASCII subject of 70 to 77 characters onto the line after
    `Subject:`, which then reads back with a leading space."""
    outbox = Outbox(open_database(sqlite_url(tmp_path / "vigil.sqlite")))
    names = ["x" * length for length in range(20, 80, 3)]
    for name in names:
        outbox.add(
            compose_alert(
                rule="r",
                series=name,
                dataset="live",
                episodes=[FIVE[2]],
                recipients=["lead@example.org"],
                sender="vigil@example.org",
                public_url=PUBLIC,
            ),
            now=T0,
        )
    subjects = {message["Subject"] for message in delivered(outbox)}
    assert subjects == {
        f"ALERT · {name} was 2.2\u00d7 normal on 12 Mar 09:30 UTC" for name in names
    }


def test_the_test_email_is_dated_and_names_the_public_host(tmp_path):
    message = compose_test(recipients=["a@example.org"], sender="v@example.org", public_url=PUBLIC)
    assert message["Message-ID"].endswith("@vigil.example.org>")
    outbox = Outbox(open_database(sqlite_url(tmp_path / "vigil.sqlite")))
    outbox.add(message, now=T0)
    (email,) = delivered(outbox)
    assert parsedate_to_datetime(email["Date"]).timestamp() == T0
