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

from vigil.live.queue import WHOLE, Shard
from vigil.storage.database import Database

LOCK = "live-scorers"


class StateError(Exception):
    """A saved state whose signature does not match: written by someone without the key."""


@dataclass(frozen=True)
class SavedStates:
    generation: str | None
    states: dict[int, bytes]


def _progress_row(shard: Shard) -> int:
    """The row of `live_progress` that holds a shard's generation: 1 for the whole, then
    rows 2 and 3 for two shards, 4 to 6 for three, and so on, so no two shards share one."""
    return 1 if shard.count == 1 else shard.count * (shard.count - 1) // 2 + 1 + shard.index


class ScorerStates:
    """The scorers' states in the database, signed with `key`."""

    def __init__(self, database: Database, key: bytes) -> None:
        self.database = database
        self.key = key

    def _sign(self, series_id: int, state: bytes) -> str:
        return hmac.new(self.key, b"%d:" % series_id + state, hashlib.sha256).hexdigest()

    def generation(self, shard: Shard = WHOLE) -> str | None:
        """Which save of the shard's scorers is the latest (None before the first)."""
        with self.database.read() as connection:
            return connection.execute(
                text("SELECT generation FROM live_progress WHERE id = :id"),
                {"id": _progress_row(shard)},
            ).scalar()

    def save(
        self, states: dict[int, bytes], *, shard: Shard = WHOLE, now: float | None = None
    ) -> str:
        """Keep these series' states (of the series of `shard`), in one transaction; the
        shard's new generation."""
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
                    "VALUES (:id, :generation, :saved) ON CONFLICT (id) DO UPDATE SET "
                    "generation = excluded.generation, saved = excluded.saved"
                ),
                {"id": _progress_row(shard), "generation": generation, "saved": moment},
            )
        return generation

    def load(self, shard: Shard = WHOLE) -> SavedStates:
        """The latest states of the series of `shard`, and the shard's generation, every
        signature checked."""
        with self.database.read() as connection:
            generation = connection.execute(
                text("SELECT generation FROM live_progress WHERE id = :id"),
                {"id": _progress_row(shard)},
            ).scalar()
            rows = connection.execute(
                text("SELECT series_id, state, signature FROM live_scorers")
            ).all()
        states = {}
        for series_id, state, signature in rows:
            if not shard.holds(series_id):
                continue
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
