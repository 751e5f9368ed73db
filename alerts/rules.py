"""Alert rules: which series, how severe, who hears of it, and how often at most."""

from __future__ import annotations

import fnmatch
import json
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import text

from vigil.alerts.episodes import EpisodeReport
from vigil.storage.database import Database

#: Held while rules change.
LOCK = "rules"
#: Which way from what was expected a rule watches: either way, only above, only below.
DIRECTIONS = ("either", "above", "below")


@dataclass(frozen=True)
class Rule:
    """An alert rule. `series_pattern` is a name or a shell-style pattern (`latency_*`).

    `detector` is None to watch each series with the detector (or model) it is scored by, or
    a detector's name or `model:<id>` to watch only runs by that one. `dataset` is None for
    series of any data set, or the one data set (`live` for the live series) it watches.
    `direction` is `either`, `above` (only episodes that peak above what was expected) or
    `below`."""

    name: str
    series_pattern: str
    recipients: tuple[str, ...]
    detector: str | None = None
    min_severity: float = 0.9
    group_minutes: float = 15.0
    resolve_minutes: float = 60.0
    daily_budget: int = 20
    paused: bool = False
    silenced_until: str | None = None
    dataset: str | None = None
    direction: str = "either"
    id: int | None = None
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def matches(self, series: str) -> bool:
        return fnmatch.fnmatchcase(series, self.series_pattern)

    def watches(self, series: str, dataset: str, scored_by: str | None = None) -> bool:
        """Whether a series of `dataset`, scored by `scored_by` (a detector or `model:<id>`;
        None when not known yet), is one this rule alerts on."""
        if not self.matches(series):
            return False
        if self.dataset is not None and self.dataset != dataset:
            return False
        return self.detector is None or scored_by is None or self.detector == scored_by

    def takes(self, report: EpisodeReport) -> bool:
        """Whether an episode goes the rule's way: its peak above what was expected, below it,
        or either (an episode whose expected value is unknown goes either way)."""
        peak = report.peak
        if self.direction == "either" or pd.isna(peak.expected):
            return True
        if self.direction == "above":
            return peak.value > peak.expected
        return peak.value < peak.expected

    def muted(self, moment: datetime) -> bool:
        """Paused, or silenced until a time still to come."""
        if self.paused:
            return True
        return self.silenced_until is not None and moment < datetime.fromisoformat(
            self.silenced_until
        )


class RuleStore:
    """Rules in the database: created, edited, paused, silenced and deleted from the Alerts
    page."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def save(self, rule: Rule) -> Rule:
        """Add a rule (no id yet) or replace the one with its id; the rule as stored."""
        if not rule.recipients:
            raise ValueError("a rule needs at least one recipient")
        if rule.direction not in DIRECTIONS:
            raise ValueError(f"a rule's direction is one of {', '.join(DIRECTIONS)}")
        values = asdict(rule)
        values["detector"] = rule.detector or ""  # "": the series' own
        values["recipients"] = json.dumps(list(rule.recipients))
        values["paused"] = int(rule.paused)
        columns = [name for name in values if name != "id"]
        with self.database.write(LOCK) as connection:
            if rule.id is None:
                rule_id = connection.execute(
                    text(
                        f"INSERT INTO rules ({', '.join(columns)}) "
                        f"VALUES ({', '.join(f':{name}' for name in columns)}) RETURNING id"
                    ),
                    values,
                ).scalar_one()
                return replace(rule, id=int(rule_id))
            connection.execute(
                text(
                    f"UPDATE rules SET {', '.join(f'{name} = :{name}' for name in columns)} "
                    "WHERE id = :id"
                ),
                values,
            )
        return rule

    def delete(self, rule_id: int) -> None:
        with self.database.write(LOCK) as connection:
            connection.execute(text("DELETE FROM rules WHERE id = :id"), {"id": rule_id})
            connection.execute(text("DELETE FROM silences WHERE rule_id = :id"), {"id": rule_id})

    def silence(self, rule_id: int, series: str, until: datetime) -> None:
        """Mute one series of a rule until a time (a later silence replaces an earlier one)."""
        with self.database.write(LOCK) as connection:
            connection.execute(
                text(
                    "INSERT INTO silences (rule_id, series, until) VALUES (:rule, :series, :until) "
                    "ON CONFLICT (rule_id, series) DO UPDATE SET until = excluded.until"
                ),
                {
                    "rule": rule_id,
                    "series": series,
                    "until": until.astimezone(UTC).isoformat(timespec="seconds"),
                },
            )

    def silences(self) -> dict[tuple[int, str], datetime]:
        """Until when each (rule, series) is silenced."""
        with self.database.read() as connection:
            rows = connection.execute(text("SELECT rule_id, series, until FROM silences")).all()
        return {(rule_id, series): datetime.fromisoformat(until) for rule_id, series, until in rows}

    def rules(self) -> list[Rule]:
        with self.database.read() as connection:
            rows = connection.execute(text("SELECT * FROM rules ORDER BY id")).mappings().all()
        return [
            Rule(
                **{
                    **row,
                    "recipients": tuple(json.loads(row["recipients"])),
                    "paused": bool(row["paused"]),
                    "detector": row["detector"] or None,
                }
            )
            for row in rows
        ]

    def get(self, rule_id: int) -> Rule:
        for rule in self.rules():
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)
