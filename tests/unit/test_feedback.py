"""Marks on points: respected by later runs, kept in SQLite, usable as labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from vigil.detection import run_detection
from vigil.detection.errors import DataError
from vigil.detection.feedback import apply_feedback, labels_from_marks
from vigil.detection.synthetic import gaussian_noise
from vigil.storage.database import Database
from vigil.stores.marks import FeedbackStore


@pytest.fixture(scope="module")
def scored() -> pd.DataFrame:
    frame = gaussian_noise(3000, seed=6)
    frame.loc[1000, "value"] = 8.0  # a spike someone knows to be fine (a nightly job)
    frame.loc[2000, "value"] = 8.1  # the same job another night
    frame.loc[2500, "value"] = -9.0  # a real drop
    return run_detection(frame, "zscore")


def marks(*rows: tuple[str, str, float]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["timestamp", "verdict", "value"]).assign(
        timestamp=lambda m: pd.to_datetime(m["timestamp"])
    )


def test_a_point_marked_normal_is_not_flagged_and_points_like_it_are_damped(scored):
    assert scored.loc[[1000, 2000, 2500], "is_anomaly"].all()
    when = scored.loc[1000, "timestamp"]

    result = apply_feedback(scored, marks((when, "normal", 8.0)))

    assert not result.loc[1000, "is_anomaly"]
    assert result.loc[1000, "explanation"] == "Marked as not an anomaly"
    assert result.loc[2000, "severity"] == pytest.approx(scored.loc[2000, "severity"] * 0.5)
    assert not result.loc[2000, "is_anomaly"]
    assert result.loc[2500, "is_anomaly"]  # below the expected level: not like the mark
    assert result.loc[2500, "severity"] == scored.loc[2500, "severity"]
    assert (result["explanation"] != "").sum() - 1 == result["is_anomaly"].sum()


def test_a_missed_point_marked_as_an_anomaly_is_flagged(scored):
    when = scored.loc[10, "timestamp"]
    result = apply_feedback(scored, marks((when, "anomaly", scored.loc[10, "value"])))
    assert result.loc[10, "is_anomaly"]
    assert result.loc[10, "explanation"].startswith("Marked as an anomaly")


def test_no_marks_change_nothing(scored):
    empty = marks()
    pd.testing.assert_frame_equal(apply_feedback(scored, empty), scored)


def test_marks_become_labels():
    labels = labels_from_marks(
        marks(("2024-01-01 00:05", "anomaly", 1.0), ("2024-01-01 00:07", "normal", 2.0))
    )
    assert labels.tolist() == [True, False]


def test_the_store_keeps_replaces_and_forgets_marks(database):
    store = FeedbackStore(database)
    store.mark("d1", "cpu", "2024-01-01 00:05", "normal", 8.0)
    before = store.version("d1", "cpu")
    store.mark("d1", "cpu", "2024-01-01 00:05", "anomaly", 8.0)
    store.mark("d1", "cpu", "2024-01-01 00:09", "normal", np.nan)
    store.mark("d1", "mem", "2024-01-01 00:05", "normal", 1.0)

    again = FeedbackStore(Database(database.url))  # as another process reads them
    cpu = again.marks("d1", "cpu")
    assert cpu["verdict"].tolist() == ["anomaly", "normal"]
    assert cpu["timestamp"].iloc[0] == pd.Timestamp("2024-01-01 00:05")
    assert again.version("d1", "cpu") != before

    again.unmark("d1", "cpu", "2024-01-01 00:09")
    assert len(again.marks("d1", "cpu")) == 1
    assert len(again.marks("d1", "mem")) == 1
    with database.read() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM marks")).scalar() == 2
    with pytest.raises(DataError, match="normal, anomaly"):
        again.mark("d1", "cpu", "2024-01-01", "maybe", 1.0)
