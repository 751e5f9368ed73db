"""The overview's swimlane: a row per live series, a cell per time bucket, coloured by the
highest severity of the bucket's flagged points."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from vigil.components.zones import axis_title, wall_times
from vigil.detection.text import plotly_text
from vigil.live.overview import Swimlanes
from vigil.times import UTC

#: Severity 0 (points, none flagged) is a pale green; flagged cells run from amber to red.
COLOURS = [
    [0.0, "#e4efe1"],
    [0.5, "#f7dc8f"],
    [0.9, "#e8833a"],
    [1.0, "#b42318"],
]
#: A row's height in pixels.
ROW_PX = 24


def swimlane_figure(lanes: Swimlanes, rows: np.ndarray, zone: str = UTC) -> go.Figure:
    """The swimlane of the series at `rows` of `lanes`, in that order from the top: hover says
    the series, the bucket and what it holds; the time axis is in `zone`."""
    names = lanes.series["name"].iloc[rows].tolist()
    grid = lanes.severity[rows]
    edges = lanes.edges
    middles = wall_times(pd.Series(edges + lanes.width / 2), zone).dt.tz_localize(None)
    words = np.where(
        np.isnan(grid),
        "no points",
        np.where(grid > 0, np.char.add("anomaly · severity ", _two(grid)), "no anomaly"),
    )
    fig = go.Figure(
        go.Heatmap(
            z=[[None if np.isnan(v) else round(float(v), 3) for v in row] for row in grid],
            x=middles.dt.strftime("%Y-%m-%d %H:%M:%S").tolist(),
            y=[plotly_text(name) for name in names],
            text=words.tolist(),
            colorscale=COLOURS,
            zmin=0,
            zmax=1,
            xgap=1,
            ygap=2,
            showscale=False,
            hovertemplate="%{y}<br>%{x}<br>%{text}<extra></extra>",
        )
    )
    fig.update_layout(
        template="plotly_white",
        height=max(160, 70 + ROW_PX * len(names)),
        margin=dict(l=10, r=10, t=10, b=50),
        plot_bgcolor="#f1f1f1",
        uirevision="overview",
    )
    fig.update_yaxes(autorange="reversed", automargin=True, fixedrange=True, tickfont_size=12)
    first, last = edges[0], edges[-1] + lanes.width
    fig.update_xaxes(
        type="date",
        fixedrange=True,
        title_text=axis_title(zone, first, last),
        title_font_size=12,
    )
    return fig


def _two(grid: np.ndarray) -> np.ndarray:
    return np.char.mod("%.2f", np.nan_to_num(grid))
