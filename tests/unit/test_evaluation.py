"""Evaluation metrics against cases worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.detection import run_detection
from vigil.detection.episodes import GAP, with_episodes
from vigil.detection.errors import DataError
from vigil.detection.evaluation import (
    EpisodeCounts,
    alert_count,
    budget_threshold,
    detections,
    episode_spans,
    event_scores,
    false_episodes,
    per_series_day,
    point_scores,
    precision_recall_curve,
    runs,
)
from vigil.detection.judge import judge
from vigil.detection.labels import labels_from_windows
from vigil.detection.synthetic import ANOMALY_KINDS, labelled_series

#            0  1  2  3  4  5  6  7  8  9
LABELS = [0, 1, 1, 1, 0, 0, 0, 1, 0, 0]  # two events: rows 1-3 and row 7
FLAGS = [0, 0, 1, 0, 0, 1, 1, 0, 0, 1]  # detections: row 2, rows 5-6, row 9


def test_runs_are_first_and_last_rows_included():
    assert runs(LABELS) == [(1, 3), (7, 7)]
    assert runs(FLAGS) == [(2, 2), (5, 6), (9, 9)]
    assert runs([1, 1]) == [(0, 1)]
    assert runs([]) == []


def test_point_scores_count_rows():
    scores = point_scores(LABELS, FLAGS)
    # flagged and labelled: row 2; flagged only: 5, 6, 9; labelled only: 1, 3, 7
    assert (scores.true_positives, scores.false_positives, scores.false_negatives) == (1, 3, 3)
    assert scores.precision == pytest.approx(1 / 4)
    assert scores.recall == pytest.approx(1 / 4)
    assert scores.f1 == pytest.approx(1 / 4)


def test_event_scores_count_windows_and_stray_detections():
    scores = event_scores(LABELS, FLAGS)
    # window 1-3 found (row 2), window 7 missed; detections 5-6 and 9 touch no window
    assert (scores.true_positives, scores.false_positives, scores.false_negatives) == (1, 2, 1)
    assert scores.precision == pytest.approx(1 / 3)
    assert scores.recall == pytest.approx(1 / 2)
    assert scores.f1 == pytest.approx(2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2))


def test_flagging_nothing_scores_zero_not_an_error():
    scores = point_scores(LABELS, [0] * 10)
    assert (scores.precision, scores.recall, scores.f1) == (0.0, 0.0, 0.0)


def test_a_perfect_detector_scores_one():
    assert event_scores(LABELS, LABELS).f1 == 1.0
    assert point_scores(LABELS, LABELS).f1 == 1.0


def test_labels_other_than_zero_and_one_are_refused():
    with pytest.raises(DataError, match="0/1"):
        point_scores([0, 2, 1], [0, 1, 1])


def test_labels_and_flags_of_other_lengths_are_refused():
    with pytest.raises(DataError, match="do not line up"):
        event_scores([0, 1], [0, 1, 1])


def test_precision_recall_curve_walks_the_threshold():
    labels = [0, 1, 0, 1]
    severity = [0.2, 0.9, 0.6, np.nan]
    curve = precision_recall_curve(labels, severity, steps=11).set_index("threshold")
    assert curve.loc[0.0, "flagged"] == 3  # the missing severity never flags
    assert curve.loc[0.0, "precision"] == pytest.approx(1 / 3)
    assert curve.loc[0.0, "recall"] == pytest.approx(1 / 2)
    assert curve.loc[0.7, "precision"] == 1.0
    assert curve.loc[0.7, "recall"] == pytest.approx(1 / 2)
    assert curve.loc[1.0, "flagged"] == 0


def test_event_wise_curve_counts_windows():
    curve = precision_recall_curve([0, 1, 1, 0], [0.1, 0.3, 0.8, 0.1], events=True, steps=11)
    at_half = curve.set_index("threshold").loc[0.5]
    assert (at_half["precision"], at_half["recall"]) == (1.0, 1.0)


def test_budget_threshold_keeps_alerts_within_the_budget():
    timestamps = pd.date_range("2024-01-01", periods=4 * 24 + 1, freq="h")  # spans four days
    severity = np.zeros(len(timestamps))
    severity[[5, 30, 31, 60, 80]] = [0.95, 0.9, 0.85, 0.8, 0.75]
    # half an alert a day over four days allows two alerts; rows 30 and 31 are one alert
    threshold = budget_threshold(timestamps, severity, per_day=0.5)
    assert alert_count(severity >= threshold) == 2
    assert threshold == pytest.approx(0.801, abs=1e-3)
    # three a day would allow twelve: no threshold comes near, the budget never binds
    assert budget_threshold(timestamps, severity, per_day=3) is None
    assert (severity >= budget_threshold(timestamps, severity, per_day=0)).sum() == 0


def test_a_budget_binds_before_the_threshold_that_flags_every_row():
    timestamps = pd.date_range("2024-01-01", periods=4 * 24 + 1, freq="h")
    severity = np.linspace(0.0, 0.5, len(timestamps))
    severity[::2] = 0.0  # at any threshold above 0, every other row: many short runs
    severity[[5, 30]] = [0.95, 0.9]
    threshold = budget_threshold(timestamps, severity, per_day=1)  # four alerts in four days
    assert threshold is not None
    assert alert_count(severity >= threshold) <= 4
    assert threshold > 0.4


def test_alerts_are_runs_of_flags():
    assert alert_count(np.array([1, 1, 0, 1, 0, 0, 1, 1], dtype=bool)) == 3
    assert alert_count(np.array([], dtype=bool)) == 0


def scored_with_flags(flagged_rows: list[int], *, rows: int = 49, step: str = "h") -> pd.DataFrame:
    """A ScoredFrame-like frame (timestamps, flags, episodes) with these rows flagged."""
    flags = np.zeros(rows, dtype=bool)
    flags[flagged_rows] = True
    frame = pd.DataFrame(
        {"timestamp": pd.date_range("2024-01-01", periods=rows, freq=step), "is_anomaly": flags}
    )
    return with_episodes(frame)


def test_runs_of_flags_a_few_rows_apart_are_one_episode():
    # rows 2-3 and 7 are GAP (3) rows apart: one episode; row 12 is four rows further: another
    scored = scored_with_flags([2, 3, 7, 12])
    nothing_labelled = np.zeros(len(scored), dtype=bool)
    nothing_labelled[40] = True

    counts = false_episodes(nothing_labelled, scored["episode"], scored["timestamp"])

    assert GAP == 3
    assert (counts.episodes, counts.false) == (2, 2)
    assert detections(scored["is_anomaly"], gap=GAP) == [(2, 7), (12, 12)]
    assert runs(scored["is_anomaly"]) == [(2, 3), (7, 7), (12, 12)]
    assert alert_count(scored["is_anomaly"].to_numpy(), gap=GAP) == 2


@settings(max_examples=80, deadline=None, derandomize=True)
@given(flags=st.lists(st.booleans(), max_size=120), gap=st.integers(-2, 6))
def test_detections_alerts_and_episodes_merge_flags_the_same_way(flags, gap):
    """What Evaluate counts as detections and alerts are the episodes users see and alerts
    fire on: at GAP, the spans of detection's own episode labels."""
    flags = np.array(flags, dtype=bool)
    merged = detections(flags, gap=gap)

    assert alert_count(flags, gap=gap) == len(merged)
    assert merged == detections(flags, gap=max(gap, 0))  # a gap below 0 is no gap
    if gap <= 0:
        assert merged == runs(flags)
    if gap == GAP:
        scored = scored_with_flags(np.flatnonzero(flags).tolist(), rows=len(flags))
        assert merged == episode_spans(scored["episode"])


def test_an_episode_that_touches_a_labelled_window_is_true_however_long_it_runs():
    scored = scored_with_flags([*range(8, 20), 30])  # 8-19 overlaps the window; 30 does not
    window = pd.DataFrame(
        {"start": [pd.Timestamp("2024-01-01 18:00")], "end": [pd.Timestamp("2024-01-01 22:00")]}
    )
    labels = labels_from_windows(scored["timestamp"], window).to_numpy()

    counts = false_episodes(labels, scored["episode"], scored["timestamp"])

    assert (counts.episodes, counts.false) == (2, 1)  # only the flag at row 30 is false


def test_a_labelled_point_inside_an_episode_makes_it_true_even_in_a_merged_gap():
    scored = scored_with_flags([10, 14, 30])  # 10 and 14 merge into one episode over 10-14
    labels = np.zeros(len(scored), dtype=bool)
    labels[12] = True  # unflagged, but within that episode's span

    counts = false_episodes(labels, scored["episode"], scored["timestamp"])

    assert (counts.episodes, counts.false) == (2, 1)
    # event-wise scoring at the same gap counts the same false alarm and finds the point
    scores = event_scores(labels, scored["is_anomaly"], gap=GAP)
    assert (scores.true_positives, scores.false_positives) == (1, 1)
    assert event_scores(labels, scored["is_anomaly"]).false_positives == 3  # runs, not episodes


def test_false_episodes_a_day_divide_by_the_series_span():
    two_days = scored_with_flags([5, 20, 40], rows=49)  # hourly: 48 hours from first to last
    labels = np.zeros(49, dtype=bool)
    labels[20] = True

    counts = false_episodes(labels, two_days["episode"], two_days["timestamp"])

    assert counts == EpisodeCounts(episodes=3, false=2, days=2.0)
    assert counts.false_per_day == pytest.approx(1.0)
    assert counts.episodes_per_day == pytest.approx(1.5)
    # half a day of ten-minute points with one false episode: two a day
    half_day = scored_with_flags([3], rows=73, step="10min")
    short = false_episodes(np.eye(73, dtype=bool)[60], half_day["episode"], half_day["timestamp"])
    assert short.false_per_day == pytest.approx(2.0)


def test_several_series_give_false_episodes_per_series_day():
    counts = per_series_day([EpisodeCounts(4, 3, 2.0), EpisodeCounts(1, 0, 4.0)])
    assert counts == EpisodeCounts(episodes=5, false=3, days=6.0)
    assert counts.false_per_day == pytest.approx(0.5)  # not the mean of 1.5 and 0 a day


def test_no_episode_is_no_false_alarm_and_a_series_with_no_span_has_no_rate():
    scored = scored_with_flags([], rows=10)
    counts = false_episodes(np.eye(10, dtype=bool)[4], scored["episode"], scored["timestamp"])
    assert (counts.episodes, counts.false, counts.false_per_day) == (0, 0, 0.0)
    one_point = scored_with_flags([0], rows=1)
    assert np.isnan(false_episodes([0], one_point["episode"], one_point["timestamp"]).false_per_day)


def test_false_episodes_refuse_labels_of_another_length():
    scored = scored_with_flags([3], rows=10)
    with pytest.raises(DataError, match="do not line up"):
        false_episodes([0, 1], scored["episode"], scored["timestamp"])


def test_judge_counts_false_episodes_beside_precision_and_recall():
    series = labelled_series("spike", seed=5)
    frame, labels = series[["timestamp", "value"]], series["label"].to_numpy(dtype=bool)

    (judged,) = judge(frame, labels, ["zscore"])

    scored = run_detection(frame, "zscore")
    expected = false_episodes(labels, scored["episode"], scored["timestamp"])
    assert judged.episodes == expected
    assert judged.event.false_positives == expected.false
    assert judged.false_per_day == pytest.approx(expected.false / expected.days)
    assert expected.days == pytest.approx(14, abs=0.1)


def test_a_detector_is_judged_on_planted_spikes():
    from vigil.detection.synthetic import seasonal_series

    series = seasonal_series(n=144 * 10, step="10min", seed=9)
    labels = np.zeros(len(series), dtype=bool)
    for position in (200, 700, 1200):
        series.loc[position, "value"] += 9
        labels[position] = True

    scored = run_detection(series, "stl")

    scores = event_scores(labels, scored["is_anomaly"])
    assert scores.recall == 1.0
    assert scores.precision >= 0.5


@pytest.mark.parametrize("kind", ANOMALY_KINDS)
def test_labelled_series_are_reproducible_and_labelled(kind):
    first = labelled_series(kind, seed=3)
    again = labelled_series(kind, seed=3)
    pd.testing.assert_frame_equal(first, again)
    assert first["label"].isin([0, 1]).all()
    assert first["label"].sum() >= 1
    assert not first.loc[first["value"].isna(), "label"].any()
    assert not labelled_series(kind, seed=4)["value"].equals(first["value"])


def test_a_missing_stretch_is_a_gap_not_an_anomaly():
    series = labelled_series("missing_stretch", seed=1)
    assert series["value"].isna().sum() == 32  # a third of a day of 15-minute steps
    assert series["label"].sum() == 1


def test_a_seasonal_break_is_found_by_the_seasonal_detector_not_the_rolling_one():
    series = labelled_series("seasonal_break", seed=2)
    frame = series[["timestamp", "value"]]
    found = {
        name: event_scores(series["label"], run_detection(frame, name)["is_anomaly"]).recall
        for name in ("zscore", "stl")
    }
    assert found["stl"] == 1.0
    assert found["zscore"] == 0.0  # the flattened day stays inside the rolling range
