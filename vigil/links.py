"""Signed links in alert emails: "this is not an anomaly", usable without logging in.

A token carries the data set, series, timestamp and value of one point, and an HMAC-SHA256
signature with a key derived from the installation's key for this purpose only, so nobody can
make a token for a point Vigil did not email about.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import urlencode

import pandas as pd

from detection.errors import DataError

PURPOSE = b"vigil feedback links"
MARK_PATH = "/feedback/mark"


def _key(secret: bytes) -> bytes:
    return hmac.new(secret, PURPOSE, hashlib.sha256).digest()


def make_token(secret: bytes, dataset: str, series: str, timestamp: object, value: float) -> str:
    payload = {"d": dataset, "s": series, "t": pd.Timestamp(timestamp).isoformat(), "v": value}
    body = base64.urlsafe_b64encode(json.dumps(payload, sort_keys=True).encode()).decode()
    signature = hmac.new(_key(secret), body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{signature}"


def read_token(secret: bytes, token: str) -> dict:
    """The point a token names, or a DataError when it was not made by this installation."""
    body, _, signature = (token or "").partition(".")
    expected = hmac.new(_key(secret), body.encode(), hashlib.sha256).hexdigest()
    if not body or not hmac.compare_digest(signature, expected):
        raise DataError("This link is not valid: it was changed or not made by this Vigil.")
    payload = json.loads(base64.urlsafe_b64decode(body.encode()))
    return {
        "dataset": payload["d"],
        "series": payload["s"],
        "timestamp": pd.Timestamp(payload["t"]),
        "value": payload["v"],
    }


def mark_url(public_url: str, secret: bytes, dataset: str, series: str, point) -> str:
    token = make_token(secret, dataset, series, point.timestamp, point.value)
    return f"{public_url.rstrip('/')}{MARK_PATH}?{urlencode({'token': token})}"
