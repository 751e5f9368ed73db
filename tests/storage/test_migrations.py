"""The schema is made and upgraded by the same Alembic migrations in SQLite and Postgres."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from vigil.storage.database import Database
from vigil.storage.migrations import TABLES as TABLES_IN_CODE
from vigil.storage.migrations import current, downgrade, head, upgrade

TABLES = {
    "series",
    "points",
    "rules",
    "silences",
    "alert_episodes",
    "alerts",
    "emails_a_day",
    "outbox",
    "marks",
    "api_tokens",
    "live_scorers",
    "live_progress",
    "datasets",
}


def tables(database: Database) -> set[str]:
    return set(inspect(database.engine).get_table_names()) - {"alembic_version"}


@pytest.fixture
def empty(database_url):
    """A database with nothing in it, not yet migrated."""
    database = Database(database_url)
    yield database
    database.dispose()


def test_migrations_make_the_schema_from_an_empty_database_and_take_it_down_again(empty):
    assert current(empty) is None
    assert tables(empty) == set()

    upgrade(empty)
    assert current(empty) == head()
    assert tables(empty) >= TABLES
    upgrade(empty)  # a current database is left as it is
    assert current(empty) == head()

    downgrade(empty, "base")
    assert current(empty) is None
    assert tables(empty) == set()
    upgrade(empty)
    assert tables(empty) >= TABLES


def test_the_migrations_make_exactly_the_schema_in_code(empty):
    from vigil.storage.schema_check import differences

    upgrade(empty)

    assert differences(empty) == []
    assert tables(empty) | {"alembic_version"} == TABLES_IN_CODE


def test_a_schema_in_code_the_migrations_do_not_make_is_found(empty, monkeypatch):
    import sqlalchemy as sa

    from vigil.storage import schema_check

    upgrade(empty)
    changed = sa.MetaData()
    for table in schema_check.metadata.tables.values():
        table.to_metadata(changed)
    sa.Table("series", changed, sa.Column("owner", sa.Text), extend_existing=True)
    monkeypatch.setattr(schema_check, "metadata", changed)

    (difference,) = schema_check.differences(empty)
    assert difference[0] == "add_column"
    assert difference[3].name == "owner"


def test_the_schema_keeps_what_the_stores_rely_on(empty):
    """Deleted points' ids are never given again (the scorer reads ids after the last it
    saw), and marks and alert episodes are unique where the stores count on it."""
    upgrade(empty)
    with empty.write() as connection:
        series = connection.execute(
            text(
                "INSERT INTO series (name, detector, created) VALUES ('s', 'auto', 0) RETURNING id"
            )
        ).scalar_one()
        insert = text(
            "INSERT INTO points (series, ts, value, received) VALUES (:s, :ts, 1.0, 0) RETURNING id"
        )
        first = connection.execute(insert, {"s": series, "ts": 1}).scalar_one()
        second = connection.execute(insert, {"s": series, "ts": 2}).scalar_one()
        connection.execute(text("DELETE FROM points WHERE id = :id"), {"id": second})
        third = connection.execute(insert, {"s": series, "ts": 2}).scalar_one()
    assert first < second < third
    with pytest.raises(IntegrityError), empty.write() as connection:
        connection.execute(insert, {"s": series, "ts": 1})


@pytest.mark.slow
def test_processes_starting_together_on_an_empty_database_migrate_it_once(empty):
    script = textwrap.dedent(
        f"""
        from vigil.storage.opening import open_database
        from vigil.storage.migrations import current
        print(current(open_database({empty.url!r})))
        """
    )
    starting = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    said = [process.communicate(timeout=120)[0].strip() for process in starting]
    assert [process.returncode for process in starting] == [0, 0, 0, 0]
    assert said == [head()] * 4
    with empty.read() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM alembic_version")).scalar() == 1
    assert tables(empty) >= TABLES
