"""The Evaluate page's table of detectors and their precision-recall curves."""

from __future__ import annotations

import math
from collections.abc import Sequence

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import plotly.graph_objects as go
import plotly.io as pio
from dash import html

from vigil.detection.episodes import GAP
from vigil.detection.judge import Judgement
from vigil.detection.quality import plural
from vigil.detection.text import plotly_text

PERCENT = {"function": "params.value == null ? '' : d3.format('.0%')(params.value)"}
RATE = {"function": "params.value == null ? '' : d3.format('.2f')(params.value)"}

FALSE_ALARMS_TIP = (
    f"Episodes (runs of flags, gaps of up to {GAP} points merged) that touch no labelled "
    "anomaly, per day of the series"
)


def _column(field: str, name: str, width: int, **more: object) -> dict:
    """A grid column never squeezed below `width` pixels, so its header and numbers stay
    whole (on a narrow screen the grid scrolls sideways instead)."""
    return {"field": field, "headerName": name, "minWidth": width, **more}


JUDGEMENT_COLUMNS = [
    _column(
        "detector",
        "Detector",
        200,
        pinned="left",
        wrapText=True,  # a long name takes two lines rather than losing its end
        autoHeight=True,
        cellStyle={"lineHeight": "1.35", "paddingTop": "11px", "paddingBottom": "11px"},
    ),
    {
        "headerName": "Anomaly windows",
        "children": [
            _column(
                "events_found",
                "Found",
                80,
                headerTooltip="Labelled windows an episode touches, of all of them",
            ),
            _column("event_precision", "Precision", 98, valueFormatter=PERCENT),
            _column("event_recall", "Recall", 80, valueFormatter=PERCENT),
            _column("event_f1", "F1", 80, valueFormatter=RATE, sort="desc"),
        ],
    },
    {
        "headerName": "False alarms",
        "children": [
            _column(
                "false_per_day", "A day", 76, valueFormatter=RATE, headerTooltip=FALSE_ALARMS_TIP
            ),
            _column(
                "false_alarms",
                "In all",
                70,
                headerTooltip="Episodes that touch no labelled anomaly",
            ),
        ],
    },
    _column(
        "alerts_per_day",
        "Alerts a day",
        84,
        valueFormatter=RATE,
        headerTooltip="Episodes a day, true or false: one alert each",
    ),
    _column(
        "point_f1",
        "Point F1",
        76,
        valueFormatter=RATE,
        headerTooltip="F1 counting every point once",
    ),
    {
        "headerName": "At the alert budget",
        "children": [
            _column(
                "budget_threshold",
                "Threshold",
                98,
                valueFormatter={"function": "params.data.budget_threshold_text"},
                wrapText=True,  # 'never binds' takes two lines rather than losing its end
                autoHeight=True,
                cellStyle={"lineHeight": "1.35", "paddingTop": "11px", "paddingBottom": "11px"},
                headerTooltip="The lowest severity threshold that keeps to the alert budget "
                "('never binds' when every threshold does)",
            ),
            _column("budget_recall", "Recall", 80, valueFormatter=PERCENT),
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


def judgement_note(component_id: str) -> html.P:
    """What the table's columns count, in a user's words."""
    return html.P(
        [
            html.Strong("False alarms a day: "),
            f"runs of flags (episodes; gaps of up to {GAP} points merged) that touch no "
            "labelled anomaly, per day of the series. A window is found when an episode "
            "touches it. Alerts a day counts every episode, true or false; Point F1 counts "
            "every point once.",
        ],
        id=component_id,
        className="small text-muted mt-2",
    )


def _number(value: float) -> float | None:
    """A rate as the grid can show it: a series that spans no time has none."""
    return None if math.isnan(value) else value


def judgement_rows(judgements: Sequence[Judgement]) -> list[dict]:
    """Grid rows: one per detector, its label as the name."""
    rows = []
    for j in judgements:
        row = {
            "detector": j.label,
            "events_found": f"{j.event.true_positives} of "
            f"{j.event.true_positives + j.event.false_negatives}",
            "event_precision": j.event.precision,
            "event_recall": j.event.recall,
            "event_f1": round(j.event.f1, 4),
            "false_per_day": _number(j.false_per_day),
            "false_alarms": j.episodes.false,
            "alerts_per_day": _number(j.alerts_per_day),
            "point_f1": j.point.f1,
            "budget_threshold": j.budget_threshold,
            "budget_threshold_text": j.budget_threshold_text,
            "budget_recall": None if j.at_budget is None else j.at_budget.recall,
        }
        rows.append(row)
    return rows


def evaluation_summary(judgements: Sequence[Judgement], events: int, *, online: bool) -> html.Div:
    """The labelled windows and the span judged, and the best F1 with its false alarms a day."""
    best = max(judgements, key=lambda j: j.event.f1)
    days = best.episodes.days
    false_alarms = (
        "" if math.isnan(best.false_per_day) else f", {best.false_per_day:.2f} false alarms a day"
    )
    return html.Div(
        [
            dbc.Badge(plural(events, "labelled window"), color="secondary", className="me-2"),
            dbc.Badge(
                f"{days:,.1f} days" if days >= 1 else f"{days * 24:,.1f} hours",
                color="secondary",
                className="me-2",
            ),
            html.Span(
                f"Best event-wise F1: {best.label} ({best.event.f1:.2f}{false_alarms})"
                + (" · online" if online else ""),
                id="evaluate-best",
            ),
            *[
                html.Div(line, className="small text-muted mt-1", id=f"evaluate-{key}")
                for key, line in (("unbound", budget_words(judgements)),)
                if line
            ],
        ]
    )


def _names(labels: Sequence[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + f" and {labels[-1]}"


def budget_words(judgements: Sequence[Judgement]) -> str:
    """'At 5 alerts a day the budget never binds for Automatic: ...'; '' when it binds for
    every detector, or no budget was given."""
    free = [j.label for j in judgements if j.budget is not None and not j.budget_binds]
    if not free:
        return ""
    budget = judgements[0].budget
    them = "its" if len(free) == 1 else "their"
    return (
        f"At {budget:g} alerts a day the budget never binds for {_names(free)}: even flagging "
        f"every point with a severity stays within it, so {them} own threshold is the one to "
        "judge by."
    )


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
            name=plotly_text(j.label),
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
            name=plotly_text(f"{j.label}: its threshold"),
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
                name=plotly_text(f"{j.label}: alert budget"),
                legendgroup=j.detector,
                showlegend=False,
                marker={"color": colour, "size": 12, "symbol": "diamond-open"},
                hovertemplate="alert budget<br>recall %{x:.0%}, precision %{y:.0%}<extra></extra>",
            )
    # what the markers mean, once for all detectors
    figure.add_scatter(
        x=[None],
        y=[None],
        mode="markers",
        name="a detector's own threshold",
        marker={"color": "#6c757d", "size": 11},
        hoverinfo="skip",
    )
    if any(j.at_budget is not None for j in judgements):
        figure.add_scatter(
            x=[None],
            y=[None],
            mode="markers",
            name="the alert budget's threshold",
            marker={"color": "#6c757d", "size": 12, "symbol": "diamond-open"},
            hoverinfo="skip",
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
