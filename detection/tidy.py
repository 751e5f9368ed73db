"""Turn a raw table and its schema into tidy series, and say what had to be fixed.

The tidy frame has one row per point: `series` (categorical), `timestamp` (datetime64[ns])
and `value` (float), sorted by series, then time, with one point per timestamp. The work is
done on numpy arrays: sorting and merging cost nothing when the file is already clean.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd

from vigil.detection import timeformat
from vigil.detection.errors import DataError
from vigil.detection.io import RawTable
from vigil.detection.names import cleaned_names
from vigil.detection.quality import Finding, QualityReport, describe_step, plural
from vigil.detection.schema import Schema, epoch_unit, is_textual, time_format_of, to_numbers
from vigil.detection.zones import REPEATED_RULE, SKIPPED_RULE, UTC, checked_zone, read_in_zone

MIN_POINTS = 10
_OFFSET_RE = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")


def prepare(raw: RawTable, schema: Schema) -> tuple[pd.DataFrame, QualityReport]:
    """Apply `schema`: a tidy frame sorted by series and time, and what was fixed on the way."""
    frame = raw.frame
    wanted = [schema.time_column, *schema.value_columns]
    if schema.series_column:
        wanted.append(schema.series_column)
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise DataError(f"The file has no column named {', '.join(map(repr, missing))}.")
    if not schema.value_columns:
        raise DataError("Choose at least one value column.")
    if schema.time_column in schema.value_columns or schema.series_column == schema.time_column:
        raise DataError(f"'{schema.time_column}' cannot be both the time and another column.")

    findings = list(raw.findings)
    time_format = _time_format(raw, schema)
    keys = frame[schema.series_column] if schema.series_column else None
    timestamps, time_findings = parse_timestamps(
        frame[schema.time_column], time_format, zone=checked_zone(schema.time_zone), keys=keys
    )
    findings.extend(time_findings)
    unreadable = np.isnat(timestamps.to_numpy())
    dropped = int(unreadable.sum())
    keep = ~unreadable
    if dropped == len(frame):
        shown = "" if time_format is None else f" as {timeformat.readable(time_format.pattern)}"
        raise DataError(
            f"No value in column '{schema.time_column}' reads as a date or time{shown}."
        )
    if dropped:
        findings.append(_unreadable_finding(frame[schema.time_column], unreadable))
    everything = not dropped
    times = timestamps.to_numpy().view("int64")
    if not everything:
        times = times[keep]
    groups: list[str] | None
    if schema.series_column:
        labels = frame[schema.series_column]
        labels = (labels if everything else labels[keep]).astype("string").fillna("(blank)")
        codes, uniques = pd.factorize(labels)
        groups = [str(group) for group in uniques]
    else:
        codes, groups = np.zeros(len(times), dtype=np.intp), None
    order, unsorted, repeats = _sort_order(codes, times, grouped=groups is not None)
    if unsorted:
        findings.append(
            Finding("unsorted", unsorted, f"{plural(unsorted, 'row')} out of time order; sorted.")
        )
    if order is not None:
        codes, times = codes[order], times[order]

    columns = _value_columns(frame, schema, None if everything else keep, order, findings)
    if repeats:
        findings.append(
            Finding(
                "duplicates",
                repeats,
                f"{plural(repeats, 'row')} repeated a timestamp already seen; each repeated "
                "timestamp was merged into one point holding the mean of its values.",
            )
        )
        codes, times, columns = _merge_repeats(codes, times, columns)

    if raw.name:
        columns = [(raw.name if n.strip().lower() == "value" else n, v) for n, v in columns]
    tidy = _to_long(codes, times, groups, columns)
    names, renamed = cleaned_names(list(tidy["series"].cat.categories))
    if renamed:
        tidy["series"] = tidy["series"].cat.rename_categories(names)
        findings.append(
            Finding(
                "series_names",
                renamed,
                f"{plural(renamed, 'series name')} held a line break, control or text-direction "
                "character; each such character was replaced by a space.",
            )
        )
    shared_times = times if groups is None else None
    missing_values = int(tidy["value"].isna().sum())
    if missing_values:
        findings.append(
            Finding(
                "missing",
                missing_values,
                f"{plural(missing_values, 'point')} without a value; they stay as gaps and are "
                "never flagged.",
            )
        )
    if len(tidy) < MIN_POINTS:
        raise DataError(
            f"Only {len(tidy)} usable row{'s' if len(tidy) != 1 else ''}: Vigil needs at "
            f"least {MIN_POINTS} points with a timestamp to find anomalies."
        )
    report = _report(tidy, findings, shared_times)
    report.lines = len(frame)
    return tidy, report


def _time_format(raw: RawTable, schema: Schema) -> timeformat.TimeFormat | None:
    """The schema's date format for a text time column, else the one its cells suggest."""
    column = raw.frame[schema.time_column]
    if not is_textual(column):
        return None
    if schema.time_format:
        return timeformat.TimeFormat(schema.time_format, schema.time_format_reason)
    return time_format_of(raw, schema.time_column)


def _unreadable_finding(column: pd.Series, unreadable: np.ndarray) -> Finding:
    """How many rows were left out for their timestamp, with the first such cell and line."""
    position = int(unreadable.argmax())
    cell = column.iloc[position]
    shown = "an empty cell" if pd.isna(cell) or not str(cell).strip() else f"'{str(cell)[:40]}'"
    count = int(unreadable.sum())
    return Finding(
        "unparseable_timestamps",
        count,
        f"{plural(count, 'row')} had a timestamp that could not be read (first: {shown}, "
        f"line {position + 2} of the file); left out.",
    )


def _format_finding(
    column: pd.Series, found: timeformat.TimeFormat, zone: str = UTC
) -> Finding | None:
    """What a date whose day and month could be swapped was read as, and why."""
    if found.pattern == timeformat.MIXED:
        return Finding(
            "time_format",
            0,
            "Dates are written in several formats; each was read on its own.",
            "warning",
        )
    if not timeformat.day_and_month_order_matter(found.pattern):
        return None
    shown = timeformat.example(column, found.pattern)
    if shown is None:
        return None
    cell, stamp = shown
    message = (
        f"Dates read as {timeformat.readable(found.pattern)}: "
        f"read {cell} as {timeformat.spoken(stamp)} {_zone_words(cell, stamp, zone)}."
    )
    if found.reason:
        message += (
            f" No day is above 12, so the order was {found.reason}; "
            "choose the other date format if that is wrong."
        )
    return Finding("time_format", 0, message, "warning" if found.reason else "info")


def _zone_words(cell: str, stamp: pd.Timestamp, zone: str) -> str:
    """The zone an example time is in, as said after it: 'CET (Europe/Berlin)', 'UTC'
    (also for a cell with its own offset, which the example shows in UTC)."""
    if zone == UTC or _OFFSET_RE.search(cell):
        return UTC
    local = pd.Timestamp(stamp).tz_localize(zone, ambiguous=True, nonexistent="shift_forward")
    name = local.tzname() or ""
    return zone if not name or name[:1] in "+-" else f"{name} ({zone})"


def parse_timestamps(
    column: pd.Series,
    time_format: timeformat.TimeFormat | None = None,
    *,
    zone: str = UTC,
    keys: pd.Series | None = None,
) -> tuple[pd.Series, list[Finding]]:
    """Parse a column into naive UTC datetimes; NaT where unreadable. Text is read with one
    format throughout: `time_format`, else the one its cells suggest. Times written with an
    offset (or Z) keep it; times without one are wall-clock times in `zone` (see
    `detection.zones` for the daylight-saving hours); Unix epoch numbers are UTC. `keys`
    names each row's series in a long file."""
    findings: list[Finding] = []
    naive = pd.Series(True, index=column.index)
    if pd.api.types.is_datetime64_any_dtype(column):
        parsed = column
        if getattr(column.dtype, "tz", None) is not None:
            naive[:] = False
            findings.append(
                Finding("time_zones", 1, "Times carry their own time zone; kept.", "info")
            )
    elif pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        unit = epoch_unit(column)
        if unit is None:
            return pd.Series(pd.NaT, index=column.index, dtype="datetime64[ns]"), findings
        parsed = pd.to_datetime(column, unit=unit, errors="coerce")
        label = "seconds" if unit == "s" else "milliseconds"
        findings.append(Finding("epoch", 0, f"Timestamps are Unix epoch {label} (UTC).", "info"))
        zone = UTC
    else:
        text = column.astype("string").str.strip()
        found = time_format or timeformat.infer(text)
        if found is None:
            return pd.Series(pd.NaT, index=column.index, dtype="datetime64[ns]"), findings
        note = _format_finding(text, found, zone)
        if note is not None:
            findings.append(note)
        parsed = timeformat.parse(text, found.pattern, dayfirst=_day_first(found))
        offsets = text.str.extract(_OFFSET_RE, expand=False)
        with_offset = offsets.notna().astype(bool)
        naive = ~with_offset
        if with_offset.any():
            offsets = offsets[with_offset]
            findings.append(_zone_finding(offsets, int(text.notna().sum()), zone))
    if getattr(parsed.dtype, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    parsed = _as_nanoseconds(parsed)
    if zone != UTC and naive.any():
        local = read_in_zone(parsed[naive], zone, None if keys is None else keys[naive])
        parsed = parsed.where(~naive, local.times)
        findings.extend(_daylight_saving_findings(local.skipped, local.repeated, zone))
    return parsed, findings


def _day_first(found: timeformat.TimeFormat) -> bool:
    return found.pattern == timeformat.MIXED and "day-first" in found.reason


def _zone_finding(offsets: pd.Series, present: int, zone: str) -> Finding:
    zones = offsets.replace({"Z": "+00:00"}).str.replace(
        r"^([+-]\d{2})(\d{2})$", r"\1:\2", regex=True
    )
    naive = present - len(offsets)
    if naive:
        message = (
            f"{plural(len(offsets), 'time')} carry their own offset and keep it; "
            f"{plural(naive, 'time')} without one were read in {zone}."
        )
        return Finding("time_zones", int(zones.nunique()) + 1, message, "warning")
    several = zones.nunique() > 1
    shown = ", ".join(zones.drop_duplicates().head(3))
    message = (
        f"Times carry their own offsets ({shown}) and keep them"
        if several
        else f"Times carry their own offset ({shown}) and keep it"
    )
    if zone != UTC:
        message += f"; the zone for times without one ({zone}) is not needed"
    return Finding(
        "time_zones", int(zones.nunique()), message + ".", "warning" if several else "info"
    )


def _daylight_saving_findings(skipped: int, repeated: int, zone: str) -> list[Finding]:
    """What was done with times in the hours daylight saving skips or repeats in `zone`."""
    findings = []
    if skipped:
        message = (
            f"{plural(skipped, 'time')} fell in an hour skipped when clocks went forward in "
            f"{zone}, so never happened there; {SKIPPED_RULE}."
        )
        findings.append(Finding("daylight_saving", skipped, message, "warning"))
    if repeated:
        message = (
            f"{plural(repeated, 'time')} fell in an hour repeated when clocks went back in "
            f"{zone}; {REPEATED_RULE}."
        )
        findings.append(Finding("daylight_saving", repeated, message, "info"))
    return findings


def _as_nanoseconds(parsed: pd.Series) -> pd.Series:
    """Nanosecond datetimes; dates outside 1677-2262 (that range's limit) become NaT."""
    try:
        return parsed.astype("datetime64[ns]")
    except (pd.errors.OutOfBoundsDatetime, OverflowError):
        in_range = parsed.between(pd.Timestamp.min, pd.Timestamp.max) | parsed.isna()
        return parsed.where(in_range).astype("datetime64[ns]")


def _sort_order(
    codes: np.ndarray, times: np.ndarray, *, grouped: bool
) -> tuple[np.ndarray | None, int, int]:
    """The order that sorts rows by series then time (None if already so), how many rows were
    out of order within their series, and how many repeat a timestamp of their series.
    """
    order: np.ndarray | None
    if grouped:
        by_series = np.argsort(codes, kind="stable")  # file order kept within a series
        same = codes[by_series][1:] == codes[by_series][:-1]
        in_file_order = times[by_series]
        unsorted = int(((in_file_order[1:] < in_file_order[:-1]) & same).sum())
        order = by_series if unsorted == 0 else np.lexsort((times, codes))
        if np.array_equal(order, np.arange(len(order))):
            order = None
    else:
        steps = np.diff(times)
        unsorted = int((steps < 0).sum())
        if unsorted == 0:
            return None, 0, int((steps == 0).sum())
        order = np.argsort(times, kind="stable")
        return order, unsorted, int((np.diff(times[order]) == 0).sum())
    sorted_codes = codes if order is None else codes[order]
    sorted_times = times if order is None else times[order]
    repeats = (np.diff(sorted_times) == 0) & (sorted_codes[1:] == sorted_codes[:-1])
    return order, unsorted, int(repeats.sum())


def _value_columns(
    frame: pd.DataFrame,
    schema: Schema,
    keep: np.ndarray | None,
    order: np.ndarray | None,
    findings: list[Finding],
) -> list[tuple[str, np.ndarray]]:
    columns = []
    for column in schema.value_columns:
        values, bad = numeric_column(frame[column])
        if bad:
            findings.append(
                Finding(
                    "non_numeric",
                    bad,
                    f"{plural(bad, 'cell')} in '{column}' held no number; treated as missing.",
                )
            )
        if keep is not None:
            values = values[keep]
        if order is not None:
            values = values[order]
        if not (values == values).any():  # all NaN
            findings.append(
                Finding("empty_column", 0, f"Column '{column}' has no numbers; left out.")
            )
            continue
        columns.append((column, values))
    if not columns:
        chosen = ", ".join(f"'{c}'" for c in schema.value_columns)
        raise DataError(f"The chosen value columns ({chosen}) hold no numbers.")
    return columns


def numeric_column(column: pd.Series) -> tuple[np.ndarray, int]:
    """A column as floats (NaN where missing or not finite) and how many cells were not numbers."""
    if pd.api.types.is_bool_dtype(column):
        return column.astype(float).to_numpy(), 0
    if pd.api.types.is_numeric_dtype(column):
        values = column.to_numpy(dtype=float, na_value=np.nan)
        # fmax/fmin skip NaN and allocate nothing: the common no-infinity case stays cheap
        if len(values) and (np.fmax.reduce(values) == np.inf or np.fmin.reduce(values) == -np.inf):
            values = np.where(np.isinf(values), np.nan, values)
        return values, 0
    text = column.astype("string").str.strip()
    present = text.notna() & (text != "")
    numbers = to_numbers(text.fillna(""))
    bad = int((present & numbers.isna()).sum())
    values = numbers.to_numpy(dtype=float, na_value=np.nan, copy=True)
    values[~np.isfinite(values)] = np.nan
    return values, bad


def _merge_repeats(
    codes: np.ndarray, times: np.ndarray, columns: list[tuple[str, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray, list[tuple[str, np.ndarray]]]:
    """One point per series and timestamp, holding the mean of the repeated rows' values."""
    keys = pd.DataFrame(
        {"code": codes, "time": times, **{str(i): v for i, (_, v) in enumerate(columns)}}
    )
    merged = keys.groupby(["code", "time"], sort=True).mean()
    return (
        merged.index.get_level_values("code").to_numpy(),
        merged.index.get_level_values("time").to_numpy(),
        [(name, merged[str(i)].to_numpy()) for i, (name, _) in enumerate(columns)],
    )


def _to_long(
    codes: np.ndarray,
    times: np.ndarray,
    groups: list[str] | None,
    columns: list[tuple[str, np.ndarray]],
) -> pd.DataFrame:
    """Stack value columns into one long frame whose series codes increase block by block."""
    names = [name for name, _ in columns]
    if groups is None:
        categories = names
        code_type = np.min_scalar_type(len(categories))  # small codes: less memory to touch
        series_codes = np.repeat(np.arange(len(columns), dtype=code_type), len(times))
    else:
        categories = [
            group if len(columns) == 1 else f"{group} · {name}"
            for name in names
            for group in groups
        ]
        series_codes = np.concatenate([j * len(groups) + codes for j in range(len(columns))])
    timestamps = np.tile(times, len(columns)).view("datetime64[ns]")
    values = np.concatenate([values for _, values in columns])
    series = pd.Categorical.from_codes(series_codes, categories=pd.Index(categories))
    return pd.DataFrame({"series": series, "timestamp": timestamps, "value": values}, copy=False)


def infer_step(timestamps: pd.Series) -> pd.Timedelta | None:
    """The typical step between consecutive timestamps (the median), if there is one."""
    step = typical_step(np.diff(timestamps.to_numpy(dtype="datetime64[ns]").view("int64")))
    return None if step is None else pd.Timedelta(step, unit="ns")


def typical_step(diffs: np.ndarray, sample: int = 100_000) -> int | None:
    """The median of the positive differences, in nanoseconds (from an even sample of them
    when there are many: the median of 100,000 is as telling as that of millions)."""
    if diffs.size > sample:
        diffs = diffs[:: diffs.size // sample]
    positive = diffs[diffs > 0]
    return int(np.median(positive)) if positive.size else None


def _report(
    tidy: pd.DataFrame, findings: list[Finding], shared_times: np.ndarray | None = None
) -> QualityReport:
    """Step, gaps and irregular steps, per series; `shared_times` when every series has the
    same timestamps (a wide file), so they are measured once."""
    if shared_times is not None:
        slices = [shared_times]
    else:
        codes = tidy["series"].cat.codes.to_numpy()
        times = tidy["timestamp"].to_numpy().view("int64")
        bounds = np.searchsorted(codes, np.arange(len(tidy["series"].cat.categories) + 1))
        slices = [times[start:end] for start, end in itertools.pairwise(bounds)]
    gap_edges: list[np.ndarray] = []
    irregular = 0
    steps: list[int] = []
    for series_times in slices:
        diffs = np.diff(series_times)
        series_step = typical_step(diffs)
        if series_step is None:
            continue
        steps.append(series_step)
        large = diffs > 1.5 * series_step
        gap_edges.append(np.column_stack([series_times[:-1][large], series_times[1:][large]]))
        off_step = np.count_nonzero(diffs < 0.9 * series_step) + np.count_nonzero(
            diffs > 1.1 * series_step
        )
        irregular += int(off_step) - int(np.count_nonzero(large))  # gaps are counted as gaps
    step = pd.Timedelta(min(steps), unit="ns") if steps else None
    gaps = np.unique(np.concatenate(gap_edges), axis=0) if gap_edges else np.empty((0, 2))
    if len(gaps) and step is not None:  # a series has gaps only if it has a step
        missing_steps = int((np.round((gaps[:, 1] - gaps[:, 0]) / step.value) - 1).sum())
        findings.append(
            Finding(
                "gaps",
                len(gaps),
                f"{plural(len(gaps), 'gap')} in time, about "
                f"{plural(missing_steps, 'missing step')} in all; detectors treat them as "
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
        series=tuple(str(name) for name in tidy["series"].cat.categories),
        start=pd.Timestamp(times.min() if shared_times is None else shared_times[0]),
        end=pd.Timestamp(times.max() if shared_times is None else shared_times[-1]),
        step=step,
        findings=findings,
    )


def series_frame(tidy: pd.DataFrame, name: str) -> pd.DataFrame:
    """One series of a tidy frame as a `timestamp`/`value` frame."""
    chosen = tidy[tidy["series"] == name]
    if chosen.empty:
        raise DataError(f"This data set has no series named '{name}'.")
    return chosen[["timestamp", "value"]].reset_index(drop=True)
