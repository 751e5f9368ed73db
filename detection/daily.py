"""The daily view of a series: each point against the same time on the previous days.

A series that repeats every day (traffic, load, a machine's daily cycle) can go wrong without
leaving its usual range: a peak that does not come, a flat stretch where it should rise. Its
value then looks ordinary, but its departure from the same time on the previous CYCLES days
does not. `daily_mode` says, block by block from the history before each block only, whether
a series repeats daily closely enough for that departure to be the better judge.

Everything here is causal and laid on the series' row numbers, so a stream that keeps the
last `DAILY_CONTEXT` rows computes exactly what the whole series would.
"""

from __future__ import annotations

import bottleneck as bn
import numpy as np
import pandas as pd

from detection.rarity import BLOCK, block_size

#: Days of the same time the expected value is the median of.
CYCLES = 3
#: A series is judged against its daily cycle when its typical departure from the same time on
#: the previous days is under this share of its typical departure from its median (measured on
#: real labelled series: clearly daily series sit near 0.1, everything else above 0.4).
DAILY = 0.35
#: The most rows a day may hold (a point every 86.4 s or slower): a week of them must fit in
#: the history a decision reads (`auto` keeps 8,000 points), and a finer series is judged
#: without its daily cycle.
MAX_DAY_ROWS = 1000
#: A decision reads every SAMPLE-th row of its history (on the series' row numbers): the
#: ratio it compares is a coarse one, and the medians cost less.
SAMPLE = 4
#: Days of departures a decision needs: a week, so that a weekly rhythm (quiet weekends)
#: is part of what it judges and is not taken for a broken daily cycle.
DAYS_TO_DECIDE = 7
#: Rows a stream keeps, beyond those its other views read, for the daily view.
DAILY_CONTEXT = CYCLES * MAX_DAY_ROWS + BLOCK


def day_rows(step: int | None) -> int | None:
    """Rows in a day for a series with this regular step (ns), when a day is a whole number of
    steps from 4 to MAX_DAY_ROWS; otherwise None (no daily view)."""
    day = pd.Timedelta(days=1).value
    if not step or day % step:
        return None
    rows = day // step
    return int(rows) if 4 <= rows <= MAX_DAY_ROWS else None


def daily_expected(values: np.ndarray, period: int) -> np.ndarray:
    """The median of the values at the same time on the previous CYCLES days (those present);
    NaN where none is."""
    values = np.asarray(values, dtype=float)
    shifted = np.full((CYCLES, len(values)), np.nan)
    for k in range(1, CYCLES + 1):
        lag = k * period
        if lag < len(values):
            shifted[k - 1, lag:] = values[:-lag]
    return bn.nanmedian(shifted, axis=0)


def daily_mode(
    values: np.ndarray, departure: np.ndarray, period: int, *, history: int, offset: int, first: int
) -> np.ndarray:
    """Per row from `first` on: whether the series repeats daily, decided for each block of
    rows (as `detection.rarity` lays them on the series' row numbers: short at the start, so
    a young series is judged by its cycle soon) from every SAMPLE-th of the `history` rows
    before it: the mean absolute deviation of the `departure` from the daily expected value
    against that of the values. False until the history holds DAYS_TO_DECIDE days of
    departures."""
    n_rows = len(values)
    mode = np.zeros(n_rows, dtype=bool)
    at = offset + first
    start = first - at % block_size(at)
    while start < n_rows:
        end = min(n_rows, start + block_size(offset + start))
        low = max(0, start - history)
        low += -(offset + low) % SAMPLE  # the first sampled row: a multiple of SAMPLE
        past = slice(low, max(low, start), SAMPLE)
        present = departure[past][~np.isnan(departure[past])]
        if present.size * SAMPLE >= DAYS_TO_DECIDE * period:
            level = values[past][~np.isnan(values[past])]
            spread = _mean_deviation(level)
            if spread > 0:
                mode[max(start, first) : end] = _mean_deviation(present) < DAILY * spread
            else:
                mode[max(start, first) : end] = True  # a flat series: any change departs
        start = end
    return mode


def _mean_deviation(values: np.ndarray) -> float:
    return float(np.mean(np.abs(values - np.median(values))))
