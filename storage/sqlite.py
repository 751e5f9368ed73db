"""One way to open Vigil's SQLite files: autocommit, WAL (readers never wait for the writer),
and a generous busy timeout for the moments two writers meet."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA busy_timeout=30000")
    return connection
