"""The analyst's path in a real headless Chromium: upload, read the report, detect, download."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pandas as pd
import pytest
from dash.testing.wait import until
from selenium.common.exceptions import ElementClickInterceptedException
from selenium.webdriver.common.by import By

from tests.e2e.waits import job_running, texts, wait_for_job, wait_for_upload
from tests.hostile import REFUSED
from tests.processes import wait_while_busy
from vigil.detection.synthetic import seasonal_series
from vigil.services import dataset_store

pytestmark = pytest.mark.e2e


def choose_file(dash_duo, path: Path) -> None:
    """Pick `path` in the file dialog, once the page's drop zone (which receives it) is shown."""
    dash_duo.wait_for_element(".vigil-drop-zone", timeout=60)
    picker = dash_duo.driver.find_element(By.CSS_SELECTOR, "input.vigil-file-input")
    picker.send_keys(str(path))


def click(dash_duo, selector: str) -> None:
    """Click an element as a person would, brought to the middle of the window first. When
    the page moved between the scroll and the click (a grid drew its rows, under load), the
    click is sent to the element itself instead of to a point that no longer holds it."""
    element = dash_duo.find_element(selector)
    dash_duo.driver.execute_script(
        "const box = arguments[0].getBoundingClientRect();"
        "window.scrollBy(0, box.top - window.innerHeight / 2);",
        element,
    )
    try:
        element.click()
    except ElementClickInterceptedException:
        dash_duo.driver.execute_script("arguments[0].click();", element)


def plotted_anomalies(dash_duo) -> int:
    return dash_duo.driver.execute_script(
        """
        const plot = document.querySelector('#analyze-graph .js-plotly-plot');
        if (!plot || !plot.data) { return -1; }
        const trace = plot.data.find(t => t.name === 'anomaly');
        return trace ? trace.x.length : 0;
        """
    )


def x_range(dash_duo):
    return dash_duo.driver.execute_script(
        "const p = document.querySelector('#analyze-graph .js-plotly-plot');"
        "return p && p.layout.xaxis.range ? p.layout.xaxis.range.map(String) : null;"
    )


def zoomed_to_days(shown: list[str] | None) -> bool:
    """Whether the chart shows less than a week (the whole demo is four weeks)."""
    return shown is not None and pd.Timestamp(shown[1]) - pd.Timestamp(shown[0]) < pd.Timedelta(
        days=7
    )


def shaded_spans(dash_duo) -> int:
    """Rectangles drawn on the chart: the shaded episodes (and learning period)."""
    return dash_duo.driver.execute_script(
        "const p = document.querySelector('#analyze-graph .js-plotly-plot');"
        "return p && p.layout.shapes ? p.layout.shapes.length : 0;"
    )


def wait_for_download(folder: Path, suffix: str, timeout: float = 20) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [p for p in folder.glob(f"*{suffix}") if p.stat().st_size > 0]
        if done:
            return done[0]
        time.sleep(0.2)
    raise AssertionError(f"no {suffix} file arrived in {folder}")


def test_upload_detect_and_download(dash_duo, dash_app, tmp_path):
    source = tmp_path / "sensor-with-spike.csv"
    seasonal_series(n=144 * 8, spike_at=700, step="10min").to_csv(source, index=False)
    broken = tmp_path / REFUSED["no_timestamp"][0]
    broken.write_bytes(REFUSED["no_timestamp"][1])

    dash_duo.start_server(dash_app)
    dash_duo.wait_for_element("#data-name", timeout=30)

    choose_file(dash_duo, source)
    wait_for_upload(dash_duo, "#data-name", "sensor-with-spike.csv")
    dash_duo.wait_for_contains_text("#data-upload-ok", "is stored")
    dash_duo.wait_for_contains_text(".vigil-facts", "every 10 minutes")

    choose_file(dash_duo, broken)  # its columns cannot be guessed: the user is asked for them
    wait_for_upload(dash_duo, "#data-upload-draft", "needs its columns chosen")
    dash_duo.wait_for_contains_text("#data-draft", f"Choose the columns of '{broken.name}'")
    assert "No timestamp column found" in dash_duo.find_element("#data-panel").text
    assert dash_duo.find_elements("#data-name") == []  # not the data set shown before
    assert "sensor-with-spike.csv" in dash_duo.find_element("#data-list").text
    logs = dash_duo.get_logs()
    assert all(
        "/api/v1/datasets" in entry["message"] and "400" in entry["message"] for entry in logs
    )
    dash_duo.reset_log_timestamp()  # that refused upload's HTTP 400 is expected, nothing else

    listed = "//*[@id='data-list']//*[text()='sensor-with-spike.csv']"
    dash_duo.driver.find_element(By.XPATH, listed).click()  # back to the stored data set
    dash_duo.wait_for_text_to_equal("#data-name", "sensor-with-spike.csv")
    click(dash_duo, "#data-analyze-link")
    wait_for_job(dash_duo, "#analyze-count", "anomaly episode", run_button="#analyze-run")
    assert plotted_anomalies(dash_duo) >= 1
    # episodes come first, and the summary says why nothing is flagged at the start
    episodes = dash_duo.find_elements("#analyze-episodes .ag-center-cols-container .ag-row")
    assert episodes
    assert "against an expected" in dash_duo.find_element("#analyze-episodes").text
    assert "Learning: the first" in dash_duo.find_element("#analyze-learning").text
    assert shaded_spans(dash_duo) >= len(episodes)
    rows = dash_duo.find_elements("#analyze-grid .ag-center-cols-container .ag-row")
    assert rows
    assert "against an expected" in dash_duo.find_element("#analyze-grid").text

    before = x_range(dash_duo)
    rows[0].click()
    until(lambda: x_range(dash_duo) != before, timeout=15)

    click(dash_duo, "#analyze-download-csv")
    downloaded = wait_for_download(Path(dash_duo.download_path), ".csv")
    text = downloaded.read_text()
    # times in the zone shown (UTC here), and in UTC for tools that want one datetime column
    assert text.startswith("timestamp,timestamp_utc,value,score,severity,is_anomaly")
    assert text.splitlines()[1].startswith("2024-01-01T00:00:00Z,2024-01-01T00:00:00Z,")
    assert text.splitlines()[0].endswith(",episode,onset")
    assert text.count("\n") == 144 * 8 + 1

    click(dash_duo, "#analyze-download-episodes")
    episodes_file = wait_for_download(Path(dash_duo.download_path), "-episodes.csv")
    assert episodes_file.read_text().startswith("episode,start,end,peak_time,peak_severity")

    assert dash_duo.get_logs() == []


@pytest.mark.slow  # a further journey on a page CI already walks: make test-team runs it
def test_switching_detector_reruns_and_keeps_the_page_clean(dash_duo, dash_app):
    demo = dataset_store().add_demo()
    dash_duo.start_server(dash_app)
    dash_duo.driver.get(f"{dash_duo.server_url}/analyze?dataset={demo.id}&series=latency_ms")
    wait_for_job(dash_duo, "#analyze-count", "anomal", run_button="#analyze-run")

    dash_duo.find_element(
        "label[for^='_dbcprivate_radioitems_analyze-detector_input_zscore']"
    ).click()
    dash_duo.wait_for_contains_text(".vigil-param", "Method", timeout=20)
    # the result's chart, not the raw values drawn while z-score runs
    wait_for_job(dash_duo, "#analyze-graph", "latency_ms · z-score", run_button="#analyze-run")
    assert plotted_anomalies(dash_duo) >= 1
    assert dash_duo.find_element("#analyze-dataset").text == "vigil-demo.csv"
    assert dash_duo.get_logs() == []


@pytest.mark.slow  # a further journey on a page CI already walks: make test-team runs it
def test_an_episode_opens_on_its_points(dash_duo, dash_app):
    demo = dataset_store().add_demo()
    dash_duo.start_server(dash_app)
    dash_duo.driver.get(
        f"{dash_duo.server_url}/analyze?dataset={demo.id}&series=latency_ms&detector=stl"
    )
    wait_for_job(dash_duo, "#analyze-count", "anomaly episodes", run_button="#analyze-run")
    dash_duo.wait_for_contains_text("#analyze-episodes-note", "Most severe first", timeout=20)
    episodes = dash_duo.find_elements("#analyze-episodes .ag-center-cols-container .ag-row")
    # the duration cell ('1 h 45 min, 7 points'): the Why cell may name points too ('1 in 1,100
    # points of this series')
    durations = [row.find_element(By.CSS_SELECTOR, "[col-id='duration_s']") for row in episodes]
    longer = [cell for cell in durations if re.search(r"([\d,]+) points", cell.text)]
    assert longer, "no episode of several points: " + " | ".join(row.text for row in episodes)
    points = int(re.search(r"([\d,]+) points", longer[0].text).group(1).replace(",", ""))
    whole = x_range(dash_duo)

    longer[0].click()

    dash_duo.wait_for_contains_text(
        "#analyze-points-title", f"The {points} flagged points of the episode", timeout=15
    )
    until(lambda: x_range(dash_duo) != whole, timeout=15)
    until(
        lambda: (
            len(dash_duo.find_elements("#analyze-grid .ag-center-cols-container .ag-row"))
            == min(points, 15)
        ),
        timeout=15,
    )
    numbers = {
        cell.text
        for cell in dash_duo.find_elements(
            "#analyze-grid .ag-center-cols-container [col-id='episode']"
        )
    }
    assert len(numbers) == 1  # every point shown is of the chosen episode

    click(dash_duo, "#analyze-show-all-points")
    dash_duo.wait_for_contains_text("#analyze-points-title", "Flagged points", timeout=15)
    assert dash_duo.get_logs() == []


DROP_FILE = """
const [name, text, limit] = arguments;
const zone = document.querySelector('.vigil-drop-zone');
if (limit) { zone.setAttribute('data-max-bytes', String(limit)); }
const transfer = new DataTransfer();
transfer.items.add(new File([text], name, {type: 'text/csv'}));
zone.dispatchEvent(new DragEvent('dragover', {dataTransfer: transfer, bubbles: true}));
zone.dispatchEvent(new DragEvent('drop', {dataTransfer: transfer, bubbles: true}));
"""


def test_dropping_files_on_the_zone(dash_duo, dash_app):
    csv = seasonal_series(n=600, spike_at=300, seed=4).to_csv(index=False)
    dash_duo.start_server(dash_app)
    dash_duo.wait_for_element(".vigil-drop-zone", timeout=30)

    dash_duo.driver.execute_script(DROP_FILE, "dropped.csv", csv, None)
    wait_for_upload(dash_duo, "#data-name", "dropped.csv")

    dash_duo.driver.execute_script(DROP_FILE, "too-big.csv", csv, 100)
    dash_duo.wait_for_contains_text(
        "#data-upload-error", "over the 0.1 KB upload limit", timeout=10
    )
    dash_duo.wait_for_contains_text("#data-refused", "That file was not stored")
    assert dash_duo.find_elements("#data-name") == []  # not the data set shown before
    assert "dropped.csv" in dash_duo.find_element("#data-list").text
    assert dash_duo.get_logs() == []


@pytest.mark.slow  # a further journey on a page CI already walks: make test-team runs it
def test_marking_an_anomaly_as_normal_removes_it_from_the_page(dash_duo, dash_app):
    demo = dataset_store().add_demo()
    dash_duo.start_server(dash_app)
    dash_duo.driver.get(
        f"{dash_duo.server_url}/analyze?dataset={demo.id}&series=temperature_c&detector=stl"
    )
    wait_for_job(dash_duo, "#analyze-count", "anomal", run_button="#analyze-run")
    before = int(dash_duo.find_element("#analyze-count").text.split()[0])

    rows = dash_duo.find_elements("#analyze-grid .ag-center-cols-container .ag-row")
    rows[0].click()
    dash_duo.wait_for_contains_text("#analyze-selected-text", "Selected", timeout=15)
    click(dash_duo, "#analyze-mark-normal")

    dash_duo.wait_for_contains_text("#analyze-mark-status", "Marked as not an anomaly")
    wait_for_job(dash_duo, "#analyze-summary-text", "1 mark applied", run_button="#analyze-run")
    after = int(dash_duo.find_element("#analyze-count").text.split()[0])
    assert after < before
    click(dash_duo, "#analyze-mark-clear")
    dash_duo.wait_for_contains_text("#analyze-mark-status", "Mark cleared")
    assert wait_while_busy(
        lambda: (
            (summary := texts(dash_duo, "#analyze-summary-text"))
            and not any("mark" in text for text in summary)
        ),
        lambda: job_running(dash_duo, "#analyze-run"),
        idle=30,
    )
    assert dash_duo.get_logs() == []


@pytest.mark.slow  # a further journey on a page CI already walks: make test-team runs it
def test_a_link_with_a_time_opens_the_chart_around_it(dash_duo, dash_app):
    demo = dataset_store().add_demo()
    dash_duo.start_server(dash_app)
    dash_duo.driver.get(
        f"{dash_duo.server_url}/analyze?dataset={demo.id}&series=requests_per_min"
        "&at=2024-03-21T08:30:00"
    )
    wait_for_job(dash_duo, "#analyze-count", "anomal", run_button="#analyze-run")
    # the chart is drawn whole first, then zoomed: wait for the zoom, not for any range
    until(lambda: zoomed_to_days(x_range(dash_duo)), timeout=20)
    low, high = (pd.Timestamp(t) for t in x_range(dash_duo))
    assert low < pd.Timestamp("2024-03-21 08:30") < high
    assert high - low < pd.Timedelta(days=4)  # zoomed in, not the whole four weeks
    assert dash_duo.get_logs() == []


def test_an_alert_emails_link_opens_its_stored_result_without_running(dash_duo, dash_app):
    """`vigil detect --alert` keeps its scores; the email's "Open in Vigil" names them."""
    from vigil.detection import run_detection
    from vigil.services import result_store
    from vigil.stores.results import RunSettings

    demo = dataset_store().add_demo()
    frame = dataset_store().series(demo.id, "requests_per_min")
    columns = dataset_store().info(demo.id).schema.to_dict()
    run = RunSettings(
        demo.id, demo.name, "requests_per_min", "zscore", {"threshold": 5.4321}, columns
    )
    scored = run_detection(frame, "zscore", threshold=5.4321)
    key = result_store().save(run, scored, 22.0)
    dash_duo.start_server(dash_app)
    dash_duo.driver.get(
        f"{dash_duo.server_url}/analyze?dataset={demo.id}&series=requests_per_min"
        f"&detector=zscore&result={key}&at=2024-03-21T08:30:00"
    )
    dash_duo.wait_for_contains_text("#analyze-summary", "in 22", timeout=60)
    assert "Running" not in dash_duo.find_element("#analyze-progress").text
    until(lambda: plotted_anomalies(dash_duo) == int(scored["is_anomaly"].sum()), timeout=20)
    assert dash_duo.get_logs() == []
