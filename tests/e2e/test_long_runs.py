"""A long detection run in a real headless Chromium: the series is drawn at once, the time
left counts down, and Cancel stops the run and leaves the page usable."""

from __future__ import annotations

import re

import pytest

from tests.e2e.waits import job_running, shows, texts, wait_for_job
from tests.processes import wait_while_busy
from vigil.detection import make_detector
from vigil.detection.synthetic import seasonal_series
from vigil.services import dataset_store, result_store
from vigil.stores.results import RunSettings

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

#: Long enough for STL to take a while on any machine (many seconds, not one).
LONG_SERIES = 400_000
COUNTDOWN = re.compile(
    r"Running Seasonal decomposition \(STL\) on 400,000 points: "
    r"(about \d+ (s|min) left|almost done|taking longer than usual)"
)


def chart(dash_duo) -> dict | None:
    """The names of the chart's traces and its title, as drawn."""
    return dash_duo.driver.execute_script(
        """
        const plot = document.querySelector('#analyze-graph .js-plotly-plot');
        if (!plot || !plot.data || !plot.layout) { return null; }
        const title = plot.layout.title;
        return {
            traces: plot.data.map(t => t.name),
            points: plot.data.length ? plot.data[0].x.length : 0,
            title: (title && title.text) || '',
            notes: (plot.layout.annotations || []).map(a => a.text),
        };
        """
    )


def draws_raw_values(dash_duo) -> bool:
    shown = chart(dash_duo)
    # the value line, and an empty strip below that only carries the time axis
    return bool(shown) and "raw values" in shown["title"] and shown["traces"][:1] == ["value"]


def test_a_long_run_shows_the_series_counts_down_and_can_be_cancelled(dash_duo, dash_app):
    data = seasonal_series(n=LONG_SERIES, spike_at=40_000, step="15min")
    info, _ = dataset_store().add(data.to_csv(index=False).encode(), "long-run.csv")
    stored = dataset_store().info(info.id)
    (series,) = stored.report.series
    params = make_detector("stl", {}).get_params()
    run = RunSettings(info.id, info.name, series, "stl", params, stored.schema.to_dict())
    assert not result_store().has(run.key)

    dash_duo.start_server(dash_app)
    dash_duo.driver.get(
        f"{dash_duo.server_url}/analyze?dataset={info.id}&series={series}&detector=stl"
    )

    # the raw values are drawn while the detector runs, before any result
    running = lambda: job_running(dash_duo, "#analyze-run")  # noqa: E731
    assert wait_while_busy(lambda: draws_raw_values(dash_duo), running, idle=30)
    assert "Detecting anomalies with Seasonal decomposition (STL)" in " ".join(
        chart(dash_duo)["notes"]
    )
    assert chart(dash_duo)["points"] > 100
    note = f"Showing the raw values of {series} while Seasonal decomposition (STL)"
    assert wait_while_busy(lambda: shows(dash_duo, "#analyze-status", note), running, idle=30)

    # the progress line counts down the time left
    assert wait_while_busy(
        lambda: any(COUNTDOWN.search(t) for t in texts(dash_duo, "#analyze-progress") or []),
        running,
        idle=30,
    ), texts(dash_duo, "#analyze-progress")
    assert dash_duo.find_element("#analyze-cancel").is_displayed()
    assert not result_store().has(run.key)

    dash_duo.find_element("#analyze-cancel").click()
    wait_for_job(dash_duo, "#analyze-progress", "Cancelled", run_button="#analyze-run")

    assert dash_duo.find_element("#analyze-run").is_enabled()
    assert not dash_duo.find_element("#analyze-cancel").is_displayed()
    dash_duo.wait_for_contains_text("#analyze-status", "The run was cancelled")
    assert draws_raw_values(dash_duo)
    assert "Not analysed: the detector did not finish" in chart(dash_duo)["notes"]
    assert not result_store().has(run.key)
    assert dash_duo.get_logs() == []
