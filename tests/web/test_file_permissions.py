"""What Vigil keeps in its data directory is its owner's alone: the directory 0700, files
0600, made so by `vigil run` also where an older Vigil left them readable by others."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

import requests

from tests.web.served import served


def _shared(data_dir: Path) -> list[str]:
    """What in `data_dir` (itself included) others than its owner may use, with its mode."""
    found = []
    for root, dirs, files in os.walk(data_dir):
        for path in [Path(root)] + [Path(root) / name for name in (*dirs, *files)]:
            mode = stat.S_IMODE(path.lstat().st_mode)
            wanted = 0o700 if path.is_dir() else 0o600
            if mode != wanted:
                found.append(f"{path.relative_to(data_dir.parent)} {oct(mode)}")
    return sorted(set(found))


def test_the_data_directory_and_everything_vigil_writes_are_private(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)
    old_key = data_dir / "model.key"  # as a Vigil before this one may have left it
    old_key.write_text(secrets.token_hex(32))
    old_key.chmod(0o644)
    (data_dir / "exports").mkdir(mode=0o755)
    (data_dir / "exports" / "old.csv").write_text("timestamp,value\n")
    (data_dir / "exports" / "old.csv").chmod(0o644)

    with served(data_dir, demo=True) as url:
        rows = "".join(f"2024-01-{day:02d},{day % 5}\n" for day in range(1, 21))
        upload = {"file": ("mine.csv", f"timestamp,value\n{rows}".encode())}
        stored = requests.post(f"{url}/api/v1/datasets", files=upload, timeout=60)
        assert stored.status_code == 201, stored.text
        names = {path.name for path in data_dir.rglob("*")}
        assert {"vigil.sqlite", "vigil.sqlite-wal", "vigil.sqlite-shm", "session.key"} <= names
        assert "cache.db" in names  # the background callbacks' disk cache
        assert (data_dir / "datasets" / stored.json()["id"]).is_dir()

        assert _shared(data_dir) == []
