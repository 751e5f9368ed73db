"""Replaying a recorded series into the ingest API, as fast as it can or at a set speed."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from vigil.client.api import points_body, post_points
from vigil.live.points import MAX_POINTS


@dataclass
class Replayed:
    """What a replay sent and what the API made of it."""

    sent: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    requests: int = 0


def parse_speed(text: str) -> float | None:
    """'60x' (or '60') -> 60.0; 'max' -> None (as fast as the API takes it)."""
    cleaned = text.strip().lower()
    if cleaned in ("max", "fast", ""):
        return None
    cleaned = cleaned.removesuffix("x")
    try:
        speed = float(cleaned)
    except ValueError:
        raise ValueError(f"--speed takes a factor like 60x, or max; not {text!r}.") from None
    if not speed > 0:
        raise ValueError(f"--speed must be above 0, not {text!r}.")
    return speed


def replay(
    frame: pd.DataFrame,
    *,
    series: str,
    url: str,
    token: str,
    speed: float | None,
    batch: int = 1000,
    progress: Callable[[Replayed], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Replayed:
    """Send a `timestamp`/`value` frame's points (sorted, values present) to the API.

    With `speed`, a point goes when as much time has passed, divided by `speed`, as passed in
    the data since the first point: 60 replays an hour in a minute. Points due together go in
    one request of at most `batch` points.
    """
    batch = max(1, min(batch, MAX_POINTS))
    frame = frame.dropna(subset=["value"]).reset_index(drop=True)
    report = Replayed()
    if frame.empty:
        return report
    offsets = (frame["timestamp"] - frame["timestamp"].iloc[0]).dt.total_seconds().to_numpy()
    started = clock()
    start = 0
    while start < len(frame):
        end = min(start + batch, len(frame))
        if speed is not None:
            wait = offsets[start] / speed - (clock() - started)
            if wait > 0:
                sleep(wait)
            elapsed = (clock() - started) * speed
            due = int(offsets.searchsorted(elapsed, side="right"))
            end = min(max(due, start + 1), start + batch)
        part = frame.iloc[start:end]
        answer = post_points(url, token, series, points_body(part["timestamp"], part["value"]))
        report.sent += len(part)
        report.requests += 1
        report.accepted += answer.get("accepted", 0)
        report.duplicates += answer.get("duplicates", 0)
        report.rejected += answer.get("rejected", 0)
        if progress is not None:
            progress(report)
        start = end
    return report
