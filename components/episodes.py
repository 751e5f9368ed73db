"""Episodes as the Analyze page shows them: the episodes table, the spans shaded on the chart,
the learning period, and the words that sum a result up.

Everything here is a plain function of a ScoredFrame (or its episode table): no store, no
callback, so the page, the HTML report and the tests read the same rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import dash_ag_grid as dag
import numpy as np
import pandas as pd

from vigil.alerts.episodes import duration, when
from vigil.components.layout import paged_grid_options
from vigil.components.zones import time_text, wall_time
from vigil.detection.explain import number
from vigil.detection.quality import plural
from vigil.detection.zones import TimeLike
from vigil.times import UTC, zone_label

#: The chart shades at most this many spans; closer episodes are merged until they fit.
MAX_SHADED = 150
#: Episodes closer than this share of the chart's time range are shaded as one span (they
#: would touch on screen anyway).
MERGE_SHARE = 1 / 800
#: Decimals a severity is shown with at most.
MAX_DECIMALS = 6


def severity_text(severity: float) -> str:
    """A severity with enough decimals to tell it from its neighbours near 1: '0.85', '0.931',
    '0.99995'; two significant digits of its distance from 1, truncated so that a severity
    under 1 never reads as 1."""
    if severity is None or not math.isfinite(severity):
        return ""
    if severity >= 1:
        return "1"
    gap = 1.0 - severity
    decimals = min(MAX_DECIMALS, max(2, 1 - math.floor(math.log10(gap))))
    scale = 10**decimals
    text = f"{math.floor(severity * scale) / scale:.{decimals}f}"
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.rstrip('0').ljust(2, '0')}"


def span_text(start: TimeLike, end: TimeLike, *, still_open: bool = False, zone: str = UTC) -> str:
    """'2024-03-12 09:30 → 10:15' (the end's date only when it differs), '2024-03-12 09:30'
    for one point; an episode open at the end of the data ends '→ end of data'. The stored
    times are written as the clock in `zone` reads them."""
    start, end = wall_time(start, zone), wall_time(end, zone)
    if still_open:
        return f"{when(start)} → end of data"
    if start == end:
        return when(start)
    until = when(end)
    if start.date() == end.date():
        until = until[len("2024-03-12 ") :]
    return f"{when(start)} → {until}"


def count_words(episodes: int, points: int) -> tuple[str, str]:
    """The summary's badge and what follows it: ('3 anomaly episodes', '12 flagged points'),
    or ('No anomalies', '') when nothing is flagged."""
    if not episodes:
        return "No anomalies", ""
    return plural(episodes, "anomaly episode"), plural(points, "flagged point")


def episode_rows(table: pd.DataFrame, zone: str = UTC) -> list[dict]:
    """Rows for the episodes grid from `detection.episodes.episode_table`, most severe first
    (peak severity, then peak score: it orders episodes whose severities are equal, both 1
    once they saturate); `order` ranks them that way (higher is more severe). `start` and
    `end` stay stored UTC times (to sort by); the words shown are in `zone`."""
    if table.empty:
        return []
    ids = table["episode"].astype("int64").to_numpy()
    severity = table["peak_severity"].astype(float).fillna(-1.0).to_numpy()
    score = table["peak_score"].astype(float).to_numpy()
    rank_score = np.where(np.isnan(score), -np.inf, score)
    ranked = np.lexsort((-ids, rank_score, severity))  # ascending: least severe first
    order = np.empty(len(table), dtype=np.int64)
    order[ranked] = np.arange(1, len(table) + 1)
    rows = []
    for position in ranked[::-1]:
        row = table.iloc[position]
        start, end = pd.Timestamp(row["start"]), pd.Timestamp(row["end"])
        value, expected, peak = (
            float(row["value"]),
            float(row["expected"]),
            float(row["peak_severity"]),
        )
        rows.append(
            {
                "id": str(ids[position]),
                "episode": int(ids[position]),
                "start": start.isoformat(sep=" "),
                "end": end.isoformat(sep=" "),
                "span": span_text(start, end, still_open=bool(row["open"]), zone=zone),
                "duration_s": (end - start).total_seconds(),
                "duration": _duration_cell(start, end, int(row["points"])),
                "peak_time": time_text(row["peak_time"], zone),
                "peak_short": _short_time(row["peak_time"], start, zone),
                "order": int(order[position]),
                "severity": _finite(peak),
                "severity_text": severity_text(peak),
                "score": _finite(score[position]),
                "score_text": number(score[position]) if np.isfinite(score[position]) else "",
                "points": int(row["points"]),
                "value": _finite(value),
                "expected": _finite(expected),
                "value_text": number(value)
                + ("" if math.isnan(expected) else f" vs {number(expected)}"),
                "explanation": str(row["explanation"]),
                "open": bool(row["open"]),
            }
        )
    return rows


def _finite(number: float) -> float | None:
    """A number for JSON: None where it is missing or infinite."""
    return float(number) if np.isfinite(number) else None


def _duration_cell(start: pd.Timestamp, end: pd.Timestamp, points: int) -> str:
    """'1 point', or '4 h 30 min, 15 points'."""
    if points == 1 and start == end:
        return "1 point"
    return f"{duration(end - start)}, {points:,} points"


def _short_time(moment: TimeLike, start: TimeLike, zone: str) -> str:
    """The peak's time of day when it falls on the episode's first day (in `zone`), else
    date and time."""
    moment, start = wall_time(moment, zone), wall_time(start, zone)
    text = when(moment)
    return text[len("2024-03-12 ") :] if moment.date() == start.date() else text


EPISODE_COLUMNS = [
    {
        "field": "start",
        "headerName": "Span",
        "width": 200,
        "valueFormatter": {"function": "params.data.span"},
        "tooltipField": "span",
    },
    {
        "field": "duration_s",
        "headerName": "Duration",
        "width": 160,
        "valueFormatter": {"function": "params.data.duration"},
        "filter": False,
    },
    {
        "field": "peak_time",
        "headerName": "Peak",
        "width": 75,
        "filter": False,
        "valueFormatter": {"function": "params.data.peak_short"},
        "tooltipField": "peak_time",
    },
    {
        "field": "order",
        "headerName": "Severity",
        "width": 118,
        "sort": "desc",
        "filter": False,
        "valueFormatter": {"function": "params.data.severity_text"},
        "headerTooltip": "At the peak, 0 to 1, comparable across detectors; shown with as many "
        "decimals as it takes to tell apart severities close to 1.",
    },
    {
        "field": "score",
        "headerName": "Score",
        "width": 75,
        "filter": False,
        "valueFormatter": {"function": "params.data.score_text"},
        "headerTooltip": "The detector's own measure at the peak (higher is more unusual): "
        "summed surprise for Automatic, standard deviations for z-score and STL. It still "
        "orders episodes whose severities both round to 1.",
    },
    {
        "field": "value",
        "headerName": "Value vs expected",
        "width": 158,
        "valueFormatter": {"function": "params.data.value_text"},
        "filter": False,
        "headerTooltip": "At the peak: the value, and the value expected there.",
    },
    {
        "field": "explanation",
        "headerName": "Why",
        "flex": 1,
        "minWidth": 240,
        "wrapText": True,
        "autoHeight": True,
        "cellClass": "vigil-why",  # at most three lines: assets/analyze.css
        "tooltipField": "explanation",
    },
]


def episode_grid(component_id: str) -> dag.AgGrid:
    """The episodes table: one row per episode, most severe first, ten to a page; a click on
    a row reports the episode's id as the `rowId` of `cellClicked`."""
    return dag.AgGrid(
        id=component_id,
        rowData=[],
        columnDefs=EPISODE_COLUMNS,
        defaultColDef={"resizable": True, "sortable": True, "filter": True},
        getRowId="params.data.id",
        dashGridOptions=paged_grid_options(10, "No anomaly episodes"),
        className="ag-theme-alpine",
    )


@dataclass(frozen=True)
class Learning:
    """The first `rows` points of a series, which a detector does not judge: it learns from
    them. `until` is the time of the first judged point (None when none is), `spent` how long
    the learning lasted, `total` the points in the series."""

    rows: int
    until: pd.Timestamp | None
    spent: pd.Timedelta
    total: int

    @property
    def everything(self) -> bool:
        """Whether the whole series is still learning (nothing could be judged)."""
        return self.until is None


def learning_period(scored: pd.DataFrame, warmup_rows: int = 0) -> Learning | None:
    """The leading points without a severity (the online warm-up's `warmup_rows` at least),
    unless those are only points without a value; None when every point is judged."""
    severity = scored["severity"].to_numpy(dtype=float)
    judged = np.flatnonzero(~np.isnan(severity))
    first = int(judged[0]) if judged.size else len(scored)
    rows = max(first, min(int(warmup_rows or 0), len(scored)))
    present = scored["value"].iloc[:rows].notna().any()
    if rows == 0 or not present:
        return None
    times = scored["timestamp"]
    until = pd.Timestamp(times.iloc[rows]) if rows < len(scored) else None
    end = until if until is not None else pd.Timestamp(times.iloc[-1])
    return Learning(rows, until, end - pd.Timestamp(times.iloc[0]), len(scored))


def learning_words(learning: Learning | None, zone: str = UTC) -> str:
    """'Learning: the first 300 points (3 days 3 h, until 2024-03-07 03:00 UTC) are not
    judged, so nothing before then is flagged.' (the time in `zone`, named); '' when there is
    no learning period."""
    if learning is None:
        return ""
    if learning.until is None:  # everything is learning
        return (
            f"Learning: all {learning.total:,} points are still in the detector's learning "
            "period, so none is judged yet; a longer series is needed."
        )
    points = "point" if learning.rows == 1 else f"{learning.rows:,} points"
    return (
        f"Learning: the first {points} ({duration(learning.spent)}, until "
        f"{time_text(learning.until, zone)} {zone_label(zone, learning.until)}) are not "
        "judged, so nothing before then is flagged."
    )


def shaded_spans(table: pd.DataFrame, *, first: TimeLike, last: TimeLike) -> list[tuple]:
    """The (start, end) spans to shade for the episodes in `table` on a chart from `first` to
    `last`: episodes closer than MERGE_SHARE of that range merged into one span, and the
    merging distance doubled until there are at most MAX_SHADED spans, so that a series with
    thousands of episodes still draws quickly and no episode goes unshaded."""
    if table.empty:
        return []
    order = np.argsort(table["start"].to_numpy())
    starts = pd.to_datetime(table["start"]).to_numpy()[order]
    ends = pd.to_datetime(table["end"]).to_numpy()[order]
    reach = max((pd.Timestamp(last) - pd.Timestamp(first)) * MERGE_SHARE, pd.Timedelta(0))
    while True:
        spans = _merged(starts, ends, np.timedelta64(reach.value, "ns"))
        if len(spans) <= MAX_SHADED:
            return spans
        reach = max(reach * 2, pd.Timedelta(1))


def _merged(starts: np.ndarray, ends: np.ndarray, reach: np.timedelta64) -> list[tuple]:
    """Spans sorted by start merged where the next starts within `reach` of the last end."""
    latest = np.maximum.accumulate(ends)
    breaks = np.flatnonzero(starts[1:] - latest[:-1] > reach) + 1
    firsts = np.concatenate([[0], breaks])
    lasts = np.concatenate([breaks - 1, [len(starts) - 1]])
    return [
        (pd.Timestamp(starts[a]), pd.Timestamp(latest[b]))
        for a, b in zip(firsts, lasts, strict=True)
    ]
