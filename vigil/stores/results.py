"""Scored results kept on the server, so charts, grids and downloads share one computation."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

import pandas as pd

from vigil.detection.errors import DataError
from vigil.durations import RECENT_RUNS, Timing
from vigil.storage.files import FileStore

_KEY = re.compile(r"^[0-9a-f]{20}$")


@dataclass(frozen=True)
class RunSettings:
    """What a detection run was asked to do. `columns` is the data set's column choice: the
    same file read with other columns is other data, so it is part of the result's key."""

    dataset_id: str
    dataset_name: str
    series: str
    detector: str
    params: dict
    columns: dict
    online: bool = False

    @property
    def mode(self) -> str:
        """How the points were scored: "model" (a saved model), "online" or "batch"."""
        if "model" in self.params:
            return "model"
        return "online" if self.online else "batch"

    @property
    def key(self) -> str:
        parts = [self.dataset_id, self.columns, self.series, self.detector, self.params]
        if self.online:
            parts.append("online")
        text = json.dumps(parts, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:20]

    def to_dict(self) -> dict:
        return {
            "dataset_id": self.dataset_id,
            "dataset_name": self.dataset_name,
            "series": self.series,
            "detector": self.detector,
            "params": self.params,
            "columns": self.columns,
            "online": self.online,
        }


GONE = "That result is gone from the server; run the detector again."


class ResultStore:
    """ScoredFrames, `results/<key>.parquet` in the file store, with their run settings
    beside them (written last: a result is there once its settings are). The timings of the
    latest runs of each detector and mode are kept in `timings/`, to say how long a run takes;
    two runs ending at once may keep only one of their timings, which costs nothing else."""

    def __init__(self, files: FileStore) -> None:
        self.files = files

    @staticmethod
    def _key(key: str, suffix: str) -> str:
        if not _KEY.match(key or ""):
            raise DataError("That result id is not valid.")
        return f"results/{key}{suffix}"

    def save(self, run: RunSettings, scored: pd.DataFrame, seconds: float) -> str:
        key = run.key
        table = scored.copy(deep=False)
        table.attrs = {}  # what matters of them goes into the settings file below
        self.files.put_parquet(self._key(key, ".parquet"), table)
        meta = {
            **run.to_dict(),
            "seconds": round(seconds, 3),
            "warmup_rows": scored.attrs.get("warmup_rows", 0),
        }
        self.files.put(self._key(key, ".json"), json.dumps(meta, indent=1, default=str).encode())
        self._record_timing(run, Timing(len(scored), seconds))
        return key

    @staticmethod
    def _timings_key(detector: str, mode: str) -> str:
        safe = "".join(ch if ch.isalnum() else "_" for ch in detector)
        return f"timings/{safe}-{mode}.json"

    def recent_timings(self, detector: str, mode: str) -> list[Timing]:
        """How long the latest runs of `detector` in `mode` took, oldest first (none when
        there were none, or their record cannot be read)."""
        try:
            entries = json.loads(self.files.get(self._timings_key(detector, mode)))
            return [Timing(int(rows), float(seconds)) for rows, seconds in entries]
        except (FileNotFoundError, ValueError, TypeError):
            return []

    def _record_timing(self, run: RunSettings, timing: Timing) -> None:
        kept = [*self.recent_timings(run.detector, run.mode)[-(RECENT_RUNS - 1) :], timing]
        entries = [[t.rows, round(t.seconds, 3)] for t in kept]
        self.files.put(self._timings_key(run.detector, run.mode), json.dumps(entries).encode())

    def has(self, key: str) -> bool:
        return _KEY.match(key or "") is not None and self.files.exists(self._key(key, ".json"))

    def settings(self, key: str) -> dict:
        """A result's run settings, without its rows."""
        try:
            return json.loads(self.files.get(self._key(key, ".json")))
        except FileNotFoundError:
            raise DataError(GONE) from None

    def load(self, key: str) -> tuple[pd.DataFrame, dict]:
        settings = self.settings(key)
        try:
            return self.files.get_parquet(self._key(key, ".parquet")), settings
        except FileNotFoundError:
            raise DataError(GONE) from None
