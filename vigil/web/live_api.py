"""The ingest API of live series: points in, series and scores out. Every call needs a bearer
token (`VIGIL_API_TOKENS`, `VIGIL_API_TOKENS_FILE`, or one an admin made) whose scopes allow
it: `ingest` to post points, `read` to read series and scores, `admin` to configure a series
(tokens from the settings have every scope)."""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from flask import Blueprint, Flask, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from vigil.detection.errors import VigilError
from vigil.live.points import (
    EARLIEST,
    LATEST,
    BodyError,
    SeriesBatch,
    TooManyPoints,
    check_series_name,
    read_batch,
    read_many,
)
from vigil.live.status import error_of, learning_left, status_of
from vigil.selectors import Selector, SelectorError
from vigil.services import current, live_store, settings, token_store
from vigil.settings import Settings
from vigil.storage.database import is_disk_full
from vigil.stores.tokens import SCOPE_NOTES, SCOPES
from vigil.times import iso_utc, utc_time
from vigil.usecases.live_series import configure_series, late_window, stale_after

log = logging.getLogger(__name__)
live_api = Blueprint("vigil_live", __name__, url_prefix="/api/v1/series")

#: Flask config key of the live worker, which ingest wakes.
WORKER = "VIGIL_LIVE_WORKER"
#: Most scored points one GET answers with.
MAX_SCORES = 100_000


@live_api.before_request
def authenticate():
    """401 unless the request carries one of the tokens; 403 when its scopes do not allow
    what it asks."""
    return token_refusal(_needed_scope())


def token_refusal(needed: str):
    """None when the request's bearer token has the scope `needed`; else the answer: 401
    without a valid token, 403 naming the scope it lacks."""
    given = request.headers.get("Authorization", "")
    scheme, _, token = given.partition(" ")
    scopes = _scopes_of(token.strip()) if scheme.lower() == "bearer" and token else None
    if scopes is None:
        response = jsonify(error="A valid API token is needed: 'Authorization: Bearer <token>'.")
        response.headers["WWW-Authenticate"] = 'Bearer realm="vigil"'
        return response, 401
    if needed not in scopes:
        return jsonify(
            error=f"This token may not {SCOPE_NOTES[needed]}: that needs the {needed!r} scope, "
            f"and it has {', '.join(scopes)}."
        ), 403
    return None


def request_scopes() -> tuple[str, ...]:
    """The scopes of the request's bearer token; none without a valid one."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return ()
    return _scopes_of(token.strip()) or ()


def _needed_scope() -> str:
    """The scope the request needs: posting points, reading, or changing a series."""
    if request.method in ("GET", "HEAD"):
        return "read"
    path = request.path.rstrip("/")
    if request.method == "POST" and (path.endswith("/points") or path == "/api/v1/series"):
        return "ingest"
    return "admin"


def _scopes_of(token: str) -> tuple[str, ...] | None:
    """What a token may do: every scope for one from the settings or the one the app holds,
    its own for one an admin made and has not revoked; None for any other string."""
    tokens = settings().tokens()
    # compare with every token, in constant time, so timing says nothing of them
    if any([hmac.compare_digest(token.encode(), known.encode()) for known in tokens]):
        return SCOPES
    made = token_store().check(token)
    return None if made is None else made.scopes


@live_api.post("/<path:name>/points", strict_slashes=False)
def add_points(name: str):
    """Store points of a series: 202 with what was accepted, 413 or 422 with why not."""
    try:
        name = check_series_name(name)
    except ValueError as error:
        return jsonify(error=str(error)), 422
    config = settings()
    body, refusal = _json_body(config)
    if refusal is not None:
        return refusal
    try:
        batch = read_batch(body, not_after=_latest_allowed(config))
    except TooManyPoints as error:
        return jsonify(error="The body holds too many points.", reasons=error.reasons), 413
    except BodyError as error:
        return jsonify(error="The body is not a batch of points.", reasons=error.reasons), 422
    if not len(batch.timestamps) and batch.rejected:
        return jsonify(
            error="No point in the body could be read.",
            rejected=batch.rejected,
            reasons=batch.reasons,
        ), 422
    result = live_store().add(name, batch, late_window=late_window(config))
    worker = current_app.config.get(WORKER)
    if worker is not None and result.accepted:
        worker.notify()
    return jsonify(series=name, **result.as_json()), 202


@live_api.post("", strict_slashes=False)
def add_many_points():
    """Store points of many series at once, as a collector sends them: 202 with the totals
    and, for each series with points refused, why; 413 or 422 with why not."""
    config = settings()
    body, refusal = _json_body(config)
    if refusal is not None:
        return refusal
    try:
        parts = read_many(body, not_after=_latest_allowed(config))
    except TooManyPoints as error:
        return jsonify(error="The body holds too much.", reasons=error.reasons), 413
    except BodyError as error:
        return jsonify(error="The body is not points of series.", reasons=error.reasons), 422
    readable = [(part.name, part.batch) for part in parts if part.batch is not None]
    if parts and not any(len(batch.timestamps) or batch.labels for _, batch in readable):
        refused = [_refused_part(part) for part in parts]
        return jsonify(error="No point in the body could be read.", series=refused), 422
    results = dict(
        zip(
            [name for name, _ in readable],
            live_store().add_many(readable, late_window=late_window(config)),
            strict=True,
        )
    )
    answers = []
    for part in parts:
        if part.batch is None:
            answers.append(_refused_part(part))
        elif results[part.name].rejected or results[part.name].reasons:
            answers.append({"series": part.name, **results[part.name].as_json()})
    worker = current_app.config.get(WORKER)
    accepted = sum(result.accepted for result in results.values())
    if worker is not None and accepted:
        worker.notify()
    return jsonify(
        accepted=accepted,
        duplicates=sum(result.duplicates for result in results.values()),
        rejected=sum(result.rejected for result in results.values())
        + sum(1 for part in parts if part.batch is None),
        series=answers,
    ), 202


def _refused_part(part: SeriesBatch) -> dict:
    """A series of a request of many as the answer names it when its points were refused."""
    if part.batch is None:
        return {"series": part.name, "accepted": 0, "rejected": 1, "reasons": [part.problem]}
    return {
        "series": part.name,
        "accepted": 0,
        "rejected": part.batch.rejected,
        "reasons": part.batch.reasons,
    }


def _json_body(config: Settings) -> tuple[Any, Any]:
    """The request's JSON body, or the answer that says why it cannot be read (413 past
    VIGIL_MAX_REQUEST_MB, 422 when it is not JSON)."""
    limit = int(config.max_request_mb * 1_000_000)
    if (request.content_length or 0) > limit:
        return None, _too_large(limit)
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        return None, _too_large(limit)
    try:
        return json.loads(raw, parse_int=_whole_number), None
    except (ValueError, UnicodeDecodeError) as error:  # JSONDecodeError is a ValueError
        return None, (jsonify(error="The body is not JSON.", reasons=[str(error)]), 422)
    except RecursionError:
        return None, (
            jsonify(error="The body is not JSON that can be read: it nests too deeply."),
            422,
        )


def _whole_number(text: str) -> int | float:
    """A JSON integer: as a float past 300 digits (infinite past a float's range, and so
    refused as a value), so that no integer is too long for Python to read."""
    return int(text) if len(text) <= 300 else float(text)


def _latest_allowed(config: Settings) -> pd.Timestamp:
    """The latest time a point may have: VIGIL_LIVE_MAX_AHEAD_MINUTES past the clock (UTC)."""
    now = pd.Timestamp(time.time(), unit="s")
    return now + pd.Timedelta(minutes=config.live_max_ahead_minutes)


def _too_large(limit: int):
    return jsonify(error=f"The body is over the {limit / 1e6:g} MB request limit."), 413


@live_api.get("", strict_slashes=False)
def list_series():
    """Every live series with its settings, labels, latest point, episodes and status; with
    `?select=`, those a selector selects (`vigil.selectors`: `api-* env=prod`), 422 with why
    when it cannot be read."""
    try:
        selector = Selector.parse(request.args.get("select"))
    except SelectorError as error:
        return jsonify(error=str(error)), 422
    config = settings()
    summary = live_store().summary()
    now = time.time()
    return jsonify(
        series=[
            _described(row, now, config)
            for _, row in summary.iterrows()
            if selector.selects(row["name"], row["labels"])
        ]
    )


@live_api.get("/<path:name>", strict_slashes=False)
def one_series(name: str):
    """One live series as the list describes it; 404 when there is none of that name."""
    config = settings()
    summary = live_store().summary(name=name)
    if summary.empty:
        return jsonify(error=f"There is no live series called {name!r}."), 404
    return jsonify(_described(summary.iloc[0], time.time(), config))


def _described(row: pd.Series, now: float, config: Settings) -> dict:
    """A series' summary row as the API gives it.

    `episodes_last_hour` counts episodes (runs of flagged points) with a flagged point in the
    hour before the series' latest point, `anomalies_last_hour` the flagged points. `open_episode`
    is the episode that may still go on (the last flagged point is within a few points of the
    latest), or null. While the series learns (`status` "learning"), `learning_left_points`
    says how many points are still to come and `learning_until` about when, on the series'
    own clock; `learning_left_points` is 0 once it can be flagged, null until scored."""
    learning = learning_left(row)
    left = row["learning_left"]
    return {
        "name": row["name"],
        "labels": row["labels"],
        "detector": row["detector"],
        "model": row["model"],
        "points": int(row["points"]),
        "first": iso_utc(row["first"]),
        "last": iso_utc(row["last"]),
        "last_value": _number(row["last_value"]),
        "episodes_last_hour": int(row["recent_episodes"]),
        "anomalies_last_hour": int(row["recent_anomalies"]),
        "open_episode": _open_episode(row),
        "status": status_of(row, now=now, stale_after=stale_after(config)),
        "learning_left_points": None if pd.isna(left) else max(0, int(left)),
        "learning_until": None if learning is None else iso_utc(learning.until),
        "error": error_of(row),
    }


def _open_episode(row: pd.Series) -> dict | None:
    if not row["open"] or pd.isna(row["open_since"]):
        return None
    return {
        "since": iso_utc(row["open_since"]),
        "points": int(row["open_points"]),
        "peak": {
            "timestamp": iso_utc(row["open_peak_time"]),
            "value": _number(row["open_peak_value"]),
            "expected": _number(row["open_peak_expected"]),
            "severity": _number(row["open_peak_severity"]),
            "explanation": row["open_peak_explanation"],
        },
    }


@live_api.get("/<path:name>/scores", strict_slashes=False)
def series_scores(name: str):
    """A series' points after `since` (ISO 8601; all when absent), oldest first, with their
    scores and episodes (`episode`, null where not flagged; `onset`, true at an episode's
    first point): at most `limit` (default and most 100,000); `next` says where to go on from."""
    store = live_store()
    if store.get(name) is None:
        return jsonify(error=f"There is no live series called {name!r}."), 404
    try:
        since = _time(request.args.get("since"))
        limit = int(request.args.get("limit", MAX_SCORES))
    except ValueError as error:
        return jsonify(error=str(error)), 422
    if not 1 <= limit <= MAX_SCORES:
        return jsonify(error=f"limit must be between 1 and {MAX_SCORES:,}."), 422
    frame = store.scores(name, since=since, limit=limit)
    rows: Iterable[Any] = frame.itertuples(index=False)  # values as the store gives them
    points = [
        {
            "timestamp": iso_utc(row.timestamp),
            "value": row.value,
            "scored": not pd.isna(row.scored),
            "severity": _number(row.severity),
            "is_anomaly": bool(row.is_anomaly),
            "expected": _number(row.expected),
            "lower": _number(row.lower),
            "upper": _number(row.upper),
            "explanation": row.explanation,
            "episode": None if pd.isna(row.episode) else int(row.episode),
            "onset": bool(row.onset),
        }
        for row in rows
    ]
    following = points[-1]["timestamp"] if len(points) == limit else None
    return jsonify(series=name, points=points, next=following)


@live_api.put("/<path:name>", strict_slashes=False)
def put_series(name: str):
    """Set how a series is scored: `{"detector": NAME, "params": {...}}` or
    `{"model": ID}`; its points are scored afresh."""
    try:
        name = check_series_name(name)
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict):
            raise ValueError('The body must be a JSON object with "detector" or "model".')
        series = configure_series(
            current(),
            name,
            detector=body.get("detector", "auto"),
            params=body.get("params"),
            model=body.get("model"),
        )
    except (ValueError, VigilError) as error:
        return jsonify(error=str(error)), 422
    return jsonify(
        name=series.name, detector=series.detector, params=series.params, model=series.model
    )


@live_api.delete("/<path:name>/points", strict_slashes=False)
def delete_points(name: str):
    """Delete a series' points from `from` up to (not including) `to` (ISO 8601, both
    needed), with their scores and episodes: `{"deleted": N}`. It needs the token's `admin`
    scope (checked for every request before it gets here)."""
    try:
        start = _time(request.args.get("from"), "from")
        end = _time(request.args.get("to"), "to")
    except ValueError as error:
        return jsonify(error=str(error)), 422
    if start is None or end is None or not start < end:
        return jsonify(error="Give from=TIME&to=TIME (ISO 8601), from before to."), 422
    deleted = live_store().delete_points(name, start, end)
    if deleted is None:
        return jsonify(error=f"There is no live series called {name!r}."), 404
    log.info("deleted %d points of live series %r from %s to %s", deleted, name, start, end)
    worker = current_app.config.get(WORKER)
    if worker is not None and deleted:
        worker.notify()
    return jsonify(series=name, deleted=deleted, **{"from": iso_utc(start), "to": iso_utc(end)})


def _time(raw: str | None, name: str = "since") -> pd.Timestamp | None:
    if not raw:
        return None
    try:
        stamp = utc_time(raw)
    except ValueError:
        raise ValueError(f"{name}={_short(raw)} is not an ISO 8601 time.") from None
    if not EARLIEST <= stamp <= LATEST:
        raise ValueError(f"{name}={_short(raw)} is not between 1970 and 2200.")
    return stamp


def _short(raw: object) -> str:
    text = repr(raw)
    return text if len(text) <= 40 else text[:37] + "..."


def json_errors(blueprint: Blueprint) -> None:
    """Every error of `blueprint`'s endpoints answers JSON: an HTTP error its own status, a
    full disk 507 (nothing of the request was stored), anything else 500 with its traceback
    in the log."""
    blueprint.register_error_handler(Exception, _json_error)


def _json_error(error: Exception):
    if isinstance(error, HTTPException):
        return jsonify(error=error.description or error.name), error.code or 500
    if is_disk_full(error):
        log.error("%s %s: the database's disk is full", request.method, request.path)
        return jsonify(
            error="The server's disk is full: nothing of this request was stored. Try again "
            "once space is freed."
        ), 507
    log.error("%s %s failed", request.method, request.path, exc_info=error)
    return jsonify(error="The server failed on this request; its log says why."), 500


def _number(value) -> float | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return float(value)


json_errors(live_api)


def attach_worker(server: Flask, worker) -> None:
    """Let ingest wake the worker as soon as points are stored."""
    server.config[WORKER] = worker
