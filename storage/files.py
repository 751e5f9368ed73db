"""Vigil's files (data sets, saved models, detection results) under one root: a local
directory, or an object store path such as `s3://bucket/vigil` (any fsspec URL whose package
is installed), so that every web server and worker sees the same files.

Files are written whole: on a local disk under a temporary name, then renamed; in an object
store, by one upload. A reader never sees half a file.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import fsspec
import pandas as pd
from fsspec.implementations.local import LocalFileSystem


class FileStore:
    """Files by key (`datasets/<id>/raw.parquet`) under `root`."""

    def __init__(self, root: str | Path) -> None:
        self.url = str(root)
        remote = fsspec.utils.get_protocol(self.url) not in ("file", "local")
        # what other servers write must be seen at once: no cached listings; and a store of
        # its own, made with the environment as it is now
        options = {"use_listings_cache": False, "skip_instance_cache": True} if remote else {}
        try:
            self.fs, self.root = fsspec.core.url_to_fs(self.url, **options)
        except ImportError as error:
            raise ValueError(
                f"Files at {self.url} need a package that is not installed: {error}"
            ) from None
        except (OSError, ValueError) as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error)
            raise ValueError(f"Files at {self.url} cannot be reached: {reason}") from None
        self.local = isinstance(self.fs, LocalFileSystem)
        if self.local:
            self.root = os.path.abspath(self.root)

    def __repr__(self) -> str:
        return f"FileStore({self.url!r})"

    def path(self, key: str) -> str:
        """Where a key is: a local path, or a path in the object store."""
        return f"{self.root.rstrip('/')}/{key}"

    def local_path(self, key: str) -> Path:
        """A key's path on this machine's disk (only for a local root)."""
        if not self.local:
            raise ValueError(f"{self.url} is not a local directory")
        return Path(self.path(key))

    def put(self, key: str, data: bytes) -> None:
        target = self.path(key)
        if not self.local:
            self.fs.pipe_file(target, data)
            return
        folder = os.path.dirname(target)
        os.makedirs(folder, exist_ok=True)
        handle, staging = tempfile.mkstemp(prefix=".", dir=folder)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(staging, target)
        except BaseException:
            Path(staging).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        """A file's bytes; FileNotFoundError when it is not there."""
        data: bytes = self.fs.cat_file(self.path(key))
        return data

    def exists(self, key: str) -> bool:
        found: bool = self.fs.exists(self.path(key))
        return found

    def delete(self, key: str) -> None:
        """Remove a file or a folder of files, if there."""
        target = self.path(key)
        if self.fs.exists(target):
            self.fs.rm(target, recursive=True)

    def keys(self, prefix: str) -> list[str]:
        """The names directly under a folder key (none when it is not there)."""
        folder = self.path(prefix)
        if not self.fs.exists(folder):
            return []
        return sorted(
            os.path.basename(entry.rstrip("/")) for entry in self.fs.ls(folder, detail=False)
        )

    def modified(self, key: str) -> object:
        """Something that changes when the file is written again (for caches)."""
        info = self.fs.info(self.path(key))
        return info.get("mtime") or info.get("LastModified") or info.get("ETag") or info.get("size")

    def put_parquet(self, key: str, frame: pd.DataFrame) -> None:
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        self.put(key, buffer.getvalue())

    def get_parquet(self, key: str) -> pd.DataFrame:
        if self.local:
            return pd.read_parquet(self.path(key))
        return pd.read_parquet(io.BytesIO(self.get(key)))
