"""Page callbacks called as plain functions, against the real stores."""

from __future__ import annotations

import base64
import gzip
import io

import pandas as pd
import pytest
from dash import no_update
from dash._callback_context import context_value
from dash._utils import AttributeDict

from tests.hostile import ACCEPTED
from vigil.components.charts import empty_figure
from vigil.services import dataset_store, result_store
from vigil.stores.datasets import NeedsColumns


def triggered(prop_id: str, value=1):
    """Run a callback as if `prop_id` had changed (what dash.ctx reads)."""
    context_value.set(AttributeDict(triggered_inputs=[{"prop_id": prop_id, "value": value}]))


@pytest.fixture
def demo_id(dash_app) -> str:
    return dataset_store().add_demo().id


def find_text(component, text: str) -> bool:
    return text in str(component)


def test_an_upload_error_is_shown_and_the_data_set_kept(dash_app):
    from vigil.pages.data import use_new_dataset

    triggered("data-upload-result.data", {"error": "'x.csv' is empty."})
    dataset, message, changed, panel = use_new_dataset({"error": "'x.csv' is empty."}, None)

    assert dataset is no_update
    assert changed is no_update
    assert find_text(message, "'x.csv' is empty.")
    assert message.color == "danger"
    assert find_text(panel, "That file was not stored")
    assert find_text(panel, "'x.csv' is empty.")


def test_a_successful_upload_selects_the_new_data_set(dash_app):
    from vigil.pages.data import use_new_dataset

    result = {"id": "0123456789abcdef", "name": "cpu.csv", "reused": False}
    triggered("data-upload-result.data", result)
    dataset, message, changed, panel = use_new_dataset(result, None)

    assert dataset == "0123456789abcdef"
    assert panel is no_update
    assert changed is not no_update
    assert find_text(message, "'cpu.csv' is stored.")


def test_the_data_page_shows_the_quality_report_and_previews(demo_id):
    from vigil.pages.data import show_dataset

    panel = show_dataset(demo_id, None)

    text = str(panel)
    assert "vigil-demo.csv" in text
    assert "25 points without a value" in text
    assert "every 15 minutes" in text
    assert text.count("vigil-preview") == 3


def test_the_analyze_page_scores_the_chosen_series(demo_id):
    from vigil.pages.analyze import run_analysis, show_result

    # a threshold no other test asks for, so no earlier test has stored this run
    ids = [{"type": "analyze-param", "detector": "stl", "name": "threshold"}]
    progress: list[str] = []
    key, status = run_analysis(
        progress.append, 1, "requests_per_min", "stl", False, demo_id, [3.45], ids
    )

    assert status is None
    assert any("Running" in step for step in progress)
    again: list[str] = []
    assert run_analysis(
        again.append, 1, "requests_per_min", "stl", False, demo_id, [3.45], ids
    ) == (key, None)
    assert not any("Running" in step for step in again)  # the stored result is used
    figure, rows, summary = show_result(key, 0.0)
    anomalies = next(trace for trace in figure.data if trace.name == "anomaly")
    flagged_times = pd.to_datetime(anomalies.x)
    assert pd.Timestamp("2024-03-12 09:30", tz="UTC") in flagged_times  # drawn in UTC
    assert rows[0]["severity"] >= rows[-1]["severity"]
    assert any(row["timestamp"].startswith("2024-03-12 09:30") for row in rows)
    assert "anomaly episodes" in str(summary)


def test_a_link_to_a_stored_result_opens_it_without_running_the_detector(demo_id):
    """An alert email's "Open in Vigil" names the result its run stored (`result=`): the page
    shows it as computed, however the form's parameters differ; Run runs the form's."""
    from vigil.detection import run_detection
    from vigil.pages.analyze import layout, run_analysis
    from vigil.stores.results import RunSettings

    frame = dataset_store().series(demo_id, "requests_per_min")
    columns = dataset_store().info(demo_id).schema.to_dict()
    run = RunSettings(
        demo_id, "vigil-demo.csv", "requests_per_min", "zscore", {"threshold": 4.321}, columns
    )
    key = result_store().save(run, run_detection(frame, "zscore", threshold=4.321), 22.0)
    page = layout(dataset=demo_id, series="requests_per_min", detector="zscore", result=key)
    query = next(
        child.data for child in page.children if getattr(child, "id", None) == "analyze-query"
    )
    assert query["result"] == key

    progress: list[str] = []
    triggered("analyze-series.value", "requests_per_min")  # the page opening on the series
    opened = run_analysis(
        progress.append, None, "requests_per_min", "zscore", False, demo_id, [], [], None, query
    )
    assert opened == (key, None)
    assert progress == []  # nothing ran

    triggered("analyze-run.n_clicks")
    threshold = [{"type": "analyze-param", "detector": "zscore", "name": "threshold"}]
    again, status = run_analysis(  # a threshold no other test asks for: not stored yet
        progress.append,
        1,
        "requests_per_min",
        "zscore",
        False,
        demo_id,
        [3.217],
        threshold,
        None,
        query,
    )
    assert status is None
    assert again != key  # the form's own parameters
    assert any("Running" in step for step in progress)


def test_the_analyze_page_can_score_online_and_says_how_long_the_warm_up_was(demo_id):
    from vigil.pages.analyze import run_analysis, show_result

    batch, _ = run_analysis(lambda _t: None, 1, "latency_ms", "stl", False, demo_id, [], [])
    online, status = run_analysis(lambda _t: None, 1, "latency_ms", "stl", True, demo_id, [], [])

    assert status is None
    assert online != batch
    _, rows, summary = show_result(online, 0.0)
    assert "scored online" in str(summary)
    warmup = result_store().settings(online)["warmup_rows"]
    assert f"Learning: the first {warmup:,} points (" in str(summary)
    assert rows


def test_a_severity_floor_hides_milder_anomalies(demo_id):
    from vigil.pages.analyze import run_analysis, show_result

    key, _ = run_analysis(lambda _text: None, 1, "requests_per_min", "stl", False, demo_id, [], [])
    _, every_row, _ = show_result(key, 0.0)
    _, severe_rows, _ = show_result(key, 0.99)
    assert 0 < len(severe_rows) < len(every_row)
    assert all(row["severity"] >= 0.99 for row in severe_rows)


def test_bad_parameters_come_back_as_a_message(demo_id):
    from vigil.pages.analyze import run_analysis

    ids = [{"type": "analyze-param", "detector": "zscore", "name": "window"}]
    key, status = run_analysis(
        lambda _text: None, 1, "latency_ms", "zscore", False, demo_id, [99_999], ids
    )

    assert key is None
    assert "longer than the series" in str(status)


def test_no_data_set_shows_an_empty_chart_that_says_why(dash_app):
    from vigil.pages.analyze import show_result

    figure, rows, _ = show_result(None, 0.0)
    assert rows == []
    assert "Choose a data set" in figure.layout.annotations[0].text


def test_downloads_give_the_scored_frame(demo_id):
    from vigil.pages.analyze import download, run_analysis

    key, _ = run_analysis(lambda _text: None, 1, "latency_ms", "zscore", False, demo_id, [], [])

    triggered("analyze-download-csv.n_clicks")
    csv = download(1, None, None, key, 0.0)
    frame = pd.read_csv(io.StringIO(base64.b64decode(csv["content"]).decode()))
    assert csv["filename"] == "vigil-latency_ms-zscore.csv"
    assert len(frame) == 2652
    assert frame["is_anomaly"].any()

    triggered("analyze-download-report.n_clicks")
    report = download(None, None, 1, key, 0.0)
    assert report["filename"].endswith(".html")
    assert "<table" in report["content"]
    assert "plotly" in report["content"]


def test_the_report_escapes_hostile_series_names(dash_app):
    from vigil.pages.analyze import download, run_analysis

    frame = pd.read_csv(io.BytesIO(gzip.decompress(ACCEPTED["gzip"][1])))
    data = frame.rename(columns={"value": "<script>alert(1)</script>"}).to_csv(index=False)
    info, _ = dataset_store().add(data.encode(), "<img src=x onerror=alert(1)>.csv")
    key, status = run_analysis(
        lambda _t: None, 1, "<script>alert(1)</script>", "zscore", False, info.id, [], []
    )
    assert status is None
    triggered("analyze-download-report.n_clicks")
    report = download(None, None, 1, key, 0.0)["content"]
    assert "<script>alert(1)</script>" not in report
    assert "&lt;img src=x onerror=alert(1)&gt;.csv" in report
    assert "<img" not in report


def test_empty_figure_carries_its_message():
    assert empty_figure("Nothing here").layout.annotations[0].text == "Nothing here"


def test_choosing_columns_on_the_data_page_rereads_the_file(dash_app):
    from vigil.pages.data import apply_columns, show_dataset

    info, _ = dataset_store().add(ACCEPTED["long_format"][1], "hosts.csv")
    applied, message = apply_columns(1, info.id, "timestamp", ["cpu"], None)

    assert message is None
    assert applied is not no_update
    assert dataset_store().info(info.id).report.series == ("cpu",)
    assert "repeated a timestamp" in str(show_dataset(info.id, applied))


def test_drawing_the_columns_card_rereads_nothing(dash_app):
    """Dash calls Apply's callback when the panel appears, with no click (and, on a first
    visit, no data set chosen): neither is an error, and neither writes."""
    from vigil.pages.data import apply_columns

    info, _ = dataset_store().add(ACCEPTED["long_format"][1], "hosts.csv")
    folder = dataset_store().root / info.id
    files = sorted(folder.iterdir())

    assert apply_columns(None, info.id, "timestamp", ["cpu"], None) == (no_update, no_update)
    assert apply_columns(1, None, "timestamp", ["cpu"], None) == (no_update, no_update)
    assert sorted(folder.iterdir()) == files


def test_a_bad_column_choice_is_explained_and_changes_nothing(dash_app):
    from vigil.pages.data import apply_columns

    info, _ = dataset_store().add(ACCEPTED["long_format"][1], "hosts.csv")
    before = dataset_store().info(info.id).schema
    applied, message = apply_columns(1, info.id, "host", ["cpu"], None)

    assert applied is no_update
    assert "reads as a date or time" in str(message)
    assert dataset_store().info(info.id).schema == before


def test_a_damaged_data_file_gives_a_message_not_a_traceback(dash_app):
    from vigil.pages.analyze import UNEXPECTED, run_analysis

    frame = pd.read_csv(io.BytesIO(gzip.decompress(ACCEPTED["gzip"][1])))
    info, _ = dataset_store().add(
        frame.assign(value=frame["value"] + 1).to_csv(index=False).encode(), "d.csv"
    )
    (dataset_store().root / info.id / "data.parquet").write_bytes(b"not parquet any more")

    key, status = run_analysis(lambda _t: None, 1, "value", "zscore", False, info.id, [], [])

    assert key is None
    assert UNEXPECTED in str(status)


def test_rereading_a_file_with_other_columns_is_not_served_an_old_result(dash_app):
    from vigil.pages.analyze import run_analysis
    from vigil.pages.data import apply_columns

    times = pd.date_range("2024-01-01", periods=60, freq="h")
    two_clocks = pd.DataFrame(
        {"recorded": times, "received": times + pd.Timedelta(days=1), "cpu": range(60)}
    )
    info, _ = dataset_store().add(two_clocks.to_csv(index=False).encode(), "clocks.csv")
    assert info.schema.time_column == "recorded"
    first, _ = run_analysis(lambda _t: None, 1, "cpu", "zscore", False, info.id, [], [])

    apply_columns(1, info.id, "received", ["cpu"], None)
    second, _ = run_analysis(lambda _t: None, 1, "cpu", "zscore", False, info.id, [], [])

    assert second != first
    scored, _ = result_store().load(second)
    assert scored["timestamp"].iloc[0] == pd.Timestamp("2024-01-02")


def test_a_model_saved_on_the_page_scores_its_series_and_refuses_another(demo_id):
    from vigil.pages.analyze import model_options, run_analysis, save_as_model, show_result

    options, model_id, status = save_as_model(1, demo_id, "latency_ms", "stl", [], [])
    assert "Saved 'latency_ms · Seasonal decomposition (STL)'" in str(status)
    assert any(option["value"] == model_id for option in options)
    assert options == model_options(None)

    key, error = run_analysis(
        lambda _t: None, 1, "latency_ms", "auto", False, demo_id, [], [], model_id
    )
    assert error is None
    figure, rows, _ = show_result(key, 0.0)
    assert "saved model" in figure.layout.title.text
    assert rows

    _, error = run_analysis(
        lambda _t: None, 1, "requests_per_min", "auto", False, demo_id, [], [], model_id
    )
    assert "was trained on the series 'latency_ms'" in str(error)


def test_a_point_marked_normal_stays_unflagged_in_later_runs_and_marks_become_labels(demo_id):
    from vigil.pages.analyze import mark_point, run_analysis, select_point, show_result
    from vigil.pages.evaluate import run_evaluation

    key, _ = run_analysis(lambda _t: None, 1, "latency_ms", "stl", False, demo_id, [], [])
    _, rows, _ = show_result(key, 0.0)
    spike = rows[0]["timestamp"]

    triggered("analyze-grid.cellClicked")
    chosen, words = select_point({"rowIndex": 0}, None, rows, key)
    assert chosen["timestamp"].startswith(spike[:16])
    assert "Selected" in str(words)
    triggered("analyze-mark-normal.n_clicks")
    changed, status = mark_point(1, None, None, chosen, key)
    assert "Marked as not an anomaly" in str(status)

    _, rows_after, summary = show_result(key, 0.0, changed)
    assert spike not in [row["timestamp"] for row in rows_after]
    assert "1 mark applied" in str(summary)
    other, _ = run_analysis(lambda _t: None, 1, "latency_ms", "auto", False, demo_id, [], [])
    _, other_rows, _ = show_result(other, 0.0, changed)
    assert spike not in [row["timestamp"] for row in other_rows]

    _, _, _, status = run_evaluation(
        lambda _t: None, 1, demo_id, "latency_ms", "marks", None, None, ["stl"], False, None
    )
    assert "No point of 'latency_ms' is marked as an anomaly" in str(status)
    anomaly = dict(chosen, timestamp=rows[1]["timestamp"])  # another that stl flags
    triggered("analyze-mark-anomaly.n_clicks")
    mark_point(None, 1, None, anomaly, key)
    rows_eval, _, summary, status = run_evaluation(
        lambda _t: None, 1, demo_id, "latency_ms", "marks", None, None, ["stl"], False, None
    )
    assert status is None
    assert "1 labelled window" in str(summary)
    assert rows_eval[0]["events_found"] == "1 of 1"


def day_first_file(days: int = 10) -> bytes:
    """Hourly, day-first, no day above 12, semicolons and decimal commas; two series."""
    times = pd.date_range("2024-02-01", periods=days * 24, freq="h")
    lines = ["Zeit;value;Druck"]
    lines += [f"{t:%d.%m.%Y %H:%M};{20 + i % 7},5;{1000 + i % 3},0" for i, t in enumerate(times)]
    return ("\n".join(lines) + "\n").encode()


def test_the_data_page_says_how_it_read_dates_and_counts_lines_and_series(dash_app):
    from vigil.pages.data import show_dataset

    info, _ = dataset_store().add(day_first_file(), "wetter.csv")

    text = str(show_dataset(info.id, None))
    assert "read 01.02.2024 00:00 as 1 Feb 2024" in text
    assert "Lines" in text
    assert "240" in text
    assert "480" not in text  # points across both series are not lines
    assert info.report.series == ("wetter", "Druck")


def test_choosing_the_other_date_format_on_the_columns_card_rereads_the_dates(dash_app):
    from vigil.pages.data import apply_columns, show_dataset

    info, _ = dataset_store().add(day_first_file(), "wetter.csv")
    assert "%m.%d.%Y %H:%M" in str(show_dataset(info.id, None))  # offered on the card

    applied, message = apply_columns(1, info.id, "Zeit", ["value", "Druck"], None, "%m.%d.%Y %H:%M")

    assert message is None
    report = dataset_store().info(info.id).report
    assert report.start == pd.Timestamp("2024-01-02 00:00")
    assert "read 01.02.2024 00:00 as 2 Jan 2024" in str(show_dataset(info.id, applied))


def test_choosing_a_zone_on_the_columns_card_stores_the_times_in_utc_and_says_the_zone(dash_app):
    from vigil.pages.data import apply_columns, show_dataset

    info, _ = dataset_store().add(day_first_file(days=11), "berlin.csv")
    card = str(show_dataset(info.id, None, "UTC", "Europe/Berlin"))
    assert "Times without a zone are in" in card
    assert "Europe/Berlin (your browser)" in card  # offered next to UTC
    assert dataset_store().info(info.id).report.start == pd.Timestamp("2024-02-01 00:00")

    applied, message = apply_columns(
        1, info.id, "Zeit", ["value", "Druck"], None, "%d.%m.%Y %H:%M", "Europe/Berlin"
    )

    assert message is None
    stored = dataset_store().info(info.id)
    assert stored.schema.time_zone == "Europe/Berlin"
    assert stored.report.start == pd.Timestamp("2024-01-31 23:00")  # 00:00 CET is 23:00 UTC
    assert dataset_store().tidy(info.id)["timestamp"].min() == pd.Timestamp("2024-01-31 23:00")
    in_utc = str(show_dataset(info.id, applied, "UTC"))
    assert "read 01.02.2024 00:00 as 1 Feb 2024 CET (Europe/Berlin)" in in_utc
    assert "2024-01-31 23:00 UTC" in in_utc  # first time, in the zone times are shown in
    assert "2024-02-01 00:00 CET" in str(show_dataset(info.id, applied, "Europe/Berlin"))


def test_an_unknown_zone_on_the_columns_card_is_refused_and_the_data_set_kept(dash_app):
    from vigil.pages.data import apply_columns

    info, _ = dataset_store().add(day_first_file(days=12), "wetter.csv")

    applied, message = apply_columns(1, info.id, "Zeit", ["value"], None, None, "Mars/Olympus")

    assert applied is no_update
    assert "'Mars/Olympus' is not a time zone" in str(message)
    assert dataset_store().info(info.id).schema.time_zone == "UTC"


def test_an_upload_whose_columns_cannot_be_guessed_shows_the_columns_card(dash_app):
    from vigil.pages.data import store_draft, use_new_dataset

    data = "stamp,reading\n" + "".join(f"{1_700_000_000 + 60 * i},{i % 5}\n" for i in range(50))
    with pytest.raises(NeedsColumns) as unsure:
        dataset_store().add(data.encode(), "meter.csv")
    result = {"error": str(unsure.value), "draft": unsure.value.draft_id, "name": "meter.csv"}
    triggered("data-upload-result.data", result)

    dataset, message, _, panel = use_new_dataset(result, None)

    assert dataset is no_update
    assert message.color == "warning"
    assert find_text(panel, "Choose the columns of 'meter.csv'")
    assert find_text(panel, "No timestamp column")
    triggered(f'{{"index":"{unsure.value.draft_id}","type":"data-draft-apply"}}.n_clicks')
    dataset, problem, _changed, message = store_draft([1], "stamp", ["reading"], None, None)
    assert problem is None
    assert find_text(message, "'meter.csv' is stored.")
    assert dataset == unsure.value.draft_id
    assert dataset_store().info(dataset).report.series == ("reading",)
