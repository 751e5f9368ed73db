"""Random keys an installation makes once and keeps in its data directory."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def kept_key(data_dir: Path, name: str) -> bytes:
    """The key in `data_dir/name`, made on first use and readable by its owner only."""
    path = Path(data_dir) / name
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
    return path.read_text().strip().encode()
