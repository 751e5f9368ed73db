"""Labels on live series over real HTTP: sent with points, kept with the series, shown by the
API and selected by; labels that break a limit are refused with every reason, and nothing of
the request is kept."""

from __future__ import annotations

import urllib.parse
import uuid

from tests.live.test_api import call, post

POINT = [{"timestamp": "2026-01-01T00:00:00", "value": 1}]


def fresh() -> str:
    return f"lab_{uuid.uuid4().hex[:8]}"


def series(api, name):
    status, answer = call(f"{api}/api/v1/series/{name}")
    assert status == 200, answer
    return answer


def test_labels_sent_with_points_are_kept_replaced_and_selected_by(api):
    web, db = fresh(), fresh()

    assert post(api, web, {"labels": {"service": "web", "env": "prod"}, "points": POINT})[0] == 202
    assert post(api, db, {"labels": {"service": "db", "env": "dev"}, "points": POINT})[0] == 202

    assert series(api, web)["labels"] == {"env": "prod", "service": "web"}
    # a request without labels leaves them; one with labels replaces them
    later = [{"timestamp": "2026-01-01T00:01:00", "value": 2}]
    assert post(api, web, {"points": later})[0] == 202
    assert series(api, web)["labels"] == {"env": "prod", "service": "web"}
    assert post(api, db, {"labels": {"env": "prod"}, "points": later})[0] == 202
    assert series(api, db)["labels"] == {"env": "prod"}

    def selected(text: str) -> set[str]:
        query = urllib.parse.urlencode({"select": text})
        status, answer = call(f"{api}/api/v1/series?{query}")
        assert status == 200, answer
        return {s["name"] for s in answer["series"]} & {web, db}

    assert selected("env=prod") == {web, db}
    assert selected("env=prod service=web") == {web}
    assert selected("service!=web") == {db}
    assert selected(f"{web[:6]}* service=~w.*") == {web}
    status, answer = call(f"{api}/api/v1/series?select=" + urllib.parse.quote("env=~("))
    assert status == 422
    assert answer["error"].startswith("env=~(: not a regular expression")


def test_labels_that_break_a_limit_are_refused_and_no_point_is_kept(api):
    name = fresh()
    body = {
        "labels": {
            "host": "h" * 201,
            "9lives": "x",
            "__name__": "cpu",
            "port": 8080,
        },
        "points": POINT,
    }

    status, answer = post(api, name, body)

    assert status == 422
    assert answer["reasons"] == [
        "label 'host': a value is at most 200 characters long, not 201.",
        "label '9lives': a name is letters, digits and underscores, not starting with a digit.",
        "label '__name__': names starting with __ are kept for Vigil.",
        "label 'port': its value must be text, not 8080.",
    ]
    assert call(f"{api}/api/v1/series/{name}")[0] == 404  # nothing was kept

    many = {f"l{i}": "v" for i in range(21)}
    status, answer = post(api, name, {"labels": many, "points": POINT})
    assert status == 422
    assert answer["reasons"] == ["At most 20 labels a series, not 21."]
