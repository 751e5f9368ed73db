"""A self-contained HTML report of one detection run: what was found first, then the chart, the
episodes, every flagged point (folded) and the settings.

The chart is the Analyze page's, at full resolution for series of up to REPORT_POINTS points
(zooming into the saved file shows the real shape); a longer series is drawn from REPORT_POINTS
of its points, chosen by min-max LTTB so every peak and dip stays, every flagged point is kept,
and the report says so under the chart.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from jinja2 import Environment
from tsdownsample import MinMaxLTTBDownsampler

from vigil.components.episodes import count_words
from vigil.components.grids import anomaly_rows
from vigil.components.zones import zone_words
from vigil.detection import DETECTORS
from vigil.detection.zones import TimeLike
from vigil.times import UTC, in_zone, zone_label

#: The most points of each line a report draws.
REPORT_POINTS = 20_000
#: Episodes listed in full in the report; the rest are in the folded list of flagged points.
EPISODES_SHOWN = 20

_TEMPLATE = Environment(autoescape=True).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Vigil report · {{ dataset }} · {{ series }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #1d2733;
       padding: 0 1rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
.summary { font-size: 1.1rem; } .muted { color: #5b6b7c; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { border-bottom: 1px solid #dde3ea; padding: .35rem .5rem; text-align: left;
         vertical-align: top; }
th { background: #f3f6f9; } .settings td:first-child { color: #5b6b7c; width: 14rem; }
details { margin-top: 1.5rem; } summary { cursor: pointer; font-weight: 600; }
</style></head><body>
<h1>Vigil report: {{ series }} in {{ dataset }}</h1>
<p class="summary">{{ counted }} in {{ rows }} points{% if span %} ({{ span }}){% endif %},
found by {{ detector }}.</p>
<p class="muted" id="zone">Times are in {{ zone }}.</p>
{% if episodes %}<p>The most severe: {{ episodes[0].span }}, {{ episodes[0].explanation }}</p>
{% endif %}
{% if learning %}<p class="muted">{{ learning }}</p>{% endif %}
<p class="muted">Made {{ created }}.</p>
<h2>Chart</h2>
{{ chart | safe }}
{% if drawn %}<p class="muted" id="downsampled">{{ drawn }}</p>{% endif %}
<h2>Anomaly episodes</h2>
{% if episodes_left %}<p class="muted">The {{ episodes | length }} most severe of
{{ episodes_total }}; every flagged point is in the list below.</p>{% endif %}
<table><thead><tr><th>Span</th><th>Duration</th><th>Peak</th><th>Severity</th>
<th>Value vs expected</th><th>Why</th></tr></thead>
<tbody>{% for row in episodes %}<tr><td>{{ row.span }}</td><td>{{ row.duration }}</td>
<td>{{ row.peak_time }}</td><td>{{ row.severity_text }}</td>
<td>{{ row.value_text }}</td><td>{{ row.explanation }}</td></tr>
{% else %}<tr><td colspan="6">No anomalies at this severity.</td></tr>{% endfor %}</tbody></table>
<details id="flagged-points"><summary>All {{ anomalies | length }} flagged points</summary>
<table><thead><tr><th>Time ({{ zone_short }})</th><th>Episode</th><th>Value</th><th>Expected</th>
<th>Severity</th><th>Why</th></tr></thead>
<tbody>{% for row in anomalies %}<tr><td>{{ row.time }}</td><td>{{ row.episode }}</td>
<td>{{ row.value }}</td><td>{{ row.expected }}</td><td>{{ row.severity_text }}</td>
<td>{{ row.explanation }}</td></tr>
{% else %}<tr><td colspan="6">No anomalies at this severity.</td></tr>{% endfor %}</tbody></table>
</details>
<details id="settings"><summary>Settings</summary>
<table class="settings">
<tr><td>Data set</td><td>{{ dataset }}</td></tr>
<tr><td>Series</td><td>{{ series }}</td></tr>
<tr><td>Detector</td><td>{{ detector }}</td></tr>
{% for name, value in params %}<tr><td>{{ name }}</td><td>{{ value }}</td></tr>
{% endfor %}<tr><td>Minimum severity shown</td><td>{{ min_severity }}</td></tr>
</table>
</details>
</body></html>
"""
)


def report_figure(figure: go.Figure) -> tuple[go.Figure, str]:
    """A static copy of the Analyze page's chart (a plotly-resampler figure, which holds each
    line's every point but shows only some) with every point of each line, or, past
    REPORT_POINTS, the same min-max LTTB choice of the value's points for every line (so the
    band and the value stay aligned); and a sentence saying so then ('' when nothing was
    left out)."""
    static = go.Figure(figure)
    full = {entry["name"]: entry for entry in getattr(figure, "hf_data", [])}
    value = full.get("value")
    if value is None:
        return static, ""
    times = pd.DatetimeIndex(value["x"])
    total = len(times)
    keep = np.arange(total)
    drawn = ""
    if total > REPORT_POINTS:
        y = np.asarray(value["y"], dtype=float)
        present = np.flatnonzero(~np.isnan(y))
        chosen = MinMaxLTTBDownsampler().downsample(
            times.asi8[present], y[present], n_out=REPORT_POINTS
        )
        keep = present[chosen]
        drawn = (
            f"Downsampled: the lines are drawn from {len(keep):,} of the series' {total:,} "
            "points (every peak and dip kept, and every flagged point marked); the CSV or "
            "Parquet download has them all."
        )
    for trace in static.data:
        entry = full.get(trace.name)
        if entry is None or len(entry["x"]) != total:
            continue  # drawn in full already (the flagged points)
        trace.x = pd.DatetimeIndex(entry["x"])[keep]
        trace.y = np.asarray(entry["y"])[keep]
    return static, drawn


def html_report(
    figure: go.Figure,
    flagged: pd.DataFrame,
    run: dict,
    *,
    rows: int,
    min_severity: float,
    episodes: list[dict] | None = None,
    learning: str = "",
    span: str = "",
    zone: str = UTC,
    first: TimeLike | None = None,
    last: TimeLike | None = None,
) -> str:
    """One HTML file with plotly.js inlined, so it opens anywhere without a network: a summary
    of what was found (and the most severe episode), the chart (see `report_figure`), the
    EPISODES_SHOWN most severe `episodes` (rows of `components.episodes.episode_rows`, most
    severe first), every flagged point and the run's settings folded; `learning` says which
    first points were not judged, `span` the time the series covers. Times are in `zone`
    (the figure, the episodes and `span` must be made in it too), named after the series'
    `first` and `last` times."""
    anomalies = anomaly_rows(flagged, zone)
    made = in_zone(pd.Timestamp.now(tz="UTC"), zone)
    episodes = episodes or []
    badge, points = count_words(len(episodes), len(anomalies))
    static, drawn = report_figure(figure)
    chart = static.to_html(include_plotlyjs=True, full_html=False)
    return _TEMPLATE.render(
        dataset=run["dataset_name"],
        series=run["series"],
        detector=DETECTORS[run["detector"]].label
        if run["detector"] in DETECTORS
        else run["detector"],
        params=sorted(run["params"].items()),
        min_severity=min_severity,
        rows=f"{rows:,}",
        span=span,
        counted=f"{badge} ({points})" if points else badge,
        anomalies=anomalies,
        episodes=episodes[:EPISODES_SHOWN],
        episodes_total=len(episodes),
        episodes_left=len(episodes) > EPISODES_SHOWN,
        learning=learning,
        chart=chart,
        drawn=drawn,
        created=f"{made:%Y-%m-%d %H:%M} {zone_label(zone, made)}",
        zone=zone_words(zone, first, last),
        zone_short=zone if zone == UTC else zone_words(zone, first, last).split(",")[0],
    )
