"""Points of many series in one request, as a collector sends them: stored together, each
series' refusals named, nothing lost of the series that were fine."""

from __future__ import annotations

import json

from tests.live.test_api import call, fresh, scores, wait_for
from vigil.services import live_store, token_store


def send(api, body, **options):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return call(f"{api}/api/v1/series", "POST", data, **options)


def point(stamp: str, value: float) -> dict:
    return {"timestamp": stamp, "value": value}


def test_a_collectors_request_stores_every_series_points_and_labels(api):
    names = [fresh() for _ in range(3)]
    body = {
        "series": [
            {
                "name": name,
                "labels": {"host": f"h{i}", "env": "prod"},
                "points": [point(f"2026-12-01T09:0{m}:00Z", 10.0 + i) for m in range(5)],
            }
            for i, name in enumerate(names)
        ]
    }

    status, answer = send(api, body)

    assert status == 202
    assert answer == {"accepted": 15, "duplicates": 0, "rejected": 0, "series": []}
    stored = {series.name: series for series in live_store().series()}
    assert stored[names[2]].labels == {"env": "prod", "host": "h2"}
    for name in names:
        assert len(wait_for(lambda n=name: (p := scores(api, n)) and len(p) == 5 and p)) == 5
    again = send(api, body)[1]
    assert (again["accepted"], again["duplicates"]) == (0, 15)


def test_a_series_with_bad_points_or_name_is_refused_alone(api):
    good, half = fresh(), fresh()
    body = {
        "series": [
            {"name": good, "points": [point("2026-12-01T09:00:00Z", 1.0)]},
            {"name": "", "points": [point("2026-12-01T09:00:00Z", 1.0)]},
            {"name": half, "points": [point("2026-12-01T09:00:00Z", 2.0), point("soon", 3.0)]},
            {"name": fresh(), "labels": {"bad label": "x"}, "points": []},
            {"name": fresh(), "points": "not a list"},
            "not a series",
        ]
    }

    status, answer = send(api, body)

    assert status == 202
    assert (answer["accepted"], answer["rejected"]) == (2, 5)
    refused = {entry["series"]: entry for entry in answer["series"]}
    assert refused[half]["reasons"] == [
        "point 1: timestamp 'soon' is not an ISO 8601 time between 1970 and 2200, nor "
        "seconds since 1970"
    ]
    assert refused["''"]["reasons"][0].startswith("A series name has 1 to 100 characters")
    assert refused["#6"]["reasons"] == ['not an object with a "name" (text)']
    assert [entry["accepted"] for entry in answer["series"]].count(0) == 4
    assert len(scores(api, good)) == 1


def test_a_request_of_many_series_keeps_the_limits_and_needs_an_ingest_token(api):
    _, reader = token_store().create("dashboard", "ada", scopes=["read"])
    _, ingest = token_store().create("collector", "ada", scopes=["ingest"])
    one = {"series": [{"name": fresh(), "points": [point("2026-12-01T09:00:00Z", 1.0)]}]}
    many_points = {
        "series": [
            {"name": fresh(), "points": [point("2026-12-01T09:00:00Z", 1.0)] * 6_000}
            for _ in range(2)
        ]
    }
    many_series = {"series": [{"name": f"s{i}", "points": []} for i in range(5_001)]}

    assert send(api, one, token=reader)[0] == 403
    assert send(api, one, token=None)[0] == 401
    assert send(api, one, token=ingest)[0] == 202
    status, answer = send(api, many_points)
    assert (status, answer["reasons"]) == (413, ["At most 10,000 points a request, not 12,000."])
    status, answer = send(api, many_series)
    assert (status, answer["reasons"]) == (413, ["At most 5,000 series a request, not 5,001."])
    assert send(api, {"points": []})[0] == 422
    assert send(api, b"{not json")[0] == 422
    status, answer = send(api, {"series": [{"name": fresh(), "points": [point("x", 1.0)]}]})
    assert status == 422
    assert answer["error"] == "No point in the body could be read."


def test_many_series_are_stored_together_on_sqlite_and_postgres(database):
    import numpy as np
    import pandas as pd

    from vigil.live.points import Batch
    from vigil.live.store import LiveStore

    store = LiveStore(database)
    stamp = pd.Timestamp("2026-12-01 09:00").value
    batches = [
        (f"host-{i:03d}", Batch(np.array([stamp, stamp + 10**10]), np.array([1.0, float(i)])))
        for i in range(120)  # more than one transaction's worth of locks on Postgres
    ]

    results = store.add_many(batches, late_window=pd.Timedelta(hours=1))
    again = store.add_many(batches[:3], late_window=pd.Timedelta(hours=1))

    assert [r.accepted for r in results] == [2] * 120
    assert [r.duplicates for r in again] == [2] * 3
    assert len(store.series()) == 120
    assert store.scores("host-119")["value"].tolist() == [1.0, 119.0]
