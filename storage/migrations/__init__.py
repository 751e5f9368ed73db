"""The database schema, made and upgraded by Alembic migrations (the same ones for SQLite and
Postgres): `upgrade` brings a database, empty or older, to the current schema."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from storage.database import Database

HERE = Path(__file__).parent
#: Held while migrating, so processes starting together upgrade the schema once.
LOCK = "vigil-migrations"


def _config(database: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["database"] = database
    return config


def upgrade(database: Database, revision: str = "head") -> None:
    """Run the migrations the database has not had yet (none when it is current)."""
    command.upgrade(_config(database), revision)


def downgrade(database: Database, revision: str) -> None:
    command.downgrade(_config(database), revision)


def current(database: Database) -> str | None:
    """The revision the database is at, None when it has no schema yet."""
    with database.read() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head() -> str:
    """The newest revision this code knows."""
    return ScriptDirectory(str(HERE)).get_current_head()
