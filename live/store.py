"""Live series in the database, one object for wiring: each job is its own class.

- `live.series.SeriesSettings`: how each series is scored;
- `live.ingest.Ingest`: points in, corrections, deletions, marks (the ingest policy);
- `live.queue.ScoringQueue`: the points waiting for a score, and the scores written back;
- `live.views.LiveViews`: what the Live page, its cards and the API show.

Code that does one of these jobs can take that class alone; `LiveStore` is all four over one
database, for the places that wire them (`vigil.services`).
"""

from __future__ import annotations

from vigil.live.ingest import Ingest, Ingested
from vigil.live.queue import SCORES_LOCK, Learning, ScoringQueue
from vigil.live.series import DEFAULT_DETECTOR, Series, SeriesSettings
from vigil.live.views import RECENT, LiveViews
from vigil.storage.database import Database

__all__ = [
    "DEFAULT_DETECTOR",
    "RECENT",
    "SCORES_LOCK",
    "Ingested",
    "Learning",
    "LiveStore",
    "Series",
]


class LiveStore(SeriesSettings, Ingest, ScoringQueue, LiveViews):
    """The live series and their points: settings, ingest, the scoring queue and the views,
    over one database."""

    def __init__(self, database: Database) -> None:
        self.database = database
