"""The Live page's charts at any window: a week opens whole and light, zooming draws the
range in detail, and points appended to a chart drawn in buckets come in until it is drawn
again."""

from __future__ import annotations

import json
import uuid

import pandas as pd
import pytest
from dash import no_update
from dash._callback_context import context_value
from dash._utils import AttributeDict, to_json

from tests.live.test_charts import START, score, store_points, week
from vigil.services import live_store

#: What the issue allows a chart's reply.
CHART_BYTES = 300_000


def triggered(prop_id: str, value=1):
    """Run a callback as if `prop_id` had changed (what dash.ctx reads)."""
    context_value.set(AttributeDict(triggered_inputs=[{"prop_id": prop_id, "value": value}]))


@pytest.fixture
def weekly(dash_app):
    """A week of points 30 s apart (20,160), scored, three of them flagged spikes."""
    name = f"week_{uuid.uuid4().hex[:6]}"
    scored = week()
    score(live_store(), scored, store_points(live_store(), name, scored))
    return name, scored


def figure_of(chart) -> dict:
    return chart.children[0].figure.to_plotly_json()


def wall(ms: float) -> pd.Timestamp:
    return pd.Timestamp(ms, unit="ms")


def test_a_week_opens_whole_in_the_7_day_window_light_with_every_spike(weekly):
    from vigil.pages.live import draw_charts

    name, scored = weekly

    charts, _ = draw_charts([name], "7 days")
    reply = to_json(charts)
    figure = figure_of(charts[0])
    value = figure["data"][3]
    anomaly = figure["data"][4]

    assert len(reply) <= CHART_BYTES
    # the whole week, not its first hours
    assert wall(value["x"][0]) - START <= pd.Timedelta(minutes=11)
    assert wall(value["x"][-1]) == scored["timestamp"].iloc[-1]
    assert max(value["y"]) == pytest.approx(scored["value"].max(), abs=1e-6)
    spikes = scored.loc[scored["is_anomaly"], "timestamp"].tolist()
    assert [wall(x) for x in anomaly["x"]] == spikes
    assert anomaly["customdata"] == ["far above the expected band"] * 3
    assert "20,160 points, lowest and highest per 11 min" in figure["layout"]["title"]["text"]


def test_zooming_into_an_hour_draws_its_every_point_and_zooming_out_the_week(weekly):
    from vigil.pages.live import draw_charts, zoom_chart

    name, scored = weekly
    state = draw_charts([name], "7 days")[0][0].children[1].data
    chart_id = json.dumps({"index": name, "type": "live-chart"}, separators=(",", ":"))
    hour = ["2026-11-04 11:00:00", "2026-11-04 12:00:00"]

    triggered(f"{chart_id}.relayoutData")
    zoomed, zoomed_state = zoom_chart(
        {"xaxis.range[0]": hour[0], "xaxis.range[1]": hour[1]}, state, "7 days"
    )
    value = zoomed.to_plotly_json()["data"][3]

    inside = scored["timestamp"].between(*pd.to_datetime(hour), inclusive="right")
    assert [wall(x) for x in value["x"]] == scored.loc[inside, "timestamp"].tolist()
    assert "zoomed in" in zoomed.layout.title.text
    assert zoomed_state["range"] == ["2026-11-04T11:00:00", "2026-11-04T12:00:00"]
    assert zoomed_state["last"] == state["last"]  # new points still come in from there

    out, out_state = zoom_chart({"xaxis.autorange": True}, zoomed_state, "7 days")

    assert "last 7 days" in out.layout.title.text
    assert out_state["range"] is None


def test_points_appended_to_a_chart_in_buckets_come_in_until_it_is_drawn_again(weekly):
    from vigil.components.live import REDRAW_AFTER, TRACES
    from vigil.pages.live import draw_charts, extend_charts

    name, _ = weekly
    state = draw_charts([name], "7 days")[0][0].children[1].data
    chart = [{"type": "live-chart", "index": name}]
    later = week().assign(timestamp=lambda f: f["timestamp"] + pd.Timedelta(days=7))

    first = later.iloc[:50]
    score(live_store(), first, store_points(live_store(), name, first))
    extended, redrawn, kept = extend_charts(1, [state], chart, "7 days")

    columns, traces, _most = extended[0]
    assert traces == list(range(len(TRACES), 2 * len(TRACES)))  # after the buckets' traces
    assert [wall(x) for x in columns["x"][3]] == first["timestamp"].tolist()
    assert redrawn == [no_update]
    assert kept[0]["appended"] == 50

    more = later.iloc[50 : 50 + REDRAW_AFTER]
    score(live_store(), more, store_points(live_store(), name, more))
    extended, redrawn, kept = extend_charts(1, kept, chart, "7 days")

    figure = redrawn[0].to_plotly_json()
    assert wall(figure["data"][3]["x"][-1]) == more["timestamp"].iloc[-1]
    assert kept[0]["appended"] == 0


def test_a_linked_series_chart_comes_with_the_page_and_is_not_drawn_twice(weekly):
    from vigil.pages.live import draw_charts, layout

    name, _ = weekly
    page = layout(series=name, at=None)
    charts = page.children[-2]
    drawn = next(c for c in page.children if getattr(c, "id", None) == "live-drawn").data

    assert charts.id == "live-charts"
    assert [c.children[0].id for c in charts.children] == [{"type": "live-chart", "index": name}]
    assert draw_charts([name], drawn["window"], "UTC", drawn) == (no_update, no_update)
    redrawn, now = draw_charts([name], drawn["window"], "Asia/Kolkata", drawn)
    assert now["zone"] == "Asia/Kolkata"
    assert len(redrawn) == 1


def test_a_linked_series_is_the_one_its_settings_panel_opens_on(weekly):
    from vigil.pages.live import SETTINGS_SERIES, layout

    name, _ = weekly

    def find(component, wanted):
        if getattr(component, "id", None) == wanted:
            return component
        children = getattr(component, "children", None)
        for child in children if isinstance(children, list) else [children]:
            if child is not None and not isinstance(child, str):
                found = find(child, wanted)
                if found is not None:
                    return found
        return None

    linked = find(layout(series=name, at=None), SETTINGS_SERIES)
    unlinked = find(layout(), SETTINGS_SERIES)

    assert linked.value == name
    assert name in linked.options
    assert set(linked.options) == {series.name for series in live_store().series()}
    assert (unlinked.value, unlinked.options) == (None, [])
