"""Engineered features of a series, for detectors that look at more than the raw value."""

from __future__ import annotations

import numpy as np
import pandas as pd

from vigil.detection.rolling import moving_median
from vigil.detection.tidy import infer_step

TIME_OF_DAY = ("time_of_day_sin", "time_of_day_cos")
DAY_OF_WEEK = ("day_of_week_sin", "day_of_week_cos")


def time_feature_names(timestamps: pd.Series, step: pd.Timedelta | None) -> list[str]:
    """The time features a stretch of series can learn from: time of day when it spans two
    days at a finer step, day of week when it spans two weeks."""
    if step is None or len(timestamps) < 2:
        return []
    span = timestamps.iloc[-1] - timestamps.iloc[0]
    names: list[str] = []
    if step < pd.Timedelta(days=1) and span >= pd.Timedelta(days=2):
        names += TIME_OF_DAY
    if step < pd.Timedelta(weeks=1) and span >= pd.Timedelta(weeks=2):
        names += DAY_OF_WEEK
    return names


def causal_features(frame: pd.DataFrame, window: int, *, with_time: bool = True) -> pd.DataFrame:
    """Per row, from the row and the rows before it only: value, first difference, deviation
    from the median and spread of the previous `window` points, and (with `with_time`) time
    of day and of week as points on a circle. Gaps stay missing."""
    values = frame["value"].astype(float).reset_index(drop=True)
    previous = values.shift(1).rolling(window, min_periods=max(2, window // 4))
    recent_median = moving_median(values.shift(1), window, max(2, window // 4))
    columns: dict[str, np.ndarray] = {
        "value": values.to_numpy(),
        "difference": values.diff().to_numpy(),
        "deviation_from_recent": values.to_numpy() - recent_median,
        "recent_spread": previous.std(ddof=0).to_numpy(),
    }
    if with_time:
        timestamps = frame["timestamp"].reset_index(drop=True)
        seconds = timestamps.dt.hour * 3600 + timestamps.dt.minute * 60 + timestamps.dt.second
        day = 2 * np.pi * seconds.to_numpy(dtype=float) / 86_400
        week = 2 * np.pi * timestamps.dt.day_of_week.to_numpy(dtype=float) / 7
        columns |= {
            TIME_OF_DAY[0]: np.sin(day),
            TIME_OF_DAY[1]: np.cos(day),
            DAY_OF_WEEK[0]: np.sin(week),
            DAY_OF_WEEK[1]: np.cos(week),
        }
    return pd.DataFrame(columns)


def build_features(frame: pd.DataFrame, window: int, *, with_time: bool = True) -> pd.DataFrame:
    """`causal_features` with the time features the whole frame supports, and gaps filled
    with each feature's median, so every row is usable."""
    features = causal_features(frame, window, with_time=with_time)
    if with_time:
        timestamps = frame["timestamp"].reset_index(drop=True)
        kept = set(time_feature_names(timestamps, infer_step(timestamps)))
        features = features.drop(columns=[c for c in TIME_OF_DAY + DAY_OF_WEEK if c not in kept])
    return features.fillna(features.median()).fillna(0.0)
