"""Hostile names and files in a real Chromium: a series named with HTML is drawn as typed
(Plotly draws no link from it), and a gzip bomb on the Data page is refused, its limit named."""

from __future__ import annotations

import gzip
from urllib.parse import quote

import numpy as np
import pandas as pd
import pytest
from selenium.webdriver.common.by import By

from vigil.detection import run_detection
from vigil.services import dataset_store, result_store
from vigil.stores.results import RunSettings

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LINK = '<a href="https://evil.example">x</a>'


def test_a_series_named_with_a_link_is_drawn_as_text(dash_duo, dash_app, tmp_path):
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
    dash_duo.driver.save_screenshot(str(tmp_path / "analyze-link-name.png"))
    assert dash_duo.get_logs() == []


def test_a_gzip_bomb_on_the_data_page_is_refused_naming_the_limit(dash_duo, dash_app, tmp_path):
    from tests.e2e.test_analyst_journey import choose_file
    from tests.e2e.waits import wait_for_upload

    bomb = tmp_path / "rows.csv.gz"
    bomb.write_bytes(gzip.compress(b"value\n" + b"1\n" * 6_000_000))

    dash_duo.start_server(dash_app)
    dash_duo.wait_for_element("#data-list", timeout=30)
    choose_file(dash_duo, bomb)
    wait_for_upload(dash_duo, "#data-upload-error", "VIGIL_MAX_ROWS")

    message = dash_duo.find_element("#data-upload-error").text
    assert "'rows.csv.gz' has 6,000,000 rows" in message
    dash_duo.driver.save_screenshot(str(tmp_path / "data-upload-bomb.png"))
    logs = dash_duo.get_logs()
    assert all("/api/v1/datasets" in e["message"] and "400" in e["message"] for e in logs)
