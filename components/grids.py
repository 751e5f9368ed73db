"""AG Grid tables: the raw preview and the flagged points list."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import dash_ag_grid as dag
import pandas as pd

from vigil.components.episodes import severity_text
from vigil.components.layout import paged_grid_options
from vigil.components.zones import wall_times
from vigil.detection.explain import number
from vigil.times import UTC


def _cell(value: object) -> object:
    if isinstance(value, pd.Timestamp):
        return value.isoformat(sep=" ")
    if value is None or (isinstance(value, float) and value != value):
        return None
    return value if isinstance(value, (int, float, bool)) else str(value)


def preview_grid(frame: pd.DataFrame, component_id: str) -> dag.AgGrid:
    """The first rows of a file as read, every column shown as it came."""
    fields = [f"c{i}" for i in range(len(frame.columns))]
    rows = [
        {field: _cell(value) for field, value in zip(fields, row, strict=True)}
        for row in frame.itertuples(index=False)
    ]
    return dag.AgGrid(
        id=component_id,
        rowData=rows,
        columnDefs=[
            {"field": field, "headerName": str(name)}
            for field, name in zip(fields, frame.columns, strict=True)
        ],
        defaultColDef={"resizable": True, "sortable": True, "minWidth": 110, "flex": 1},
        style={"height": 320},
        className="ag-theme-alpine",
    )


#: Rows of the flagged points grid on one page (the grid is as tall as its page).
POINTS_PER_PAGE = 15

ANOMALY_COLUMNS = [
    {
        # sorted by the stored time, shown (and filtered) as the clock in the chosen zone reads it
        "field": "timestamp",
        "headerName": "Time",
        "minWidth": 170,
        "sort": None,
        "valueFormatter": {"function": "params.data.time"},
        "filterValueGetter": {"function": "params.data.time"},
    },
    {"field": "episode", "headerName": "Episode", "maxWidth": 110},
    {"field": "value", "headerName": "Value", "maxWidth": 120},
    {"field": "expected", "headerName": "Expected", "maxWidth": 120},
    {
        "field": "severity",
        "headerName": "Severity",
        "minWidth": 120,
        "maxWidth": 130,
        "sort": "desc",
        "valueFormatter": {"function": "params.data.severity_text"},
    },
    {
        "field": "explanation",
        "headerName": "Why",
        "flex": 3,
        "minWidth": 320,
        "tooltipField": "explanation",
    },
]


def anomaly_rows(flagged: pd.DataFrame, zone: str = UTC) -> list[dict]:
    """Rows for the flagged points grid: readable numbers, the stored time as ISO text
    (`timestamp`, naive UTC: what a clicked row looks up) and as the clock in `zone` reads it
    (`time`, what the grid shows), the episode the point belongs to, and its severity both as
    a number (to sort and filter) and as text with enough decimals to tell severities near 1
    apart."""
    episodes = flagged.get("episode", pd.Series(pd.NA, index=flagged.index, dtype="Int64"))
    shown = wall_times(flagged["timestamp"], zone)
    rows: Iterable[Any] = flagged.itertuples(index=False)  # values as the frame holds them
    return [
        {
            "timestamp": row.timestamp.isoformat(sep=" "),
            "time": at.tz_localize(None).isoformat(sep=" "),
            "episode": None if pd.isna(episode) else int(episode),
            "value": number(row.value),
            "expected": "" if row.expected != row.expected else number(row.expected),
            "severity": None if row.severity != row.severity else float(row.severity),
            "severity_text": severity_text(row.severity),
            "explanation": row.explanation,
        }
        for row, episode, at in zip(rows, episodes, shown, strict=True)
    ]


def anomaly_grid(component_id: str) -> dag.AgGrid:
    """The flagged points grid, POINTS_PER_PAGE rows a page."""
    return dag.AgGrid(
        id=component_id,
        rowData=[],
        columnDefs=ANOMALY_COLUMNS,
        defaultColDef={"resizable": True, "sortable": True, "filter": True},
        dashGridOptions=paged_grid_options(POINTS_PER_PAGE, "No flagged points"),
        columnSize="responsiveSizeToFit",
        className="ag-theme-alpine",
    )
