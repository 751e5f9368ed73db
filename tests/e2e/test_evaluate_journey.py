"""Judging detectors on labelled data in a real headless Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from selenium.webdriver.common.by import By

from tests.e2e.test_analyst_journey import choose_file, click
from tests.e2e.waits import wait_for_job, wait_for_upload
from vigil.detection.synthetic import labelled_series

pytestmark = pytest.mark.e2e


def grid_rows(dash_duo) -> list[str]:
    """Each shown row as 'detector cells…', in the order on screen."""
    return dash_duo.driver.execute_script(
        """
        const part = (where) => Object.fromEntries(
            [...document.querySelectorAll(`#evaluate-grid ${where} .ag-row`)]
                .map(row => [row.getAttribute('row-index'), row.innerText.replace(/\\n/g, ' ')]));
        const names = part('.ag-pinned-left-cols-container');
        const cells = part('.ag-center-cols-container');
        return Object.keys(cells).sort((a, b) => a - b).map(i => `${names[i]} ${cells[i]}`);
        """
    )


def grid_headers(dash_duo) -> list[str]:
    """The grid's column and column-group headers, left to right."""
    return dash_duo.driver.execute_script(
        "return [...document.querySelectorAll("
        "'#evaluate-grid .ag-header-group-text, #evaluate-grid .ag-header-cell-text')]"
        ".map(e => e.innerText.trim()).filter(t => t);"
    )


def cell(dash_duo, row: int, column: str) -> str:
    """The text a grid cell shows."""
    return dash_duo.driver.execute_script(
        f'const c = document.querySelector(\'#evaluate-grid .ag-row[row-index="{row}"] '
        f'[col-id="{column}"]\'); return c ? c.innerText : null;'
    )


def curve_names(dash_duo) -> list[str]:
    return dash_duo.driver.execute_script(
        "const p = document.querySelector('#evaluate-curve .js-plotly-plot');"
        "return p && p.data ? p.data.map(t => t.name) : [];"
    )


def test_a_labelled_upload_is_judged_by_every_detector(dash_duo, dash_app, tmp_path):
    series = labelled_series("level_shift", seed=1)
    source = tmp_path / "labelled-latency.csv"
    series.rename(columns={"value": "latency"}).to_csv(source, index=False)

    dash_duo.start_server(dash_app)
    dash_duo.wait_for_element("#data-name", timeout=30)
    choose_file(dash_duo, source)
    wait_for_upload(dash_duo, "#data-name", "labelled-latency.csv")

    click(dash_duo, "a.nav-link[href='/evaluate']")
    dash_duo.wait_for_text_to_equal("#evaluate-dataset", "labelled-latency.csv", timeout=20)
    dash_duo.wait_for_text_to_equal("#evaluate-label-column", "label", timeout=20)
    click(dash_duo, "#evaluate-run")

    wait_for_job(dash_duo, "#evaluate-best", "Best event-wise F1: ", run_button="#evaluate-run")
    assert "1 labelled window" in dash_duo.find_element("#evaluate-summary").text
    rows = grid_rows(dash_duo)
    assert len(rows) == 5
    assert rows[0].startswith("Automatic") or rows[0].startswith("Ensemble")
    assert "1 of 1" in rows[0]
    assert {"Automatic", "Seasonal decomposition (STL)", "z-score"} <= set(curve_names(dash_duo))
    headers = grid_headers(dash_duo)
    assert {"Anomaly windows", "F1", "False alarms", "A day", "In all"} <= set(headers)
    assert headers.index("False alarms") > headers.index("Anomaly windows")
    for row in range(5):  # beside precision, recall and F1: a rate a day for every detector
        assert re.fullmatch(r"\d+\.\d\d", cell(dash_duo, row, "false_per_day"))
    assert "14.0 days" in dash_duo.find_element("#evaluate-summary").text
    assert "that touch no labelled anomaly" in dash_duo.find_element("#evaluate-note").text
    assert dash_duo.get_logs() == []


@pytest.mark.slow  # a further journey on a page CI already walks: make test-team runs it
def test_anomaly_windows_from_a_second_file(dash_duo, dash_app, tmp_path):
    series = labelled_series("dip", seed=2)
    source = tmp_path / "unlabelled.csv"
    series.drop(columns="label").to_csv(source, index=False)
    inside = series.loc[series["label"] == 1, "timestamp"]
    windows = tmp_path / "windows.csv"
    pd.DataFrame({"start": [inside.min()], "end": [inside.max()]}).to_csv(windows, index=False)
    stranger = tmp_path / "other-windows.csv"
    stranger.write_text("start,end\n2031-01-01,2031-01-02\n")

    dash_duo.start_server(dash_app)
    dash_duo.wait_for_element("#data-name", timeout=30)
    choose_file(dash_duo, source)
    wait_for_upload(dash_duo, "#data-name", "unlabelled.csv")
    click(dash_duo, "a.nav-link[href='/evaluate']")
    dash_duo.wait_for_text_to_equal("#evaluate-dataset", "unlabelled.csv", timeout=20)

    click(dash_duo, "label[for^='_dbcprivate_radioitems_evaluate-label-source_input_windows']")
    upload = dash_duo.driver.find_element(By.CSS_SELECTOR, "#evaluate-windows-upload input")
    upload.send_keys(str(Path(stranger)))
    dash_duo.wait_for_contains_text("#evaluate-windows-status", "1 window from", timeout=20)
    click(dash_duo, "#evaluate-run")
    wait_for_job(dash_duo, "#evaluate-error", "cover no timestamp", run_button="#evaluate-run")

    upload.send_keys(str(Path(windows)))
    dash_duo.wait_for_contains_text("#evaluate-windows-status", "windows.csv", timeout=20)
    click(dash_duo, "#evaluate-run")
    wait_for_job(dash_duo, "#evaluate-best", "Best event-wise F1: ", run_button="#evaluate-run")
    assert len(grid_rows(dash_duo)) == 5
    assert dash_duo.get_logs() == []
