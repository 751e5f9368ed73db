"""Isolation Forest on engineered features, with a threshold on calibrated severity."""

from __future__ import annotations

from typing import Self

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest

from detection.base import Detector, check_window
from detection.explain import describe_flagged, number, odds
from detection.features import build_features
from detection.params import Param
from detection.scored import make_scored_frame, severity_from_deviation, severity_from_surprise
from detection.zscore import robust_spread

TAIL_QUANTILE = 0.99
#: Forest scores rarer than this may take the severity of their largest feature deviation.
MAGNITUDE_GATE = 0.01
# The features that measure the point itself: a spike's difference and spread would also
# make its next few neighbours look extreme.
MEASURED_FEATURES = ("value", "deviation_from_recent")
FEATURE_WORDS = {"value": "value", "deviation_from_recent": "distance from recent values"}


class TailCalibration:
    """Tail probability of a score, from the training scores (peaks over a threshold).

    Below the 99th percentile the probability is the empirical share of training scores at
    least as high; above it the excesses follow an exponential tail fitted to the training
    excesses, so scores beyond anything seen still get a finite, ordered probability.
    """

    def __init__(self, training_scores: np.ndarray) -> None:
        scores = np.sort(training_scores[~np.isnan(training_scores)])
        self.sorted_ = scores
        self.threshold_ = float(np.quantile(scores, TAIL_QUANTILE))
        excess = scores[scores > self.threshold_] - self.threshold_
        spread = float(np.std(scores)) or 1e-9
        self.mean_excess_ = float(excess.mean()) if excess.size else spread * 0.1
        self.mean_excess_ = max(self.mean_excess_, 1e-6 * spread, 1e-12)

    def probability(self, scores: np.ndarray) -> np.ndarray:
        """P(training score >= s) for each s."""
        scores = np.asarray(scores, dtype=float)
        at_least = len(self.sorted_) - np.searchsorted(self.sorted_, scores, side="left")
        empirical = np.maximum(at_least, 1) / len(self.sorted_)
        share_above = 1 - TAIL_QUANTILE
        tail = share_above * np.exp(-(scores - self.threshold_) / self.mean_excess_)
        return np.where(scores > self.threshold_, np.minimum(tail, share_above), empirical)


class IsolationForestDetector(Detector):
    """Scikit-learn's IsolationForest on value, difference, rolling statistics and time.

    A point is anomalous when few random splits isolate it. The forest's own score has no
    natural cut-off (contamination="auto" flags far too much of a clean series), so scores are
    calibrated against the training scores' tail and a point is flagged when its severity
    reaches `threshold`.

    The forest says *whether* a point is unusual but not by how much: its scores saturate, so
    a 6-sigma spike is barely more isolated than the most extreme of 10,000 ordinary points.
    For points in the forest's top 1%, severity is therefore raised to that of the point's
    largest robust deviation in value or in distance from recent values, and the explanation
    names which.
    """

    name = "iforest"
    label = "Isolation Forest"
    summary = "How easily random splits isolate a point, on engineered features."
    PARAMS = (
        Param(
            "threshold",
            float,
            0.7,
            "Flag at severity",
            "Flag points whose calibrated severity is at least this (0.7 is about as rare "
            "as a 3.5-sigma deviation).",
            minimum=0.05,
            maximum=0.999,
            step=0.01,
        ),
        Param(
            "window",
            int,
            12,
            "Feature window (points)",
            "Previous points the rolling median and spread features look at.",
            minimum=2,
        ),
        Param(
            "n_estimators",
            int,
            200,
            "Trees",
            "Number of trees in the forest.",
            minimum=10,
            maximum=2000,
        ),
        Param(
            "max_samples",
            int,
            1024,
            "Samples per tree",
            "Points drawn to grow each tree; more separates extreme points better.",
            minimum=16,
        ),
        Param(
            "time_features",
            bool,
            True,
            "Time of day and week",
            "Let the forest see time of day and week: a value normal at noon may be odd at night.",
        ),
        Param("random_state", int, 0, "Random seed", "Seed for reproducible forests.", minimum=0),
    )

    def __init__(
        self,
        *,
        threshold: float = 0.7,
        window: int = 12,
        n_estimators: int = 200,
        max_samples: int = 1024,
        time_features: bool = True,
        random_state: int = 0,
    ) -> None:
        self.threshold = threshold
        self.window = window
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.time_features = time_features
        self.random_state = random_state

    def _features(self, frame: pd.DataFrame) -> pd.DataFrame:
        return build_features(frame, self.window, with_time=self.time_features)

    def _fit(self, frame: pd.DataFrame) -> Self:
        self._learn(frame, self._features(frame))
        return self

    def _learn(self, frame: pd.DataFrame, features: pd.DataFrame) -> np.ndarray:
        """Grow the forest and calibrate on the training scores, which are returned."""
        check_window(self.window, frame)
        present = frame["value"].notna().to_numpy()
        matrix = features.to_numpy()
        self.forest_ = IsolationForest(
            n_estimators=self.n_estimators,
            max_samples=min(self.max_samples, int(present.sum())),
            random_state=self.random_state,
            n_jobs=1,
        ).fit(matrix[present])
        self.feature_names_ = list(features.columns)
        raw = -self.forest_.score_samples(matrix)
        self.calibration_ = TailCalibration(raw[present])
        self.typical_score_ = float(np.median(raw[present]))
        measured = features.loc[present, list(MEASURED_FEATURES)]
        self.feature_center_ = measured.median().to_numpy()
        spreads = np.array([robust_spread(measured[name]) for name in MEASURED_FEATURES])
        self.feature_scale_ = np.where(spreads > 0, spreads, 1.0)
        return raw

    def _fit_score(self, frame: pd.DataFrame) -> pd.DataFrame:
        features = self._features(frame)
        return self._scored(frame, features, self._learn(frame, features))

    def _score(self, frame: pd.DataFrame) -> pd.DataFrame:
        features = self._features(frame)
        if list(features.columns) != self.feature_names_:
            features = features.reindex(columns=self.feature_names_, fill_value=0.0)
        return self._scored(frame, features, -self.forest_.score_samples(features.to_numpy()))

    def _scored(self, frame: pd.DataFrame, features: pd.DataFrame, raw: np.ndarray) -> pd.DataFrame:
        probability = self.calibration_.probability(raw)
        forest_severity = severity_from_surprise(-np.log(probability))
        measured = features[list(MEASURED_FEATURES)].to_numpy()
        deviations = np.abs(measured - self.feature_center_) / self.feature_scale_
        strongest = deviations.argmax(axis=1)
        largest = deviations[np.arange(len(deviations)), strongest]
        magnitude = severity_from_deviation(largest)
        severity = np.where(
            probability <= MAGNITUDE_GATE, np.maximum(forest_severity, magnitude), forest_severity
        )
        flagged = severity >= self.threshold
        observed = frame["value"].to_numpy(dtype=float)
        recent = features["value"].to_numpy() - features["deviation_from_recent"].to_numpy()

        def describe(i: int) -> str:
            feature = FEATURE_WORDS[MEASURED_FEATURES[strongest[i]]]
            return (
                f"{number(observed[i])} is isolated unusually fast ({odds(probability[i])} "
                f"points score this high); most unusual in its {feature}, {largest[i]:.1f} "
                f"robust deviations from typical; recent values were near {number(recent[i])}"
            )

        return make_scored_frame(
            frame,
            score=raw,
            severity=severity,
            is_anomaly=flagged,
            explanation=describe_flagged(flagged, describe),
        )
