"""Deterministic synthetic series: the built-in demo data set and test fixtures."""

from __future__ import annotations

import numpy as np
import pandas as pd

DEMO_START = pd.Timestamp("2024-03-04 00:00")  # a Monday
DEMO_STEP = pd.Timedelta(minutes=15)
DEMO_DAYS = 28


def gaussian_noise(n: int = 10_000, *, seed: int = 0, step: str = "1min") -> pd.DataFrame:
    """Clean N(0, 1) noise on a regular grid."""
    rng = np.random.default_rng(seed)
    timestamps = pd.date_range("2024-01-01", periods=n, freq=step)
    return pd.DataFrame({"timestamp": timestamps, "value": rng.standard_normal(n)})


def with_spike(frame: pd.DataFrame, position: int, sigmas: float) -> pd.DataFrame:
    """A copy whose value at `position` is `sigmas` standard deviations above the mean."""
    spiky = frame.copy()
    values = frame["value"]
    spiky.loc[position, "value"] = float(values.mean()) + sigmas * float(values.std())
    return spiky


def demo_frame() -> pd.DataFrame:
    """Four weeks of three 15-minute server metrics, wide (one column per series).

    Daily and weekly seasons, a trend, noise, and planted trouble: spikes, a dip, a level
    shift, a dropout (a stretch with no data), and scattered missing values.
    """
    rng = np.random.default_rng(20240304)
    timestamps = pd.date_range(DEMO_START, periods=DEMO_DAYS * 96, freq=DEMO_STEP)
    n = len(timestamps)
    hours = timestamps.hour.to_numpy() + timestamps.minute.to_numpy() / 60
    weekday = timestamps.day_of_week.to_numpy()
    workday = np.where(weekday < 5, 1.0, 0.45)
    daily = np.clip(np.sin((hours - 7) / 14 * np.pi), 0, None)
    trend = np.linspace(0, 6, n)

    requests = 120 + trend * 4 + 260 * daily * workday + rng.normal(0, 9, n)
    requests[int(n * 0.30)] += 330
    requests[int(n * 0.62)] += 280
    requests[int(n * 0.81) : int(n * 0.81) + 3] -= 160

    latency = 80 + 25 * daily * workday + rng.normal(0, 3, n)
    shift = int(n * 0.7)
    latency[shift:] += 28  # a deploy that made everything slower
    latency[int(n * 0.45)] += 65

    temperature = 41 + 6 * np.sin(2 * np.pi * hours / 24 - 2) + trend * 0.3 + rng.normal(0, 0.6, n)
    temperature[int(n * 0.55)] += 9.5

    dropout = slice(int(n * 0.2), int(n * 0.2) + 36)
    frame = pd.DataFrame(
        {
            "timestamp": timestamps,
            "requests_per_min": requests.round(1),
            "latency_ms": latency.round(2),
            "temperature_c": temperature.round(2),
        }
    )
    frame = frame.drop(index=frame.index[dropout]).reset_index(drop=True)
    missing = rng.choice(len(frame), size=25, replace=False)
    frame.loc[missing[:12], "requests_per_min"] = np.nan
    frame.loc[missing[12:], "latency_ms"] = np.nan
    return frame


def demo_csv() -> bytes:
    """The demo data set as CSV bytes, as a user would upload it."""
    return demo_frame().to_csv(index=False).encode("utf-8")


def seasonal_series(
    n: int = 2880, *, seed: int = 1, spike_at: int | None = None, step: str = "1min"
) -> pd.DataFrame:
    """A daily sine with Gaussian noise (sd 1), and optionally a 6-sigma spike."""
    rng = np.random.default_rng(seed)
    timestamps = pd.date_range("2024-01-01", periods=n, freq=step)
    minutes = (timestamps - timestamps[0]).total_seconds().to_numpy() / 60
    expected = 10 + 3 * np.sin(2 * np.pi * minutes / 1440)
    values = expected + rng.standard_normal(n)
    if spike_at is not None:
        values[spike_at] = expected[spike_at] + 6
    return pd.DataFrame({"timestamp": timestamps, "value": values})
