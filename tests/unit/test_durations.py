"""How long a run should take, and the words that count down to it."""

from __future__ import annotations

import pytest

from vigil.durations import (
    MINIMUM_SECONDS,
    PRIOR_SECONDS_PER_POINT,
    RECENT_RUNS,
    Timing,
    expected_seconds,
    seconds_per_point,
    time_left_words,
)
from vigil.storage.files import FileStore
from vigil.stores.results import ResultStore, RunSettings


def test_past_runs_of_the_detector_scale_to_the_length_of_this_series():
    past = [Timing(1_000, 2.0), Timing(2_000, 4.0), Timing(4_000, 40.0)]  # one slow outlier

    assert expected_seconds("auto", "batch", 10_000, past) == pytest.approx(20.0)


def test_only_the_most_recent_runs_count():
    old = [Timing(1_000, 100.0)] * 50
    recent = [Timing(1_000, 1.0)] * RECENT_RUNS

    assert seconds_per_point("stl", "batch", old + recent) == pytest.approx(1e-3)


def test_without_history_the_detectors_prior_is_used():
    assert expected_seconds("auto", "batch", 10_320) == pytest.approx(
        PRIOR_SECONDS_PER_POINT["auto"] * 10_320
    )
    assert expected_seconds("stl", "model", 10_320) < expected_seconds("stl", "batch", 10_320)
    assert expected_seconds("a detector added later", "batch", 10_000) > 0


def test_runs_of_no_points_or_no_time_are_not_evidence():
    unusable = [Timing(0, 3.0), Timing(500, 0.0)]

    assert seconds_per_point("zscore", "batch", unusable) == PRIOR_SECONDS_PER_POINT["zscore"]


def test_a_tiny_series_is_still_expected_to_take_a_moment():
    assert expected_seconds("zscore", "batch", 10) == MINIMUM_SECONDS
    assert expected_seconds("zscore", "batch", 0) == MINIMUM_SECONDS


@pytest.mark.parametrize(
    ("expected", "elapsed", "words"),
    [
        (23.0, 0.0, "about 23 s left"),
        (23.0, 10.4, "about 13 s left"),
        (23.0, 21.5, "almost done"),
        (23.0, 23.0, "taking longer than usual…"),
        (23.0, 400.0, "taking longer than usual…"),
        (300.0, 0.0, "about 5 min left"),
        (300.0, 215.0, "about 85 s left"),
    ],
)
def test_the_countdown_never_goes_below_zero(expected, elapsed, words):
    assert time_left_words(expected, elapsed) == words


def test_the_result_store_keeps_the_timings_of_recent_runs_per_detector_and_mode(
    tmp_path, spiky_frame
):
    from vigil.detection import run_detection

    results = ResultStore(FileStore(tmp_path))
    scored = run_detection(spiky_frame, "zscore")
    batch = RunSettings("d", "d.csv", "value", "zscore", {"threshold": 3.0}, {})
    online = RunSettings("d", "d.csv", "value", "zscore", {"threshold": 3.0}, {}, online=True)
    for seconds in range(1, RECENT_RUNS + 5):
        results.save(batch, scored, float(seconds))
    results.save(online, scored, 9.0)

    kept = results.recent_timings("zscore", "batch")
    assert len(kept) == RECENT_RUNS
    assert kept[-1] == Timing(len(spiky_frame), float(RECENT_RUNS + 4))
    assert results.recent_timings("zscore", "online") == [Timing(len(spiky_frame), 9.0)]
    assert results.recent_timings("stl", "batch") == []
