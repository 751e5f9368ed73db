"""The app served over real HTTP on 127.0.0.1, with its live scoring worker running."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server


@pytest.fixture(scope="package")
def api(dash_app):
    """The app's address."""
    from vigil.live_series import live_worker
    from vigil.services import settings
    from vigil.web.live_api import attach_worker

    worker = live_worker(settings()).start()
    attach_worker(dash_app.server, worker)
    server = make_server("127.0.0.1", 0, dash_app.server, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    worker.stop()
    attach_worker(dash_app.server, None)
