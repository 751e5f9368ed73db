"""Random keys an installation makes once and keeps in its data directory, and the length
every key must have, whether made here or given in the environment."""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import secrets
import tempfile
from pathlib import Path

from vigil.detection.errors import DataError

#: The fewest bytes a signing key may have (HMAC-SHA256 wants at least its output's length).
MIN_KEY_BYTES = 32


#: The prefix Standard Webhooks libraries expect before a base64 secret.
WHSEC = "whsec_"


def key_of_secret(secret: str) -> bytes:
    """The key a secret names: written 'whsec_' and base64 (as Standard Webhooks libraries
    make and take them), else the secret's own bytes. ValueError for bad base64."""
    if not secret.startswith(WHSEC):
        return secret.encode()
    written = secret[len(WHSEC) :]
    try:
        return base64.b64decode(written + "=" * (-len(written) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a whsec_ secret is base64 after its prefix") from None


def secret_of_key(key: bytes) -> str:
    """A key written as Standard Webhooks libraries take it: 'whsec_' and base64."""
    return WHSEC + base64.b64encode(key).decode()


def short_key_problem(variable: str, key: bytes) -> str | None:
    """Why `key` may not sign anything, naming the setting it came from; None when long enough."""
    if len(key) >= MIN_KEY_BYTES:
        return None
    return (
        f"{variable} is {len(key)} bytes long; a key needs at least {MIN_KEY_BYTES} "
        "(make one with: python -c 'import secrets; print(secrets.token_hex(32))'), "
        "or leave it unset to have one made in the data directory"
    )


def kept_key(data_dir: Path, name: str) -> bytes:
    """The key in `data_dir/name`, made on first use and readable by its owner only.

    The file appears whole or not at all (written aside, then linked into place), so a
    process starting beside the one making it never reads half a key. A kept key shorter
    than `MIN_KEY_BYTES` (a file someone emptied or edited) is refused, not used."""
    path = Path(data_dir) / name
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, aside = tempfile.mkstemp(dir=path.parent, prefix=f".{name}-")  # mode 0600
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
            with contextlib.suppress(FileExistsError):  # another process made it first
                os.link(aside, path)
        finally:
            Path(aside).unlink(missing_ok=True)
    key = path.read_text().strip().encode()
    if len(key) < MIN_KEY_BYTES:
        raise DataError(
            f"The key in {path} is {len(key)} bytes long, fewer than {MIN_KEY_BYTES}: "
            "delete the file to have a new one made (links and sessions signed with it "
            "stop working)."
        )
    return key
