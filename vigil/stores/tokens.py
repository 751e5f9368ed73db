"""Ingest API tokens that admins make and revoke (beside those in `VIGIL_API_TOKENS`).

Only a SHA-256 digest of each token is kept: a token is 32 random bytes, so a digest cannot be
turned back into it, and a leaked file opens nothing. The token itself is shown once, when it
is made.

Each token has scopes, what it may do: `ingest` (post points and nothing else), `read` (read
series, scores and alert rules) and `admin` (configure how series are scored, change alert
rules and silences). Tokens from the settings, and tokens made before scopes existed, have all
three.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from vigil.detection.errors import DataError
from vigil.storage.database import Database

PREFIX = "vgl_"
#: A token's last use is written at most this often (seconds), not on every request.
USE_GRANULARITY = 60
_NAME = re.compile(r"^[\w .@-]{1,80}$")
LOCK = "api-tokens"
_COLUMNS = "id, name, hint, made_by, created, last_used, revoked, scopes"
#: What a token may do, from least to most.
SCOPES = ("ingest", "read", "admin")
SCOPE_NOTES = {
    "ingest": "post points",
    "read": "read series, scores and alert rules",
    "admin": "configure how series are scored or change alert rules",
}
#: The scopes of a new token unless others are asked for.
DEFAULT_SCOPES = ("ingest", "read")


def checked_scopes(scopes: str | Iterable[str] | None) -> tuple[str, ...]:
    """Scopes as given (a list, or text with commas), in `SCOPES` order; a DataError naming
    any that is not a scope, or when none is given."""
    given = scopes.split(",") if isinstance(scopes, str) else list(scopes or [])
    wanted = {str(scope).strip().lower() for scope in given if str(scope).strip()}
    unknown = sorted(wanted - set(SCOPES))
    if unknown:
        raise DataError(
            f"{', '.join(map(repr, unknown))} is not a scope; scopes are {', '.join(SCOPES)}."
        )
    if not wanted:
        raise DataError(f"Give a token at least one scope: {', '.join(SCOPES)}.")
    return tuple(scope for scope in SCOPES if scope in wanted)


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
    scopes: tuple[str, ...] = SCOPES

    @property
    def active(self) -> bool:
        return self.revoked is None

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> ApiToken:
        token_id, name, hint, made_by, created, last_used, revoked, scopes = row
        return cls(
            token_id,
            name,
            hint,
            made_by,
            created,
            last_used,
            revoked,
            scopes=tuple(s for s in SCOPES if s in (scopes or "").split(",")),
        )


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    """API tokens in the database."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def create(
        self,
        name: str,
        made_by: str,
        *,
        scopes: str | Iterable[str] | None = DEFAULT_SCOPES,
        now: float | None = None,
    ) -> tuple[ApiToken, str]:
        """A new token named `name` (what it is for) that may do what its `scopes` say: its
        record, and the token, to show once."""
        wanted = checked_scopes(scopes)
        name = (name or "").strip()
        if not _NAME.match(name):
            raise DataError(
                "Name a token after what uses it: 1 to 80 letters, digits, spaces and . _ @ -."
            )
        token = PREFIX + secrets.token_urlsafe(32)
        hint = token[: len(PREFIX) + 4]
        moment = time.time() if now is None else now
        with self.database.write(LOCK) as connection:
            token_id = connection.execute(
                text(
                    "INSERT INTO api_tokens (name, digest, hint, made_by, created, scopes) "
                    "VALUES (:name, :digest, :hint, :made_by, :created, :scopes) RETURNING id"
                ),
                {
                    "name": name,
                    "digest": _digest(token),
                    "hint": hint,
                    "made_by": made_by,
                    "created": moment,
                    "scopes": ",".join(wanted),
                },
            ).scalar_one()
        return ApiToken(token_id, name, hint, made_by, moment, None, None, wanted), token

    def revoke(self, token_id: int, *, now: float | None = None) -> ApiToken:
        """Refuse a token from now on (revoking it again changes nothing)."""
        moment = time.time() if now is None else now
        with self.database.write(LOCK) as connection:
            connection.execute(
                text("UPDATE api_tokens SET revoked = :now WHERE id = :id AND revoked IS NULL"),
                {"now": moment, "id": token_id},
            )
        found = next((t for t in self.tokens() if t.id == token_id), None)
        if found is None:
            raise DataError(f"There is no API token {token_id}.")
        return found

    def tokens(self) -> list[ApiToken]:
        """Every token, newest first, revoked ones included."""
        with self.database.read() as connection:
            rows = connection.execute(
                text(f"SELECT {_COLUMNS} FROM api_tokens ORDER BY id DESC")
            ).all()
        return [ApiToken.from_row(row) for row in rows]

    def check(self, token: str, *, now: float | None = None) -> ApiToken | None:
        """The active token this is, noting its use; None for any other string."""
        if not token.startswith(PREFIX):
            return None
        moment = time.time() if now is None else now
        with self.database.read() as connection:
            row = connection.execute(
                text(
                    f"SELECT {_COLUMNS} FROM api_tokens WHERE digest = :digest AND revoked IS NULL"
                ),
                {"digest": _digest(token)},
            ).first()
        if row is None:
            return None
        found = ApiToken.from_row(row)
        if found.last_used is None or moment - found.last_used >= USE_GRANULARITY:
            with self.database.write(LOCK) as connection:
                connection.execute(
                    text("UPDATE api_tokens SET last_used = :now WHERE id = :id"),
                    {"now": moment, "id": found.id},
                )
        return found
