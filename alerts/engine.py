"""From flagged points to emails: alerts keyed by (rule, series), grouped, budgeted, resolved.

`record` keeps every flagged point a rule cares about (once, however often it is reported).
`dispatch` turns what is waiting into emails in the outbox: at most one per alert and group
interval, listing every point since the last one; within each rule's daily budget (what is
over it waits, and the next allowed email lists it); none while a rule is paused or silenced
(those points stay in the history, unsent); and one "resolved" email when a firing alert's
series has had no flagged point for the rule's resolve time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import Connection, text

from alerts.compose import AlertPoint, compose_alert, compose_resolved
from alerts.outbox import Outbox
from alerts.rules import Rule
from storage.database import Database, query_frame

#: Points listed one by one in an email; the rest are counted.
MAX_LISTED = 20
MUTED = -1  # email_id of points that arrived while their rule was paused or silenced
#: Held from reading an alert's state to writing it (and its email to the outbox).
LOCK = "alerts"

Context = Callable[[Rule, str, Sequence[AlertPoint]], pd.DataFrame | None]
MarkLink = Callable[[str, str, AlertPoint], str]


def _day(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d")


class AlertEngine:
    """Alert state in the database beside the rules; emails go to `outbox`, in the same
    database, in the same transaction as the state that says they were sent."""

    def __init__(
        self,
        database: Database,
        outbox: Outbox,
        *,
        sender: str,
        public_url: str,
        context: Context | None = None,
        mark_link: MarkLink | None = None,
    ) -> None:
        if outbox.database.url != database.url:
            raise ValueError("alert state and the outbox must share a database")
        self.database = database
        self.mark_link = mark_link
        self.outbox = outbox
        self.sender = sender
        self.public_url = public_url
        self.context = context

    def record(
        self, rule: Rule, series: str, dataset: str, points: Sequence[AlertPoint], *, now: float
    ) -> int:
        """Keep the points severe enough for `rule`; how many were new."""
        if rule.id is None or not rule.matches(series):
            return 0
        wanted = [p for p in points if p.severity >= rule.min_severity]
        if not wanted:
            return 0
        count = text("SELECT COUNT(*) FROM alert_points WHERE rule_id = :rule AND series = :series")
        key = {"rule": rule.id, "series": series}
        with self.database.write(LOCK) as connection:
            before = connection.execute(count, key).scalar_one()
            connection.execute(
                text(
                    "INSERT INTO alert_points (rule_id, series, timestamp, value, expected, "
                    "severity, explanation, recorded) VALUES (:rule, :series, :timestamp, "
                    ":value, :expected, :severity, :explanation, :recorded) "
                    "ON CONFLICT (rule_id, series, timestamp) DO NOTHING"
                ),
                [
                    {
                        **key,
                        "timestamp": str(pd.Timestamp(p.timestamp)),
                        "value": p.value,
                        "expected": p.expected,
                        "severity": p.severity,
                        "explanation": p.explanation,
                        "recorded": now,
                    }
                    for p in wanted
                ],
            )
            added = connection.execute(count, key).scalar_one() - before
            if added:
                connection.execute(
                    text(
                        "INSERT INTO alerts (rule_id, series, dataset, status, opened, "
                        "last_flag) VALUES (:rule, :series, :dataset, 'firing', :now, :now) "
                        "ON CONFLICT (rule_id, series) DO UPDATE SET opened = CASE "
                        "WHEN alerts.status = 'resolved' THEN excluded.opened "
                        "ELSE alerts.opened END, status = 'firing', "
                        "last_flag = excluded.last_flag, dataset = excluded.dataset"
                    ),
                    {**key, "dataset": dataset, "now": now},
                )
        return int(added)

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
        with self.database.read() as connection:
            firing = connection.execute(
                text(
                    "SELECT rule_id, series, dataset, last_flag, last_email FROM alerts "
                    "WHERE status = 'firing'"
                )
            ).all()
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
    def _waiting(connection: Connection, rule_id: int, series: str) -> list[tuple]:
        return connection.execute(
            text(
                "SELECT id, timestamp, value, expected, severity, explanation FROM alert_points "
                "WHERE rule_id = :rule AND series = :series AND email_id IS NULL "
                "ORDER BY timestamp"
            ),
            {"rule": rule_id, "series": series},
        ).all()

    def _set_email(self, rule_id: int, series: str, email_id: int) -> None:
        with self.database.write(LOCK) as connection:
            connection.execute(
                text(
                    "UPDATE alert_points SET email_id = :email "
                    "WHERE rule_id = :rule AND series = :series AND email_id IS NULL"
                ),
                {"email": email_id, "rule": rule_id, "series": series},
            )

    def _send_waiting(self, rule: Rule, series: str, dataset: str, now: float) -> int:
        """Email the points waiting in an alert, if the budget allows.

        All of it is one transaction holding the alerts lock, from reading what waits to
        adding the email to the outbox and marking the points emailed: another process
        dispatching at the same moment waits for the lock, then finds nothing waiting, so the
        points go out in one email; and a crash before the commit leaves neither the email
        nor the marks.
        """
        key = {"rule": rule.id, "series": series}
        with self.database.write(LOCK) as connection:
            last_email = connection.execute(
                text("SELECT last_email FROM alerts WHERE rule_id = :rule AND series = :series"),
                key,
            ).scalar_one()
            if last_email is not None and now - last_email < rule.group_minutes * 60:
                return 0  # another dispatcher has just sent it
            rows = self._waiting(connection, rule.id, series)
            used = connection.execute(
                text("SELECT count FROM emails_a_day WHERE rule_id = :rule AND day = :day"),
                {"rule": rule.id, "day": _day(now)},
            ).scalar()
            if not rows or rule.daily_budget - (used or 0) <= 0:
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
            email_id = self.outbox.add(message, now=now, connection=connection)
            connection.execute(
                text("UPDATE alert_points SET email_id = :email WHERE id = :id"),
                [{"email": email_id, "id": row[0]} for row in rows],
            )
            connection.execute(
                text(
                    "UPDATE alerts SET last_email = :now WHERE rule_id = :rule AND series = :series"
                ),
                {**key, "now": now},
            )
            connection.execute(
                text(
                    "INSERT INTO emails_a_day (rule_id, day, count) VALUES (:rule, :day, 1) "
                    "ON CONFLICT (rule_id, day) DO UPDATE SET count = emails_a_day.count + 1"
                ),
                {"rule": rule.id, "day": _day(now)},
            )
        return 1

    def _resolve(
        self, rule: Rule, series: str, dataset: str, last_flag: float, now: float, muted: bool
    ) -> int:
        """Close the alert once nothing waits; one email says so (unless muted), also when
        two processes dispatch at once (the second finds it resolved)."""
        key = {"rule": rule.id, "series": series}
        with self.database.write(LOCK) as connection:
            status = connection.execute(
                text("SELECT status FROM alerts WHERE rule_id = :rule AND series = :series"), key
            ).scalar_one()
            if status != "firing" or self._waiting(connection, rule.id, series):
                return 0
            connection.execute(
                text(
                    "UPDATE alerts SET status = 'resolved', last_email = NULL "
                    "WHERE rule_id = :rule AND series = :series"
                ),
                key,
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
            self.outbox.add(message, now=now, connection=connection)
        return 1

    def history(self, rule_id: int | None = None, limit: int = 500) -> pd.DataFrame:
        """Recorded points, newest first, with the email each went out in (-1: muted)."""
        where = "WHERE rule_id = :rule" if rule_id is not None else ""
        with self.database.read() as connection:
            return query_frame(
                connection,
                "SELECT rule_id, series, timestamp, value, expected, severity, explanation, "
                f"email_id FROM alert_points {where} ORDER BY timestamp DESC LIMIT :limit",
                {"rule": rule_id, "limit": limit},
            )
