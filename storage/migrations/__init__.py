"""The database schema, made and upgraded by Alembic migrations (the same ones for SQLite and
Postgres): `upgrade` brings a database, empty or older, to the current schema."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import inspect

from vigil.detection.errors import VigilError
from vigil.storage.database import Database
from vigil.storage.tables import metadata

HERE = Path(__file__).parent
#: Held while migrating, so processes starting together upgrade the schema once.
LOCK = "vigil-migrations"
#: The tables of the newest schema: those `vigil.storage.tables` describes, and Alembic's own.
TABLES = frozenset(metadata.tables) | {"alembic_version"}


class SchemaError(VigilError):
    """The database's schema is not one this Vigil can use; the message says what to do."""


def _config(database: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["database"] = database
    return config


def upgrade(database: Database, revision: str = "head") -> None:
    """Run the migrations the database has not had yet (none when it is current); a
    SchemaError when it is at a revision this code does not know."""
    try:
        command.upgrade(_config(database), revision)
    except CommandError as error:
        raise SchemaError(unknown_revision(database, current(database))) from error


def known(revision: str) -> bool:
    """Whether `revision` is one of this code's migrations."""
    return any(
        script.revision == revision for script in ScriptDirectory(str(HERE)).walk_revisions()
    )


def unknown_revision(database: Database, revision: str | None) -> str:
    return (
        f"The database {database.display} is at schema revision {revision!r}, which this "
        f"Vigil does not know (its newest is {head()}): it was made by a newer Vigil, or is "
        "not Vigil's. Run that Vigil, or point VIGIL_DATABASE_URL at another database."
    )


def check_tables(database: Database) -> None:
    """A SchemaError naming the tables of the schema the database lacks (dropped by hand)."""
    with database.read() as connection:
        present = set(inspect(connection).get_table_names())
    missing = sorted(TABLES - present)
    if missing:
        raise SchemaError(
            f"The database {database.display} lacks the table{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)}: it was changed outside Vigil. Restore it from a backup, or "
            "point VIGIL_DATABASE_URL at another database."
        )


def downgrade(database: Database, revision: str) -> None:
    command.downgrade(_config(database), revision)


def current(database: Database) -> str | None:
    """The revision the database is at, None when it has no schema yet."""
    with database.read() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head() -> str | None:
    """The newest revision this code knows (None only without migrations)."""
    return ScriptDirectory(str(HERE)).get_current_head()
