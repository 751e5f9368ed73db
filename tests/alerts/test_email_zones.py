"""Every time in an alert email is written in the zone admins chose for emails, and named:
UTC unless they chose another. The emails go through the outbox to a real SMTP server."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.alerts.smtp_server import Recorder, start_server
from tests.alerts.test_alerting import stored_as_dataset
from tests.settings import make_settings
from vigil.alerts import chart
from vigil.alerts.delivery import deliver_due
from vigil.alerts.episodes import AlertEpisode, episode_reports
from vigil.alerts.rules import Rule
from vigil.alerts.smtp import SmtpConfig
from vigil.detection import run_detection
from vigil.detection.errors import DataError
from vigil.services import Services
from vigil.usecases.alerting import alert_on_run

WINTER_SPIKE, SUMMER_SPIKE = "2024-01-15 10:00", "2024-07-15 10:00"  # UTC


@pytest.fixture
def config(tmp_path):
    return make_settings(tmp_path, public_url="https://vigil.example.org")


def spiky_year() -> pd.DataFrame:
    """Hourly, calm, with one spike in winter and a higher one in summer (times in UTC)."""
    times = pd.date_range("2024-01-01", "2024-07-31", freq="h")
    values = 100 + np.sin(np.arange(len(times)) / 12)
    frame = pd.DataFrame({"timestamp": times, "value": values})
    frame.loc[frame["timestamp"] == WINTER_SPIKE, "value"] += 30
    frame.loc[frame["timestamp"] == SUMMER_SPIKE, "value"] += 40
    return frame


def emailed(config, frame: pd.DataFrame):
    """Alert on a run over `frame` as a stored data set, and what the SMTP server received."""
    dataset = stored_as_dataset(config, frame)
    Services(config).rule_store.save(
        Rule("cpu", "cpu", ("ops@example.org",), detector="zscore", group_minutes=0)
    )
    scored = run_detection(frame, "zscore")
    assert alert_on_run(Services(config), scored, "cpu", dataset, "zscore", now=1e9)[2] == 1
    recorder = Recorder()
    server = start_server(recorder)
    try:
        deliver_due(Services(config).outbox, SmtpConfig("127.0.0.1", server.port), now=2e9)
    finally:
        server.stop()
    (email,) = recorder.received
    return email


def save_zone(config, zone: str) -> None:
    Services(config).mail_settings.save(
        {"alert_from": "vigil@example.org", "alert_time_zone": zone}, by="admin"
    )


def test_batch_emails_say_utc_by_default(config):
    email = emailed(config, spiky_year())

    text = email.get_body(("plain",)).get_content()
    assert email["Subject"].startswith("ALERT · cpu (ops.csv): 2 anomaly episodes, the worst ")
    assert email["Subject"].endswith(" above normal on 15 Jan 2024 10:00 UTC")
    assert "had 2 anomaly episodes since 15 Jan 2024 10:00 UTC" in text
    assert "#1  2024-01-15 10:00 UTC (1 point)" in text
    assert "#2  2024-07-15 10:00 UTC (1 point)" in text


def test_a_berlin_email_zone_writes_winter_times_in_cet_and_summer_times_in_cest(config):
    save_zone(config, "Europe/Berlin")

    email = emailed(config, spiky_year())

    text = email.get_body(("plain",)).get_content()
    html = email.get_body(("html",)).get_content()
    assert email["Subject"].endswith(" above normal on 15 Jan 2024 11:00 CET")
    assert "had 2 anomaly episodes since 15 Jan 2024 11:00 CET" in text
    assert "#1  2024-01-15 11:00 CET (1 point)" in text
    assert ") at 15 Jan 11:00 CET" in text  # the peak
    assert "#2  2024-07-15 12:00 CEST (1 point)" in text
    assert "2024-07-15 12:00 CEST <span" in html
    assert "UTC" not in text


def test_an_unknown_email_zone_is_refused_and_the_saved_one_kept(config):
    save_zone(config, "Europe/Berlin")

    with pytest.raises(DataError, match="'Europe/Berlln' is not a time zone"):
        save_zone(config, "Europe/Berlln")

    assert Services(config).mail_settings.saved()["alert_time_zone"] == "Europe/Berlin"


def test_the_charts_time_axis_is_in_the_email_zone_and_named():
    scored = run_detection(spiky_year(), "zscore")
    (report,) = [r for r in episode_reports(scored) if r.first == pd.Timestamp(WINTER_SPIKE)]
    winter = AlertEpisode(report.first, report.last, report.points, report.peak)
    context = scored[scored["timestamp"].between("2024-01-14", "2024-01-16")]

    drawn = chart.figure(context, [winter], "cpu", "Europe/Berlin")

    assert drawn.layout.xaxis.title.text == "time (CET)"
    line = next(trace for trace in drawn.data if trace.name == "cpu")
    assert pd.Timestamp(line.x[0]) == pd.Timestamp("2024-01-14 01:00")  # 00:00 UTC
    peak = next(trace for trace in drawn.data if trace.name == "peak")
    assert pd.Timestamp(peak.x[0]) == pd.Timestamp("2024-01-15 11:00")
