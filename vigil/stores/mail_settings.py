"""The email server as admins set it on the Admin page, over what the environment says.

Host, port, security, login name and sender address are kept in the database, so every web
server and worker sends through the same server from the next delivery round. The password is
not among them: it stays in `VIGIL_SMTP_PASSWORD` (or the settings file), never in the
database, a page or a log, and it is only ever sent to the host and port the environment
names (`VIGIL_SMTP_HOST`, `VIGIL_SMTP_PORT`): an admin who points email elsewhere cannot
have it sent there. Saving another host or port also drops the saved login name, unless a
new one is given with it.
"""

from __future__ import annotations

import re
import time
from typing import SupportsIndex, SupportsInt, get_args

from sqlalchemy import text

from vigil.detection.errors import DataError
from vigil.settings import Settings
from vigil.storage.database import Database
from vigil.times import known_zone

#: What admins may change, by setting name.
FIELDS = (
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "smtp_username",
    "alert_from",
    "alert_time_zone",
)
SECURITY = get_args(Settings.model_fields["smtp_security"].annotation)
LOCK = "app-settings"
_HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}$|^\[?[0-9A-Fa-f:.]+\]?$")
_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")


def checked(values: dict[str, object]) -> dict[str, object]:
    """The email settings as they will be used, or DataError saying what is wrong."""
    host = str(values.get("smtp_host") or "").strip()
    if host and not _HOST.match(host):
        raise DataError(f"{host!r} is not a host name or address.")
    try:
        port = _whole(values.get("smtp_port") or 25)
    except (TypeError, ValueError):
        raise DataError("The port is a number from 1 to 65535.") from None
    if not 0 < port < 65536:
        raise DataError("The port is a number from 1 to 65535.")
    security = str(values.get("smtp_security") or "none")
    if security not in SECURITY:
        raise DataError(f"Security is one of {', '.join(SECURITY)}.")
    sender = str(values.get("alert_from") or "").strip()
    if not _ADDRESS.match(sender):
        raise DataError(f"{sender!r} is not an email address to send from.")
    try:
        zone = known_zone(values.get("alert_time_zone"))
    except ValueError as error:
        raise DataError(str(error)) from None
    return {
        "smtp_host": host or None,
        "smtp_port": port,
        "smtp_security": security,
        "smtp_username": str(values.get("smtp_username") or "").strip() or None,
        "alert_from": sender,
        "alert_time_zone": zone,
    }


class MailSettings:
    """The email settings admins saved, in the database."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def saved(self) -> dict[str, str]:
        with self.database.read() as connection:
            rows = connection.execute(text("SELECT name, value FROM app_settings")).all()
        return {name: value for name, value in rows if name in FIELDS}

    def save(
        self,
        values: dict[str, object],
        *,
        by: str,
        now: float | None = None,
        before: dict[str, object] | None = None,
    ) -> dict:
        """Check and keep new email settings; what will be used. Given the settings `before`,
        a move to another host or port that keeps the login name drops it: a login belongs to
        the server it was made for."""
        good = checked(values)
        moved = before is not None and _server(good) != _server(before)
        if moved and before and good["smtp_username"] == (before.get("smtp_username") or None):
            good["smtp_username"] = None
        moment = time.time() if now is None else now
        with self.database.write(LOCK) as connection:
            for name, value in good.items():
                connection.execute(
                    text(
                        "INSERT INTO app_settings (name, value, changed_by, changed) "
                        "VALUES (:name, :value, :by, :now) ON CONFLICT (name) DO UPDATE SET "
                        "value = excluded.value, changed_by = excluded.changed_by, "
                        "changed = excluded.changed"
                    ),
                    {
                        "name": name,
                        "value": "" if value is None else str(value),
                        "by": by,
                        "now": moment,
                    },
                )
        return good


def _server(values: dict[str, object]) -> tuple[str, int]:
    return (str(values.get("smtp_host") or "").lower(), _whole(values.get("smtp_port") or 25))


def _whole(raw: object) -> int:
    """`int(raw)`; a TypeError, as int() raises, for what is neither text nor a number."""
    if not isinstance(raw, str | bytes | SupportsInt | SupportsIndex):
        raise TypeError(raw)
    return int(raw)


def password_server(config: Settings) -> tuple[str, int] | None:
    """The only server `VIGIL_SMTP_PASSWORD` is sent to (the environment's), or None."""
    if config.smtp_password is None or not config.smtp_host:
        return None
    return _server({"smtp_host": config.smtp_host, "smtp_port": config.smtp_port})


def effective(config: Settings, mail: MailSettings) -> Settings:
    """The settings with the email server admins saved (in `mail`) in place of the
    environment's; the password only while that is the environment's own host and port."""
    saved = mail.saved()
    if not saved:
        return config
    current = {name: getattr(config, name) for name in FIELDS}
    chosen = checked({**current, **saved})
    if _server(chosen) != password_server(config):
        chosen["smtp_password"] = None
    return config.model_copy(update=chosen)
