"""Reading the points of an ingest request: `{"points": [{"timestamp": ..., "value": ...}]}`.

A timestamp is an ISO 8601 string (an offset is converted to UTC; none means UTC) or a number
of seconds since 1970. A value is a finite number. Each point that breaks a rule is refused
with its reason; the others are kept, sorted by time, the last of repeated times winning.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from pandas.api.typing import NaTType

from vigil.detection.names import name_problem
from vigil.live.labels import LabelError, read_labels

#: Most points one request may carry (of one series, or of many together).
MAX_POINTS = 10_000
#: Most series one request of many series' points may carry.
MAX_SERIES = 5_000
#: Reasons listed in an answer; the rest are counted.
MAX_REASONS = 20
EARLIEST = pd.Timestamp("1970-01-01")
LATEST = pd.Timestamp("2200-01-01")
LIMIT_SECONDS = (LATEST - EARLIEST).total_seconds()


class BodyError(ValueError):
    """The request as a whole is malformed; `reasons` says how."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


class TooManyPoints(BodyError):
    """The request holds more than `MAX_POINTS` points: split it (HTTP 413)."""


@dataclass
class Batch:
    """The points of one request that can be kept, and why the others cannot."""

    timestamps: np.ndarray  # int64 ns since the epoch, UTC, sorted and unique
    values: np.ndarray  # float64, finite
    rejected: int = 0
    reasons: list[str] = field(default_factory=list)
    repeated: int = 0  # points whose time came again later in the same request
    labels: dict[str, str] | None = None  # the series' labels when the request gives them

    def refuse(self, index: int, why: str) -> None:
        self.rejected += 1
        if len(self.reasons) < MAX_REASONS:
            self.reasons.append(f"point {index}: {why}")


def check_series_name(name: str) -> str:
    """The name stripped, or a ValueError that says what a name may be (`detection.names`)."""
    problem = name_problem(name)
    if problem is not None:
        raise ValueError(problem)
    return name.strip()


def read_batch(body: object, *, not_after: pd.Timestamp | None = None) -> Batch:
    """The points of a decoded JSON body, and its series' labels when it has `labels`
    (`live.labels`); BodyError when the body's shape or its labels are wrong. Points
    later than `not_after` (naive UTC) are refused: a clock far ahead would make every later
    real point look late."""
    if not isinstance(body, dict) or "points" not in body:
        raise BodyError(['The body must be a JSON object with a "points" list.'])
    points = body["points"]
    if not isinstance(points, list):
        raise BodyError(['"points" must be a list.'])
    if len(points) > MAX_POINTS:
        raise TooManyPoints([f"At most {MAX_POINTS:,} points a request, not {len(points):,}."])
    batch = Batch(np.empty(0, dtype=np.int64), np.empty(0))
    if "labels" in body:
        try:
            batch.labels = read_labels(body["labels"])
        except LabelError as error:
            raise BodyError(error.reasons) from None
    rows: list[int] = []  # request positions of the points that pass the plain checks
    stamps: list[str | int | float] = []
    values: list[float] = []
    for index, point in enumerate(points):
        if not isinstance(point, dict):
            batch.refuse(index, 'not an object with "timestamp" and "value"')
            continue
        stamp, value = point.get("timestamp"), point.get("value")
        if stamp is None:
            batch.refuse(index, "no timestamp")
        elif isinstance(stamp, bool) or not isinstance(stamp, str | int | float):
            batch.refuse(index, f"timestamp {_show(stamp)} is neither a string nor a number")
        elif isinstance(value, bool) or not isinstance(value, int | float):
            batch.refuse(index, f"value {_show(value)} is not a number")
        elif not _finite(value):
            batch.refuse(index, "value is not a finite number of at most 1.8e308")
        else:
            rows.append(index)
            stamps.append(stamp)
            values.append(float(value))
    times = _timestamps(stamps)
    readable = times != NOT_A_TIME
    for position in np.flatnonzero(~readable):
        batch.refuse(
            rows[position],
            f"timestamp {_show(stamps[position])} is not an ISO 8601 time between 1970 and "
            "2200, nor seconds since 1970",
        )
    if not_after is not None:
        ahead = readable & (times > pd.Timestamp(not_after).value)
        for position in np.flatnonzero(ahead):
            batch.refuse(
                rows[position],
                f"timestamp {_show(stamps[position])} is later than "
                f"{pd.Timestamp(not_after).isoformat()}Z, too far ahead of the server's clock",
            )
        readable &= ~ahead
    times, kept_values = times[readable], np.asarray(values, dtype=float)[readable]
    # sort by time; of repeated times, the last one sent wins
    order = np.lexsort((np.arange(len(times)), times))
    times, kept_values = times[order], kept_values[order]
    last = np.append(times[1:] != times[:-1], True) if len(times) else np.ones(0, dtype=bool)
    batch.repeated = int((~last).sum())
    batch.timestamps, batch.values = times[last], kept_values[last]
    batch.reasons.sort(key=lambda reason: int(reason.split()[1].rstrip(":")))
    return batch


NOT_A_TIME = np.iinfo(np.int64).min


def _timestamps(raw: list[str | int | float]) -> np.ndarray:
    """ns since the epoch (UTC) of each string or number; NOT_A_TIME where there is none
    between 1970 and 2200. Parsed together: one request's strings share a format."""
    out = np.full(len(raw), NOT_A_TIME, dtype=np.int64)
    text = [i for i, stamp in enumerate(raw) if isinstance(stamp, str)]
    strings = [stamp for stamp in raw if isinstance(stamp, str)]
    few = _few_times(strings) if len(strings) <= FEW else None
    if few is not None:
        out[text] = few
    elif text:
        parsed = pd.to_datetime(
            pd.Series(strings, dtype=object),
            utc=True,
            errors="coerce",
            format="ISO8601",
        )
        if parsed.isna().any():  # mixed formats: one at a time
            parsed = pd.Series([_one_time(s) for s in strings], dtype="datetime64[ns, UTC]")
        # outside 1970 to 2200 (where nanoseconds may not reach) is not a time here
        inside = (parsed >= EARLIEST.tz_localize("UTC")) & (parsed < LATEST.tz_localize("UTC"))
        parsed = parsed.where(inside)
        stamps = parsed.dt.tz_localize(None).astype("datetime64[ns]").to_numpy()
        out[text] = np.where(pd.isna(stamps), NOT_A_TIME, stamps.view("int64"))
    numbers = [i for i, stamp in enumerate(raw) if not isinstance(stamp, str)]
    if numbers:
        given = [stamp for stamp in raw if not isinstance(stamp, str)]
        seconds = np.asarray([_float(number) for number in given], dtype=float)
        ok = np.isfinite(seconds) & (seconds >= 0) & (seconds < LIMIT_SECONDS)
        out[numbers] = np.where(ok, np.round(np.where(ok, seconds, 0) * 1e9), NOT_A_TIME)
    low, high = EARLIEST.value, LATEST.value
    return np.where((out >= low) & (out < high), out, NOT_A_TIME)


#: Up to this many strings, plain ISO 8601 times are read one by one (a request of a few
#: points is most of what a collector sends; pandas' fixed cost is most of reading those).
FEW = 32
#: The ISO 8601 times read the same by `datetime.fromisoformat` and pandas: a date, maybe a
#: time to the minute, second or microsecond, maybe Z or an offset.
_PLAIN_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?(?:Z|[+-]\d{2}:\d{2})?"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _few_times(strings: list[str]) -> np.ndarray | None:
    """ns since the epoch of plain ISO 8601 times (NOT_A_TIME outside 1970 to 2200), read
    as pandas would read them; None when one is not plain, for pandas to read them all."""
    out = np.empty(len(strings), dtype=np.int64)
    for position, stamp in enumerate(strings):
        if not _PLAIN_TIME.fullmatch(stamp):
            return None
        try:
            moment = datetime.fromisoformat(stamp)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            inside = EARLIEST.year <= moment.astimezone(UTC).year < LATEST.year
        except (ValueError, OverflowError):  # a 13th month, year 1 behind UTC: pandas says
            return None
        out[position] = (moment - _EPOCH) // _MICROSECOND * 1000 if inside else NOT_A_TIME
    return out


def _one_time(raw: str) -> pd.Timestamp | NaTType:
    try:
        stamp = pd.Timestamp(raw)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
    except (ValueError, OverflowError, pd.errors.OutOfBoundsDatetime):
        return pd.NaT
    if not EARLIEST.tz_localize("UTC") <= stamp < LATEST.tz_localize("UTC"):
        return pd.NaT
    return stamp


def _float(number: int | float) -> float:
    """`number` as a float; an integer past a float's range is infinite (and so refused)."""
    try:
        return float(number)
    except OverflowError:
        return math.inf if number > 0 else -math.inf


def _finite(number: int | float) -> bool:
    return math.isfinite(_float(number))


def _show(raw: object) -> str:
    if isinstance(raw, int) and raw.bit_length() > 128:
        return f"(a {len(str(raw)) if raw.bit_length() < 14_000 else 'many'}-digit number)"
    text = repr(raw)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass
class SeriesBatch:
    """One series' part of a request of many series' points: its batch, or why it was
    refused as a whole (`problem`)."""

    name: str
    batch: Batch | None = None
    problem: str | None = None


def read_many(body: object, *, not_after: pd.Timestamp | None = None) -> list[SeriesBatch]:
    """The series of a decoded JSON body of many series' points, `{"series": [{"name": ...,
    "labels": {...}, "points": [...]}, ...]}`, each read as `read_batch` reads one series'
    body. A series whose name, labels or shape is wrong is refused with its problem, the
    others are kept; BodyError when the body as a whole is wrong, TooManyPoints past
    MAX_POINTS points or MAX_SERIES series. A series given twice is read as one, its
    points in the order given."""
    if not isinstance(body, dict) or not isinstance(body.get("series"), list):
        raise BodyError(['The body must be a JSON object with a "series" list.'])
    entries = body["series"]
    if len(entries) > MAX_SERIES:
        raise TooManyPoints([f"At most {MAX_SERIES:,} series a request, not {len(entries):,}."])
    total = sum(
        len(entry["points"])
        for entry in entries
        if isinstance(entry, dict) and isinstance(entry.get("points"), list)
    )
    if total > MAX_POINTS:
        raise TooManyPoints([f"At most {MAX_POINTS:,} points a request, not {total:,}."])
    merged: dict[str, dict] = {}
    found: list[SeriesBatch] = []
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            found.append(
                SeriesBatch(f"#{position + 1}", problem='not an object with a "name" (text)')
            )
            continue
        try:
            name = check_series_name(entry["name"])
        except ValueError as error:
            found.append(SeriesBatch(_show(entry["name"]), problem=str(error)))
            continue
        if name in merged:  # its points after those given before, its labels the last given
            earlier = merged[name]
            points = entry.get("points")
            if isinstance(earlier.get("points"), list) and isinstance(points, list):
                earlier["points"] = [*earlier["points"], *points]
            else:
                earlier["points"] = points
            if "labels" in entry:
                earlier["labels"] = entry["labels"]
            continue
        merged[name] = {key: entry[key] for key in ("points", "labels") if key in entry}
    for name, entry in merged.items():
        try:
            found.append(SeriesBatch(name, read_batch(entry, not_after=not_after)))
        except BodyError as error:
            found.append(SeriesBatch(name, problem="; ".join(error.reasons)))
    return found
