"""A small client of the ingest API, for the demo stream and `vigil replay`."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import pandas as pd

from vigil.detection.errors import VigilError


class ApiError(VigilError):
    """The API refused a request or could not be reached; the message says which and why."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def points_body(timestamps: pd.Series | pd.DatetimeIndex, values: pd.Series | np.ndarray) -> bytes:
    """A request body of points (ISO 8601 times, UTC)."""
    stamps = pd.DatetimeIndex(timestamps).strftime("%Y-%m-%dT%H:%M:%S.%f")
    points = [
        {"timestamp": stamp, "value": float(value)}
        for stamp, value in zip(stamps, values, strict=True)
    ]
    return json.dumps({"points": points}).encode()


def post_points(url: str, token: str, series: str, body: bytes, *, timeout: float = 30) -> dict:
    """POST a body of points to `url`'s API for `series`; the answer, or ApiError."""
    address = f"{url.rstrip('/')}/api/v1/series/{urllib.parse.quote(series, safe='')}/points"
    request = urllib.request.Request(
        address,
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise ApiError(_refusal(error), status=error.code) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        reason = getattr(error, "reason", error)
        raise ApiError(f"Cannot reach {url}: {reason}.") from None


def _refusal(error: urllib.error.HTTPError) -> str:
    try:
        answer = json.loads(error.read())
    except (ValueError, OSError):
        answer = {}
    message = answer.get("error") or error.reason
    reasons = answer.get("reasons") or []
    if error.code == 401:
        return "The API refused the token (401): check --token or VIGIL_API_TOKENS."
    detail = f" ({'; '.join(reasons[:3])})" if reasons else ""
    return f"The API answered {error.code}: {message}{detail}"
