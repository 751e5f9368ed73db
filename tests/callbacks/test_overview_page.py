"""The Overview page: every live series as a swimlane row, most anomalous first, filtered
and paged; a click on a cell opens the series on the Live page at that time."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest
from dash._utils import to_json

from tests.callbacks.test_live_cards import scored_points
from tests.live.test_charts import score, store_points
from vigil.services import live_store


@pytest.fixture
def fleet(dash_app) -> str:
    """Sixty series of five points ending a few minutes ago; the 42nd has an anomaly."""
    prefix = f"lane{uuid.uuid4().hex[:6]}"
    end = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("min") - pd.Timedelta(minutes=3)
    for i in range(60):
        frame = scored_points(flagged_last=i == 42)
        frame["timestamp"] = frame["timestamp"] - frame["timestamp"].iloc[-1] + end
        score(live_store(), frame, store_points(live_store(), f"{prefix}-{i:02d}", frame))
    return prefix


def test_rows_come_most_anomalous_first_a_page_at_a_time(fleet):
    from vigil.pages.overview import ROWS_PER_PAGE, show_lanes

    lanes, pages, pager, count, invalid, _ = show_lanes(1, "1 hour", fleet, 1, None)
    heatmap = lanes.figure.data[0]

    assert len(heatmap.y) == ROWS_PER_PAGE == 50
    assert heatmap.y[0] == f"{fleet}-42"
    assert heatmap.y[1:3] == (f"{fleet}-00", f"{fleet}-01")
    assert max(v for v in heatmap.z[0] if v is not None) == pytest.approx(0.97)
    assert "anomaly · severity 0.97" in heatmap.text[0]
    assert (pages, "d-none" in pager, invalid) == (2, False, False)
    assert count.startswith("Series 1 to 50 of 60")
    assert len(to_json(lanes)) < 100_000

    second = show_lanes(1, "1 hour", fleet, 2, None)[0].figure.data[0]
    assert second.y == tuple(f"{fleet}-{i:02d}" for i in range(50, 60))


def test_an_unreadable_filter_is_named_and_a_click_opens_the_series_at_its_time(fleet):
    from vigil.pages.overview import open_series, show_lanes

    *_, invalid, problem = show_lanes(1, "1 hour", "env=~(", 1, None)
    assert invalid
    assert problem.startswith("env=~(: not a regular expression")

    href = open_series(
        {"points": [{"x": "2026-11-30 10:04:30", "y": f"{fleet}-42"}]}, "Asia/Kolkata"
    )
    query = parse_qs(urlparse(href).query)

    assert urlparse(href).path == "/live"
    assert query == {"series": [f"{fleet}-42"], "at": ["2026-11-30T04:34:30"]}
