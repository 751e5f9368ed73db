"""Plain HTTP endpoints beside the Dash pages: the streaming upload, and the links of alert
emails ("not an anomaly", "silence"). An email's link only asks on GET (mail scanners open
links); the change is made by the POST of its page's button."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

import jinja2
from flask import Blueprint, Flask, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from vigil.alerts.compose import LIVE, analyze_url
from vigil.detection.errors import VigilError
from vigil.detection.feedback import MARKED_NORMAL, NORMAL
from vigil.links import MARK_PATH, SILENCE_PATH, read_silence_token, read_token
from vigil.services import dataset_store, feedback_store, live_store, rule_store, settings
from vigil.stores.datasets import NeedsColumns
from vigil.stores.models import model_key
from vigil.web.live_api import json_errors, live_api
from vigil.web.rules_api import rules_api

log = logging.getLogger(__name__)
api = Blueprint("vigil_api", __name__, url_prefix="/api/v1")
json_errors(api)


@api.post("/datasets")
def upload_dataset():
    """Store an uploaded file (multipart field `file`); answer with its id or a message."""
    try:
        upload = request.files.get("file")
    except RequestEntityTooLarge:
        return _too_large()
    if upload is None or not upload.filename:
        return jsonify(error="No file was sent."), 400
    try:
        data = upload.read()
        info, reused = dataset_store().add(data, upload.filename)
    except NeedsColumns as unsure:  # not stored: kept for the user to choose its columns
        return jsonify(error=str(unsure), draft=unsure.draft_id, name=unsure.name), 400
    except VigilError as error:
        return jsonify(error=str(error)), 400
    except MemoryError:
        return jsonify(error="The file is too large for this server's memory."), 413
    except Exception:  # a bug, not the file's fault: say so, keep the details in the log
        log.exception("storing upload %r failed", upload.filename)
        return jsonify(
            error="The server could not store this file; the details are in its log."
        ), 500
    log.info("stored data set %s (%s, reused=%s)", info.id, info.name, reused)
    return jsonify(id=info.id, name=info.name, reused=reused), 200 if reused else 201


feedback = Blueprint("vigil_feedback", __name__)
MARK_PAGE = jinja2.Environment(autoescape=True).from_string(
    """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Vigil</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; margin: 2rem;
max-width: 40rem; color: #212529;">
<h1 style="font-size: 1.3rem;">{{ title }}</h1>
{% if point %}<p>{{ point.series }} at {{ point.timestamp }}: {{ point.value }}</p>{% endif %}
{% if text %}<p>{{ text }}</p>{% endif %}
{% if ask %}<form method="post"><button type="submit" style="font-size: 1rem; padding: .4rem 1rem;">
Mark as not an anomaly</button></form>
<p style="color: #6c757d;">Later runs on this series will not flag it,
and will damp points like it.</p>
{% endif %}
{% if link %}<p><a href="{{ link }}">Open the series in Vigil</a></p>{% endif %}
</body></html>"""
)


@feedback.route(MARK_PATH, methods=["GET", "POST"])
def mark_not_an_anomaly():
    """An alert email's link: GET asks (mail scanners open links), POST marks the point. A
    link works for `MARK_LINK_DAYS`; used again, it changes nothing and says when the point
    was marked."""
    config = settings()
    try:
        point = read_token(model_key(config), request.args.get("token", ""), time.time())
    except VigilError as error:  # changed, made elsewhere, or expired: the page says which
        return MARK_PAGE.render(title=str(error), ask=False), 400
    except ValueError:
        return MARK_PAGE.render(title="This link is not valid.", ask=False), 400
    link = analyze_url(config.public_url, point["dataset"], point["series"])
    kept = feedback_store().mark_of(point["dataset"], point["series"], point["timestamp"])
    if kept is not None and kept["verdict"] == NORMAL:
        return MARK_PAGE.render(
            title="Already marked as not an anomaly.",
            point=point,
            text=f"It was marked on {_when(kept['created'])}; nothing was changed.",
            link=link,
        )
    if request.method == "GET":
        return MARK_PAGE.render(title="Is this not an anomaly?", point=point, ask=True, link=link)
    feedback_store().mark(
        point["dataset"], point["series"], point["timestamp"], NORMAL, point["value"]
    )
    if point["dataset"] == LIVE:  # its stored score too, for the Live page and the API
        live_store().mark_normal(point["series"], point["timestamp"], MARKED_NORMAL)
    log.info("marked %s at %s as not an anomaly", point["series"], point["timestamp"])
    return MARK_PAGE.render(title="Marked as not an anomaly.", point=point, link=link)


def _when(created: str) -> str:
    """When a mark was made (kept as ISO 8601 in UTC), as a person reads it."""
    try:
        return f"{datetime.fromisoformat(created).astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    except ValueError:
        return created


#: The lengths of silence an email's link offers, in hours, and how each is said.
SILENCE_CHOICES = {1: "1 hour", 4: "4 hours", 24: "1 day", 168: "1 week"}
SILENCE_PAGE = jinja2.Environment(autoescape=True).from_string(
    """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Vigil</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; margin: 2rem;
max-width: 40rem; color: #212529;">
<h1 style="font-size: 1.3rem;">{{ title }}</h1>
{% if text %}<p>{{ text }}</p>{% endif %}
{% if choices %}<form method="post">{% for hours, words in choices.items() %}
<button type="submit" name="hours" value="{{ hours }}"
style="font-size: 1rem; padding: .4rem 1rem; margin: 0 .5rem .5rem 0;">{{ words }}</button>
{% endfor %}</form>
<p style="color: #6c757d;">Its episodes are still recorded on the Alerts page; no email is
sent about them until the silence ends.</p>{% endif %}
{% if link %}<p><a href="{{ link }}">Open the Alerts page</a> to end a silence early or to
change the rule.</p>{% endif %}
</body></html>"""
)


@feedback.route(SILENCE_PATH, methods=["GET", "POST"])
def silence_series():
    """An alert email's "Silence" link: GET offers how long, POST silences the series."""
    config = settings()
    link = f"{config.public_url.rstrip('/')}/alerts"
    try:
        rule_id, series = read_silence_token(
            model_key(config), request.args.get("token", ""), time.time()
        )
        rule = rule_store().get(rule_id)
    except VigilError as error:  # changed, made elsewhere, or expired: the page says which
        return SILENCE_PAGE.render(title=str(error), link=link), 400
    except ValueError:
        return SILENCE_PAGE.render(title="This link is not valid.", link=link), 400
    except KeyError:
        title = "This rule no longer exists, so it sends no more emails."
        return SILENCE_PAGE.render(title=title, link=link), 404
    about = f"{series} (rule '{rule.name}')"
    if request.method == "GET":
        return SILENCE_PAGE.render(
            title=f"Silence {series}?",
            text=f"No more emails about {about} for:",
            choices=SILENCE_CHOICES,
            link=link,
        )
    hours = request.form.get("hours", type=int)
    if hours not in SILENCE_CHOICES:
        return SILENCE_PAGE.render(title="Choose how long to silence it.", link=link), 400
    until = datetime.now(UTC) + timedelta(hours=hours)
    rule_store().silence(rule_id, series, until)
    log.info("silenced %s for rule %s for %d h from an email", series, rule_id, hours)
    return SILENCE_PAGE.render(
        title=f"Silenced for {SILENCE_CHOICES[hours]}.",
        text=f"No emails about {about} until {until:%Y-%m-%d %H:%M} UTC.",
        link=link,
    )


def _too_large():
    limit = settings().max_upload_mb
    return jsonify(error=f"The file is over the {limit:g} MB upload limit."), 413


def _no_endpoint(rest: str):
    """404 in JSON for an API address that names no endpoint."""
    return jsonify(error=f"There is no API endpoint at /api/{rest}."), 404


def register(server: Flask) -> None:
    """Attach the endpoints and the request size limit to the app's Flask server."""
    server.config["MAX_CONTENT_LENGTH"] = settings().max_upload_bytes + 1_000_000
    server.register_blueprint(api)
    server.register_blueprint(live_api)
    server.register_blueprint(rules_api)
    # an address under /api/ that names no endpoint gets JSON, not the app's page
    server.add_url_rule(
        "/api/<path:rest>",
        "vigil_api_unknown",
        _no_endpoint,
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
    )
    server.register_blueprint(feedback)
    server.register_error_handler(RequestEntityTooLarge, lambda _error: _too_large())
    server.before_request(_callback_body_checked)


#: What every callback request of Dash's pages carries, and the type it has.
CALLBACK_FIELDS = {"output": str, "outputs": (dict, list), "inputs": list}


def _callback_body_checked():
    """A callback request whose body is not the JSON object Dash's pages send gets a 400 in
    JSON, instead of failing inside Dash with a traceback in the log."""
    if request.path != "/_dash-update-component" or request.method != "POST":
        return None
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not all(
        isinstance(body.get(name), kind) for name, kind in CALLBACK_FIELDS.items()
    ):
        return jsonify(error="A callback request must be Dash's JSON object."), 400
    return None
