"""One date format per time column: found from all of its cells, or chosen by the user.

Per-cell guessing reads `01.02.2024` month-first and `13.02.2024` day-first in the same column,
which silently scrambles a series. Here a column is read with a single strftime pattern (or
pandas' strict `ISO8601`): the one that reads the most cells. When both day and month orders
read every cell (no day above 12), the file's conventions decide, and the choice says why.
Only when no single format reads the column is each cell read on its own (`MIXED`).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import pandas as pd
from pandas.tseries.api import guess_datetime_format

ISO = "ISO8601"
MIXED = "mixed"
DAY_FIRST, MONTH_FIRST = "day-first", "month-first"
_SAMPLE_CELLS = 20
_OFFSET_RE = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")
_READABLE = (
    ("%Y", "YYYY"),
    ("%y", "YY"),
    ("%m", "MM"),
    ("%d", "DD"),
    ("%H", "hh"),
    ("%I", "hh"),
    ("%M", "mm"),
    ("%S", "ss"),
    ("%f", "ffffff"),
    ("%z", "±hh:mm"),
    ("%p", "AM/PM"),
    ("%b", "Mon"),
    ("%B", "Month"),
    ("%a", "Day"),
    ("%A", "Day"),
    ("%j", "DDD"),
    ("T", "T"),
)


@dataclass(frozen=True)
class Conventions:
    """What a file's writing says about where it comes from."""

    delimiter: str = ","
    decimal_commas: bool = False

    def day_first_signs(self, sample_cell: str) -> list[str]:
        """The reasons to read an undecided date day-first, in words (none: month-first)."""
        signs = []
        if re.match(r"^\d{1,2}\.\d{1,2}\.", sample_cell):
            signs.append("dates written with dots")
        if self.delimiter == ";":
            signs.append("columns separated by semicolons")
        if self.decimal_commas:
            signs.append("decimal commas")
        return signs


@dataclass(frozen=True)
class TimeFormat:
    """The format a time column is read with, and, when the day/month order was undecided,
    why this one was taken (empty when the cells settled it or the user chose it)."""

    pattern: str
    reason: str = ""


def readable(pattern: str) -> str:
    """A pattern as people write it: `%d.%m.%Y %H:%M` is `DD.MM.YYYY hh:mm`."""
    if pattern == ISO:
        return "ISO 8601 (YYYY-MM-DD hh:mm:ss)"
    if pattern == MIXED:
        return "each cell read on its own"
    text = pattern
    for code, words in _READABLE:
        text = text.replace(code, words)
    return text


def day_and_month_order_matter(pattern: str) -> bool:
    """Whether `pattern` puts day and month both as numbers before the year (01.02.2024)."""
    if "%d" not in pattern or "%m" not in pattern or pattern.startswith("%Y"):
        return False
    return pattern.index("%Y") > max(pattern.index("%d"), pattern.index("%m"))


def _cells(column: pd.Series) -> pd.Series:
    text = column.dropna().astype("string").str.strip()
    return text[text != ""]


def _guess(cell: str, *, dayfirst: bool) -> str | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return guess_datetime_format(cell, dayfirst=dayfirst)


def candidate_patterns(column: pd.Series) -> list[str]:
    """The formats the first distinct cells suggest, month-first before day-first."""
    found: list[str] = []
    for cell in _cells(column).drop_duplicates().head(_SAMPLE_CELLS):
        for dayfirst in (False, True):
            pattern = _guess(str(cell), dayfirst=dayfirst)
            if pattern is None or pattern in found:
                continue
            if pattern.startswith("%Y") and "%d" in pattern.split("%m")[0]:
                continue  # year, day, month: nobody writes that
            found.append(pattern)
    if any(p.startswith("%Y-") for p in found) and ISO not in found:
        found.insert(0, ISO)
    return found


def parse(column: pd.Series, pattern: str, *, dayfirst: bool = False) -> pd.Series:
    """Cells read with one format; NaT where a cell does not fit it. Cells carrying a UTC
    offset come back in UTC (zone-aware)."""
    text = column.astype("string").str.strip()
    zoned = bool(text.str.contains(_OFFSET_RE, na=False).any())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            # `dayfirst` only for the mixed format: the others say where the day is
            return pd.to_datetime(
                text,
                format=pattern,
                errors="coerce",
                utc=zoned,
                dayfirst=dayfirst and pattern == MIXED,
            )
        except (ValueError, TypeError):
            return pd.Series(pd.NaT, index=column.index, dtype="datetime64[us]")


def infer(column: pd.Series, conventions: Conventions = Conventions()) -> TimeFormat | None:
    """The single format that reads the most cells of `column`; None if no cell reads as a
    date. Undecided day/month orders follow the file's `conventions`, and say so."""
    cells = _cells(column)
    if cells.empty:
        return None
    shares: dict[str, float] = {}
    for pattern in candidate_patterns(cells):
        shares[pattern] = float(parse(cells, pattern).notna().mean())
    best = max(shares, key=shares.__getitem__, default=None)
    if best is None or shares[best] < 0.99:
        sample = cells.head(500)
        mixed = float(parse(sample, MIXED).notna().mean())
        if mixed > (shares[best] if best else 0.0) + 0.01:
            return TimeFormat(MIXED)
    if best is None or shares[best] == 0.0:
        return None
    twin = _other_order(best)
    if twin is None or shares.get(twin, 0.0) < shares[best]:
        return TimeFormat(best)
    # both orders read just as many cells: no day above 12 settles it
    signs = conventions.day_first_signs(str(cells.iloc[0]))
    day_first = best if best.index("%d") < best.index("%m") else twin
    month_first = twin if day_first == best else best
    if signs:
        return TimeFormat(day_first, f"taken day-first for the file's {_and(signs)}")
    return TimeFormat(month_first, "taken month-first, as nothing in the file says otherwise")


def _other_order(pattern: str) -> str | None:
    if not day_and_month_order_matter(pattern):
        return None
    return pattern.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def choose(column: pd.Series, choice: str, conventions: Conventions = Conventions()) -> TimeFormat:
    """A format asked for by name: a strftime pattern, `ISO8601`, `mixed`, or `day-first` /
    `month-first` (the format of the column's cells in that order)."""
    choice = choice.strip()
    if choice.lower() in (DAY_FIRST, MONTH_FIRST):
        found = infer(column, conventions)
        twin = None if found is None else _other_order(found.pattern)
        if found is None or twin is None:  # no twin: the order of day and month does not matter
            return found or TimeFormat(ISO)
        day_first = found.pattern.index("%d") < found.pattern.index("%m")
        wanted_day_first = choice.lower() == DAY_FIRST
        return TimeFormat(found.pattern if day_first == wanted_day_first else twin)
    return TimeFormat(choice)


def example(column: pd.Series, pattern: str) -> tuple[str, pd.Timestamp] | None:
    """A cell that shows how `pattern` reads the column, and what it reads as: the first one
    whose day and month could be swapped, else the first one read."""
    cells = _cells(column).head(5000)
    parsed = parse(cells, pattern)
    read = parsed.notna()
    if not read.any():
        return None
    swappable = read & (parsed.dt.day <= 12) & (parsed.dt.day != parsed.dt.month)
    position = swappable.to_numpy().argmax() if swappable.any() else read.to_numpy().argmax()
    stamp = parsed.iloc[position]
    if getattr(stamp, "tzinfo", None) is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return str(cells.iloc[position]), stamp


def spoken(stamp: pd.Timestamp) -> str:
    """`1 Feb 2024`, with the time when there is one: `1 Feb 2024 13:00`."""
    day = f"{stamp.day} {stamp:%b %Y}"
    return day if stamp == stamp.normalize() else f"{day} {stamp:%H:%M}"
