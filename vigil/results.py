"""Scored results kept on the server, so charts, grids and downloads share one computation."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from detection.errors import DataError

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


class ResultStore:
    """ScoredFrames under `root/results/<key>.parquet`, with their run settings beside them."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root) / "results"

    def _path(self, key: str, suffix: str) -> Path:
        if not _KEY.match(key or ""):
            raise DataError("That result id is not valid.")
        return self.root / f"{key}{suffix}"

    def save(self, run: RunSettings, scored: pd.DataFrame, seconds: float) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        key = run.key
        table = scored.copy(deep=False)
        table.attrs = {}  # what matters of them goes into the settings file below
        table.to_parquet(self._path(key, ".parquet"), index=False)
        meta = {
            **run.to_dict(),
            "seconds": round(seconds, 3),
            "warmup_rows": scored.attrs.get("warmup_rows", 0),
        }
        self._path(key, ".json").write_text(json.dumps(meta, indent=1, default=str))
        return key

    def has(self, key: str) -> bool:
        return _KEY.match(key or "") is not None and self._path(key, ".parquet").is_file()

    def settings(self, key: str) -> dict:
        """A result's run settings, without its rows."""
        path = self._path(key, ".json")
        if not path.is_file():
            raise DataError("That result is gone from the server; run the detector again.")
        return json.loads(path.read_text())

    def load(self, key: str) -> tuple[pd.DataFrame, dict]:
        path = self._path(key, ".parquet")
        if not path.is_file():
            raise DataError("That result is gone from the server; run the detector again.")
        return pd.read_parquet(path), json.loads(self._path(key, ".json").read_text())
