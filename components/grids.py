"""AG Grid tables: the raw preview and the anomalies list."""

from __future__ import annotations

import dash_ag_grid as dag
import pandas as pd

from detection.explain import number


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


ANOMALY_COLUMNS = [
    {"field": "timestamp", "headerName": "Time", "minWidth": 170, "sort": None},
    {"field": "value", "headerName": "Value", "maxWidth": 120},
    {"field": "expected", "headerName": "Expected", "maxWidth": 120},
    {
        "field": "severity",
        "headerName": "Severity",
        "minWidth": 120,
        "maxWidth": 130,
        "sort": "desc",
    },
    {
        "field": "explanation",
        "headerName": "Why",
        "flex": 3,
        "minWidth": 320,
        "tooltipField": "explanation",
    },
]


def anomaly_rows(flagged: pd.DataFrame) -> list[dict]:
    """Rows for the anomalies grid: readable numbers, time as ISO text."""
    return [
        {
            "timestamp": row.timestamp.isoformat(sep=" "),
            "value": number(row.value),
            "expected": "" if row.expected != row.expected else number(row.expected),
            "severity": round(float(row.severity), 3),
            "explanation": row.explanation,
        }
        for row in flagged.itertuples(index=False)
    ]


def anomaly_grid(component_id: str) -> dag.AgGrid:
    return dag.AgGrid(
        id=component_id,
        rowData=[],
        columnDefs=ANOMALY_COLUMNS,
        defaultColDef={"resizable": True, "sortable": True, "filter": True},
        dashGridOptions={
            "rowSelection": {
                "mode": "singleRow",
                "checkboxes": False,
                "enableClickSelection": True,
            },
            "tooltipShowDelay": 300,
        },
        columnSize="responsiveSizeToFit",
        style={"height": 360},
        className="ag-theme-alpine",
    )
