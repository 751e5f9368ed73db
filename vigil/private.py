"""Vigil's data directory is its owner's alone: the directory 0700, what is in it 0600.

It holds the database (alert emails with working link tokens among its rows), signing keys,
the users file, uploaded data and the disk cache of background callbacks. Processes that
serve Vigil create files with umask 077, and at start the directory is made private again
where something (an older Vigil, a copy, a restore) left it readable by others.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

#: Permission bits for group and others: none may be set on anything in the data directory.
SHARED = stat.S_IRWXG | stat.S_IRWXO


def private_umask() -> None:
    """Make every file and directory this process (and its children) creates private."""
    os.umask(0o077)


#: The directories made private by this process already (`vigil run` does it before it
#: builds the app, which does it too when a server other than `vigil run` builds it).
_DONE: set[tuple[str, str]] = set()


def private_data(data_dir: Path, files_url: str) -> list[Path]:
    """Make the data directory private, and the files' directory when it is another local
    one (an object store keeps its own permissions), once a process; what was fixed."""
    done = (str(Path(data_dir).resolve()), files_url)
    if done in _DONE:
        return []
    _DONE.add(done)
    fixed = make_private(data_dir)
    if "://" not in files_url and Path(files_url).resolve() != Path(data_dir).resolve():
        fixed += make_private(Path(files_url))
    return fixed


def make_private(directory: Path) -> list[Path]:
    """Create `directory` 0700 if missing, and take group and other permissions off it and
    everything in it (symlinks are left alone); what had them, so the caller can say so."""
    directory = Path(directory)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    fixed = []
    for root, dirs, files in os.walk(directory):
        for path in [Path(root)] + [Path(root) / name for name in (*dirs, *files)]:
            if path != Path(root) and path.is_symlink():
                continue
            mode = stat.S_IMODE(path.lstat().st_mode)
            if mode & SHARED:
                path.chmod(mode & ~SHARED)
                fixed.append(path)
    if fixed:
        log.warning(
            "made %d file(s) in %s readable by their owner only; others could read them",
            len(fixed),
            directory,
        )
    return fixed
