"""Signing in, as a viewer, in a real headless Chromium: the form, what a viewer is offered,
and signing out."""

from __future__ import annotations

import pytest
from dash.testing.wait import until

from tests.e2e.test_analyst_journey import click

pytestmark = pytest.mark.e2e


@pytest.fixture
def sign_in_on(dash_app, data_dir):
    """Turns sign-in on for the app in this process (once dash_duo has seen it start)."""
    from vigil.services import EXTENSION
    from vigil.stores.users import UserStore

    services = dash_app.server.extensions[EXTENSION]
    before = services.settings

    def turn_on() -> None:
        services.settings = before.model_copy(update={"auth": "on"})
        UserStore(before.users_path).add("vera", "viewer-password", "viewer")

    yield turn_on
    UserStore(before.users_path).remove("vera")
    services.settings = before


@pytest.mark.slow  # a further journey on a page CI already walks: make test-team runs it
def test_a_viewer_signs_in_sees_what_they_may_do_and_signs_out(dash_duo, dash_app, sign_in_on):
    dash_duo.start_server(dash_app)
    dash_duo.driver.get("about:blank")  # leave the page dash_duo opened before sign-in is on
    sign_in_on()
    dash_duo.driver.get(f"{dash_duo.server_url}/evaluate")
    until(lambda: "/login?next=%2Fevaluate" in dash_duo.driver.current_url, timeout=10)

    dash_duo.find_element("#name").send_keys("vera")
    dash_duo.find_element("#password").send_keys("not her password")
    dash_duo.find_element("button[type=submit]").click()
    dash_duo.wait_for_contains_text(".alert-danger", "Wrong user name or password.")
    (refused,) = dash_duo.get_logs()  # the wrong password's page, answered 401
    assert "/login?next=%2Fevaluate" in refused["message"]
    assert "status of 401" in refused["message"]

    dash_duo.find_element("#password").send_keys("viewer-password")
    dash_duo.find_element("button[type=submit]").click()
    dash_duo.wait_for_contains_text("#app-sign-out", "vera · viewer", timeout=20)
    assert dash_duo.driver.current_url.endswith("/evaluate")  # back where they were going
    dash_duo.driver.get(f"{dash_duo.server_url}/")
    dash_duo.wait_for_contains_text("body", "Adding data needs the analyst role")
    assert dash_duo.find_elements(".vigil-drop-zone") == []

    dash_duo.driver.get(f"{dash_duo.server_url}/alerts")
    dash_duo.wait_for_element("#alerts-rule-save", timeout=20)
    assert not dash_duo.find_element("#alerts-rule-save").is_enabled()
    assert "admin role" in dash_duo.find_element("#alerts-rule-save").get_attribute("title")

    click(dash_duo, "#app-sign-out button")
    until(lambda: "/login" in dash_duo.driver.current_url, timeout=10)
    dash_duo.driver.get(f"{dash_duo.server_url}/alerts")
    until(lambda: "/login?next=%2Falerts" in dash_duo.driver.current_url, timeout=10)
    assert dash_duo.get_logs() == []
