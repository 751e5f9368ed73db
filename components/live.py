"""The Live page's pieces: a card per series, and a chart that grows with `extendData`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from dash import html

from vigil.components.charts import BAND_COLOUR, VALUE_COLOUR
from vigil.components.zones import axis_title, wall_time, wall_times
from vigil.detection.explain import number
from vigil.detection.quality import plural
from vigil.detection.text import plotly_text
from vigil.live.charts import ChartPoints
from vigil.live.status import LearningLeft, error_of, step_of
from vigil.times import UTC, zone_label

#: Window choices of the charts: label -> length.
WINDOWS = {
    "15 min": pd.Timedelta(minutes=15),
    "1 hour": pd.Timedelta(hours=1),
    "6 hours": pd.Timedelta(hours=6),
    "24 hours": pd.Timedelta(days=1),
    "7 days": pd.Timedelta(days=7),
}
DEFAULT_WINDOW = "1 hour"
#: Most points a live chart draws one by one; a window with more is drawn in as many buckets
#: (`live.charts`), two points each.
CHART_POINTS = 1000
#: Points appended to a chart drawn in buckets before it is drawn again (its buckets moved on).
REDRAW_AFTER = 200
#: The traces of a live chart, in order; every one gets a point per row, so a chart can be
#: cut to a window by point count alone (the anomaly trace has gaps where nothing is flagged).
TRACES = ("lower", "upper", "expected", "value", "anomaly")
STATUS_COLOURS = {
    "error": "danger",
    "stale": "secondary",
    "anomaly": "danger",
    "learning": "info",
    "scoring": "info",
    "warming up": "info",
    "ok": "success",
    "empty": "light",
}
CARD_TYPE = "live-card"


def series_card(
    row: dict,
    status: str,
    explanation: str,
    selected: bool,
    learning: LearningLeft | None = None,
    zone: str = UTC,
) -> html.Div:
    """A card: the series' name, status and last value; then what a person should know first:
    the anomaly going on, how many anomaly episodes the last hour had, or how long the series
    has yet to learn; then when its last point came and what scores it. `row` is a row of
    `LiveStore.summary()` (with `detector_label`); text is set as text, never as markup.
    Times are written in `zone`, named."""
    last = row.get("last")
    value = row.get("last_value")
    shown = "no value" if value is None or pd.isna(value) else f"{value:,.6g}"
    when = "no point yet"
    if last is not None and not pd.isna(last):
        when = f"last at {wall_time(last, zone):%Y-%m-%d %H:%M:%S} {zone_label(zone, last)}"
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
                *_labels(row.get("labels") or {}),
                html.Div(shown, className="fs-3 my-1 vigil-live-value"),
                *_broken(row),
                *_news(row, learning, stopped=status == "stale", zone=zone),
                html.Div(f"{when} · {row.get('detector_label', '')}", className="small text-muted"),
            ],
            id={"type": CARD_TYPE, "index": row["name"]},
            className="card-body text-start btn btn-link text-reset text-decoration-none",
            title="Show or hide its chart",
            n_clicks=0,
        ),
        className=classes,
    )


def _labels(labels: Mapping[str, str]) -> list[html.Div]:
    """The series' labels as small tags (`env=prod`), set as text."""
    if not labels:
        return []
    return [
        html.Div(
            [
                html.Span(f"{name}={value}", className="badge text-bg-light border me-1")
                for name, value in labels.items()
            ],
            className="vigil-live-labels small mt-1 text-truncate",
            title=" ".join(f"{name}={value}" for name, value in labels.items()),
        )
    ]


def _broken(row: dict) -> list[html.Div]:
    """Why the series cannot be scored, when it cannot."""
    error = error_of(row)
    if error is None:
        return []
    return [html.Div(f"Not scored: {error}", className="small text-danger vigil-live-error")]


def _news(
    row: dict, learning: LearningLeft | None, *, stopped: bool, zone: str = UTC
) -> list[html.Div]:
    """The card's lines about anomalies and learning, most pressing first."""
    lines = []
    episodes = int(row.get("recent_episodes") or 0)
    if row.get("open") and not _missing(row.get("open_since")):
        lines.append(
            html.Div(
                open_episode_text(row, stopped=stopped, zone=zone),
                className="small text-danger fw-semibold vigil-live-open",
                title=row.get("open_peak_explanation") or "",
            )
        )
        others = episodes - 1
        if others > 0:
            lines.append(
                html.Div(
                    f"{plural(others, 'more anomaly episode')} in the last hour",
                    className="small text-danger",
                )
            )
    elif episodes:
        lines.append(
            html.Div(
                f"{plural(episodes, 'anomaly episode')} in the last hour",
                className="small text-danger fw-semibold",
            )
        )
    elif learning is None:
        lines.append(html.Div("No anomaly in the last hour", className="small text-muted"))
    if learning is not None:
        lines.append(
            html.Div(
                learning_text(learning),
                className="small text-info-emphasis vigil-live-learning",
                title=(
                    "Nothing is flagged while Vigil learns what is normal for this series"
                    + (
                        ""
                        if learning.until is None
                        else f"; by its clock, until about {learning.until:%Y-%m-%d %H:%M}"
                    )
                    + "."
                ),
            )
        )
    return lines


def open_episode_text(row: Mapping[str, Any], *, stopped: bool = False, zone: str = UTC) -> str:
    """'Anomaly going on since 10:42 UTC · peak 184.3 at 10:43 (expected 121.0)': the open
    episode of a summary row (`stopped`: its points stopped coming, so whether it goes on is
    not known). Times are the clock in `zone` (named once), with seconds for a series with
    points under a minute apart, and a date when not on the day of the series' latest point."""
    since, peak = wall_time(row["open_since"], zone), wall_time(row["open_peak_time"], zone)
    last: Any = row.get("last")  # None, NaT, or a time
    day = None if _missing(last) else wall_time(last, zone).normalize()
    step = step_of(row)
    seconds = step is not None and step < pd.Timedelta(minutes=1)
    start = "Anomaly when its points stopped, since" if stopped else "Anomaly going on since"
    label = zone_label(zone, row["open_since"])
    text = f"{start} {_clock(since, day, seconds)} {label} · peak "
    text += f"{number(float(row['open_peak_value']))} at {_clock(peak, day, seconds)}"
    expected: Any = row.get("open_peak_expected")
    if not _missing(expected):
        text += f" (expected {number(float(expected))})"
    return text


def learning_text(learning: LearningLeft) -> str:
    """'Learning: about 3 h 20 min (400 points) to go', or the points alone while the
    series' step is not known."""
    points = plural(learning.points, "point")
    if learning.duration is None:
        return f"Learning: {points} to go"
    return f"Learning: about {about(learning.duration)} ({points}) to go"


def about(duration: pd.Timedelta) -> str:
    """A duration as a person would round it: 'under a minute', '45 min', '3 h 20 min',
    '2 days 4 h'."""
    minutes = round(duration.total_seconds() / 60)
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    days, hours = divmod(hours + (minutes >= 30), 24)
    return plural(days, "day") + (f" {hours} h" if hours else "")


def bucket_text(width: pd.Timedelta) -> str:
    """A bucket's width as a chart names it: '3.6 s', '10 min', '2 h 20 min'."""
    seconds = width.total_seconds()
    if seconds < 60:
        return f"{seconds:.2g} s" if seconds < 10 else f"{round(seconds)} s"
    return about(width)


def _clock(stamp: pd.Timestamp, day: pd.Timestamp | None, seconds: bool) -> str:
    """The time of day when `stamp` falls on `day`, else the date too."""
    clock = f"{stamp:%H:%M:%S}" if seconds else f"{stamp:%H:%M}"
    return clock if day is not None and stamp.normalize() == day else f"{stamp:%d %b} {clock}"


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def _ms(stamps: pd.Series, zone: str = UTC) -> list[int]:
    """Stored times as the clock in `zone` reads them, in ms since the epoch: what a date axis
    reads as that wall-clock time, and shorter in JSON than the time as text. (Plain lists,
    not arrays: Plotly can append to a list, not to the binary form arrays are sent in.)"""
    wall = wall_times(pd.Series(stamps), zone).dt.tz_localize(None)
    return wall.to_numpy(dtype="datetime64[ms]").astype("int64").tolist()


def _hover(scored: pd.DataFrame) -> list[str]:
    """Each point's hover line: its reason when flagged, else its severity."""
    flagged = scored["is_anomaly"].to_numpy(dtype=bool)
    severity = scored["severity"].to_numpy(dtype=float)
    return [
        plotly_text(why)
        if flag
        else ("learning: not judged yet" if np.isnan(level) else f"severity {level:.2f}")
        for why, flag, level in zip(scored["explanation"], flagged, severity, strict=True)
    ]


def _columns(scored: pd.DataFrame, zone: str = UTC) -> dict[str, list]:
    """x (ms of the clock in `zone`), y and hover text per trace, one entry per row (hover
    text for the value and the anomaly traces only: the band's is skipped)."""
    x = _ms(scored["timestamp"], zone)
    flagged = scored["is_anomaly"].to_numpy(dtype=bool)
    values = scored["value"].to_numpy(dtype=float)
    ys = {
        "lower": scored["lower"].to_numpy(dtype=float),
        "upper": scored["upper"].to_numpy(dtype=float),
        "expected": scored["expected"].to_numpy(dtype=float),
        "value": values,
        "anomaly": np.where(flagged, values, np.nan),
    }
    hover = _hover(scored)
    return {
        "x": [x] * len(TRACES),
        "y": [_json_floats(ys[name]) for name in TRACES],
        "customdata": [hover if name in ("value", "anomaly") else [] for name in TRACES],
    }


def _json_floats(values: np.ndarray) -> list:
    return [None if np.isnan(v) else round(float(v), 6) for v in values]


_STYLES: dict[str, dict[str, Any]] = {
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


def live_figure(
    chart: ChartPoints,
    *,
    name: str,
    window: str,
    zone: str = UTC,
    zoomed: bool = False,
) -> tuple[go.Figure, int]:
    """The chart of a series over a window (or the part of it zoomed into), its times in
    `zone` (its axis says so), and the most points it keeps as new ones are appended.

    Every point is drawn when the chart has few; else each bucket of the span as its lowest
    and highest value (a line through both draws every spike), the band and the expected
    value as their widest and mean, and every flagged point as it is. Numbers go as arrays
    of floats (compact in the JSON), so a chart stays well under 300 KB at any window."""
    fig = go.Figure()
    if chart.bucket is None:
        _every_point(fig, chart.points, zone)
        note = ""
        most = window_points(chart.points, window)
    else:
        _buckets(fig, chart, zone)
        _every_point(fig, chart.points.iloc[:0], zone, tail=True)
        note = f" · {chart.total:,} points, lowest and highest per {bucket_text(chart.bucket)}"
        most = len(chart.points) + REDRAW_AFTER
    span = "zoomed in" if zoomed else f"last {window}"
    title = f"{plotly_text(name)}<span style='font-size:12px'> · {span}{note}</span>"
    fig.update_layout(
        template="plotly_white",
        title=dict(text=title),
        height=330,
        margin=dict(l=55, r=15, t=45, b=50),
        legend=dict(orientation="h", y=1.1, x=1, xanchor="right"),
        hovermode="closest",
        uirevision=f"{name}/{window}/{zone}",
    )
    fig.update_xaxes(type="date", hoverformat="%Y-%m-%d %H:%M:%S")
    if chart.end is not None:
        first = chart.points["timestamp"].iloc[0] if len(chart.points) else chart.start
        fig.update_xaxes(title_text=axis_title(zone, first, chart.end), title_font_size=12)
    return fig, most


def _scatter(**trace: Any) -> go.Scatter:
    """A trace of this module's own making, not checked by Plotly: checking thousands of
    numbers a trace took longer than reading them from the database. (The tests draw every
    kind in headless Chromium.)"""
    return go.Scatter(**trace, _validate=False)


def _every_point(fig: go.Figure, points: pd.DataFrame, zone: str, *, tail: bool = False) -> None:
    """A trace per name of TRACES with every point (each has hover data, if only an empty
    list, for Plotly to append to). `tail`: the traces that points appended after a chart
    drawn in buckets go to, out of the legend (the buckets' traces are in it)."""
    columns = _columns(points, zone) if len(points) else None
    for index, trace in enumerate(TRACES):
        style = dict(_STYLES[trace])
        name = style.pop("name", trace)
        if tail:
            style["showlegend"] = False
        fig.add_trace(
            _scatter(
                x=columns["x"][index] if columns else [],
                y=columns["y"][index] if columns else [],
                customdata=columns["customdata"][index] if columns else [],
                name=name,
                legendgroup=trace,
                connectgaps=False,
                **style,
            )
        )


def _buckets(fig: go.Figure, chart: ChartPoints, zone: str) -> None:
    """Two points a bucket for the values (its lowest, then its highest), one for the band
    and the expected value (at the bucket's middle), the flagged points apart."""
    rows = chart.points
    x = _ms(rows["timestamp"], zone)
    middle = rows.iloc[::2]
    halfway = _ms(middle["first"] + (middle["last"] - middle["first"]) / 2, zone)
    width = bucket_text(chart.bucket) if chart.bucket is not None else ""
    for trace in ("lower", "upper", "expected"):
        style = dict(_STYLES[trace])
        fig.add_trace(
            _scatter(
                x=halfway,
                y=_json_floats(middle[trace].to_numpy(dtype=float)),
                name=style.pop("name", trace),
                legendgroup=trace,
                connectgaps=False,
                **style,
            )
        )
    style = dict(_STYLES["value"])
    style["hovertemplate"] = (
        f"%{{x}}<br>%{{y}}<br>low or high of %{{customdata:,}} points in {width}<extra></extra>"
    )
    fig.add_trace(
        _scatter(
            x=x,
            y=_json_floats(rows["value"].to_numpy(dtype=float)),
            customdata=rows["points"].astype(int).tolist(),
            name="value",
            legendgroup="value",
            connectgaps=False,
            **style,
        )
    )
    flagged = chart.flagged
    style = dict(_STYLES["anomaly"])
    fig.add_trace(
        _scatter(
            x=_ms(flagged["timestamp"], zone),
            y=_json_floats(flagged["value"].to_numpy(dtype=float)),
            customdata=[plotly_text(why) for why in flagged["explanation"]],
            name="anomaly",
            legendgroup="anomaly",
            **style,
        )
    )


def window_points(points: pd.DataFrame, window: str) -> int:
    """Points of the window at the series' usual step (at least those given)."""
    times = points["timestamp"]
    if len(times) < 3:
        return CHART_POINTS
    step = pd.Timedelta(times.diff().median())  # (pandas' types take it for a number)
    if not step > pd.Timedelta(0):
        return CHART_POINTS
    return int(min(max(WINDOWS[window] / step, len(points)), CHART_POINTS))


def extension(scored: pd.DataFrame, most: int, zone: str = UTC, *, bucketed: bool = False) -> list:
    """`extendData` for a live chart drawn in `zone`: every trace of its points gets the new
    rows (the traces after its buckets' when `bucketed`), the oldest beyond `most` fall
    away."""
    first = len(TRACES) if bucketed else 0
    return [_columns(scored, zone), list(range(first, first + len(TRACES))), most]
