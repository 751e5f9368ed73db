"""A series' daily and weekly cycles: each point against the same time on previous days or weeks.

A series that repeats every day (traffic, load, a machine's daily cycle), or every week (a
working week and quiet weekends), can go wrong without leaving its usual range: a peak that
does not come, a flat stretch where it should rise. Its value then looks ordinary, but its
departure from the same time on the previous CYCLES days (or weeks) does not. `cycle_modes`
says, block by block from the history before each block only, whether a series repeats
closely enough for one of those departures to be the better judge, and which.

Everything here is causal and laid on the series' row numbers, so a stream that keeps the
last `CYCLE_CONTEXT` rows computes exactly what the whole series would.
"""

from __future__ import annotations

from dataclasses import dataclass

import bottleneck as bn
import numpy as np
import pandas as pd

from vigil.detection.rarity import BLOCK, block_size

#: Days (or weeks) of the same time the expected value is the median of.
CYCLES = 3
#: A series is judged against a cycle when its typical departure from the same time on the
#: previous days (weeks) is under this share of its typical departure from its median
#: (measured on real labelled series: clearly daily series sit near 0.1, everything else
#: above 0.4).
CLOSE = 0.35
#: The weekly cycle is taken over the daily one only when its departures are at most this
#: share of the daily ones: for a series that repeats daily, both are alike and the day,
#: which has more recent cycles, is kept.
WEEK_OVER_DAY = 0.8
#: The most rows a day may hold (a point every 86.4 s or slower): a week of them must fit in
#: the history a decision reads (`auto` keeps 8,000 points), and a finer series is judged
#: without its daily cycle.
MAX_DAY_ROWS = 1000
#: The most rows a week may hold (a point every 5 minutes or slower), so that CYCLES weeks
#: stay a bounded look-back for a stream.
MAX_WEEK_ROWS = 7 * 288
#: A decision reads every SAMPLE-th row of its history (on the series' row numbers): the
#: ratio it compares is a coarse one, and the medians cost less.
SAMPLE = 4
#: Days of departures a decision needs: a week, so that a weekly rhythm (quiet weekends)
#: is part of what it judges and is not taken for a broken daily cycle.
DAYS_TO_DECIDE = 7
#: Rows a stream keeps, beyond those its other views read, for the cycles.
CYCLE_CONTEXT = CYCLES * max(MAX_DAY_ROWS, MAX_WEEK_ROWS) + BLOCK


def day_rows(step: int | None) -> int | None:
    """Rows in a day for a series with this regular step (ns), when a day is a whole number of
    steps from 4 to MAX_DAY_ROWS; otherwise None (no daily view)."""
    day = pd.Timedelta(days=1).value
    if not step or day % step:
        return None
    rows = day // step
    return int(rows) if 4 <= rows <= MAX_DAY_ROWS else None


def cycle_rows(step: int | None) -> dict[str, int]:
    """The cycles a series with this regular step (ns) can be judged by: 'daily' and 'weekly'
    with their rows, where they fit."""
    day = day_rows(step)
    if day is None:
        return {}
    cycles = {"daily": day}
    if 7 * day <= MAX_WEEK_ROWS:
        cycles["weekly"] = 7 * day
    return cycles


def cycle_expected(values: np.ndarray, period: int, *, nearer_of_two: bool = False) -> np.ndarray:
    """The median of the values at the same time on the previous CYCLES cycles of `period`
    rows (those present); NaN where none is. With `nearer_of_two`, where only two are, the
    one nearer the value itself, so that an anomaly in one of them is not expected again (the
    median of two, their mean, would hold half of it). A week judges a series from its third
    week on, when only two weeks before may be known; a day judges only once a week of days
    is known, so three always are."""
    values = np.asarray(values, dtype=float)
    shifted = np.full((CYCLES, len(values)), np.nan)
    for k in range(1, CYCLES + 1):
        lag = k * period
        if lag < len(values):
            shifted[k - 1, lag:] = values[:-lag]
    expected: np.ndarray = bn.nanmedian(shifted, axis=0)
    two = ((~np.isnan(shifted)).sum(axis=0) == 2) & nearer_of_two
    if two.any():
        pair = np.sort(shifted[:, two], axis=0)[:2]  # the two present, NaN sorts last
        nearer = np.argmin(np.abs(pair - values[two]), axis=0)
        expected[two] = pair[nearer, np.arange(pair.shape[1])]
    return expected


@dataclass(frozen=True)
class Cycles:
    """Per row: which cycle judges it (an index into `names`, or -1 for none), and each cycle's
    expected value (`usual`)."""

    names: tuple[str, ...]
    mode: np.ndarray
    usual: dict[str, np.ndarray]

    def rows(self, name: str) -> np.ndarray:
        """Whether each row is judged by the cycle `name`."""
        judged: np.ndarray = self.mode == self.names.index(name)
        return judged


def cycle_modes(
    values: np.ndarray,
    periods: dict[str, int],
    *,
    history: int,
    offset: int,
    first: int,
    hindsight: bool = False,
) -> Cycles:
    """Per row from `first` on, the cycle (of `periods`, by name) that judges it: decided for
    each block of rows (as `detection.rarity` lays them on the series' row numbers: short at
    the start, so a young series is judged by its cycle soon) from every SAMPLE-th of the
    `history` rows before it, by `closeness`; the closer of the cycles within CLOSE, the day
    unless the week is closer by WEEK_OVER_DAY.

    With `hindsight` (batch mode: `values` is the whole series, `offset` 0), the rows of the
    blocks too early to decide on, in the first days of the series, take the cycle the
    series' first `history` rows decide, once CYCLES of its periods are known."""
    names = tuple(periods)
    usual = {
        name: cycle_expected(values, period, nearer_of_two=name == "weekly")
        for name, period in periods.items()
    }
    n_rows = len(values)
    mode = np.full(n_rows, -1, dtype=np.int8)
    undecided = np.zeros(n_rows, dtype=bool)
    at = offset + first
    start = first - at % block_size(at)
    while start < n_rows:
        end = min(n_rows, start + block_size(offset + start))
        low = max(0, start - history)
        low += -(offset + low) % SAMPLE  # the first sampled row: a multiple of SAMPLE
        ratios = _ratios(values, usual, periods, slice(low, max(low, start), SAMPLE))
        mode[max(start, first) : end] = _closest(ratios)
        undecided[max(start, first) : end] = all(np.isinf(ratios))
        start = end
    if hindsight and names and undecided.any():
        best = _closest(_ratios(values, usual, periods, slice(0, history, SAMPLE)))
        if best >= 0:
            known = np.arange(n_rows) >= CYCLES * periods[names[best]]
            mode[undecided & known] = best
    return Cycles(names, mode, usual)


def _ratios(
    values: np.ndarray, usual: dict[str, np.ndarray], periods: dict[str, int], rows: slice
) -> list[float]:
    """Each cycle's `closeness` over the (sampled) `rows`."""
    return [
        closeness(values[rows], values[rows] - expected[rows], periods["daily"])
        for expected in usual.values()
    ]


def _closest(ratios: list[float]) -> int:
    """The index of the cycle that judges, from their closeness `ratios`; -1 for none."""
    best = -1
    for k, ratio in enumerate(ratios):
        if ratio < CLOSE and (best < 0 or ratio < WEEK_OVER_DAY * ratios[best]):
            best = k
    return best


def closeness(values: np.ndarray, departure: np.ndarray, day: int) -> float:
    """The mean absolute deviation of the `departure`s (one every SAMPLE rows) from a cycle
    against that of the `values`: 0 for a series that repeats exactly (or a flat one), inf
    until DAYS_TO_DECIDE days of departures are known."""
    present = departure[~np.isnan(departure)]
    if present.size * SAMPLE < DAYS_TO_DECIDE * day:
        return float("inf")
    level = values[~np.isnan(values)]
    spread = _mean_deviation(level)
    return _mean_deviation(present) / spread if spread > 0 else 0.0


def _mean_deviation(values: np.ndarray) -> float:
    return float(np.mean(np.abs(values - np.median(values))))
