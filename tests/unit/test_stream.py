"""The live path: points scored batch by batch get exactly the whole-series online scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.test_online import QUICK, stream
from vigil import detection
from vigil.detection import DETECTORS, make_detector
from vigil.detection.errors import DataError
from vigil.detection.stream import OnlineScorer

NAMES = sorted(DETECTORS)


def in_batches(scorer: OnlineScorer, frame: pd.DataFrame, sizes: list[int]) -> pd.DataFrame:
    parts, start, turn = [], 0, 0
    while start < len(frame):
        size = sizes[turn % len(sizes)]
        parts.append(scorer.update(frame.iloc[start : start + size]))
        start, turn = start + size, turn + 1
    return pd.concat(parts)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=3, deadline=None, derandomize=True)
@given(sizes=st.lists(st.integers(20, 250), min_size=1, max_size=6))
def test_batches_get_exactly_the_whole_series_scores(name, sizes):
    frame = stream(seed=3, spike_at=900)
    whole = make_detector(name, QUICK.get(name)).score_online(frame)
    scorer = OnlineScorer(make_detector(name, QUICK.get(name)))

    pd.testing.assert_frame_equal(in_batches(scorer, frame, sizes), whole, rtol=1e-9)


@pytest.fixture
def short_memory(monkeypatch):
    """Look-backs short enough that six weeks of 15-minute points overflow the history."""
    monkeypatch.setattr(detection.stl, "PERIOD_HISTORY", 2000)
    monkeypatch.setattr(detection.stl, "SCALE_HISTORY", 800)
    monkeypatch.setattr(detection.change, "SCALE_HISTORY", 500)
    monkeypatch.setattr(detection.ensemble, "SCALE_HISTORY", 500)
    monkeypatch.setattr(detection.ensemble, "MAX_BEFORE", 200)
    monkeypatch.setattr(detection.auto, "HISTORY", 1000)
    # the daily cycle of 15-minute points only: three days and a block (the weekly cycle's
    # three weeks would not overflow; tests/unit/test_auto.py streams a weekly series)
    monkeypatch.setattr(detection.cycles, "MAX_WEEK_ROWS", 0)
    monkeypatch.setattr(detection.auto, "CYCLE_CONTEXT", 3 * 96 + detection.rarity.BLOCK)
    monkeypatch.setattr(detection.calibration, "HISTORY", 1000)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("zscore", {}),
        ("stl", {}),
        ("iforest", {"history": 300, "n_estimators": 30}),
        ("auto", {}),
    ],
)
def test_a_long_stream_keeps_bounded_history_and_the_same_scores(short_memory, name, params):
    frame = stream(n=4032, seed=3, spike_at=3500)
    whole = make_detector(name, params).score_online(frame)
    scorer = OnlineScorer(make_detector(name, params))

    live = in_batches(scorer, frame, [97, 250, 13])

    assert scorer.history_rows <= scorer.context < len(frame)
    # settled: the last batch read a fraction of the history kept (the z-score's is short,
    # and `auto` ranks each point in all of its history)
    if name not in ("zscore", "auto"):
        assert scorer.last_context < scorer.history_rows / 2
    pd.testing.assert_frame_equal(live, whole, rtol=1e-9)
    assert live.loc[frame["timestamp"] == pd.Timestamp("2024-02-06 11:00"), "is_anomaly"].all()


def test_a_gap_between_batches_is_filled_as_in_the_whole_series():
    frame = stream(seed=5, spike_at=900)
    before_gap = frame.index[frame["timestamp"] < pd.Timestamp("2024-01-06 05:00")][-1]
    whole = make_detector("stl").score_online(frame)
    scorer = OnlineScorer(make_detector("stl"))
    live = pd.concat(
        [scorer.update(frame.iloc[: before_gap + 1]), scorer.update(frame.iloc[before_gap + 1 :])]
    )
    pd.testing.assert_frame_equal(live, whole, rtol=1e-9)


def test_points_out_of_time_order_are_refused_and_nothing_is_lost():
    frame = stream(seed=5, spike_at=None)
    scorer = OnlineScorer(make_detector("zscore"))
    first = scorer.update(frame.iloc[:300])
    with pytest.raises(DataError, match="time order"):
        scorer.update(frame.iloc[250:260])
    rest = scorer.update(frame.iloc[300:])
    whole = make_detector("zscore").score_online(frame)
    pd.testing.assert_frame_equal(pd.concat([first, rest]), whole, rtol=1e-9)
    assert scorer.update(frame.iloc[0:0]).empty
    assert np.isfinite(rest.loc[rest["value"].notna(), "severity"]).all()
