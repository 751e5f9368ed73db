"""The data-quality report shown before any detection: what was read and what was fixed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

_UNITS = (
    ("week", pd.Timedelta(weeks=1)),
    ("day", pd.Timedelta(days=1)),
    ("hour", pd.Timedelta(hours=1)),
    ("minute", pd.Timedelta(minutes=1)),
    ("second", pd.Timedelta(seconds=1)),
    ("millisecond", pd.Timedelta(milliseconds=1)),
)


def plural(count: int, noun: str) -> str:
    """'1 row', '2,000 rows', '3 anomalies'."""
    if count == 1:
        return f"{count:,} {noun}"
    plural_noun = (
        noun[:-1] + "ies" if noun.endswith("y") and noun[-2] not in "aeiou" else noun + "s"
    )
    return f"{count:,} {plural_noun}"


def describe_step(step: pd.Timedelta | None) -> str:
    """A step in words: 'every 5 minutes', 'every hour'; 'irregular' when unknown."""
    if step is None or step <= pd.Timedelta(0):
        return "irregular"
    for unit, size in _UNITS:
        count = step / size
        if count >= 1 and abs(count - round(count)) < 1e-9:
            count = round(count)
            return f"every {unit}" if count == 1 else f"every {count} {unit}s"
    return f"every {step}"


@dataclass(frozen=True)
class Finding:
    """One thing found in the data and how it was handled.

    `kind` is a stable key (`duplicates`, `unsorted`, `missing`, ...), `count` how many rows or
    cells it touched, `message` the sentence shown to the user, `level` `info` or `warning`.
    """

    kind: str
    count: int
    message: str
    level: str = "warning"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "count": self.count,
            "message": self.message,
            "level": self.level,
        }


@dataclass
class QualityReport:
    """Points, time span, step and findings of a prepared data set. `rows` counts points
    across all series; `lines` the file's data lines they came from."""

    rows: int
    series: tuple[str, ...]
    start: pd.Timestamp
    end: pd.Timestamp
    step: pd.Timedelta | None
    findings: list[Finding] = field(default_factory=list)
    lines: int | None = None

    @property
    def frequency(self) -> str:
        return describe_step(self.step)

    def finding(self, kind: str) -> Finding | None:
        return next((f for f in self.findings if f.kind == kind), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "series": list(self.series),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "step_seconds": None if self.step is None else self.step.total_seconds(),
            "findings": [f.to_dict() for f in self.findings],
            "lines": self.lines,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QualityReport:
        step = data.get("step_seconds")
        return cls(
            rows=data["rows"],
            series=tuple(data["series"]),
            start=pd.Timestamp(data["start"]),
            end=pd.Timestamp(data["end"]),
            step=None if step is None else pd.Timedelta(seconds=step),
            findings=[Finding(**f) for f in data["findings"]],
            lines=data.get("lines"),
        )
