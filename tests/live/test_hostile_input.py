"""What a careless or hostile client sends the live API: refused with reasons, in JSON, and
never at the cost of the valid points beside it or of the other series' scoring."""

from __future__ import annotations

import json
import time
import urllib.parse

import pandas as pd
import pytest
from sqlalchemy import text

from tests.live.test_api import call, frame_body, fresh, post, scores, spiky, wait_for
from vigil.services import current


def put(api, series, body):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return call(f"{api}/api/v1/series/{urllib.parse.quote(series, safe='/')}", "PUT", data)


def test_a_parameter_far_past_its_bounds_is_refused_with_the_field_and_its_reason(api):
    status, answer = put(api, fresh(), {"detector": "zscore", "params": {"window": 1e20}})
    assert status == 422
    assert answer["error"] == "Window (points) must be at most 100,000, not 1e+20."
    status, answer = put(api, fresh(), {"detector": "iforest", "params": {"random_state": 2**40}})
    assert status == 422
    assert "Random seed must be at most 4,294,967,295" in answer["error"]


def test_one_series_that_cannot_be_scored_leaves_the_others_scored_and_says_why(api, data_dir):

    broken, other = fresh(), fresh()
    store = current().live_store
    store.configure(broken, detector="zscore")
    with store.database.write() as connection:  # as a version without bounds stored it
        connection.execute(
            text("UPDATE series SET params = :params, version = version + 1 WHERE name = :name"),
            {"params": json.dumps({"window": 1e20}), "name": broken},
        )
    assert post(api, broken, frame_body(spiky(50)))[0] == 202
    assert post(api, other, frame_body(spiky(300)))[0] == 202

    wait_for(lambda: all(point["scored"] for point in scores(api, other)))
    described = wait_for(lambda: (d := call(f"{api}/api/v1/series/{broken}")[1])["error"] and d)
    assert described["status"] == "error"
    assert "Window (points) must be at most 100,000" in described["error"]
    listed = {s["name"]: s for s in call(f"{api}/api/v1/series")[1]["series"]}
    assert listed[broken]["error"] == described["error"]
    assert listed[other]["error"] is None
    assert listed[other]["status"] != "error"

    assert put(api, broken, {"detector": "zscore", "params": {"window": 20}})[0] == 200
    wait_for(lambda: all(point["scored"] for point in scores(api, broken)))
    assert call(f"{api}/api/v1/series/{broken}")[1]["error"] is None


def test_points_no_server_could_store_are_refused_one_by_one_and_the_valid_ones_kept(api):
    series = fresh()
    valid = '{"timestamp": "2026-01-01T00:00:00Z", "value": 1.5}'
    body = (
        '{"points": ['
        '{"timestamp": "3000-01-01", "value": 1},'
        f'{{"timestamp": "2026-01-01T00:01:00Z", "value": 1{"0" * 309}}},'
        f'{{"timestamp": "2026-01-01T00:02:00Z", "value": {"9" * 4400}}},'
        f'{{"timestamp": {"9" * 4400}, "value": 1}},'
        '{"timestamp": "2026-01-01T00:03:00Z", "value": NaN},'
        '{"timestamp": "2026-01-01T00:04:00Z", "value": -Infinity},'
        '{"timestamp": NaN, "value": 1},'
        f"{valid}]}}"
    ).encode()

    status, answer = post(api, series, body)

    assert status == 202
    assert (answer["accepted"], answer["rejected"]) == (1, 7)
    assert answer["reasons"][0].startswith("point 0: timestamp '3000-01-01' is not")
    assert answer["reasons"][1] == "point 1: value is not a finite number of at most 1.8e308"
    assert [point["value"] for point in scores(api, series)] == [1.5]


def test_more_points_than_a_request_may_carry_is_a_413_as_the_readme_says(api):
    series = fresh()
    points = [{"timestamp": 1_700_000_000 + 10 * i, "value": 1.0} for i in range(10_001)]

    status, answer = post(api, series, {"points": points})

    assert status == 413
    assert "At most 10,000 points a request, not 10,001." in answer["reasons"]
    assert call(f"{api}/api/v1/series/{series}")[0] == 404  # nothing of it was stored


def test_json_nested_too_deeply_is_refused_in_json(api):
    status, answer = post(api, fresh(), b'{"points": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}")
    assert status == 422
    assert "nests too deeply" in answer["error"]


@pytest.mark.parametrize(
    "body",
    [
        {"detector": ["zscore"]},
        {"detector": {"a": 1}},
        {"detector": "zscore", "params": [{"window": 3}]},
        {"detector": "zscore", "params": {"window": [1]}},
        {"model": ["x"]},
        b"[1, 2",
        b"\xff\xfe",
    ],
)
def test_a_malformed_setting_is_a_422_in_json(api, body):
    status, answer = put(api, fresh(), body)
    assert status == 422
    assert answer["error"]


def test_scores_since_a_time_past_2200_is_a_422_in_json(api):
    series = fresh()
    post(api, series, frame_body(spiky(10)))
    for since in ("3000-01-01", "1000-01-01", "99999-01-01"):
        status, answer = call(f"{api}/api/v1/series/{series}/scores?since={since}")
        assert status == 422, since
        assert since in answer["error"]


def test_a_point_far_ahead_of_the_clock_is_refused_so_it_cannot_lock_the_series(api):
    series = fresh()
    soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    body = {
        "points": [
            {"timestamp": "2199-01-01T00:00:00Z", "value": 1},
            {"timestamp": soon, "value": 2},
        ]
    }
    status, answer = post(api, series, body)
    assert status == 202
    assert (answer["accepted"], answer["rejected"]) == (1, 1)
    assert "point 0: timestamp '2199-01-01T00:00:00Z' is later than" in answer["reasons"][0]
    assert "too far ahead of the server's clock" in answer["reasons"][0]


@pytest.mark.parametrize(
    "name",
    [
        "cpu\u2028host",
        "cpu\u0085",
        "cpu\u2029",
        "a\x1cb",
        "a\x1db",
        "a\x1eb",
        "a\rb",
        "a\x7f",
        "evil\u202egnp.exe",
        "a\u2066b\u2069",
        "a\u200fb",
    ],
)
def test_a_series_name_that_would_break_a_line_or_reorder_text_is_refused(api, name):
    status, answer = post(
        api,
        urllib.parse.quote(name, safe=""),
        {"points": [{"timestamp": "2026-01-01T00:00:00Z", "value": 1}]},
    )
    assert status == 422
    assert "no line break, control character or text-direction character" in answer["error"]
    assert put(api, name, {"detector": "zscore"})[0] == 422
    listed = [s["name"] for s in call(f"{api}/api/v1/series")[1]["series"]]
    assert name not in listed
    assert name.strip() not in listed


def test_a_full_disk_answers_507_in_json_and_loses_nothing_acknowledged(api):
    from sqlalchemy import event

    series = fresh()
    frame = spiky(400)
    assert post(api, series, frame_body(frame.iloc[:200]))[0] == 202
    engine = current().live_store.database.engine

    def no_room_to_grow(dbapi_connection, _record):
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    event.listen(engine, "connect", no_room_to_grow)
    engine.dispose()
    try:
        status, answer = post(api, series, frame_body(frame.iloc[200:]))
    finally:
        event.remove(engine, "connect", no_room_to_grow)
        engine.dispose()

    assert status == 507
    assert "disk is full" in answer["error"]
    assert len(scores(api, series)) == 200
    assert post(api, series, frame_body(frame.iloc[200:]))[0] == 202
    assert len(scores(api, series)) == 400


def test_an_operator_deletes_a_far_future_point_and_the_series_takes_real_points_again(api):

    series = fresh()
    frame = spiky(300)
    assert post(api, series, frame_body(frame.iloc[:200]))[0] == 202
    # a point dated 2199, as a clock gone wrong sent it before points so far ahead were refused
    with current().live_store.database.write() as connection:
        connection.execute(
            text(
                "INSERT INTO points (series, ts, value, received) "
                "SELECT id, :ts, 1.0, 0 FROM series WHERE name = :name"
            ),
            {"ts": pd.Timestamp("2199-01-01").value, "name": series},
        )
    status, answer = post(api, series, frame_body(frame.iloc[200:]))
    assert (answer["accepted"], answer["rejected"]) == (0, 100)  # late, every one

    address = f"{api}/api/v1/series/{series}/points?from=2100-01-01T00:00:00Z&to=2200-01-01"
    assert call(address, "DELETE", token="second-token")[0] == 200  # an operator's token too
    status, answer = call(address, "DELETE")
    assert (status, answer["deleted"]) == (200, 0)  # already gone: nothing more to delete

    status, answer = post(api, series, frame_body(frame.iloc[200:]))
    assert (status, answer["accepted"]) == (202, 100)
    points = wait_for(lambda: (p := scores(api, series)) and all(x["scored"] for x in p) and p)
    assert len(points) == 300
    assert points[-1]["timestamp"] == frame["timestamp"].iloc[-1].isoformat() + "Z"


def test_deleting_points_says_how_many_and_needs_the_admin_scope(api):
    from vigil.services import token_store

    series = fresh()
    frame = spiky(100)
    post(api, series, frame_body(frame))
    wait_for(lambda: all(point["scored"] for point in scores(api, series)))
    start, end = frame["timestamp"].iloc[10].isoformat(), frame["timestamp"].iloc[40].isoformat()
    address = f"{api}/api/v1/series/{series}/points?from={start}&to={end}"
    _record, collector = token_store().create("collector", "ada", scopes=("ingest", "read"))
    _record, admin = token_store().create("repairs", "ada", scopes=("admin",))

    refused = call(address, "DELETE", token=collector)
    status, answer = call(address, "DELETE", token=admin)

    assert refused[0] == 403
    assert "'admin' scope" in refused[1]["error"]
    assert (status, answer["deleted"]) == (200, 30)
    left = scores(api, series)
    assert len(left) == 70
    assert frame["timestamp"].iloc[10].isoformat() + "Z" not in [p["timestamp"] for p in left]
    assert call(f"{api}/api/v1/series/{fresh()}/points?from={start}&to={end}", "DELETE")[0] == 404
    assert call(f"{api}/api/v1/series/{series}/points?from={end}&to={start}", "DELETE")[0] == 422
    assert call(f"{api}/api/v1/series/{series}/points?from=3000-01-01&to=3001", "DELETE")[0] == 422
