"""Live episodes and learning as stored by the scoring worker and summed up for the cards and
the API, in SQLite and Postgres."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import event

from tests.live.test_scoring import LATE, batch, worker
from tests.unit.test_episodes import tied_peaks
from vigil.detection import make_detector
from vigil.detection.episodes import episode_table
from vigil.detection.feedback import apply_feedback
from vigil.detection.synthetic import seasonal_series
from vigil.live.status import learning_left, status_of
from vigil.live.store import LiveStore
from vigil.storage.database import sqlite_url
from vigil.storage.opening import open_database
from vigil.web.live_api import _open_episode

STALE = pd.Timedelta(days=365 * 100)  # these series' points are old: never call them stale


@pytest.fixture
def frame() -> pd.DataFrame:
    """Two days of minute points; a spike at 2960 and a higher one two points later: one
    episode. The default detector learns for a day (1,440 points) and flags 2514 as well."""
    frame = seasonal_series(n=3000, seed=4)
    frame.loc[2960, "value"] += 12
    frame.loc[2962, "value"] += 20
    return frame


def add(store: LiveStore, name: str, part: pd.DataFrame) -> None:
    store.add(name, batch(part), late_window=LATE)


def row(store: LiveStore, name: str) -> pd.Series:
    (found,) = [r for _, r in store.summary().iterrows() if r["name"] == name]
    return found


def status(found: pd.Series) -> str:
    return status_of(found, now=float(found["received"]), stale_after=STALE)


def test_an_episode_going_on_across_batches_keeps_one_id_and_one_onset(database, frame):
    store = LiveStore(database)
    scoring = worker(store)
    add(store, "cpu", frame.iloc[:2961])  # ends with the first spike
    scoring.round()
    first = store.scores("cpu")
    assert first["episode"].notna().sum() == 2  # 2514 and 2960

    add(store, "cpu", frame.iloc[2961:2964])  # the second spike, then one normal point
    scoring.round()

    scores = store.scores("cpu")
    flagged = scores[scores["is_anomaly"]]
    assert flagged["timestamp"].tolist() == frame["timestamp"][[2514, 2960, 2962]].tolist()
    assert flagged["episode"].tolist() == [1, 2, 2]
    assert flagged["onset"].tolist() == [True, True, False]
    assert scores["episode"].isna().tolist() == (~scores["is_anomaly"]).tolist()
    going_on = row(store, "cpu")
    assert going_on["open"]
    assert going_on["open_since"] == frame["timestamp"][2960]
    assert going_on["open_points"] == 2
    assert going_on["open_peak_time"] == frame["timestamp"][2962]
    assert going_on["open_peak_value"] == pytest.approx(frame["value"][2962])
    assert "highest" in going_on["open_peak_explanation"]
    assert going_on["recent_episodes"] == 1
    assert going_on["recent_anomalies"] == 2
    assert status(going_on) == "anomaly"

    add(store, "cpu", frame.iloc[2964:])
    scoring.round()

    over = row(store, "cpu")
    assert not over["open"]
    assert pd.isna(over["open_since"])
    assert (over["recent_episodes"], over["recent_anomalies"]) == (1, 2)
    # exactly the episodes the whole series gets at once
    whole = make_detector("auto").score_online(frame)
    stored = store.scores("cpu")
    assert stored["episode"].tolist() == whole["episode"].tolist()
    assert stored["onset"].tolist() == whole["onset"].tolist()


def test_episodes_in_the_last_hour_are_counted_per_series_in_one_summary(database, frame):
    store = LiveStore(database)
    scoring = worker(store)
    add(store, "two", frame)
    quiet = frame.copy()
    quiet.loc[[2960, 2962], "value"] -= [12, 20]
    add(store, "quiet", quiet.iloc[:2990])
    apart = frame.copy()
    # a third spike 13 points after the others is a new episode only if it is far rarer than
    # their peak (within 100 points, twice its score); a +25 would not be flagged at all
    apart.loc[2975, "value"] += 60
    add(store, "apart", apart)
    scoring.round()

    summary = store.summary().set_index("name")

    assert summary["recent_episodes"].to_dict() == {"apart": 2, "quiet": 0, "two": 1}
    assert summary["recent_anomalies"].to_dict() == {"apart": 3, "quiet": 0, "two": 2}
    assert not summary["open"].any()
    assert summary["unscored"].tolist() == [0, 0, 0]
    assert summary.loc["quiet", "last_value"] == pytest.approx(quiet["value"][2989])
    assert [status(r) for _, r in summary.iterrows()] == ["anomaly", "ok", "anomaly"]
    assert store.summary(name="quiet")["name"].tolist() == ["quiet"]
    assert store.summary(name="nothing").empty


def test_a_new_series_learns_for_a_day_of_points_then_can_be_flagged(database, frame):
    store = LiveStore(database)
    scoring = worker(store)
    add(store, "new", frame.iloc[:500])
    scoring.round()

    learning = row(store, "new")
    assert status(learning) == "learning"
    assert learning["learning_left"] == 1440 - 500
    assert learning["learning_at"] == frame["timestamp"][499]
    assert learning["step_seconds"] == 60
    left = learning_left(learning)
    assert left.points == 940
    assert left.duration == pd.Timedelta(minutes=940)
    assert left.until == frame["timestamp"][499] + pd.Timedelta(minutes=940)

    add(store, "new", frame.iloc[500:1400])
    scoring.round()
    assert learning_left(row(store, "new")).points == 40

    add(store, "new", frame.iloc[1400:2000])
    scoring.round()
    learnt = row(store, "new")
    assert learnt["learning_left"] == 0
    assert learning_left(learnt) is None
    assert status(learnt) == "ok"


def test_new_settings_forget_the_learning_until_the_series_is_scored_again(database, frame):
    store = LiveStore(database)
    scoring = worker(store)
    add(store, "cpu", frame.iloc[:2000])
    scoring.round()
    assert row(store, "cpu")["learning_left"] == 0

    store.configure("cpu", detector="auto")
    assert pd.isna(row(store, "cpu")["learning_left"])  # not known: no stale promise
    store.configure("cpu", detector="zscore")
    scoring.round()

    rescored = row(store, "cpu")
    assert rescored["learning_left"] == 0
    assert learning_left(rescored) is None


def test_a_series_with_too_few_points_for_a_step_estimates_it_from_its_points(database):
    store = LiveStore(database)
    scoring = worker(store)
    add(store, "short", seasonal_series(n=10, step="5min"))
    scoring.round()
    add(store, "short", seasonal_series(n=12, step="5min").iloc[10:])
    scoring.round()

    found = row(store, "short")  # the scorer settles the step after 64 points
    assert found["step_seconds"] == 300  # meanwhile: the mean spacing of the points so far
    left = learning_left(found)
    assert left.points == 288  # at least 300 points for a series this short
    assert left.duration == pd.Timedelta(minutes=5 * 288)

    add(store, "alone", seasonal_series(n=1))
    scoring.round()
    alone = row(store, "alone")
    assert pd.isna(alone["step_seconds"])
    assert learning_left(alone).points == 299
    assert learning_left(alone).duration is None


def test_episodes_are_built_from_the_flags_people_left_standing(database, frame):
    """A point marked normal is in no episode; the next flag of its run opens it."""
    marks = pd.DataFrame(
        {"timestamp": [frame["timestamp"][2960]], "verdict": ["normal"], "value": [0.0]}
    )
    store = LiveStore(database)
    scoring = worker(store, adjust=lambda _series, scored: apply_feedback(scored, marks))
    add(store, "cpu", frame.iloc[:2961])
    scoring.round()
    add(store, "cpu", frame.iloc[2961:])
    scoring.round()

    scores = store.scores("cpu").set_index("timestamp")
    spikes = scores.loc[frame["timestamp"][[2960, 2962]]]
    assert spikes["is_anomaly"].tolist() == [False, True]
    assert pd.isna(spikes["episode"].iloc[0])
    assert spikes["onset"].tolist() == [False, True]
    assert row(store, "cpu")["recent_episodes"] == 1


def test_marking_a_stored_point_normal_takes_it_out_of_its_episode(database, frame):
    store = LiveStore(database)
    scoring = worker(store)
    add(store, "cpu", frame)
    scoring.round()

    assert store.mark_normal("cpu", frame["timestamp"][2960], "Marked as not an anomaly")
    assert store.mark_normal("cpu", frame["timestamp"][2962], "Marked as not an anomaly")

    scores = store.scores("cpu").set_index("timestamp")
    assert scores.loc[frame["timestamp"][[2960, 2962]], "episode"].isna().all()
    assert not scores["onset"][frame["timestamp"][2960]]
    assert row(store, "cpu")["recent_episodes"] == 0


def test_the_live_api_names_the_peak_the_episodes_table_names_when_severities_tie(database):
    """Severities tie at 1 in the open episode: the higher score decides, then the earlier."""
    scored = tied_peaks()
    store = LiveStore(database)
    add(store, "tied", scored)
    ids = store.unscored(store.last_id())["id"].to_numpy()
    store.write_scores(scored.set_axis(ids))
    peak = episode_table(store.scores("tied")).iloc[-1]
    assert peak["open"]
    assert peak["peak_time"] == scored["timestamp"][11]  # as test_episodes works it out

    episode = _open_episode(row(store, "tied"))

    assert episode["since"] == scored["timestamp"][10].isoformat() + "Z"
    assert episode["peak"] == {
        "timestamp": peak["peak_time"].isoformat() + "Z",
        "value": peak["value"],
        "expected": peak["expected"],
        "severity": peak["peak_severity"],
        "explanation": peak["explanation"],
    }


def scored_series(store: LiveStore, name: str, scored: pd.DataFrame) -> None:
    """Store `scored` (a ScoredFrame with episodes) as a live series scored just so."""
    first = store.last_id() + 1
    add(store, name, scored)
    ids = store.unscored(store.last_id())["id"]
    store.write_scores(scored.set_axis(ids[ids >= first].to_numpy()))


def summary_statements(store: LiveStore) -> list[str]:
    """The statements SQLite runs for one `summary()` on fresh connections."""
    statements: list[str] = []

    def trace(connection, _record) -> None:
        connection.set_trace_callback(statements.append)

    store.database.dispose()
    event.listen(store.database.engine, "connect", trace)
    try:
        store.summary()
    finally:
        event.remove(store.database.engine, "connect", trace)
        store.database.dispose()
    return [sql for sql in statements if sql.lstrip().upper().startswith(("SELECT", "WITH"))]


def test_the_live_summary_is_one_statement_whatever_the_number_of_series(tmp_path):
    """The Live page reads it every few seconds: no statement per series, nor per open one."""
    store = LiveStore(open_database(sqlite_url(tmp_path / "vigil.sqlite")))
    scored_series(store, "tied-0", tied_peaks())
    few = summary_statements(store)
    for number in range(1, 12):
        scored_series(store, f"tied-{number}", tied_peaks())
        quiet = tied_peaks().assign(is_anomaly=False, episode=pd.NA, onset=False)
        scored_series(store, f"quiet-{number}", quiet)

    many = summary_statements(store)

    assert len(few) == len(many) == 1
    summary = store.summary().set_index("name")
    assert summary["open"].sum() == 12
    assert (summary.loc[summary["open"], "open_points"] == 4).all()
    assert summary.filter(like="tied", axis=0)["open_peak_time"].nunique() == 1
