"""User text in figures (series, data set, column and rule names) shows as typed, never as
the HTML subset Plotly reads in titles, names, annotations and hover text."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vigil.alerts import chart
from vigil.components.charts import empty_figure, preview_figure, scored_figure, series_figure
from vigil.components.live import live_figure
from vigil.detection import run_detection
from vigil.detection.synthetic import seasonal_series
from vigil.detection.text import plotly_text
from vigil.live.charts import ChartPoints

LINK = '<a href="https://evil.example">x</a>'
NAMES = [LINK, "<b>bold</b> & R&D", "a &lt; b", "<br>two lines"]


def as_plotly_shows(text: str) -> str:
    """Text as Plotly draws it: the entities it knows turned back into characters."""
    for entity, character in (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&")):
        text = text.replace(entity, character)
    return text


def strings(value) -> list[str]:
    """Every string anywhere in a figure's JSON that Plotly may draw (`uirevision` is a key
    it compares, never shows)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for key, item in value.items() if key != "uirevision" for s in strings(item)]
    if isinstance(value, (list, tuple, np.ndarray)):
        return [s for item in value for s in strings(item)]
    return []


def no_markup_from(figure, name: str) -> None:
    texts = strings(figure.to_plotly_json())
    assert not [t for t in texts if "<a" in t or "<b>" in t], "a tag reached the figure"
    assert any(plotly_text(name) in t for t in texts), "the name is not in the figure"


@pytest.mark.parametrize("name", NAMES)
def test_plotly_text_reads_back_as_typed_and_starts_no_tag(name):
    shown = plotly_text(name)
    assert "<" not in shown
    assert as_plotly_shows(shown) == name


@pytest.fixture(scope="module")
def scored() -> pd.DataFrame:
    return run_detection(seasonal_series(n=400, spike_at=300), "zscore")


def test_the_analyze_chart_title_shows_the_name_as_typed(dash_app, scored):
    no_markup_from(scored_figure(scored, title=f"{LINK} · z-score"), LINK)


def test_the_raw_values_shown_while_a_run_goes_name_the_series_as_typed():
    frame = seasonal_series(n=200)[["timestamp", "value"]]
    figure = series_figure(frame, title=f"{LINK} · raw values", note=f"Detecting in {LINK}…")
    no_markup_from(figure, LINK)


def test_an_error_shown_in_an_empty_chart_shows_names_as_typed():
    no_markup_from(empty_figure(f"{LINK}: no point yet"), LINK)


def test_a_preview_names_its_series_as_typed():
    frame = seasonal_series(n=200)[["timestamp", "value"]]
    figure = preview_figure(frame, LINK)
    no_markup_from(figure, LINK)
    assert figure.layout.title.text == plotly_text(LINK)


def test_a_live_chart_names_its_series_and_explanations_as_typed(scored):
    explained = scored.assign(explanation=f"{LINK} jumped")
    start, end = explained["timestamp"].iloc[[0, -1]]
    every = ChartPoints(explained, explained.iloc[:0], len(explained), None, start, end)
    figure, _ = live_figure(every, name=LINK, window="1 hour")
    no_markup_from(figure, LINK)


def test_an_alert_emails_chart_names_its_series_as_typed(scored):
    figure = chart.figure(scored, [], LINK)
    no_markup_from(figure, LINK)
