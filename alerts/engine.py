"""From flagged points to emails: alerts keyed by (rule, series), grouped, budgeted, resolved.

`record` keeps every flagged point a rule cares about (once, however often it is reported).
`dispatch` turns what is waiting into emails in the outbox: at most one per alert and group
interval, listing every point since the last one; within each rule's daily budget (what is
over it waits, and the next allowed email lists it); none while a rule is paused or silenced
(those points stay in the history, unsent); and one "resolved" email when a firing alert's
series has had no flagged point for the rule's resolve time.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from alerts.compose import AlertPoint, compose_alert, compose_resolved
from alerts.outbox import Outbox
from alerts.rules import Rule
from storage.sqlite import connect

#: Points listed one by one in an email; the rest are counted.
MAX_LISTED = 20
MUTED = -1  # email_id of points that arrived while their rule was paused or silenced

SCHEMA = """
CREATE TABLE IF NOT EXISTS alert_points (
    id INTEGER PRIMARY KEY,
    rule_id INTEGER NOT NULL,
    series TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    value REAL,
    expected REAL,
    severity REAL NOT NULL,
    explanation TEXT NOT NULL,
    recorded REAL NOT NULL,
    email_id INTEGER,
    UNIQUE (rule_id, series, timestamp)
);
CREATE INDEX IF NOT EXISTS alert_points_waiting ON alert_points (rule_id, series, email_id);
CREATE TABLE IF NOT EXISTS alerts (
    rule_id INTEGER NOT NULL,
    series TEXT NOT NULL,
    dataset TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('firing', 'resolved')),
    opened REAL NOT NULL,
    last_flag REAL NOT NULL,
    last_email REAL,
    PRIMARY KEY (rule_id, series)
);
CREATE TABLE IF NOT EXISTS emails_a_day (
    rule_id INTEGER NOT NULL,
    day TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (rule_id, day)
);
"""

Context = Callable[[Rule, str, Sequence[AlertPoint]], pd.DataFrame | None]
MarkLink = Callable[[str, str, AlertPoint], str]


def _day(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d")


class AlertEngine:
    """Alert state in SQLite beside the rules; emails go to `outbox`."""

    def __init__(
        self,
        path: Path,
        outbox: Outbox,
        *,
        sender: str,
        public_url: str,
        context: Context | None = None,
        mark_link: MarkLink | None = None,
    ) -> None:
        self.path = Path(path)
        self.mark_link = mark_link
        self.outbox = outbox
        self.sender = sender
        self.public_url = public_url
        self.context = context
        with closing(self._connect()) as connection:
            connection.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return connect(self.path)

    def record(
        self, rule: Rule, series: str, dataset: str, points: Sequence[AlertPoint], *, now: float
    ) -> int:
        """Keep the points severe enough for `rule`; how many were new."""
        if rule.id is None or not rule.matches(series):
            return 0
        wanted = [p for p in points if p.severity >= rule.min_severity]
        if not wanted:
            return 0
        with closing(self._connect()) as connection, connection:
            connection.execute("BEGIN IMMEDIATE")
            before = connection.total_changes
            connection.executemany(
                "INSERT OR IGNORE INTO alert_points (rule_id, series, timestamp, value, expected, "
                "severity, explanation, recorded) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        rule.id,
                        series,
                        str(pd.Timestamp(p.timestamp)),
                        p.value,
                        p.expected,
                        p.severity,
                        p.explanation,
                        now,
                    )
                    for p in wanted
                ],
            )
            added = connection.total_changes - before
            if added:
                connection.execute(
                    "INSERT INTO alerts (rule_id, series, dataset, status, opened, last_flag) "
                    "VALUES (?, ?, ?, 'firing', ?, ?) ON CONFLICT (rule_id, series) DO UPDATE SET "
                    "opened = CASE WHEN status = 'resolved' THEN excluded.opened ELSE opened END, "
                    "status = 'firing', last_flag = excluded.last_flag, dataset = excluded.dataset",
                    (rule.id, series, dataset, now, now),
                )
        return added

    def dispatch(
        self,
        rules: Sequence[Rule],
        *,
        now: float,
        silences: Mapping[tuple[int, str], datetime] | None = None,
    ) -> int:
        """Put what is due into the outbox; how many emails that was. `silences` mutes single
        series of a rule until a time."""
        by_id = {rule.id: rule for rule in rules}
        silences = silences or {}
        moment = datetime.fromtimestamp(now, UTC)
        emails = 0
        with closing(self._connect()) as connection:
            firing = connection.execute(
                "SELECT rule_id, series, dataset, last_flag, last_email FROM alerts "
                "WHERE status = 'firing'"
            ).fetchall()
        for rule_id, series, dataset, last_flag, last_email in firing:
            rule = by_id.get(rule_id)
            if rule is None:
                continue
            muted = rule.muted(moment) or moment < silences.get((rule_id, series), moment)
            if muted:
                self._set_email(rule_id, series, MUTED)
            elif last_email is None or now - last_email >= rule.group_minutes * 60:
                emails += self._send_waiting(rule, series, dataset, now)
            if now - last_flag >= rule.resolve_minutes * 60:
                emails += self._resolve(rule, series, dataset, last_flag, now, muted)
        return emails

    @staticmethod
    def _waiting(connection: sqlite3.Connection, rule_id: int, series: str) -> list[tuple]:
        return connection.execute(
            "SELECT id, timestamp, value, expected, severity, explanation FROM alert_points "
            "WHERE rule_id = ? AND series = ? AND email_id IS NULL ORDER BY timestamp",
            (rule_id, series),
        ).fetchall()

    def _set_email(self, rule_id: int, series: str, email_id: int) -> None:
        with closing(self._connect()) as connection:
            connection.execute(
                "UPDATE alert_points SET email_id = ? "
                "WHERE rule_id = ? AND series = ? AND email_id IS NULL",
                (email_id, rule_id, series),
            )

    def _send_waiting(self, rule: Rule, series: str, dataset: str, now: float) -> int:
        """Email the points waiting in an alert, if the budget allows.

        All of it happens under the alert store's write lock, from reading what waits to
        marking it emailed: another process dispatching at the same moment waits for the
        lock, then finds nothing waiting, so the points go out in one email.
        """
        with closing(self._connect()) as connection, connection:
            connection.execute("BEGIN IMMEDIATE")
            (last_email,) = connection.execute(
                "SELECT last_email FROM alerts WHERE rule_id = ? AND series = ?",
                (rule.id, series),
            ).fetchone()
            if last_email is not None and now - last_email < rule.group_minutes * 60:
                return 0  # another dispatcher has just sent it
            rows = self._waiting(connection, rule.id, series)
            used = connection.execute(
                "SELECT count FROM emails_a_day WHERE rule_id = ? AND day = ?",
                (rule.id, _day(now)),
            ).fetchone()
            if not rows or rule.daily_budget - (used[0] if used else 0) <= 0:
                return 0  # over the budget: the points wait for the next allowed email
            points = [
                AlertPoint(pd.Timestamp(ts), value, expected, severity, why)
                for _, ts, value, expected, severity, why in rows
            ]
            listed = sorted(points, key=lambda p: p.severity, reverse=True)[:MAX_LISTED]
            message = compose_alert(
                rule=rule.name,
                series=series,
                dataset=dataset,
                points=listed,
                more=len(points) - len(listed),
                first=points[0].timestamp,
                last=points[-1].timestamp,
                recipients=rule.recipients,
                sender=self.sender,
                public_url=self.public_url,
                context=None if self.context is None else self.context(rule, series, points),
                mark_link=None
                if self.mark_link is None
                else lambda point: self.mark_link(dataset, series, point),
            )
            email_id = self.outbox.add(message, now=now)
            connection.executemany(
                "UPDATE alert_points SET email_id = ? WHERE id = ?",
                [(email_id, row[0]) for row in rows],
            )
            connection.execute(
                "UPDATE alerts SET last_email = ? WHERE rule_id = ? AND series = ?",
                (now, rule.id, series),
            )
            connection.execute(
                "INSERT INTO emails_a_day VALUES (?, ?, 1) ON CONFLICT (rule_id, day) "
                "DO UPDATE SET count = count + 1",
                (rule.id, _day(now)),
            )
        return 1

    def _resolve(
        self, rule: Rule, series: str, dataset: str, last_flag: float, now: float, muted: bool
    ) -> int:
        """Close the alert once nothing waits; one email says so (unless muted), also when
        two processes dispatch at once (the second finds it resolved)."""
        with closing(self._connect()) as connection, connection:
            connection.execute("BEGIN IMMEDIATE")
            (status,) = connection.execute(
                "SELECT status FROM alerts WHERE rule_id = ? AND series = ?", (rule.id, series)
            ).fetchone()
            if status != "firing" or self._waiting(connection, rule.id, series):
                return 0
            connection.execute(
                "UPDATE alerts SET status = 'resolved', last_email = NULL "
                "WHERE rule_id = ? AND series = ?",
                (rule.id, series),
            )
            if muted:
                return 0
            message = compose_resolved(
                rule=rule.name,
                series=series,
                dataset=dataset,
                quiet_since=pd.Timestamp(last_flag, unit="s"),
                recipients=rule.recipients,
                sender=self.sender,
                public_url=self.public_url,
            )
            self.outbox.add(message, now=now)
        return 1

    def history(self, rule_id: int | None = None, limit: int = 500) -> pd.DataFrame:
        """Recorded points, newest first, with the email each went out in (-1: muted)."""
        where, values = ("WHERE rule_id = ?", (rule_id,)) if rule_id is not None else ("", ())
        with closing(self._connect()) as connection:
            return pd.read_sql_query(
                "SELECT rule_id, series, timestamp, value, expected, severity, explanation, "
                f"email_id FROM alert_points {where} ORDER BY timestamp DESC LIMIT ?",
                connection,
                params=(*values, limit),
            )
