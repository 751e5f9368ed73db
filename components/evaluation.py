"""The Evaluate page's table of detectors and their precision-recall curves."""

from __future__ import annotations

from collections.abc import Sequence

import dash_ag_grid as dag
import plotly.graph_objects as go
import plotly.io as pio

from detection.judge import Judgement

PERCENT = {"function": "params.value == null ? '' : d3.format('.0%')(params.value)"}
RATE = {"function": "params.value == null ? '' : d3.format('.2f')(params.value)"}
THRESHOLD = {
    "function": "params.value == null ? '' : "
    "(params.value > 1 ? 'none fits' : d3.format('.2f')(params.value))"
}

JUDGEMENT_COLUMNS = [
    {"field": "detector", "headerName": "Detector", "pinned": "left", "minWidth": 200},
    {
        "headerName": "Anomaly windows",
        "children": [
            {"field": "events_found", "headerName": "Found", "minWidth": 70},
            {"field": "false_alarms", "headerName": "False alarms", "minWidth": 70},
            {"field": "event_precision", "headerName": "Precision", "valueFormatter": PERCENT},
            {"field": "event_recall", "headerName": "Recall", "valueFormatter": PERCENT},
            {"field": "event_f1", "headerName": "F1", "valueFormatter": RATE, "sort": "desc"},
        ],
    },
    {
        "field": "point_f1",
        "headerName": "Point F1",
        "valueFormatter": RATE,
        "headerTooltip": "F1 counting every point once",
    },
    {
        "field": "alerts_per_day",
        "headerName": "Alerts a day",
        "valueFormatter": RATE,
        "headerTooltip": "Runs of consecutive flagged points, a day",
    },
    {
        "headerName": "At the alert budget",
        "children": [
            {"field": "budget_threshold", "headerName": "Threshold", "valueFormatter": THRESHOLD},
            {"field": "budget_recall", "headerName": "Recall", "valueFormatter": PERCENT},
        ],
    },
]
#: Thresholds that flag more than this share of points are no alerting regime: not drawn.
MAX_SHARE_DRAWN = 0.1
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")


def judgement_grid(component_id: str) -> dag.AgGrid:
    return dag.AgGrid(
        id=component_id,
        rowData=[],
        columnDefs=JUDGEMENT_COLUMNS,
        defaultColDef={"resizable": True, "sortable": True, "minWidth": 60, "wrapHeaderText": True},
        columnSize="responsiveSizeToFit",
        dashGridOptions={"domLayout": "autoHeight", "tooltipShowDelay": 300},
        className="ag-theme-alpine",
    )


def judgement_rows(judgements: Sequence[Judgement]) -> list[dict]:
    """Grid rows: one per detector, its label as the name."""
    rows = []
    for j in judgements:
        row = {
            "detector": j.label,
            "events_found": f"{j.event.true_positives} of "
            f"{j.event.true_positives + j.event.false_negatives}",
            "false_alarms": j.event.false_positives,
            "event_precision": j.event.precision,
            "event_recall": j.event.recall,
            "event_f1": round(j.event.f1, 4),
            "point_f1": j.point.f1,
            "alerts_per_day": j.alerts_per_day,
            "budget_threshold": j.budget_threshold,
            "budget_recall": None if j.at_budget is None else j.at_budget.recall,
        }
        rows.append(row)
    return rows


def precision_recall_figure(judgements: Sequence[Judgement]) -> go.Figure:
    """Event-wise precision against recall as the severity threshold moves, per detector,
    with each detector's own threshold (circle) and the budget's (diamond) marked. Thresholds
    that flag over a tenth of the points are left out: there everything runs together into a
    few long detections and event-wise precision means nothing."""
    figure = go.Figure()
    colours = pio.templates["plotly_white"].layout.colorway
    for number, j in enumerate(judgements):
        colour = colours[number % len(colours)]
        curve = j.curve[(j.curve["flagged"] > 0) & (j.curve["share_flagged"] <= MAX_SHARE_DRAWN)]
        figure.add_scatter(
            x=curve["recall"],
            y=curve["precision"],
            mode="lines",
            name=j.label,
            legendgroup=j.detector,
            line={"color": colour, "shape": "hv", "dash": DASHES[number % len(DASHES)]},
            customdata=curve[["threshold"]],
            hovertemplate="threshold %{customdata[0]:.2f}<br>recall %{x:.0%}, "
            "precision %{y:.0%}<extra>" + j.label + "</extra>",
        )
        figure.add_scatter(
            x=[j.event.recall],
            y=[j.event.precision],
            mode="markers",
            name=f"{j.label}: its threshold",
            legendgroup=j.detector,
            showlegend=False,
            marker={"color": colour, "size": 11, "line": {"color": "white", "width": 1}},
            hovertemplate="own threshold<br>recall %{x:.0%}, precision %{y:.0%}<extra></extra>",
        )
        if j.at_budget is not None:
            figure.add_scatter(
                x=[j.at_budget.recall],
                y=[j.at_budget.precision],
                mode="markers",
                name=f"{j.label}: alert budget",
                legendgroup=j.detector,
                showlegend=False,
                marker={"color": colour, "size": 12, "symbol": "diamond-open"},
                hovertemplate="alert budget<br>recall %{x:.0%}, precision %{y:.0%}<extra></extra>",
            )
    figure.update_layout(
        template="plotly_white",
        title="Precision and recall of anomaly windows as the severity threshold moves",
        xaxis={"title": "recall", "range": [-0.02, 1.02], "tickformat": ".0%"},
        yaxis={"title": "precision", "range": [-0.02, 1.05], "tickformat": ".0%"},
        height=420,
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
        legend={"orientation": "h", "y": -0.2},
    )
    return figure
