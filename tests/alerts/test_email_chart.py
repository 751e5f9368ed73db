"""Every alert email shows its incident on a chart whose line covers the episodes: a batch run
over a long series, an alert sent later by the delivery loop, a "resolved" email, and live
series, each delivered through a real SMTP server."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pandas as pd
import pytest

from tests.alerts.smtp_server import Recorder, start_server
from tests.conftest import BROWSER_MISSING
from tests.settings import make_settings
from vigil.alerts import chart
from vigil.alerts.delivery import deliver_due
from vigil.alerts.episodes import AlertEpisode, AlertPoint
from vigil.alerts.rules import Rule
from vigil.alerts.smtp import SmtpConfig
from vigil.detection import run_detection
from vigil.live.points import read_batch
from vigil.services import Services
from vigil.storage.files import FileStore
from vigil.storage.opening import open_database
from vigil.stores.datasets import DatasetStore
from vigil.usecases.alerting import alert_engine, alert_on_run, live_window
from vigil.usecases.live_series import late_window
from vigil.workers.live_scoring import live_worker

pytestmark = pytest.mark.skipif(BROWSER_MISSING, reason="kaleido draws charts with chromium")


def delivered(config, now: float) -> list:
    """What a real SMTP server receives of everything in the outbox."""
    recorder = Recorder()
    server = start_server(recorder)
    try:
        deliver_due(Services(config).outbox, SmtpConfig("127.0.0.1", server.port), now=now)
    finally:
        server.stop()
    return recorder.received


def chart_of(message) -> bytes | None:
    images = [part for part in message.walk() if part.get_content_type() == "image/png"]
    return images[0].get_content() if images else None


def line_covers(context: pd.DataFrame, episodes) -> bool:
    """Whether the value line of the email's figure runs from the first episode's start to
    the last one's end."""
    figure = chart.figure(context, episodes, "cpu")
    line = next(trace for trace in figure.data if trace.name == "cpu")
    times = pd.to_datetime(pd.Series(line.x))
    return times.min() <= min(e.start for e in episodes) and times.max() >= max(
        e.end for e in episodes
    )


@pytest.fixture
def year_of_hours() -> pd.DataFrame:
    """Fourteen months of hourly noise around 100 with three spikes: in February, in July, and
    at the very end (an episode that may go on)."""
    rng = np.random.default_rng(3)
    times = pd.date_range("2024-01-01", periods=10_000, freq="h")
    values = 100 + rng.normal(0, 1, len(times))
    values[[900, 4500, 9999]] += 25
    return pd.DataFrame({"timestamp": times, "value": values})


def test_a_batch_email_charts_the_whole_span_of_its_episodes(tmp_path, year_of_hours):
    config = make_settings(tmp_path, public_url="https://vigil.example.org")
    datasets = DatasetStore(
        FileStore(config.files_url),
        open_database(config.database_url),
        max_bytes=5_000_000,
        max_rows=200_000,
    )
    csv = year_of_hours.rename(columns={"value": "cpu"}).to_csv(index=False).encode()
    dataset = datasets.add(csv, "ops.csv")[0].id
    rule = Services(config).rule_store.save(
        Rule("cpu", "cpu", ("ops@example.org",), detector="zscore", min_severity=0.9)
    )
    scored = run_detection(year_of_hours, "zscore")
    now = time.time()
    assert alert_on_run(Services(config), scored, "cpu", dataset, "zscore", now=now)[2] == 1

    engine = alert_engine(Services(config), scored, run=("cpu", dataset))
    episodes = [AlertEpisode.from_row(row) for row in engine.history(rule.id).to_dict("records")]
    assert len(episodes) >= 3  # the spikes, at least
    context = engine.context(rule, "cpu", dataset, episodes)
    assert line_covers(context, episodes)
    assert len(context) <= 2 * chart.MOST  # thinned, not cut short
    # every spike is still drawn at its height
    for episode in episodes:
        assert episode.peak.value in context["value"].to_numpy()

    # an hour later the last episode is over: the "resolved" email, sent by the delivery loop (which
    # has no run at hand), charts the data set's series too
    later = now + 3600
    assert (
        alert_engine(Services(config)).dispatch(Services(config).rule_store.rules(), now=later) == 1
    )
    emails = delivered(config, later)
    assert len(emails) == 2
    for email in emails:
        assert (chart_of(email) or b"")[:8] == b"\x89PNG\r\n\x1a\n", email["Subject"]
    stored = alert_engine(Services(config)).context(rule, "cpu", dataset, episodes)
    assert line_covers(stored, episodes)


def batch(frame: pd.DataFrame):
    return read_batch(
        {
            "points": [
                {"timestamp": t.isoformat(), "value": float(v)}
                for t, v in zip(frame["timestamp"], frame["value"], strict=True)
            ]
        }
    )


@pytest.mark.slow  # a further journey on a page CI already walks: make test-team runs it
def test_every_live_alert_email_carries_its_chart(tmp_path):
    """The first alert goes out as the points are scored; the second waits for the group
    interval and goes out from the delivery loop; then the "resolved" email. All three show
    the series around their episodes."""
    rng = np.random.default_rng(0)
    times = pd.date_range("2024-03-12", periods=3000, freq="min")
    values = 100 + rng.normal(0, 1, len(times))
    values[2000:2004] += 15
    values[2999] += 30  # the last point: it may go on
    frame = pd.DataFrame({"timestamp": times, "value": values})
    config = make_settings(tmp_path, public_url="https://vigil.example.org")
    rule = Services(config).rule_store.save(
        Rule("cpu jumps", "cpu", ("ops@example.org",), group_minutes=60, resolve_minutes=30)
    )
    store = Services(config).live_store
    scoring = live_worker(Services(config))
    store.add("cpu", batch(frame.iloc[:2500]), late_window=late_window(config))
    scoring.round()
    store.add("cpu", batch(frame.iloc[2500:]), late_window=late_window(config))
    scoring.round()
    assert Services(config).outbox.counts()["pending"] == 1  # the second episode waits

    later = time.time() + 61 * 60
    assert (
        alert_engine(Services(config)).dispatch(Services(config).rule_store.rules(), now=later) == 2
    )
    emails = delivered(config, later)
    assert len(emails) == 3
    for email in emails:
        assert chart_of(email) is not None, email["Subject"]

    episodes = [
        AlertEpisode.from_row(row)
        for row in alert_engine(Services(config)).history(rule.id).to_dict("records")
    ]
    assert len(episodes) >= 2
    assert line_covers(live_window(store, "cpu", episodes), episodes)


def test_episode_labels_on_a_crowded_chart_do_not_overlap_and_the_worst_is_labelled():
    times = pd.date_range("2024-01-01", periods=2000, freq="h")
    rows = pd.DataFrame({"timestamp": times, "value": 100.0, "is_anomaly": False})
    starts = [100, 110, 120, 900, 905, 1500]
    severities = [0.91, 0.99, 0.92, 0.93, 0.95, 0.9]
    episodes = [
        AlertEpisode(times[at], times[at], 1, AlertPoint(times[at], 150.0, 100.0, severity, ""))
        for at, severity in zip(starts, severities, strict=True)
    ]

    labels = {
        note.text: pd.Timestamp(note.x)
        for note in chart.figure(rows, episodes, "cpu").layout.annotations
    }

    assert set(labels) == {"#2", "#5", "#6"}  # the worst of each crowd, and the one alone
    spots = sorted(labels.values())
    assert all(b - a >= (times[-1] - times[0]) / 18 for a, b in itertools.pairwise(spots))
