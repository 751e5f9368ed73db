"""The Live page's pieces: a card per series, and a chart that grows with `extendData`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from dash import html
from tsdownsample import MinMaxLTTBDownsampler

from components.charts import BAND_COLOUR, VALUE_COLOUR

#: Window choices of the charts: label -> length.
WINDOWS = {
    "15 min": pd.Timedelta(minutes=15),
    "1 hour": pd.Timedelta(hours=1),
    "6 hours": pd.Timedelta(hours=6),
    "24 hours": pd.Timedelta(days=1),
    "7 days": pd.Timedelta(days=7),
}
DEFAULT_WINDOW = "1 hour"
#: Most points a live chart holds; a longer window is downsampled when drawn.
CHART_POINTS = 5000
#: The traces of a live chart, in order; every one gets a point per row, so a chart can be
#: cut to a window by point count alone (the anomaly trace has gaps where nothing is flagged).
TRACES = ("lower", "upper", "expected", "value", "anomaly")
STATUS_COLOURS = {
    "error": "danger",
    "stale": "secondary",
    "anomaly": "danger",
    "scoring": "info",
    "warming up": "info",
    "ok": "success",
    "empty": "light",
}
CARD_TYPE = "live-card"


def series_card(row: dict, status: str, explanation: str, selected: bool) -> html.Div:
    """A card: the series' name, last value, status, anomalies in the last hour."""
    last = row.get("last")
    value = row.get("last_value")
    shown = "no value" if value is None or pd.isna(value) else f"{value:,.6g}"
    when = "no point yet" if last is None or pd.isna(last) else f"last at {last:%Y-%m-%d %H:%M:%S}"
    flagged = int(row.get("recent_anomalies") or 0)
    classes = "card h-100 vigil-live-card shadow-sm"
    if status == "stale":
        classes += " vigil-stale"
    if selected:
        classes += " border-primary"
    return html.Div(
        html.Button(
            [
                html.Div(
                    [
                        html.Span(row["name"], className="fw-semibold text-truncate me-2"),
                        html.Span(
                            status,
                            className=f"badge text-bg-{STATUS_COLOURS.get(status, 'light')}",
                            title=explanation,
                        ),
                    ],
                    className="d-flex justify-content-between align-items-center",
                ),
                html.Div(shown, className="fs-3 my-1 vigil-live-value"),
                html.Div(
                    f"{flagged} {'anomaly' if flagged == 1 else 'anomalies'} in the last hour",
                    className="small " + ("text-danger fw-semibold" if flagged else "text-muted"),
                ),
                html.Div(f"{when} · {row.get('detector_label', '')}", className="small text-muted"),
            ],
            id={"type": CARD_TYPE, "index": row["name"]},
            className="card-body text-start btn btn-link text-reset text-decoration-none",
            title="Show or hide its chart",
            n_clicks=0,
        ),
        className=classes,
    )


def _columns(scored: pd.DataFrame) -> dict[str, list]:
    """x, y and hover text per trace, one entry per row."""
    x = scored["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S.%f").tolist()
    flagged = scored["is_anomaly"].to_numpy(dtype=bool)
    values = scored["value"].to_numpy(dtype=float)
    severity = scored["severity"].to_numpy(dtype=float)
    ys = {
        "lower": scored["lower"].to_numpy(dtype=float),
        "upper": scored["upper"].to_numpy(dtype=float),
        "expected": scored["expected"].to_numpy(dtype=float),
        "value": values,
        "anomaly": np.where(flagged, values, np.nan),
    }
    hover = [
        why if flag else ("warming up" if np.isnan(level) else f"severity {level:.2f}")
        for why, flag, level in zip(scored["explanation"], flagged, severity, strict=True)
    ]
    return {
        "x": [x] * len(TRACES),
        "y": [_json_floats(ys[name]) for name in TRACES],
        "customdata": [hover] * len(TRACES),
    }


def _json_floats(values: np.ndarray) -> list:
    return [None if np.isnan(v) else round(float(v), 6) for v in values]


def live_figure(scored: pd.DataFrame, *, name: str, window: str) -> tuple[go.Figure, int]:
    """The chart of a series over a window, and the most points it keeps as it grows."""
    shown = scored
    if len(scored) > CHART_POINTS:
        keep = MinMaxLTTBDownsampler().downsample(
            scored["value"].to_numpy(dtype=float), n_out=CHART_POINTS
        )
        keep = np.union1d(keep, np.flatnonzero(scored["is_anomaly"].to_numpy()))
        shown = scored.iloc[keep]
    columns = _columns(shown)
    fig = go.Figure()
    styles = {
        "lower": dict(mode="lines", line=dict(width=0), showlegend=False, hoverinfo="skip"),
        "upper": dict(
            mode="lines",
            line=dict(width=0),
            fill="tonexty",
            fillcolor=BAND_COLOUR,
            name="expected band",
            hoverinfo="skip",
        ),
        "expected": dict(
            mode="lines", line=dict(width=1, dash="dot", color="#7a8ca3"), hoverinfo="skip"
        ),
        "value": dict(
            mode="lines",
            line=dict(width=1.4, color=VALUE_COLOUR),
            hovertemplate="%{x}<br>%{y}<br>%{customdata}<extra></extra>",
        ),
        "anomaly": dict(
            mode="markers",
            marker=dict(size=10, color="#c0392b", line=dict(width=1, color="#5a0000")),
            hovertemplate="%{x}<br>%{y}<br>%{customdata}<extra>anomaly</extra>",
        ),
    }
    for index, trace in enumerate(TRACES):
        fig.add_trace(
            go.Scatter(
                x=columns["x"][index],
                y=columns["y"][index],
                customdata=columns["customdata"][index],
                name=styles[trace].pop("name", trace),
                connectgaps=False,
                **styles[trace],
            )
        )
    note = "" if shown is scored else f" · {len(shown):,} of {len(scored):,} points shown"
    fig.update_layout(
        template="plotly_white",
        title=dict(text=f"{name}<span style='font-size:12px'> · last {window}{note}</span>"),
        height=330,
        margin=dict(l=55, r=15, t=45, b=35),
        legend=dict(orientation="h", y=1.1, x=1, xanchor="right"),
        hovermode="closest",
        uirevision=f"{name}/{window}",
    )
    if shown is not scored:
        return fig, max(CHART_POINTS, len(shown))
    return fig, window_points(scored, window)


def window_points(points: pd.DataFrame, window: str) -> int:
    """Points of the window at the series' usual step (at least those given)."""
    times = points["timestamp"]
    if len(times) < 3:
        return CHART_POINTS
    step = times.diff().median()
    if not step > pd.Timedelta(0):
        return CHART_POINTS
    return int(min(max(WINDOWS[window] / step, len(points)), CHART_POINTS))


def extension(scored: pd.DataFrame, most: int) -> list:
    """`extendData` for a live chart: every trace gets the new rows, the oldest beyond
    `most` fall away."""
    return [_columns(scored), list(range(len(TRACES))), most]
