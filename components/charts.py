"""Figure builders: the scored chart (with plotly-resampler) and small previews."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from plotly_resampler import FigureResampler
from plotly_resampler.aggregation import EveryNthPoint, NoGapHandler
from tsdownsample import MinMaxLTTBDownsampler

from vigil.components.zones import axis_title, wall_time, wall_times
from vigil.detection.explain import number
from vigil.detection.text import plotly_text
from vigil.detection.zones import TimeLike
from vigil.times import UTC, zone_label

VALUE_COLOUR = "#1f4e79"
BAND_COLOUR = "rgba(31, 78, 121, 0.14)"
SEVERITY_SCALE = [[0.0, "#fdd49e"], [0.5, "#fc8d59"], [1.0, "#b30000"]]
EPISODE_FILL = "rgba(214, 39, 40, 0.10)"
EPISODE_EDGE = "rgba(214, 39, 40, 0.25)"
LEARNING_FILL = "rgba(108, 122, 137, 0.12)"
SHOWN_POINTS = 1000
#: The reason in an anomaly's hover is cut to this many characters, in lines this wide.
REASON_CHARS, REASON_WIDTH = 160, 60


def empty_figure(message: str) -> go.Figure:
    """A blank chart that says why it is blank."""
    fig = go.Figure()
    fig.add_annotation(
        text=plotly_text(message),
        showarrow=False,
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        font_size=15,
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig.update_layout(template="plotly_white", height=420, margin=dict(t=30, b=30))


MARKED_NORMAL = "marked normal"
MARKED_ANOMALY = "marked anomaly"
#: The traces that change when marks change (the rest of the chart does not).
MARK_TRACES = ("anomaly", MARKED_NORMAL, MARKED_ANOMALY)


def scored_figure(
    scored: pd.DataFrame,
    *,
    title: str = "",
    min_severity: float = 0.0,
    marks: pd.DataFrame | None = None,
    zone: str = UTC,
) -> FigureResampler:
    """The value line, its expected band, anomaly markers coloured by severity (their hover
    says the severity, the expected value and why), the points people marked (`marks`: a
    green ring for "not an anomaly", a dark cross for "anomaly"; both traces are there even
    when empty, so trace numbers stay put), and a severity strip below. A series
    that is never negative (counts, durations) has its band and expected line drawn no
    lower than 0. Long series are downsampled; zooming fetches detail.

    Times are drawn, hovered and titled in `zone` (the x values are zone-aware, so a zoomed
    range, which plotly sends back as wall-clock times, is read in `zone` when the figure
    resamples).
    """
    base = make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.04, row_heights=[0.78, 0.22]
    )
    fig = FigureResampler(
        base,
        default_n_shown_samples=SHOWN_POINTS,
        show_mean_aggregation_size=False,
        resampled_trace_prefix_suffix=("", ""),
    )
    x = wall_times(scored["timestamp"], zone)
    scored = _floored_at_zero(scored)
    if scored["upper"].notna().any():
        for edge, fill in (("lower", None), ("upper", "tonexty")):
            fig.add_trace(
                go.Scatter(
                    name="expected band" if edge == "upper" else "lower bound",
                    mode="lines",
                    line=dict(width=0),
                    fill=fill,
                    fillcolor=BAND_COLOUR,
                    showlegend=edge == "upper",
                    hoverinfo="skip",
                ),
                hf_x=x,
                hf_y=scored[edge],
                row=1,
                col=1,
                max_n_samples=SHOWN_POINTS // 2,
                # Both edges keep the same x and bridge gaps alike, so the fill lines up.
                downsampler=EveryNthPoint(),
                gap_handler=NoGapHandler(),
            )
        fig.add_trace(
            go.Scatter(
                name="expected", mode="lines", line=dict(width=1, dash="dot", color="#7a8ca3")
            ),
            hf_x=x,
            hf_y=scored["expected"],
            row=1,
            col=1,
            max_n_samples=SHOWN_POINTS // 2,
        )
    fig.add_trace(
        go.Scatter(name="value", mode="lines", line=dict(width=1.3, color=VALUE_COLOUR)),
        hf_x=x,
        hf_y=scored["value"],
        row=1,
        col=1,
    )
    flagged = scored[scored["is_anomaly"] & (scored["severity"] >= min_severity)]
    fig.add_trace(
        go.Scatter(
            name="anomaly",
            mode="markers",
            marker=dict(
                size=10,
                color=flagged["severity"],
                colorscale=SEVERITY_SCALE,
                cmin=0.5,
                cmax=1.0,
                line=dict(width=1, color="#5a0000"),
                colorbar=dict(title="severity", thickness=12, len=0.6, y=0.62),
            ),
            hovertemplate="%{hovertext}<extra>anomaly</extra>",
        ),
        hf_x=wall_times(flagged["timestamp"], zone),
        hf_y=flagged["value"],
        hf_hovertext=anomaly_hover(flagged, zone),
        row=1,
        col=1,
        max_n_samples=5000,
    )
    for trace in mark_traces(marks, zone):
        fig.add_trace(trace, row=1, col=1)
    fig.add_trace(
        go.Scatter(
            name="severity",
            mode="lines",
            line=dict(width=1, color="#c0392b"),
            fill="tozeroy",
            showlegend=False,
        ),
        hf_x=x,
        hf_y=scored["severity"].fillna(0.0),
        row=2,
        col=1,
        max_n_samples=SHOWN_POINTS // 2,
        gap_handler=NoGapHandler(),  # a filled area with holes draws stray polygons
    )
    return _result_layout(fig, title, scored["timestamp"], zone)


def _result_layout(fig: go.Figure, title: str, times: pd.Series, zone: str) -> go.Figure:
    """The look of a result chart: values above, severity strip below, `title` on top, the
    time axis naming `zone` (the zone of the span of `times`)."""
    fig.update_yaxes(title_text="severity", range=[0, 1.02], row=2, col=1)
    if len(times):
        first, last = times.iloc[[0, -1]]
        fig.update_xaxes(title_text=axis_title(zone, first, last), row=2, col=1)
    return fig.update_layout(
        template="plotly_white",
        title=dict(text=plotly_text(title), x=0.01, font_size=15),
        height=560,
        margin=dict(l=60, r=20, t=50, b=40),
        hovermode="closest",
        legend=dict(orientation="h", y=1.04, x=1, xanchor="right"),
        uirevision=f"{title} {zone}",  # a new zone draws new x values: the old zoom is off
    )


def series_figure(frame: pd.DataFrame, *, title: str, note: str, zone: str = UTC) -> go.Figure:
    """A series' values alone, drawn as a result chart draws them (downsampled to about
    `SHOWN_POINTS` points, at their times in `zone`), with `note` where the severity strip
    will be: what to show while its detector runs. `title` and `note` are shown as typed."""
    base = make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.04, row_heights=[0.78, 0.22]
    )
    stored, y = _downsampled(frame, SHOWN_POINTS)
    x = wall_times(pd.Series(stored), zone)
    base.add_trace(
        go.Scatter(x=x, y=y, name="value", mode="lines", line=dict(width=1.3, color=VALUE_COLOUR)),
        row=1,
        col=1,
    )
    if len(x):  # the empty strip still carries the time axis and its dates
        base.add_trace(
            go.Scatter(
                x=x.iloc[[0, -1]],
                y=[0, 0],
                mode="lines",
                line=dict(width=0),
                hoverinfo="skip",
                showlegend=False,
            ),
            row=2,
            col=1,
        )
    base.add_annotation(
        text=plotly_text(note),
        showarrow=False,
        x=0.5,
        y=0.1,
        xref="paper",
        yref="paper",
        font_size=13,
    )
    return _result_layout(base, title, frame["timestamp"], zone)


def _downsampled(frame: pd.DataFrame, points: int) -> tuple[np.ndarray, np.ndarray]:
    """The timestamps and values of `frame`, at most about `points` of them (the shape kept:
    MinMaxLTTB), missing values left out when there are more."""
    x = frame["timestamp"].to_numpy()
    y = frame["value"].to_numpy(dtype=float)
    if len(y) > points:
        present = ~np.isnan(y)
        x, y = x[present], y[present]
        keep = MinMaxLTTBDownsampler().downsample(x.astype("int64"), y, n_out=points)
        x, y = x[keep], y[keep]
    return x, y


def mark_traces(marks: pd.DataFrame | None, zone: str = UTC) -> list[go.Scatter]:
    """A marker on each point marked "not an anomaly" and on each marked "anomaly", at the
    value the point had when it was marked (at its time in `zone`)."""
    if marks is None:
        marks = pd.DataFrame({"timestamp": [], "verdict": [], "value": []})
    styles = {
        "normal": (MARKED_NORMAL, "not an anomaly", "circle-open", "#1b7f3b"),
        "anomaly": (MARKED_ANOMALY, "an anomaly", "x-thin-open", "#5a0000"),
    }
    traces = []
    for verdict, (name, words, symbol, colour) in styles.items():
        chosen = marks[marks["verdict"] == verdict]
        traces.append(
            go.Scatter(
                x=wall_times(chosen["timestamp"], zone),
                y=chosen["value"].astype(float),
                name=name,
                mode="markers",
                marker=dict(symbol=symbol, size=16, color=colour, line=dict(width=2.5)),
                hovertemplate=f"%{{x}}<br>marked as {words}<extra></extra>",
                showlegend=not chosen.empty,
            )
        )
    return traces


def _floored_at_zero(scored: pd.DataFrame) -> pd.DataFrame:
    """`scored` with its band and expected value no lower than 0 when no value of the
    series is below 0 (a band under zero for a count says nothing); else as it is."""
    values = scored["value"].dropna()
    if values.empty or (values < 0).any():
        return scored
    edges = ["lower", "expected", "upper"]
    return scored.assign(**{edge: scored[edge].clip(lower=0.0) for edge in edges})


def anomaly_hover(flagged: pd.DataFrame, zone: str = UTC) -> list[str]:
    """The hover text of each flagged point: its time (in `zone`, named after it), value,
    expected value, severity and the reason it was flagged (escaped, and cut short on a few
    lines)."""
    texts = []
    shown = wall_times(flagged["timestamp"], zone)
    rows: Iterable[Any] = flagged.itertuples(index=False)  # values as the frame holds them
    for row, at in zip(rows, shown, strict=True):
        when = f"{at:%Y-%m-%d %H:%M:%S} {zone_label(zone, at)}"
        lines = [when, f"value {number(row.value)}"]
        if row.expected == row.expected:  # not NaN
            lines.append(f"expected {number(row.expected)}")
        if row.severity == row.severity:
            lines.append(f"severity {row.severity:.2f}")
        reason = " ".join(str(getattr(row, "explanation", "") or "").split())
        if reason:
            short = textwrap.shorten(reason, REASON_CHARS, placeholder=" …")
            lines += [plotly_text(line) for line in textwrap.wrap(short, REASON_WIDTH)]
        texts.append("<br>".join(lines))
    return texts


def shade_spans(
    fig: go.Figure,
    spans: list[tuple],
    *,
    learning: tuple[TimeLike, TimeLike] | None = None,
    zone: str = UTC,
) -> go.Figure:
    """Light bands behind the traces, across every row of `fig`: one per (start, end) span
    (an anomaly episode; a single point draws as a thin line), and with `learning` as (first,
    until) a grey band labelled "learning" over the points a detector did not judge. All
    shapes are set at once: adding hundreds one by one is slow. The spans are stored times,
    drawn at their time in `zone` (the zone the figure's traces were drawn in)."""
    spans = [(wall_time(start, zone), wall_time(end, zone)) for start, end in spans]
    shapes = [
        dict(
            type="rect",
            xref="x",
            yref="paper",
            x0=start,
            x1=end,
            y0=0,
            y1=1,
            fillcolor=EPISODE_FILL,
            line=dict(width=1, color=EPISODE_EDGE),
            layer="below",
        )
        for start, end in spans
    ]
    if learning is not None:
        first, until = (wall_time(at, zone) for at in learning)
        shapes.insert(
            0,
            dict(
                type="rect",
                xref="x",
                yref="paper",
                x0=first,
                x1=until,
                y0=0,
                y1=1,
                fillcolor=LEARNING_FILL,
                line=dict(width=0),
                layer="below",
            ),
        )
        fig.add_annotation(
            text="learning: not judged",
            x=first,
            xref="x",
            xanchor="left",
            y=1,
            yref="paper",
            yanchor="top",
            showarrow=False,
            font=dict(size=11, color="#5b6b7c"),
        )
    fig.update_layout(shapes=shapes)
    return fig


def preview_figure(frame: pd.DataFrame, name: str, points: int = 600) -> go.Figure:
    """A small line chart of one series, downsampled to about `points` points."""
    x, y = _downsampled(frame, points)
    fig = go.Figure(
        go.Scatter(
            x=x, y=y, mode="lines", line=dict(width=1, color=VALUE_COLOUR), name=plotly_text(name)
        )
    )
    return fig.update_layout(
        template="plotly_white",
        height=150,
        margin=dict(l=40, r=10, t=28, b=24),
        title=dict(text=plotly_text(name), font_size=13, x=0.01),
        showlegend=False,
    )
