"""The outbox: every email and webhook call is written to the database before any attempt to
send it, and marked sent only once its receiver has accepted it, so a crash or an unreachable
server delays notifications but loses none. Each has a unique `message_id` (an email's
Message-ID, a webhook call's `webhook-id`): the same notification is never kept twice."""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid

from sqlalchemy import Connection, String, bindparam, text

from vigil.storage.database import Database

STATUSES = ("pending", "sending", "sent", "failed")
#: What the outbox holds: emails (for SMTP) and webhook calls (an HTTP POST each).
KINDS = ("email", "webhook")
#: How emails are written and read back for sending: headers fold only past the 998
#: characters a line may have. Python folds shorter unstructured headers wrongly (a subject of
#: 70 to 77 characters reads back with a leading space, one with a non-ASCII word with a space
#: too many), and mail clients show what it wrote.
WRITE = policy.SMTP.clone(max_line_length=998)
READ = policy.default.clone(max_line_length=998)
HOST = socket.gethostname()


def _claimer() -> str:
    return f"{HOST}:{os.getpid()}"


def _dead_here(claimer: str) -> bool:
    """A claim made on this machine by a process that no longer runs."""
    host, _, pid = claimer.rpartition(":")
    if host != HOST or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class DeliveryError(Exception):
    """An email or webhook call its receiver did not take. `temporary` failures are worth
    trying again, after `retry_after` seconds when the receiver asked for that."""

    def __init__(self, reply: str, *, temporary: bool, retry_after: float | None = None) -> None:
        super().__init__(reply)
        self.reply = reply
        self.temporary = temporary
        self.retry_after = retry_after


@dataclass(frozen=True)
class OutboxEmail:
    """One email or webhook call in the outbox, as the Alerts page and the delivery worker
    see it. A webhook call's `raw` is its body, `target` its address and `recipients` that
    address with its path hidden."""

    id: int
    message_id: str
    created: str
    recipients: list[str]
    subject: str
    status: str
    attempts: int
    last_error: str | None
    sent_at: str | None
    raw: bytes
    kind: str = "email"
    target: str | None = None

    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=READ)


_COLUMNS = (
    "id, message_id, created, recipients, subject, status, attempts, last_error, sent_at, "
    "message, kind, target"
)


def _email(row: tuple) -> OutboxEmail:
    id_, message_id, created, recipients, subject, status, attempts, error, sent_at = row[:9]
    raw, kind, target = row[9:]
    return OutboxEmail(
        id_,
        message_id,
        created,
        json.loads(recipients),
        subject,
        status,
        attempts,
        error,
        sent_at,
        bytes(raw),
        kind,
        target,
    )


#: Held while claiming emails, so two senders never claim the same one.
LOCK = "outbox"


class Outbox:
    """Emails in the database, read by the Alerts page while the delivery worker writes."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def add(
        self,
        message: EmailMessage,
        *,
        now: float | None = None,
        connection: Connection | None = None,
    ) -> int:
        """Keep `message` for delivery (it gets a Message-ID and a Date, `now`, if it has
        none); its id. Given a `connection`, the email is part of that transaction: kept only
        if it commits."""
        moment = time.time() if now is None else now
        if "Message-ID" not in message:
            message["Message-ID"] = make_msgid(domain="vigil.local")
        if "Date" not in message:
            message["Date"] = formatdate(moment, usegmt=True)
        fields = [
            str(value) for header in ("To", "Cc", "Bcc") for value in message.get_all(header) or []
        ]
        recipients = [address for _, address in getaddresses(fields) if address]
        if not recipients:
            raise ValueError("an email needs at least one recipient")
        values = {
            "message_id": str(message["Message-ID"]),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "recipients": json.dumps(recipients),
            "subject": str(message.get("Subject", "")),
            "message": message.as_bytes(policy=WRITE),
            "next_attempt": moment,
        }
        insert = text(
            "INSERT INTO outbox (message_id, created, recipients, subject, message, "
            "next_attempt) VALUES (:message_id, :created, :recipients, :subject, :message, "
            ":next_attempt) RETURNING id"
        )
        if connection is not None:
            return int(connection.execute(insert, values).scalar_one())
        with self.database.write(LOCK) as own:
            return int(own.execute(insert, values).scalar_one())

    def add_webhook(
        self,
        message_id: str,
        url: str,
        shown: str,
        subject: str,
        body: bytes,
        *,
        now: float,
        connection: Connection,
        after: str | None = None,
    ) -> int:
        """Keep a webhook call for delivery, in the caller's transaction; its id. A call with
        this `message_id` that is kept already is not kept twice: its id comes back. `after`
        names a call (its message id) this one waits for: it is not sent before that one
        was sent or failed for good."""
        inserted = connection.execute(
            text(
                "INSERT INTO outbox (message_id, created, recipients, subject, message, "
                "next_attempt, kind, target, after_id) VALUES (:message_id, :created, "
                ":recipients, :subject, :message, :next_attempt, 'webhook', :target, "
                "(SELECT id FROM outbox WHERE message_id = :after)) "
                "ON CONFLICT (message_id) DO NOTHING RETURNING id"
            ),
            {
                "after": after,
                "message_id": message_id,
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
                "recipients": json.dumps([shown]),
                "subject": subject,
                "message": body,
                "next_attempt": now,
                "target": url,
            },
        ).scalar()
        if inserted is None:
            inserted = connection.execute(
                text("SELECT id FROM outbox WHERE message_id = :id"), {"id": message_id}
            ).scalar_one()
        return int(inserted)

    def claim(
        self, *, now: float, lease: float, limit: int = 50, kind: str = "email"
    ) -> list[OutboxEmail]:
        """Take the emails (or webhook calls, `kind`) that are due for one delivery round,
        each after the call it waits for; nobody else gets them meanwhile. Those a sender was
        holding when it vanished come back too: at once when it ran on this machine (its
        process is gone), else when its lease runs out."""
        claim = text(
            "UPDATE outbox SET status = 'sending', lease_until = :lease, claimed_by = :me "
            "WHERE id IN (SELECT id FROM outbox WHERE kind = :kind AND ("
            "(status = 'pending' AND next_attempt <= :now) "
            "OR (status = 'sending' AND (lease_until < :now OR claimed_by IN :dead))) "
            "AND (after_id IS NULL OR NOT EXISTS (SELECT 1 FROM outbox AS earlier "
            "WHERE earlier.id = outbox.after_id AND earlier.status IN ('pending', 'sending'))) "
            f"ORDER BY id LIMIT :limit) RETURNING {_COLUMNS}"
        ).bindparams(bindparam("dead", expanding=True, type_=String))
        with self.database.write(LOCK) as connection:
            claimers = connection.execute(
                text("SELECT DISTINCT claimed_by FROM outbox WHERE status = 'sending'")
            ).fetchall()
            dead = [claimer for (claimer,) in claimers if claimer and _dead_here(claimer)]
            rows = connection.execute(
                claim,
                {
                    "lease": now + lease,
                    "me": _claimer(),
                    "now": now,
                    "dead": dead,
                    "limit": limit,
                    "kind": kind,
                },
            ).fetchall()
        return sorted((_email(row) for row in rows), key=lambda email: email.id)

    def _update(self, sql: str, values: dict) -> None:
        with self.database.write(LOCK) as connection:
            connection.execute(text(sql), values)

    def mark_sent(self, email_id: int) -> None:
        self._update(
            "UPDATE outbox SET status = 'sent', attempts = attempts + 1, sent_at = :at, "
            "lease_until = NULL, last_error = NULL WHERE id = :id",
            {"at": datetime.now(UTC).isoformat(timespec="seconds"), "id": email_id},
        )

    def mark_retry(self, email_id: int, error: str, *, at: float) -> None:
        self._update(
            "UPDATE outbox SET status = 'pending', attempts = attempts + 1, last_error = :error, "
            "next_attempt = :at, lease_until = NULL WHERE id = :id",
            {"error": error, "at": at, "id": email_id},
        )

    def mark_failed(self, email_id: int, error: str) -> None:
        self._update(
            "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = :error, "
            "lease_until = NULL WHERE id = :id",
            {"error": error, "id": email_id},
        )

    def counts(self, kind: str | None = None) -> dict[str, int]:
        """How many emails and webhook calls (or only those of one `kind`) are in each
        state."""
        where = "WHERE kind = :kind" if kind else ""
        with self.database.read() as connection:
            found: dict[str, int] = dict(
                connection.execute(
                    text(f"SELECT status, COUNT(*) FROM outbox {where} GROUP BY status"),
                    {"kind": kind},
                ).all()
            )
        return {status: int(found.get(status, 0)) for status in STATUSES}

    def emails(self, status: str | None = None, limit: int = 200) -> list[OutboxEmail]:
        """The newest emails first, all or in one state."""
        where = "WHERE status = :status" if status else ""
        with self.database.read() as connection:
            rows = connection.execute(
                text(f"SELECT {_COLUMNS} FROM outbox {where} ORDER BY id DESC LIMIT :limit"),
                {"status": status, "limit": limit},
            ).fetchall()
        return [_email(row) for row in rows]
