"""Every registered detector keeps the shared protocol (STYLE.md)."""

from __future__ import annotations

import inspect
import pickle

import numpy as np
import pandas as pd
import pytest

from vigil.detection import DETECTORS, make_detector, run_detection
from vigil.detection.errors import DataError, NotFittedError
from vigil.detection.scored import SCORED_COLUMNS
from vigil.detection.synthetic import gaussian_noise, seasonal_series, with_spike

NAMES = sorted(DETECTORS)


@pytest.fixture(scope="module")
def noise_10k() -> pd.DataFrame:
    return gaussian_noise(10_000, seed=3)


@pytest.mark.parametrize("name", NAMES)
def test_scored_frame_has_the_shared_columns_rows_and_types(name, spiky_frame):
    scored = run_detection(spiky_frame, name)

    assert tuple(scored.columns) == SCORED_COLUMNS
    assert len(scored) == len(spiky_frame)
    assert scored.index.equals(spiky_frame.index)
    assert pd.api.types.is_datetime64_any_dtype(scored["timestamp"])
    assert scored["timestamp"].is_monotonic_increasing
    assert scored["is_anomaly"].dtype == bool
    for column in ("value", "score", "severity", "expected", "lower", "upper"):
        assert scored[column].dtype == float, column
    assert scored["onset"].dtype == bool
    assert str(scored["episode"].dtype) == "Int64"
    judged = scored["severity"].notna()
    assert scored.loc[judged, "severity"].between(0, 1).all()
    # only a learning period at the start goes unjudged
    assert judged.iloc[judged.idxmax() :].all()
    assert judged.mean() >= 0.5  # a day of minute points learning, of two


@pytest.mark.parametrize("name", NAMES)
def test_scoring_leaves_the_input_untouched(name, spiky_frame):
    before = spiky_frame.copy()
    run_detection(spiky_frame, name)
    pd.testing.assert_frame_equal(spiky_frame, before)


@pytest.mark.parametrize("name", NAMES)
def test_an_obvious_spike_is_flagged_and_explained(name, spiky_frame):
    scored = run_detection(spiky_frame, name)

    assert scored.loc[1500, "is_anomaly"]
    assert scored["severity"].idxmax() == 1500
    assert f"{spiky_frame.loc[1500, 'value']:.1f}"[:3] in scored.loc[1500, "explanation"]
    assert (scored["explanation"] != "").sum() == scored["is_anomaly"].sum()


@pytest.mark.parametrize("name", NAMES)
def test_clean_noise_flags_at_most_half_a_percent(name, noise_10k):
    scored = run_detection(noise_10k, name)
    assert scored["is_anomaly"].mean() <= 0.005


@pytest.mark.parametrize("name", NAMES)
def test_a_six_sigma_spike_gets_severity_of_at_least_0_9(name, noise_10k):
    spiky = with_spike(noise_10k, 5000, 6)
    scored = run_detection(spiky, name)
    assert scored.loc[5000, "severity"] >= 0.9


@pytest.mark.parametrize("name", NAMES)
def test_missing_values_are_never_flagged_and_keep_the_band_whole(name, spiky_frame):
    holey = spiky_frame.copy()
    holey.loc[100:130, "value"] = np.nan
    holey.loc[700, "value"] = np.nan

    scored = run_detection(holey, name)

    assert not scored.loc[holey["value"].isna(), "is_anomaly"].any()
    assert scored.loc[holey["value"].isna(), "severity"].isna().all()
    assert scored.loc[1500, "is_anomaly"]
    if scored["upper"].notna().any():  # whole from the first judged point (after learning)
        judged = scored.loc[scored["severity"].first_valid_index() :]
        assert judged["upper"].notna().all()
        assert judged["lower"].notna().all()


@pytest.mark.parametrize("name", NAMES)
def test_too_few_points_is_a_clear_error(name):
    tiny = gaussian_noise(5)
    with pytest.raises(DataError, match="at least"):
        run_detection(tiny, name)


@pytest.mark.parametrize("name", NAMES)
def test_scoring_before_fitting_is_a_clear_error(name, spiky_frame):
    with pytest.raises(NotFittedError, match="fit"):
        make_detector(name).score(spiky_frame)


@pytest.mark.parametrize("name", NAMES)
def test_parameters_are_declared_once_and_init_agrees(name):
    cls = DETECTORS[name]
    signature = inspect.signature(cls.__init__)
    keywords = {
        key: parameter.default
        for key, parameter in signature.parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    }
    assert keywords == {spec.name: spec.default for spec in cls.PARAMS}
    assert make_detector(name).get_params() == keywords


@pytest.mark.parametrize("name", NAMES)
def test_parameters_survive_a_round_trip_through_text(name):
    detector = make_detector(name)
    as_text = {key: str(value) for key, value in detector.get_params().items()}
    assert make_detector(name, as_text).get_params() == detector.get_params()


@pytest.mark.parametrize("name", NAMES)
def test_unsorted_timestamps_are_refused_not_misread(name, spiky_frame):
    shuffled = spiky_frame.sample(frac=1, random_state=0)
    with pytest.raises(DataError, match="sorted"):
        run_detection(shuffled, name)


@pytest.mark.parametrize("name", NAMES)
def test_a_gap_in_time_does_not_shift_the_season(name):
    series = seasonal_series(n=4320, spike_at=3000)
    with_gap = series.drop(index=range(1000, 1100)).reset_index(drop=True)
    scored = run_detection(with_gap, name)
    spike_row = with_gap.index[with_gap["timestamp"] == series.loc[3000, "timestamp"]][0]
    assert scored.loc[spike_row, "is_anomaly"]
    assert scored["is_anomaly"].sum() <= 10


# Scoring changes nothing on the detector (sklearn's rule: only `fit` sets `*_` attributes).

QUICK = {"iforest": {"n_estimators": 30}}


def state_of(detector) -> bytes:
    """Everything the detector holds, deep: pickled, so arrays and nested members count."""
    return pickle.dumps(vars(detector))


@pytest.fixture(scope="module")
def season_stream() -> pd.DataFrame:
    """Two weeks of 15-minute points with a daily season, a spike, a hole and a gap."""
    frame = seasonal_series(1344, seed=4, spike_at=1000, step="15min")
    frame.loc[[300, 301], "value"] = np.nan
    return frame.drop(index=range(500, 520)).reset_index(drop=True)


@pytest.mark.parametrize("name", NAMES)
def test_scoring_a_fitted_detector_changes_nothing_on_it(name, season_stream):
    detector = make_detector(name, QUICK.get(name)).fit(season_stream.iloc[:900])
    fitted = state_of(detector)

    first = detector.score(season_stream.iloc[900:])
    assert state_of(detector) == fitted
    detector.score_online(season_stream)
    assert state_of(detector) == fitted
    pd.testing.assert_frame_equal(detector.score(season_stream.iloc[900:]), first)


@pytest.mark.parametrize("name", NAMES)
def test_online_scoring_and_streaming_change_nothing_on_the_detector(name, season_stream):
    from vigil.detection.stream import OnlineScorer

    detector = make_detector(name, QUICK.get(name))
    unfitted = state_of(detector)

    detector.score_online(season_stream)
    assert state_of(detector) == unfitted
    scorer = OnlineScorer(detector)
    for start in range(0, len(season_stream), 300):
        scorer.learning_left()
        scorer.update(season_stream.iloc[start : start + 300])
    assert state_of(detector) == unfitted
    assert vars(detector) == make_detector(name, QUICK.get(name)).get_params()


@pytest.mark.parametrize("name", NAMES)
def test_the_learning_period_is_known_before_any_point_is_scored(name, season_stream):
    from vigil.detection.stream import OnlineScorer

    detector = make_detector(name, QUICK.get(name))
    least = detector.online_warmup()
    assert OnlineScorer(detector).learning_left() == least > 0

    whole = seasonal_series(1344, seed=4, step="15min")  # no gap: rows are grid rows
    scored = detector.score_online(whole)
    assert detector.online_warmup(whole) == scored.attrs["warmup_rows"] >= least


@pytest.mark.parametrize("name", NAMES)
def test_fit_score_leaves_a_fitted_detector_that_scores_new_points(name, season_stream):
    detector = make_detector(name, QUICK.get(name))
    detector.fit_score(season_stream.iloc[:900])
    fitted = state_of(detector)

    later = detector.score(season_stream.iloc[900:])

    assert later.index.equals(season_stream.index[900:])
    assert later["severity"].notna().any()
    assert state_of(detector) == fitted
