"""Vigil on a phone-sized window (390 px wide) in a real headless Chromium."""

from __future__ import annotations

import uuid

import numpy as np
import pandas as pd
import pytest
from dash.testing.wait import until

pytestmark = pytest.mark.e2e

NAV_HEIGHT = "return document.querySelector('nav.navbar').getBoundingClientRect().height;"
LINK_SHOWN = """
return Array.from(document.querySelectorAll('nav.navbar .nav-link'))
  .filter(link => link.getBoundingClientRect().height > 0).map(link => link.innerText);
"""


def test_on_a_phone_the_navbar_is_one_line_until_opened(dash_duo, dash_app):
    dash_duo.driver.set_window_size(390, 844)
    dash_duo.start_server(dash_app)
    dash_duo.wait_for_element(".navbar-toggler", timeout=30)

    assert dash_duo.driver.execute_script(NAV_HEIGHT) < 80  # the brand and the toggler only
    assert dash_duo.driver.execute_script(LINK_SHOWN) == []

    dash_duo.find_element(".navbar-toggler").click()
    until(lambda: "Analyze" in dash_duo.driver.execute_script(LINK_SHOWN), timeout=10)

    def analyze_link():
        """The Analyze link once the menu has opened in full (while it slides open, its
        links are not yet shown as a person could click them)."""
        if dash_duo.driver.find_elements("css selector", "nav.navbar .collapsing"):
            return None
        links = dash_duo.driver.find_elements("css selector", "nav.navbar .nav-link")
        return next((link for link in links if link.text == "Analyze"), None)

    until(lambda: analyze_link() is not None, timeout=10)
    # picking a page closes the menu again, so the page is what fills the screen
    analyze_link().click()
    until(lambda: dash_duo.driver.execute_script(LINK_SHOWN) == [], timeout=10)
    assert dash_duo.driver.current_url.endswith("/analyze")
    assert dash_duo.driver.execute_script(NAV_HEIGHT) < 80
    assert dash_duo.get_logs() == []


def test_on_a_wide_screen_every_link_shows_without_a_toggler(dash_duo, dash_app):
    dash_duo.driver.set_window_size(1280, 800)
    dash_duo.start_server(dash_app)
    dash_duo.wait_for_element("nav.navbar .nav-link", timeout=30)
    assert {"Data", "Analyze", "Live"} <= set(dash_duo.driver.execute_script(LINK_SHOWN))
    assert not dash_duo.find_element(".navbar-toggler").is_displayed()


CLICK_CARD = """
const card = Array.from(document.querySelectorAll('.vigil-live-card'))
  .find(element => element.innerText.startsWith(arguments[0]));
if (!card) { return false; }
card.scrollIntoView({block: 'center'});
card.querySelector('button').click();  // the card's button takes the click
return true;
"""
CHART_TOP = """
const chart = Array.from(document.querySelectorAll('[data-live-chart]'))
  .find(element => element.dataset.liveChart === arguments[0]);
return chart ? chart.getBoundingClientRect().top : null;
"""


def test_a_live_card_clicked_on_a_phone_brings_its_chart_into_view(dash_duo, dash_app):
    from tests.conftest import API_TOKEN
    from vigil.client.api import points_body, post_points

    dash_duo.driver.set_window_size(390, 844)
    dash_duo.start_server(dash_app)
    names = [f"phone_{uuid.uuid4().hex[:6]}_{number}" for number in range(5)]
    times = pd.date_range("2026-01-01", periods=20, freq="min")
    for name in names:
        post_points(dash_duo.server_url, API_TOKEN, name, points_body(times, np.arange(20.0)))
    dash_duo.driver.get(f"{dash_duo.server_url}/live")
    shown = "return Array.from(document.querySelectorAll('.vigil-live-card')).map(c => c.innerText)"
    until(
        lambda: all(
            any(text.startswith(name) for text in dash_duo.driver.execute_script(shown))
            for name in names
        ),
        timeout=30,
    )

    until(dash_duo._wait_for_callbacks, timeout=60)  # the first charts are drawn
    # a series far down whose chart is not open yet (other tests' series may come first)
    last = next(n for n in reversed(names) if dash_duo.driver.execute_script(CHART_TOP, n) is None)
    # a click as a person makes it, found and made at once: the cards are redrawn every second
    clicked = dash_duo.driver.execute_script(CLICK_CARD, last)
    assert clicked
    until(lambda: dash_duo.driver.execute_script(CHART_TOP, last) is not None, timeout=30)
    height = dash_duo.driver.execute_script("return window.innerHeight;")
    until(lambda: 0 <= dash_duo.driver.execute_script(CHART_TOP, last) < height / 2, timeout=10)
