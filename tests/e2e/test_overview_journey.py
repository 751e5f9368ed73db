"""The Overview page in a real headless Chromium: a series with an anomaly comes first, a
filter narrows the rows, and a click on its red cell opens it on the Live page, charted."""

from __future__ import annotations

import uuid

import pandas as pd
import pytest
from dash.testing.wait import until
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.actions.action_builder import ActionBuilder

from tests.callbacks.test_live_cards import scored_points
from tests.live.test_charts import score, store_points
from vigil.services import live_store

pytestmark = pytest.mark.e2e

#: The first row's flagged cell, as the page shows it: its centre in the window (CSS px).
RED_CELL = """
const gd = document.querySelector('#overview-graph .js-plotly-plot');
if (!gd || !gd._fullLayout || !gd._fullLayout.xaxis) return null;
const trace = gd.data[0], row = 0;
const column = trace.z[row].findIndex(v => v !== null && v > 0);
if (column < 0) return null;
const layout = gd._fullLayout, box = gd.getBoundingClientRect();
return {
  name: trace.y[row],
  x: box.left + layout._size.l + layout.xaxis.d2p(trace.x[column]),
  y: box.top + layout._size.t + layout.yaxis.d2p(row),
};
"""


def test_a_click_on_an_anomaly_in_the_overview_opens_its_series_charted(dash_duo, dash_app):
    prefix = f"ov{uuid.uuid4().hex[:6]}"
    end = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("min") - pd.Timedelta(minutes=3)
    for i, flagged in enumerate((False, True, False)):
        frame = scored_points(flagged_last=flagged)
        frame["timestamp"] = frame["timestamp"] - frame["timestamp"].iloc[-1] + end
        score(live_store(), frame, store_points(live_store(), f"{prefix}-{i}", frame))

    dash_duo.start_server(dash_app)
    dash_duo.driver.get(f"{dash_duo.server_url}/overview")
    box = dash_duo.wait_for_element("#overview-filter", timeout=20)
    box.send_keys(prefix, "\n")
    dash_duo.wait_for_contains_text("#overview-count", "3 series", timeout=20)

    cell = None

    def red_cell_drawn() -> bool:
        nonlocal cell
        cell = dash_duo.driver.execute_script(RED_CELL)
        return bool(cell) and cell["name"] == f"{prefix}-1"

    until(red_cell_drawn, timeout=20)
    actions = ActionBuilder(dash_duo.driver)
    actions.pointer_action.move_to_location(int(cell["x"]), int(cell["y"])).click()
    actions.perform()
    ActionChains(dash_duo.driver).reset_actions()

    until(lambda: "/live?series=" in dash_duo.driver.current_url, timeout=20)
    assert f"series={prefix}-1" in dash_duo.driver.current_url
    dash_duo.wait_for_contains_text("[data-live-chart]", f"{prefix}-1", timeout=30)
    assert dash_duo.get_logs() == []
