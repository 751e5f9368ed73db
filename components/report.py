"""A self-contained HTML report of one detection run: chart, episodes and flagged points,
settings."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import plotly.graph_objects as go
from jinja2 import Environment

from components.episodes import count_words
from components.grids import anomaly_rows

_TEMPLATE = Environment(autoescape=True).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Vigil report · {{ dataset }} · {{ series }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #1d2733; }
h1 { font-size: 1.5rem; } table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { border-bottom: 1px solid #dde3ea; padding: .35rem .5rem; text-align: left; }
th { background: #f3f6f9; } .settings td:first-child { color: #5b6b7c; width: 14rem; }
</style></head><body>
<h1>Vigil report: {{ series }} in {{ dataset }}</h1>
<p>{{ counted }} out of {{ rows }} points, by {{ detector }}.
Made {{ created }}.</p>
{% if learning %}<p>{{ learning }}</p>{% endif %}
<h2>Settings</h2>
<table class="settings">
<tr><td>Data set</td><td>{{ dataset }}</td></tr>
<tr><td>Series</td><td>{{ series }}</td></tr>
<tr><td>Detector</td><td>{{ detector }}</td></tr>
{% for name, value in params %}<tr><td>{{ name }}</td><td>{{ value }}</td></tr>
{% endfor %}<tr><td>Minimum severity shown</td><td>{{ min_severity }}</td></tr>
</table>
<h2>Chart</h2>
{{ chart | safe }}
<h2>Anomaly episodes</h2>
<table><thead><tr><th>Span</th><th>Duration</th><th>Peak</th><th>Severity</th>
<th>Value vs expected</th><th>Why</th></tr></thead>
<tbody>{% for row in episodes %}<tr><td>{{ row.span }}</td><td>{{ row.duration }}</td>
<td>{{ row.peak_time }}</td><td>{{ row.severity_text }}</td>
<td>{{ row.value_text }}</td><td>{{ row.explanation }}</td></tr>
{% else %}<tr><td colspan="6">No anomalies at this severity.</td></tr>{% endfor %}</tbody></table>
<h2>Flagged points</h2>
<table><thead><tr><th>Time</th><th>Episode</th><th>Value</th><th>Expected</th><th>Severity</th>
<th>Why</th></tr></thead>
<tbody>{% for row in anomalies %}<tr><td>{{ row.timestamp }}</td><td>{{ row.episode }}</td>
<td>{{ row.value }}</td><td>{{ row.expected }}</td><td>{{ row.severity_text }}</td>
<td>{{ row.explanation }}</td></tr>
{% else %}<tr><td colspan="6">No anomalies at this severity.</td></tr>{% endfor %}</tbody></table>
</body></html>
"""
)


def html_report(
    figure: go.Figure,
    flagged: pd.DataFrame,
    run: dict,
    *,
    rows: int,
    min_severity: float,
    episodes: list[dict] | None = None,
    learning: str = "",
) -> str:
    """One HTML file with plotly.js inlined, so it opens anywhere without a network: the
    chart, the `episodes` (rows of `components.episodes.episode_rows`), the flagged points and
    the run's settings; `learning` says which first points were not judged."""
    anomalies = anomaly_rows(flagged)
    episodes = episodes or []
    badge, points = count_words(len(episodes), len(anomalies))
    chart = go.Figure(figure).to_html(include_plotlyjs=True, full_html=False)
    return _TEMPLATE.render(
        dataset=run["dataset_name"],
        series=run["series"],
        detector=run["detector"],
        params=sorted(run["params"].items()),
        min_severity=min_severity,
        rows=f"{rows:,}",
        counted=f"{badge} ({points})" if points else badge,
        anomalies=anomalies,
        episodes=episodes,
        learning=learning,
        chart=chart,
        created=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
