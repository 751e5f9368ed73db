"""The Live page's settings: a value past its bounds is named under its field, and an admin
deletes a range of a series' points (a far-future one that locks it)."""

from __future__ import annotations

import uuid

import pandas as pd

from vigil.live.points import read_batch
from vigil.services import Services


def test_a_window_past_its_bound_is_named_under_its_field_and_apply_refuses_it(dash_app):
    from vigil.pages.live import PARAM_KIND, apply_settings, check_live_params

    ids = [
        {"type": PARAM_KIND, "detector": "zscore", "name": name}
        for name in ("method", "window", "threshold")
    ]
    values = ["robust", "1e20", "3.5"]

    boxes, feedback = check_live_params(values, ids)
    status = apply_settings(1, "cpu", "zscore", None, values, ids)

    assert feedback == [None, "Window (points) must be at most 100,000, not 1e+20.", None]
    assert "vigil-param-invalid" in boxes[1]
    assert "vigil-param-invalid" not in boxes[0]
    assert status.children == "Window (points) must be at most 100,000, not 1e+20."


def test_an_admin_deletes_a_far_future_point_and_is_told_how_many_went(dash_app, settings):
    from vigil.pages.live import delete_points

    name = f"locked_{uuid.uuid4().hex[:6]}"
    store = Services(settings).live_store
    late = pd.Timedelta(hours=1)
    store.add(
        name, read_batch({"points": [{"timestamp": "2026-01-01", "value": 1}]}), late_window=late
    )
    # a point from a clock gone wrong, stored before such points were refused
    with store.database.write() as connection:
        connection.exec_driver_sql(
            "INSERT INTO points (series, ts, value, received) "
            f"SELECT id, {pd.Timestamp('2199-05-01').value}, 2.0, 0 FROM series "
            f"WHERE name = '{name}'"
        )

    refused = delete_points(1, name, "2199-01-01", "yesterday")
    done = delete_points(1, name, "2199-01-01", "2200-01-01")

    assert "not an ISO 8601 time" in refused.children
    assert done.children == (
        f"Deleted 1 point of {name} from 2199-01-01T00:00:00 to 2200-01-01T00:00:00 UTC; "
        "the points left are being scored again."
    )
    assert store.scores(name)["timestamp"].tolist() == [pd.Timestamp("2026-01-01")]
    later = read_batch({"points": [{"timestamp": "2026-01-01T00:01", "value": 1}]})
    assert store.add(name, later, late_window=late).accepted == 1


def test_a_broken_series_card_says_why_and_the_others_do_not_look_broken():
    from vigil.components.live import series_card
    from vigil.live.status import error_of

    broken = {"name": "x", "error": "Window (points) must be at most 100,000, not 1e+20."}
    fine = {"name": "y", "error": float("nan")}  # how a text column holds "no error"

    assert "Not scored: Window (points) must be at most 100,000" in str(
        series_card(broken, "error", "", False)
    )
    assert "Not scored" not in str(series_card(fine, "ok", "", False))
    assert error_of(fine) is None
