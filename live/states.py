"""Saved states of the live scorers, so that scoring can move between workers.

A worker that scores a slice of time saves, at its end, the scorer of every series it touched;
the next slice, on any worker, goes on from there (what is left to score, the store says). A
worker that still holds the latest state in memory (its generation is the saved one) skips
loading it. States are pickles, so each carries an HMAC signature: one that does not check
out is refused, never unpickled.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass

from sqlalchemy import text

from vigil.storage.database import Database

LOCK = "live-scorers"


class StateError(Exception):
    """A saved state whose signature does not match: written by someone without the key."""


@dataclass(frozen=True)
class SavedStates:
    generation: str | None
    states: dict[int, bytes]


class ScorerStates:
    """The scorers' states in the database, signed with `key`."""

    def __init__(self, database: Database, key: bytes) -> None:
        self.database = database
        self.key = key

    def _sign(self, series_id: int, state: bytes) -> str:
        return hmac.new(self.key, b"%d:" % series_id + state, hashlib.sha256).hexdigest()

    def generation(self) -> str | None:
        """Which save is the latest (None before the first)."""
        with self.database.read() as connection:
            return connection.execute(
                text("SELECT generation FROM live_progress WHERE id = 1")
            ).scalar()

    def save(self, states: dict[int, bytes], *, now: float | None = None) -> str:
        """Keep these series' states, in one transaction; the new generation."""
        moment = time.time() if now is None else now
        generation = uuid.uuid4().hex
        with self.database.write(LOCK) as connection:
            for series_id, state in states.items():
                connection.execute(
                    text(
                        "INSERT INTO live_scorers (series_id, state, signature, saved) "
                        "VALUES (:id, :state, :signature, :saved) ON CONFLICT (series_id) "
                        "DO UPDATE SET state = excluded.state, signature = excluded.signature, "
                        "saved = excluded.saved"
                    ),
                    {
                        "id": series_id,
                        "state": state,
                        "signature": self._sign(series_id, state),
                        "saved": moment,
                    },
                )
            connection.execute(
                text(
                    "INSERT INTO live_progress (id, generation, saved) "
                    "VALUES (1, :generation, :saved) ON CONFLICT (id) DO UPDATE SET "
                    "generation = excluded.generation, saved = excluded.saved"
                ),
                {"generation": generation, "saved": moment},
            )
        return generation

    def load(self) -> SavedStates:
        """The latest save, every signature checked."""
        with self.database.read() as connection:
            generation = connection.execute(
                text("SELECT generation FROM live_progress WHERE id = 1")
            ).scalar()
            rows = connection.execute(
                text("SELECT series_id, state, signature FROM live_scorers")
            ).all()
        states = {}
        for series_id, state, signature in rows:
            state = bytes(state)
            if not hmac.compare_digest(self._sign(series_id, state), signature):
                raise StateError(
                    f"the saved scorer of series {series_id} is not signed by this key"
                )
            states[series_id] = state
        return SavedStates(generation, states)

    def forget(self) -> None:
        """Drop every saved state: scoring starts again from the first point."""
        with self.database.write(LOCK) as connection:
            connection.execute(text("DELETE FROM live_scorers"))
            connection.execute(text("DELETE FROM live_progress"))
