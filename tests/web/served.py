"""`vigil run` on a free port of 127.0.0.1 for tests that talk to it over real HTTP."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import requests

from tests.alerts.smtp_server import free_port
from tests.processes import start_vigil, stop, wait_until


def _answers(url: str) -> bool:
    try:
        requests.get(f"{url}/assets/00-bootstrap.min.css", timeout=2)
    except requests.ConnectionError:
        return False
    return True


@contextmanager
def served(data_dir, **settings: str) -> Iterator[str]:
    """`vigil run` with these settings (sign-in off unless they say otherwise, as on
    127.0.0.1 by default), no demo and no live scoring; its URL."""
    port = free_port()
    env = {
        **os.environ,
        "VIGIL_DATA_DIR": str(data_dir),
        "VIGIL_DEMO": "false",
        "VIGIL_LIVE_SCORING": "false",
        "VIGIL_PORT": str(port),
        **settings,
    }
    process = start_vigil(env, "run")
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_until(lambda: _answers(url), 120), "vigil run did not start"
        yield url
    finally:
        stop(process)
