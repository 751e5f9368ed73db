"""A causal seasonal expectation: the same phase of earlier cycles plus the recent level.

Used by the seasonal detector's online mode. Every value at row t comes from rows before t.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from vigil.detection.rolling import moving_median

#: Earlier cycles whose same phase makes up the seasonal profile.
PROFILE_CYCLES = 4
#: Fewer earlier cycles than this and a row has no expectation yet.
MIN_PROFILE_CYCLES = 2
MAD_TO_STD = 1.4826


def _lagged(values: np.ndarray, lag: int) -> np.ndarray:
    shifted = np.full(len(values), np.nan)
    if lag < len(values):
        shifted[lag:] = values[: len(values) - lag]
    return shifted


def level_window(period: int) -> int:
    """Recent points the level is taken from: an eighth of a season, at least 3."""
    return max(3, period // 8)


def phase_window(period: int) -> int:
    """Neighbouring phases each earlier cycle is smoothed over: a sixteenth of a season
    (odd, at least 1)."""
    return max(1, period // 16) | 1


def seasonal_expectation(values: pd.Series, period: int) -> tuple[np.ndarray, np.ndarray]:
    """Expected value and seasonal part of each row, from earlier rows only.

    The season is the median, over the previous PROFILE_CYCLES cycles, of each row's
    distance from the median of the cycle before it (so a trend does not leak into it),
    smoothed over neighbouring phases; the level is the median of the recent deseasonalised
    values. The smoothing window is centred but shorter than a cycle, so once lagged by a
    cycle it holds earlier rows only.
    """
    values = values.astype(float).reset_index(drop=True)
    cycle_level = moving_median(values.shift(1), period, period // 2)
    smoothing = phase_window(period)
    detrended = moving_median(
        values.to_numpy() - cycle_level, smoothing, smoothing // 2 + 1, center=True
    )
    lagged = np.column_stack([_lagged(detrended, k * period) for k in range(1, PROFILE_CYCLES + 1)])
    enough = (~np.isnan(lagged)).sum(axis=1) >= MIN_PROFILE_CYCLES
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # rows with no cycle yet
        season = np.where(enough, np.nanmedian(lagged, axis=1), np.nan)
    window = level_window(period)
    deseasonal = pd.Series(values.to_numpy() - season)
    level = moving_median(deseasonal.shift(1), window, max(2, window // 2))
    return level + season, season


def trailing_scale(residual: np.ndarray, window: int, floor: float) -> np.ndarray:
    """1.4826 x the median absolute residual of the previous `window` rows, at least `floor`."""
    previous = pd.Series(np.abs(residual)).shift(1)
    typical = moving_median(previous, window, max(10, window // 8))
    return np.maximum(MAD_TO_STD * typical, floor)
