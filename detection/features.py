"""Engineered features of a series, for detectors that look at more than the raw value."""

from __future__ import annotations

import numpy as np
import pandas as pd

from detection.tidy import infer_step


def time_features(timestamps: pd.Series, step: pd.Timedelta | None) -> dict[str, np.ndarray]:
    """Time of day and of week as points on a circle, where the step and span allow them."""
    if step is None:
        return {}
    span = timestamps.iloc[-1] - timestamps.iloc[0]
    features: dict[str, np.ndarray] = {}
    if step < pd.Timedelta(days=1) and span >= pd.Timedelta(days=2):
        seconds = timestamps.dt.hour * 3600 + timestamps.dt.minute * 60 + timestamps.dt.second
        angle = 2 * np.pi * seconds.to_numpy(dtype=float) / 86_400
        features["time_of_day_sin"] = np.sin(angle)
        features["time_of_day_cos"] = np.cos(angle)
    if step < pd.Timedelta(weeks=1) and span >= pd.Timedelta(weeks=2):
        angle = 2 * np.pi * timestamps.dt.day_of_week.to_numpy(dtype=float) / 7
        features["day_of_week_sin"] = np.sin(angle)
        features["day_of_week_cos"] = np.cos(angle)
    return features


def build_features(frame: pd.DataFrame, window: int, *, with_time: bool = True) -> pd.DataFrame:
    """Value, first difference, deviation from and spread of the previous `window` points,
    and time of day/week. Gaps are filled with each feature's median, so every row is usable.
    """
    values = frame["value"].astype(float).reset_index(drop=True)
    previous = values.shift(1).rolling(window, min_periods=max(2, window // 4))
    columns: dict[str, np.ndarray] = {
        "value": values.to_numpy(),
        "difference": values.diff().to_numpy(),
        "deviation_from_recent": (values - previous.median()).to_numpy(),
        "recent_spread": previous.std(ddof=0).to_numpy(),
    }
    if with_time:
        timestamps = frame["timestamp"].reset_index(drop=True)
        columns.update(time_features(timestamps, infer_step(timestamps)))
    features = pd.DataFrame(columns)
    return features.fillna(features.median()).fillna(0.0)
