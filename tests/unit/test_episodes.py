"""Episodes: runs of flags with short gaps merged, an onset at each start, the same whether a
series is labelled at once or batch by batch."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.alerts.episodes import episode_reports
from vigil.detection.episodes import GAP, EpisodeState, episode_table, label_episodes, with_episodes


def flags_at(n: int, *rows: int) -> np.ndarray:
    flags = np.zeros(n, dtype=bool)
    flags[list(rows)] = True
    return flags


def test_runs_apart_by_at_most_the_gap_are_one_episode():
    ids, onset, _ = label_episodes(flags_at(30, 2, 3, 3 + GAP + 1, 20, 20 + GAP + 2))
    assert ids[[2, 3, 3 + GAP + 1]].tolist() == [1, 1, 1]
    assert ids[20] == 2
    assert ids[20 + GAP + 2] == 3  # one more unflagged point: a new episode
    assert np.flatnonzero(onset).tolist() == [2, 20, 20 + GAP + 2]
    assert (ids[~flags_at(30, 2, 3, 3 + GAP + 1, 20, 20 + GAP + 2)] == 0).all()


def test_an_episode_across_batches_keeps_its_id_and_its_one_onset():
    flags = flags_at(40, 8, 9, 10, 12, 30)
    first_ids, first_onset, state = label_episodes(flags[:11])
    rest_ids, rest_onset, after = label_episodes(flags[11:], state)

    assert rest_ids[12 - 11] == first_ids[8] == 1
    assert not rest_onset[12 - 11]
    assert first_onset[8]
    assert after == EpisodeState(last_flag=30, last_id=2, rows=40)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    flags=st.lists(st.booleans(), min_size=1, max_size=200),
    cuts=st.lists(st.integers(0, 200), max_size=5),
)
def test_labelling_batch_by_batch_equals_labelling_at_once(flags, cuts):
    flags = np.array(flags)
    whole_ids, whole_onset, _ = label_episodes(flags)
    state, ids, onsets = None, [], []
    edges = sorted({0, len(flags), *(c for c in cuts if c < len(flags))})
    for start, end in itertools.pairwise(edges):
        part_ids, part_onset, state = label_episodes(flags[start:end], state)
        ids.append(part_ids)
        onsets.append(part_onset)
    assert np.concatenate(ids).tolist() == whole_ids.tolist()
    assert np.concatenate(onsets).tolist() == whole_onset.tolist()
    assert whole_onset.sum() == len(set(whole_ids[whole_ids > 0]))


def scored_with(flags: np.ndarray) -> pd.DataFrame:
    n = len(flags)
    frame = pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-03-01", periods=n, freq="10min"),
            "value": np.arange(n, dtype=float),
            "severity": np.linspace(0.5, 0.99, n),
            "is_anomaly": flags,
            "expected": np.zeros(n),
            "explanation": [f"reason {i}" if f else "" for i, f in enumerate(flags)],
        }
    )
    return with_episodes(frame)


def test_the_episode_table_gives_span_peak_and_reason():
    scored = scored_with(flags_at(50, 5, 6, 8, 30, 48))
    table = episode_table(scored)

    assert table["episode"].tolist() == [1, 2, 3]
    first = table.iloc[0]
    assert first["start"] == pd.Timestamp("2024-03-01 00:50")
    assert first["end"] == pd.Timestamp("2024-03-01 01:20")
    assert first["peak_time"] == first["end"]  # severity rises through the series here
    assert first["points"] == 3
    assert first["explanation"] == "reason 8"
    assert table["open"].tolist() == [False, False, True]  # the last may go on


def test_no_flag_means_an_empty_table_and_no_episode():
    scored = scored_with(np.zeros(20, dtype=bool))
    assert scored["episode"].isna().all()
    assert not scored["onset"].any()
    assert episode_table(scored).empty


def tied_peaks() -> pd.DataFrame:
    """Two episodes whose most severe points tie at severity 1 (where it saturates), and whose
    highest score is at a less severe point. In the first, the later of the tied points has the
    higher score; in the second, still open at the end, three points tie on severity and the
    last two of them on score too."""
    severity = [0.95, 1.0, 1.0, 0.5, 0, 0, 0, 0, 0, 0, 1.0, 1.0, 1.0, np.nan]
    score = [30.0, 12.0, 15.0, 4.0, 0, 0, 0, 0, 0, 0, 8.0, 9.0, 9.0, 50.0]
    flags = flags_at(14, 0, 1, 2, 3, 10, 11, 12, 13)
    n = len(flags)
    frame = pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-03-01", periods=n, freq="10min"),
            "value": np.arange(n, dtype=float) * 10,
            "score": score,
            "severity": severity,
            "is_anomaly": flags,
            "expected": np.zeros(n),
            "lower": np.full(n, -1.0),
            "upper": np.ones(n),
            "explanation": [f"reason {i}" if f else "" for i, f in enumerate(flags)],
        }
    )
    return with_episodes(frame)


def test_a_peak_is_the_most_severe_point_then_the_higher_score_then_the_earliest():
    scored = tied_peaks()

    table = episode_table(scored)

    times = scored["timestamp"]
    assert table["peak_time"].tolist() == [times[2], times[11]]
    assert table["peak_severity"].tolist() == [1.0, 1.0]
    assert table["peak_score"].tolist() == [15.0, 9.0]  # not the episode's highest score
    assert table["explanation"].tolist() == ["reason 2", "reason 11"]
    assert table["open"].tolist() == [False, True]


def test_alert_emails_name_the_peak_the_episodes_table_names():
    scored = tied_peaks()
    table = episode_table(scored)

    reports = episode_reports(scored)

    assert [report.peak.timestamp for report in reports] == table["peak_time"].tolist()
    assert [report.peak.severity for report in reports] == table["peak_severity"].tolist()
    assert [report.peak.explanation for report in reports] == table["explanation"].tolist()
