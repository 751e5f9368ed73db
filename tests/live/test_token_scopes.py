"""API tokens do what their scopes allow and no more, over real HTTP."""

from __future__ import annotations

import json

from tests.live.test_api import call, post
from vigil.services import token_store

POINT = {"points": [{"timestamp": "2026-01-01T00:00:00", "value": 1}]}


def test_each_token_may_do_what_its_scopes_allow(api):
    _, ingest = token_store().create("collector", "ada", scopes=["ingest"])
    _, read = token_store().create("dashboard", "ada", scopes=["read"])
    _, admin = token_store().create("automation", "ada", scopes=["read", "admin"])
    series = f"{api}/api/v1/series/scoped"
    configure = json.dumps({"detector": "zscore"}).encode()

    assert post(api, "scoped", POINT, token=ingest)[0] == 202
    status, answer = call(series, token=ingest)
    assert status == 403
    assert answer["error"] == (
        "This token may not read series, scores and alert rules: that needs the 'read' scope, "
        "and it has ingest."
    )
    assert call(series, "PUT", configure, token=ingest)[0] == 403

    assert call(series, token=read)[0] == 200
    assert call(f"{series}/scores", token=read)[0] == 200
    assert post(api, "scoped", POINT, token=read)[0] == 403
    assert call(series, "PUT", configure, token=read)[0] == 403

    assert call(series, "PUT", configure, token=admin)[0] == 200
    assert post(api, "scoped", POINT, token=admin)[0] == 403

    assert post(api, "scoped", POINT)[0] == 202  # a token from the settings may do it all
    assert call(series, "PUT", configure)[0] == 200
