"""The ingest API over a real HTTP server on 127.0.0.1, with the scoring worker running."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

from tests.conftest import API_TOKEN
from vigil.client.api import points_body
from vigil.detection.synthetic import seasonal_series


def call(url, method="GET", body=None, token=API_TOKEN, headers=None):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"{}")  # 204: no body
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def post(api, series, body, **options):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return call(f"{api}/api/v1/series/{series}/points", "POST", data, **options)


def spiky(n: int, at: int | None = None) -> pd.DataFrame:
    """Minute points of a daily sine with noise of sd 1, and a 10-sigma spike at `at`."""
    frame = seasonal_series(n=n)
    if at is not None:
        frame.loc[at, "value"] += 10
    return frame


def fresh() -> str:
    return f"api_{uuid.uuid4().hex[:8]}"


def frame_body(frame: pd.DataFrame) -> bytes:
    return points_body(frame["timestamp"], frame["value"].to_numpy())


def scores(api, series, since=None):
    query = "" if since is None else f"?since={since}"
    status, answer = call(f"{api}/api/v1/series/{series}/scores{query}")
    assert status == 200, answer
    return answer["points"]


def wait_for(condition, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError("timed out")


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic dGVzdC10b2tlbg=="}],
)
def test_a_request_without_a_valid_token_is_refused_and_stores_nothing(api, headers):
    series = fresh()
    status, answer = call(
        f"{api}/api/v1/series/{series}/points",
        "POST",
        json.dumps({"points": [{"timestamp": "2026-01-01T00:00:00", "value": 1}]}).encode(),
        token=None,
        headers=headers,
    )
    assert status == 401
    assert "token" in answer["error"]
    assert call(f"{api}/api/v1/series", token=None)[0] == 401
    listed = call(f"{api}/api/v1/series")[1]["series"]
    assert series not in [s["name"] for s in listed]


def test_both_configured_tokens_are_accepted(api):
    for token in ("test-token", "second-token"):
        status, _ = post(
            api, fresh(), {"points": [{"timestamp": 1_700_000_000, "value": 1}]}, token=token
        )
        assert status == 202


def test_points_are_accepted_scored_and_listed_with_their_scores(api):
    series = fresh()
    frame = spiky(2880, 2500)
    for start in range(0, len(frame), 1000):
        status, answer = post(api, series, frame_body(frame.iloc[start : start + 1000]))
        assert status == 202
        assert answer["accepted"] == len(frame.iloc[start : start + 1000])
        assert answer["rejected"] == 0

    points = wait_for(lambda: (p := scores(api, series)) and all(x["scored"] for x in p) and p)
    assert len(points) == len(frame)
    warming_up = points[0]
    assert warming_up["scored"]
    assert warming_up["expected"] is None
    assert warming_up["severity"] is None
    assert not warming_up["is_anomaly"]
    spike = points[2500]
    assert spike["is_anomaly"]
    assert spike["severity"] >= 0.9
    assert spike["timestamp"] == frame["timestamp"].iloc[2500].isoformat() + "Z"
    assert spike["expected"] < spike["value"]
    assert spike["lower"] < spike["upper"]
    assert "the value is the highest in" in spike["explanation"]
    flagged = [p for p in points if p["is_anomaly"]]
    assert len(flagged) < 10
    listed = {s["name"]: s for s in call(f"{api}/api/v1/series")[1]["series"]}
    assert listed[series]["points"] == len(frame)
    assert listed[series]["detector"] == "auto"
    assert listed[series]["last_value"] == pytest.approx(frame["value"].iloc[-1])
    later = scores(api, series, since=frame["timestamp"].iloc[2869].isoformat())
    assert len(later) == 10


def test_a_malformed_body_gets_422_with_reasons(api):
    series = fresh()
    assert post(api, series, b"{not json")[0] == 422
    status, answer = post(api, series, {"values": []})
    assert status == 422
    assert '"points"' in answer["reasons"][0]
    status, answer = post(
        api,
        series,
        {"points": [{"timestamp": "yesterday-ish", "value": 1}, {"timestamp": 5, "value": "x"}]},
    )
    assert status == 422
    assert answer["rejected"] == 2
    assert "point 0: timestamp 'yesterday-ish'" in answer["reasons"][0]
    assert "point 1: value 'x' is not a number" in answer["reasons"][1]
    status, answer = post(api, series, {"points": [{"timestamp": 1, "value": 1}] * 10_001})
    assert status == 413  # too many for one request: split it
    assert "10,000" in answer["reasons"][0]


def test_some_bad_points_are_refused_and_the_rest_kept(api):
    series = fresh()
    body = {
        "points": [
            {"timestamp": "2026-01-01T00:00:00Z", "value": 1.5},
            {"timestamp": "2026-01-01T00:01:00+01:00", "value": None},
            {"timestamp": "2026-01-01T00:02:00", "value": float("nan")},
            {"timestamp": 1767225780, "value": 2},
        ]
    }
    status, answer = post(api, series, json.dumps(body).encode())
    assert status == 202
    assert (answer["accepted"], answer["rejected"]) == (2, 2)
    stored = scores(api, series)
    assert [p["timestamp"] for p in stored] == ["2026-01-01T00:00:00Z", "2026-01-01T00:03:00Z"]


def test_a_body_over_the_limit_gets_413(api):
    status, answer = post(api, fresh(), b"x" * 6_000_000)
    assert status == 413
    assert "MB request limit" in answer["error"]


def test_duplicates_are_idempotent_and_a_correction_replaces_the_value(api):
    series = fresh()
    frame = spiky(400)
    assert post(api, series, frame_body(frame))[1]["accepted"] == 400
    again = post(api, series, frame_body(frame))[1]
    assert (again["accepted"], again["duplicates"]) == (0, 400)
    fixed = frame.iloc[[390]].assign(value=frame["value"].iloc[390] + 50)
    corrected = post(api, series, frame_body(fixed))[1]
    assert corrected["accepted"] == 1
    stored = wait_for(lambda: (p := scores(api, series)) and all(x["scored"] for x in p) and p)
    assert len(stored) == 400
    assert stored[390]["value"] == pytest.approx(fixed["value"].iloc[0])


def test_late_points_within_the_window_are_scored_as_if_they_came_in_order(api):
    in_order, late = fresh(), fresh()
    frame = spiky(3000, 2950)
    post(api, in_order, frame_body(frame))
    held_back = frame.iloc[2940:2960]
    post(api, late, frame_body(frame.drop(index=held_back.index)))
    wait_for(lambda: all(p["scored"] for p in scores(api, late)))
    answer = post(api, late, frame_body(held_back))[1]
    assert answer["accepted"] == 20

    def settled(series):
        points = scores(api, series)
        return len(points) == 3000 and all(p["scored"] for p in points) and points

    expected = wait_for(lambda: settled(in_order))
    got = wait_for(lambda: settled(late))
    wait_for(lambda: (got := settled(late)) and got[2950]["is_anomaly"])
    got = settled(late)
    assert [p["severity"] for p in got] == pytest.approx(
        [p["severity"] for p in expected], nan_ok=True
    )
    assert got[2950]["is_anomaly"]


def test_a_point_older_than_the_late_window_is_refused_with_its_reason(api):
    series = fresh()
    post(api, series, {"points": [{"timestamp": "2026-01-01T12:00:00", "value": 1}]})
    status, answer = post(
        api,
        series,
        {
            "points": [
                {"timestamp": "2026-01-01T10:00:00", "value": 2},
                {"timestamp": "2026-01-01T11:30:00", "value": 3},
            ]
        },
    )
    assert status == 202
    assert (answer["accepted"], answer["rejected"]) == (1, 1)
    assert "more than 1 hour before the series' latest point" in answer["reasons"][0]


def test_a_hundred_concurrent_clients_lose_nothing(api):
    # 25 series, four clients each, each client with every fourth second of 1,000 seconds
    names = [fresh() for _ in range(25)]
    start = pd.Timestamp("2026-02-01")
    jobs = [(names[client // 4], client % 4) for client in range(100)]

    def send(job):
        series, turn = job
        seconds = np.arange(turn, 1000, 4)
        times = start + pd.to_timedelta(seconds, unit="s")
        return post(api, series, points_body(times, np.sin(seconds / 10)))

    with ThreadPoolExecutor(max_workers=100) as pool:
        answers = list(pool.map(send, jobs))

    assert all(status == 202 for status, _ in answers)
    assert sum(answer["accepted"] for _, answer in answers) == 25_000
    listed = {s["name"]: s for s in call(f"{api}/api/v1/series")[1]["series"]}
    assert [listed[name]["points"] for name in names] == [1000] * 25
    for name in names:
        points = wait_for(
            lambda name=name: (p := scores(api, name)) and all(x["scored"] for x in p) and p
        )
        assert [p["value"] for p in points] == pytest.approx(np.sin(np.arange(1000) / 10))


def test_a_series_set_to_another_detector_is_scored_again_with_it(api):
    series = fresh()
    post(api, series, frame_body(spiky(1500, 1400)))
    wait_for(lambda: all(p["scored"] for p in scores(api, series)))
    status, answer = call(
        f"{api}/api/v1/series/{series}",
        "PUT",
        json.dumps({"detector": "zscore", "params": {"threshold": 5}}).encode(),
    )
    assert status == 200
    assert answer["detector"] == "zscore"
    flagged = wait_for(
        lambda: [
            p
            for p in scores(api, series)
            if "standard" in p["explanation"]
            or "robust deviations above the median" in p["explanation"]
        ]
    )
    assert flagged[0]["timestamp"] == scores(api, series)[1400]["timestamp"]
    bad = call(f"{api}/api/v1/series/{series}", "PUT", json.dumps({"detector": "nope"}).encode())
    assert bad[0] == 422
    assert "Unknown detector" in bad[1]["error"]


def test_a_token_an_admin_made_works_until_it_is_revoked(api):
    from vigil.services import token_store

    record, token = token_store().create("test client", "ada")
    body = {"points": [{"timestamp": "2026-01-01T00:00:00", "value": 1}]}
    assert post(api, fresh(), body, token=token)[0] == 202
    token_store().revoke(record.id)
    assert post(api, fresh(), body, token=token)[0] == 401


def described(api, series):
    status, answer = call(f"{api}/api/v1/series/{series}")
    assert status == 200, answer
    return answer


def all_scored(api, series, count):
    points = scores(api, series)
    return len(points) == count and all(p["scored"] for p in points) and points


def test_a_new_series_says_how_long_it_learns_then_counts_episodes_not_points(api):
    series = fresh()
    frame = seasonal_series(n=3000, seed=4)  # minute points: it learns for a day of them
    frame.loc[2960, "value"] += 12
    frame.loc[2962, "value"] += 20  # a higher spike two points later: the same episode
    post(api, series, frame_body(frame.iloc[:500]))
    wait_for(lambda: all_scored(api, series, 500))

    learning = wait_for(lambda: (s := described(api, series))["learning_left_points"] and s)
    assert learning["status"] == "learning"
    assert learning["learning_left_points"] == 940
    until = frame["timestamp"][499] + pd.Timedelta(minutes=940)
    assert learning["learning_until"] == until.isoformat() + "Z"
    assert (learning["episodes_last_hour"], learning["open_episode"]) == (0, None)

    post(api, series, frame_body(frame.iloc[500:2961]))
    post(api, series, frame_body(frame.iloc[2961:2964]))
    points = wait_for(lambda: all_scored(api, series, 2964))

    going_on = described(api, series)
    assert going_on["status"] == "anomaly"
    assert (going_on["learning_left_points"], going_on["learning_until"]) == (0, None)
    assert (going_on["episodes_last_hour"], going_on["anomalies_last_hour"]) == (1, 2)
    episode = going_on["open_episode"]
    assert episode["since"] == frame["timestamp"][2960].isoformat() + "Z"
    assert episode["points"] == 2
    assert episode["peak"]["timestamp"] == frame["timestamp"][2962].isoformat() + "Z"
    assert episode["peak"]["value"] == pytest.approx(frame["value"][2962])
    assert episode["peak"]["expected"] < episode["peak"]["value"]
    assert "highest" in episode["peak"]["explanation"]
    first, second = points[2960], points[2962]
    assert first["episode"] == second["episode"] is not None
    assert (first["onset"], second["onset"]) == (True, False)
    assert (points[2961]["episode"], points[2961]["onset"]) == (None, False)

    post(api, series, frame_body(frame.iloc[2964:]))
    wait_for(lambda: all_scored(api, series, 3000))
    over = described(api, series)
    assert over["open_episode"] is None
    assert (over["episodes_last_hour"], over["anomalies_last_hour"]) == (1, 2)
    listed = {s["name"]: s for s in call(f"{api}/api/v1/series")[1]["series"]}
    assert listed[series] == over


def test_a_series_that_does_not_exist_is_a_404(api):
    status, answer = call(f"{api}/api/v1/series/{fresh()}")
    assert status == 404
    assert "no live series" in answer["error"]


def test_an_address_under_the_api_that_names_nothing_answers_json_not_the_page(api):
    for address in (f"/api/v1/series/{fresh()}/", "/api/v1/nothing", "/api/v1/series/a/b/c/d"):
        status, answer = call(f"{api}{address}")  # the page's HTML would not parse as JSON
        assert status == 404, address
        assert answer["error"]


def test_a_series_whose_name_has_a_slash_is_reached_like_any_other(api):
    series = f"host1/{fresh()}"
    status, _ = post(api, series, {"points": [{"timestamp": "2026-11-30T03:30:54Z", "value": 1}]})
    assert status == 202
    status, described = call(f"{api}/api/v1/series/{series}")
    assert (status, described["name"]) == (200, series)
    assert len(scores(api, series)) == 1


def test_times_come_back_in_one_form_with_their_zone_and_can_be_sent_again(api):
    series = fresh()
    body = {"points": [{"timestamp": "2026-11-30T04:30:54+01:00", "value": 1.5}]}
    assert post(api, series, body)[0] == 202
    _, described = call(f"{api}/api/v1/series/{series}")
    assert described["first"] == described["last"] == "2026-11-30T03:30:54Z"
    [point] = scores(api, series, since="2026-11-30T04:00:00%2B01:00")  # 03:00 UTC
    assert point["timestamp"] == "2026-11-30T03:30:54Z"
