"""Real services for the tests of Vigil as a shared service, started on 127.0.0.1 for a test
session and stopped after it (skipped, saying why, where they are not installed)."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.alerts.smtp_server import free_port


@contextmanager
def redis_server(directory) -> Iterator[str]:
    """A redis-server on a free port, keeping nothing on disk; its URL."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (make services installs Debian's)")
    import redis

    port = free_port()
    options = {"port": port, "bind": "127.0.0.1", "save": "", "appendonly": "no", "dir": directory}
    server = subprocess.Popen(
        [
            "redis-server",
            *[part for key, value in options.items() for part in (f"--{key}", str(value))],
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(10)
