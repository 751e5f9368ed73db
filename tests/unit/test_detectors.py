"""Behaviour of each detector beyond the shared protocol."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vigil.detection import make_detector, run_detection
from vigil.detection.errors import ParameterError
from vigil.detection.iforest import IsolationForestDetector
from vigil.detection.seasonality import find_periods
from vigil.detection.stl import SeasonalDetector
from vigil.detection.synthetic import demo_frame, gaussian_noise, seasonal_series, with_spike
from vigil.detection.zscore import ZScoreDetector


def weekly_series(weeks: int = 6, step: str = "1h") -> pd.DataFrame:
    """Hourly values with a daily shape that is higher on weekdays, and noise."""
    rng = np.random.default_rng(5)
    timestamps = pd.date_range("2024-01-01", periods=weeks * 7 * 24, freq=step)
    daily = np.sin(2 * np.pi * timestamps.hour.to_numpy() / 24)
    weekday = np.where(timestamps.day_of_week.to_numpy() < 5, 1.0, 0.3)
    values = 50 + 20 * daily * weekday + rng.normal(0, 1, len(timestamps))
    return pd.DataFrame({"timestamp": timestamps, "value": values})


# z-score


@pytest.mark.parametrize("method", ["global", "rolling", "robust"])
def test_each_zscore_method_finds_the_spike(method):
    spiky = with_spike(gaussian_noise(3000, seed=2), 2000, 8)
    scored = run_detection(spiky, "zscore", method=method)
    assert scored.loc[2000, "is_anomaly"]
    assert scored["is_anomaly"].sum() <= 5


def test_global_zscore_band_is_mean_plus_minus_k_std():
    frame = gaussian_noise(2000, seed=4)
    scored = run_detection(frame, "zscore", method="global", threshold=3)
    mean, std = frame["value"].mean(), frame["value"].std(ddof=0)
    assert scored["expected"].iloc[0] == pytest.approx(mean)
    assert scored["upper"].iloc[0] == pytest.approx(mean + 3 * std)


def test_robust_zscore_is_not_dragged_by_a_burst_of_outliers():
    frame = gaussian_noise(3000, seed=6)
    frame.loc[1500:1510, "value"] = 40.0
    robust = run_detection(frame, "zscore", method="robust", window=50)
    rolling = run_detection(frame, "zscore", method="rolling", window=50)
    assert robust.loc[1500:1510, "is_anomaly"].sum() == 11
    assert rolling.loc[1500:1510, "is_anomaly"].sum() < 11


def test_a_window_longer_than_the_series_is_refused():
    with pytest.raises(ParameterError, match="longer than the series"):
        ZScoreDetector(window=5000).fit(gaussian_noise(100))


def test_an_unknown_method_is_refused_with_the_choices():
    with pytest.raises(ParameterError, match="robust, rolling, global"):
        make_detector("zscore", {"method": "median"})


def test_a_flat_series_does_not_make_every_wiggle_an_anomaly():
    frame = gaussian_noise(500)
    frame["value"] = 5.0
    frame.loc[250, "value"] = 5.001
    scored = run_detection(frame, "zscore")
    assert np.isfinite(scored["score"]).all()


# STL


def test_daily_and_weekly_seasons_are_found_from_the_step():
    periods = [period for period, _ in find_periods(weekly_series())]
    assert periods == [24, 168]


def test_a_purely_daily_series_gets_no_weekly_season():
    periods = [period for period, _ in find_periods(seasonal_series(n=1440 * 6))]
    assert periods == [1440]


def test_the_period_is_found_by_autocorrelation_when_the_step_gives_none():
    rng = np.random.default_rng(3)
    n = 1200
    timestamps = pd.date_range("2024-01-01", periods=n, freq="7s")
    values = np.sin(2 * np.pi * np.arange(n) / 37) * 5 + rng.normal(0, 0.5, n)
    periods = find_periods(pd.DataFrame({"timestamp": timestamps, "value": values}))
    assert periods[0][0] == 37


def test_stl_explains_with_the_day_and_hour_of_a_weekly_season():
    series = weekly_series()
    series.loc[400, "value"] += 15  # a Wednesday, 16:00
    scored = run_detection(series, "stl")
    assert scored.loc[400, "is_anomaly"]
    assert "for Wednesdays 16:00" in scored.loc[400, "explanation"]
    assert "above the expected" in scored.loc[400, "explanation"]


def test_stl_expected_follows_the_season():
    series = seasonal_series(n=144 * 20, step="10min")
    scored = run_detection(series, "stl")
    truth = 10 + 3 * np.sin(2 * np.pi * np.arange(len(series)) / 144)
    assert np.abs(scored["expected"] - truth).median() < 0.3


def test_a_period_that_does_not_fit_is_refused():
    with pytest.raises(ParameterError, match="does not fit"):
        SeasonalDetector(period=5000).fit(gaussian_noise(3000))


def test_an_even_seasonal_smoother_is_refused():
    with pytest.raises(ParameterError, match="odd"):
        SeasonalDetector(seasonal=8).fit(weekly_series())


def test_white_noise_without_calendar_seasons_asks_for_a_period():
    frame = gaussian_noise(300, step="7s")
    with pytest.raises(ParameterError, match="set a period"):
        SeasonalDetector().fit(frame)


# Isolation Forest


def test_isolation_forest_is_reproducible_with_a_seed():
    spiky = with_spike(gaussian_noise(3000, seed=8), 1000, 8)
    first = run_detection(spiky, "iforest", random_state=3)
    second = run_detection(spiky, "iforest", random_state=3)
    pd.testing.assert_frame_equal(first, second)


def test_isolation_forest_threshold_is_on_severity():
    spiky = with_spike(gaussian_noise(3000, seed=8), 1000, 8)
    scored = run_detection(spiky, "iforest", threshold=0.5)
    assert (scored.loc[scored["is_anomaly"], "severity"] >= 0.5).all()
    assert scored["is_anomaly"].sum() > run_detection(spiky, "iforest")["is_anomaly"].sum()


def test_isolation_forest_has_no_band():
    scored = run_detection(gaussian_noise(500), "iforest")
    assert scored[["expected", "lower", "upper"]].isna().all().all()


def test_isolation_forest_uses_time_features_when_the_span_allows():
    detector = IsolationForestDetector().fit(weekly_series())
    assert {"time_of_day_sin", "day_of_week_sin"} <= set(detector.model_.columns)


def test_every_detector_finds_the_demo_spikes():
    frame = demo_frame()
    requests = frame[["timestamp", "requests_per_min"]].rename(
        columns={"requests_per_min": "value"}
    )
    spike_time = (
        frame["timestamp"].iloc[0]
        + (frame["timestamp"].iloc[-1] - frame["timestamp"].iloc[0]) * 0.30
    )
    for name in ("zscore", "stl"):
        scored = run_detection(requests, name)
        flagged = scored.loc[scored["is_anomaly"], "timestamp"]
        assert ((flagged - spike_time).abs() < pd.Timedelta(hours=12)).any(), name


def test_isolation_forest_names_the_features_that_isolated_a_spike_and_not_its_neighbours():
    spiky = with_spike(gaussian_noise(5000, seed=11), 2500, 7)
    scored = run_detection(spiky, "iforest")
    assert (
        "set apart most by its value (7.1 robust deviations above"
        in (scored.loc[2500, "explanation"])
    )
    assert not scored.loc[2501:2512, "is_anomaly"].any()
