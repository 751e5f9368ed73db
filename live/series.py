"""Live series' settings: each series' detector (or saved model), its parameters and version.

A series is created by its first points or by being configured. Configuring it bumps its
version and forgets how far its scorer had learnt, so its points are scored afresh; the
change is written under the series' lock, the one that writes of its points hold too.
"""

from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass, field

from sqlalchemy import Connection, text

from vigil.live.labels import labels_of
from vigil.storage.database import Database

DEFAULT_DETECTOR = "auto"
SERIES_COLUMNS = "id, name, detector, params, model, version, error, labels"
#: Series rows whose parsed settings are kept, to be read again unchanged.
MEMO_ROWS = 20_000


@dataclass(frozen=True)
class Series:
    """A live series and how it is scored: a detector with parameters, or a saved model."""

    id: int
    name: str
    detector: str
    params: dict = field(default_factory=dict)
    model: str | None = None
    version: int = 1
    #: Why the series cannot be scored with its settings, if it cannot.
    error: str | None = None
    #: Its labels (`live.labels`), by name.
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def scored_by(self) -> str:
        """What alert rules name to watch this series: the detector, or `model:<id>`."""
        return f"model:{self.model}" if self.model else self.detector


def series_lock(name: str) -> str:
    """The lock held by writes to a series and its points (not its scores)."""
    return f"live-series:{name}"


def series_id(connection: Connection, name: str) -> int:
    """The id of the series called `name`, created (with the default detector) if new; in
    the caller's transaction, which holds the series' lock."""
    found = connection.execute(
        text("SELECT id FROM series WHERE name = :name"), {"name": name}
    ).scalar()
    if found is not None:
        return int(found)
    return int(
        connection.execute(
            text(
                "INSERT INTO series (name, detector, created) "
                "VALUES (:name, :detector, :created) RETURNING id"
            ),
            {"name": name, "detector": DEFAULT_DETECTOR, "created": time.time()},
        ).scalar_one()
    )


class SeriesSettings:
    """Reads and sets how each live series is scored."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def series(self) -> list[Series]:
        """Every live series, by name."""
        with self.database.read() as connection:
            rows = connection.execute(
                text(f"SELECT {SERIES_COLUMNS} FROM series ORDER BY name")
            ).all()
        return [_series(tuple(row)) for row in rows]

    def get(self, name: str) -> Series | None:
        """The series called `name`, or None."""
        with self.database.read() as connection:
            row = connection.execute(
                text(f"SELECT {SERIES_COLUMNS} FROM series WHERE name = :name"), {"name": name}
            ).first()
        return None if row is None else _series(tuple(row))

    def configure(
        self,
        name: str,
        *,
        detector: str = DEFAULT_DETECTOR,
        params: dict | None = None,
        model: str | None = None,
    ) -> Series:
        """Set how a series is scored (creating it if new); its points are scored afresh."""
        with self.database.write(series_lock(name)) as connection:
            connection.execute(
                text(
                    "UPDATE series SET detector = :detector, params = :params, model = :model, "
                    "version = version + 1, error = NULL, learning_left = NULL, "
                    "learning_at = NULL, step_seconds = NULL WHERE id = :id"
                ),
                {
                    "detector": detector,
                    "params": json.dumps(params or {}, sort_keys=True),
                    "model": model,
                    "id": series_id(connection, name),
                },
            )
        found = self.get(name)
        assert found is not None
        return found


@functools.lru_cache(maxsize=MEMO_ROWS)
def _series(row: tuple) -> Series:
    """The series a row of SERIES_COLUMNS stands for. Rows read again unchanged (the scorer
    reads every series each round) are not parsed again: they give the same Series, whose
    `params` and `labels` are shared and never changed."""
    number, name, detector, params, model, version, error, labels = row
    return Series(
        number, name, detector, json.loads(params), model, version, error, labels_of(labels)
    )
