"""Alert rules: which series, how severe, who hears of it (by email, by webhook), and how
often at most."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from functools import cache

import pandas as pd
from sqlalchemy import Connection, text

from vigil.alerts.episodes import EpisodeReport
from vigil.alerts.webhooks import Webhook
from vigil.selectors import Matcher, parse_matcher
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
    #: Label matchers (`env=prod`, `service=~web|api`; `vigil.selectors`), all of which a
    #: series' labels meet; none: any labels.
    labels: tuple[str, ...] = ()
    #: HTTP endpoints notified of each episode, opened and resolved, beside the recipients.
    webhooks: tuple[Webhook, ...] = ()
    #: Where the rule came from: `file` (`vigil rules apply`), else None (the Alerts page, the
    #: API).
    source: str | None = None
    id: int | None = None
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def matches(self, series: str) -> bool:
        return fnmatch.fnmatchcase(series, self.series_pattern)

    def watches(
        self,
        series: str,
        dataset: str,
        scored_by: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> bool:
        """Whether a series of `dataset`, scored by `scored_by` (a detector or `model:<id>`;
        None when not known yet), with `labels` (None when not known: the label matchers are
        not asked), is one this rule alerts on."""
        if not self.matches(series):
            return False
        if labels is not None and not all(m.matches(labels) for m in _matchers(self.labels)):
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


@dataclass(frozen=True)
class Silence:
    """One series of one rule muted until a time (UTC)."""

    rule: str
    series: str
    until: datetime


@dataclass(frozen=True)
class Change:
    """One step of a plan: `add`, `change` (with what changes) or `remove` a rule; `silence`
    a series of one."""

    action: str
    rule: Rule
    changes: tuple[str, ...] = ()
    silence: Silence | None = None

    def __str__(self) -> str:
        if self.action == "silence" and self.silence is not None:
            return (
                f"~ silence {self.silence.series!r} for rule {self.rule.name!r} until "
                f"{self.silence.until.isoformat()}"
            )
        sign = {"add": "+", "change": "~", "remove": "-"}[self.action]
        text = f"{sign} {self.action} rule {self.rule.name!r}"
        return text + (f": {'; '.join(self.changes)}" if self.changes else "")


@cache
def _matchers(written: tuple[str, ...]) -> tuple[Matcher, ...]:
    return tuple(parse_matcher(word) for word in written)


class RuleStore:
    """Rules in the database: created, edited, paused, silenced and deleted from the Alerts
    page."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def save(self, rule: Rule) -> Rule:
        """Add a rule (no id yet) or replace the one with its id; the rule as stored."""
        with self.database.write(LOCK) as connection:
            return replace(rule, id=_write_rule(connection, rule))

    def apply(self, changes: Sequence[Change]) -> None:
        """Make every change of a plan (`alerts.rulebook.plan`) in one transaction: all of
        them, or none when one fails."""
        with self.database.write(LOCK) as connection:
            ids: dict[str, int] = {}
            for change in changes:
                rule = change.rule
                if change.action == "add" or change.action == "change":
                    ids[rule.name] = _write_rule(connection, rule)
                elif change.action == "remove" and rule.id is not None:
                    _delete_rule(connection, rule.id)
                elif change.action == "silence" and change.silence is not None:
                    rule_id = rule.id if rule.id is not None else ids[rule.name]
                    _silence(connection, rule_id, change.silence.series, change.silence.until)

    def delete(self, rule_id: int) -> None:
        with self.database.write(LOCK) as connection:
            _delete_rule(connection, rule_id)

    def silence(self, rule_id: int, series: str, until: datetime) -> None:
        """Mute one series of a rule until a time (a later silence replaces an earlier one)."""
        with self.database.write(LOCK) as connection:
            _silence(connection, rule_id, series, until)

    def unsilence(self, rule_id: int, series: str) -> bool:
        """End a series' silence for a rule; whether there was one."""
        with self.database.write(LOCK) as connection:
            gone = connection.execute(
                text("DELETE FROM silences WHERE rule_id = :rule AND series = :series"),
                {"rule": rule_id, "series": series},
            ).rowcount
        return gone > 0

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
                    "labels": tuple(json.loads(row.get("labels") or "[]")),
                    "webhooks": tuple(
                        Webhook(**hook) for hook in json.loads(row.get("webhooks") or "[]")
                    ),
                }
            )
            for row in rows
        ]

    def get(self, rule_id: int) -> Rule:
        for rule in self.rules():
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)


def _write_rule(connection: Connection, rule: Rule) -> int:
    """Insert a rule (no id yet) or replace the one with its id, in the caller's
    transaction; its id."""
    if not rule.recipients and not rule.webhooks:
        raise ValueError("a rule needs at least one recipient or webhook")
    if rule.direction not in DIRECTIONS:
        raise ValueError(f"a rule's direction is one of {', '.join(DIRECTIONS)}")
    values = asdict(rule)
    values["detector"] = rule.detector or ""  # "": the series' own
    values["recipients"] = json.dumps(list(rule.recipients))
    values["paused"] = int(rule.paused)
    values["labels"] = json.dumps(list(rule.labels))
    values["webhooks"] = json.dumps([asdict(hook) for hook in rule.webhooks])
    columns = [name for name in values if name != "id"]
    if rule.id is None:
        return int(
            connection.execute(
                text(
                    f"INSERT INTO rules ({', '.join(columns)}) "
                    f"VALUES ({', '.join(f':{name}' for name in columns)}) RETURNING id"
                ),
                values,
            ).scalar_one()
        )
    connection.execute(
        text(
            f"UPDATE rules SET {', '.join(f'{name} = :{name}' for name in columns)} WHERE id = :id"
        ),
        values,
    )
    return rule.id


def _delete_rule(connection: Connection, rule_id: int) -> None:
    connection.execute(text("DELETE FROM rules WHERE id = :id"), {"id": rule_id})
    connection.execute(text("DELETE FROM silences WHERE rule_id = :id"), {"id": rule_id})


def _silence(connection: Connection, rule_id: int, series: str, until: datetime) -> None:
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
