"""The HTML report: what was found first, the chart at full resolution (or said to be
downsampled), the flagged points folded."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from vigil.components.charts import scored_figure
from vigil.components.report import REPORT_POINTS, html_report, report_figure
from vigil.detection import run_detection
from vigil.detection.synthetic import gaussian_noise, with_spike


def scored(points: int) -> pd.DataFrame:
    return run_detection(with_spike(gaussian_noise(points, seed=3), points - 500, 12), "zscore")


def trace(figure, name: str):
    return next(t for t in figure.data if t.name == name)


def test_a_series_that_fits_is_drawn_with_every_point():
    result = scored(10_320)
    figure, drawn = report_figure(scored_figure(result))
    assert drawn == ""
    for name in ("value", "expected", "expected band", "lower bound", "severity"):
        assert len(trace(figure, name).x) == 10_320
    np.testing.assert_array_equal(trace(figure, "value").y, result["value"].to_numpy())


def test_a_longer_series_is_drawn_from_its_peaks_and_says_so():
    result = scored(3 * REPORT_POINTS)
    figure, drawn = report_figure(scored_figure(result))
    value = trace(figure, "value")
    assert len(value.x) <= REPORT_POINTS
    assert result["value"].max() in value.y  # the spike is drawn, not averaged away
    assert list(trace(figure, "expected band").x) == list(value.x)  # the band stays aligned
    assert f"of the series' {3 * REPORT_POINTS:,} points" in drawn
    assert len(trace(figure, "anomaly").x) == int(result["is_anomaly"].sum())


def test_the_report_says_what_was_found_first_and_folds_the_flagged_points():
    result = scored(10_320)
    flagged = result[result["is_anomaly"]]
    run = {"dataset_name": "cpu.csv", "series": "cpu", "detector": "zscore", "params": {}}
    episodes = [
        {
            "span": "2024-01-01 10:00",
            "duration": "1 point",
            "peak_time": "2024-01-01 10:00",
            "severity_text": "0.99",
            "value_text": "12 vs 0",
            "explanation": "12 is far above 0",
        }
    ]
    report = html_report(
        scored_figure(result),
        flagged,
        run,
        rows=len(result),
        min_severity=0.0,
        episodes=episodes,
        span="2024-01-01 00:00 → 2024-01-08 04:00",
    )
    summary = report.index('class="summary"')
    assert summary < report.index("<h2>Chart</h2>") < report.index('<details id="flagged-points">')
    assert re.search(r"1 anomaly episode \(\d+ flagged points?\) in 10,320 points", report)
    assert "(2024-01-01 00:00 → 2024-01-08 04:00), found by z-score." in " ".join(report.split())
    assert "The most severe: 2024-01-01 10:00, 12 is far above 0" in report
    assert '<details id="settings">' in report
    assert 'name="viewport"' in report
    assert "Downsampled" not in report
