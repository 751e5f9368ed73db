"""Live charts stay light at any window: every point when they are few, else each bucket's
lowest and highest value from the minutes the scorer sums, with every flagged point kept;
the sums agree with the points after corrections, deletions and scoring again."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from tests.live.test_scoring import LATE
from vigil.live.points import read_batch
from vigil.live.rollups import MINUTE
from vigil.live.store import LiveStore

START = pd.Timestamp("2026-11-01")
WEEK = pd.Timedelta(days=7)


def week(step_seconds: int = 30, spikes: tuple[int, ...] = (3_000, 10_000, 17_000)):
    """A week of points `step_seconds` apart (20,160 by default), scored: a daily wave, and
    spikes (flagged) at the given positions."""
    count = int(WEEK.total_seconds()) // step_seconds
    times = START + pd.to_timedelta(np.arange(count) * step_seconds, unit="s")
    wave = 50 + 10 * np.sin(2 * np.pi * np.arange(count) * step_seconds / 86_400)
    values = wave + np.random.default_rng(1).normal(0, 0.5, count)
    flagged = np.zeros(count, dtype=bool)
    flagged[list(spikes)] = True
    values[flagged] += 80
    return pd.DataFrame(
        {
            "timestamp": times,
            "value": values,
            "score": np.where(flagged, 9.0, 0.5),
            "severity": np.where(flagged, 0.95, 0.1),
            "is_anomaly": flagged,
            "expected": wave,
            "lower": wave - 3,
            "upper": wave + 3,
            "explanation": np.where(flagged, "far above the expected band", ""),
            "episode": pd.array(np.where(flagged, np.arange(count), -1)).astype("Int64"),
            "onset": flagged,
        }
    ).assign(episode=lambda f: f["episode"].where(f["is_anomaly"]))


def store_points(store: LiveStore, name: str, frame: pd.DataFrame) -> np.ndarray:
    """Post the points of `frame` (10,000 a request, as the API takes them); their ids."""
    first = store.last_id() + 1
    for start in range(0, len(frame), 10_000):
        part = frame.iloc[start : start + 10_000]
        body = {
            "points": [
                {"timestamp": t.isoformat(), "value": float(v)}
                for t, v in zip(part["timestamp"], part["value"], strict=True)
            ]
        }
        store.add(name, read_batch(body), late_window=LATE)
    ids = store.unscored(store.last_id())["id"].to_numpy()
    return ids[ids >= first]


def score(store: LiveStore, scored: pd.DataFrame, ids: np.ndarray, chunk: int = 25_000) -> None:
    """Write the scores of `scored` for the points `ids`, in chunks as the scorer does."""
    for start in range(0, len(scored), chunk):
        part = scored.iloc[start : start + chunk]
        store.write_scores(part.set_axis(ids[start : start + chunk]))


@pytest.fixture
def weekly(database):
    store = LiveStore(database)
    scored = week()
    score(store, scored, store_points(store, "cpu", scored))
    return store, scored


def minutes_from_points(store: LiveStore, name: str) -> pd.DataFrame:
    """Each whole minute's sums, made afresh from the stored points."""
    with store.database.read() as connection:
        rows = connection.execute(
            text(
                f"SELECT ts / {MINUTE}, COUNT(*), MIN(value), MAX(value), MAX(severity) "
                "FROM points JOIN series ON series.id = points.series "
                f"WHERE series.name = :name AND ts / {MINUTE} < series.rolled_until "
                f"GROUP BY ts / {MINUTE} ORDER BY 1"
            ),
            {"name": name},
        ).all()
    return pd.DataFrame(rows, columns=["bucket", "points", "low", "high", "severity"])


def summed_minutes(store: LiveStore, name: str) -> pd.DataFrame:
    with store.database.read() as connection:
        rows = connection.execute(
            text(
                "SELECT bucket, points, low, high, severity FROM point_rollups "
                "JOIN series ON series.id = point_rollups.series "
                "WHERE series.name = :name ORDER BY bucket"
            ),
            {"name": name},
        ).all()
    return pd.DataFrame(rows, columns=["bucket", "points", "low", "high", "severity"])


def test_a_week_is_drawn_in_a_thousand_buckets_keeping_every_spike_and_flag(weekly):
    store, scored = weekly

    chart = store.chart("cpu", start=START - pd.Timedelta(seconds=1), buckets=1_000)

    assert chart.total == len(scored) == 20_160
    assert chart.bucket is not None
    assert chart.bucket >= pd.Timedelta(minutes=1)
    assert len(chart.points) <= 2_000
    # the line through each bucket's lowest and highest value reaches every spike's height
    spikes = scored.loc[scored["is_anomaly"], "value"].to_numpy()
    assert np.isin(spikes, chart.points["value"].to_numpy()).all()
    assert chart.points["value"].max() == scored["value"].max()
    assert chart.points["value"].min() == scored["value"].min()
    # every flagged point as it is: its time, value and reason
    flagged = scored.loc[scored["is_anomaly"], ["timestamp", "value", "explanation"]]
    pd.testing.assert_frame_equal(
        chart.flagged[["timestamp", "value", "explanation"]],
        flagged.reset_index(drop=True),
        check_dtype=False,
    )
    assert chart.end == scored["timestamp"].iloc[-1]
    assert chart.points["points"].iloc[::2].sum() == len(scored)


def test_a_short_span_is_drawn_point_by_point(weekly):
    store, scored = weekly
    start = scored["timestamp"][10_000] - pd.Timedelta(minutes=30)

    chart = store.chart("cpu", start=start, end=start + pd.Timedelta(hours=1), buckets=1_000)

    assert chart.bucket is None
    inside = scored[
        (scored["timestamp"] > start) & (scored["timestamp"] <= start + pd.Timedelta(hours=1))
    ]
    assert chart.points["timestamp"].tolist() == inside["timestamp"].tolist()
    assert chart.points["is_anomaly"].sum() == 1


def test_spans_between_a_thousand_points_and_minutes_are_summed_from_the_points(weekly):
    store, scored = weekly
    start = scored["timestamp"][10_000] - pd.Timedelta(hours=6)

    chart = store.chart("cpu", start=start, end=start + pd.Timedelta(hours=12), buckets=1_000)

    assert chart.total == 1_440
    assert chart.bucket == pd.Timedelta(seconds=43.2)
    assert scored["value"][10_000] in chart.points["value"].to_numpy()
    assert len(chart.flagged) == 1


def test_the_minutes_summed_agree_with_the_points_after_corrections_and_deletions(weekly):
    store, scored = weekly
    pd.testing.assert_frame_equal(summed_minutes(store, "cpu"), minutes_from_points(store, "cpu"))
    everything = START - pd.Timedelta(seconds=1)

    # a point sent again with another value is stored anew; once scored, its minute agrees
    corrected = scored.iloc[[-50]].assign(value=500.0)
    score(store, corrected, store_points(store, "cpu", corrected))

    assert store.chart("cpu", start=everything).points["value"].max() == 500.0
    pd.testing.assert_frame_equal(summed_minutes(store, "cpu"), minutes_from_points(store, "cpu"))

    # points deleted: no chart draws them, even before the points left are scored again
    store.delete_points("cpu", START + pd.Timedelta(days=2), START + pd.Timedelta(days=3))
    chart = store.chart("cpu", start=everything)
    drawn = chart.points["timestamp"]

    assert chart.total == len(scored) - 2_880
    assert chart.points["points"].iloc[::2].sum() == chart.total
    assert not (
        (drawn >= START + pd.Timedelta(days=2)) & (drawn < START + pd.Timedelta(days=3))
    ).any()

    # scored again, as the scorer does after a deletion: every minute agrees again
    with store.database.read() as connection:
        left = connection.execute(text("SELECT id FROM points ORDER BY ts")).scalars().all()
    score(store, store.scores("cpu"), np.array(left))
    pd.testing.assert_frame_equal(summed_minutes(store, "cpu"), minutes_from_points(store, "cpu"))


def test_points_waiting_for_a_score_are_not_drawn(database):
    store = LiveStore(database)
    scored = week()
    ids = store_points(store, "cpu", scored)
    score(store, scored.iloc[:15_000], ids[:15_000])

    chart = store.chart("cpu", start=START - pd.Timedelta(seconds=1), buckets=1_000)

    assert chart.total == 15_000
    assert chart.end == scored["timestamp"][14_999]
    assert chart.points["timestamp"].max() <= chart.end


def test_points_scored_a_few_at_a_time_sum_as_they_would_all_at_once(database):
    """As a stream is scored: batches of 13 points (a minute holds 2), each added to the sums
    of its minutes; then a stretch scored again (as after a late point) is summed anew."""
    store = LiveStore(database)
    day = week().iloc[:1_440]
    ids = store_points(store, "cpu", day)

    score(store, day, ids, chunk=13)

    pd.testing.assert_frame_equal(summed_minutes(store, "cpu"), minutes_from_points(store, "cpu"))
    assert summed_minutes(store, "cpu")["points"].sum() == 1_440

    again = day.iloc[500:900].assign(severity=0.5)
    score(store, again, ids[500:900])

    pd.testing.assert_frame_equal(summed_minutes(store, "cpu"), minutes_from_points(store, "cpu"))
    assert summed_minutes(store, "cpu")["severity"].max() == 0.5
