"""The outbox: every email is written to SQLite before any attempt to send it, and marked sent
only once the server has accepted it, so a crash or an unreachable server delays mail but
loses none."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, make_msgid
from pathlib import Path

from storage.sqlite import connect

STATUSES = ("pending", "sending", "sent", "failed")
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


SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL,
    recipients TEXT NOT NULL,
    subject TEXT NOT NULL,
    message BLOB NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL,
    lease_until REAL,
    claimed_by TEXT,
    last_error TEXT,
    sent_at TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, next_attempt);
"""


@dataclass(frozen=True)
class OutboxEmail:
    """One email in the outbox, as the Alerts page and the delivery worker see it."""

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

    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=policy.default)


_COLUMNS = (
    "id, message_id, created, recipients, subject, status, attempts, last_error, sent_at, message"
)


def _email(row: tuple) -> OutboxEmail:
    id_, message_id, created, recipients, subject, status, attempts, error, sent_at, raw = row
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
    )


class Outbox:
    """Emails in a SQLite file (WAL mode, so the page can read while the worker writes)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as connection:
            connection.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return connect(self.path)

    def add(self, message: EmailMessage, *, now: float | None = None) -> int:
        """Keep `message` for delivery (it gets a Message-ID if it has none); its id."""
        if "Message-ID" not in message:
            message["Message-ID"] = make_msgid(domain="vigil.local")
        fields = [
            str(value) for header in ("To", "Cc", "Bcc") for value in message.get_all(header) or []
        ]
        recipients = [address for _, address in getaddresses(fields) if address]
        if not recipients:
            raise ValueError("an email needs at least one recipient")
        with closing(self._connect()) as connection:
            cursor = connection.execute(
                "INSERT INTO outbox (message_id, created, recipients, subject, message, "
                "next_attempt) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    str(message["Message-ID"]),
                    datetime.now(UTC).isoformat(timespec="seconds"),
                    json.dumps(recipients),
                    str(message.get("Subject", "")),
                    message.as_bytes(policy=policy.SMTP),
                    time.time() if now is None else now,
                ),
            )
            return int(cursor.lastrowid)

    def claim(self, *, now: float, lease: float, limit: int = 50) -> list[OutboxEmail]:
        """Take the emails that are due for one delivery round; nobody else gets them
        meanwhile. Emails a sender was holding when it vanished come back too: at once when
        it ran on this machine (its process is gone), else when its lease runs out."""
        with closing(self._connect()) as connection:
            claimers = connection.execute(
                "SELECT DISTINCT claimed_by FROM outbox WHERE status = 'sending'"
            ).fetchall()
            dead = [claimer for (claimer,) in claimers if claimer and _dead_here(claimer)]
            rows = connection.execute(
                "UPDATE outbox SET status = 'sending', lease_until = ?, claimed_by = ? "
                "WHERE id IN (SELECT id FROM outbox WHERE "
                "(status = 'pending' AND next_attempt <= ?) "
                "OR (status = 'sending' AND (lease_until < ? OR claimed_by IN "
                f"({', '.join('?' for _ in dead) or 'NULL'}))) ORDER BY id LIMIT ?) "
                f"RETURNING {_COLUMNS}",
                (now + lease, _claimer(), now, now, *dead, limit),
            ).fetchall()
        return sorted((_email(row) for row in rows), key=lambda email: email.id)

    def _update(self, sql: str, values: tuple) -> None:
        with closing(self._connect()) as connection:
            connection.execute(sql, values)

    def mark_sent(self, email_id: int) -> None:
        self._update(
            "UPDATE outbox SET status = 'sent', attempts = attempts + 1, sent_at = ?, "
            "lease_until = NULL, last_error = NULL WHERE id = ?",
            (datetime.now(UTC).isoformat(timespec="seconds"), email_id),
        )

    def mark_retry(self, email_id: int, error: str, *, at: float) -> None:
        self._update(
            "UPDATE outbox SET status = 'pending', attempts = attempts + 1, last_error = ?, "
            "next_attempt = ?, lease_until = NULL WHERE id = ?",
            (error, at, email_id),
        )

    def mark_failed(self, email_id: int, error: str) -> None:
        self._update(
            "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ?, "
            "lease_until = NULL WHERE id = ?",
            (error, email_id),
        )

    def counts(self) -> dict[str, int]:
        """How many emails are in each state."""
        with closing(self._connect()) as connection:
            found = dict(connection.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status"))
        return {status: int(found.get(status, 0)) for status in STATUSES}

    def emails(self, status: str | None = None, limit: int = 200) -> list[OutboxEmail]:
        """The newest emails first, all or in one state."""
        where, values = ("WHERE status = ?", (status,)) if status else ("", ())
        with closing(self._connect()) as connection:
            rows = connection.execute(
                f"SELECT {_COLUMNS} FROM outbox {where} ORDER BY id DESC LIMIT ?",
                (*values, limit),
            ).fetchall()
        return [_email(row) for row in rows]
