"""What a first-time analyst meets on the Data and Analyze pages, in a real headless Chromium."""

from __future__ import annotations

import pytest
from dash.testing.wait import until

from vigil.services import dataset_store

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
    dash_duo.wait_for_contains_text("#data-name", "vigil-demo.csv", timeout=30)
    settled(dash_duo)
    assert dash_duo.find_elements(".vigil-error") == []

    # the data set chosen in the list, then the page visited again (and again)
    dash_duo.find_element("#data-list .list-group-item").click()
    settled(dash_duo)
    for _visit in range(2):
        dash_duo.wait_for_page(f"{dash_duo.server_url}/")
        dash_duo.wait_for_contains_text("#data-name", "vigil-demo.csv", timeout=30)
        settled(dash_duo)
        assert dash_duo.find_elements(".vigil-error") == []

    assert stored_files(demo.id) == files  # no new version of its tidy file
    assert dash_duo.get_logs() == []
