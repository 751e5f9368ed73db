"""Alert rules and silences over HTTP: `/api/v1/rules` and `/api/v1/silences`.

Reading needs a token with the `read` scope, any change one with `admin`. A rule is sent and
answered in the shape a rules file writes it (`alerts.rulebook`), with its `id` and `source`;
it is checked as a file's rule is, and a 422 names every problem. A webhook's whole address
is answered to admin-scoped tokens only. A rule that came from a
rules file is changed by changing the file: the API answers 409 to changing or deleting it.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, jsonify, request

from vigil.alerts.rulebook import FROM_FILE, RulebookError, read_rule, rule_values
from vigil.alerts.rules import Rule
from vigil.services import rule_store
from vigil.web.live_api import json_errors, request_scopes, token_refusal

rules_api = Blueprint("vigil_rules", __name__, url_prefix="/api/v1")

#: Largest body a rule or silence is sent in.
MAX_BODY = 100_000
#: Longest silence over the API.
MAX_SILENCE = timedelta(days=365)


@rules_api.before_request
def authenticate():
    return token_refusal("read" if request.method in ("GET", "HEAD") else "admin")


def described(rule: Rule) -> dict:
    """A rule as the API answers it: as a file writes it, with its id and where it came from.
    Its webhooks' paths (often their passwords) only go to an admin-scoped token; others see
    each address's scheme and host."""
    values = rule_values(rule)
    if rule.webhooks and "admin" not in request_scopes():
        values["webhooks"] = [{"url": hook.shown, "format": hook.format} for hook in rule.webhooks]
    return {"id": rule.id, "source": rule.source or "api", **values}


@rules_api.get("/rules")
def list_rules():
    return jsonify(rules=[described(rule) for rule in rule_store().rules()])


@rules_api.get("/rules/<int:rule_id>")
def one_rule(rule_id: int):
    rule = _rule_or_none(rule_id)
    if rule is None:
        return _no_rule(rule_id)
    return jsonify(described(rule))


@rules_api.post("/rules")
def add_rule():
    rule, refusal = _rule_in_body()
    if rule is None:
        return refusal
    saved = rule_store().save(rule)
    return jsonify(described(saved)), 201


@rules_api.put("/rules/<int:rule_id>")
def change_rule(rule_id: int):
    found = _rule_or_none(rule_id)
    if found is None:
        return _no_rule(rule_id)
    if found.source == FROM_FILE:
        return _from_file(found)
    rule, refusal = _rule_in_body(rule_id)
    if rule is None:
        return refusal
    saved = rule_store().save(
        replace(rule, id=rule_id, created=found.created, silenced_until=found.silenced_until)
    )
    return jsonify(described(saved))


@rules_api.delete("/rules/<int:rule_id>")
def delete_rule(rule_id: int):
    found = _rule_or_none(rule_id)
    if found is None:
        return _no_rule(rule_id)
    if found.source == FROM_FILE:
        return _from_file(found)
    rule_store().delete(rule_id)
    return "", 204


@rules_api.get("/silences")
def list_silences():
    """The silences still to end: rule (id and name), series, until (UTC)."""
    names = {rule.id: rule.name for rule in rule_store().rules()}
    now = datetime.now(UTC)
    return jsonify(
        silences=[
            {
                "rule_id": rule_id,
                "rule": names[rule_id],
                "series": series,
                "until": until.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            }
            for (rule_id, series), until in sorted(rule_store().silences().items())
            if rule_id in names and until > now
        ]
    )


@rules_api.post("/silences")
def add_silence():
    """Mute a series of a rule: `{"rule": ID or name, "series": NAME, "until": TIME}` (or
    `"hours"` instead of `until`)."""
    body, refusal = _body()
    if refusal is not None:
        return refusal
    problems = []
    rule = _named_rule(body.get("rule"))
    if rule is None:
        problems.append(f"rule: there is no rule {body.get('rule')!r} (give its id or name).")
    series = body.get("series")
    if not isinstance(series, str) or not series.strip() or len(series) > 1_000:
        problems.append("series: give the series' name (at most 1,000 characters).")
    until = _until(body, problems)
    if problems or rule is None or until is None:
        return jsonify(error="The silence cannot be kept.", reasons=problems), 422
    assert rule.id is not None  # a stored rule
    rule_store().silence(rule.id, series.strip(), until)
    shown = until.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return jsonify(rule_id=rule.id, rule=rule.name, series=series.strip(), until=shown), 201


@rules_api.delete("/silences")
def delete_silence():
    """End a silence: `?rule=ID or name&series=NAME`."""
    rule = _named_rule(request.args.get("rule"))
    series = request.args.get("series", "")
    if rule is None or rule.id is None or not rule_store().unsilence(rule.id, series):
        return jsonify(error="There is no such silence (give ?rule=ID or name&series=NAME)."), 404
    return "", 204


def _until(body: dict, problems: list[str]) -> datetime | None:
    now = datetime.now(UTC)
    if "hours" in body:
        hours = body["hours"]
        if isinstance(hours, bool) or not isinstance(hours, int | float) or not 0 < hours <= 8760:
            problems.append("hours: a number of hours from 0 to 8,760 (a year).")
            return None
        return now + timedelta(hours=float(hours))
    raw = body.get("until")
    try:
        until = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        problems.append(f"until: {str(raw)[:40]!r} is not an ISO 8601 time (or give hours).")
        return None
    if until.tzinfo is None:
        problems.append("until: give its zone (Z for UTC, or an offset).")
        return None
    if not now < until <= now + MAX_SILENCE:
        problems.append("until: a time to come, within a year.")
        return None
    return until


def _rule_in_body(rule_id: int | None = None) -> tuple[Rule | None, Any]:
    """The rule the request's body holds (to be rule `rule_id`, None for a new one), or the
    answer refusing it: 413 or 422 for a body that cannot be read, 422 with every reason the
    rule cannot be kept, 409 when another rule has its name."""
    body, refusal = _body()
    if refusal is not None:
        return None, refusal
    try:
        rule = read_rule(body)
    except RulebookError as error:
        return None, (jsonify(error="The rule cannot be kept.", reasons=error.problems), 422)
    if any(other.name == rule.name and other.id != rule_id for other in rule_store().rules()):
        return None, (jsonify(error=f"There is a rule called {rule.name!r} already."), 409)
    return rule, None


def _named_rule(given: object) -> Rule | None:
    for rule in rule_store().rules():
        if str(rule.id) == str(given) or rule.name == given:
            return rule
    return None


def _rule_or_none(rule_id: int) -> Rule | None:
    return next((rule for rule in rule_store().rules() if rule.id == rule_id), None)


def _no_rule(rule_id: int):
    return jsonify(error=f"There is no rule {rule_id}."), 404


def _from_file(rule: Rule):
    return jsonify(
        error=f"The rule {rule.name!r} comes from a rules file: change the file and apply it "
        "(vigil rules apply FILE)."
    ), 409


def _body() -> tuple[dict, tuple | None]:
    """The request's JSON object, or the answer that says why there is none."""
    if (request.content_length or 0) > MAX_BODY:
        return {}, (jsonify(error=f"The body is over {MAX_BODY:,} bytes."), 413)
    raw = request.stream.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        return {}, (jsonify(error=f"The body is over {MAX_BODY:,} bytes."), 413)
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return {}, (jsonify(error="The body is not JSON."), 422)
    if not isinstance(body, dict):
        return {}, (jsonify(error="The body must be a JSON object."), 422)
    return body, None


json_errors(rules_api)
