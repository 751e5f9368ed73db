"""Isolation Forest on engineered features, with a threshold on calibrated severity."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NamedTuple, Self

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest

from vigil.detection import calibration
from vigil.detection.base import GRID_SAMPLE, Detector, OnlineState, check_window
from vigil.detection.explain import number, odds
from vigil.detection.features import build_features, causal_features, time_feature_names
from vigil.detection.params import MAX_SEED, MAX_SPAN, Param
from vigil.detection.scored import (
    deviation_from_severity,
    make_scored_frame,
    severity_from_deviation,
    severity_from_surprise,
)
from vigil.detection.tidy import infer_step
from vigil.detection.zscore import robust_spread

TAIL_QUANTILE = 0.99
#: Forest scores rarer than this may take the severity of their largest feature deviation.
MAGNITUDE_GATE = 0.01
# The features that measure the point itself: a spike's difference and spread would also
# make its next few neighbours look extreme.
MEASURED_FEATURES = ("value", "deviation_from_recent")
FEATURE_WORDS = {
    "value": "value",
    "difference": "change from the previous point",
    "deviation_from_recent": "distance from recent values",
    "recent_spread": "recent spread",
    "time_of_day_sin": "time of day",
    "time_of_day_cos": "time of day",
    "day_of_week_sin": "day of week",
    "day_of_week_cos": "day of week",
}
BASE_FEATURES = ("value", "difference", "deviation_from_recent", "recent_spread")
#: Online mode's first forest is grown after this many points (at least 4 windows).
ONLINE_WARMUP = 256
#: Typical points whose path credits make the baseline of a feature's contribution.
CONTRIBUTION_SAMPLE = 256


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


def path_contributions(forest: IsolationForest, matrix: np.ndarray) -> np.ndarray:
    """How much each feature did to isolate each row: every split on a row's path credits
    its feature with 1 / (path length), averaged over the trees, so features that cut a
    point off early get the most."""
    totals = np.zeros(matrix.shape, dtype=float)
    for tree, used in zip(forest.estimators_, forest.estimators_features_, strict=True):
        paths = tree.decision_path(matrix[:, used]).tocsr()
        lengths = np.diff(paths.indptr)
        rows = np.repeat(np.arange(len(matrix)), lengths)
        split_on = tree.tree_.feature[paths.indices]
        is_split = split_on >= 0
        credit = 1.0 / np.maximum(lengths - 1, 1)[rows]
        np.add.at(totals, (rows[is_split], used[split_on[is_split]]), credit[is_split])
    return totals / len(forest.estimators_)


class Unusual(NamedTuple):
    """Per row: the forest score's tail probability in its model's training scores, the
    severity the model gives it, and that severity as a Gaussian deviation (what the series'
    own history ranks)."""

    probability: np.ndarray
    severity: np.ndarray
    deviation: np.ndarray


@dataclass(frozen=True)
class ForestModel:
    """A grown forest with what scoring needs: its feature columns, the values that fill gaps,
    the calibration of its scores, and each feature's typical value, spread and credit."""

    forest: IsolationForest
    columns: list[str]
    fill: pd.Series
    calibration: TailCalibration
    center: np.ndarray
    scale: np.ndarray
    typical_credit: np.ndarray

    def matrix(self, features: pd.DataFrame) -> np.ndarray:
        chosen = features.reindex(columns=self.columns)
        return chosen.fillna(self.fill).fillna(0.0).to_numpy(dtype=float)

    def raw_scores(self, matrix: np.ndarray) -> np.ndarray:
        scores: np.ndarray = -self.forest.score_samples(matrix)
        return scores


class IsolationForestDetector(Detector):
    """Scikit-learn's IsolationForest on value, difference, rolling statistics and time.

    A point is anomalous when few random splits isolate it. The forest's own score has no
    natural cut-off (contamination="auto" flags far too much of a clean series), so scores are
    calibrated against the training scores' tail, and a point may be flagged when that
    severity reaches `threshold`; a flag starts only where it is also rare in the series' own
    history of such severities (`detection.calibration`), which gives the severity shown.

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
            "Flag points the forest finds at least this unusual against its training points "
            "(0.7 is about as rare as a 3.5-sigma deviation), where that is also rare in the "
            "series' own history.",
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
            # online, each forest reads its training window and two feature windows before it
            maximum=10_000,
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
            maximum=MAX_SPAN,
        ),
        Param(
            "time_features",
            bool,
            True,
            "Time of day and week",
            "Let the forest see time of day and week: a value normal at noon may be odd at night.",
        ),
        Param(
            "random_state",
            int,
            0,
            "Random seed",
            "Seed for reproducible forests.",
            minimum=0,
            maximum=MAX_SEED,
        ),
        Param(
            "history",
            int,
            8192,
            "Training window (online)",
            "In online mode, each forest is grown on this many previous points.",
            minimum=64,
            # the training features of one forest are held in memory: rows x 8 numbers
            maximum=1_000_000,
        ),
        Param(
            "refit_every",
            int,
            0,
            "Refit every (online)",
            "In online mode, grow a new forest after this many points; 0 uses the training window.",
            minimum=0,
            maximum=10_000_000,
        ),
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
        history: int = 8192,
        refit_every: int = 0,
    ) -> None:
        self.threshold = threshold
        self.window = window
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.time_features = time_features
        self.random_state = random_state
        self.history = history
        self.refit_every = refit_every

    def _features(self, frame: pd.DataFrame) -> pd.DataFrame:
        return build_features(frame, self.window, with_time=self.time_features)

    def _grow(self, training: pd.DataFrame, present: np.ndarray) -> tuple[ForestModel, np.ndarray]:
        """Grow and calibrate a forest on the rows of `training` that have a value; the
        model and its scores of every training row."""
        fill = training[present].median()
        matrix = training.fillna(fill).fillna(0.0).to_numpy(dtype=float)
        forest = IsolationForest(
            n_estimators=self.n_estimators,
            max_samples=min(self.max_samples, int(present.sum())),
            random_state=self.random_state,
            n_jobs=1,
        ).fit(matrix[present])
        raw = -forest.score_samples(matrix)
        fitted = matrix[present]
        centre = np.median(fitted, axis=0)
        spreads = np.array([robust_spread(column) for column in fitted.T])
        sample = fitted[:: max(1, len(fitted) // CONTRIBUTION_SAMPLE)]
        typical = path_contributions(forest, sample).mean(axis=0)
        model = ForestModel(
            forest=forest,
            columns=list(training.columns),
            fill=fill,
            calibration=TailCalibration(raw[present]),
            center=centre,
            scale=np.where(spreads > 0, spreads, 1.0),
            typical_credit=np.maximum(typical, 1e-9),
        )
        return model, raw

    def _fit(self, frame: pd.DataFrame) -> Self:
        self._learn(frame)
        return self

    def _learn(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        """Grow the forest on the whole series and keep its last scores (as calibrated
        deviations: later ones are ranked among them); the features and raw forest scores."""
        check_window(self.window, frame)
        features = self._features(frame)
        self.model_, raw = self._grow(features, frame["value"].notna().to_numpy())
        segments = [(0, len(frame), self.model_)]
        unusual = self._unusual(segments, features, raw).deviation
        self.history_ = unusual[-calibration.HISTORY :].copy()
        self.seen_ = len(frame)
        return features, raw

    def _fit_score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Grow the forest on the series and score it, each point's score ranked among the
        scores before it (the first points', among the points after them)."""
        features, raw = self._learn(frame)
        segments = [(0, len(frame), self.model_)]
        unusual = self._unusual(segments, features, raw)
        calibrated = calibration.calibrate(
            unusual.deviation,
            self._past(unusual, raw),
            learning=calibration.LEARNING,
            ahead=True,
        )
        return self._scored(frame, segments, features, raw, unusual, calibrated)

    def member_fit_score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`fit_score` as a member of a combination (the ensemble) wants it: the severity of the
        forest's own calibration (not ranked in the series' history), flags at the threshold."""
        features, raw = self._learn(frame)
        segments = [(0, len(frame), self.model_)]
        return self._scored(frame, segments, features, raw, self._unusual(segments, features, raw))

    def _score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Score with the fitted forest, each score ranked among the fitted series' last
        scores and the frame's before it."""
        features = self._features(frame)
        raw = self.model_.raw_scores(self.model_.matrix(features))
        segments = [(0, len(frame), self.model_)]
        unusual = self._unusual(segments, features, raw)
        calibrated = calibration.calibrate_continuation(
            self.history_,
            self.seen_,
            unusual.deviation,
            self._past(unusual, raw),
        )
        return self._scored(frame, segments, features, raw, unusual, calibrated)

    def member_score(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`score` as a member of a combination wants it (see `member_fit_score`)."""
        features = self._features(frame)
        raw = self.model_.raw_scores(self.model_.matrix(features))
        segments = [(0, len(frame), self.model_)]
        return self._scored(frame, segments, features, raw, self._unusual(segments, features, raw))

    def _past(self, unusual: Unusual, raw: np.ndarray) -> np.ndarray:
        """Rows the forest scored whose severity by its own model reaches the threshold."""
        past: np.ndarray = (unusual.severity >= self.threshold) & ~np.isnan(raw)
        return past

    def online_warmup(self, frame: pd.DataFrame | None = None) -> int:
        """Until the first forest is grown, and calibration.LEARNING scores more, from the
        parameters alone."""
        return self._first_forest() + calibration.LEARNING

    def _first_forest(self) -> int:
        return max(ONLINE_WARMUP, 4 * self.window, GRID_SAMPLE)

    def refit_points(self, length: int) -> list[int]:
        """Rows where online mode grows a new forest: the end of the warm-up, then each time
        the series has grown fourfold, then every `refit_every` rows (0: four training windows)."""
        interval = self.refit_every or 4 * self.history
        points, point = [], self._first_forest()
        while point < length:
            points.append(point)
            point = min(point * 4, point + interval)
        return points

    def online_context(self) -> int:
        return self.history + 2 * self.window + 2

    def online_lookback(self, state: OnlineState, start: int, end: int) -> int:
        """The features' window, unless a forest grows in these rows (from the rows before)."""
        if "step" not in state.memory or any(start <= p for p in self.refit_points(end)):
            return self.online_context()
        return 2 * self.window + 2

    def _score_online(self, frame: pd.DataFrame, state: OnlineState) -> pd.DataFrame:
        """Forests grown on the previous `history` rows at each refit point, each scoring the
        rows up to the next one, each score ranked among the scores before it. A stream keeps
        the latest forest, and the latest scores, in `state`."""
        frame, segments, features, raw = self._online_parts(frame, state)
        unusual = self._unusual(segments, features, raw)
        calibrated = calibration.calibrate_online(
            unusual.deviation,
            state,
            self._past(unusual, raw),
            learning=self.online_warmup(),
        )
        return self._scored(frame, segments, features, raw, unusual, calibrated)

    def member_score_online(self, frame: pd.DataFrame, state: OnlineState) -> pd.DataFrame:
        """`_score_online` as a member of a combination wants it (see `member_fit_score`)."""
        frame, segments, features, raw = self._online_parts(frame, state)
        return self._scored(frame, segments, features, raw, self._unusual(segments, features, raw))

    def _online_parts(
        self, frame: pd.DataFrame, state: OnlineState
    ) -> tuple[pd.DataFrame, list[tuple[int, int, ForestModel]], pd.DataFrame, np.ndarray]:
        """The frame, the forests' segments, the features and the raw forest scores (NaN
        where no forest scored)."""
        n, offset = len(frame), state.offset
        total = offset + n
        memory = state.memory
        features = causal_features(frame, self.window, with_time=self.time_features)
        if "step" not in memory:
            memory["step"] = infer_step(frame["timestamp"].iloc[:GRID_SAMPLE])
        step = memory["step"]
        present = frame["value"].notna().to_numpy()
        timestamps = frame["timestamp"].reset_index(drop=True)
        points = self.refit_points(total)
        kept: dict[int, ForestModel | None] = memory.setdefault("models", {})
        first = offset + state.scored_from  # rows before it are context, left unscored
        current = [p for p in points if p <= first][-1:]  # the forest scoring the first row
        wanted = current + [p for p in points if p > first]
        missing = [p for p in wanted if p not in kept]

        def grow(start: int) -> ForestModel | None:
            history = slice(max(0, start - self.history) - offset, start - offset)
            if present[history].sum() < self.min_points:
                return None
            columns = list(BASE_FEATURES) + (
                time_feature_names(timestamps.iloc[history], step) if self.time_features else []
            )
            return self._grow(features.iloc[history][columns], present[history])[0]

        # Each forest learns from rows before its segment only, so they can grow side by side;
        # the tree building runs outside the GIL.
        with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as workers:
            kept.update(zip(missing, workers.map(grow, missing), strict=True))
        for start in [p for p in kept if p not in wanted]:
            del kept[start]
        raw = np.full(n, np.nan)
        segments: list[tuple[int, int, ForestModel]] = []
        for start, end in zip(wanted, [*wanted[1:], total], strict=False):
            model = kept[start]
            rows = slice(max(start - offset, state.scored_from), end - offset)
            if model is not None and rows.start < rows.stop:
                raw[rows] = model.raw_scores(model.matrix(features.iloc[rows]))
                segments.append((rows.start, rows.stop, model))
        return frame, segments, features, raw

    def _unusual(
        self,
        segments: list[tuple[int, int, ForestModel]],
        features: pd.DataFrame,
        raw: np.ndarray,
    ) -> Unusual:
        """How unusual each row is by each segment's model: the forest score's tail probability
        in the model's own training scores, and a severity from it, raised to the largest
        measured deviation for the forest's rarest points."""
        n = len(raw)
        probability = np.ones(n)
        largest = np.zeros(n)
        for start, end, model in segments:
            rows = slice(start, end)
            probability[rows] = model.calibration.probability(raw[rows])
            measured = [model.columns.index(name) for name in MEASURED_FEATURES]
            matrix = model.matrix(features.iloc[rows])[:, measured]
            deviation = np.abs(matrix - model.center[measured]) / model.scale[measured]
            largest[rows] = deviation.max(axis=1)
        forest_severity = severity_from_surprise(-np.log(probability))
        magnitude = severity_from_deviation(largest)
        severity = np.where(
            probability <= MAGNITUDE_GATE, np.maximum(forest_severity, magnitude), forest_severity
        )
        severity = np.where(np.isnan(raw), np.nan, severity)
        return Unusual(probability, severity, deviation_from_severity(severity))

    def _scored(
        self,
        frame: pd.DataFrame,
        segments: list[tuple[int, int, ForestModel]],
        features: pd.DataFrame,
        raw: np.ndarray,
        unusual: Unusual,
        calibrated: calibration.Calibration | None = None,
    ) -> pd.DataFrame:
        """Flags and explanations: where the model's severity reaches the threshold and, with
        `calibrated`, the row is also rare in the series' own history, whose severity it then
        takes."""
        n = len(frame)
        probability, severity = unusual.probability, unusual.severity
        flagged = self._past(unusual, raw)
        if calibrated is not None:
            flagged, severity = calibrated.flagged, calibrated.severity
        explanation = np.full(n, "", dtype=object)
        observed = frame["value"].to_numpy(dtype=float)
        for start, end, model in segments:
            rows = start + np.flatnonzero(flagged[start:end])
            if rows.size:
                explanation[rows] = self._explain(
                    model, features.iloc[rows], observed[rows], probability[rows]
                )
        return make_scored_frame(
            frame, score=raw, severity=severity, is_anomaly=flagged, explanation=explanation
        )

    @staticmethod
    def _explain(
        model: ForestModel, features: pd.DataFrame, observed: np.ndarray, probability: np.ndarray
    ) -> list[str]:
        """Sentences naming the (at most two) features that did most to isolate each point,
        by their path credit over a typical point's, with their robust deviations."""
        matrix = model.matrix(features)
        credit = path_contributions(model.forest, matrix) / model.typical_credit
        deviation = (matrix - model.center) / model.scale
        recent = features["value"].to_numpy() - features["deviation_from_recent"].to_numpy()
        sentences = []
        for i in range(len(matrix)):
            named: list[str] = []
            for column in np.argsort(-credit[i]):
                words = FEATURE_WORDS[model.columns[column]]
                if any(words in part for part in named):
                    continue
                named.append(
                    f"{words} ({abs(deviation[i, column]):.1f} robust deviations "
                    f"{'above' if deviation[i, column] >= 0 else 'below'} typical)"
                )
                if len(named) == 2:
                    break
            sentences.append(
                f"{number(observed[i])} is isolated unusually fast ({odds(probability[i])} "
                f"points score this high); set apart most by its {' and '.join(named)}; "
                f"recent values were near {number(recent[i])}"
            )
        return sentences
