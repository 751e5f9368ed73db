"""`vigil run` on a free port of 127.0.0.1 for tests that talk to it over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import requests

from tests.alerts.smtp_server import free_port
from tests.processes import start_vigil, stop, wait_until
from tests.settings import server_environment


def _answers(url: str) -> bool:
    try:
        requests.get(f"{url}/assets/00-bootstrap.min.css", timeout=2)
    except requests.ConnectionError:
        return False
    return True


@contextmanager
def served(data_dir, **settings: object) -> Iterator[str]:
    """`vigil run` with this data directory and these settings (by field name; sign-in off
    unless they say otherwise, as on 127.0.0.1 by default, no demo and no live scoring unless
    they say so), and no other; its URL."""
    port = free_port()
    given = {"demo": False, "live_scoring": False, **settings}
    process = start_vigil(server_environment(data_dir=data_dir, port=port, **given), "run")
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_until(lambda: _answers(url), 120), "vigil run did not start"
        yield url
    finally:
        stop(process)
