"""Picking the zone times are shown in, in a real headless Chromium: the navbar's picker, the
Analyze page redrawn in that zone, and the choice kept across a reload."""

from __future__ import annotations

import uuid

import numpy as np
import pandas as pd
import pytest
from dash.testing.wait import until
from selenium.webdriver.common.by import By

from tests.e2e.waits import texts, wait_for_job
from vigil.services import dataset_store

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

AXIS_TITLE = """
const plot = document.querySelector('#analyze-graph .js-plotly-plot');
return plot && plot.layout.xaxis2 && plot.layout.xaxis2.title
  ? plot.layout.xaxis2.title.text : null;
"""


def spiky_hours() -> bytes:
    """25 days of hourly values around 10, with one spike at 2024-02-06 16:00 UTC."""
    times = pd.date_range("2024-01-20", periods=600, freq="h")
    values = 10 + np.random.default_rng(3).normal(0, 1, len(times))
    values[times.get_loc(pd.Timestamp("2024-02-06 16:00"))] = 40
    return pd.DataFrame({"timestamp": times, "value": values}).to_csv(index=False).encode()


def pick_zone(dash_duo, search: str, name: str) -> None:
    """Open the navbar's zone picker, search for `search` and choose `name`."""
    dash_duo.find_element("#app-zone-picker").click()
    dash_duo.wait_for_element(".dash-dropdown-search", timeout=10).send_keys(search)
    until(lambda: any(o.text == name for o in options(dash_duo)), timeout=10)
    next(option for option in options(dash_duo) if option.text == name).click()


def options(dash_duo):
    return dash_duo.driver.find_elements(By.CSS_SELECTOR, ".dash-options-list-option")


def test_a_zone_picked_in_the_navbar_redraws_analyze_in_it_and_is_kept(dash_duo, dash_app):
    info, _ = dataset_store().add(spiky_hours(), f"zones-{uuid.uuid4().hex[:6]}.csv")
    dash_duo.driver.set_window_size(1280, 900)
    dash_duo.start_server(dash_app)
    dash_duo.wait_for_element("#app-zone-picker", timeout=30)
    analyze = f"{dash_duo.server_url}/analyze?dataset={info.id}&series=value&detector=zscore"
    dash_duo.driver.get(analyze)
    wait_for_job(dash_duo, "#analyze-count", "anomaly episode", run_button="#analyze-run")
    until(lambda: dash_duo.driver.execute_script(AXIS_TITLE) == "Time (UTC)", timeout=20)
    assert "Times:" in dash_duo.find_element("nav.navbar").text
    assert dash_duo.find_element("#app-zone-picker").text == "UTC"

    pick_zone(dash_duo, "kolkata", "Asia/Kolkata")

    until(
        lambda: dash_duo.driver.execute_script(AXIS_TITLE) == "Time (IST, Asia/Kolkata)",
        timeout=20,
    )
    spans = "#analyze-episodes .ag-center-cols-container"
    until(lambda: "2024-02-06 21:30" in " ".join(texts(dash_duo, spans) or []), timeout=20)
    assert "times in IST, Asia/Kolkata" in dash_duo.find_element("#analyze-episodes-note").text

    dash_duo.driver.refresh()  # the choice is kept in the browser
    wait_for_job(dash_duo, "#analyze-count", "anomaly episode", run_button="#analyze-run")
    until(lambda: dash_duo.find_element("#app-zone-picker").text == "Asia/Kolkata", timeout=20)
    until(
        lambda: dash_duo.driver.execute_script(AXIS_TITLE) == "Time (IST, Asia/Kolkata)",
        timeout=20,
    )
    assert "2024-02-06 21:30" in dash_duo.find_element(spans).text
    assert dash_duo.get_logs() == []
