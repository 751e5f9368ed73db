"""Data sets kept on the server: their files in the data dir, what is known of them in the
database, under a content-hash id.

Each data set's files are under `datasets/<id>/` in the file store (a directory, or an object
store path): `raw.parquet` (the file as read) and its tidy series, `data.parquet` (then
`data-v2.parquet` and so on, as other columns are chosen), and `meta.json`, a copy of its row.
The row in the `datasets` table (name, schema, quality report, which version of the tidy file
is current) is written last, so a data set exists for every web server and worker only once
all of its files do: a failed upload is never listed, and never touches the others.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import pandas as pd
from sqlalchemy import text

from vigil.detection.errors import DataError
from vigil.detection.io import RawTable, read_table
from vigil.detection.quality import QualityReport
from vigil.detection.schema import Schema, infer_schema
from vigil.detection.synthetic import demo_csv
from vigil.detection.tidy import prepare, series_frame
from vigil.storage.database import Database
from vigil.storage.files import FileStore

DEMO_FILENAME = "vigil-demo.csv"
_ID = re.compile(r"^[0-9a-f]{16}$")
LOCK = "datasets"
GONE = "That data set is no longer on the server; upload it again."
#: A draft (a file waiting for its columns to be chosen) left longer than this is removed
#: the next time a file is kept as a draft.
DRAFT_SECONDS = 2 * 24 * 3600


class NeedsColumns(DataError):
    """A file that reads as a table, but not with the columns guessed: it is kept as a draft
    (`draft_id`) until the user chooses columns that work."""

    def __init__(self, message: str, draft_id: str, name: str) -> None:
        super().__init__(message)
        self.draft_id = draft_id
        self.name = name


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


def series_name_of(filename: str) -> str:
    """What to call a series from a column named `value`: the file's name without its
    extension (`cpu.csv.gz` gives `cpu`)."""
    name = Path(filename).name
    for suffix in (".gz", ".csv", ".tsv", ".txt", ".parquet"):
        name = name.removesuffix(suffix)
    return name or "value"


def _keep_time_format(before: Schema, chosen: Schema) -> Schema:
    """The chosen schema, keeping why its date format was taken when it is unchanged, and
    finding the format afresh when another time column was chosen with the old one."""
    if chosen.time_column != before.time_column and chosen.time_format == before.time_format:
        return replace(chosen, time_format=None, time_format_reason="")
    if chosen.time_format == before.time_format and not chosen.time_format_reason:
        return replace(chosen, time_format_reason=before.time_format_reason)
    return chosen


def content_id(data: bytes) -> str:
    """The id of a file's content: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(data).hexdigest()[:16]


def _tidy_name(version: int) -> str:
    return "data.parquet" if version == 1 else f"data-v{version}.parquet"


class DatasetStore:
    """Adds, lists and loads data sets: files in `files`, what is known of them in
    `database`."""

    def __init__(
        self, files: FileStore, database: Database, *, max_bytes: int, max_rows: int
    ) -> None:
        self.files = files
        self.database = database
        self.max_bytes = max_bytes
        self.max_rows = max_rows
        self._writing = threading.Lock()

    @property
    def root(self) -> Path:
        """The data sets' folder, when the files are on this machine's disk."""
        return self.files.local_path("datasets")

    def _key(self, dataset_id: str, name: str) -> str:
        if not _ID.match(dataset_id or ""):
            raise DataError("That data set id is not valid.")
        return f"datasets/{dataset_id}/{name}"

    def _row(self, dataset_id: str) -> tuple[DatasetInfo, int] | None:
        """A data set's info and the version of its tidy file, None if unknown."""
        with self.database.read() as connection:
            row = connection.execute(
                text("SELECT info, version FROM datasets WHERE id = :id"), {"id": dataset_id}
            ).first()
        return None if row is None else (DatasetInfo.from_dict(json.loads(row[0])), row[1])

    def exists(self, dataset_id: str) -> bool:
        return _ID.match(dataset_id or "") is not None and self._row(dataset_id) is not None

    def add(
        self, data: bytes, filename: str, *, now: float | None = None
    ) -> tuple[DatasetInfo, bool]:
        """Store an uploaded file; returns its info and whether it was already here. A file
        whose columns cannot be guessed is kept as a draft (NeedsColumns); drafts older than
        `DRAFT_SECONDS` (by `now`, default the clock) are removed then."""
        dataset_id = content_id(data)
        found = self._row(dataset_id)
        if found is not None:
            return found[0], True
        raw = read_table(data, filename, max_bytes=self.max_bytes, max_rows=self.max_rows)
        raw.name = series_name_of(filename)
        try:
            schema = infer_schema(raw)
            tidy, report = prepare(raw, schema)
        except DataError as error:
            if len(raw.frame.columns) < 2:
                raise
            self._keep_draft(dataset_id, raw, filename, len(data), now=now)
            raise NeedsColumns(str(error), dataset_id, Path(filename).name) from None
        return self._store(dataset_id, raw, filename, len(data), schema, tidy, report), False

    def _store(
        self,
        dataset_id: str,
        raw: RawTable,
        filename: str,
        size: int,
        schema: Schema,
        tidy: pd.DataFrame,
        report: QualityReport,
    ) -> DatasetInfo:
        info = DatasetInfo(
            id=dataset_id,
            name=Path(filename).name,
            created=datetime.now(UTC).isoformat(timespec="seconds"),
            size_bytes=size,
            columns=tuple(raw.frame.columns),
            schema=schema,
            report=report,
        )
        # the files first, the row last: the data set exists once all of it does (the same
        # file uploaded twice at once writes the same bytes twice, and one row)
        self.files.put_parquet(self._key(info.id, "raw.parquet"), _raw_for_parquet(raw.frame))
        self.files.put_parquet(self._key(info.id, _tidy_name(1)), tidy)
        self._write_meta(info)
        self._record(info, version=1)
        return info

    def _draft_key(self, draft_id: str, name: str) -> str:
        if not _ID.match(draft_id or ""):
            raise DataError("That draft id is not valid.")
        return f"drafts/{draft_id}/{name}"

    def _keep_draft(
        self, draft_id: str, raw: RawTable, filename: str, size: int, *, now: float | None
    ) -> None:
        """A file whose columns the user must choose, kept apart from the data sets (never
        listed) with what it takes to store it once they have; abandoned drafts go first."""
        now = time.time() if now is None else now
        self.remove_old_drafts(now)
        meta = {
            "name": Path(filename).name,
            "size_bytes": size,
            "delimiter": raw.delimiter,
            "kept_at": now,
        }
        key = self._draft_key(draft_id, "raw.parquet")
        self.files.put_parquet(key, _raw_for_parquet(raw.frame))
        self.files.put(self._draft_key(draft_id, "meta.json"), json.dumps(meta).encode())

    def remove_old_drafts(self, now: float) -> int:
        """Remove the drafts kept more than `DRAFT_SECONDS` before `now` (a draft whose
        record cannot be read counts as old); returns how many went."""
        removed = 0
        for draft_id in self.files.keys("drafts"):
            try:
                kept_at = json.loads(self.files.get(f"drafts/{draft_id}/meta.json"))["kept_at"]
            except (FileNotFoundError, KeyError, ValueError):
                kept_at = 0.0
            if now - float(kept_at) > DRAFT_SECONDS:
                self.files.delete(f"drafts/{draft_id}")
                removed += 1
        return removed

    def draft(self, draft_id: str) -> tuple[str, RawTable]:
        """A draft's file name and its table as read."""
        try:
            meta = json.loads(self.files.get(self._draft_key(draft_id, "meta.json")))
            frame = self.files.get_parquet(self._draft_key(draft_id, "raw.parquet"))
        except FileNotFoundError:
            raise DataError("That file is no longer on the server; upload it again.") from None
        raw = RawTable(frame, delimiter=meta["delimiter"], name=series_name_of(meta["name"]))
        return meta["name"], raw

    def add_draft(self, draft_id: str, schema: Schema) -> DatasetInfo:
        """Store a draft as a data set, read with the columns the user chose; the draft stays
        as it was when they do not work (the error says why)."""
        found = self._row(draft_id)
        if found is not None:
            return found[0]
        name, raw = self.draft(draft_id)
        size = json.loads(self.files.get(self._draft_key(draft_id, "meta.json")))["size_bytes"]
        tidy, report = prepare(raw, schema)
        info = self._store(draft_id, raw, name, size, schema, tidy, report)
        self.files.delete(f"drafts/{draft_id}")
        return info

    def add_demo(self) -> DatasetInfo:
        """The built-in demo data set, stored like any upload."""
        return self.add(demo_csv(), DEMO_FILENAME)[0]

    def reprepare(self, dataset_id: str, schema: Schema) -> DatasetInfo:
        """Apply a schema chosen by the user to a stored file: a new version of its tidy
        file, made current in the database (the previous one is kept for readers that
        still hold it)."""
        info = self.info(dataset_id)
        raw = self.raw(dataset_id)
        raw.name = series_name_of(info.name)
        schema = _keep_time_format(info.schema, schema)
        tidy, report = prepare(raw, schema)
        updated = DatasetInfo(
            info.id, info.name, info.created, info.size_bytes, info.columns, schema, report
        )
        with self._writing:
            while True:
                found = self._row(dataset_id)
                if found is None:
                    raise DataError(GONE)
                version = found[1]
                self.files.put_parquet(self._key(dataset_id, _tidy_name(version + 1)), tidy)
                with self.database.write(LOCK) as connection:
                    changed = connection.execute(
                        text(
                            "UPDATE datasets SET info = :info, version = :next "
                            "WHERE id = :id AND version = :version"
                        ),
                        {
                            "info": json.dumps(updated.to_dict()),
                            "next": version + 1,
                            "id": dataset_id,
                            "version": version,
                        },
                    ).rowcount
                if changed:  # else another server chose columns meanwhile: go again after it
                    break
        self._write_meta(updated)
        if version > 1:
            self.files.delete(self._key(dataset_id, _tidy_name(version - 1)))
        return updated

    def _write_meta(self, info: DatasetInfo) -> None:
        """A copy of the row beside the files, for people and for `adopt_folders`."""
        meta = json.dumps(info.to_dict(), indent=1).encode()
        self.files.put(self._key(info.id, "meta.json"), meta)

    def _record(self, info: DatasetInfo, *, version: int) -> None:
        with self.database.write(LOCK) as connection:
            connection.execute(
                text(
                    "INSERT INTO datasets (id, name, created, size_bytes, info, version) "
                    "VALUES (:id, :name, :created, :size, :info, :version) "
                    "ON CONFLICT (id) DO NOTHING"
                ),
                {
                    "id": info.id,
                    "name": info.name,
                    "created": info.created,
                    "size": info.size_bytes,
                    "info": json.dumps(info.to_dict()),
                    "version": version,
                },
            )

    def adopt_folders(self) -> int:
        """Make known the data sets whose files were written before the database kept them
        (their `meta.json` is the row); how many."""
        adopted = 0
        for dataset_id in self.files.keys("datasets"):
            if not _ID.match(dataset_id) or self.exists(dataset_id):
                continue
            try:
                meta = self.files.get(self._key(dataset_id, "meta.json"))
            except FileNotFoundError:
                continue
            if not self.files.exists(self._key(dataset_id, _tidy_name(1))):
                continue
            self._record(DatasetInfo.from_dict(json.loads(meta)), version=1)
            adopted += 1
        return adopted

    def info(self, dataset_id: str) -> DatasetInfo:
        self._key(dataset_id, "")  # refuses ids that are not ours
        found = self._row(dataset_id)
        if found is None:
            raise DataError(GONE)
        return found[0]

    def list(self) -> list[DatasetInfo]:
        """Every stored data set, newest first."""
        with self.database.read() as connection:
            rows = connection.execute(
                text("SELECT info FROM datasets ORDER BY created DESC, id")
            ).all()
        return [DatasetInfo.from_dict(json.loads(info)) for (info,) in rows]

    # `builtins.list`: in this class, `list` is the method above
    def choices(self, *preferred: str | None) -> tuple[builtins.list[dict[str, str]], str | None]:
        """Every data set as a dropdown option, and the first of `preferred` still stored
        (else the newest) as the one chosen."""
        infos = self.list()
        known = {info.id for info in infos}
        chosen = next((wanted for wanted in preferred if wanted in known), None)
        options = [{"label": info.name, "value": info.id} for info in infos]
        return options, chosen or (infos[0].id if infos else None)

    def tidy(self, dataset_id: str) -> pd.DataFrame:
        found = self._row(dataset_id) if _ID.match(dataset_id or "") else None
        if found is None:
            raise DataError(GONE)
        key = self._key(dataset_id, _tidy_name(found[1]))
        try:
            changed = self.files.modified(key)
        except FileNotFoundError:
            raise DataError(GONE) from None
        return _load_tidy(self.files, key, changed)

    def raw(self, dataset_id: str) -> RawTable:
        """The stored file as read, every column as it was."""
        try:
            return RawTable(self.files.get_parquet(self._key(dataset_id, "raw.parquet")))
        except FileNotFoundError:
            raise DataError(GONE) from None

    def raw_preview(self, dataset_id: str, rows: int = 200) -> pd.DataFrame:
        return self.raw(dataset_id).frame.head(rows)

    def series(self, dataset_id: str, name: str) -> pd.DataFrame:
        """One series as a `timestamp`/`value` frame."""
        return series_frame(self.tidy(dataset_id), name)


@lru_cache(maxsize=8)
def _load_tidy(files: FileStore, key: str, _changed: object) -> pd.DataFrame:
    return files.get_parquet(key)


def _raw_for_parquet(frame: pd.DataFrame) -> pd.DataFrame:
    """Mixed-type text columns as strings, so any file that was read can be stored."""
    fixed = frame.copy()
    for column in fixed.columns:
        if fixed[column].dtype == object:
            fixed[column] = fixed[column].astype("string")
    return fixed
