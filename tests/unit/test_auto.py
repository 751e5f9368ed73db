"""The automatic detector: calibrated on the series' own history, a learning period, one flag
for the start of each anomaly."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from vigil.detection import make_detector
from vigil.detection.auto import LEARNING, RECENT
from vigil.detection.synthetic import gaussian_noise, with_spike


def frame_of(values, step: str = "5min") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=len(values), freq=step),
            "value": np.asarray(values, dtype=float),
        }
    )


def test_a_spike_is_flagged_once_and_the_points_after_it_are_not():
    spiky = with_spike(gaussian_noise(3000, seed=5), 2000, 8)
    scored = make_detector("auto").score_online(spiky)

    assert scored.loc[2000, "is_anomaly"]
    assert scored.loc[2000, "onset"]
    assert not scored.loc[2001 : 2000 + RECENT, "is_anomaly"].any()
    assert scored["is_anomaly"].sum() <= 3  # noise sets a record now and then
    assert "the value is the highest in" in scored.loc[2000, "explanation"]
    # the spike does not drag the expected value: the next points expect what they are
    after = scored.loc[2001:2005]
    assert (after["expected"] - after["value"]).abs().max() < 4


def test_nothing_is_flagged_while_the_series_is_learning():
    values = np.r_[np.zeros(LEARNING - 50), [1000.0], np.zeros(500)]
    scored = make_detector("auto").fit_score(frame_of(values))

    assert not scored["is_anomaly"].iloc[:LEARNING].any()
    assert scored["severity"].iloc[:LEARNING].isna().all()
    assert scored["severity"].iloc[LEARNING:].notna().all()


def test_a_noiseless_daily_square_wave_raises_no_flag_at_all():
    day = np.r_[np.full(144, 10.0), np.full(144, 90.0)]  # five-minute points
    scored = make_detector("auto").score_online(frame_of(np.tile(day, 20)))
    assert not scored["is_anomaly"].any()


def test_a_persistent_level_shift_is_one_episode_and_then_normal():
    rng = np.random.default_rng(3)
    values = np.r_[rng.normal(50, 1, 2000), rng.normal(80, 1, 3000)]
    scored = make_detector("auto").score_online(frame_of(values))

    after = scored.iloc[2000:]
    assert after["episode"].dropna().nunique() == 1
    assert after["onset"].iloc[:5].any()
    assert not after["is_anomaly"].iloc[2 * RECENT :].any()


def test_heavy_tailed_counts_are_judged_by_their_own_tails():
    rng = np.random.default_rng(11)
    counts = rng.pareto(1.5, 20_000) * 10  # tweet-like volumes: most small, some huge
    scored = make_detector("auto").score_online(frame_of(counts))
    days = 20_000 * 5 / (60 * 24)
    assert scored["episode"].dropna().nunique() / days <= 0.5


def test_batch_and_streaming_give_the_same_scores():
    spiky = with_spike(gaussian_noise(12_000, seed=7), 9000, 7)
    batch = make_detector("auto").fit_score(spiky)
    stream = make_detector("auto").score_online(spiky)
    np.testing.assert_allclose(batch["severity"], stream["severity"], equal_nan=True)
    assert batch["is_anomaly"].tolist() == stream["is_anomaly"].tolist()


def test_a_fitted_detector_scores_new_points_as_the_continuation_of_its_series():
    spiky = with_spike(gaussian_noise(10_000, seed=8), 9500, 8)
    whole = make_detector("auto").fit_score(spiky)
    fitted = make_detector("auto").fit(spiky.iloc[:9000])
    later = fitted.score(spiky.iloc[9000:])
    np.testing.assert_allclose(later["severity"], whole["severity"].iloc[9000:])
    assert later.loc[9500, "is_anomaly"]


def test_severity_separates_the_rare_from_the_very_rare():
    base = gaussian_noise(6000, seed=2)
    rare = make_detector("auto").fit_score(with_spike(base, 5000, 6))
    very_rare = make_detector("auto").fit_score(with_spike(base, 5000, 30))
    assert very_rare.loc[5000, "severity"] > rare.loc[5000, "severity"] >= 0.9
    assert very_rare.loc[5000, "severity"] < 1


def test_a_stream_that_starts_one_point_at_a_time_scores_as_the_whole_series():
    from vigil.detection.stream import OnlineScorer

    spiky = with_spike(gaussian_noise(700, seed=4, step="15min"), 650, 9)
    scorer = OnlineScorer(make_detector("auto"))
    live = pd.concat([scorer.update(spiky.iloc[i : i + 1]) for i in range(len(spiky))])
    whole = make_detector("auto").score_online(spiky)
    pd.testing.assert_frame_equal(live, whole, rtol=1e-9)
    assert live.loc[650, "onset"]


def daily_series(days: int, *, seed: int, step: str = "10min") -> pd.DataFrame:
    """A daily cycle with a little noise."""
    per_day = int(pd.Timedelta("1D") / pd.Timedelta(step))
    rng = np.random.default_rng(seed)
    rows = np.arange(days * per_day)
    values = 50 + 20 * np.sin(2 * np.pi * rows / per_day) + rng.normal(0, 1, rows.size)
    return frame_of(values, step)


def test_a_daily_peak_that_does_not_come_is_flagged_though_no_value_is_unusual():
    series = daily_series(12, seed=21)
    peak = 10 * 144 + 36  # the top of the eleventh day's cycle
    series.loc[peak - 20 : peak + 20, "value"] = 50.0  # flat where it should rise to 70
    scored = make_detector("auto").score_online(series)

    missed = scored.loc[peak - 20 : peak + 20]
    assert missed["onset"].any()
    assert "same time on the last 3 days" in missed.loc[missed["onset"], "explanation"].iloc[0]
    assert missed.loc[missed["onset"], "expected"].iloc[0] > 55  # the daily cycle, not 50
    assert scored["episode"].dropna().nunique() <= 2  # the missed peak, nothing else


def test_in_batch_a_daily_series_is_judged_by_its_cycle_from_its_fourth_day():
    series = daily_series(12, seed=1)
    peak = 4 * 144 + 36  # the top of the fifth day's cycle: a stream cannot tell it is daily yet
    series.loc[peak - 20 : peak + 20, "value"] = 50.0
    batch = make_detector("auto").fit_score(series)
    stream = make_detector("auto").score_online(series)

    start = batch.loc[peak - 20]
    assert start["onset"]
    assert "the departure from the same time on the last 3 days" in start["explanation"]
    assert "same time" not in stream.loc[peak - 20, "explanation"]
    # the band follows the cycle in batch, where a stream's spans the whole day
    fifth_day = slice(5 * 144, 6 * 144 - 1)
    batch_width = (batch["upper"] - batch["lower"]).loc[fifth_day].max()
    assert batch_width < 0.6 * (stream["upper"] - stream["lower"]).loc[fifth_day].min()
    # once a stream has a week of days to tell, batch and streaming agree
    week = 8 * 144
    np.testing.assert_allclose(batch["severity"][week:], stream["severity"][week:])


def test_a_daily_series_without_anomaly_is_not_flagged_and_its_band_follows_the_cycle():
    scored = make_detector("auto").score_online(daily_series(12, seed=22))
    assert scored["episode"].dropna().nunique() <= 1
    last_day = scored.iloc[-144:]
    assert last_day["upper"].max() - last_day["upper"].min() > 30  # up and down with the day


def test_a_daily_series_streamed_in_batches_scores_as_the_whole_series():
    from vigil.detection.stream import OnlineScorer

    series = daily_series(10, seed=23, step="5min").drop(index=[500, 1700, 2400])
    series.loc[2600:2630, "value"] = 50.0
    scorer = OnlineScorer(make_detector("auto"))
    cuts = [0, 1, 300, 301, 1200, 2590, 2615, len(series)]
    live = pd.concat([scorer.update(series.iloc[a:b]) for a, b in itertools.pairwise(cuts)])
    whole = make_detector("auto").score_online(series)
    pd.testing.assert_frame_equal(live, whole, rtol=1e-9)
    assert whole["is_anomaly"].any()


def test_a_weekly_rhythm_is_not_taken_for_a_broken_daily_cycle():
    """Quiet weekends depart from the weekdays before them: a series is judged by its daily
    cycle only once a week of departures shows it repeats daily."""
    timestamps = pd.date_range("2024-03-04", periods=21 * 96, freq="15min")  # from a Monday
    hours = timestamps.hour.to_numpy() + timestamps.minute.to_numpy() / 60
    workday = np.where(timestamps.day_of_week.to_numpy() < 5, 1.0, 0.45)
    rng = np.random.default_rng(9)
    cycle = np.clip(np.sin((hours - 7) / 14 * np.pi), 0, None)
    values = 120 + 260 * cycle * workday + rng.normal(0, 9, len(timestamps))
    scored = make_detector("auto").fit_score(frame_of(values, "15min"))
    onsets = scored.loc[scored["onset"], "timestamp"]
    assert not onsets.between("2024-03-09", "2024-03-12").any()  # first weekend, Monday
    assert len(onsets) <= 1  # noise sets a record now and then


def test_only_a_daily_cycle_a_week_of_history_can_hold_is_used():
    from vigil.detection.auto import HISTORY
    from vigil.detection.cycles import DAYS_TO_DECIDE, day_rows

    assert day_rows(pd.Timedelta("5min").value) == 288
    assert day_rows(pd.Timedelta("90s").value) == 960
    assert day_rows(pd.Timedelta("1min").value) is None  # a week of minutes: 10,080 points
    assert day_rows(pd.Timedelta("7min").value) is None  # a day is not a whole number of steps
    assert DAYS_TO_DECIDE * 960 <= HISTORY


def test_one_spike_does_not_widen_the_expected_band_to_it():
    spiky = with_spike(gaussian_noise(1000, seed=6), 500, 12)
    scored = make_detector("auto").fit_score(spiky)
    after = scored.iloc[520:]
    assert after["upper"].max() < 4  # the noise's own range, not the spike at 12 sigmas
    assert (after["upper"] > after["value"].quantile(0.95)).all()


def test_a_level_that_climbs_over_minutes_is_one_episode():
    # a deploy that slows everything down over twenty minutes, then stays
    rng = np.random.default_rng(8)
    values = np.r_[rng.normal(50, 1, 2000), np.linspace(50, 62, 20), np.full(1000, 62.0)]
    values[2000:] += rng.normal(0, 1, len(values) - 2000)
    scored = make_detector("auto").score_online(frame_of(values, step="1min"))

    climbing = scored.iloc[2000 : 2000 + RECENT]
    assert climbing["is_anomaly"].sum() > 5  # flagged all along the climb
    assert climbing["onset"].sum() == 1  # as one episode


def test_a_daily_series_that_starts_to_climb_is_flagged_within_hours():
    series = daily_series(12, seed=24)
    start = 10 * 144
    series.loc[start:, "value"] += 0.15 * np.arange(len(series) - start)  # 1.5 an hour
    scored = make_detector("auto").score_online(series)

    first = scored.index[scored["onset"] & (scored.index >= start)][0]
    assert first - start <= 36  # within six hours: the day's level, not its value, told
    assert "against the same times on the last 3 days" in scored.loc[first, "explanation"]


def weekly_series(weeks: int, *, seed: int) -> pd.DataFrame:
    """Fifteen-minute requests with a daily cycle on working days and quiet weekends."""
    timestamps = pd.date_range("2024-03-04", periods=weeks * 7 * 96, freq="15min")  # a Monday
    hours = timestamps.hour.to_numpy() + timestamps.minute.to_numpy() / 60
    workday = np.where(timestamps.day_of_week.to_numpy() < 5, 1.0, 0.45)
    cycle = np.clip(np.sin((hours - 7) / 14 * np.pi), 0, None)
    rng = np.random.default_rng(seed)
    values = 120 + 260 * cycle * workday + rng.normal(0, 9, len(timestamps))
    return pd.DataFrame({"timestamp": timestamps, "value": values})


def test_a_weekly_series_is_judged_by_the_same_time_of_the_week():
    series = weekly_series(4, seed=31)
    dip = series.index[series["timestamp"] == pd.Timestamp("2024-03-26 16:15")][0]  # a Tuesday
    series.loc[dip : dip + 2, "value"] -= 160  # low for a Tuesday afternoon, not for a Sunday
    scored = make_detector("auto").fit_score(series)

    onsets = scored.loc[scored["onset"]]
    assert onsets["timestamp"].between("2024-03-26 16:00", "2024-03-26 17:00").any()
    why = onsets.loc[onsets["timestamp"] >= "2024-03-26 16:00", "explanation"].iloc[0]
    assert "same time of the week in the last 3 weeks" in why
    assert len(onsets) <= 2  # the dip, and at most one record set by noise


def test_a_spike_last_week_is_not_expected_again_this_week():
    series = weekly_series(4, seed=32)
    spike = series.index[series["timestamp"] == pd.Timestamp("2024-03-12 09:30")][0]
    series.loc[spike, "value"] += 330
    scored = make_detector("auto").fit_score(series)

    week_after = scored.loc[spike + 7 * 96 - 4 : spike + 7 * 96 + 4]
    assert not week_after["is_anomaly"].any()
    assert (week_after["expected"] < week_after["value"] + 60).all()


def test_a_weekly_series_streamed_in_batches_scores_as_the_whole_series():
    from vigil.detection.stream import OnlineScorer

    series = weekly_series(4, seed=33)
    series.loc[2300:2302, "value"] -= 160
    scorer = OnlineScorer(make_detector("auto"))
    cuts = [0, 500, 1400, 2000, 2301, 2500, len(series)]
    live = pd.concat([scorer.update(series.iloc[a:b]) for a, b in itertools.pairwise(cuts)])
    whole = make_detector("auto").score_online(series)
    pd.testing.assert_frame_equal(live, whole, rtol=1e-9)
    assert whole["is_anomaly"].any()
