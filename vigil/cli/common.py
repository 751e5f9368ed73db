"""What the commands share: reading a file's series, the date and zone options, the stores.

Light to import: what each helper needs is imported when it runs, so `vigil db` or `vigil
tokens` do not load pandas or the detectors.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

#: Times written without a zone are read in UTC unless told otherwise.
UTC = "UTC"

if TYPE_CHECKING:
    from vigil.detection.io import RawTable
    from vigil.detection.schema import Schema
    from vigil.services import Services
    from vigil.storage.database import Database
    from vigil.storage.files import FileStore


def read_file(path: Path) -> RawTable:
    """The file at `path`, within the size and row limits of the settings."""
    from vigil.detection.io import read_table
    from vigil.settings import load_settings

    config = load_settings()
    return read_table(path, path.name, max_bytes=config.max_upload_bytes, max_rows=config.max_rows)


def schema_for(
    raw: RawTable,
    time_column: str | None,
    value_columns: tuple[str, ...],
    series_column: str | None,
    date_format: str | None = None,
    time_zone: str = UTC,
) -> Schema:
    """The columns (and date format, and the zone of times written without one) asked for on
    the command line, the rest found by themselves."""
    from vigil.detection.errors import DataError
    from vigil.detection.schema import Schema, conventions, infer_schema
    from vigil.detection.timeformat import choose as choose_time_format

    guessed = infer_schema(raw)
    chosen_time = time_column or guessed.time_column
    if chosen_time not in raw.frame.columns:
        raise DataError(f"The file has no column named '{chosen_time}'.")
    time_format, reason = guessed.time_format, guessed.time_format_reason
    if date_format:
        found = choose_time_format(raw.frame[chosen_time], date_format, conventions(raw))
        time_format, reason = found.pattern, ""
    elif chosen_time != guessed.time_column:
        time_format, reason = None, ""  # found from that column's cells when read
    return Schema(
        chosen_time,
        tuple(value_columns) or guessed.value_columns,
        series_column if series_column is not None else guessed.series_column,
        time_format,
        reason,
        time_zone,
    )


date_format_option = click.option(
    "--date-format",
    default=None,
    metavar="FORMAT",
    help="How the time column writes dates: day-first, month-first, or a pattern such as "
    "'%d.%m.%Y %H:%M' (found from the cells if omitted).",
)


def _checked_zone(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str:
    from vigil.times import known_zone

    try:
        return known_zone(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


timezone_option = click.option(
    "--timezone",
    "time_zone",
    default=UTC,
    show_default=True,
    metavar="ZONE",
    callback=_checked_zone,
    help="The IANA time zone of times written without one, such as Europe/Berlin; times with "
    "an offset or Z keep their own. Written times are always UTC, ending in Z.",
)


def parse_params(pairs: tuple[str, ...]) -> dict[str, str]:
    """`--param KEY=VALUE` options as a dict."""
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--param")
        params[key.strip()] = value.strip()
    return params


def make_private(config) -> None:
    """Serve with files only their owner can read (`private_data` says what had to be made
    private, on stderr)."""
    from vigil.private import private_data, private_umask

    private_umask()
    private_data(config.data_dir, config.files_url)


def opened_database(config) -> Database:
    """The database in the settings, upgraded; a clear message when it cannot be reached."""
    from sqlalchemy.exc import SQLAlchemyError

    from vigil.storage.opening import open_database

    try:
        return open_database(config.database_url)
    except (SQLAlchemyError, ValueError) as error:
        raise cannot_open(config.database_url, error) from None


def cannot_open(url: str, error: Exception) -> click.ClickException:
    """One line on why the database at `url` cannot be used, its password hidden."""
    from vigil.storage.database import hide_password

    reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    return click.ClickException(f"Cannot open the database {hide_password(url)}: {reason}")


def file_store(config) -> FileStore:
    """The file store in the settings; a clear message when it cannot be used."""
    from vigil.storage.files import FileStore

    try:
        return FileStore(config.files_url)
    except ValueError as error:
        raise click.ClickException(str(error)) from None


def services_for(config) -> Services:
    """The stores of the Vigil the settings describe, its database and file store checked
    first: one that cannot be used ends the command with one clear line."""
    from vigil.services import Services

    opened_database(config)
    file_store(config)
    return Services(config)


def deliver(services: Services) -> None:
    """Deliver what waits in the outbox (emails, webhook calls), and say what was sent and
    what still waits."""
    from vigil.alerts.delivery import deliver_due, deliver_webhooks_due
    from vigil.detection.quality import plural

    box = services.outbox
    smtp = services.mail().smtp
    if smtp is None:
        pending = box.counts("email")["pending"]
        click.echo(f"No SMTP server is set (VIGIL_SMTP_HOST): {pending} emails wait in the outbox.")
    else:
        report = deliver_due(box, smtp)
        counts = box.counts("email")
        click.echo(
            f"Sent {plural(report.sent, 'email')}; {counts['pending']} still pending"
            f" ({report.retrying} just now failed and will be retried), {counts['failed']} failed."
        )
    if not any(box.counts("webhook").values()):
        return
    report = deliver_webhooks_due(box, services.webhook_key)
    counts = box.counts("webhook")
    click.echo(
        f"Posted {plural(report.sent, 'webhook call')}; {counts['pending']} still pending"
        f" ({report.retrying} just now failed and will be retried), {counts['failed']} failed."
    )
