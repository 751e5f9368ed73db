"""Every page works under Vigil's Content Security Policy, in a real headless Chromium: no
script, style or connection is refused, so the console stays clean."""

from __future__ import annotations

import pytest
import requests
from dash.testing.wait import until

from tests.e2e.waits import wait_for_job
from vigil.services import dataset_store

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def settled(dash_duo) -> None:
    until(dash_duo._wait_for_callbacks, timeout=60)


def test_every_page_works_under_the_content_security_policy(dash_duo, dash_app):
    demo = dataset_store().add_demo()
    dash_duo.start_server(dash_app)
    answer = requests.get(f"{dash_duo.server_url}/", timeout=10)
    policy = answer.headers["Content-Security-Policy"]
    assert "script-src 'self' 'sha256-" in policy
    assert "'unsafe-eval'" not in policy
    assert "frame-ancestors 'none'" in policy
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Referrer-Policy"] == "same-origin"

    dash_duo.driver.get(
        f"{dash_duo.server_url}/analyze?dataset={demo.id}&series=latency_ms&detector=zscore"
    )
    wait_for_job(dash_duo, "#analyze-count", "anomal", run_button="#analyze-run")
    settled(dash_duo)
    assert dash_duo.find_elements("#analyze-graph .main-svg")  # Plotly drew the chart
    for page in ("/", "/live", "/alerts", "/evaluate", "/admin"):
        dash_duo.driver.get(f"{dash_duo.server_url}{page}")
        until(lambda: dash_duo.find_elements("#_pages_content > *"), timeout=30)
        settled(dash_duo)

    assert dash_duo.get_logs() == []  # a refused script or style is a console error
