"""From episodes to emails: alerts keyed by (rule, series), about anomaly episodes, grouped,
budgeted, resolved.

`record` keeps the episodes a rule cares about, one row each (key: rule, series and the
episode's start time), merged across the scoring passes that report it and however often the
same points are reported. `dispatch` turns what is waiting into emails in the outbox: at most
one per alert and group interval, announcing every episode that reached the rule's severity
since the last one (an episode is announced once: growing later sends nothing); within each
rule's daily budget (what is over it waits, and the next allowed email lists it); none while a
rule is paused or silenced (those episodes stay in the history, unsent); and once an alert's
series has had no new flag for the rule's resolve time, one "resolved" email naming the
announced episodes that ended since (none when each had already ended when announced).
A rule's webhooks hear of each episode on its own, in the same steps: one `opened` call per
episode and webhook with the email that announces it, one `resolved` call once it is over
(right away for an episode that had ended when announced); a rule may have webhooks and no
recipients.

Every step reads and writes alert state in one transaction holding the alerts lock, and puts
its email and webhook calls into the outbox in that same transaction: several processes may
record and dispatch at once and each still goes into the outbox once, and a crash before the
commit leaves neither them nor the state that says they were sent.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import TypeVar

import pandas as pd
from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError

from vigil.alerts.compose import Thread, analyze_url, compose_alert, compose_resolved, thread_root
from vigil.alerts.episodes import AlertEpisode, AlertPoint, EpisodeReport, stamp
from vigil.alerts.outbox import Outbox
from vigil.alerts.rules import Rule
from vigil.alerts.webhook_bodies import EpisodeEvent, body
from vigil.storage.database import Database, query_frame

#: Episodes listed one by one in an email; the rest are counted.
MAX_LISTED = 20
#: email_id (or ended_email_id) of episodes that came, or ended, while their rule was paused or
#: silenced, so no email says so
MUTED = -1
#: email_id (or ended_email_id) of episodes whose email could not be built (the log says
#: why, once): they are not tried again, so one broken alert never holds the others up.
UNSENDABLE = -2
#: Held from reading an alert's state to writing it (and its email to the outbox).
LOCK = "alerts"

log = logging.getLogger(__name__)
_UNSENDABLE_LOG = (
    "the email or webhook calls of rule %r on series %r could not be built: they are left "
    "out (episodes with nothing to send are marked unsendable) and the other alerts go on"
)
T = TypeVar("T")

#: The rows of a series (rule, series, data set) around episodes, for an email's chart.
Context = Callable[[Rule, str, str, Sequence[AlertEpisode]], pd.DataFrame | None]
MarkLink = Callable[[str, str, AlertPoint], str]
#: The link that silences (rule id, series), made at `now` (seconds since the epoch).
SilenceLink = Callable[[int, str, float], str]

_COLUMNS = (
    "id, rule_id, series, dataset, dataset_name, start_at, end_at, points, peak_at, value, "
    "expected, severity, explanation, open, qualified, email_id, ended_email_id"
)
_SELECT = f"SELECT {_COLUMNS} FROM alert_episodes WHERE rule_id = :rule AND series = :series"


def _day(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d")


def _peak(point: AlertPoint) -> dict:
    severity = float(point.severity)
    return {
        "peak_at": stamp(point.timestamp),
        "value": None if pd.isna(point.value) else float(point.value),
        "expected": None if pd.isna(point.expected) else float(point.expected),
        "severity": 0.0 if pd.isna(severity) else severity,
        "explanation": point.explanation or "",
    }


def _merge(row: Mapping, report: EpisodeReport, min_severity: float) -> dict:
    """A recorded episode with a new report of it: the end is the later one, the peak the more
    severe (the earlier on a tie: the history keeps no score to break it by, as
    `detection.episodes.peak_rows` does within a report); points add up when the report goes
    on from the recorded end, and otherwise (the same points again, or a pass that went back
    over part of it) the count is the larger one, so it is exact unless a late point made a
    scorer go back mid-episode, and then a lower bound."""
    first, last = stamp(report.first), stamp(report.last)
    if report.onset or first <= row["end_at"]:
        points = max(row["points"], report.points)
    else:
        points = row["points"] + report.points
    peak = (
        _peak(report.peak)
        if report.peak.severity > row["severity"]
        else {key: row[key] for key in ("peak_at", "value", "expected", "severity", "explanation")}
    )
    return {
        "end_at": max(row["end_at"], last),
        "points": points,
        **peak,
        "open": int(report.open) if last >= row["end_at"] else row["open"],
        "qualified": int(bool(row["qualified"]) or peak["severity"] >= min_severity),
    }


@dataclass(frozen=True)
class _Call:
    """A webhook call about to go into the outbox."""

    message_id: str
    url: str
    shown: str
    subject: str
    body: bytes
    #: The call this one waits for (a "resolved" waits for its episode's "opened").
    after: str | None = None


class AlertEngine:
    """Alert state in the database beside the rules; emails go to `outbox`, in the same
    database, in the same transaction as the state that says they were sent. Every time in
    an email is written in `zone` (an IANA name), named."""

    def __init__(
        self,
        database: Database,
        outbox: Outbox,
        *,
        sender: str,
        public_url: str,
        context: Context | None = None,
        mark_link: MarkLink | None = None,
        silence_link: SilenceLink | None = None,
        zone: str = "UTC",
    ) -> None:
        if outbox.database.url != database.url:
            raise ValueError("alert state and the outbox must share a database")
        self.database = database
        self.mark_link = mark_link
        self.silence_link = silence_link
        self.outbox = outbox
        self.sender = sender
        self.public_url = public_url
        self.context = context
        self.zone = zone

    def record(
        self,
        rule: Rule,
        series: str,
        dataset: str,
        reports: Sequence[EpisodeReport],
        *,
        now: float,
        dataset_name: str | None = None,
        open_run: Mapping[str, str] | None = None,
    ) -> int:
        """Keep what a scoring pass saw of `series`' episodes under `rule`; how many episodes
        reached the rule's `min_severity` for the first time (the ones an email will announce).
        `open_run` (the Analyze page's fields for the stored result of this pass) is what
        every email about the alert opens from then on, also those sent later, until a pass
        that flags it again says otherwise.

        An episode is one row, keyed by (rule, series, its start time), whatever ids scorers
        gave it: a report with its onset finds the row by its start, a report without (the
        episode began in an earlier pass) continues the latest episode that began before it
        and may still go on (else it starts one of its own). Either way the row grows (end,
        points, peak) and reporting the same points again changes nothing. Episodes are kept
        whatever their severity, so one that begins mild is still one episode when it grows
        severe; it is announced once its peak so far reaches `min_severity`. Only series the
        rule watches in `dataset` count, and only episodes going the rule's direction."""
        reports = [report for report in reports if rule.takes(report)]
        if rule.id is None or not rule.watches(series, dataset) or not reports:
            return 0
        new = 0
        flagging = False
        with self.database.write(LOCK) as connection:
            for report in sorted(reports, key=lambda report: report.first):
                row = self._episode_of(connection, rule.id, series, report)
                if row is None:
                    qualified = report.peak.severity >= rule.min_severity
                    values = {"dataset": dataset, "dataset_name": dataset_name, "now": now}
                    self._insert(connection, rule.id, series, report, qualified, values)
                    new += qualified
                    flagging |= qualified
                    continue
                merged = _merge(row, report, rule.min_severity)
                grew = merged["end_at"] > row["end_at"] or merged["points"] > row["points"]
                if merged == {key: row[key] for key in merged}:
                    continue
                connection.execute(
                    text(
                        "UPDATE alert_episodes SET end_at = :end_at, points = :points, "
                        "peak_at = :peak_at, value = :value, expected = :expected, "
                        "severity = :severity, explanation = :explanation, open = :open, "
                        "qualified = :qualified, dataset = :dataset, "
                        "dataset_name = COALESCE(:dataset_name, dataset_name), "
                        "updated = :now WHERE id = :id"
                    ),
                    {
                        **merged,
                        "dataset": dataset,
                        "dataset_name": dataset_name,
                        "now": now,
                        "id": row["id"],
                    },
                )
                newly = bool(merged["qualified"]) and not row["qualified"]
                new += newly
                flagging |= newly or (bool(merged["qualified"]) and grew)
            if flagging:
                connection.execute(
                    text(
                        "INSERT INTO alerts (rule_id, series, dataset, dataset_name, status, "
                        "opened, last_flag, open_run) VALUES (:rule, :series, :dataset, "
                        ":dataset_name, 'firing', :now, :now, :open_run) "
                        "ON CONFLICT (rule_id, series) DO UPDATE SET opened = CASE "
                        "WHEN alerts.status = 'resolved' THEN excluded.opened "
                        "ELSE alerts.opened END, status = 'firing', "
                        "last_flag = excluded.last_flag, dataset = excluded.dataset, "
                        "dataset_name = COALESCE(excluded.dataset_name, alerts.dataset_name), "
                        "open_run = excluded.open_run"
                    ),
                    {
                        "rule": rule.id,
                        "series": series,
                        "dataset": dataset,
                        "dataset_name": dataset_name,
                        "now": now,
                        "open_run": None if open_run is None else json.dumps(dict(open_run)),
                    },
                )
        return int(new)

    @staticmethod
    def _episode_of(
        connection: Connection, rule_id: int, series: str, report: EpisodeReport
    ) -> dict | None:
        """The recorded episode a report is part of, None for a new one."""
        key = {"rule": rule_id, "series": series, "first": stamp(report.first)}
        if report.onset:
            row = (
                connection.execute(text(f"{_SELECT} AND start_at = :first"), key).mappings().first()
            )
            return None if row is None else dict(row)
        row = (
            connection.execute(
                text(f"{_SELECT} AND start_at <= :first ORDER BY start_at DESC LIMIT 1"), key
            )
            .mappings()
            .first()
        )
        if row is None or not (row["open"] or row["end_at"] >= key["first"]):
            return None  # it began before this rule saw it: from here on, it is one of its own
        return dict(row)

    @staticmethod
    def _insert(
        connection: Connection,
        rule_id: int,
        series: str,
        report: EpisodeReport,
        qualified: bool,
        values: Mapping,
    ) -> None:
        start = stamp(report.first)
        # episodes follow one another: those that began before this one have ended
        connection.execute(
            text(
                "UPDATE alert_episodes SET open = 0 WHERE rule_id = :rule AND series = :series "
                "AND open = 1 AND start_at < :start"
            ),
            {"rule": rule_id, "series": series, "start": start},
        )
        connection.execute(
            text(
                "INSERT INTO alert_episodes (rule_id, series, dataset, dataset_name, start_at, "
                "end_at, points, peak_at, value, expected, severity, explanation, open, "
                "qualified, recorded, updated) VALUES (:rule, :series, :dataset, "
                ":dataset_name, :start, :end, :points, :peak_at, :value, :expected, :severity, "
                ":explanation, :open, :qualified, :now, :now)"
            ),
            {
                **values,
                "rule": rule_id,
                "series": series,
                "start": start,
                "end": stamp(report.last),
                "points": report.points,
                **_peak(report.peak),
                "open": int(report.open),
                "qualified": int(qualified),
            },
        )

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
                    "SELECT rule_id, series, dataset, dataset_name, last_flag, last_email "
                    "FROM alerts WHERE status = 'firing'"
                )
            ).all()
        for rule_id, series, dataset, dataset_name, last_flag, last_email in firing:
            rule = by_id.get(rule_id)
            if rule is None:
                continue
            muted = rule.muted(moment) or moment < silences.get((rule_id, series), moment)
            try:
                if muted:
                    self._mute_waiting(rule_id, series)
                elif last_email is None or now - last_email >= rule.group_minutes * 60:
                    emails += self._send_waiting(rule, series, dataset, dataset_name, now)
                if now - last_flag >= rule.resolve_minutes * 60:
                    emails += self._resolve(rule, series, dataset, dataset_name, now, muted)
            except SQLAlchemyError:  # the database, not this alert: the round stops
                raise
            except Exception:  # a bug met by this alert: the others go on
                log.exception("alert of rule %r on series %r failed", rule.name, series)
        return emails

    @staticmethod
    def _waiting(connection: Connection, rule_id: int, series: str) -> list[dict]:
        """Episodes that reached the rule's severity and no email has announced yet."""
        rows = connection.execute(
            text(f"{_SELECT} AND qualified = 1 AND email_id IS NULL ORDER BY start_at"),
            {"rule": rule_id, "series": series},
        ).mappings()
        return [dict(row) for row in rows]

    def _mute_waiting(self, rule_id: int, series: str) -> None:
        with self.database.write(LOCK) as connection:
            connection.execute(
                text(
                    "UPDATE alert_episodes SET email_id = :muted WHERE rule_id = :rule "
                    "AND series = :series AND qualified = 1 AND email_id IS NULL"
                ),
                {"muted": MUTED, "rule": rule_id, "series": series},
            )

    def _send_waiting(
        self, rule: Rule, series: str, dataset: str, dataset_name: str | None, now: float
    ) -> int:
        """Email the episodes waiting in an alert, if the budget allows.

        All of it is one transaction holding the alerts lock, from reading what waits to
        adding the email to the outbox and marking the episodes announced: another process
        dispatching at the same moment waits for the lock, then finds nothing waiting, so the
        episodes go out in one email; and a crash before the commit leaves neither the email
        nor the marks. An episode that had ended by then needs no "resolved" email: this one
        says so.
        """
        assert rule.id is not None, "only saved rules send"
        rule_id = rule.id
        key = {"rule": rule_id, "series": series}
        with self.database.write(LOCK) as connection:
            last_email, opened, open_run = connection.execute(
                text(
                    "SELECT last_email, opened, open_run FROM alerts "
                    "WHERE rule_id = :rule AND series = :series"
                ),
                key,
            ).one()
            if last_email is not None and now - last_email < rule.group_minutes * 60:
                return 0  # another dispatcher has just sent it
            rows = self._waiting(connection, rule.id, series)
            used = connection.execute(
                text("SELECT count FROM emails_a_day WHERE rule_id = :rule AND day = :day"),
                {"rule": rule.id, "day": _day(now)},
            ).scalar()
            if not rows or rule.daily_budget - (used or 0) <= 0:
                return 0  # over the budget: the episodes wait for the next allowed email
            episodes = [AlertEpisode.from_row(row) for row in rows]
            listed = sorted(episodes, key=lambda e: e.peak.severity, reverse=True)[:MAX_LISTED]
            mark_link = self.mark_link
            run = None if open_run is None else json.loads(open_run)
            where = (rule, series, dataset, dataset_name, run)
            calls = self._built(
                rule,
                series,
                lambda: (
                    self._calls(*where, episodes, "opened", now)
                    + self._calls(*where, [e for e in episodes if not e.open], "resolved", now)
                ),
            )
            message = None
            if rule.recipients:
                message = self._built(
                    rule,
                    series,
                    lambda: compose_alert(
                        rule=rule.name,
                        series=series,
                        dataset=dataset,
                        dataset_name=dataset_name,
                        episodes=listed,
                        more=len(episodes) - len(listed),
                        first=episodes[0].start,
                        last=episodes[-1].start,
                        recipients=rule.recipients,
                        sender=self.sender,
                        public_url=self.public_url,
                        context=self._context(rule, series, dataset, episodes),
                        mark_link=None
                        if mark_link is None
                        else lambda point: mark_link(dataset, series, point),
                        thread=self._thread(connection, rule, series, opened),
                        open_url=self._open_url(dataset, series, listed, open_run),
                        silence_url=None
                        if self.silence_link is None
                        else self.silence_link(rule_id, series, now),
                        zone=self.zone,
                    ),
                )
            if message is None and not calls:
                connection.execute(
                    text("UPDATE alert_episodes SET email_id = :email WHERE id = :id"),
                    [{"email": UNSENDABLE, "id": row["id"]} for row in rows],
                )
                return 0
            email_id = self._keep(connection, message, calls or [], now)
            connection.execute(
                text(
                    "UPDATE alert_episodes SET email_id = :email, ended_email_id = CASE "
                    "WHEN open = 0 THEN :email ELSE ended_email_id END WHERE id = :id"
                ),
                [{"email": email_id, "id": row["id"]} for row in rows],
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
        self,
        rule: Rule,
        series: str,
        dataset: str,
        dataset_name: str | None,
        now: float,
        muted: bool,
    ) -> int:
        """Close the alert once nothing waits: its episodes have ended. One email names those
        announced while still going on (unless muted, or there are none), also when two
        processes dispatch at once (the second finds it resolved)."""
        assert rule.id is not None, "only saved rules send"
        key = {"rule": rule.id, "series": series}
        with self.database.write(LOCK) as connection:
            status, opened, open_run = connection.execute(
                text(
                    "SELECT status, opened, open_run FROM alerts "
                    "WHERE rule_id = :rule AND series = :series"
                ),
                key,
            ).one()
            if status != "firing" or self._waiting(connection, rule.id, series):
                return 0
            connection.execute(
                text(
                    "UPDATE alerts SET status = 'resolved', last_email = NULL "
                    "WHERE rule_id = :rule AND series = :series"
                ),
                key,
            )
            connection.execute(
                text(
                    "UPDATE alert_episodes SET open = 0 WHERE rule_id = :rule "
                    "AND series = :series AND open = 1"
                ),
                key,
            )
            ended = [
                dict(row)
                for row in connection.execute(
                    text(
                        f"{_SELECT} AND email_id > 0 AND ended_email_id IS NULL ORDER BY start_at"
                    ),
                    key,
                ).mappings()
            ]
            email_id = MUTED
            if ended and not muted:
                episodes = [AlertEpisode.from_row(row, ended=True) for row in ended]
                run = None if open_run is None else json.loads(open_run)
                where = (rule, series, dataset, dataset_name, run)
                calls = self._built(
                    rule, series, lambda: self._calls(*where, episodes, "resolved", now)
                )
                message = None
                if rule.recipients:
                    message = self._built(
                        rule,
                        series,
                        lambda: compose_resolved(
                            rule=rule.name,
                            series=series,
                            dataset=dataset,
                            dataset_name=dataset_name,
                            episodes=episodes,
                            recipients=rule.recipients,
                            sender=self.sender,
                            public_url=self.public_url,
                            context=self._context(rule, series, dataset, episodes),
                            thread=self._thread(connection, rule, series, opened),
                            open_url=self._open_url(dataset, series, episodes, open_run),
                            zone=self.zone,
                        ),
                    )
                email_id = self._keep(connection, message, calls or [], now)
            if email_id != MUTED:
                connection.execute(
                    text("UPDATE alert_episodes SET ended_email_id = :email WHERE id = :id"),
                    [{"email": email_id, "id": row["id"]} for row in ended],
                )
            connection.execute(  # the rest came, or ended, while muted
                text(
                    "UPDATE alert_episodes SET ended_email_id = :muted WHERE rule_id = :rule "
                    "AND series = :series AND email_id IS NOT NULL AND ended_email_id IS NULL"
                ),
                {**key, "muted": MUTED},
            )
        return int(email_id > 0)

    def _calls(
        self,
        rule: Rule,
        series: str,
        dataset: str,
        dataset_name: str | None,
        run: dict[str, str] | None,
        episodes: Sequence[AlertEpisode],
        event: str,
        now: float,
    ) -> list[_Call]:
        """One call per webhook of `rule` and episode, saying `event`."""
        assert rule.id is not None, "only saved rules send"
        moment = datetime.fromtimestamp(now, UTC)
        calls = []
        for episode in episodes:
            about = EpisodeEvent(
                event=event,
                rule_id=rule.id,
                rule=rule.name,
                series=series,
                dataset=dataset,
                dataset_name=dataset_name,
                episode=episode,
                public_url=self.public_url,
                run=run,
            )
            summary = about.summary(self.zone)
            for hook in rule.webhooks:
                calls.append(
                    _Call(
                        about.message_id(hook),
                        hook.url,
                        hook.shown,
                        f"{event.upper()} · {summary}",
                        body(about, hook, moment, self.zone),
                        after=None
                        if event == "opened"
                        else replace(about, event="opened").message_id(hook),
                    )
                )
        return calls

    @staticmethod
    def _built(rule: Rule, series: str, build: Callable[[], T]) -> T | None:
        """What `build` makes of an alert (its email, its webhook calls); None when a bug
        stops it: logged once, and the rest of the alert goes on without it."""
        try:
            return build()
        except SQLAlchemyError:  # the database, not this alert: the round stops
            raise
        except Exception:
            log.exception(_UNSENDABLE_LOG, rule.name, series)
            return None

    def _keep(
        self,
        connection: Connection,
        message: EmailMessage | None,
        calls: Sequence[_Call],
        now: float,
    ) -> int:
        """Put an alert's email (if its rule has recipients) and webhook calls into the
        outbox, in the alert's transaction; the id that marks its episodes: the email's, else
        the first call's."""
        email_id = (
            None if message is None else self.outbox.add(message, now=now, connection=connection)
        )
        call_ids = [
            self.outbox.add_webhook(
                call.message_id,
                call.url,
                call.shown,
                call.subject,
                call.body,
                now=now,
                connection=connection,
                after=call.after,
            )
            for call in calls
        ]
        if email_id is not None:
            return email_id
        return call_ids[0] if call_ids else UNSENDABLE

    def _thread(self, connection: Connection, rule: Rule, series: str, opened: float) -> Thread:
        """The thread of the incident open since `opened`: its first email is the one with the
        root Message-ID, when the outbox has none yet."""
        assert rule.id is not None, "only saved rules send"
        root = thread_root(self.public_url, rule.id, series, opened)
        sent = connection.execute(
            text("SELECT 1 FROM outbox WHERE message_id = :root"), {"root": root}
        ).first()
        return Thread(root, first=sent is None)

    def _open_url(
        self,
        dataset: str,
        series: str,
        episodes: Sequence[AlertEpisode],
        open_run: str | None,
    ) -> str | None:
        """The stored result the alert's run left, around the worst peak; None (the series'
        page) when there is none."""
        if not open_run:
            return None
        worst = max(episodes, key=lambda episode: episode.peak.severity)
        return analyze_url(
            self.public_url, dataset, series, worst.peak.timestamp, run=json.loads(open_run)
        )

    def _context(
        self, rule: Rule, series: str, dataset: str, episodes: Sequence[AlertEpisode]
    ) -> pd.DataFrame | None:
        """The rows an email's chart shows around `episodes`, None for no chart."""
        if self.context is None:
            return None
        return self.context(rule, series, dataset, episodes)

    def history(self, rule_id: int | None = None, limit: int = 500) -> pd.DataFrame:
        """Recorded episodes that reached their rule's severity, latest first: series, data
        set, span, points, peak (time, value, expected, severity, reason), whether it may go
        on, the email that announced it (`email_id`, -1 when muted, -2 when it could not be
        built, missing while it waits; a webhook call's for a rule without recipients), that
        email's status and kind in the outbox, and the email that said it ended."""
        where = "AND e.rule_id = :rule" if rule_id is not None else ""
        with self.database.read() as connection:
            return query_frame(
                connection,
                "SELECT e.id, e.rule_id, e.series, e.dataset, e.dataset_name, e.start_at, "
                "e.end_at, e.points, e.peak_at, e.value, e.expected, e.severity, "
                "e.explanation, e.open, e.email_id, o.status AS email_status, "
                "o.kind AS email_kind, "
                "e.ended_email_id FROM alert_episodes e LEFT JOIN outbox o ON o.id = e.email_id "
                f"WHERE e.qualified = 1 {where} ORDER BY e.start_at DESC, e.id DESC LIMIT :limit",
                {"rule": rule_id, "limit": limit},
            )
