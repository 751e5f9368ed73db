"""Alembic's entry: runs the migrations on the database `storage.migrations` passes in, inside
one transaction that holds the migrations lock."""

from alembic import context

from vigil.storage.migrations import LOCK

database = context.config.attributes["database"]

with database.write(LOCK) as connection:
    context.configure(connection=connection, render_as_batch=database.is_sqlite)
    context.run_migrations()
