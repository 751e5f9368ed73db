"""The Evaluate page's callbacks as plain calls, against the real data set store."""

from __future__ import annotations

import base64

import pytest

from vigil.detection.synthetic import labelled_series
from vigil.services import dataset_store


@pytest.fixture
def labelled_id(dash_app) -> str:
    series = labelled_series("spike", seed=5).rename(columns={"value": "cpu"})
    series["note"] = "x"
    data = series.to_csv(index=False).encode()
    return dataset_store().add(data, "labelled.csv")[0].id


def as_upload(text: str) -> str:
    return "data:text/csv;base64," + base64.b64encode(text.encode()).decode()


def evaluate(dataset_id: str, **given):
    from vigil.pages.evaluate import run_evaluation

    settings = {
        "series": "cpu",
        "source": "column",
        "label_column": "label",
        "windows": None,
        "chosen": ["ensemble", "stl"],
        "online": False,
        "budget": 5,
    } | given
    return run_evaluation(
        lambda _text: None,
        1,
        dataset_id,
        settings["series"],
        settings["source"],
        settings["label_column"],
        settings["windows"],
        settings["chosen"],
        settings["online"],
        settings["budget"],
    )


def test_the_label_column_is_chosen_and_not_offered_as_a_series(labelled_id):
    from vigil.pages.evaluate import columns_of

    series, chosen, label_options, label = columns_of(labelled_id)
    assert series == ["cpu"]
    assert chosen == "cpu"
    assert label == "label"
    assert "note" in label_options


def test_an_evaluation_gives_a_row_a_detector_and_a_curve(labelled_id):
    rows, figure, summary, status = evaluate(labelled_id)
    assert status is None
    assert [row["detector"] for row in rows] == ["Ensemble", "Seasonal decomposition (STL)"]
    assert rows[0]["events_found"] == "3 of 3"
    assert "3 labelled windows" in str(summary)
    assert {trace.name for trace in figure.data} >= {"Ensemble", "Seasonal decomposition (STL)"}


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"label_column": "note"}, "must hold 0/1"),
        ({"label_column": None}, "Choose a label column"),
        ({"chosen": []}, "Choose at least one detector"),
        ({"series": None}, "Choose a data set and a series"),
    ],
)
def test_what_cannot_be_evaluated_is_said_plainly(labelled_id, given, message):
    rows, _, _, status = evaluate(labelled_id, **given)
    assert rows == []
    assert message in str(status)


def test_a_windows_file_is_read_or_refused_with_its_reason(labelled_id):
    from vigil.pages.evaluate import take_windows

    kept, status = take_windows(as_upload("start,end\n2024-01-08,2024-01-09\n"), "w.csv")
    assert kept == {"start": ["2024-01-08"], "end": ["2024-01-09"]}
    assert "1 window from w.csv" in str(status)

    kept, status = take_windows(as_upload("start,end\n2024-01-09,2024-01-08\n"), "bad.csv")
    assert kept is None
    assert "ends before it starts" in str(status)

    rows, _, summary, _ = evaluate(
        labelled_id, source="windows", windows={"start": ["2024-01-08"], "end": ["2024-01-09"]}
    )
    assert "1 labelled window" in str(summary)
    assert len(rows) == 2


def test_each_detector_shows_false_alarms_a_day_beside_precision_and_recall(labelled_id):
    from vigil.components.evaluation import JUDGEMENT_COLUMNS

    rows, _, summary, status = evaluate(labelled_id)

    assert status is None
    days = 14 - 15 / (24 * 60)  # two weeks of 15-minute points, first to last
    for row in rows:
        assert row["false_per_day"] == pytest.approx(row["false_alarms"] / days)
        assert row["false_per_day"] <= row["alerts_per_day"]
    assert "14.0 days" in str(summary)
    assert "false alarms a day)" in str(summary)  # beside the best F1
    false_alarms = next(c for c in JUDGEMENT_COLUMNS if c["headerName"] == "False alarms")
    assert [c["field"] for c in false_alarms["children"]] == ["false_per_day", "false_alarms"]


def test_episodes_that_touch_no_labelled_window_are_counted_as_false_alarms(labelled_id):
    quiet_hour = {"start": ["2024-01-02 03:00"], "end": ["2024-01-02 04:00"]}

    rows, _, summary, _ = evaluate(labelled_id, source="windows", windows=quiet_hour)

    ensemble = next(row for row in rows if row["detector"] == "Ensemble")
    assert ensemble["events_found"] == "0 of 1"  # it finds the three spikes, none labelled
    assert ensemble["false_alarms"] >= 3
    assert ensemble["false_per_day"] == pytest.approx(ensemble["alerts_per_day"])
    assert "1 labelled window" in str(summary)


def test_the_page_says_what_a_false_alarm_is(dash_app):
    from vigil.pages.evaluate import layout

    assert "runs of flags (episodes" in str(layout())
    assert "that touch no labelled anomaly" in str(layout())


def test_a_budget_that_never_binds_is_said_so_not_shown_as_threshold_0(labelled_id):
    # 14 days with 3 spikes: a thousand alerts a day is more than any threshold raises
    rows, figure, summary, _ = evaluate(labelled_id, budget=1000)

    assert {row["budget_threshold_text"] for row in rows} == {"never binds"}
    assert {row["budget_recall"] for row in rows} == {None}
    assert "At 1000 alerts a day the budget never binds for Ensemble and Seasonal" in str(summary)
    assert "alert budget" not in " ".join(str(trace.name) for trace in figure.data)


def test_the_threshold_markers_have_a_legend(labelled_id):
    rows, figure, _, _ = evaluate(labelled_id, budget=0.2)
    assert all(
        row["budget_threshold_text"] in ("none fits", f"{row['budget_threshold']:.2f}")
        for row in rows
    )
    legend = [trace.name for trace in figure.data if trace.showlegend is not False]
    assert "a detector's own threshold" in legend
    assert "the alert budget's threshold" in legend


def test_automatic_and_ensemble_are_not_one_detector_under_two_names(labelled_id):
    rows, _, _, _ = evaluate(labelled_id, chosen=["ensemble", "auto"])
    automatic, ensemble = rows  # in the registry's order
    assert (automatic["detector"], ensemble["detector"]) == ("Automatic", "Ensemble")
    assert {k: v for k, v in ensemble.items() if k != "detector"} != {
        k: v for k, v in automatic.items() if k != "detector"
    }


def test_a_windows_file_is_read_in_the_zone_of_the_data_sets_times(dash_app):
    from dataclasses import replace

    from vigil.pages.evaluate import take_windows

    series = labelled_series("dip", seed=6).rename(columns={"value": "heat"})
    store = dataset_store()
    info, _ = store.add(series.to_csv(index=False).encode(), "heating-berlin.csv")
    store.reprepare(info.id, replace(info.schema, time_zone="Europe/Berlin"))

    kept, status = take_windows(
        as_upload("start,end\n2024-01-08 00:00,2024-01-08 06:00\n"), "w.csv", info.id
    )

    assert kept == {"start": ["2024-01-07 23:00:00"], "end": ["2024-01-08 05:00:00"]}  # UTC
    assert "read in Europe/Berlin" in str(status)
