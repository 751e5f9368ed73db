"""Times shown in the zone picked in the navbar: the picker's choices and what it keeps, the
Analyze page's chart, tables, sentences and downloads in that zone and saying which, and the
times that come back from the chart (a clicked point, a zoomed range) landing on the stored
point. Asia/Kolkata (+05:30) catches conversions that only move whole hours."""

from __future__ import annotations

import base64
import io

import dash
import numpy as np
import pandas as pd
import pytest
from dash._callback_context import context_value
from dash._utils import AttributeDict
from dash._utils import to_json as dash_json

from vigil.components.zones import picked_zone, shown_zone, stored_time, zone_options
from vigil.services import dataset_store, result_store

KOLKATA, BERLIN = "Asia/Kolkata", "Europe/Berlin"
#: The burst in `counts_csv`, as stored (naive UTC).
BURST = pd.Timestamp("2024-02-06 16:00")


def triggered(prop_id: str, value=1):
    """Run a callback as if `prop_id` had changed (what dash.ctx reads)."""
    context_value.set(AttributeDict(triggered_inputs=[{"prop_id": prop_id, "value": value}]))


def counts_csv() -> bytes:
    """Four months of hourly request counts from January (Berlin on CET, +01:00, until the
    end of March, then on CEST), one burst of 40 in February; long enough that the chart
    shows a sample of the points and fetches the rest on zoom."""
    counts = np.random.default_rng(7).poisson(1.5, 3000)
    times = pd.date_range("2024-01-20", periods=3000, freq="h")
    counts[times.get_loc(BURST)] = 40
    return pd.DataFrame({"timestamp": times, "requests": counts}).to_csv(index=False).encode()


@pytest.fixture
def result(dash_app) -> str:
    from vigil.pages.analyze import run_analysis

    info, _ = dataset_store().add(counts_csv(), "requests-zones.csv")
    key, status = run_analysis(lambda _t: None, 1, "requests", "zscore", False, info.id, [], [])
    assert status is None
    return key


def trace(figure, name: str):
    return next(t for t in figure.data if t.name == name)


def drawn_x(figure, name: str) -> list[str]:
    """The x values of a trace as the browser receives them, as the wall-clock times it draws
    (and sends back): plotly.js reads no offset, so any is left out here too."""
    import json

    return [x[:19] for x in json.loads(dash_json(trace(figure, name)))["x"]]


def test_the_picker_offers_utc_then_the_browser_zone_then_every_zone():
    options = zone_options(KOLKATA)

    assert options[0] == {"label": "UTC", "value": "UTC"}
    assert options[1] == {"label": "Asia/Kolkata (your browser)", "value": KOLKATA}
    values = [option["value"] for option in options]
    assert len(values) == len(set(values)) > 300
    assert BERLIN in values
    assert [o["value"] for o in zone_options("UTC")][:2] == ["UTC", "Africa/Abidjan"]
    assert zone_options("Not/AZone")[1]["value"] == "Africa/Abidjan"


def test_a_kept_zone_that_is_not_one_falls_back_to_utc():
    assert shown_zone("Mars/Olympus_Mons") == "UTC"
    assert shown_zone(None) == "UTC"
    assert shown_zone({"zone": BERLIN}) == "UTC"
    assert picked_zone("Mars/Olympus_Mons", "UTC", picker_changed=False) == ("UTC", "UTC")
    assert picked_zone(BERLIN, "UTC", picker_changed=False) == (BERLIN, BERLIN)
    assert picked_zone("UTC", KOLKATA, picker_changed=True) == (KOLKATA, KOLKATA)


def test_the_shell_keeps_the_zone_picked_and_mends_a_broken_one(dash_app):
    from vigil.app import keep_zone

    triggered("app-zone-picker.value", KOLKATA)
    assert keep_zone("UTC", KOLKATA) == (KOLKATA, dash.no_update)
    triggered("app-time-zone.data", "Mars/Olympus_Mons")
    assert keep_zone("Mars/Olympus_Mons", KOLKATA) == ("UTC", "UTC")
    triggered("app-time-zone.data", BERLIN)  # a reload: the kept zone shown, nothing rewritten
    assert keep_zone(BERLIN, "UTC") == (dash.no_update, BERLIN)


def test_the_chart_tables_and_summary_show_times_in_kolkata_and_say_so(result):
    from vigil.pages.analyze import show_episodes, show_result

    figure, rows, summary = show_result(result, 0.0, None, KOLKATA)

    assert figure.layout.xaxis2.title.text == "Time (IST, Asia/Kolkata)"
    assert "2024-02-06T21:30:00" in drawn_x(figure, "anomaly")  # 16:00 UTC
    hover = next(text for text in trace(figure, "anomaly").hovertext if "value 40<" in text)
    assert hover.startswith("2024-02-06 21:30:00 IST<br>value 40")
    burst = next(row for row in rows if row["value"] == "40")
    assert burst["time"] == "2024-02-06 21:30:00"  # shown
    assert burst["timestamp"] == "2024-02-06 16:00:00"  # stored, what a click looks up

    episodes, note, points_title, _ = show_episodes(result, 0.0, None, KOLKATA)
    burst_episode = next(row for row in episodes if row["value_text"].startswith("40"))
    assert burst_episode["span"] == "2024-02-06 21:30"
    assert "times in IST, Asia/Kolkata" in note
    assert points_title.endswith("(times in IST, Asia/Kolkata)")

    utc_figure, _rows, _ = show_result(result, 0.0, None, "UTC")
    assert utc_figure.layout.xaxis2.title.text == "Time (UTC)"
    assert "2024-02-06T16:00:00" in drawn_x(utc_figure, "anomaly")
    assert "until" not in str(summary)  # no learning period: no time in the summary


def test_a_point_clicked_on_a_kolkata_chart_selects_the_stored_point(result):
    from vigil.pages.analyze import select_point, show_result

    figure, _rows, _ = show_result(result, 0.0, None, KOLKATA)
    drawn = next(x for x in drawn_x(figure, "anomaly") if x.startswith("2024-02-06T21:30"))
    # plotly sends a clicked point's x back as the wall-clock time it drew, without a zone
    clicked = {"points": [{"x": drawn.replace("T", " ")[:16], "y": 40}]}

    triggered("analyze-graph.clickData", clicked)
    chosen, words = select_point(None, clicked, [], result, KOLKATA)

    assert chosen == {"timestamp": "2024-02-06 16:00:00", "value": 40.0}
    assert "Selected 2024-02-06 21:30:00 IST: 40" in str(words)


def test_a_range_zoomed_on_a_kolkata_chart_sends_the_stored_points_of_that_range(result):
    from vigil.pages.analyze import resample_on_zoom, show_result

    # the chart's axis in Kolkata wall-clock time: 21:30 to 23:30 is 16:00 to 18:00 UTC
    relayout = {"xaxis.range[0]": "2024-02-06 21:30", "xaxis.range[1]": "2024-02-06 23:30"}

    patch = resample_on_zoom(relayout, result, 0.0, KOLKATA)

    scored, _run = result_store().load(result)
    stored = scored.set_index("timestamp")["value"]
    sent = {
        tuple(op["location"]): op["params"]["value"]
        for op in patch.to_plotly_json()["operations"]
        if op["location"][0] == "data"
    }
    figure = show_result(result, 0.0, None, KOLKATA)[0]
    number = figure.data.index(trace(figure, "value"))
    xs = pd.DatetimeIndex(sent[("data", number, "x")])
    ys = list(sent[("data", number, "y")])
    assert str(xs.tz) == KOLKATA
    assert BURST in xs.tz_convert("UTC").tz_localize(None)
    assert ys == [stored[t] for t in xs.tz_convert("UTC").tz_localize(None)]
    assert 40 in ys


def test_a_row_clicked_zooms_a_berlin_chart_to_its_wall_clock_time(result):
    from vigil.pages.analyze import centre_on_row, show_result

    _figure, rows, _ = show_result(result, 0.0, None, BERLIN)
    burst = next(row for row in rows if row["value"] == "40")

    triggered("analyze-grid.cellClicked")
    patch = centre_on_row({"rowIndex": 0}, [burst], result, 0.0, BERLIN)

    ranges = [
        op["params"]["value"]
        for op in patch.to_plotly_json()["operations"]
        if op["location"] == ["layout", "xaxis", "range"]
    ]
    low, high = (pd.Timestamp(t) for t in ranges[0])
    assert (low + (high - low) / 2) == pd.Timestamp("2024-02-06 17:00")  # 16:00 UTC in CET


def test_stored_time_reads_a_chart_time_back_in_its_zone():
    assert stored_time("2024-02-06 21:30", KOLKATA) == BURST
    assert stored_time("2024-02-06 17:00:00", BERLIN) == BURST
    assert stored_time("2024-02-06 16:00", "UTC") == BURST
    assert stored_time("2024-02-06T17:00:00+01:00", KOLKATA) == BURST
    # clocks skip 02:00-03:00 on 2024-03-31 in Berlin; 01:30 the next day in October twice
    assert stored_time("2024-03-31 02:30", BERLIN) == pd.Timestamp("2024-03-31 01:00")
    assert stored_time("2024-10-27 02:30", BERLIN) == pd.Timestamp("2024-10-27 00:30")


def test_downloads_write_times_in_the_zone_picked_with_their_offset(result):
    from vigil.pages.analyze import download, download_episodes

    scored, _run = result_store().load(result)

    triggered("analyze-download-csv.n_clicks")
    csv = download(1, None, None, result, 0.0, BERLIN)
    text = base64.b64decode(csv["content"]).decode()
    assert "2024-02-06T17:00:00+01:00,2024-02-06T16:00:00Z,40" in text
    assert "2024-04-06T17:00:00+02:00,2024-04-06T15:00:00Z" in text  # summer time
    back = pd.read_csv(io.StringIO(text), parse_dates=["timestamp_utc"])
    assert (back["timestamp_utc"].dt.tz_localize(None) == scored["timestamp"]).all()
    # the offsets change in the span: the zone's column is read with utc=True
    local = pd.to_datetime(back["timestamp"], utc=True)
    assert (local.dt.tz_localize(None) == scored["timestamp"]).all()

    triggered("analyze-download-parquet.n_clicks")
    parquet = download(None, 1, None, result, 0.0, KOLKATA)
    frame = pd.read_parquet(io.BytesIO(base64.b64decode(parquet["content"])))
    assert str(frame["timestamp"].dt.tz) == KOLKATA
    assert (
        frame["timestamp"].dt.tz_convert("UTC").dt.tz_localize(None) == scored["timestamp"]
    ).all()

    episodes = download_episodes(1, result, KOLKATA)
    table = base64.b64decode(episodes["content"]).decode()
    assert "2024-02-06T21:30:00+05:30" in table

    triggered("analyze-download-csv.n_clicks")
    utc = base64.b64decode(download(1, None, None, result, 0.0)["content"]).decode()
    assert "2024-02-06T16:00:00Z,2024-02-06T16:00:00Z,40" in utc


def test_the_html_report_shows_times_in_the_zone_picked_and_says_which(result):
    from vigil.pages.analyze import download

    triggered("analyze-download-report.n_clicks")
    report = download(None, None, 1, result, 0.0, KOLKATA)["content"]

    assert "Times are in IST, Asia/Kolkata." in report
    assert "Time (IST, Asia\\u002fKolkata)" in report  # the chart's axis
    assert "<td>2024-02-06 21:30:00</td>" in report  # the burst among the flagged points
    assert "2024-02-06T21:30:00" in report  # drawn at its Kolkata time


def test_a_live_chart_in_kolkata_draws_and_extends_its_points_at_kolkata_times():
    from vigil.components.live import extension, live_figure
    from vigil.detection import run_detection
    from vigil.live.charts import ChartPoints

    frame = pd.DataFrame(
        {"timestamp": pd.date_range("2026-03-03 00:00", periods=120, freq="min"), "value": 1.0}
    )
    scored = run_detection(frame, "zscore")

    start, end = scored["timestamp"].iloc[[0, -1]]
    every = ChartPoints(scored, scored.iloc[:0], len(scored), None, start, end)

    figure, _most = live_figure(every, name="cpu", window="1 hour", zone=KOLKATA)
    more = extension(scored.tail(1), 100, KOLKATA)

    def clock(ms: float) -> pd.Timestamp:  # a date axis reads ms as the wall-clock time
        return pd.Timestamp(ms, unit="ms")

    assert figure.layout.xaxis.title.text == "Time (IST, Asia/Kolkata)"
    assert clock(figure.data[0].x[0]) == pd.Timestamp("2026-03-03 05:30")
    assert [clock(x) for x in more[0]["x"][0]] == [pd.Timestamp("2026-03-03 07:29")]
