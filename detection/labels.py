"""Ground truth for evaluation: 0/1 labels from a column, or anomaly windows from a file.

Both give a boolean Series indexed by timestamp, which `align_labels` lines up with the
timestamps of the series being judged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vigil.detection.errors import DataError
from vigil.detection.io import RawTable
from vigil.detection.quality import plural
from vigil.detection.schema import is_textual, to_numbers
from vigil.detection.tidy import parse_timestamps
from vigil.detection.timeformat import TimeFormat

_TRUE = {"1", "1.0", "true", "yes", "y", "t"}
_FALSE = {"0", "0.0", "false", "no", "n", "f", ""}
START_NAMES = ("start", "begin", "from", "window_start", "start_time")
END_NAMES = ("end", "stop", "to", "until", "window_end", "end_time")


def _as_label_numbers(column: pd.Series, name: str) -> pd.Series:
    """0/1 (or true/false, yes/no) as floats, missing as NaN; anything else is an error."""
    odd: pd.Series
    if is_textual(column.dropna()):
        text = column.astype("string").str.strip().str.lower()
        numbers = pd.Series(np.nan, index=column.index)
        numbers[text.isin(_TRUE).fillna(False).to_numpy(dtype=bool)] = 1.0
        numbers[(text.isin(_FALSE) & text.ne("")).fillna(False).to_numpy(dtype=bool)] = 0.0
        unknown = text.notna() & text.ne("") & numbers.isna()
        odd = text[unknown]
    else:
        numbers = to_numbers(column.astype("string")).astype(float)
        odd = numbers[numbers.notna() & ~numbers.isin((0.0, 1.0))]
    if len(odd):
        examples = ", ".join(
            f"{v:g}" if isinstance(v, float) else repr(v) for v in pd.unique(odd)[:3]
        )
        raise DataError(
            f"The label column '{name}' must hold 0/1 (or true/false); it also holds {examples}."
        )
    return numbers


def labels_from_column(
    raw: RawTable,
    time_column: str,
    label_column: str,
    *,
    time_format: str | None = None,
    time_zone: str = "UTC",
) -> pd.Series:
    """Labels by timestamp from a column of the file; a repeated timestamp is labelled when any
    of its rows is. Missing labels count as 0. Times are read with `time_format` when given
    (the data set's), and times without a zone in `time_zone` (the data set's too), so labels
    land on the points they were written beside."""
    if label_column not in raw.frame.columns:
        raise DataError(f"The file has no label column named '{label_column}'.")
    if label_column == time_column:
        raise DataError(f"'{label_column}' is the time column, not a label column.")
    numbers = _as_label_numbers(raw.frame[label_column], label_column)
    chosen = TimeFormat(time_format) if time_format else None
    timestamps, _ = parse_timestamps(raw.frame[time_column], chosen, zone=time_zone)
    readable = timestamps.notna().to_numpy()
    positive = pd.Series(numbers.fillna(0).to_numpy()[readable] > 0)
    labels = positive.groupby(timestamps.to_numpy()[readable]).max().sort_index()
    labels.index = pd.DatetimeIndex(labels.index)
    if not labels.any():
        raise DataError(f"Column '{label_column}' has no positive label (no 1): nothing to find.")
    return labels


def _column(frame: pd.DataFrame, names: tuple[str, ...], position: int) -> str:
    for column in frame.columns:
        if str(column).strip().lower() in names:
            return column
    return frame.columns[position]


def windows_from_table(raw: RawTable, time_zone: str = "UTC") -> pd.DataFrame:
    """Anomaly windows from a table with a start and an end timestamp per row (columns named
    start/end, or else the first two); times without a zone are in `time_zone`."""
    frame = raw.frame
    if len(frame.columns) < 2:
        raise DataError("A windows file needs two columns: the start and the end of each window.")
    if frame.empty:
        raise DataError("The windows file has no rows.")
    start_column = _column(frame, START_NAMES, 0)
    end_column = _column(frame, END_NAMES, 1 if start_column != frame.columns[1] else 0)
    starts, _ = parse_timestamps(frame[start_column], zone=time_zone)
    ends, _ = parse_timestamps(frame[end_column], zone=time_zone)
    unreadable = starts.isna() | ends.isna()
    if unreadable.any():
        row = int(np.flatnonzero(unreadable.to_numpy())[0]) + 1
        raise DataError(f"Row {row} of the windows file has a start or end that is not a time.")
    backwards = starts > ends
    if backwards.any():
        row = int(np.flatnonzero(backwards.to_numpy())[0]) + 1
        raise DataError(f"Row {row} of the windows file ends before it starts.")
    return pd.DataFrame({"start": starts.to_numpy(), "end": ends.to_numpy()})


def labels_from_windows(timestamps: pd.Series, windows: pd.DataFrame) -> pd.Series:
    """Labels by timestamp: True inside any window (ends included). Every window must cover at
    least one of the timestamps, or the windows do not belong to this data."""
    times = pd.DatetimeIndex(timestamps)
    labels = np.zeros(len(times), dtype=bool)
    empty = []
    for number, (start, end) in enumerate(windows[["start", "end"]].itertuples(index=False), 1):
        inside = (times >= start) & (times <= end)
        if not inside.any():
            empty.append(number)
        labels |= inside
    if empty:
        raise DataError(
            f"{plural(len(empty), 'window')} of the windows file (row "
            f"{', '.join(map(str, empty[:5]))}) cover no timestamp of this series, which runs "
            f"from {times.min()} to {times.max()}: do the windows belong to this data?"
        )
    return pd.Series(labels, index=times)


def align_labels(labels: pd.Series, timestamps: pd.Series) -> np.ndarray:
    """The labels at each of `timestamps`; a series that shares no timestamp with its labels is
    an error, not an evaluation with no anomalies."""
    times = pd.DatetimeIndex(timestamps)
    shared = times.isin(labels.index)
    if not shared.any():
        raise DataError(
            "The labels' timestamps do not line up with the series': none of them match. "
            "Are they from the same file, and in the same time zone?"
        )
    aligned = labels.reindex(times).fillna(False).to_numpy(dtype=bool)
    if not aligned.any():
        raise DataError("None of the labelled anomalies falls on a timestamp of this series.")
    return aligned
