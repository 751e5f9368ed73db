"""Opening the database: once per URL and process, checked and upgraded to the current schema.

The first `open_database` of a URL checks a SQLite file's integrity, runs the migrations it
has not had (`vigil.storage.migrations`) and checks its tables, under a lock, so a process's
threads share one `Database` and a damaged or foreign database stops Vigil at start.
"""

from __future__ import annotations

import threading

from vigil.storage.database import Database, normalise_url
from vigil.storage.migrations import check_tables, upgrade

_opened: dict[str, Database] = {}
_opening = threading.Lock()


def close_database(database: Database) -> None:
    """Close the database's connections; the next `open_database` of its URL opens anew."""
    with _opening:
        for url in [url for url, opened in _opened.items() if opened is database]:
            del _opened[url]
    database.dispose()


def open_database(url: str) -> Database:
    """The database at `url`, upgraded to the current schema; one per URL and process.
    `storage.migrations.SchemaError` when its schema is not one this code can use."""
    found = _opened.get(url)  # as given: no parsing or lock on every request that asks
    if found is not None:
        return found
    key = normalise_url(url)
    with _opening:
        found = _opened.get(key)
        if found is None:
            found = Database(key)
            found.check_integrity()
            upgrade(found)
            check_tables(found)
            _opened[key] = found
        _opened[url] = found
        return found
