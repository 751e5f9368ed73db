"""Read uploaded files into tidy series, and report what was wrong with them.

`read_table` turns bytes or a path into a raw table; `infer_schema` guesses which column holds
time, which hold values and whether a column names series; `prepare` applies a schema and
returns the tidy long frame (`series`, `timestamp`, `value`) with a `QualityReport`.
Every failure a user can cause raises `DataError` with a message fit to show them.
"""

from __future__ import annotations

import gzip
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from charset_normalizer import from_bytes

from detection.errors import DataError
from detection.quality import Finding, QualityReport, describe_step

SUPPORTED_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".txt", ".tsv")
MIN_POINTS = 10
TIME_NAME_HINTS = ("timestamp", "time", "date", "datetime", "ts", "epoch", "period", "dt")
_DELIMITERS = (",", ";", "\t", "|")
_OFFSET_RE = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")
_NUMBER_RE = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")
_EPOCH_RANGES = {"s": (1e8, 4.2e9), "ms": (1e11, 4.2e12)}


@dataclass(frozen=True)
class Schema:
    """Which columns hold time, values and (for long files) the series name."""

    time_column: str
    value_columns: tuple[str, ...]
    series_column: str | None = None

    def to_dict(self) -> dict:
        return {
            "time_column": self.time_column,
            "value_columns": list(self.value_columns),
            "series_column": self.series_column,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Schema:
        return cls(
            time_column=data["time_column"],
            value_columns=tuple(data["value_columns"]),
            series_column=data.get("series_column"),
        )


@dataclass
class RawTable:
    """A file read as a table, before any column is interpreted."""

    frame: pd.DataFrame
    findings: list[Finding] = field(default_factory=list)


# --------------------------------------------------------------------------- reading


def read_table(source: bytes | Path, filename: str, *, max_bytes: int, max_rows: int) -> RawTable:
    """Read a `.csv`, `.csv.gz` or `.parquet` file into a raw table."""
    name = filename.lower()
    if not name.endswith(SUPPORTED_SUFFIXES):
        raise DataError(
            f"'{filename}' is not a supported file: upload a .csv, .csv.gz or .parquet file."
        )
    data = source.read_bytes() if isinstance(source, Path) else source
    if len(data) > max_bytes:
        raise DataError(
            f"'{filename}' is {_megabytes(len(data))}, over the {_megabytes(max_bytes)} limit."
        )
    if name.endswith(".parquet"):
        raw = _read_parquet(data, filename)
    else:
        if name.endswith(".gz"):
            data = _gunzip(data, filename, max_bytes)
        raw = _read_csv(data, filename)
    if len(raw.frame.columns) == 0:
        raise DataError(f"'{filename}' is empty: it has no header and no rows.")
    if len(raw.frame) == 0:
        columns = ", ".join(map(str, raw.frame.columns[:8]))
        raise DataError(f"'{filename}' has a header ({columns}) but no data rows.")
    if len(raw.frame) > max_rows:
        raise DataError(
            f"'{filename}' has {len(raw.frame):,} rows; Vigil reads at most {max_rows:,} "
            "per file (VIGIL_MAX_ROWS). Split the file or aggregate it to a coarser step."
        )
    raw.frame.columns = _unique_names(raw.frame.columns)
    return raw


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:,.1f} MB"


def _unique_names(columns: pd.Index) -> list[str]:
    seen: dict[str, int] = {}
    names = []
    for position, column in enumerate(columns):
        text = str(column).strip() or f"column {position + 1}"
        count = seen.get(text, 0)
        seen[text] = count + 1
        names.append(text if count == 0 else f"{text} ({count + 1})")
    return names


def _read_parquet(data: bytes, filename: str) -> RawTable:
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except (pa.ArrowException, OSError, ValueError) as error:
        raise DataError(f"'{filename}' could not be read as Parquet ({error}).") from None
    return RawTable(frame.reset_index(drop=isinstance(frame.index, pd.RangeIndex)))


def _gunzip(data: bytes, filename: str, max_bytes: int) -> bytes:
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            unpacked = stream.read(max_bytes + 1)
    except (OSError, EOFError):
        raise DataError(f"'{filename}' is not a valid gzip file.") from None
    if len(unpacked) > max_bytes:
        raise DataError(f"'{filename}' unpacks to over {_megabytes(max_bytes)}, the upload limit.")
    return unpacked


def _decode(data: bytes, filename: str) -> tuple[str, Finding | None]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), Finding("encoding", 0, "Read as UTF-16.", "info")
    if b"\x00" in data[:8192]:
        raise DataError(f"'{filename}' looks like a binary file, not a CSV text file.")
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    best = from_bytes(data[:200_000]).best()
    encoding = best.encoding if best is not None else "latin-1"
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        encoding, text = "latin-1", data.decode("latin-1")
    note = Finding("encoding", 0, f"The file is not UTF-8; read it as {encoding}.", "info")
    return text, note


def _sniff_delimiter(text: str) -> str:
    lines = [line for line in text[:65_536].splitlines()[:30] if line.strip()]
    if len(lines) > 1:
        lines = lines[:-1]  # the sample may cut the last line short
    best, best_count = ",", 0
    for delimiter in _DELIMITERS:
        counts = [line.count(delimiter) for line in lines]
        if not counts or min(counts) == 0:
            continue
        typical = max(set(counts), key=counts.count)
        consistent = counts.count(typical) >= 0.9 * len(counts)
        if consistent and typical > best_count:
            best, best_count = delimiter, typical
    return best


def _read_csv(data: bytes, filename: str) -> RawTable:
    if not data.strip():
        raise DataError(f"'{filename}' is empty.")
    text, encoding_note = _decode(data, filename)
    findings = [encoding_note] if encoding_note else []
    delimiter = _sniff_delimiter(text)
    if delimiter != ",":
        shown = {"\t": "tabs", ";": "semicolons", "|": "pipes"}[delimiter]
        findings.append(Finding("delimiter", 0, f"Columns are separated by {shown}.", "info"))
    utf8 = data if encoding_note is None else text.encode("utf-8")
    try:
        frame = pd.read_csv(io.BytesIO(utf8), sep=delimiter, engine="pyarrow")
        zoned = [c for c in frame.columns if getattr(frame[c].dtype, "tz", None) is not None]
        if zoned:
            # Keep the text, so each row's own UTC offset can be seen and reported.
            text_columns = pd.read_csv(
                io.BytesIO(utf8),
                sep=delimiter,
                engine="pyarrow",
                usecols=zoned,
                dtype=dict.fromkeys(zoned, "string"),
            )
            frame[zoned] = text_columns[zoned]
    except (pa.ArrowException, ValueError):
        frame, skipped = _read_csv_skipping_bad_lines(utf8, delimiter, filename)
        if skipped:
            findings.append(
                Finding(
                    "malformed_lines",
                    skipped,
                    f"{plural(skipped, 'line')} had the wrong number of fields; skipped.",
                )
            )
    return RawTable(frame, findings)


def _read_csv_skipping_bad_lines(data: bytes, delimiter: str, filename: str):
    try:
        frame = pd.read_csv(
            io.BytesIO(data), sep=delimiter, engine="c", on_bad_lines="skip", low_memory=False
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as error:
        raise DataError(f"'{filename}' could not be read as CSV ({error}).") from None
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    return frame, max(0, lines - 1 - len(frame))


# ------------------------------------------------------------------ schema inference


def _is_textual(series: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(series) or series.dtype == object


def _name_hint(name: str) -> bool:
    lowered = name.lower().strip()
    return lowered in TIME_NAME_HINTS or "time" in lowered or "date" in lowered


def _epoch_unit(values: pd.Series) -> str | None:
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    if numbers.empty:
        return None
    low, high = float(numbers.min()), float(numbers.max())
    for unit, (floor, ceiling) in _EPOCH_RANGES.items():
        if floor <= low and high <= ceiling:
            return unit
    return None


def _time_parse_rate(series: pd.Series) -> float:
    sample = series.dropna().head(500)
    if sample.empty:
        return 0.0
    if pd.api.types.is_datetime64_any_dtype(sample):
        return 1.0
    if not _is_textual(sample):
        return 0.0
    text = sample.astype(str)
    if text.str.match(_NUMBER_RE).mean() > 0.5:
        return 0.0
    parsed = pd.to_datetime(text, errors="coerce", utc=True, format="mixed")
    return float(parsed.notna().mean())


def _numeric_share(series: pd.Series) -> float:
    present = series.dropna()
    if present.empty:
        return 0.0
    if pd.api.types.is_bool_dtype(present):
        return 0.0
    if pd.api.types.is_numeric_dtype(present):
        return 1.0
    if not _is_textual(present):
        return 0.0
    sample = present.head(2000).astype(str).str.strip()
    sample = sample[sample != ""]
    if sample.empty:
        return 0.0
    return float(_to_numbers(sample).notna().mean())


def _is_empty(series: pd.Series) -> bool:
    present = series.dropna()
    if _is_textual(present):
        present = present[present.astype(str).str.strip() != ""]
    return present.empty


def _to_numbers(text: pd.Series) -> pd.Series:
    numbers = pd.to_numeric(text, errors="coerce")
    comma_decimal = text.str.replace(",", ".", regex=False)
    retry = pd.to_numeric(comma_decimal, errors="coerce")
    return numbers.where(numbers.notna(), retry)


def infer_schema(raw: RawTable) -> Schema:
    """Guess the time column, the value columns and a series-name column, if any."""
    frame = raw.frame
    time_column = _find_time_column(frame)
    rest = [c for c in frame.columns if c != time_column]
    empty = [c for c in rest if _is_empty(frame[c])]
    numeric = [c for c in rest if c not in empty and _numeric_share(frame[c]) >= 0.8]
    text = [c for c in rest if c not in numeric and c not in empty]
    series_column = _find_series_column(frame, time_column, text)
    values = numeric
    if not values:
        if empty:
            raise DataError(f"Column '{empty[0]}' has no values: every cell is empty.")
        raise DataError(
            "No numeric column found: Vigil needs at least one column of numbers to watch "
            f"besides the time column '{time_column}'."
        )
    return Schema(time_column, tuple(values), series_column)


def _find_time_column(frame: pd.DataFrame) -> str:
    best: tuple | None = None
    for position, column in enumerate(frame.columns):
        values = frame[column]
        hint = _name_hint(column)
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            if hint and _epoch_unit(values) is not None:
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


# ------------------------------------------------------------------------ preparing


def prepare(raw: RawTable, schema: Schema) -> tuple[pd.DataFrame, QualityReport]:
    """Apply `schema`: a tidy frame sorted by series and time, and what was fixed on the way."""
    frame = raw.frame
    missing = [c for c in (schema.time_column, *schema.value_columns) if c not in frame.columns]
    if schema.series_column and schema.series_column not in frame.columns:
        missing.append(schema.series_column)
    if missing:
        raise DataError(f"The file has no column named {', '.join(map(repr, missing))}.")
    if not schema.value_columns:
        raise DataError("Choose at least one value column.")
    findings = list(raw.findings)
    timestamps, time_findings = parse_timestamps(frame[schema.time_column])
    findings.extend(time_findings)
    keep = timestamps.notna().to_numpy()
    dropped = int((~keep).sum())
    if dropped == len(frame):
        raise DataError(f"No value in column '{schema.time_column}' reads as a date or time.")
    if dropped:
        findings.append(
            Finding(
                "unparseable_timestamps",
                dropped,
                f"{plural(dropped, 'row')} had a timestamp that could not be read; "
                "they were left out.",
            )
        )
    kept_times = timestamps[keep]
    groups = frame.loc[keep, schema.series_column] if schema.series_column else None
    findings.extend(_order_findings(kept_times, groups))
    long = _to_long(frame[keep], kept_times, schema, findings)
    tidy = _clean_each_series(long, findings)
    if len(tidy) < MIN_POINTS:
        raise DataError(
            f"Only {len(tidy)} usable row{'s' if len(tidy) != 1 else ''}: Vigil needs at "
            f"least {MIN_POINTS} points with a timestamp to find anomalies."
        )
    return tidy, _report(tidy, findings)


def parse_timestamps(column: pd.Series) -> tuple[pd.Series, list[Finding]]:
    """Parse a column into naive UTC-or-local datetimes; NaT where a cell does not parse."""
    findings: list[Finding] = []
    if pd.api.types.is_datetime64_any_dtype(column):
        parsed = column
        if getattr(column.dtype, "tz", None) is not None:
            findings.append(
                Finding(
                    "time_zones", 1, "Timestamps carry a time zone; they are shown in UTC.", "info"
                )
            )
    elif pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        unit = _epoch_unit(column)
        if unit is None:
            return pd.Series(pd.NaT, index=column.index, dtype="datetime64[ns]"), findings
        parsed = pd.to_datetime(column, unit=unit, errors="coerce")
        label = "seconds" if unit == "s" else "milliseconds"
        findings.append(Finding("epoch", 0, f"Timestamps are Unix epoch {label}.", "info"))
    else:
        text = column.astype("string").str.strip()
        offsets = text.str.extract(_OFFSET_RE, expand=False).dropna()
        if offsets.empty:
            parsed = pd.to_datetime(text, errors="coerce", format="mixed")
        else:
            parsed = pd.to_datetime(text, errors="coerce", utc=True, format="mixed")
            zones = offsets.replace({"Z": "+00:00"}).str.replace(
                r"^([+-]\d{2})(\d{2})$", r"\1:\2", regex=True
            )
            kinds = zones.nunique() + int(len(offsets) < text.notna().sum())
            message = (
                "Timestamps carry several time zones; all were converted to UTC."
                if kinds > 1
                else "Timestamps carry a time zone; they are shown in UTC."
            )
            findings.append(
                Finding("time_zones", int(kinds), message, "info" if kinds == 1 else "warning")
            )
    if getattr(parsed.dtype, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return _as_nanoseconds(parsed), findings


def _as_nanoseconds(parsed: pd.Series) -> pd.Series:
    """Nanosecond datetimes; dates outside 1677-2262 (that range's limit) become NaT."""
    if parsed.dtype != "datetime64[ns]":
        in_range = parsed.between(pd.Timestamp.min, pd.Timestamp.max) | parsed.isna()
        parsed = parsed.where(in_range)
    return parsed.astype("datetime64[ns]")


def _to_long(
    frame: pd.DataFrame, timestamps: pd.Series, schema: Schema, findings: list[Finding]
) -> pd.DataFrame:
    parts = []
    for column in schema.value_columns:
        values, bad = _numeric_column(frame[column])
        if bad:
            findings.append(
                Finding(
                    "non_numeric",
                    bad,
                    f"{plural(bad, 'cell')} in '{column}' held no number; treated as missing.",
                )
            )
        if np.isnan(values).all():
            findings.append(
                Finding("empty_column", 0, f"Column '{column}' has no numbers; left out.")
            )
            continue
        if schema.series_column:
            groups = frame[schema.series_column].astype("string").fillna("(blank)")
            names = groups if len(schema.value_columns) == 1 else groups + f" · {column}"
        else:
            names = pd.Series(column, index=frame.index, dtype="string")
        parts.append(
            pd.DataFrame(
                {"series": names.to_numpy(), "timestamp": timestamps.to_numpy(), "value": values}
            )
        )
    if not parts:
        chosen = ", ".join(f"'{c}'" for c in schema.value_columns)
        raise DataError(
            f"The value column{'s' if len(parts) != 1 else ''} {chosen} hold no numbers."
        )
    long = pd.concat(parts, ignore_index=True)
    long["series"] = long["series"].astype("string")
    return long


def _numeric_column(column: pd.Series) -> tuple[np.ndarray, int]:
    if pd.api.types.is_bool_dtype(column):
        return column.astype(float).to_numpy(), 0
    if pd.api.types.is_numeric_dtype(column):
        values = column.to_numpy(dtype=float, na_value=np.nan, copy=True)
        values[~np.isfinite(values)] = np.nan
        return values, 0
    text = column.astype("string").str.strip()
    present = text.notna() & (text != "")
    numbers = _to_numbers(text.fillna(""))
    bad = int((present & numbers.isna()).sum())
    values = numbers.to_numpy(dtype=float, na_value=np.nan, copy=True)
    values[~np.isfinite(values)] = np.nan
    return values, bad


def _order_findings(timestamps: pd.Series, groups: pd.Series | None) -> list[Finding]:
    """Unsorted and duplicate rows, counted once per file row (not once per value column)."""
    keys = pd.DataFrame({"group": "" if groups is None else groups, "timestamp": timestamps})
    findings = []
    unsorted = int((keys.groupby("group", sort=False)["timestamp"].diff() < pd.Timedelta(0)).sum())
    if unsorted:
        findings.append(
            Finding("unsorted", unsorted, f"{plural(unsorted, 'row')} out of time order; sorted.")
        )
    repeats = int(keys.duplicated().sum())
    if repeats:
        findings.append(
            Finding(
                "duplicates",
                repeats,
                f"{plural(repeats, 'row')} repeated a timestamp already seen; each repeated "
                "timestamp was merged into one point holding the mean of its values.",
            )
        )
    return findings


def _clean_each_series(long: pd.DataFrame, findings: list[Finding]) -> pd.DataFrame:
    long = long.sort_values(["series", "timestamp"], kind="stable")
    if long.duplicated(["series", "timestamp"]).any():
        long = long.groupby(["series", "timestamp"], sort=True, as_index=False)["value"].mean()
    missing = int(long["value"].isna().sum())
    if missing:
        findings.append(
            Finding(
                "missing",
                missing,
                f"{plural(missing, 'point')} without a value; they stay as gaps and are "
                "never flagged.",
            )
        )
    return long.reset_index(drop=True)


def plural(count: int, noun: str) -> str:
    """'1 row', '2,000 rows'."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def infer_step(timestamps: pd.Series) -> pd.Timedelta | None:
    """The typical step between consecutive timestamps (the median), if there is one."""
    steps = timestamps.diff().dropna()
    steps = steps[steps > pd.Timedelta(0)]
    if steps.empty:
        return None
    return pd.Timedelta(steps.median())


def _report(tidy: pd.DataFrame, findings: list[Finding]) -> QualityReport:
    gaps: set[tuple[pd.Timestamp, pd.Timestamp]] = set()
    missing_points = irregular = 0
    steps = []
    for _, group in tidy.groupby("series", sort=False):
        step = infer_step(group["timestamp"])
        if step is None:
            continue
        steps.append(step)
        times = group["timestamp"]
        diffs = times.diff()
        large = diffs > 1.5 * step
        for start, end in zip(times.shift(1)[large], times[large], strict=True):
            if (start, end) not in gaps:
                gaps.add((start, end))
                missing_points += round((end - start) / step) - 1
        off_grid = (diffs - step).abs() > 0.1 * step
        irregular += int((off_grid & ~large & diffs.notna()).sum())
    step = min(steps) if steps else None
    if gaps:
        findings.append(
            Finding(
                "gaps",
                len(gaps),
                f"{plural(len(gaps), 'gap')} in time, about "
                f"{plural(missing_points, 'missing step')} in all; detectors treat them as "
                "missing values.",
            )
        )
    if irregular:
        findings.append(
            Finding(
                "irregular",
                irregular,
                f"{plural(irregular, 'step')} differ from the usual step ({describe_step(step)}) "
                "by over 10%.",
                "info",
            )
        )
    return QualityReport(
        rows=len(tidy),
        series=tuple(tidy["series"].unique().tolist()),
        start=tidy["timestamp"].min(),
        end=tidy["timestamp"].max(),
        step=step,
        findings=findings,
    )


def series_frame(tidy: pd.DataFrame, name: str) -> pd.DataFrame:
    """One series of a tidy frame as a `timestamp`/`value` frame."""
    chosen = tidy[tidy["series"] == name]
    if chosen.empty:
        raise DataError(f"This data set has no series named '{name}'.")
    return chosen[["timestamp", "value"]].reset_index(drop=True)
