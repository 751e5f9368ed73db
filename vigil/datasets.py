"""Data sets kept on the server: Parquet files under a content-hash id in the data dir.

Each data set is a folder `datasets/<id>/` holding `raw.parquet` (the file as read),
`data.parquet` (the tidy series) and `meta.json` (name, schema, quality report). Folders are
written under a temporary name and renamed, so a failed upload never leaves half a data set
and never touches the others.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import pandas as pd

from detection.errors import DataError
from detection.io import RawTable, read_table
from detection.quality import QualityReport
from detection.schema import Schema, infer_schema
from detection.synthetic import demo_csv
from detection.tidy import prepare, series_frame

DEMO_FILENAME = "vigil-demo.csv"
_ID = re.compile(r"^[0-9a-f]{16}$")


@dataclass(frozen=True)
class DatasetInfo:
    """What is known about a stored data set, without loading its rows."""

    id: str
    name: str
    created: str
    size_bytes: int
    columns: tuple[str, ...]
    schema: Schema
    report: QualityReport

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "created": self.created,
            "size_bytes": self.size_bytes,
            "columns": list(self.columns),
            "schema": self.schema.to_dict(),
            "report": self.report.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> DatasetInfo:
        return cls(
            id=data["id"],
            name=data["name"],
            created=data["created"],
            size_bytes=data["size_bytes"],
            columns=tuple(data["columns"]),
            schema=Schema.from_dict(data["schema"]),
            report=QualityReport.from_dict(data["report"]),
        )


def content_id(data: bytes) -> str:
    """The id of a file's content: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(data).hexdigest()[:16]


class DatasetStore:
    """Adds, lists and loads data sets under `root`."""

    def __init__(self, root: Path, *, max_bytes: int, max_rows: int) -> None:
        self.root = Path(root) / "datasets"
        self.max_bytes = max_bytes
        self.max_rows = max_rows
        self._replacing = threading.Lock()

    def _folder(self, dataset_id: str) -> Path:
        if not _ID.match(dataset_id or ""):
            raise DataError("That data set id is not valid.")
        return self.root / dataset_id

    def exists(self, dataset_id: str) -> bool:
        return (
            _ID.match(dataset_id or "") is not None
            and (self.root / dataset_id / "meta.json").is_file()
        )

    def add(self, data: bytes, filename: str) -> tuple[DatasetInfo, bool]:
        """Store an uploaded file; returns its info and whether it was already here."""
        dataset_id = content_id(data)
        if self.exists(dataset_id):
            return self.info(dataset_id), True
        raw = read_table(data, filename, max_bytes=self.max_bytes, max_rows=self.max_rows)
        schema = infer_schema(raw)
        tidy, report = prepare(raw, schema)
        info = DatasetInfo(
            id=dataset_id,
            name=Path(filename).name,
            created=datetime.now(UTC).isoformat(timespec="seconds"),
            size_bytes=len(data),
            columns=tuple(raw.frame.columns),
            schema=schema,
            report=report,
        )
        self._write(info, raw, tidy, replace=False)
        return info, False

    def add_demo(self) -> DatasetInfo:
        """The built-in demo data set, stored like any upload."""
        return self.add(demo_csv(), DEMO_FILENAME)[0]

    def reprepare(self, dataset_id: str, schema: Schema) -> DatasetInfo:
        """Apply a schema chosen by the user to a stored file."""
        folder = self._folder(dataset_id)
        info = self.info(dataset_id)
        raw = RawTable(pd.read_parquet(folder / "raw.parquet"))
        tidy, report = prepare(raw, schema)
        updated = DatasetInfo(
            info.id, info.name, info.created, info.size_bytes, info.columns, schema, report
        )
        self._write(updated, None, tidy, replace=True)
        return updated

    def _write(
        self, info: DatasetInfo, raw: RawTable | None, tidy: pd.DataFrame, *, replace: bool
    ) -> None:
        """Write a data set's files beside its folder, then move them in with one rename."""
        self.root.mkdir(parents=True, exist_ok=True)
        target = self._folder(info.id)
        staging = Path(tempfile.mkdtemp(prefix=f".{info.id}-", dir=self.root))
        try:
            if raw is not None:
                _raw_for_parquet(raw.frame).to_parquet(staging / "raw.parquet", index=False)
            elif (target / "raw.parquet").exists():
                shutil.copy2(target / "raw.parquet", staging / "raw.parquet")
            tidy.to_parquet(staging / "data.parquet", index=False)
            (staging / "meta.json").write_text(json.dumps(info.to_dict(), indent=1))
            if replace:
                with self._replacing:
                    old = Path(tempfile.mkdtemp(prefix=f".{info.id}-old-", dir=self.root))
                    target.rename(old)  # onto the empty placeholder
                    staging.rename(target)
                    shutil.rmtree(old, ignore_errors=True)
            else:
                try:
                    staging.rename(target)
                except OSError:
                    if not (target / "meta.json").is_file():
                        raise
                    # the same file, uploaded twice at once: the other upload stored it
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        _load_tidy.cache_clear()

    def info(self, dataset_id: str) -> DatasetInfo:
        meta = self._folder(dataset_id) / "meta.json"
        if not meta.is_file():
            raise DataError("That data set is no longer on the server; upload it again.")
        return DatasetInfo.from_dict(json.loads(meta.read_text()))

    def list(self) -> list[DatasetInfo]:
        """Every stored data set, newest first."""
        if not self.root.is_dir():
            return []
        infos = [self.info(p.name) for p in self.root.iterdir() if self.exists(p.name)]
        return sorted(infos, key=lambda info: info.created, reverse=True)

    def choices(self, *preferred: str | None) -> tuple[list[dict], str | None]:
        """Every data set as a dropdown option, and the first of `preferred` still stored
        (else the newest) as the one chosen."""
        infos = self.list()
        known = {info.id for info in infos}
        chosen = next((wanted for wanted in preferred if wanted in known), None)
        options = [{"label": info.name, "value": info.id} for info in infos]
        return options, chosen or (infos[0].id if infos else None)

    def tidy(self, dataset_id: str) -> pd.DataFrame:
        path = self._folder(dataset_id) / "data.parquet"
        if not path.is_file():
            raise DataError("That data set is no longer on the server; upload it again.")
        return _load_tidy(str(path), path.stat().st_mtime_ns)

    def raw(self, dataset_id: str) -> RawTable:
        """The stored file as read, every column as it was."""
        path = self._folder(dataset_id) / "raw.parquet"
        if not path.is_file():
            raise DataError("That data set is no longer on the server; upload it again.")
        return RawTable(pd.read_parquet(path))

    def raw_preview(self, dataset_id: str, rows: int = 200) -> pd.DataFrame:
        return pd.read_parquet(self._folder(dataset_id) / "raw.parquet").head(rows)

    def series(self, dataset_id: str, name: str) -> pd.DataFrame:
        """One series as a `timestamp`/`value` frame."""
        return series_frame(self.tidy(dataset_id), name)


@lru_cache(maxsize=8)
def _load_tidy(path: str, _mtime: int) -> pd.DataFrame:
    return pd.read_parquet(path)


def _raw_for_parquet(frame: pd.DataFrame) -> pd.DataFrame:
    """Mixed-type text columns as strings, so any file that was read can be stored."""
    fixed = frame.copy()
    for column in fixed.columns:
        if fixed[column].dtype == object:
            fixed[column] = fixed[column].astype("string")
    return fixed
