"""Evaluating detectors on a stored data set's labels, for the Evaluate page."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence

import pandas as pd

from vigil.detection.errors import DataError
from vigil.detection.feedback import ANOMALY, labels_from_marks
from vigil.detection.io import read_table
from vigil.detection.judge import Judgement, judge
from vigil.detection.labels import (
    align_labels,
    labels_from_column,
    labels_from_windows,
    windows_from_table,
)
from vigil.stores.datasets import DatasetStore

#: A windows file is a short list of start/end pairs; anything larger is not one.
MAX_WINDOWS_BYTES = 1_000_000


def read_windows(contents: str, filename: str, time_zone: str = "UTC") -> pd.DataFrame:
    """Anomaly windows from a file sent by the browser as a data URL; times without a zone
    are in `time_zone` (the data set's)."""
    try:
        data = base64.b64decode(contents.partition(",")[2], validate=True)
    except ValueError:
        raise DataError(f"'{filename}' did not arrive whole; choose it again.") from None
    raw = read_table(data, filename, max_bytes=MAX_WINDOWS_BYTES, max_rows=100_000)
    return windows_from_table(raw, time_zone)


def windows_to_json(windows: pd.DataFrame) -> dict[str, list[str]]:
    """Windows as a page can keep them in a store."""
    return {column: windows[column].astype(str).tolist() for column in ("start", "end")}


def windows_from_json(data: dict[str, list[str]] | None) -> pd.DataFrame | None:
    if not data:
        return None
    return pd.DataFrame({column: pd.to_datetime(data[column]) for column in ("start", "end")})


def evaluate_series(
    store: DatasetStore,
    dataset_id: str,
    series: str,
    *,
    detectors: Sequence[str],
    label_column: str | None = None,
    windows: pd.DataFrame | None = None,
    marks: pd.DataFrame | None = None,
    online: bool = False,
    per_day: float | None = None,
    progress: Callable[[str], object] | None = None,
) -> tuple[list[Judgement], int]:
    """Judge `detectors` on one series of a data set against a label column of the same file,
    anomaly windows, or the marks people made on the series; also returns how many labelled
    events there are."""
    if not detectors:
        raise DataError("Choose at least one detector to evaluate.")
    frame = store.series(dataset_id, series)
    column_labels = None
    if label_column:
        info = store.info(dataset_id)
        column_labels = labels_from_column(
            store.raw(dataset_id),
            info.schema.time_column,
            label_column,
            time_format=info.schema.time_format,
            time_zone=info.schema.time_zone,
        )
    judgements = judge_series(
        frame,
        detectors,
        column_labels=column_labels,
        windows=windows,
        marks=marks,
        series=series,
        online=online,
        per_day=per_day,
        progress=progress,
    )
    events = judgements[0].event.true_positives + judgements[0].event.false_negatives
    return judgements, events


def judge_series(
    frame: pd.DataFrame,
    detectors: Sequence[str],
    *,
    column_labels: pd.Series | None = None,
    windows: pd.DataFrame | None = None,
    marks: pd.DataFrame | None = None,
    series: str = "",
    online: bool = False,
    per_day: float | None = None,
    progress: Callable[[str], object] | None = None,
) -> list[Judgement]:
    """Judge `detectors` on one series (`frame`) against the first labels given: a label
    column read from its file, anomaly windows, or the marks people made on it (named
    `series` in what is said when none marks an anomaly). The Evaluate page and `vigil
    evaluate` both judge through this."""
    if column_labels is not None:
        labels = column_labels
    elif windows is not None:
        labels = labels_from_windows(frame["timestamp"], windows)
    elif marks is not None:
        if not (marks["verdict"] == ANOMALY).any():
            raise DataError(
                f"No point of '{series}' is marked as an anomaly yet: mark the anomalies on the "
                "Analyze page first."
            )
        labels = labels_from_marks(marks)
    else:
        raise DataError("Choose a label column, or give a file of anomaly windows.")
    truth = align_labels(labels, frame["timestamp"])
    return judge(frame, truth, detectors, online=online, per_day=per_day, progress=progress)
