"""The ensemble: what it finds that its members alone miss, and how it says so."""

from __future__ import annotations

import pytest

from vigil.detection import run_detection
from vigil.detection.evaluation import event_scores
from vigil.detection.synthetic import gaussian_noise, labelled_series, with_spike


@pytest.mark.parametrize(
    ("kind", "online"),
    [("trend_change", False), ("trend_change", True), ("level_shift", False)],
)
def test_the_ensemble_finds_slow_changes_that_the_seasonal_residual_absorbs(kind, online):
    found = {"ensemble": 0, "stl": 0}
    for seed in range(4):
        series = labelled_series(kind, seed=seed)
        frame = series[["timestamp", "value"]]
        for name in found:
            flagged = run_detection(frame, name, online=online)["is_anomaly"]
            found[name] += event_scores(series["label"], flagged).true_positives
    assert found["ensemble"] == 4
    assert found["ensemble"] > found["stl"]


def test_the_explanation_names_the_members_that_were_sure():
    series = labelled_series("level_shift", seed=0)
    scored = run_detection(series[["timestamp", "value"]], "ensemble")
    reasons = scored.loc[scored["is_anomaly"], "explanation"]

    assert reasons.str.contains(
        "Level change alone: the median of the last 8 points moved up"
    ).any()
    assert reasons.str.contains(r"^Seasonal decomposition", regex=True).any()


def test_without_a_season_the_residual_member_is_the_robust_z_score():
    spiky = with_spike(gaussian_noise(3000, step="7min"), 2000, 8)
    scored = run_detection(spiky, "ensemble")

    assert scored["is_anomaly"].sum() == 1
    assert scored.loc[2000, "explanation"].startswith("Robust z-score alone: ")


def test_agree_flags_only_where_two_members_are_sure():
    series = labelled_series("level_shift", seed=2)
    frame = series[["timestamp", "value"]]
    anyone = run_detection(frame, "ensemble", combine="any")
    agreed = run_detection(frame, "ensemble", combine="agree")

    assert 0 < agreed["is_anomaly"].sum() < anyone["is_anomaly"].sum()
    assert not (agreed["is_anomaly"] & ~anyone["is_anomaly"]).any()
    assert agreed.loc[agreed["is_anomaly"], "explanation"].str.contains(" agreed: ").all()


def test_isolation_forest_can_join():
    series = labelled_series("spike", seed=1)
    scored = run_detection(series[["timestamp", "value"]], "ensemble", forest=True)
    assert scored["is_anomaly"].sum() >= 1
    assert scored["severity"].between(0, 1).all()
