"""The Analyze page's chart: what hovering a flagged point says, and bands that make sense."""

from __future__ import annotations

import numpy as np
import pandas as pd

from vigil.components.charts import scored_figure
from vigil.detection import run_detection
from vigil.detection.synthetic import seasonal_series
from vigil.services import dataset_store


def trace(figure, name: str):
    return next(t for t in figure.data if t.name == name)


def counts_csv() -> bytes:
    """25 days of hourly request counts, mostly 0 to 4, and one burst of 40."""
    counts = np.random.default_rng(7).poisson(1.5, 600)
    counts[400] = 40
    times = pd.date_range("2024-05-01", periods=600, freq="h")
    return pd.DataFrame({"timestamp": times, "requests": counts}).to_csv(index=False).encode()


def test_hovering_a_flagged_point_says_its_severity_expected_value_and_why(dash_app):
    from vigil.pages.analyze import run_analysis, show_result

    info, _ = dataset_store().add(counts_csv(), "requests.csv")
    key, _ = run_analysis(lambda _t: None, 1, "requests", "zscore", False, info.id, [], [])
    figure, rows, _summary = show_result(key, 0.0)

    burst = next(row for row in rows if row["value"] == "40")
    anomalies = trace(figure, "anomaly")
    hover = next(text for text in anomalies.hovertext if "value 40<" in text)
    assert "%{hovertext}" in anomalies.hovertemplate
    assert hover.startswith("2024-05-17 16:00:00 UTC<br>value 40<br>expected 1<br>")
    assert f"severity {burst['severity']:.2f}" in hover
    assert burst["explanation"][:30] in hover.replace("<br>", " ")


def test_a_count_series_gets_no_band_below_zero(dash_app):
    from vigil.pages.analyze import run_analysis, show_result

    info, _ = dataset_store().add(counts_csv(), "requests.csv")
    key, _ = run_analysis(lambda _t: None, 1, "requests", "zscore", False, info.id, [], [])
    scored = run_detection(dataset_store().series(info.id, "requests"), "zscore")
    assert scored["lower"].min() < 0  # the detector's own band reaches below zero

    figure, _rows, _summary = show_result(key, 0.0)

    assert min(trace(figure, "lower bound").y) == 0.0
    assert min(trace(figure, "expected").y) >= 0.0


def test_a_series_with_negative_values_keeps_its_band(dash_app):
    times = pd.date_range("2024-05-01", periods=48, freq="h")
    values = np.sin(np.arange(48) / 4.0)  # from -1 to 1
    frame = pd.DataFrame({"timestamp": times, "value": values})

    figure = scored_figure(run_detection(frame, "zscore"))

    assert min(trace(figure, "lower bound").y) < -1.0


def test_the_reason_in_a_hover_is_escaped_and_kept_short(dash_app):
    scored = run_detection(seasonal_series(n=600, spike_at=300, seed=4), "zscore")
    scored["explanation"] = scored["explanation"].astype(object)
    scored.loc[300, "explanation"] = "<img src=x onerror=alert(1)> " + "far above " * 40

    (hover,) = trace(scored_figure(scored), "anomaly").hovertext

    assert "<img" not in hover
    assert "&lt;img src=x onerror=alert(1)&gt;" in hover
    assert hover.endswith("…")
    assert len(hover) < 400
