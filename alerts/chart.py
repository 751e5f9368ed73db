"""The chart in an alert email: the series from a little before its first episode to a little
after its last, thinned to a few thousand points when longer (each stretch keeps its lowest and
highest value and every flagged point, so the line covers the same time as the episodes and no
spike is smoothed away), with the expected band, the flagged points, each episode shaded and
numbered, and its peak ringed. Its times are wall-clock times in the emails' zone, named under
the time axis ('time (CET)')."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from vigil.alerts.episodes import AlertEpisode
from vigil.detection.text import plotly_text
from vigil.detection.zones import UTC, TimeLike, abbreviation, wall_clock

#: Rows shown before the first episode and after the last.
MARGIN = 150
#: Points the chart draws at most; a longer window is thinned.
MOST = 2000
SIZE = (640, 300)


def window(
    scored: pd.DataFrame,
    episodes: Sequence[AlertEpisode],
    *,
    margin: int = MARGIN,
    most: int = MOST,
) -> pd.DataFrame:
    """The rows of `scored` (sorted by time) from `margin` rows before the first episode's
    start to `margin` rows after the last one's end, thinned to about `most` rows by `thin`."""
    times = pd.to_datetime(scored["timestamp"])
    first = int(times.searchsorted(min(pd.Timestamp(e.start) for e in episodes)))
    last = int(times.searchsorted(max(pd.Timestamp(e.end) for e in episodes), side="right"))
    start = max(0, first - margin)
    end = min(len(scored), max(last + margin, start + 1))
    return thin(scored.iloc[start:end], most)


def thin(rows: pd.DataFrame, most: int = MOST) -> pd.DataFrame:
    """At most about `most` of `rows`, spread over all of them: the first and last row, each
    even stretch's lowest and highest value, and every flagged row (thinned the same way when
    they alone are too many). Rows keep their order and columns."""
    if len(rows) <= most:
        return rows
    keep = _extremes(rows["value"].to_numpy(dtype="float64", na_value=np.nan), most)
    if "is_anomaly" in rows:
        flagged = np.flatnonzero(rows["is_anomaly"].fillna(False).to_numpy(dtype=bool))
        if len(flagged) > most:
            values = rows["value"].to_numpy(dtype="float64", na_value=np.nan)[flagged]
            flagged = flagged[_extremes(values, most)]
        keep = np.union1d(keep, flagged)
    return rows.iloc[keep]


def _extremes(values: np.ndarray, most: int) -> np.ndarray:
    """Positions of the first and last value and of each stretch's lowest and highest, for
    about `most` positions in all; a stretch with no value keeps its first position."""
    size = len(values)
    stretch = int(np.ceil(size / max(most // 2, 1)))
    padded = np.full(int(np.ceil(size / stretch)) * stretch, np.nan)
    padded[:size] = values
    blocks = padded.reshape(-1, stretch)
    missing = np.isnan(blocks)
    offsets = np.arange(0, len(padded), stretch)
    low = offsets + np.argmin(np.where(missing, np.inf, blocks), axis=1)
    high = offsets + np.argmax(np.where(missing, -np.inf, blocks), axis=1)
    keep = np.unique(np.concatenate([[0, size - 1], low, high]))
    return keep[keep < size]


def _local(stamps: pd.Series, zone: str) -> pd.Series:
    """Stored times (naive UTC) as wall-clock times in `zone`, naive, for the axis."""
    stamps = pd.to_datetime(stamps)
    if zone == UTC:
        return stamps
    return stamps.dt.tz_localize(UTC).dt.tz_convert(zone).dt.tz_localize(None)


def _wall(at: TimeLike, zone: str) -> pd.Timestamp:
    return wall_clock(at, zone).tz_localize(None)


def axis_title(times: pd.Series, zone: str) -> str:
    """'time (UTC)', 'time (CET)', or 'time (CET/CEST)' when the chart spans a change."""
    if zone == UTC or times.empty:
        return f"time ({UTC})"
    names = dict.fromkeys(abbreviation(wall_clock(t, zone)) for t in (times.min(), times.max()))
    return f"time ({'/'.join(names)})"


def figure(
    context: pd.DataFrame, episodes: Sequence[AlertEpisode], series: str, zone: str = UTC
) -> go.Figure:
    """The chart as a figure: the band, the value line, the flagged points, each episode's span
    shaded and numbered as the email numbers it (by start; where labels would overlap, the
    more severe episode's shows), and its peak ringed; times are in `zone`, named."""
    fig = go.Figure()
    stored = pd.to_datetime(context["timestamp"])
    times = _local(stored, zone)
    if "upper" in context and context["upper"].notna().any():
        fig.add_scatter(
            x=pd.concat([times, times[::-1]]),
            y=pd.concat([context["upper"], context["lower"][::-1]]),
            fill="toself",
            fillcolor="rgba(108,117,125,0.18)",
            line={"width": 0},
            name="normal range",
            hoverinfo="skip",
        )
    fig.add_scatter(
        x=times,
        y=context["value"],
        mode="lines",
        name=plotly_text(series),
        line={"color": "#1f4e79", "width": 1.5},
    )
    if "is_anomaly" in context:
        flagged = context[context["is_anomaly"].fillna(False).astype(bool)]
        fig.add_scatter(
            x=_local(flagged["timestamp"], zone),
            y=flagged["value"],
            mode="markers",
            name="flagged",
            marker={"color": "#c0392b", "size": 5},
        )
    # a span is at least a step wide, and wide enough to see (1/100 of the chart)
    step = times.diff().median() if len(times) > 1 else pd.Timedelta(0)
    seen = (times.max() - times.min()) / 100 if len(times) > 1 else pd.Timedelta(0)
    # (pandas' types take a median of times for a number)
    half = pd.Timedelta(max(step if pd.notna(step) else pd.Timedelta(0), seen) / 2)
    ordered = sorted(episodes, key=lambda episode: episode.start)
    labelled = _labelled(ordered, (times.max() - times.min()) / 18 if len(times) > 1 else None)
    for number, episode in enumerate(ordered, start=1):
        label = {
            "annotation_text": f"#{number}",
            "annotation_position": "top left",
            "annotation_font": {"size": 14, "color": "#922b21"},
        }
        fig.add_vrect(
            x0=_wall(episode.start, zone) - half,
            x1=_wall(episode.end, zone) + half,
            fillcolor="rgba(192,57,43,0.22)",
            line_width=0,
            layer="below",
            **(label if number in labelled else {}),
        )
    fig.add_scatter(
        x=[_wall(episode.peak.timestamp, zone) for episode in ordered],
        y=[episode.peak.value for episode in ordered],
        mode="markers",
        name="peak",
        marker={"color": "#c0392b", "size": 10, "line": {"color": "white", "width": 1.5}},
    )
    width, height = SIZE
    return fig.update_layout(
        template="plotly_white",
        width=width,
        height=height,
        margin={"l": 50, "r": 10, "t": 20, "b": 55},
        font={"size": 15},
        showlegend=False,
        xaxis_title={"text": axis_title(stored, zone), "font": {"size": 13}},
    )


def _labelled(ordered: Sequence[AlertEpisode], apart: pd.Timedelta | None) -> set[int]:
    """The numbers (1 = first by start) of the episodes whose labels fit: the most severe
    first, each at least `apart` from one already labelled, so that labels never overlap."""
    by_severity = sorted(
        enumerate(ordered, start=1), key=lambda item: item[1].peak.severity, reverse=True
    )
    placed: list[pd.Timestamp] = []
    numbers = set()
    for number, episode in by_severity:
        start = pd.Timestamp(episode.start)
        if apart is None or all(abs(start - other) >= apart for other in placed):
            placed.append(start)
            numbers.add(number)
    return numbers


def png(
    context: pd.DataFrame, episodes: Sequence[AlertEpisode], series: str, zone: str = UTC
) -> bytes:
    """The chart as a PNG, at twice its size so that it stays sharp on a phone's screen."""
    width, height = SIZE
    drawn = figure(context, episodes, series, zone)
    return pio.to_image(drawn, format="png", width=width, height=height, scale=2)
