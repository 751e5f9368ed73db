"""The Overview page: every live series at once as a swimlane, most anomalous first, a row
per series and a cell per time bucket; a click opens the series on the Live page."""

from __future__ import annotations

import math
from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, callback, dcc, html, no_update

from vigil.components import ids
from vigil.components.layout import pager, series_count, series_filter
from vigil.components.overview import swimlane_figure
from vigil.components.zones import shown_zone, stored_time
from vigil.selectors import MAX_TEXT, Selector, SelectorError
from vigil.services import live_store
from vigil.web.auth import requires

dash.register_page(__name__, path="/overview", name="Overview", title="Vigil · Overview", order=4)

WINDOW = "overview-window"
FILTER = "overview-filter"
FILTER_PROBLEM = "overview-filter-problem"
PAGE = "overview-page"
COUNT = "overview-count"
LANES = "overview-lanes"
TICK = "overview-tick"
GO = "overview-go"
#: Window choices: label -> (length, buckets).
WINDOWS = {
    "1 hour": (pd.Timedelta(hours=1), 60),
    "6 hours": (pd.Timedelta(hours=6), 72),
    "24 hours": (pd.Timedelta(days=1), 96),
    "7 days": (pd.Timedelta(days=7), 84),
}
DEFAULT_WINDOW = "6 hours"
#: Rows on a page, most anomalous first.
ROWS_PER_PAGE = 50
REFRESH_MS = 5000
PAGER = "mb-3"
PAGER_HIDDEN = f"{PAGER} d-none"


def layout(**_query) -> html.Div:
    return html.Div(
        [
            html.Div(
                [
                    html.H2("Overview", className="h4 mb-0"),
                    html.Span(
                        "every live series, most anomalous first; click a cell to open it",
                        className="text-muted small ms-3",
                    ),
                    dbc.RadioItems(
                        id=WINDOW,
                        options=[{"label": label, "value": label} for label in WINDOWS],
                        value=DEFAULT_WINDOW,
                        inline=True,
                        className="btn-group btn-group-sm ms-auto vigil-live-window",
                        inputClassName="btn-check",
                        labelClassName="btn btn-outline-secondary",
                        labelCheckedClassName="active",
                    ),
                ],
                className="d-flex align-items-center flex-wrap gap-2 my-3",
            ),
            html.Div(
                [
                    series_filter(FILTER, MAX_TEXT),
                    html.Span(id=COUNT, className="text-muted small"),
                    html.Span(
                        [
                            html.Span(className="vigil-swatch vigil-swatch-none"),
                            "no points",
                            html.Span(className="vigil-swatch vigil-swatch-ok ms-2"),
                            "no anomaly",
                            html.Span(className="vigil-swatch vigil-swatch-flag ms-2"),
                            "anomaly, redder the more severe",
                        ],
                        className="text-muted small ms-auto",
                    ),
                ],
                className="d-flex align-items-center flex-wrap gap-3 mb-2",
            ),
            html.Div(id=FILTER_PROBLEM, className="small text-danger mb-2"),
            dcc.Interval(id=TICK, interval=REFRESH_MS),
            dcc.Location(id=GO, refresh="callback-nav"),
            html.Div(id=LANES, className="border rounded bg-white mb-2"),
            pager(PAGE, PAGER_HIDDEN),
        ]
    )


@callback(
    Output(LANES, "children"),
    Output(PAGE, "max_value"),
    Output(PAGE, "className"),
    Output(COUNT, "children"),
    Output(FILTER, "invalid"),
    Output(FILTER_PROBLEM, "children"),
    Input(TICK, "n_intervals"),
    Input(WINDOW, "value"),
    Input(FILTER, "value"),
    Input(PAGE, "active_page"),
    Input(ids.TIME_ZONE, "data"),
)
@requires("viewer")
def show_lanes(_tick, window, typed, page, zone):
    """A page of swimlanes over the window up to now, of the series the filter selects, most
    anomalous first; a filter that cannot be read is named under the box and selects all."""
    zone = shown_zone(zone)
    length, buckets = WINDOWS.get(window, WINDOWS[DEFAULT_WINDOW])
    end = pd.Timestamp.now(tz="UTC").tz_localize(None).ceil("min")
    lanes = live_store().swimlanes(start=end - length, end=end, buckets=buckets)
    if lanes.series.empty:
        return _no_series(), 1, PAGER_HIDDEN, "", False, ""
    try:
        selector, problem = Selector.parse(typed), ""
    except SelectorError as error:
        selector, problem = Selector(), str(error)
    chosen = None
    if selector:
        chosen = [
            selector.selects(name, labels)
            for name, labels in zip(lanes.series["name"], lanes.series["labels"], strict=True)
        ]
    rows = lanes.most_anomalous(chosen)
    pages = max(1, math.ceil(len(rows) / ROWS_PER_PAGE))
    page = min(max(1, int(page or 1)), pages)
    shown = rows[(page - 1) * ROWS_PER_PAGE : page * ROWS_PER_PAGE]
    every = len(lanes.series)
    count = series_count(len(rows), every, page, ROWS_PER_PAGE)
    if not len(shown):
        none = dbc.Alert(
            f"No live series matches {typed!r}.", color="light", className="border m-2"
        )
        return none, pages, PAGER_HIDDEN, count, False, ""
    figure = swimlane_figure(lanes, shown, zone)
    graph = dcc.Graph(id="overview-graph", figure=figure, config={"displayModeBar": False})
    return graph, pages, PAGER if pages > 1 else PAGER_HIDDEN, count, bool(problem), problem


@callback(
    Output(PAGE, "active_page"),
    Input(FILTER, "value"),
    prevent_initial_call=True,
)
@requires("viewer")
def first_page(_typed):
    """A new filter shows its first page of rows."""
    return 1


@callback(
    Output(GO, "href"),
    Input("overview-graph", "clickData"),
    State(ids.TIME_ZONE, "data"),
    prevent_initial_call=True,
)
@requires("viewer")
def open_series(clicked, zone):
    """A click on a cell opens its series on the Live page, in the window that shows it."""
    try:
        point = clicked["points"][0]
        name, when = str(point["y"]), stored_time(point["x"], shown_zone(zone))
    except (TypeError, KeyError, IndexError, ValueError):
        return no_update
    return "/live?" + urlencode({"series": name, "at": when.isoformat()})


def _no_series() -> dbc.Alert:
    return dbc.Alert(
        [
            html.H3("No live series yet", className="h5"),
            html.P(
                [
                    "Series appear here as their points come in through the ingest API; the ",
                    dcc.Link("Live page", href="/live"),
                    " shows how to send them.",
                ],
                className="mb-0",
            ),
        ],
        color="light",
        className="border m-2",
    )
