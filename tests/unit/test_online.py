"""Online (causal) mode: every detector scores each point from the points before it only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vigil.detection import DETECTORS, make_detector
from vigil.detection.base import on_causal_grid
from vigil.detection.errors import ParameterError
from vigil.detection.synthetic import gaussian_noise, seasonal_series, with_spike

NAMES = sorted(DETECTORS)
#: Smaller forests keep the property test quick; the schedule and features are the same.
QUICK = {"iforest": {"n_estimators": 40}}


def stream(n: int = 1344, *, seed: int = 4, spike_at: int | None = 1000) -> pd.DataFrame:
    """Two weeks of a 15-minute daily season (amplitude 3) with noise (sd 1), a spike 12
    above its season, a few missing values and a gap."""
    frame = seasonal_series(n, seed=seed, spike_at=spike_at, step="15min")
    if spike_at is not None and spike_at < n:
        frame.loc[spike_at, "value"] += 6
    frame.loc[frame.index.isin([300, 301, 702]), "value"] = np.nan
    return frame.drop(index=range(500, 520), errors="ignore").reset_index(drop=True)


def online(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    return make_detector(name, QUICK.get(name)).score_online(frame)


@pytest.mark.parametrize("name", NAMES)
def test_online_mode_flags_a_spike_from_earlier_points_alone(name):
    frame = stream()
    spike = frame.index[frame["timestamp"] == pd.Timestamp("2024-01-11 10:00")][0]
    scored = online(name, frame)

    assert scored.loc[spike, "is_anomaly"]
    assert scored["severity"].idxmax() == spike
    assert scored.loc[spike, "explanation"]
    assert scored["is_anomaly"].sum() <= 6


@pytest.mark.parametrize("name", NAMES)
def test_online_a_six_sigma_spike_gets_severity_of_at_least_0_9(name):
    spiky = with_spike(gaussian_noise(5000, seed=3), 4000, 6)
    assert online(name, spiky).loc[4000, "severity"] >= 0.9


@pytest.mark.parametrize("name", NAMES)
def test_the_warm_up_is_reported_and_never_flagged(name):
    scored = online(name, stream())
    warmup = scored.attrs["warmup_rows"]

    assert 0 < warmup < len(scored) // 2
    assert scored["severity"].iloc[:warmup].isna().all()
    assert not scored["is_anomaly"].iloc[:warmup].any()
    assert scored.attrs["warmup_until"] == scored["timestamp"].iloc[warmup]
    assert scored["severity"].iloc[warmup:].notna().mean() > 0.99


@pytest.mark.parametrize("name", NAMES)
def test_a_series_shorter_than_the_warm_up_is_all_warm_up(name):
    scored = online(name, stream(n=60, spike_at=None))
    assert not scored["is_anomaly"].any()
    assert scored["severity"].isna().all()
    assert scored.attrs["warmup_until"] is None


@pytest.mark.parametrize("name", NAMES)
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    derandomize=True,
)
@given(
    seed=st.integers(0, 10_000),
    cut=st.integers(100, 1300),
    spike=st.integers(200, 1300),
    holes=st.lists(st.integers(0, 1300), max_size=30),
)
def test_appending_later_points_never_changes_an_earlier_score(name, seed, cut, spike, holes):
    frame = stream(seed=seed, spike_at=spike)
    frame.loc[frame.index.isin(holes), "value"] = np.nan
    cut = min(cut, len(frame) - 1)

    whole = online(name, frame)
    prefix = online(name, frame.iloc[:cut])

    pd.testing.assert_frame_equal(prefix, whole.iloc[:cut], check_exact=False, rtol=1e-9)


@pytest.mark.parametrize(
    ("name", "frame"),
    [
        ("zscore", gaussian_noise(5000, seed=8)),
        ("iforest", gaussian_noise(5000, seed=8)),
        ("stl", seasonal_series(2000, seed=8, step="15min")),
        ("auto", seasonal_series(2000, seed=8, step="15min")),
    ],
)
def test_batch_and_online_agree_on_stationary_data(name, frame):
    spiky = with_spike(frame, 1500, 7)
    batch = make_detector(name).fit_score(spiky)
    live = make_detector(name).score_online(spiky)
    after = slice(live.attrs["warmup_rows"], None)

    agreement = (batch["is_anomaly"].iloc[after] == live["is_anomaly"].iloc[after]).mean()
    assert agreement >= 0.995
    assert batch.loc[1500, "is_anomaly"]
    assert live.loc[1500, "is_anomaly"]
    assert live["is_anomaly"].mean() <= 0.005
    if batch["expected"].notna().any():
        gap = (batch["expected"] - live["expected"]).iloc[after].abs().mean()
        assert gap <= 0.6  # the noise has a standard deviation of 1


def test_online_seasonal_detection_needs_a_season():
    no_calendar_step = gaussian_noise(3000, step="7min")
    with pytest.raises(ParameterError, match="No seasonal period"):
        make_detector("stl").score_online(no_calendar_step)


def test_the_causal_grid_fills_gaps_with_the_step_of_the_first_points():
    frame = gaussian_noise(200, step="1min")
    # a gap of three missing minutes, and later a stretch at another step
    frame = frame.drop(index=[50, 51, 52]).reset_index(drop=True)
    later = frame["timestamp"] + pd.to_timedelta(np.where(frame.index > 150, 30, 0), unit="s")
    frame["timestamp"] = later

    grid, original = on_causal_grid(frame)

    assert len(grid) > len(frame)
    assert grid["value"].isna().sum() == len(grid) - len(frame)
    assert grid.loc[original, "value"].tolist() == frame["value"].tolist()
    filled = grid["timestamp"].iloc[50:53]
    assert (filled.diff().dropna() == pd.Timedelta(minutes=1)).all()
    head, _ = on_causal_grid(frame.iloc[:120])
    pd.testing.assert_frame_equal(head, grid.iloc[: len(head)])
