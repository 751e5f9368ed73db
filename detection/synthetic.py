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


ANOMALY_KINDS = (
    "spike",
    "dip",
    "level_shift",
    "trend_change",
    "variance_change",
    "seasonal_break",
    "missing_stretch",
)

#: The kinds of series real data taught us to test with: clean or sharp cycles, counts with
#: heavy tails or bursts, changes that last, and a series' first days. All but `first_days`
#: hold one labelled anomaly; `first_days` holds none (it judges false alarms only).
REAL_WORLD_KINDS = (
    "noiseless_periodic",
    "square_wave",
    "heavy_tailed_counts",
    "bursty_counts",
    "persistent_shift",
    "first_days",
)


def labelled_series(
    kind: str, *, days: int = 14, step: str = "15min", seed: int = 0
) -> pd.DataFrame:
    """A daily-seasonal series with one kind of planted trouble and a 0/1 `label` column.

    Labels mark where a detector should fire: the anomalous points, or the onset window of a
    lasting change. A missing stretch is not an anomaly: it is unlabelled and holds a spike
    after it, so that detectors are judged on coping with the gap.
    """
    if kind in REAL_WORLD_KINDS:
        return real_world_series(kind, days=days, step=step, seed=seed)
    if kind not in ANOMALY_KINDS:
        raise ValueError(
            f"unknown anomaly kind {kind!r}; choose from {ANOMALY_KINDS + REAL_WORLD_KINDS}"
        )
    rng = np.random.default_rng(seed)
    timestamps = pd.date_range(
        "2024-01-01", periods=days * pd.Timedelta("1D") // pd.Timedelta(step), freq=step
    )
    n = len(timestamps)
    per_day = int(pd.Timedelta("1D") / pd.Timedelta(step))
    hours = timestamps.hour.to_numpy() + timestamps.minute.to_numpy() / 60
    season = 10 * np.sin(2 * np.pi * (hours - 6) / 24)
    noise = rng.normal(0, 1, n)
    values = 50 + season + noise
    labels = np.zeros(n, dtype=int)
    start = int(rng.integers(n // 2, n - 2 * per_day))
    if kind == "spike":
        for position in rng.choice(np.arange(per_day, n - per_day), size=3, replace=False):
            values[position] += rng.choice([-1, 1]) * 8
            labels[position] = 1
    elif kind == "dip":
        values[start : start + 5] -= 7
        labels[start : start + 5] = 1
    elif kind == "level_shift":
        values[start:] += 6
        labels[start : start + 8] = 1
    elif kind == "trend_change":
        values[start:] += 0.15 * np.arange(n - start)
        labels[start + 10 : start + 40] = 1
    elif kind == "variance_change":
        values[start : start + per_day // 2] += 3 * noise[start : start + per_day // 2]
        labels[start : start + per_day // 2] = 1
    elif kind == "seasonal_break":
        values[start : start + per_day] -= season[start : start + per_day]
        labels[start : start + per_day] = 1
    else:  # missing_stretch
        values[start : start + per_day // 3] = np.nan
        spike = start + per_day
        values[spike] += 8
        labels[spike] = 1
    return pd.DataFrame({"timestamp": timestamps, "value": values, "label": labels})


def real_world_series(
    kind: str, *, days: int = 14, step: str = "15min", seed: int = 0
) -> pd.DataFrame:
    """A series shaped like the real ones that broke detectors, with a 0/1 `label` column.

    - `noiseless_periodic`: a daily sine with no noise at all; a dip of five points.
    - `square_wave`: a noiseless daily square wave (low at night, high by day); one day the
      high does not come for four hours.
    - `heavy_tailed_counts`: whole counts with a Pareto tail, as tweet volumes; a surge of
      eight points at three times the highest count before it.
    - `bursty_counts`: Poisson counts with a short burst about once a day (normal for it);
      an outage of four hours at zero.
    - `persistent_shift`: noise whose level rises by eight and whose spread doubles, for
      good; the onset is labelled, what follows is the new normal.
    - `first_days`: three days of a noisy daily cycle, no anomaly: whatever is flagged is
      a false alarm of a new series.
    """
    if kind not in REAL_WORLD_KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose from {REAL_WORLD_KINDS}")
    rng = np.random.default_rng(seed)
    if kind == "first_days":
        days = 3
    per_day = int(pd.Timedelta("1D") / pd.Timedelta(step))
    n = days * per_day
    timestamps = pd.date_range("2024-01-01", periods=n, freq=step)
    hours = timestamps.hour.to_numpy() + timestamps.minute.to_numpy() / 60
    labels = np.zeros(n, dtype=int)
    start = int(rng.integers(n // 2, n - 2 * per_day)) if days > 4 else n
    if kind == "noiseless_periodic":
        values = 50 + 10 * np.sin(2 * np.pi * hours / 24)
        values[start : start + 5] -= 7
        labels[start : start + 5] = 1
    elif kind == "square_wave":
        values = np.where((hours >= 8) & (hours < 20), 90.0, 10.0)
        day_start = start - start % per_day
        missed = slice(day_start + per_day * 8 // 24, day_start + per_day * 12 // 24)
        values[missed] = 10.0
        labels[missed] = 1
    elif kind == "heavy_tailed_counts":
        values = np.floor(rng.pareto(1.5, n) * 10)
        values[start : start + 8] = 3 * max(1.0, float(values[:start].max()))
        labels[start : start + 8] = 1
    elif kind == "bursty_counts":
        values = rng.poisson(5, n).astype(float)
        for burst in rng.choice(n - 3, size=days, replace=False):
            values[burst : burst + 3] = rng.poisson(25, 3)
        outage = slice(start, start + per_day // 6)
        values[outage] = 0.0
        labels[outage] = 1
    elif kind == "persistent_shift":
        values = 50 + rng.normal(0, 1, n)
        values[start:] = 58 + rng.normal(0, 2, n - start)
        labels[start : start + 8] = 1
    else:  # first_days
        values = 50 + 10 * np.sin(2 * np.pi * (hours - 6) / 24) + rng.normal(0, 1, n)
    return pd.DataFrame({"timestamp": timestamps, "value": values, "label": labels})
