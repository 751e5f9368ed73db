"""Times as people and programs write them in links and API calls, and as Vigil writes them back.

Vigil keeps every time as naive UTC. `utc_time` reads any ISO 8601 time (with a zone, an offset
or neither: none means UTC) into that; `iso_utc` writes one back with its zone, so what the API
answers can be sent to it again.
"""

from __future__ import annotations

import pandas as pd


def utc_time(raw: str) -> pd.Timestamp:
    """`raw` (ISO 8601: '2026-11-30T03:30:54Z', '...+01:00', '2026-11-30 03:30') as naive
    UTC; ValueError saying what is wrong when it is not a time."""
    try:
        stamp = pd.Timestamp(str(raw).strip())
    except (ValueError, TypeError, OverflowError):
        raise ValueError(f"{raw!r} is not an ISO 8601 time.") from None
    if pd.isna(stamp):
        raise ValueError(f"{raw!r} is not an ISO 8601 time.")
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp


def iso_utc(stamp: object) -> str | None:
    """A time (naive UTC, or with a zone) as ISO 8601 in UTC with its zone,
    '2026-11-30T03:30:54Z' (with as many decimals as it has); None for a missing time."""
    if stamp is None or pd.isna(stamp):
        return None
    stamp = pd.Timestamp(stamp)
    if stamp.tzinfo:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.isoformat() + "Z"
