"""Who may sign in, and what each may do: users with hashed passwords and a role, kept in a
JSON file readable by its owner only, managed with `vigil users`.

A name is the same name however it is typed: names are compared after NFKC normalisation,
trimming white space and case folding (`normal_name`), when signing in, when failed sign-ins
are counted, and when users are added, so `" Admin\t"` is `admin` and no look-alike can be
added beside it. Each user has a session generation: sessions carry it, and signing out or a
new password moves it on, which ends every session made before.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

from vigil.detection.errors import DataError

#: Roles from least to most allowed; each may do all that the ones before it may.
ROLES = ("viewer", "analyst", "admin")
ROLE_NOTES = {
    "viewer": "sees charts, live series and alerts",
    "analyst": "also uploads data, runs detection, saves models and sets live detectors",
    "admin": "also edits alert rules, sets the email server, sends test emails, and makes and "
    "revokes API tokens",
}
MIN_PASSWORD = 10
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
#: Checked against when a name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not a password of anyone's")


def normal_name(name: str) -> str:
    """The name as it is compared and kept: NFKC-normalised, trimmed, case-folded."""
    return unicodedata.normalize("NFKC", name or "").strip().casefold()


@dataclass(frozen=True)
class User:
    name: str
    role: str
    #: Moves on at every sign-out and new password; a session made before is refused.
    generation: int = 0

    def may(self, role: str) -> bool:
        """Whether this user's role includes `role`."""
        return ROLES.index(self.role) >= ROLES.index(role)


class UserStore:
    """Users in a JSON file: name -> role, password hash (scrypt) and when they were added."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _read(self) -> dict[str, dict]:
        if not self.path.is_file():
            return {}
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))["users"]
        except (ValueError, KeyError, TypeError) as error:
            raise DataError(f"The users file {self.path} cannot be read: {error}") from None

    def _write(self, users: dict[str, dict]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".users-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:  # mkstemp makes it 0600
                json.dump({"users": users}, handle, indent=2, sort_keys=True)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    @staticmethod
    def _user(name: str, entry: dict) -> User:
        return User(name, entry["role"], int(entry.get("generation", 0)))

    @staticmethod
    def _known(users: dict[str, dict], name: str) -> str | None:
        """The key under which `name` is kept, compared as `normal_name` says; None if unknown."""
        wanted = normal_name(name)
        return next((kept for kept in users if normal_name(kept) == wanted), None)

    def users(self) -> list[User]:
        return [self._user(name, entry) for name, entry in sorted(self._read().items())]

    def get(self, name: str) -> User | None:
        users = self._read()
        kept = self._known(users, name)
        return None if kept is None else self._user(kept, users[kept])

    def add(self, name: str, password: str, role: str) -> User:
        """Add a user, or give a known one (the same name, however typed) a new password and
        role, which ends their sessions."""
        name = normal_name(name)
        if not _NAME.match(name):
            raise DataError(
                f"A user name is 1 to 64 letters, digits and . _ @ - (no spaces), not {name!r}."
            )
        if role not in ROLES:
            raise DataError(f"A role is one of {', '.join(ROLES)}, not {role!r}.")
        if len(password) < MIN_PASSWORD:
            raise DataError(f"A password has at least {MIN_PASSWORD} characters.")
        users = self._read()
        kept = self._known(users, name)
        before = users.pop(kept) if kept is not None else None
        generation = 0 if before is None else int(before.get("generation", 0)) + 1
        users[name] = {
            "role": role,
            "password": generate_password_hash(password),
            "added": datetime.now(UTC).isoformat(timespec="seconds")
            if before is None
            else before.get("added", ""),
            "generation": generation,
        }
        self._write(users)
        return User(name, role, generation)

    def remove(self, name: str) -> None:
        users = self._read()
        kept = self._known(users, name)
        if kept is None:
            raise DataError(f"There is no user called {name!r}.")
        del users[kept]
        self._write(users)

    def end_sessions(self, name: str) -> None:
        """Refuse every session `name` has now (signing out does this)."""
        users = self._read()
        kept = self._known(users, name)
        if kept is None:
            return
        users[kept]["generation"] = int(users[kept].get("generation", 0)) + 1
        self._write(users)

    def verify(self, name: str, password: str) -> User | None:
        """The user whose name (however typed) and password these are, or None."""
        users = self._read()
        kept = self._known(users, name)
        entry = None if kept is None else users[kept]
        hashed = _DUMMY_HASH if entry is None else entry["password"]
        matches = check_password_hash(hashed, password)
        if kept is None or entry is None or not matches:
            return None
        return self._user(kept, entry)
