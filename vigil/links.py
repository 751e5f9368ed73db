"""Signed links in alert emails, usable without logging in: "this is not an anomaly", and
"silence this series".

A mark token carries the data set, series, timestamp and value of one point; a silence token
the rule and series an email was about; both say until when the link works. Each carries an
HMAC-SHA256 signature with a key derived from the installation's key for its purpose only, so
nobody can make a token for a point or a series Vigil did not email about, nor use one kind of
link as the other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

import pandas as pd

from vigil.detection.errors import DataError
from vigil.detection.zones import TimeLike
from vigil.keys import MIN_KEY_BYTES

PURPOSE = b"vigil feedback links"
SILENCE_PURPOSE = b"vigil silence links"
MARK_PATH = "/feedback/mark"
SILENCE_PATH = "/feedback/silence"
#: How long an email's silence link works.
SILENCE_LINK_DAYS = 7
#: How long an email's "not an anomaly" link works.
MARK_LINK_DAYS = 30
_NOT_VALID = "This link is not valid: it was changed or not made by this Vigil."


def _key(secret: bytes, purpose: bytes = PURPOSE) -> bytes:
    if len(secret) < MIN_KEY_BYTES:  # settings refuse such keys: this is the last guard
        raise DataError(_NOT_VALID)
    return hmac.new(secret, purpose, hashlib.sha256).digest()


def _sign(secret: bytes, purpose: bytes, payload: dict) -> str:
    body = base64.urlsafe_b64encode(json.dumps(payload, sort_keys=True).encode()).decode()
    signature = hmac.new(_key(secret, purpose), body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{signature}"


def _unsign(secret: bytes, purpose: bytes, token: str) -> dict:
    body, _, signature = (token or "").partition(".")
    expected = hmac.new(_key(secret, purpose), body.encode(), hashlib.sha256).hexdigest()
    if not body or not hmac.compare_digest(signature, expected):
        raise DataError(_NOT_VALID)
    return json.loads(base64.urlsafe_b64decode(body.encode()))


def _expires(now: float, days: int) -> int:
    return round(now + days * 24 * 3600)


def make_token(
    secret: bytes, dataset: str, series: str, timestamp: TimeLike, value: float, now: float
) -> str:
    """A "not an anomaly" token for one point, working for `MARK_LINK_DAYS` from `now`."""
    payload = {
        "d": dataset,
        "s": series,
        "t": pd.Timestamp(timestamp).isoformat(),
        "v": value,
        "e": _expires(now, MARK_LINK_DAYS),
    }
    return _sign(secret, PURPOSE, payload)


def read_token(secret: bytes, token: str, now: float) -> dict:
    """The point a token names; a DataError when it was not made by this installation, or is
    older than `MARK_LINK_DAYS` (or from before links had an end)."""
    payload = _unsign(secret, PURPOSE, token)
    if now > payload.get("e", 0):
        raise DataError(
            "This link has expired; mark the point on the Analyze or Live page instead."
        )
    return {
        "dataset": payload["d"],
        "series": payload["s"],
        "timestamp": pd.Timestamp(payload["t"]),
        "value": payload["v"],
    }


def mark_url(
    public_url: str, secret: bytes, dataset: str, series: str, point, now: float | None = None
) -> str:
    """The "not an anomaly" link of `point`, working for `MARK_LINK_DAYS` from `now` (seconds
    since the epoch; default the clock)."""
    moment = time.time() if now is None else now
    token = make_token(secret, dataset, series, point.timestamp, point.value, moment)
    return f"{public_url.rstrip('/')}{MARK_PATH}?{urlencode({'token': token})}"


def silence_url(public_url: str, secret: bytes, rule_id: int, series: str, now: float) -> str:
    """The link that silences `series` for rule `rule_id`, working for `SILENCE_LINK_DAYS`
    from `now` (seconds since the epoch)."""
    expires = _expires(now, SILENCE_LINK_DAYS)
    token = _sign(secret, SILENCE_PURPOSE, {"r": rule_id, "s": series, "e": expires})
    return f"{public_url.rstrip('/')}{SILENCE_PATH}?{urlencode({'token': token})}"


def read_silence_token(secret: bytes, token: str, now: float) -> tuple[int, str]:
    """The rule id and series a silence link names; a DataError when the link was not made by
    this installation or is older than `SILENCE_LINK_DAYS`."""
    payload = _unsign(secret, SILENCE_PURPOSE, token)
    if now > payload["e"]:
        raise DataError("This silence link has expired; silence the series on the Alerts page.")
    return int(payload["r"]), str(payload["s"])
