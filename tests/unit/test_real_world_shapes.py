"""The shapes real series taught us (detection.synthetic.REAL_WORLD_KINDS): the default
detector finds the one planted anomaly and raises few false alarms around it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vigil.detection import make_detector
from vigil.detection.evaluation import false_episodes
from vigil.detection.synthetic import REAL_WORLD_KINDS, labelled_series


@pytest.mark.parametrize("kind", REAL_WORLD_KINDS)
def test_each_shape_is_deterministic_and_labels_one_anomaly_or_none(kind):
    series = labelled_series(kind, seed=3)
    pd.testing.assert_frame_equal(series, labelled_series(kind, seed=3))
    labelled = np.flatnonzero(series["label"].to_numpy())
    if kind == "first_days":
        assert labelled.size == 0
        assert series["timestamp"].iloc[-1] - series["timestamp"].iloc[0] < pd.Timedelta("3D")
    else:
        assert labelled.size > 0
        assert (np.diff(labelled) == 1).all()  # one run


@pytest.mark.parametrize("kind", REAL_WORLD_KINDS)
def test_auto_finds_the_anomaly_with_few_false_alarms(kind):
    series = labelled_series(kind, seed=0)
    scored = make_detector("auto").score_online(series[["timestamp", "value"]])
    counts = false_episodes(series["label"], scored["episode"], series["timestamp"])

    assert counts.false_per_day <= 0.25
    if kind == "first_days":
        assert not scored["is_anomaly"].any()  # a new series is learnt, not alarmed about
    else:
        assert counts.episodes - counts.false >= 1  # an episode touches the anomaly
