"""The app served over real HTTP on 127.0.0.1, with its live scoring worker running."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from vigil.services import current


@pytest.fixture(scope="package")
def api(dash_app):
    """The app's address."""
    from vigil.web.live_api import attach_worker
    from vigil.workers.live_scoring import live_worker

    worker = live_worker(current()).start()
    attach_worker(dash_app.server, worker)
    server = make_server("127.0.0.1", 0, dash_app.server, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    worker.stop()
    attach_worker(dash_app.server, None)
