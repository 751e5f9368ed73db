"""Judging detectors on one series' labels: the step the Evaluate page and `vigil evaluate`
share, whatever the labels come from."""

from __future__ import annotations

import pandas as pd
import pytest

from vigil.detection.errors import DataError
from vigil.detection.synthetic import labelled_series
from vigil.usecases.evaluate import judge_series


@pytest.fixture(scope="module")
def spiky():
    series = labelled_series("spike", seed=3)
    return series[["timestamp", "value"]], series


def test_a_label_column_windows_and_marks_that_say_the_same_judge_the_same(spiky):
    frame, series = spiky
    flagged = series.loc[series["label"] == 1, "timestamp"]
    column = pd.Series(series["label"].to_numpy() == 1, index=pd.DatetimeIndex(series["timestamp"]))
    windows = pd.DataFrame({"start": flagged.to_numpy(), "end": flagged.to_numpy()})
    marks = pd.DataFrame({"timestamp": flagged.to_numpy(), "verdict": "anomaly"})

    found = [
        judge_series(frame, ["zscore"], **given)[0].event
        for given in ({"column_labels": column}, {"windows": windows}, {"marks": marks})
    ]

    assert found[0] == found[1] == found[2]
    assert found[0].true_positives + found[0].false_negatives == 3


def test_marks_with_no_anomaly_among_them_say_what_to_do(spiky):
    frame, series = spiky
    marks = pd.DataFrame({"timestamp": series["timestamp"].iloc[:2], "verdict": "normal"})

    with pytest.raises(DataError, match="No point of 'cpu' is marked as an anomaly yet"):
        judge_series(frame, ["zscore"], marks=marks, series="cpu")


def test_no_labels_at_all_is_a_clear_refusal(spiky):
    frame, _ = spiky

    with pytest.raises(DataError, match="Choose a label column"):
        judge_series(frame, ["zscore"])
