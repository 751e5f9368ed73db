"""Marking points on the Analyze page: it says what a mark did, undoes it exactly, draws
the marks on the chart and leaves its zoom alone."""

from __future__ import annotations

import pandas as pd
import pytest
from dash import Patch, no_update
from dash._callback_context import context_value
from dash._utils import AttributeDict

from vigil.services import dataset_store, feedback_store

SERIES = "latency_ms"


def triggered(prop_id: str, value=1):
    """Run a callback as if `prop_id` had changed (what dash.ctx reads)."""
    context_value.set(AttributeDict(triggered_inputs=[{"prop_id": prop_id, "value": value}]))


@pytest.fixture
def result(dash_app):
    """An STL result on the demo latency, with its rows; its marks removed afterwards."""
    from vigil.pages.analyze import run_analysis, show_result

    demo = dataset_store().add_demo().id
    key, _ = run_analysis(lambda _t: None, 1, SERIES, "stl", False, demo, [], [])
    triggered("analyze-result.data")
    _, rows, _ = show_result(key, 0.0)
    yield key, rows
    for when in feedback_store().marks(demo, SERIES)["timestamp"]:
        feedback_store().unmark(demo, SERIES, when)


def chosen(row: dict) -> dict:
    return {"timestamp": row["timestamp"], "value": float(row["value"].replace(",", ""))}


def test_marking_a_point_normal_says_how_many_similar_points_it_damped(result):
    from vigil.pages.analyze import mark_point, show_result

    key, rows = result
    triggered("analyze-mark-normal.n_clicks")
    changed, status = mark_point(1, None, None, chosen(rows[2]), key)

    triggered("analyze-marks-changed.data")
    _, rows_after, _ = show_result(key, 0.0, changed)
    damped = len(rows) - len(rows_after) - 1
    assert damped >= 1  # this point has look-alikes among the flagged ones
    assert f"Marked as not an anomaly; {damped} similar points damped (no longer flagged)." in str(
        status
    )
    assert "Undo" in str(status)


def test_undo_puts_back_exactly_the_marks_there_were(result):
    from vigil.pages.analyze import mark_point, undo_mark

    key, rows = result
    demo = dataset_store().add_demo().id
    point = chosen(rows[0])
    triggered("analyze-mark-anomaly.n_clicks")
    mark_point(None, 1, None, point, key)
    before = feedback_store().marks(demo, SERIES)

    triggered("analyze-mark-normal.n_clicks")
    changed, _ = mark_point(1, None, None, point, key)
    assert feedback_store().marks(demo, SERIES)["verdict"].tolist() == ["normal"]
    triggered("analyze-mark-undo.n_clicks")
    undone, status = undo_mark(1, changed)

    pd.testing.assert_frame_equal(feedback_store().marks(demo, SERIES), before)
    assert "Undone" in str(status)
    assert undo_mark(2, undone) == (no_update, no_update)  # nothing more to undo


def test_after_a_mark_the_chart_is_patched_not_replaced_and_shows_the_mark(result):
    from vigil.pages.analyze import mark_point, show_result

    key, rows = result
    triggered("analyze-mark-normal.n_clicks")
    changed, _ = mark_point(1, None, None, chosen(rows[0]), key)

    triggered("analyze-marks-changed.data")
    patch, _, _ = show_result(key, 0.0, changed)
    assert isinstance(patch, Patch)
    places = [str(op["location"]) for op in patch.to_plotly_json()["operations"]]
    assert not any("axis" in place for place in places)  # the zoom is left as it is

    triggered("analyze-result.data")
    figure, _, _ = show_result(key, 0.0, changed)
    marked = next(trace for trace in figure.data if trace.name == "marked normal")
    assert [pd.Timestamp(x) for x in marked.x] == [pd.Timestamp(rows[0]["timestamp"])]
    anomalies = next(trace for trace in figure.data if trace.name == "anomaly")
    assert pd.Timestamp(rows[0]["timestamp"]) not in [pd.Timestamp(x) for x in anomalies.x]
