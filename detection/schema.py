"""Which column holds time, which hold values, and whether one names the series.

`infer_schema` guesses from names and contents; the user can override any of it. The column
helpers here (what reads as a number, as a time, as Unix epoch) are shared with `tidy`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from vigil.detection import timeformat
from vigil.detection.errors import DataError
from vigil.detection.io import RawTable

TIME_NAME_HINTS = ("timestamp", "time", "date", "datetime", "ts", "epoch", "period", "dt")
NUMBER_RE = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")
EpochUnit = Literal["s", "ms"]
EPOCH_RANGES: dict[EpochUnit, tuple[float, float]] = {"s": (1e8, 4.2e9), "ms": (1e11, 4.2e12)}
LABEL_NAMES = ("label", "labels", "is_anomaly", "anomaly", "anomalies", "target", "outlier")
DECIMAL_COMMA_RE = re.compile(r"^\s*[-+]?\d+,\d+\s*$")


@dataclass(frozen=True)
class Schema:
    """Which columns hold time, values and (for long files) the series name, and the one
    date format the time column is read with (None: found from its cells when read;
    `time_format_reason` says why an undecided day/month order was taken), and the IANA time
    zone of times written without one (UTC unless chosen; data sets kept before it was
    chosen mean UTC)."""

    time_column: str
    value_columns: tuple[str, ...]
    series_column: str | None = None
    time_format: str | None = None
    time_format_reason: str = ""
    time_zone: str = "UTC"

    def to_dict(self) -> dict[str, Any]:
        return {
            "time_column": self.time_column,
            "value_columns": list(self.value_columns),
            "series_column": self.series_column,
            "time_format": self.time_format,
            "time_format_reason": self.time_format_reason,
            "time_zone": self.time_zone,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schema:
        return cls(
            time_column=data["time_column"],
            value_columns=tuple(data["value_columns"]),
            series_column=data.get("series_column"),
            time_format=data.get("time_format"),
            time_format_reason=data.get("time_format_reason", ""),
            time_zone=data.get("time_zone") or "UTC",
        )


def is_textual(series: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(series) or series.dtype == object


def _name_hint(name: str) -> bool:
    lowered = name.lower().strip()
    return lowered in TIME_NAME_HINTS or "time" in lowered or "date" in lowered


def epoch_unit(values: pd.Series) -> EpochUnit | None:
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    if numbers.empty:
        return None
    low, high = float(numbers.min()), float(numbers.max())
    for unit, (floor, ceiling) in EPOCH_RANGES.items():
        if floor <= low and high <= ceiling:
            return unit
    return None


def _time_parse_rate(series: pd.Series) -> float:
    sample = series.dropna().head(500)
    if sample.empty:
        return 0.0
    if pd.api.types.is_datetime64_any_dtype(sample):
        return 1.0
    if not is_textual(sample):
        return 0.0
    text = sample.astype(str).str.strip()
    if to_numbers(text).notna().mean() > 0.5:
        return 0.0  # numbers, decimal commas too ("20,5" is not 20 May)
    found = timeformat.infer(text)
    if found is None:
        return 0.0
    return float(timeformat.parse(text, found.pattern).notna().mean())


def _numeric_share(series: pd.Series) -> float:
    present = series.dropna()
    if present.empty:
        return 0.0
    if pd.api.types.is_bool_dtype(present):
        return 0.0
    if pd.api.types.is_numeric_dtype(present):
        return 1.0
    if not is_textual(present):
        return 0.0
    sample = present.head(2000).astype(str).str.strip()
    sample = sample[sample != ""]
    if sample.empty:
        return 0.0
    return float(to_numbers(sample).notna().mean())


def _is_empty(series: pd.Series) -> bool:
    present = series.dropna()
    if is_textual(present):
        present = present[present.astype(str).str.strip() != ""]
    return present.empty


def to_numbers(text: pd.Series) -> pd.Series:
    numbers = pd.to_numeric(text, errors="coerce")
    comma_decimal = text.str.replace(",", ".", regex=False)
    retry = pd.to_numeric(comma_decimal, errors="coerce")
    return numbers.where(numbers.notna(), retry)


def is_label_name(name: str) -> bool:
    """Columns that hold anomaly labels rather than a series to watch."""
    return name.lower().strip() in LABEL_NAMES


def conventions(raw: RawTable) -> timeformat.Conventions:
    """The file's delimiter, and whether its numbers are written with decimal commas."""
    commas = False
    for column in raw.frame.columns:
        values = raw.frame[column].dropna().head(500)
        textual = is_textual(values) and not values.empty
        if textual and values.astype(str).str.match(DECIMAL_COMMA_RE).mean() > 0.5:
            commas = True
            break
    return timeformat.Conventions(delimiter=raw.delimiter, decimal_commas=commas)


def time_format_of(raw: RawTable, column: str) -> timeformat.TimeFormat | None:
    """The one format a text column of times is read with; None for other columns."""
    values = raw.frame[column]
    if not is_textual(values):
        return None
    return timeformat.infer(values, conventions(raw))


def infer_schema(raw: RawTable) -> Schema:
    """Guess the time column and its date format, the value columns and a series-name
    column, if any. A column of numbers never passes for times. A column named like a label
    (`label`, `is_anomaly`, ...) is not offered as a series when others are."""
    frame = raw.frame
    time_column = _find_time_column(frame)
    found = time_format_of(raw, time_column)
    rest = [c for c in frame.columns if c != time_column]
    empty = [c for c in rest if _is_empty(frame[c])]
    # one pass, with sets, so the work grows with the columns, not their square
    numeric: list[str] = []
    text: list[str] = []
    skipped = set(empty)
    for column in rest:
        if column in skipped:
            continue
        (numeric if _numeric_share(frame[column]) >= 0.8 else text).append(column)
    series_column = _find_series_column(frame, time_column, text)
    values = [c for c in numeric if not is_label_name(c)] or numeric
    if not values:
        if empty:
            raise DataError(f"Column '{empty[0]}' has no values: every cell is empty.")
        raise DataError(
            "No numeric column found: Vigil needs at least one column of numbers to watch "
            f"besides the time column '{time_column}'."
        )
    return Schema(
        time_column,
        tuple(values),
        series_column,
        None if found is None else found.pattern,
        "" if found is None else found.reason,
    )


def best_guess(raw: RawTable) -> Schema:
    """`infer_schema`'s guess, or when it finds none, a start for the user to correct: the
    first column named like time (else the first), every other numeric column as values."""
    try:
        return infer_schema(raw)
    except DataError:
        pass
    columns = list(raw.frame.columns)
    time_column = next((c for c in columns if _name_hint(c)), columns[0])
    values = tuple(c for c in columns if c != time_column and _numeric_share(raw.frame[c]) >= 0.8)
    return Schema(time_column, values)


def _find_time_column(frame: pd.DataFrame) -> str:
    best: tuple[tuple[bool, float, int], str] | None = None
    for position, column in enumerate(frame.columns):
        values = frame[column]
        hint = _name_hint(column)
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            if hint and epoch_unit(values) is not None:
                rate = 1.0
            else:
                continue
        else:
            rate = _time_parse_rate(values)
        if rate < 0.8:
            continue
        key = (hint, rate, -position)
        if best is None or key > best[0]:
            best = (key, column)
    if best is None:
        columns = ", ".join(f"'{c}'" for c in frame.columns[:8])
        raise DataError(
            f"No timestamp column found: none of the columns ({columns}) reads as dates "
            "or times. Add a column of dates (for example 2024-01-31 14:00) named 'timestamp'."
        )
    return best[1]


def _find_series_column(frame: pd.DataFrame, time_column: str, candidates: list[str]) -> str | None:
    if not candidates:
        return None
    rows = len(frame)
    distinct_times = frame[time_column].nunique(dropna=True)
    if distinct_times >= 0.9 * rows:
        return None
    best: tuple[float, str] | None = None
    for column in candidates:
        groups = frame[column].nunique(dropna=True)
        if not 2 <= groups <= min(200, rows // 2):
            continue
        fit = abs(groups - rows / max(distinct_times, 1))
        if best is None or fit < best[0]:
            best = (fit, column)
    return best[1] if best else None
