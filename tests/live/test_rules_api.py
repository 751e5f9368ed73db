"""Alert rules and silences over real HTTP: read with a `read` token, changed only with an
`admin` one, checked as a rules file's are, and a rule from a file changed only by its file."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace

from tests.live.test_api import call
from vigil.alerts.rulebook import FROM_FILE, read_rule
from vigil.services import rule_store, token_store


def send(url, method, body, **options):
    return call(url, method, json.dumps(body).encode(), **options)


def test_rules_are_made_read_changed_and_deleted_with_the_scopes_they_need(api):
    name = f"api rule {uuid.uuid4().hex[:6]}"
    _, reader = token_store().create("dashboard", "ada", scopes=["read"])
    _, ingest = token_store().create("collector", "ada", scopes=["ingest"])
    body = {
        "name": name,
        "series": "checkout-*",
        "labels": ["env=prod"],
        "recipients": ["ops@example.com"],
        "min_severity": 0.95,
    }

    assert send(f"{api}/api/v1/rules", "POST", body, token=reader)[0] == 403
    assert send(f"{api}/api/v1/rules", "POST", body, token=ingest)[0] == 403
    assert call(f"{api}/api/v1/rules", token=ingest)[0] == 403
    status, made = send(f"{api}/api/v1/rules", "POST", body)

    assert status == 201
    assert made == {"id": made["id"], "source": "api", **body}
    assert send(f"{api}/api/v1/rules", "POST", body)[0] == 409  # the name is taken
    status, listed = call(f"{api}/api/v1/rules", token=reader)
    assert status == 200
    assert made in listed["rules"]

    changed = {**body, "min_severity": 0.99, "direction": "above"}
    status, answer = send(f"{api}/api/v1/rules/{made['id']}", "PUT", changed)
    assert status == 200
    assert (answer["min_severity"], answer["direction"]) == (0.99, "above")
    assert call(f"{api}/api/v1/rules/{made['id']}", "DELETE", token=reader)[0] == 403
    assert call(f"{api}/api/v1/rules/{made['id']}", "DELETE")[0] == 204
    assert call(f"{api}/api/v1/rules/{made['id']}")[0] == 404


def test_a_rule_that_breaks_a_limit_is_refused_with_each_reason(api):
    status, answer = send(
        f"{api}/api/v1/rules",
        "POST",
        {"name": "x", "recipients": [], "labels": ["env=~("], "min_severity": 2, "color": "red"},
    )

    assert status == 422
    assert answer["reasons"] == [
        "the rule: a rule: unknown field 'color'; the fields are name, series, labels, "
        "recipients, webhooks, min_severity, direction, detector, dataset, group_minutes, "
        "resolve_minutes, daily_budget, paused.",
        "the rule: rule 'x': labels: env=~(: not a regular expression (missing ), unterminated "
        "subpattern at position 0).",
        "the rule: rule 'x': give at least one recipient or webhook.",
        "the rule: rule 'x': min_severity must be from 0 to 1, not 2.",
    ]
    assert send(f"{api}/api/v1/rules", "POST", [1, 2])[0] == 422
    assert call(f"{api}/api/v1/rules", "POST", b"x" * 100_001)[0] == 413


def test_a_rule_from_a_file_is_changed_by_its_file_and_silences_come_and_go(api):
    name = f"file rule {uuid.uuid4().hex[:6]}"
    rule = rule_store().save(
        replace(read_rule({"name": name, "recipients": ["a@example.com"]}), source=FROM_FILE)
    )

    status, answer = send(
        f"{api}/api/v1/rules/{rule.id}", "PUT", {"name": name, "recipients": ["b@example.com"]}
    )
    assert status == 409
    assert "comes from a rules file" in answer["error"]
    assert call(f"{api}/api/v1/rules/{rule.id}", "DELETE")[0] == 409
    assert call(f"{api}/api/v1/rules/{rule.id}")[1]["source"] == "file"

    status, silence = send(
        f"{api}/api/v1/silences", "POST", {"rule": name, "series": "cpu", "hours": 2}
    )
    assert status == 201
    assert silence["rule_id"] == rule.id
    listed = call(f"{api}/api/v1/silences")[1]["silences"]
    assert {"rule_id": rule.id, "rule": name, "series": "cpu", "until": silence["until"]} in listed
    refused = send(
        f"{api}/api/v1/silences", "POST", {"rule": "nobody", "series": "", "until": "soon"}
    )
    assert refused[0] == 422
    assert refused[1]["reasons"] == [
        "rule: there is no rule 'nobody' (give its id or name).",
        "series: give the series' name (at most 1,000 characters).",
        "until: 'soon' is not an ISO 8601 time (or give hours).",
    ]
    gone = call(f"{api}/api/v1/silences?rule={rule.id}&series=cpu", "DELETE")
    assert gone[0] == 204
    assert call(f"{api}/api/v1/silences?rule={rule.id}&series=cpu", "DELETE")[0] == 404


def test_a_webhooks_whole_address_goes_to_admin_tokens_only(api):
    name = f"hooked {uuid.uuid4().hex[:6]}"
    _, reader = token_store().create("dashboard", "ada", scopes=["read"])
    secret_path = "https://hooks.slack.com/services/T000/B000/c0ffee5ecret"
    body = {
        "name": name,
        "series": "checkout-*",
        "recipients": [],
        "webhooks": ["https://hooks.example.org/vigil", {"url": secret_path, "format": "slack"}],
    }

    status, made = send(f"{api}/api/v1/rules", "POST", body)
    assert status == 201, made
    assert made["webhooks"] == body["webhooks"]
    status, seen = call(f"{api}/api/v1/rules/{made['id']}", token=reader)
    assert status == 200
    assert seen["webhooks"] == [
        {"url": "https://hooks.example.org/…", "format": "json"},
        {"url": "https://hooks.slack.com/…", "format": "slack"},
    ]
    assert "c0ffee5ecret" not in json.dumps(call(f"{api}/api/v1/rules", token=reader)[1])
    bad = {**body, "name": name + " 2", "webhooks": ["file:///etc/passwd", "https://a b"]}
    status, refused = send(f"{api}/api/v1/rules", "POST", bad)
    assert status == 422
    assert refused["reasons"] == [
        f"the rule: rule '{name} 2': webhooks: 'file:///…' is not an http or https address "
        "(its scheme is file).",
        f"the rule: rule '{name} 2': webhooks: a webhook address has no spaces.",
    ]
    assert call(f"{api}/api/v1/rules/{made['id']}", "DELETE")[0] == 204
