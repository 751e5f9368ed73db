"""A series named with HTML shows on the Analyze chart as typed, in a real Chromium: Plotly
draws no link from it."""

from __future__ import annotations

from urllib.parse import quote

import numpy as np
import pandas as pd
import pytest
from selenium.webdriver.common.by import By

from detection import run_detection
from vigil.results import RunSettings
from vigil.services import dataset_store, result_store

pytestmark = pytest.mark.e2e

LINK = '<a href="https://evil.example">x</a>'


def test_a_series_named_with_a_link_is_drawn_as_text(dash_duo, dash_app):
    times = pd.date_range("2024-05-01", periods=300, freq="h")
    values = np.sin(np.arange(300) / 6.0)
    values[200] = 9.0
    csv = pd.DataFrame({"timestamp": times, LINK: values}).to_csv(index=False).encode()
    info, _ = dataset_store().add(csv, "links.csv")
    frame = dataset_store().series(info.id, LINK)
    columns = dataset_store().info(info.id).schema.to_dict()
    run = RunSettings(info.id, info.name, LINK, "zscore", {}, columns)
    key = result_store().save(run, run_detection(frame, "zscore"), 1.0)

    dash_duo.start_server(dash_app)
    dash_duo.driver.get(
        f"{dash_duo.server_url}/analyze?dataset={info.id}&series={quote(LINK)}"
        f"&detector=zscore&result={key}"
    )
    dash_duo.wait_for_contains_text("#analyze-graph .gtitle", "evil.example", timeout=60)

    title = dash_duo.find_element("#analyze-graph .gtitle")
    assert title.text.startswith(LINK)
    links = dash_duo.driver.find_elements(By.CSS_SELECTOR, "#analyze-graph a")
    assert [
        a.get_attribute("href") for a in links if "evil" in (a.get_attribute("href") or "")
    ] == []
    dash_duo.driver.save_screenshot("/tmp/vigil-figure-text.png")
    assert dash_duo.get_logs() == []
