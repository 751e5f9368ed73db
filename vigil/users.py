"""Who may sign in, and what each may do: users with hashed passwords and a role, kept in a
JSON file readable by its owner only, managed with `vigil users`."""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

from detection.errors import DataError

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


@dataclass(frozen=True)
class User:
    name: str
    role: str

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

    def users(self) -> list[User]:
        return [User(name, entry["role"]) for name, entry in sorted(self._read().items())]

    def get(self, name: str) -> User | None:
        entry = self._read().get(name)
        return None if entry is None else User(name, entry["role"])

    def add(self, name: str, password: str, role: str) -> User:
        """Add a user, or give a known one a new password and role."""
        if not _NAME.match(name or ""):
            raise DataError(
                f"A user name is 1 to 64 letters, digits and . _ @ - (no spaces), not {name!r}."
            )
        if role not in ROLES:
            raise DataError(f"A role is one of {', '.join(ROLES)}, not {role!r}.")
        if len(password) < MIN_PASSWORD:
            raise DataError(f"A password has at least {MIN_PASSWORD} characters.")
        users = self._read()
        users[name] = {
            "role": role,
            "password": generate_password_hash(password),
            "added": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        self._write(users)
        return User(name, role)

    def remove(self, name: str) -> None:
        users = self._read()
        if name not in users:
            raise DataError(f"There is no user called {name!r}.")
        del users[name]
        self._write(users)

    def verify(self, name: str, password: str) -> User | None:
        """The user whose name and password these are, or None."""
        entry = self._read().get(name)
        hashed = _DUMMY_HASH if entry is None else entry["password"]
        matches = check_password_hash(hashed, password)
        return User(name, entry["role"]) if entry is not None and matches else None
