"""What a first-time analyst meets on the Data and Analyze pages, in a real headless Chromium."""

from __future__ import annotations

import uuid

import pandas as pd
import pytest
from dash.testing.wait import until
from selenium.webdriver.common.keys import Keys

from tests.e2e.test_analyst_journey import click, x_range
from tests.e2e.waits import wait_for_job
from vigil.detection.synthetic import seasonal_series
from vigil.services import dataset_store, feedback_store

pytestmark = pytest.mark.e2e


def settled(dash_duo) -> None:
    """Wait until the page has no callback in flight."""
    until(dash_duo._wait_for_callbacks, timeout=60)


def stored_files(dataset_id: str) -> list[str]:
    return sorted(path.name for path in (dataset_store().root / dataset_id).iterdir())


def test_visiting_the_data_page_shows_no_error_and_writes_nothing(dash_duo, dash_app):
    demo = dataset_store().add_demo()
    files = stored_files(demo.id)
    dash_duo.start_server(dash_app)
    # the newest data set is shown (earlier tests may have added others after the demo)
    until(lambda: dash_duo.find_element("#data-name").text, timeout=30)
    settled(dash_duo)
    assert dash_duo.find_elements(".vigil-error") == []

    # the demo chosen in the list, then the page visited again (and again)
    items = dash_duo.find_elements("#data-list .list-group-item")
    demo_item = next(item for item in items if "vigil-demo.csv" in item.text)
    # clicked in the page itself: under load, a click at its screen point can land on
    # something drawn over it for a moment
    dash_duo.driver.execute_script("arguments[0].click();", demo_item)
    settled(dash_duo)
    for _visit in range(2):
        dash_duo.wait_for_page(f"{dash_duo.server_url}/")
        dash_duo.wait_for_contains_text("#data-name", "vigil-demo.csv", timeout=30)
        settled(dash_duo)
        assert dash_duo.find_elements(".vigil-error") == []

    assert stored_files(demo.id) == files  # no new version of its tidy file
    assert dash_duo.get_logs() == []


def param_field(dash_duo, name: str):
    """A detector setting's input (its id is a pattern id, written as JSON)."""
    return dash_duo.find_element(f"""input[id*='"name":"{name}"']""")


@pytest.mark.slow  # a further journey on a page CI already walks: make test-team runs it
def test_a_wrong_setting_is_explained_under_its_field_and_the_result_stays(dash_duo, dash_app):
    demo = dataset_store().add_demo()
    dash_duo.driver.set_window_size(1280, 800)
    dash_duo.start_server(dash_app)
    dash_duo.driver.get(
        f"{dash_duo.server_url}/analyze?dataset={demo.id}&series=latency_ms&detector=iforest"
    )
    wait_for_job(dash_duo, "#analyze-count", "anomal", run_button="#analyze-run")
    settled(dash_duo)
    # the Isolation Forest form leaves Run on screen, without scrolling
    run = dash_duo.find_element("#analyze-run")
    bottom = dash_duo.driver.execute_script(
        "return arguments[0].getBoundingClientRect().bottom + window.scrollY;", run
    )
    assert bottom <= dash_duo.driver.execute_script("return window.innerHeight;")
    summary = dash_duo.find_element("#analyze-summary").text

    field = param_field(dash_duo, "threshold")
    field.clear()
    field.send_keys("-1", Keys.ENTER)
    dash_duo.wait_for_contains_text(
        ".vigil-param-invalid .invalid-feedback", "Flag at severity must be at least 0.05"
    )
    dash_duo.wait_for_contains_text("#analyze-run-note", "Fix the setting marked in red")
    run.click()
    settled(dash_duo)

    assert field.get_attribute("value") == "-1"  # not replaced by the default
    assert dash_duo.find_element("#analyze-summary").text == summary
    assert dash_duo.find_elements("#analyze-error") == []

    # another detector's form starts from its defaults: nothing left to fix
    dash_duo.find_element(
        "label[for^='_dbcprivate_radioitems_analyze-detector_input_zscore']"
    ).click()
    dash_duo.wait_for_contains_text(".vigil-param", "Method", timeout=20)
    until(lambda: dash_duo.find_element("#analyze-run-note").text == "", timeout=15)
    assert dash_duo.find_elements(".vigil-param-invalid") == []
    assert dash_duo.get_logs() == []


def marked_points(dash_duo, name: str) -> int:
    return dash_duo.driver.execute_script(
        "const p = document.querySelector('#analyze-graph .js-plotly-plot');"
        "const t = p && p.data.find(t => t.name === arguments[0]);"
        "return t ? t.x.length : -1;",
        name,
    )


@pytest.mark.slow  # a further journey on a page CI already walks: make test-team runs it
def test_a_mark_says_what_it_did_keeps_the_zoom_and_can_be_undone(dash_duo, dash_app):
    demo = dataset_store().add_demo()
    dash_duo.start_server(dash_app)
    dash_duo.driver.get(
        f"{dash_duo.server_url}/analyze?dataset={demo.id}&series=latency_ms&detector=stl"
    )
    try:
        wait_for_job(dash_duo, "#analyze-count", "anomal", run_button="#analyze-run")
        whole = x_range(dash_duo)
        dash_duo.find_elements("#analyze-grid .ag-center-cols-container .ag-row")[2].click()
        dash_duo.wait_for_contains_text("#analyze-selected-text", "Selected", timeout=15)
        until(lambda: x_range(dash_duo) != whole, timeout=15)
        settled(dash_duo)
        zoomed = x_range(dash_duo)
        before = max(marked_points(dash_duo, "marked normal"), 0)  # other tests' marks
        marks_before = len(feedback_store().marks(demo.id, "latency_ms"))

        click(dash_duo, "#analyze-mark-normal")
        dash_duo.wait_for_contains_text("#analyze-mark-status", "Marked as not an anomaly; ")
        settled(dash_duo)
        until(lambda: marked_points(dash_duo, "marked normal") == before + 1, timeout=30)
        assert x_range(dash_duo) == zoomed

        click(dash_duo, "#analyze-mark-undo")
        dash_duo.wait_for_contains_text("#analyze-mark-status", "Undone")
        settled(dash_duo)  # the chart is patched after the status: wait for that callback too
        until(lambda: max(marked_points(dash_duo, "marked normal"), 0) == before, timeout=30)
        assert x_range(dash_duo) == zoomed
        assert len(feedback_store().marks(demo.id, "latency_ms")) == marks_before
        assert dash_duo.get_logs() == []
    finally:
        for when in feedback_store().marks(demo.id, "latency_ms")["timestamp"]:
            feedback_store().unmark(demo.id, "latency_ms", when)


@pytest.mark.slow  # a further journey on a page CI already walks: make test-team runs it
def test_apply_on_a_first_visit_rereads_the_data_set_on_screen(dash_duo, dash_app):
    """With no data set chosen yet the page shows the newest; Apply re-reads that one."""
    name = f"fresh-{uuid.uuid4().hex[:8]}.csv"
    data = seasonal_series(n=400, seed=uuid.uuid4().int % 10_000).to_csv(index=False).encode()
    newest, _ = dataset_store().add(data, name)  # unseen bytes: a new data set, the newest
    files = stored_files(newest.id)
    dash_duo.start_server(dash_app)
    dash_duo.wait_for_contains_text("#data-name", name, timeout=30)
    settled(dash_duo)

    click(dash_duo, "#data-apply")

    until(lambda: stored_files(newest.id) != files, timeout=30)  # a new version of its tidy file
    settled(dash_duo)
    assert dash_duo.find_elements(".vigil-error") == []
    assert dash_duo.get_logs() == []


@pytest.mark.slow  # a further journey on a page CI already walks: make test-team runs it
def test_choosing_a_zone_on_the_columns_card_rereads_the_times_and_says_the_zone(
    dash_duo, dash_app
):
    name = f"berlin-{uuid.uuid4().hex[:8]}.csv"
    times = pd.date_range("2024-01-15", periods=400, freq="h")  # winter: Berlin is UTC+1
    rows = [f"{t:%Y-%m-%d %H:%M},{i % 7}.{uuid.uuid4().int % 10}" for i, t in enumerate(times)]
    info, _ = dataset_store().add(("time,load\n" + "\n".join(rows) + "\n").encode(), name)
    dash_duo.start_server(dash_app)
    dash_duo.wait_for_contains_text("#data-name", name, timeout=30)
    settled(dash_duo)
    dash_duo.wait_for_contains_text(".vigil-facts", "2024-01-15 00:00 UTC", timeout=30)

    click(dash_duo, "#data-file-zone")
    dash_duo.wait_for_element(".dash-dropdown-search").send_keys("Europe/Berl")
    until(lambda: len(dash_duo.find_elements(".dash-dropdown-option")) == 1, timeout=10)
    dash_duo.find_element(".dash-dropdown-option").click()
    dash_duo.wait_for_contains_text("#data-file-zone", "Europe/Berlin", timeout=10)
    click(dash_duo, "#data-apply")

    until(lambda: dataset_store().info(info.id).schema.time_zone == "Europe/Berlin", timeout=30)
    dash_duo.wait_for_contains_text(".vigil-facts", "2024-01-14 23:00 UTC", timeout=30)
    assert dataset_store().info(info.id).report.start == pd.Timestamp("2024-01-14 23:00")
    assert dash_duo.find_elements(".vigil-error") == []
    assert dash_duo.get_logs() == []
