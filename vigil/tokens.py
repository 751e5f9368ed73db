"""Ingest API tokens that admins make and revoke (beside those in `VIGIL_API_TOKENS`).

Only a SHA-256 digest of each token is kept: a token is 32 random bytes, so a digest cannot be
turned back into it, and a leaked file opens nothing. The token itself is shown once, when it
is made.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from detection.errors import DataError
from storage.sqlite import connect

PREFIX = "vgl_"
#: A token's last use is written at most this often (seconds), not on every request.
USE_GRANULARITY = 60
_NAME = re.compile(r"^[\w .@-]{1,80}$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    digest TEXT NOT NULL UNIQUE,
    hint TEXT NOT NULL,
    made_by TEXT NOT NULL,
    created REAL NOT NULL,
    last_used REAL,
    revoked REAL
)
"""


@dataclass(frozen=True)
class ApiToken:
    """A token as admins see it: never the token itself, only its first characters."""

    id: int
    name: str
    hint: str
    made_by: str
    created: float
    last_used: float | None
    revoked: float | None

    @property
    def active(self) -> bool:
        return self.revoked is None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    """API tokens in SQLite in the data directory."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = connect(self.path)
        connection.execute(SCHEMA)
        return connection

    def create(self, name: str, made_by: str, *, now: float | None = None) -> tuple[ApiToken, str]:
        """A new token named `name` (what it is for): its record, and the token, to show once."""
        name = (name or "").strip()
        if not _NAME.match(name):
            raise DataError(
                "Name a token after what uses it: 1 to 80 letters, digits, spaces and . _ @ -."
            )
        token = PREFIX + secrets.token_urlsafe(32)
        hint = token[: len(PREFIX) + 4]
        moment = time.time() if now is None else now
        with closing(self._connect()) as connection, connection:
            cursor = connection.execute(
                "INSERT INTO api_tokens (name, digest, hint, made_by, created) "
                "VALUES (?, ?, ?, ?, ?)",
                (name, _digest(token), hint, made_by, moment),
            )
            token_id = int(cursor.lastrowid)
        return ApiToken(token_id, name, hint, made_by, moment, None, None), token

    def revoke(self, token_id: int, *, now: float | None = None) -> ApiToken:
        """Refuse a token from now on (revoking it again changes nothing)."""
        moment = time.time() if now is None else now
        with closing(self._connect()) as connection, connection:
            connection.execute(
                "UPDATE api_tokens SET revoked = ? WHERE id = ? AND revoked IS NULL",
                (moment, token_id),
            )
        found = next((t for t in self.tokens() if t.id == token_id), None)
        if found is None:
            raise DataError(f"There is no API token {token_id}.")
        return found

    def tokens(self) -> list[ApiToken]:
        """Every token, newest first, revoked ones included."""
        with closing(self._connect()) as connection:
            rows = connection.execute(
                "SELECT id, name, hint, made_by, created, last_used, revoked FROM api_tokens "
                "ORDER BY id DESC"
            ).fetchall()
        return [ApiToken(*row) for row in rows]

    def check(self, token: str, *, now: float | None = None) -> ApiToken | None:
        """The active token this is, noting its use; None for any other string."""
        if not token.startswith(PREFIX):
            return None
        moment = time.time() if now is None else now
        with closing(self._connect()) as connection, connection:
            row = connection.execute(
                "SELECT id, name, hint, made_by, created, last_used, revoked FROM api_tokens "
                "WHERE digest = ? AND revoked IS NULL",
                (_digest(token),),
            ).fetchone()
            if row is None:
                return None
            found = ApiToken(*row)
            if found.last_used is None or moment - found.last_used >= USE_GRANULARITY:
                connection.execute(
                    "UPDATE api_tokens SET last_used = ? WHERE id = ?", (moment, found.id)
                )
        return found
