"""Whether a database's schema is the one `vigil.storage.tables` describes.

    python -m vigil.storage.schema_check      # migrates a new SQLite file and compares

Alembic compares the tables, columns (with their types and defaults), indexes and
constraints of `tables.metadata` against what the migrations made; `make lint` runs this on
SQLite and a test on SQLite and Postgres, so the schema in code and the migrations cannot
drift apart.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from vigil.storage.database import Database, sqlite_url
from vigil.storage.tables import metadata


def differences(database: Database) -> list[object]:
    """What would have to change in `database` for it to match `tables.metadata` (nothing
    when they match), as Alembic lists it."""
    with database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, metadata))


def main() -> int:
    from vigil.storage.opening import close_database, open_database

    with tempfile.TemporaryDirectory(prefix="vigil-schema-") as folder:
        database = open_database(sqlite_url(Path(folder) / "vigil.sqlite"))
        try:
            found = differences(database)
        finally:
            close_database(database)
    for difference in found:
        print(f"storage/tables.py and the migrations differ: {difference}")
    if not found:
        print("storage/tables.py matches the migrations")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
