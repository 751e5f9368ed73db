"""A SQLite file with damaged pages stops Vigil at start, with one line on how to recover."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest
from sqlalchemy import text

from vigil.storage.database import DatabaseDamaged, sqlite_url
from vigil.storage.opening import close_database, open_database


def _filled(path) -> None:
    """A Vigil database with a few hundred rows, its write-ahead log folded into the file."""
    database = open_database(sqlite_url(path))
    with database.write() as connection:
        for number in range(300):
            connection.execute(
                text("INSERT INTO series (name, detector, created) VALUES (:name, 'zscore', 0)"),
                {"name": f"series {number} " + "x" * 200},
            )
    close_database(database)


def _damage(path) -> None:
    """Write garbage over the middle of the file, as a failing disk would leave it."""
    size = path.stat().st_size
    with path.open("r+b") as file:
        file.seek(size // 2)
        file.write(b"\xa5" * 8192)


@pytest.fixture
def damaged(tmp_path):
    path = tmp_path / "vigil.sqlite"
    _filled(path)
    _damage(path)
    assert _sqlite_says(path) != "ok"  # the damage is real: SQLite itself sees it
    return path


def _sqlite_says(path) -> str:
    try:
        with sqlite3.connect(path) as check:
            return check.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError as error:
        return str(error)


def test_a_damaged_file_is_refused_when_opened_with_how_to_recover(damaged):
    with pytest.raises(DatabaseDamaged) as caught:
        open_database(sqlite_url(damaged))
    message = str(caught.value)
    assert "is damaged" in message
    assert str(damaged) in message
    assert "backup" in message
    assert ".recover" in message
    assert "\n" not in message


def test_a_whole_file_opens_as_before(tmp_path):
    path = tmp_path / "vigil.sqlite"
    _filled(path)
    database = open_database(sqlite_url(path))
    with database.read() as connection:
        assert connection.execute(text("SELECT count(*) FROM series")).scalar() == 300
    close_database(database)


@pytest.mark.parametrize("command", [("run", "--port", "8791"), ("db", "upgrade")], ids=" ".join)
def test_vigil_stops_with_one_line_on_a_damaged_file(damaged, tmp_path, command):
    done = subprocess.run(
        [sys.executable, "-m", "vigil.cli", *command],
        capture_output=True,
        text=True,
        timeout=300,
        env={"VIGIL_DATA_DIR": str(tmp_path), "VIGIL_DEMO": "false", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.startswith("vigil: error:")]
    assert len(lines) == 1
    assert "is damaged" in lines[0]
    assert "Traceback" not in done.stderr
