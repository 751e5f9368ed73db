"""Find the seasonal periods of a series, from its time step or its autocorrelation."""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.tsa.stattools import acf

from vigil.detection.tidy import infer_step

CALENDAR_SEASONS = (
    pd.Timedelta(hours=1),
    pd.Timedelta(days=1),
    pd.Timedelta(weeks=1),
    pd.Timedelta(days=365),
)
MIN_CYCLES = 4
MAX_ACF_LAG = 5000
#: Seasons: each one's length in points and in time (None where the step is unknown).
Periods = list[tuple[int, pd.Timedelta | None]]


def calendar_periods(step: pd.Timedelta | None, length: int) -> list[tuple[int, pd.Timedelta]]:
    """Calendar seasons (hour, day, week, year): whole, >= 4 steps, seen MIN_CYCLES times."""
    if step is None or step <= pd.Timedelta(0):
        return []
    found = []
    for season in CALENDAR_SEASONS:
        steps = season / step
        period = round(steps)
        if abs(steps - period) > 1e-6 or period < 4:
            continue
        if length >= MIN_CYCLES * period:
            found.append((period, season))
    return found


def autocorrelation_period(values: pd.Series, *, min_strength: float = 0.3) -> int | None:
    """The lag of the strongest autocorrelation peak, if it is strong enough to be a season."""
    present = values.interpolate(limit_direction="both").to_numpy(dtype=float)
    lags = min(len(present) // MIN_CYCLES, MAX_ACF_LAG)
    if lags < 4 or np.nanstd(present) == 0:
        return None
    detrended = present - pd.Series(present).rolling(lags, center=True, min_periods=1).mean()
    correlation = acf(detrended, nlags=lags, fft=True, missing="conservative")
    best, best_value = None, min_strength
    for lag in range(2, len(correlation) - 1):
        value = correlation[lag]
        is_peak = value >= correlation[lag - 1] and value >= correlation[lag + 1]
        if is_peak and value > best_value:
            best, best_value = lag, value
    return best


def find_periods(frame: pd.DataFrame) -> Periods:
    """Seasonal periods in points, shortest first, each with its calendar length if any.

    A calendar season counts when the detrended autocorrelation at its lag is at least 0.2 and
    clearly above the autocorrelation one shorter season earlier, or half a season away; with
    none confirmed, the strongest calendar season is used. With no calendar season at all, the
    autocorrelation peak decides.
    """
    step = infer_step(frame["timestamp"])
    values = frame["value"].astype(float)
    candidates = calendar_periods(step, len(frame))
    if not candidates:
        lag = autocorrelation_period(values)
        if lag is None:
            return []
        return [(lag, None if step is None else step * lag)]
    present = values.interpolate(limit_direction="both").to_numpy(dtype=float)
    longest = max(period for period, _ in candidates)
    if not np.nanstd(present) > 0 or longest >= len(present):
        return [candidates[0]]
    trend = pd.Series(present).rolling(longest + 1, center=True, min_periods=1).mean()
    correlation = acf(present - trend.to_numpy(), nlags=longest, fft=True)
    confirmed: Periods = []
    for period, season in candidates:
        # A real season correlates more at its own lag than one shorter season earlier
        # (7 days against 6) or, with no shorter season, than half a season away.
        rival = period - confirmed[-1][0] if confirmed else period // 2
        if correlation[period] >= 0.2 and correlation[period] > correlation[rival] + 0.05:
            confirmed.append((period, season))
    return confirmed or [max(candidates, key=lambda c: correlation[c[0]])]
