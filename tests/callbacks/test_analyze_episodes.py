"""The Analyze page's episodes: the table, the summary's counts and learning period, the chart's
shaded spans, choosing an episode, downloads. Callbacks called as plain functions."""

from __future__ import annotations

import base64
import io
import itertools

import numpy as np
import pandas as pd
import pytest
from dash._callback_context import context_value
from dash._utils import AttributeDict

from tests.unit.test_episodes import tied_peaks
from vigil.components.episodes import (
    MAX_SHADED,
    episode_rows,
    learning_period,
    learning_words,
    severity_text,
    shaded_spans,
)
from vigil.detection.episodes import episode_table
from vigil.detection.synthetic import demo_frame, seasonal_series
from vigil.services import dataset_store, feedback_store, result_store

STL_THRESHOLD = [{"type": "analyze-param", "detector": "stl", "name": "threshold"}]
ZSCORE_THRESHOLD = [{"type": "analyze-param", "detector": "zscore", "name": "threshold"}]


def triggered(prop_id: str, value=1):
    """Run a callback as if `prop_id` had changed (what dash.ctx reads)."""
    context_value.set(AttributeDict(triggered_inputs=[{"prop_id": prop_id, "value": value}]))


@pytest.fixture
def dataset(dash_app) -> str:
    """The demo data under other series names: a data set of its own, so marks other tests
    put on the demo's series do not reach these tests."""
    frame = demo_frame().rename(columns=lambda c: c if c == "timestamp" else f"{c}_ep")
    info, _ = dataset_store().add(frame.to_csv(index=False).encode(), "episodes-demo.csv")
    return info.id


def run(dataset: str, series: str, detector: str, *, online=False, values=(), ids=()) -> str:
    from vigil.pages.analyze import run_analysis

    key, status = run_analysis(
        lambda _t: None, 1, series, detector, online, dataset, list(values), list(ids)
    )
    assert status is None
    return key


def seen(key: str) -> pd.DataFrame:
    """The result as the page shows it (marks applied, episodes labelled)."""
    from vigil.pages.analyze import _load

    return _load(key)[0]


def test_the_summary_counts_episodes_and_their_flagged_points(dataset):
    from vigil.pages.analyze import show_result

    key = run(dataset, "latency_ms_ep", "stl")
    scored = seen(key)
    episodes, points = scored["episode"].nunique(), int(scored["is_anomaly"].sum())
    assert 1 < episodes < points  # some episode has several points

    _, rows, summary = show_result(key, 0.0)

    text = str(summary)
    assert f"'{episodes} anomaly episodes'" in text
    assert f"({points} flagged points) in 2,652 points of latency_ms_ep" in text
    assert len(rows) == points  # the points grid still lists every flagged point


def test_the_summary_says_which_first_points_the_detector_learns_from(dataset):
    from vigil.pages.analyze import show_result

    key = run(dataset, "latency_ms_ep", "auto")
    scored = seen(key)
    learning = int(scored["severity"].notna().to_numpy().argmax())
    assert learning >= 100  # auto does not judge a new series' first points
    until = scored["timestamp"].iloc[learning]

    _, _, summary = show_result(key, 0.0)

    text = str(summary)
    assert f"Learning: the first {learning:,} points (" in text
    assert f"until {until:%Y-%m-%d %H:%M} UTC) are not judged, so nothing before then is" in text
    assert not scored["is_anomaly"].iloc[:learning].any()


def test_an_online_run_says_so_and_how_long_its_warm_up_is(dataset):
    from vigil.pages.analyze import show_result

    key = run(dataset, "requests_per_min_ep", "stl", online=True)
    warmup = result_store().settings(key)["warmup_rows"]
    assert warmup > 0

    _, _, summary = show_result(key, 0.0)

    assert "; scored online" in str(summary)
    assert f"Learning: the first {warmup:,} points (" in str(summary)


def test_the_episodes_table_has_one_row_per_episode_most_severe_first(dataset):
    from vigil.pages.analyze import show_episodes

    key = run(dataset, "requests_per_min_ep", "stl", online=True)
    scored = seen(key)
    table = episode_table(scored)

    rows, note, title, show_all = show_episodes(key, 0.0)

    assert len(rows) == len(table) > 1
    assert "Most severe first; times in UTC. Click an episode" in note
    assert title.startswith("Flagged points")
    assert show_all == "d-none"
    assert [row["order"] for row in rows] == list(range(len(rows), 0, -1))
    for better, worse in itertools.pairwise(rows):
        assert better["severity"] >= worse["severity"]
        if better["severity"] == worse["severity"]:  # a tie near 1: the score still orders
            assert better["score"] >= worse["score"]
    assert sum(row["points"] for row in rows) == int(scored["is_anomaly"].sum())
    longest = max(rows, key=lambda row: row["points"])
    episode = table.set_index("episode").loc[longest["episode"]]
    assert longest["span"].startswith(f"{episode['start']:%Y-%m-%d %H:%M} → ")
    assert longest["duration"].endswith(f", {longest['points']} points")
    assert longest["peak_time"] == f"{episode['peak_time']:%Y-%m-%d %H:%M}"
    assert " vs " in longest["value_text"]
    assert longest["explanation"] == episode["explanation"]
    # as read on screen: in order, and none under 1 reads as 1 (near 1, as many decimals as
    # it takes: see test_severities_near_one_keep_enough_decimals_to_differ)
    shown = [float(row["severity_text"]) for row in rows]
    assert shown == sorted(shown, reverse=True)
    assert all(row["severity_text"] != "1" for row in rows if row["severity"] < 1)


def test_episodes_whose_peaks_tie_at_severity_1_are_ordered_by_the_peaks_score():
    """The Score column is the peak's (as the Peak column's time and Value are), not the
    highest score elsewhere in the episode, and it orders episodes whose severities tie."""
    scored = tied_peaks()  # peaks: rows 2 (score 15) and 11 (score 9); row 13 scores 50

    rows = episode_rows(episode_table(scored))

    assert [row["episode"] for row in rows] == [1, 2]
    assert [row["severity"] for row in rows] == [1.0, 1.0]
    assert [row["score"] for row in rows] == [15.0, 9.0]
    assert [row["peak_time"] for row in rows] == [
        f"{scored['timestamp'][2]:%Y-%m-%d %H:%M}",
        f"{scored['timestamp'][11]:%Y-%m-%d %H:%M}",
    ]


def test_choosing_an_episode_shows_its_points_and_zooms_the_chart_to_it(dataset):
    from vigil.pages.analyze import choose_episode, show_all_points, show_episodes

    key = run(dataset, "requests_per_min_ep", "stl", online=True)
    rows, *_ = show_episodes(key, 0.0)
    chosen = max(rows, key=lambda row: row["points"])
    assert chosen["points"] > 1

    triggered("analyze-episodes.cellClicked")
    points, title, show_all, patch = choose_episode(
        {"rowId": chosen["id"], "rowIndex": 5, "colId": "start"}, key, 0.0
    )

    assert len(points) == chosen["points"]
    assert {point["episode"] for point in points} == {chosen["episode"]}
    assert title == f"The {chosen['points']} flagged points of the episode {chosen['span']} UTC"
    assert show_all == ""  # the way back to every point is shown
    ranges = [
        op["params"]["value"]
        for op in patch.to_plotly_json()["operations"]
        if op["location"] == ["layout", "xaxis", "range"]
    ]
    low, high = (pd.Timestamp(t) for t in ranges[0])
    assert low < pd.Timestamp(chosen["start"]) <= pd.Timestamp(chosen["end"]) < high
    assert high - low < pd.Timedelta(days=7)  # zoomed in, not the whole four weeks

    every, title, show_all = show_all_points(1, key, 0.0)
    assert len(every) == int(seen(key)["is_anomaly"].sum())
    assert title.startswith("Flagged points")
    assert show_all == "d-none"


def test_a_series_without_anomalies_says_so_plainly(dataset):
    from vigil.pages.analyze import show_episodes, show_result

    key = run(dataset, "temperature_c_ep", "zscore", values=[50], ids=ZSCORE_THRESHOLD)

    figure, points, summary = show_result(key, 0.0)
    rows, note, _, _ = show_episodes(key, 0.0)

    assert rows == []
    assert points == []
    assert "'No anomalies'" in str(summary)
    assert note == "No anomalies: no point of temperature_c_ep reached the detector's threshold."
    assert not figure.layout.shapes


def test_a_severity_floor_above_every_episode_says_how_many_it_hides(dataset):
    from vigil.pages.analyze import show_episodes

    key = run(dataset, "latency_ms_ep", "stl")
    table = episode_table(seen(key))
    floor = float(np.nextafter(table["peak_severity"].max(), 2))

    rows, note, _, _ = show_episodes(key, floor)

    assert rows == []
    assert note.endswith(f"lower it to see the {len(table)} milder ones.")


def test_the_chart_shades_each_episode_and_the_learning_period(dataset):
    from vigil.pages.analyze import show_result

    key = run(dataset, "latency_ms_ep", "auto")
    scored = seen(key)
    table = episode_table(scored)
    learning = learning_period(scored)

    figure, _, _ = show_result(key, 0.0)

    shapes = figure.layout.shapes
    assert len(shapes) == len(table) + 1
    grey, *episodes = shapes
    assert pd.Timestamp(grey.x0) == scored["timestamp"].iloc[0]
    assert pd.Timestamp(grey.x1) == learning.until
    assert sorted(pd.Timestamp(shape.x0) for shape in episodes) == sorted(table["start"])
    assert all(shape.yref == "paper" and shape.layer == "below" for shape in shapes)
    assert any(note.text == "learning: not judged" for note in figure.layout.annotations)


def test_many_episodes_are_shaded_in_few_spans_and_none_is_left_out():
    starts = pd.Timestamp("2024-01-01") + pd.to_timedelta(
        np.sort(np.random.default_rng(3).choice(525_600, 5000, replace=False)), unit="min"
    )
    table = pd.DataFrame({"start": starts, "end": starts + pd.Timedelta(minutes=2)})

    spans = shaded_spans(table, first=starts[0], last=starts[-1])

    assert 1 < len(spans) <= MAX_SHADED
    assert all(a[1] < b[0] for a, b in itertools.pairwise(spans))  # apart, in order
    span_starts = pd.DatetimeIndex([s for s, _ in spans])
    holder = span_starts.searchsorted(table["start"], side="right") - 1
    assert (holder >= 0).all()
    assert all(
        spans[h][0] <= start and end <= spans[h][1]
        for h, start, end in zip(holder, table["start"], table["end"], strict=True)
    )


def test_few_episodes_are_shaded_one_each():
    starts = pd.date_range("2024-01-01", periods=5, freq="D")
    table = pd.DataFrame({"start": starts, "end": starts + pd.Timedelta(hours=1)})

    spans = shaded_spans(table, first=starts[0], last=starts[-1])

    assert spans == list(zip(table["start"], table["end"], strict=True))


@pytest.mark.parametrize(
    ("severity", "text"),
    [
        (0.5, "0.50"),
        (0.85, "0.85"),
        (0.930962, "0.93"),
        (0.924243, "0.924"),
        (0.99997, "0.99997"),
        (0.999952, "0.999952"),
        (0.999936, "0.999936"),
        (1 - 1e-12, "0.999999"),  # never reads as 1 when it is not
        (1.0, "1"),
        (float("nan"), ""),
    ],
)
def test_severities_near_one_keep_enough_decimals_to_differ(severity, text):
    assert severity_text(severity) == text


def test_the_learning_period_in_words():
    times = pd.date_range("2024-01-01", periods=1000, freq="15min")
    severity = np.r_[np.full(300, np.nan), np.full(700, 0.1)]
    scored = pd.DataFrame({"timestamp": times, "value": 1.0, "severity": severity})

    assert learning_words(learning_period(scored)) == (
        "Learning: the first 300 points (3 days 3 h, until 2024-01-04 03:00 UTC) are not judged, "
        "so nothing before then is flagged."
    )
    assert learning_words(learning_period(scored.iloc[:200])) == (
        "Learning: all 200 points are still in the detector's learning period, so none is "
        "judged yet; a longer series is needed."
    )
    unjudged_because_missing = scored.assign(severity=0.1, value=1.0)
    unjudged_because_missing.loc[:2, ["value", "severity"]] = np.nan
    assert learning_period(unjudged_because_missing) is None
    assert learning_words(learning_period(scored.assign(severity=0.1))) == ""


def test_a_point_marked_normal_takes_its_one_point_episode_away(dataset):
    from vigil.pages.analyze import mark_point, select_point, show_episodes, show_result

    key = run(dataset, "latency_ms_ep", "auto")
    rows, *_ = show_episodes(key, 0.0)
    single = next(row for row in rows if row["points"] == 1)
    triggered("analyze-grid.cellClicked")
    chosen, _ = select_point({"rowIndex": 0}, None, [{"timestamp": single["start"]}], key)
    try:
        triggered("analyze-mark-normal.n_clicks")
        changed, _ = mark_point(1, None, None, chosen, key)

        after, *_ = show_episodes(key, 0.0, changed)
        _, _, summary = show_result(key, 0.0, changed)
        assert len(after) == len(rows) - 1
        assert single["start"] not in [row["start"] for row in after]
        assert f"'{len(rows) - 1} anomaly episode" in str(summary)
    finally:
        feedback_store().unmark(dataset, "latency_ms_ep", chosen["timestamp"])


def test_downloads_carry_episodes(dataset):
    from vigil.pages.analyze import download, download_episodes, show_episodes

    key = run(dataset, "latency_ms_ep", "stl")
    table = episode_table(seen(key))

    triggered("analyze-download-csv.n_clicks")
    csv = download(1, None, None, key, 0.0)
    frame = pd.read_csv(io.StringIO(base64.b64decode(csv["content"]).decode()))
    assert {"episode", "onset"} <= set(frame.columns)
    assert frame["episode"].nunique() == len(table)
    assert frame["onset"].sum() == len(table)

    episodes_csv = download_episodes(1, key)
    assert episodes_csv["filename"] == "vigil-latency_ms_ep-stl-episodes.csv"
    episodes = pd.read_csv(io.StringIO(base64.b64decode(episodes_csv["content"]).decode()))
    assert len(episodes) == len(table)
    assert {"start", "end", "peak_time", "peak_severity", "points", "explanation"} <= set(
        episodes.columns
    )

    triggered("analyze-download-report.n_clicks")
    report = download(None, None, 1, key, 0.0)["content"]
    rows, *_ = show_episodes(key, 0.0)
    assert "Anomaly episodes" in report
    assert f"{len(table)} anomaly episodes" in report
    assert all(row["span"] in report for row in rows)


def test_a_series_shorter_than_the_learning_period_is_not_called_clean(dash_app):
    from vigil.pages.analyze import show_episodes, show_result

    short = seasonal_series(n=200, spike_at=150, step="15min").to_csv(index=False).encode()
    info, _ = dataset_store().add(short, "short.csv")
    key = run(info.id, "short", "auto")  # a column called value takes the file's name

    _, _, summary = show_result(key, 0.0)
    rows, note, _, _ = show_episodes(key, 0.0)

    assert "'Still learning'" in str(summary)
    assert "No anomalies" not in str(summary)
    assert rows == []
    assert note == (
        "Learning: all 200 points are still in the detector's learning period, so none is "
        "judged yet; a longer series is needed."
    )


def test_choosing_an_episode_of_a_result_gone_from_the_server_says_so(dash_app):
    from vigil.pages.analyze import choose_episode, show_episodes

    gone = "0123456789abcdef0123"

    rows, note, _, _ = show_episodes(gone, 0.0)
    _, title, _, _ = choose_episode({"rowId": "1"}, gone, 0.0)

    assert rows == []
    assert note is None
    assert "run the detector again" in str(title)


def test_a_series_name_with_markup_is_shown_as_text_in_chart_titles():
    from vigil.components.charts import preview_figure

    frame = pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=3), "value": [1, 2, 3]})
    figure = preview_figure(frame, "<b>x</b>")
    assert figure.layout.title.text == "&lt;b&gt;x&lt;/b&gt;"
