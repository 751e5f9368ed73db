"""The overview's swimlanes: per series and bucket the highest flagged severity, no points
before a series' first point or after its last, most anomalous first."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tests.callbacks.test_live_cards import scored_points
from tests.live.test_charts import score, store_points
from vigil.live.store import LiveStore

START = pd.Timestamp("2026-11-30 10:00")


def test_each_bucket_holds_its_highest_flagged_severity_and_no_points_read_empty(database):
    store = LiveStore(database)
    calm, spiky = scored_points(False), scored_points(True)  # 10:00 to 10:04, the last flagged
    score(store, calm, store_points(store, "calm", calm))
    score(store, spiky, store_points(store, "spiky", spiky))

    lanes = store.swimlanes(start=START, end=START + pd.Timedelta(minutes=10), buckets=5)

    assert lanes.series["name"].tolist() == ["calm", "spiky"]
    assert lanes.width == pd.Timedelta(minutes=2)
    np.testing.assert_array_equal(
        lanes.severity,
        [[0, 0, 0, np.nan, np.nan], [0, 0, 0.97, np.nan, np.nan]],
    )
    assert lanes.series["flagged_buckets"].tolist() == [0, 1]
    assert [lanes.series["name"][row] for row in lanes.most_anomalous()] == ["spiky", "calm"]
    assert [lanes.series["name"][row] for row in lanes.most_anomalous([True, False])] == ["calm"]


def test_a_series_with_no_point_in_the_span_is_empty_throughout(database):
    store = LiveStore(database)
    frame = scored_points(True)
    score(store, frame, store_points(store, "old", frame))

    lanes = store.swimlanes(
        start=START + pd.Timedelta(hours=1), end=START + pd.Timedelta(hours=2), buckets=4
    )

    assert np.isnan(lanes.severity).all()
    assert np.isnan(lanes.series["worst"][0])
