"""Alert rules: which series, how severe, who hears of it, and how often at most."""

from __future__ import annotations

import fnmatch
import json
import sqlite3
from contextlib import closing
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from storage.sqlite import connect

SCHEMA = """
CREATE TABLE IF NOT EXISTS rules (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    series_pattern TEXT NOT NULL,
    detector TEXT NOT NULL,
    min_severity REAL NOT NULL CHECK (min_severity BETWEEN 0 AND 1),
    recipients TEXT NOT NULL,
    group_minutes REAL NOT NULL CHECK (group_minutes >= 0),
    resolve_minutes REAL NOT NULL CHECK (resolve_minutes > 0),
    daily_budget INTEGER NOT NULL CHECK (daily_budget >= 0),
    paused INTEGER NOT NULL DEFAULT 0,
    silenced_until TEXT,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS silences (
    rule_id INTEGER NOT NULL,
    series TEXT NOT NULL,
    until TEXT NOT NULL,
    PRIMARY KEY (rule_id, series)
);
"""


@dataclass(frozen=True)
class Rule:
    """An alert rule. `series_pattern` is a name or a shell-style pattern (`latency_*`);
    `detector` is a detector's name or `model:<id>` for a saved model."""

    name: str
    series_pattern: str
    recipients: tuple[str, ...]
    detector: str = "auto"
    min_severity: float = 0.9
    group_minutes: float = 15.0
    resolve_minutes: float = 60.0
    daily_budget: int = 20
    paused: bool = False
    silenced_until: str | None = None
    id: int | None = None
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def matches(self, series: str) -> bool:
        return fnmatch.fnmatchcase(series, self.series_pattern)

    def muted(self, moment: datetime) -> bool:
        """Paused, or silenced until a time still to come."""
        if self.paused:
            return True
        return self.silenced_until is not None and moment < datetime.fromisoformat(
            self.silenced_until
        )


class RuleStore:
    """Rules in SQLite: created, edited, paused, silenced and deleted from the Alerts page."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as connection:
            connection.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return connect(self.path)

    def save(self, rule: Rule) -> Rule:
        """Add a rule (no id yet) or replace the one with its id; the rule as stored."""
        if not rule.recipients:
            raise ValueError("a rule needs at least one recipient")
        values = asdict(rule)
        values["recipients"] = json.dumps(list(rule.recipients))
        values["paused"] = int(rule.paused)
        columns = [name for name in values if name != "id"]
        with closing(self._connect()) as connection:
            if rule.id is None:
                cursor = connection.execute(
                    f"INSERT INTO rules ({', '.join(columns)}) "
                    f"VALUES ({', '.join('?' for _ in columns)})",
                    [values[name] for name in columns],
                )
                return replace(rule, id=int(cursor.lastrowid))
            connection.execute(
                f"UPDATE rules SET {', '.join(f'{name} = ?' for name in columns)} WHERE id = ?",
                [*(values[name] for name in columns), rule.id],
            )
        return rule

    def delete(self, rule_id: int) -> None:
        with closing(self._connect()) as connection:
            connection.execute("DELETE FROM rules WHERE id = ?", (rule_id,))
            connection.execute("DELETE FROM silences WHERE rule_id = ?", (rule_id,))

    def silence(self, rule_id: int, series: str, until: datetime) -> None:
        """Mute one series of a rule until a time (a later silence replaces an earlier one)."""
        with closing(self._connect()) as connection:
            connection.execute(
                "INSERT OR REPLACE INTO silences VALUES (?, ?, ?)",
                (rule_id, series, until.astimezone(UTC).isoformat(timespec="seconds")),
            )

    def silences(self) -> dict[tuple[int, str], datetime]:
        """Until when each (rule, series) is silenced."""
        with closing(self._connect()) as connection:
            rows = connection.execute("SELECT rule_id, series, until FROM silences").fetchall()
        return {(rule_id, series): datetime.fromisoformat(until) for rule_id, series, until in rows}

    def rules(self) -> list[Rule]:
        with closing(self._connect()) as connection:
            connection.row_factory = sqlite3.Row
            rows = connection.execute("SELECT * FROM rules ORDER BY id").fetchall()
        return [
            Rule(
                **{
                    **dict(row),
                    "recipients": tuple(json.loads(row["recipients"])),
                    "paused": bool(row["paused"]),
                }
            )
            for row in rows
        ]

    def get(self, rule_id: int) -> Rule:
        for rule in self.rules():
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)
