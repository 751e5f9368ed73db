"""`vigil replay`: a recorded series sent into a running app's ingest API."""

from __future__ import annotations

import pytest

from tests.conftest import API_TOKEN
from tests.live.test_api import fresh, scores, wait_for
from tests.unit.test_cli import vigil
from vigil.client.replay import parse_speed, replay
from vigil.detection.synthetic import seasonal_series


@pytest.mark.parametrize(
    ("text", "speed"), [("60x", 60.0), ("60", 60.0), ("2.5X", 2.5), ("max", None), ("MAX", None)]
)
def test_a_speed_is_read_as_a_factor_or_as_fast_as_possible(text, speed):
    assert parse_speed(text) == speed


@pytest.mark.parametrize("text", ["0x", "-2x", "quick"])
def test_a_speed_that_means_nothing_is_refused_with_the_form_expected(text):
    with pytest.raises(ValueError, match="--speed"):
        parse_speed(text)


def test_replay_sends_a_file_and_a_second_replay_finds_it_all_there(api, tmp_path):
    series = fresh()
    recorded = tmp_path / "orders.csv"
    seasonal_series(n=2500, spike_at=2400).to_csv(recorded, index=False)
    command = ("replay", str(recorded), "--series", series, "--url", api, "--token", API_TOKEN)

    first = vigil(*command)
    assert first.returncode == 0, first.stderr
    assert "Replaying 2,500 points of value" in first.stdout
    assert "Sent 2,500 points in 3 requests: 2,500 accepted, 0 already there" in first.stdout
    points = wait_for(lambda: (p := scores(api, series)) and all(x["scored"] for x in p) and p)
    assert len(points) == 2500
    assert points[2400]["is_anomaly"]

    again = vigil(*command, "--batch", "500")
    assert again.returncode == 0, again.stderr
    assert "in 5 requests: 0 accepted, 2,500 already there" in again.stdout


def test_replay_paces_points_by_their_times_divided_by_the_speed(api):
    """Ten minute points at 60x: one a second, so each goes in a request of its own."""
    frame = seasonal_series(n=10)
    now = [0.0]
    sent_at = []

    done = replay(
        frame,
        series=fresh(),
        url=api,
        token=API_TOKEN,
        speed=60,
        progress=lambda report: sent_at.append(now[0]),
        clock=lambda: now[0],
        sleep=lambda seconds: now.__setitem__(0, now[0] + seconds),
    )

    assert (done.requests, done.accepted) == (10, 10)
    assert [round(at, 6) for at in sent_at] == [float(i) for i in range(10)]


def test_replay_with_a_wrong_token_or_no_server_says_what_to_fix(api, tmp_path):
    recorded = tmp_path / "orders.csv"
    seasonal_series(n=50).to_csv(recorded, index=False)

    refused = vigil("replay", str(recorded), "--series", fresh(), "--url", api, "--token", "nope")
    assert refused.returncode == 2
    assert "refused the token (401)" in refused.stderr
    assert "Traceback" not in refused.stderr

    nobody = vigil(
        "replay", str(recorded), "--series", fresh(), "--url", "http://127.0.0.1:9", "--token", "t"
    )
    assert nobody.returncode == 2
    assert "Cannot reach http://127.0.0.1:9" in nobody.stderr
    assert "Traceback" not in nobody.stderr

    missing = vigil("replay", str(recorded), "--series", fresh(), "--url", api)
    assert missing.returncode == 2
    assert "--token" in missing.stderr


def test_replay_refuses_a_series_name_that_would_break_a_line_before_sending(tmp_path):
    recorded = tmp_path / "orders.csv"
    seasonal_series(n=50).to_csv(recorded, index=False)

    done = vigil(
        "replay",
        str(recorded),
        "--series",
        "orders\u2028eu",
        "--url",
        "http://127.0.0.1:9",
        "--token",
        "t",
    )

    assert done.returncode == 2
    assert "no line break, control character or text-direction character" in done.stderr
    assert "Cannot reach" not in done.stderr
