"""`vigil db`: make, upgrade and inspect the database's schema."""

from __future__ import annotations

import click
from sqlalchemy.exc import SQLAlchemyError

from vigil.cli.common import cannot_open, opened_database
from vigil.detection.errors import DataError
from vigil.settings import load_settings
from vigil.storage.database import Database
from vigil.storage.migrations import check_tables, unknown_revision
from vigil.storage.migrations import current as current_revision
from vigil.storage.migrations import head as head_revision
from vigil.storage.migrations import known as known_revision


@click.group()
def db() -> None:
    """The database Vigil keeps its state in (VIGIL_DATABASE_URL)."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Make or upgrade the schema (Vigil also does it when it starts)."""
    database = opened_database(load_settings())
    click.echo(f"{database.display} is at revision {current_revision(database)} (the newest).")


@db.command("current")
def db_current() -> None:
    """Say which schema revision the database is at."""
    config = load_settings()
    try:
        database = Database(config.database_url)
        revision = current_revision(database)
    except (SQLAlchemyError, ValueError) as error:
        raise cannot_open(config.database_url, error) from None
    newest = head_revision()
    if revision is not None and not known_revision(revision):
        raise DataError(unknown_revision(database, revision))
    state = (
        "no schema yet ('vigil db upgrade' makes it)"
        if revision is None
        else f"revision {revision}"
        + (" (the newest)" if revision == newest else f", older than {newest}")
    )
    click.echo(f"{database.display}: {state}")
    if revision == newest:
        check_tables(database)
