"""Ground truth for evaluation: label columns, anomaly-window files and how they line up."""

from __future__ import annotations

import pandas as pd
import pytest

from vigil.detection.errors import DataError
from vigil.detection.io import RawTable, read_table
from vigil.detection.labels import (
    align_labels,
    labels_from_column,
    labels_from_windows,
    windows_from_table,
)


def table(text: str) -> RawTable:
    data = text.strip().encode()
    return read_table(data, "labels.csv", max_bytes=len(data) + 1, max_rows=1000)


def test_a_label_column_gives_labels_by_timestamp_merging_repeats():
    raw = table(
        """
time,value,anomaly
2024-01-01 00:02,1,0
2024-01-01 00:00,1,0
2024-01-01 00:01,9,1
2024-01-01 00:01,9,0
2024-01-01 00:03,1,
"""
    )
    labels = labels_from_column(raw, "time", "anomaly")
    assert labels.tolist() == [False, True, False, False]
    assert labels.index[1] == pd.Timestamp("2024-01-01 00:01")


def test_true_and_false_words_are_labels_too():
    raw = table("time,label\n2024-01-01,true\n2024-01-02,False\n2024-01-03,yes\n")
    assert labels_from_column(raw, "time", "label").tolist() == [True, False, True]


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ("0\n2\n1", "it also holds 2"),
        ("0\nmaybe\n1", "it also holds 'maybe'"),
        ("0\n0\n0", "no positive label"),
    ],
)
def test_unusable_label_columns_say_why(column, message):
    times = ["2024-01-01", "2024-01-02", "2024-01-03"]
    rows = "\n".join(f"{t},{v}" for t, v in zip(times, column.split("\n"), strict=True))
    with pytest.raises(DataError, match=message):
        labels_from_column(table("time,label\n" + rows), "time", "label")


def test_windows_mark_every_timestamp_inside_them():
    windows = windows_from_table(
        table("from,to\n2024-01-01 00:01,2024-01-01 00:02\n2024-01-01 00:05,2024-01-01 00:05")
    )
    timestamps = pd.Series(pd.date_range("2024-01-01", periods=7, freq="1min"))
    labels = labels_from_windows(timestamps, windows)
    assert labels.tolist() == [False, True, True, False, False, True, False]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("start,end\n2024-01-02,2024-01-01", "Row 1 of the windows file ends before it starts"),
        ("start,end\n2024-01-01,2024-01-02\nsoon,later", "Row 2 .* not a time"),
        ("start\n2024-01-01", "needs two columns"),
    ],
)
def test_broken_window_files_say_which_row(text, message):
    with pytest.raises(DataError, match=message):
        windows_from_table(table(text))


def test_labels_that_share_no_timestamp_with_the_series_are_refused():
    labels = pd.Series([True, False], index=pd.to_datetime(["2020-01-01", "2020-01-02"]))
    series_times = pd.Series(pd.date_range("2024-01-01", periods=5, freq="1D"))
    with pytest.raises(DataError, match="do not line up"):
        align_labels(labels, series_times)
