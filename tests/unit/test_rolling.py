"""The moving median and maximum the detectors read give pandas' rolling ones, faster."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.detection.rolling import moving_max, moving_median

values = st.lists(st.one_of(st.floats(-1e6, 1e6), st.just(float("nan"))), max_size=60)


@settings(max_examples=400, deadline=None)
@given(values, st.integers(1, 70), st.integers(0, 70), st.booleans())
def test_the_moving_median_is_pandas_rolling_median(xs, window, min_periods, center):
    min_periods = min(min_periods, window)
    expected = (
        pd.Series(xs, dtype=float)
        .rolling(window, min_periods=min_periods, center=center)
        .median()
        .to_numpy()
    )
    got = moving_median(np.array(xs, dtype=float), window, min_periods, center=center)
    np.testing.assert_allclose(got, expected, equal_nan=True)


def test_a_gap_is_skipped_and_too_few_values_give_no_median():
    values = np.array([1.0, np.nan, 3.0, np.nan, np.nan, np.nan, 10.0])
    got = moving_median(values, 3, 2)
    np.testing.assert_allclose(got, [np.nan, np.nan, 2.0, np.nan, np.nan, np.nan, np.nan])


maxima = st.lists(
    st.one_of(st.floats(-1e6, 1e6), st.sampled_from([float("nan"), float("inf"), -float("inf")])),
    max_size=60,
)


@settings(max_examples=400, deadline=None)
@given(maxima, st.integers(1, 70), st.integers(0, 70))
def test_the_moving_maximum_is_pandas_rolling_maximum_bit_for_bit(xs, window, min_periods):
    """Infinite values are skipped, as pandas skips them; signed zeros come out the same."""
    min_periods = min(min_periods, window)
    expected = pd.Series(xs, dtype=float).rolling(window, min_periods=min_periods).max()
    got = moving_max(np.array(xs, dtype=float), window, min_periods)
    assert got.tobytes() == expected.to_numpy().tobytes()
