"""The Live page: a card per live series, charts that grow as points are scored, settings."""

from __future__ import annotations

import math
import time
from typing import Any

import dash
import dash_bootstrap_components as dbc
import flask
import pandas as pd
import plotly.graph_objects as go
from dash import (
    ALL,
    MATCH,
    Input,
    Output,
    State,
    callback,
    clientside_callback,
    ctx,
    dcc,
    html,
    no_update,
)

from vigil.components import ids
from vigil.components.charts import empty_figure
from vigil.components.forms import (
    INVALID,
    box_id,
    chosen_params,
    feedback_id,
    param_form,
    param_problems,
)
from vigil.components.layout import pager, series_count, series_filter
from vigil.components.live import (
    CARD_TYPE,
    CHART_POINTS,
    DEFAULT_WINDOW,
    REDRAW_AFTER,
    WINDOWS,
    extension,
    live_figure,
    series_card,
)
from vigil.components.zones import shown_zone, stored_time
from vigil.detection import DETECTORS
from vigil.detection.errors import VigilError
from vigil.live.status import STATUSES, learning_left, most_anomalous_first, status_of
from vigil.selectors import MAX_TEXT, Selector, SelectorError
from vigil.services import current, live_store, model_store, settings
from vigil.times import UTC, in_zone, utc_time, zone_label
from vigil.usecases.live_series import configure_series, stale_after
from vigil.web.auth import control_for, requires

dash.register_page(__name__, path="/live", name="Live", title="Vigil · Live", order=5)

TICK = "live-tick"  # cards
CHART_TICK = "live-chart-tick"  # new points on the charts
PAUSE = "live-pause"
WINDOW = "live-window"
SHOWN = "live-shown"  # the series chosen by clicking cards (None: not chosen yet)
LINKED = "live-linked"  # the series a link opened the page on
SCROLL_TO = "live-scroll-to"  # the series whose chart was just opened by a click
CHARTED = "live-charted"  # the series that have charts
DRAWN = "live-drawn"  # what the charts show now: series, window and zone
CARDS = "live-cards"
CHARTS = "live-charts"
UPDATED = "live-updated"
CHART = "live-chart"
LAST = "live-last"
SETTINGS_SERIES = "live-settings-series"
SETTINGS_DETECTOR = "live-settings-detector"
SETTINGS_MODEL = "live-settings-model"
SETTINGS_PARAMS = "live-settings-params"
SETTINGS_APPLY = "live-settings-apply"
SETTINGS_STATUS = "live-settings-status"
PARAM_KIND = "live-param"
DELETE_FROM = "live-delete-from"
DELETE_TO = "live-delete-to"
DELETE_APPLY = "live-delete-apply"
DELETE_STATUS = "live-delete-status"
FILTER = "live-filter"
FILTER_PROBLEM = "live-filter-problem"
PAGE = "live-page"
COUNT = "live-count"
PAGES_SHOWN = "mb-3 vigil-live-pages"
PAGES_HIDDEN = f"{PAGES_SHOWN} d-none"  # one page: nothing to choose
#: Cards on a page (six rows of four on a wide screen), most pressing first.
CARDS_PER_PAGE = 24
#: Charts shown at first: the first series with anomalies, else the first ones.
FIRST_CHARTS = 2
REFRESH_MS = 1000
#: Points a chart zoomed into takes in as they come before the oldest fall away.
ZOOMED_POINTS = 10_000
CHART_REFRESH_MS = 500


def layout(series: str | None = None, at: str | None = None, **_query) -> html.Div:
    window = DEFAULT_WINDOW
    if series and at:
        window = _window_reaching(at)
    # a linked series' chart comes with the page (in UTC, the zone unless one was picked: in
    # another, it is drawn again), not after the cards it would otherwise wait for
    charts = [_chart_block(series, window, UTC)] if series else []
    drawn = {"shown": [series], "window": window, "zone": UTC} if series else None
    return html.Div(
        [
            html.Div(
                [
                    html.H2("Live", className="h4 mb-0"),
                    html.Span(id=UPDATED, className="text-muted small ms-3"),
                    html.Div(
                        [
                            dbc.RadioItems(
                                id=WINDOW,
                                options=[{"label": label, "value": label} for label in WINDOWS],
                                value=window,
                                inline=True,
                                className="btn-group btn-group-sm me-3 vigil-live-window",
                                inputClassName="btn-check",
                                labelClassName="btn btn-outline-secondary",
                                labelCheckedClassName="active",
                            ),
                            dbc.Button("Pause", id=PAUSE, size="sm", color="secondary"),
                        ],
                        className="ms-auto d-flex align-items-center flex-wrap gap-2",
                    ),
                ],
                className="d-flex align-items-center flex-wrap gap-2 my-3",
            ),
            dcc.Interval(id=TICK, interval=REFRESH_MS),
            dcc.Interval(id=CHART_TICK, interval=CHART_REFRESH_MS),
            dcc.Store(id=SHOWN, data=[series] if series else None),
            dcc.Store(id=LINKED, data=series),
            # a linked series is charted at once, not after the first cards
            dcc.Store(id=CHARTED, data=[series] if series else None),
            dcc.Store(id=DRAWN, data=drawn),
            dcc.Store(id=SCROLL_TO),
            html.Div(
                [
                    series_filter(FILTER, MAX_TEXT),
                    html.Span(id=COUNT, className="text-muted small"),
                ],
                className="d-flex align-items-center flex-wrap gap-3 mb-2",
            ),
            html.Div(id=FILTER_PROBLEM, className="small text-danger mb-2"),
            html.Div(id=CARDS, className="row row-cols-1 row-cols-md-3 row-cols-xl-4 g-3 mb-2"),
            pager(PAGE, PAGES_HIDDEN),
            html.Div(charts, id=CHARTS),
            _settings_panel(series),
        ]
    )


def _window_reaching(at: str) -> str:
    """The shortest window that still shows the time `at` (from an alert's link)."""
    try:
        age = pd.Timestamp.now(tz="UTC").tz_localize(None) - utc_time(at)
    except ValueError:
        return DEFAULT_WINDOW
    for label, length in WINDOWS.items():
        if length >= age * 1.1:
            return label
    return list(WINDOWS)[-1]


def _settings_panel(linked: str | None = None) -> dbc.Card:
    detectors = [{"label": cls.label, "value": name} for name, cls in DETECTORS.items()]
    return dbc.Card(
        [
            dbc.CardHeader("How a series is scored"),
            dbc.CardBody(
                [
                    dbc.Row(
                        [
                            dbc.Col(
                                [
                                    dbc.Label("Series", html_for=SETTINGS_SERIES),
                                    # a linked series is chosen at once: the choices
                                    # otherwise come with the first change of the charted
                                    # series, which a linked one does not make
                                    dcc.Dropdown(
                                        id=SETTINGS_SERIES,
                                        clearable=False,
                                        options=_series_names() if linked else [],
                                        value=linked,
                                    ),
                                ],
                                md=4,
                            ),
                            dbc.Col(
                                [
                                    dbc.Label("Detector", html_for=SETTINGS_DETECTOR),
                                    dbc.Select(
                                        id=SETTINGS_DETECTOR, options=detectors, value="auto"
                                    ),
                                ],
                                md=4,
                            ),
                            dbc.Col(
                                [
                                    dbc.Label("or a saved model", html_for=SETTINGS_MODEL),
                                    dcc.Dropdown(id=SETTINGS_MODEL, placeholder="none"),
                                ],
                                md=4,
                            ),
                        ],
                        className="mb-2",
                    ),
                    html.Div(id=SETTINGS_PARAMS, className="vigil-params"),
                    dbc.Button(
                        "Apply and score again",
                        id=SETTINGS_APPLY,
                        color="primary",
                        **control_for("analyst"),
                    ),
                    html.Div(id=SETTINGS_STATUS, className="mt-2"),
                    html.Hr(),
                    html.H4("Delete points", className="h6"),
                    html.P(
                        "Delete the chosen series' points from one time up to another (UTC), "
                        "with their scores and episodes: for points sent by mistake, such as "
                        "one dated years ahead, after which every real point is refused as "
                        "late. The points left are scored again.",
                        className="text-muted small",
                    ),
                    dbc.Row(
                        [
                            dbc.Col(
                                [
                                    dbc.Label("From (UTC)", html_for=DELETE_FROM),
                                    dbc.Input(
                                        id=DELETE_FROM, placeholder="2199-01-01T00:00", type="text"
                                    ),
                                ],
                                md=4,
                            ),
                            dbc.Col(
                                [
                                    dbc.Label("Up to (UTC, not included)", html_for=DELETE_TO),
                                    dbc.Input(
                                        id=DELETE_TO, placeholder="2200-01-01T00:00", type="text"
                                    ),
                                ],
                                md=4,
                            ),
                            dbc.Col(
                                dbc.Button(
                                    "Delete these points",
                                    id=DELETE_APPLY,
                                    color="danger",
                                    outline=True,
                                    **control_for("admin"),
                                ),
                                md=4,
                                className="d-flex align-items-end",
                            ),
                        ],
                        className="mb-2",
                    ),
                    html.Div(id=DELETE_STATUS, className="mt-2"),
                ]
            ),
        ],
        className="mt-4",
    )


@callback(
    Output(CARDS, "children"),
    Output(UPDATED, "children"),
    Output(CHARTED, "data"),
    Output(PAGE, "max_value"),
    Output(PAGE, "className"),
    Output(COUNT, "children"),
    Output(FILTER, "invalid"),
    Output(FILTER_PROBLEM, "children"),
    Input(TICK, "n_intervals"),
    Input(SHOWN, "data"),
    Input(ids.TIME_ZONE, "data"),
    Input(FILTER, "value"),
    Input(PAGE, "active_page"),
    State(CHARTED, "data"),
    State(LINKED, "data"),
)
@requires("viewer")
def show_cards(_tick, shown, zone, typed, page, charted, linked=None):
    """A page of cards of the series the filter selects: the one a link opened first, then the
    most pressing (`live.status.most_anomalous_first`); and which series have charts: those
    chosen by clicking cards, or at first the series with anomaly episodes in the last hour,
    then the others, FIRST_CHARTS of them. Times are in the zone picked in the navbar. A filter
    that cannot be read is named under the box and selects all."""
    zone = shown_zone(zone)
    config = settings()
    summary = live_store().summary(count_points=False)
    if summary.empty:
        return _no_series(), "", no_update if charted == [] else [], 1, PAGES_HIDDEN, "", False, ""
    try:
        selector, problem = Selector.parse(typed), ""
    except SelectorError as error:
        selector, problem = Selector(), str(error)
    now = time.time()
    # rows as dicts: a thousand pandas rows take longer than the query
    statuses = pd.Series(
        [
            status_of(row, now=now, stale_after=stale_after(config))
            for row in summary.to_dict("records")
        ],
        index=summary.index,
        dtype=object,
    )
    every = set(summary["name"])
    if selector:
        chosen = [
            selector.selects(name, labels)
            for name, labels in zip(summary["name"], summary["labels"], strict=True)
        ]
        summary, statuses = summary[chosen], statuses[chosen]
    ordered = most_anomalous_first(summary, statuses)
    names = ordered["name"].tolist()
    if shown is None and charted:  # chosen at first: kept while the order changes
        shown = charted
    if shown is None:
        anomalous = (ordered["recent_episodes"] > 0) | ordered["open"]
        flagged = ordered.loc[anomalous, "name"].tolist()
        shown = (flagged + [n for n in names if n not in flagged])[:FIRST_CHARTS]
    shown = [name for name in shown if name in every]
    # the card of a series opened by a link (an alert, the Overview) first, on page 1
    linked_first = (ordered["name"] == linked).to_numpy()
    ordered = pd.concat([ordered[linked_first], ordered[~linked_first]])
    pages = max(1, math.ceil(len(ordered) / CARDS_PER_PAGE))
    page = min(max(1, int(page or 1)), pages)
    cards = []
    for index, row in ordered.iloc[(page - 1) * CARDS_PER_PAGE : page * CARDS_PER_PAGE].iterrows():
        record = row.to_dict()
        record["detector_label"] = (
            f"model {row['model'][:8]}" if row["model"] else DETECTORS[row["detector"]].label
        )
        status = statuses[index]
        card = series_card(
            record, status, STATUSES[status], row["name"] in shown, learning_left(row), zone
        )
        cards.append(html.Div(card))
    if not cards:
        cards = [_nothing_selected(typed)]
    updated = in_zone(pd.Timestamp(now, unit="s"), zone)
    return (
        cards,
        f"updated {updated:%H:%M:%S} {zone_label(zone, updated)}",
        no_update if shown == charted else shown,
        pages,
        PAGES_HIDDEN if pages == 1 else PAGES_SHOWN,
        series_count(len(ordered), len(every), page, CARDS_PER_PAGE),
        bool(problem),
        problem,
    )


@callback(
    Output(PAGE, "active_page"),
    Input(FILTER, "value"),
    prevent_initial_call=True,
)
@requires("viewer")
def first_page(_typed):
    """A new filter shows its first page of cards."""
    return 1


@callback(
    Output(SHOWN, "data"),
    Output(SCROLL_TO, "data"),
    Input({"type": CARD_TYPE, "index": ALL}, "n_clicks"),
    State(CHARTED, "data"),
    prevent_initial_call=True,
)
@requires("viewer")
def toggle_chart(_clicks, charted):
    """A click on a card shows its series' chart (and scrolls to it), or hides it."""
    if not ctx.triggered or not ctx.triggered[0]["value"]:
        return no_update, no_update
    clicked = ctx.triggered_id["index"]
    charted = charted or []
    if clicked in charted:
        return [n for n in charted if n != clicked], None
    return [*charted, clicked], clicked


# once the charts are drawn, the one just opened is scrolled into view (it may be far below
# the cards, out of sight)
clientside_callback(
    """function(charts, series) {
        if (!series) { return window.dash_clientside.no_update; }
        const chart = Array.from(document.querySelectorAll("[data-live-chart]"))
            .find(element => element.dataset.liveChart === series);
        if (chart) { chart.scrollIntoView({block: "start"}); }
        return null;
    }""",
    Output(SCROLL_TO, "data", allow_duplicate=True),
    Input(CHARTS, "children"),
    State(SCROLL_TO, "data"),
    prevent_initial_call=True,
)


def _nothing_selected(typed: str | None) -> html.Div:
    return html.Div(
        dbc.Alert(
            f"No live series matches {typed!r}. A word with a wildcard (api-*) matches whole "
            "names, other words a part of the name; label=value matches labels.",
            color="light",
            className="border mb-0",
        ),
        className="col-12 w-100",
    )


def _no_series() -> html.Div:
    """What to do to see a series here: make a token, post points (to the address the page
    was opened at), or replay a file."""
    address = flask.request.host_url.rstrip("/") if flask.has_request_context() else ""
    address = address or "http://127.0.0.1:8050"
    example = (
        f"curl -X POST {address}/api/v1/series/cpu/points \\\n"
        '  -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \\\n'
        '  -d \'{"points": [{"timestamp": "2026-01-01T00:00:00Z", "value": 41.5}]}\''
    )
    return html.Div(
        dbc.Alert(
            [
                html.H3("No live series yet", className="h5"),
                html.P(
                    [
                        "Make an API token on the ",
                        dcc.Link("Admin page", href="/admin"),
                        " or with ",
                        html.Code("vigil tokens add NAME"),
                        ", then send points to the ingest API: each series appears here, "
                        "scored as its points arrive.",
                    ]
                ),
                html.Pre(example, className="bg-light p-2 small", id="live-example"),
                html.P(
                    [
                        "Or replay a file: ",
                        html.Code(
                            f"vigil replay FILE.csv --series NAME --speed 60x --url {address} "
                            "--token $TOKEN"
                        ),
                    ],
                    className="mb-0",
                ),
            ],
            color="light",
            className="border",
        ),
        className="col-12 w-100",
    )


@callback(
    Output(CHARTS, "children"),
    Output(DRAWN, "data"),
    Input(CHARTED, "data"),
    Input(WINDOW, "value"),
    Input(ids.TIME_ZONE, "data"),
    State(DRAWN, "data"),
)
@requires("viewer")
def draw_charts(shown, window, zone=None, drawn=None):
    """A chart per shown series over the window, its times in the zone picked in the navbar,
    light at any window (`components.live.live_figure`); later points are appended (the
    chart's state, in LAST, says from when). Charts already drawn as asked (a linked
    series' chart, which comes with the page) are left as they are."""
    zone = shown_zone(zone)
    wanted = {"shown": list(shown or []), "window": window, "zone": zone}
    if drawn == wanted:
        return no_update, no_update
    return [_chart_block(name, window, zone) for name in shown or []], wanted


def _chart_block(name: str, window: str, zone: str) -> html.Div:
    """A series' chart over the window, with its state (LAST)."""
    figure, state = _whole_window(name, window, zone)
    marked: dict[str, Any] = {"data-live-chart": name}  # how tests and scrolling find it
    return html.Div(
        [
            dcc.Graph(
                id={"type": CHART, "index": name},
                figure=figure,
                config={"displaylogo": False},
            ),
            dcc.Store(id={"type": LAST, "index": name}, data=state),
        ],
        className="mb-3 border rounded bg-white",
        **marked,
    )


def _whole_window(name: str, window: str, zone: str) -> tuple[go.Figure, dict]:
    """A series' chart over the window up to its latest point, and the chart's state: the
    last point drawn (`last`, UTC), the most points it keeps as it grows (`most`), whether
    it is drawn in buckets and how many points were appended since (`appended`), and the
    range zoomed into (`range`, None: the whole window)."""
    store = live_store()
    latest = store.scores(name, limit=1, latest=True)
    if latest.empty:
        state = {"last": None, "most": 1, "bucketed": False, "appended": 0, "range": None}
        return empty_figure(f"{name}: no point yet"), state
    since = latest["timestamp"].iloc[-1] - WINDOWS[window]
    chart = store.chart(name, start=since, buckets=CHART_POINTS)
    figure, most = live_figure(chart, name=name, window=window, zone=zone)
    if chart.end is None:  # nothing scored yet: the chart takes points from the window on
        last, most = since.isoformat(), CHART_POINTS
    else:
        last = chart.end.isoformat()
    state = {
        "last": last,
        "most": most,
        "bucketed": chart.bucket is not None,
        "appended": 0,
        "range": None,
    }
    return figure, state


@callback(
    Output({"type": CHART, "index": MATCH}, "figure", allow_duplicate=True),
    Output({"type": LAST, "index": MATCH}, "data", allow_duplicate=True),
    Input({"type": CHART, "index": MATCH}, "relayoutData"),
    State({"type": LAST, "index": MATCH}, "data"),
    State(WINDOW, "value"),
    State(ids.TIME_ZONE, "data"),
    prevent_initial_call=True,
)
@requires("viewer")
def zoom_chart(relayout, state, window, zone=None):
    """Zooming into a chart draws the range zoomed into in detail (every point, or buckets
    as narrow as the range allows); zooming out again (a double click) draws the window."""
    zone = shown_zone(zone)
    name = ctx.triggered_id["index"] if ctx.triggered_id else None
    relayout = relayout or {}
    if name is None or not state or not state.get("last"):
        return no_update, no_update
    if relayout.get("xaxis.autorange"):
        if state.get("range") is None:
            return no_update, no_update
        return _whole_window(name, window, zone)
    if "xaxis.range[0]" not in relayout or "xaxis.range[1]" not in relayout:
        return no_update, no_update
    try:
        start = stored_time(relayout["xaxis.range[0]"], zone)
        end = stored_time(relayout["xaxis.range[1]"], zone)
    except ValueError:
        return no_update, no_update
    chart = live_store().chart(name, start=start, end=end, buckets=CHART_POINTS)
    figure, _most = live_figure(chart, name=name, window=window, zone=zone, zoomed=True)
    figure.update_xaxes(
        range=[relayout["xaxis.range[0]"], relayout["xaxis.range[1]"]], autorange=False
    )
    # points beyond the range still come in; the chart keeps them until zoomed out
    return figure, {
        **state,
        "range": [start.isoformat(), end.isoformat()],
        "most": len(chart.points) + ZOOMED_POINTS,
        "bucketed": chart.bucket is not None,
    }


@callback(
    Output({"type": CHART, "index": ALL}, "extendData"),
    Output({"type": CHART, "index": ALL}, "figure", allow_duplicate=True),
    Output({"type": LAST, "index": ALL}, "data", allow_duplicate=True),
    Input(CHART_TICK, "n_intervals"),
    State({"type": LAST, "index": ALL}, "data"),
    State({"type": LAST, "index": ALL}, "id"),
    State(WINDOW, "value"),
    State(ids.TIME_ZONE, "data"),
    prevent_initial_call=True,
)
@requires("viewer")
def extend_charts(_tick, states, charts, window, zone=None):
    """Append each chart's newly scored points (no redraw), in the zone it was drawn in; a
    chart drawn in buckets is drawn again once REDRAW_AFTER points were appended to it (its
    buckets moved on), unless it is zoomed into."""
    zone = shown_zone(zone)
    store = live_store()
    extended, redrawn, kept = [], [], []
    for state, component in zip(states, charts, strict=True):
        name = component["index"]
        since = None if not state or not state.get("last") else pd.Timestamp(state["last"])
        new = _scored_prefix(store.scores(name, since=since, limit=20_000))
        if new.empty or since is None:
            extended.append(no_update)
            redrawn.append(no_update)
            kept.append(no_update)
            continue
        appended = int(state.get("appended") or 0) + len(new)
        if state.get("bucketed") and state.get("range") is None and appended > REDRAW_AFTER:
            figure, fresh = _whole_window(name, window, zone)
            extended.append(no_update)
            redrawn.append(figure)
            kept.append(fresh)
            continue
        extended.append(extension(new, state["most"], zone, bucketed=bool(state.get("bucketed"))))
        redrawn.append(no_update)
        kept.append({**state, "last": new["timestamp"].iloc[-1].isoformat(), "appended": appended})
    return extended, redrawn, kept


def _scored_prefix(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows up to the first that is not scored yet: the chart appends from there."""
    waiting = frame["scored"].isna().to_numpy()
    return frame if not waiting.any() else frame.iloc[: int(waiting.argmax())]


@callback(
    Output(TICK, "disabled"),
    Output(CHART_TICK, "disabled"),
    Output(PAUSE, "children"),
    Input(PAUSE, "n_clicks"),
    State(TICK, "disabled"),
    prevent_initial_call=True,
)
@requires("viewer")
def pause(_clicks, disabled):
    """Stop the cards and charts from refreshing (to read a chart), or start them again."""
    return (False, False, "Pause") if disabled else (True, True, "Resume")


def _series_names() -> list[str]:
    return [series.name for series in live_store().series()]


@callback(
    Output(SETTINGS_SERIES, "options"),
    Output(SETTINGS_SERIES, "value"),
    Output(SETTINGS_MODEL, "options"),
    Input(CHARTED, "data"),
    State(SETTINGS_SERIES, "value"),
)
@requires("viewer")
def settings_choices(shown, current):
    names = _series_names()
    models = [
        {"label": f"{info.detector} on {info.series} ({model_id[:8]})", "value": model_id}
        for model_id, info in model_store().list()
    ]
    value = current if current in names else (shown[0] if shown else (names or [None])[0])
    return names, value, models


@callback(
    Output(SETTINGS_DETECTOR, "value"),
    Output(SETTINGS_MODEL, "value"),
    Input(SETTINGS_SERIES, "value"),
)
@requires("viewer")
def series_settings(name):
    series = live_store().get(name) if name else None
    if series is None:
        return "auto", None
    return series.detector, series.model


@callback(
    Output(SETTINGS_PARAMS, "children"),
    Input(SETTINGS_DETECTOR, "value"),
    Input(SETTINGS_SERIES, "value"),
)
@requires("viewer")
def detector_form(detector, name):
    series = live_store().get(name) if name else None
    values = series.params if series is not None and series.detector == detector else {}
    cls = DETECTORS.get(detector or "auto", DETECTORS["auto"])
    return [
        html.P(cls.summary, className="text-muted small"),
        *param_form(detector, cls.PARAMS, values, kind=PARAM_KIND),
    ]


@callback(
    Output(box_id(ALL, ALL, PARAM_KIND), "className"),
    Output(feedback_id(ALL, ALL, PARAM_KIND), "children"),
    Input({"type": PARAM_KIND, "detector": ALL, "name": ALL}, "value"),
    State({"type": PARAM_KIND, "detector": ALL, "name": ALL}, "id"),
    prevent_initial_call=True,  # a fresh form holds the series' values: nothing to say
)
@requires("viewer")
def check_live_params(values: list, param_ids: list[dict]):
    """Say under each field what is wrong with its value (Apply refuses it too)."""
    detector = param_ids[0]["detector"] if param_ids else "auto"
    cls = DETECTORS.get(detector, DETECTORS["auto"])
    problems = param_problems(cls.PARAMS, values, param_ids, detector)
    boxes = [
        f"mb-3 vigil-param {INVALID}" if p["name"] in problems else "mb-3 vigil-param"
        for p in param_ids
    ]
    return boxes, [problems.get(p["name"]) for p in param_ids]


@callback(
    Output(DELETE_STATUS, "children"),
    Input(DELETE_APPLY, "n_clicks"),
    State(SETTINGS_SERIES, "value"),
    State(DELETE_FROM, "value"),
    State(DELETE_TO, "value"),
    prevent_initial_call=True,
)
@requires("admin")
def delete_points(_clicks, name, start, end):
    """Delete the chosen series' points in a range; say how many went."""
    if not name:
        return dbc.Alert("Choose a series first.", color="warning")
    try:
        first, last = utc_time(start or ""), utc_time(end or "")
    except ValueError as error:
        return dbc.Alert(f"Give both times: {error}", color="danger")
    if not first < last:
        return dbc.Alert("The first time must come before the second.", color="danger")
    deleted = live_store().delete_points(name, first, last)
    if deleted is None:
        return dbc.Alert(f"There is no live series called {name}.", color="danger")
    return dbc.Alert(
        f"Deleted {deleted:,} point{'' if deleted == 1 else 's'} of {name} from "
        f"{first.isoformat()} to {last.isoformat()} UTC"
        + ("; the points left are being scored again." if deleted else "."),
        color="success" if deleted else "info",
    )


@callback(
    Output(SETTINGS_STATUS, "children"),
    Input(SETTINGS_APPLY, "n_clicks"),
    State(SETTINGS_SERIES, "value"),
    State(SETTINGS_DETECTOR, "value"),
    State(SETTINGS_MODEL, "value"),
    State({"type": PARAM_KIND, "detector": ALL, "name": ALL}, "value"),
    State({"type": PARAM_KIND, "detector": ALL, "name": ALL}, "id"),
    prevent_initial_call=True,
)
@requires("analyst")
def apply_settings(_clicks, name, detector, model, values, param_ids):
    """Store the series' detector and parameters (or model); the worker scores it afresh."""
    if not name:
        return dbc.Alert("Choose a series first.", color="warning")
    try:
        configure_series(
            current(),
            name,
            detector=detector,
            params=chosen_params(detector, values, param_ids),
            model=model or None,
        )
    except VigilError as error:
        return dbc.Alert(str(error), color="danger")
    how = f"the saved model {model[:8]}" if model else DETECTORS[detector].label
    return dbc.Alert(
        f"{name} is now scored with {how}; its points are being scored again.",
        color="success",
        duration=8000,
    )
