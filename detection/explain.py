"""Sentences that say why a point was flagged."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

_DAYS = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")


def number(value: float) -> str:
    """A value as a person would write it: 93.1, 0.0042, 1.2e+07."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "missing"
    magnitude = abs(value)
    if magnitude != 0 and (magnitude >= 1e7 or magnitude < 1e-3):
        return f"{value:.3g}"
    if magnitude >= 100:
        return f"{value:,.1f}"
    return f"{value:.3g}" if magnitude < 1 else f"{value:.2f}".rstrip("0").rstrip(".")


def direction(value: float, expected: float) -> str:
    return "above" if value >= expected else "below"


def season_context(timestamp: pd.Timestamp, period: pd.Timedelta | None) -> str:
    """Where in its season a point falls: 'for Tuesdays 14:00', 'at 14:00', or ''."""
    if period is None:
        return ""
    if period == pd.Timedelta(weeks=1):
        return f" for {_DAYS[timestamp.day_of_week]} {timestamp:%H:%M}"
    if period == pd.Timedelta(days=1):
        return f" at {timestamp:%H:%M}"
    if period == pd.Timedelta(days=365) or period == pd.Timedelta(days=364):
        return f" for {timestamp:%d %B}"
    if period == pd.Timedelta(hours=1):
        return f" at minute {timestamp:%M}"
    return ""


def odds(probability: float) -> str:
    """'1 in 2,300' for a small probability."""
    if probability <= 0:
        return "fewer than 1 in a trillion"
    ratio = 1 / probability
    if ratio >= 1e12:
        return "fewer than 1 in a trillion"
    rounded = float(f"{ratio:.2g}")
    return f"1 in {rounded:,.0f}"


def describe_flagged(flagged: np.ndarray, describe: Callable[[int], str]) -> np.ndarray:
    """One sentence per flagged position (by `describe(position)`), empty elsewhere."""
    sentences = np.full(len(flagged), "", dtype=object)
    for position in np.flatnonzero(flagged):
        sentences[position] = describe(int(position))
    return sentences
