"""The Live page in a real headless Chromium: a new series' card says how long it learns, then
a spike replayed into the ingest API appears on the open chart with its marker, appended
without a redraw, and the card counts the anomaly episode."""

from __future__ import annotations

import time
import uuid

import pytest
from dash.testing.wait import until

from tests.conftest import API_TOKEN
from tests.e2e.test_analyst_journey import click
from tests.unit.test_cli import vigil
from vigil.client.api import points_body, post_points
from vigil.detection.synthetic import seasonal_series
from vigil.services import current

pytestmark = pytest.mark.e2e

#: Per chart on the page: the times of the value trace, the times of drawn anomaly markers
#: (as ISO text: the chart has them as ms of the wall clock), and how many marker shapes
#: Plotly drew for the anomaly trace.
CHART_STATE = """
const iso = x => Number.isFinite(x) ? new Date(x).toISOString() : String(x);
return Array.from(document.querySelectorAll('.js-plotly-plot')).map(g => {
  const anomaly = g.data[4];
  const flagged = Array.from(anomaly.x).filter((x, i) => Number.isFinite(anomaly.y[i])).map(iso);
  const traces = g.querySelectorAll('.scatterlayer .trace');
  return {
    times: g.data[3].x.length, last: iso(g.data[3].x[g.data[3].x.length - 1]),
    flagged: flagged, markers: traces[4].querySelectorAll('path.point').length,
    title: g.layout.title.text,
  };
});
"""


@pytest.fixture
def scoring(dash_app):
    from vigil.web.live_api import attach_worker
    from vigil.workers.live_scoring import live_worker

    worker = live_worker(current()).start()
    attach_worker(dash_app.server, worker)
    yield worker
    worker.stop()
    attach_worker(dash_app.server, None)


def charts(dash_duo) -> list[dict]:
    return dash_duo.driver.execute_script(CHART_STATE)


def card_text(dash_duo, series: str) -> str:
    """What the series' card says, as a person reads it."""
    return dash_duo.driver.execute_script(
        "return Array.from(document.querySelectorAll('.vigil-live-card'))"
        ".map(card => card.innerText).find(text => text.startsWith(arguments[0])) || ''",
        series,
    )


def test_a_replayed_spike_appears_on_the_live_chart_with_its_marker(
    dash_duo, dash_app, scoring, tmp_path
):

    series = f"checkout_{uuid.uuid4().hex[:6]}"
    frame = seasonal_series(n=2500, seed=3)
    spike = 2480
    frame.loc[spike, "value"] += 12
    spike_time = frame["timestamp"].iloc[spike].strftime("%Y-%m-%dT%H:%M:%S")

    dash_duo.start_server(dash_app)
    url = dash_duo.server_url
    store = current().live_store

    # A new series of minute points learns for a day of them: its card says how much longer.
    first = frame.iloc[:500]
    post_points(url, API_TOKEN, series, points_body(first["timestamp"], first["value"]))
    until(lambda: store.scores(series)["scored"].notna().sum() == 500, timeout=60)
    dash_duo.driver.get(f"{url}/live?series={series}")
    until(
        lambda: "Learning: about 15 h 40 min (940 points) to go" in card_text(dash_duo, series), 20
    )
    assert "learning" in card_text(dash_duo, series)  # the status badge ("Learning:" aside)
    assert "anomal" not in card_text(dash_duo, series)

    for start in range(500, 2400, 1000):
        part = frame.iloc[start : min(start + 1000, 2400)]
        post_points(url, API_TOKEN, series, points_body(part["timestamp"], part["value"]))
    until(lambda: store.scores(series)["scored"].notna().sum() == 2400, timeout=60)
    until(lambda: "No anomaly in the last hour" in card_text(dash_duo, series), timeout=20)
    assert "Learning" not in card_text(dash_duo, series)

    dash_duo.wait_for_element(".js-plotly-plot", timeout=30)
    last_sent = frame["timestamp"].iloc[2399].strftime("%Y-%m-%dT%H:%M")
    until(lambda: charts(dash_duo) and charts(dash_duo)[0]["last"].startswith(last_sent), 30)
    before = charts(dash_duo)[0]
    assert series in before["title"]
    assert before["last"].startswith(frame["timestamp"].iloc[2399].strftime("%Y-%m-%dT%H:%M"))
    assert spike_time not in " ".join(before["flagged"])
    dash_duo.wait_for_contains_text("#live-cards", series, timeout=20)
    dash_duo.driver.execute_script("document.querySelector('.js-plotly-plot').dataset.drawn = 1")

    recorded = tmp_path / "checkout.csv"
    frame.iloc[2400:].to_csv(recorded, index=False)
    replayed = vigil(
        "replay",
        str(recorded),
        "--series",
        series,
        "--url",
        url,
        "--token",
        API_TOKEN,
        "--batch",
        "25",
    )
    assert replayed.returncode == 0, replayed.stderr
    assert "100 accepted" in replayed.stdout

    until(lambda: any(spike_time in t for t in charts(dash_duo)[0]["flagged"]), timeout=30)
    after = charts(dash_duo)[0]
    assert after["markers"] >= 1
    assert after["last"].startswith(frame["timestamp"].iloc[-1].strftime("%Y-%m-%dT%H:%M"))
    assert after["times"] == 60  # the one-hour window of minute points, the oldest fallen away
    # The same plot element, appended to: no redraw replaced it.
    assert dash_duo.driver.execute_script(
        "return document.querySelector('.js-plotly-plot').dataset.drawn"
    )
    until(lambda: "1 anomaly episode in the last hour" in card_text(dash_duo, series), 10)

    # Paused, the chart holds still while points keep coming; resumed, it catches up.
    click(dash_duo, "#live-pause")
    dash_duo.wait_for_text_to_equal("#live-pause", "Resume")
    held = charts(dash_duo)[0]["last"]
    later = seasonal_series(n=2510, seed=3).iloc[2500:]
    post_points(url, API_TOKEN, series, points_body(later["timestamp"], later["value"]))
    until(lambda: store.scores(series)["scored"].notna().all(), timeout=30)
    time.sleep(2)
    assert charts(dash_duo)[0]["last"] == held
    click(dash_duo, "#live-pause")
    until(lambda: charts(dash_duo)[0]["last"] > held, timeout=10)
    assert charts(dash_duo)[0]["last"].startswith(
        later["timestamp"].iloc[-1].strftime("%Y-%m-%dT%H:%M")
    )
    assert dash_duo.get_logs() == []
