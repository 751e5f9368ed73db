"""The Data page: upload a file, see what was read and what was wrong with it."""

from __future__ import annotations

import time

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update
from dash.development.base_component import Component

from vigil.components import ids
from vigil.components.charts import preview_figure
from vigil.components.forms import choice_dropdown
from vigil.components.grids import preview_grid
from vigil.components.layout import error_alert, upload_zone
from vigil.components.quality import date_format_options, quality_card
from vigil.components.zones import zone_options
from vigil.detection.errors import VigilError
from vigil.detection.schema import Schema, best_guess
from vigil.detection.zones import checked_zone
from vigil.services import dataset_store, settings
from vigil.times import UTC, known_zone
from vigil.web.auth import control_for, may, requires

dash.register_page(__name__, path="/", name="Data", title="Vigil · Data", order=0)

UPLOAD = "data-upload"
DEMO = "data-demo"
MESSAGE = "data-message"
UPLOAD_RESULT = "data-upload-result"
CHANGED = "data-changed"
LIST = "data-list"
PANEL = "data-panel"
PICK = "data-pick"
TIME_COLUMN = "data-time-column"
VALUE_COLUMNS = "data-value-columns"
SERIES_COLUMN = "data-series-column"
DATE_FORMAT = "data-date-format"
FILE_ZONE = "data-file-zone"
DRAFT_APPLY = "data-draft-apply"
APPLY = "data-apply"
APPLIED = "data-applied"
APPLY_MESSAGE = "data-apply-message"
SHOWN = "data-shown"
MAX_PREVIEWS = 6


def layout(**_query: str) -> html.Div:
    return dbc.Row(
        [
            dbc.Col(
                [
                    dbc.Card(
                        dbc.CardBody(
                            [
                                html.H5("Add data", className="card-title"),
                                upload_zone(UPLOAD, UPLOAD_RESULT, settings().max_upload_mb)
                                if may("analyst")
                                else html.P(
                                    "Adding data needs the analyst role; ask an admin.",
                                    className="text-muted",
                                ),
                                html.Div(
                                    [
                                        html.Span("No file at hand? ", className="text-muted"),
                                        dbc.Button(
                                            "Load the demo data",
                                            id=DEMO,
                                            color="link",
                                            className="p-0 align-baseline",
                                            **control_for("analyst"),
                                        ),
                                    ],
                                    className="mt-2",
                                ),
                                html.Div(id=MESSAGE, className="mt-3"),
                            ]
                        ),
                        className="mb-3",
                    ),
                    dbc.Card(
                        [
                            dbc.CardHeader(html.Strong("Data sets on this server")),
                            html.Div(id=LIST),
                        ],
                        className="mb-3",
                    ),
                ],
                lg=4,
            ),
            dbc.Col(
                [
                    dcc.Store(id=APPLIED),
                    dcc.Store(id=UPLOAD_RESULT),
                    dcc.Store(id=CHANGED),
                    dcc.Loading(html.Div(id=PANEL), delay_show=300),
                ],
                lg=8,
            ),
        ]
    )


@callback(
    Output(ids.DATASET, "data", allow_duplicate=True),
    Output(MESSAGE, "children"),
    Output(CHANGED, "data"),
    Output(PANEL, "children", allow_duplicate=True),
    Input(UPLOAD_RESULT, "data"),
    Input(DEMO, "n_clicks"),
    State(ids.BROWSER_ZONE, "data"),
    prevent_initial_call=True,
)
@requires("analyst")
def use_new_dataset(
    upload_result: dict | None, demo_clicks: int | None, browser_zone: str | None = None
):
    """Use the data set just uploaded, or the demo; a refused upload is said beside the form
    and in the panel, which stops showing the data set that was there before."""
    if ctx.triggered_id == DEMO:
        if not demo_clicks:
            return no_update, no_update, no_update, no_update
        info = dataset_store().add_demo()
        return info.id, dbc.Alert("Demo data loaded.", color="success"), time.time(), no_update
    if not upload_result:
        return no_update, no_update, no_update, no_update
    if upload_result.get("error"):
        if upload_result.get("draft"):
            panel = _draft_panel(upload_result["draft"], upload_result["error"], browser_zone)
            alert = dbc.Alert(
                f"'{upload_result.get('name', 'The file')}' needs its columns chosen: "
                "see the right.",
                color="warning",
                id="data-upload-draft",
            )
            return no_update, alert, no_update, panel
        alert = error_alert(upload_result["error"], "data-upload-error")
        return no_update, alert, no_update, _refused_panel(upload_result["error"])
    note = "was uploaded before; re-using it." if upload_result.get("reused") else "is stored."
    message = dbc.Alert(f"'{upload_result['name']}' {note}", color="success", id="data-upload-ok")
    return upload_result["id"], message, time.time(), no_update


@callback(
    Output(ids.DATASET, "data", allow_duplicate=True),
    Output(APPLY_MESSAGE, "children", allow_duplicate=True),
    Output(CHANGED, "data", allow_duplicate=True),
    Output(MESSAGE, "children", allow_duplicate=True),
    Input({"type": DRAFT_APPLY, "index": ALL}, "n_clicks"),
    State(TIME_COLUMN, "value"),
    State(VALUE_COLUMNS, "value"),
    State(SERIES_COLUMN, "value"),
    State(DATE_FORMAT, "value"),
    State(FILE_ZONE, "value"),
    prevent_initial_call=True,
)
@requires("analyst")
def store_draft(
    clicks: list[int | None],
    time_column: str,
    values: list[str],
    series_column: str | None,
    date_format: str | None,
    file_zone: str | None = None,
):
    """Store a file whose columns could not be guessed, read with the columns chosen."""
    if not any(clicks) or not isinstance(ctx.triggered_id, dict):
        return no_update, no_update, no_update, no_update
    try:
        schema = _chosen_schema(time_column, values, series_column, date_format, file_zone)
        info = dataset_store().add_draft(ctx.triggered_id["index"], schema)
    except VigilError as error:
        return no_update, error_alert(str(error)), no_update, no_update
    stored = dbc.Alert(f"'{info.name}' is stored.", color="success", id="data-upload-ok")
    return info.id, None, time.time(), stored


def _draft_panel(draft_id: str, error: str, browser_zone: str | None = None) -> html.Div:
    """A file that reads as a table but not with the columns guessed: choose them."""
    try:
        name, raw = dataset_store().draft(draft_id)
    except VigilError as gone:
        return _refused_panel(str(gone))
    first_rows = raw.frame.head(200)
    return html.Div(
        [
            html.H4(f"Choose the columns of '{name}'", className="mb-2", id="data-draft"),
            html.P(
                [
                    "Read as a table, but the columns Vigil guessed did not work: ",
                    html.Span(error, className="text-danger"),
                    " Choose them below; nothing is stored until they work.",
                ],
            ),
            _columns_card(
                tuple(raw.frame.columns),
                best_guess(raw),
                first_rows,
                apply_id={"type": DRAFT_APPLY, "index": draft_id},
                browser_zone=browser_zone,
                note="Choose the time column, the values and, if the dates are text, their format.",
            ),
            dbc.Card(
                [
                    dbc.CardHeader(html.Strong("First rows of the file")),
                    dbc.CardBody(preview_grid(first_rows, "data-grid")),
                ],
            ),
        ]
    )


def _refused_panel(error: str) -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.H4("That file was not stored"),
                html.P(error, className="text-danger"),
                html.P(
                    "Fix the file and drop it again, or pick a data set on the left: the ones "
                    "stored before are unchanged.",
                    className="text-muted mb-0",
                ),
            ]
        ),
        id="data-refused",
    )


@callback(
    Output(ids.DATASET, "data", allow_duplicate=True),
    Input({"type": PICK, "index": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
@requires("viewer")
def use_picked_dataset(clicks: list[int | None]):
    """Use the data set clicked in the list."""
    if not any(clicks) or not isinstance(ctx.triggered_id, dict):
        return no_update
    return ctx.triggered_id["index"]


@callback(Output(LIST, "children"), Input(CHANGED, "data"), Input(ids.DATASET, "data"))
@requires("viewer")
def list_datasets(_changed: float, current: str | None):
    infos = dataset_store().list()
    if not infos:
        return html.P(
            "Nothing yet: upload a file or load the demo data.", className="text-muted m-3"
        )
    items = [
        dbc.ListGroupItem(
            [
                html.Div(info.name, className="fw-semibold text-truncate"),
                html.Small(_dataset_line(info), className="text-muted"),
            ],
            id={"type": PICK, "index": info.id},
            action=True,
            active=info.id == current,
            n_clicks=0,
        )
        for info in infos
    ]
    return dbc.ListGroup(items, flush=True)


@callback(
    Output(APPLIED, "data"),
    Output(APPLY_MESSAGE, "children"),
    Input(APPLY, "n_clicks"),
    State(SHOWN, "data"),
    State(TIME_COLUMN, "value"),
    State(VALUE_COLUMNS, "value"),
    State(SERIES_COLUMN, "value"),
    State(DATE_FORMAT, "value"),
    State(FILE_ZONE, "value"),
    prevent_initial_call=True,
)
@requires("analyst")
def apply_columns(
    clicks: int | None,
    dataset_id: str | None,
    time_column: str,
    values: list[str],
    series_column: str | None,
    date_format: str | None = None,
    file_zone: str | None = None,
):
    """Re-read the data set shown with the columns, date format and time zone the user chose:
    only on a click of Apply (Dash also calls this when the panel is drawn, with no click;
    a page view writes nothing)."""
    if not clicks or not dataset_id:
        return no_update, no_update
    try:
        schema = _chosen_schema(time_column, values, series_column, date_format, file_zone)
        dataset_store().reprepare(dataset_id, schema)
    except VigilError as error:
        return no_update, error_alert(str(error))
    return time.time(), None


def _chosen_schema(
    time_column: str,
    values: list[str] | None,
    series_column: str | None,
    date_format: str | None,
    file_zone: str | None,
) -> Schema:
    return Schema(
        time_column,
        tuple(values or ()),
        series_column or None,
        date_format,
        time_zone=checked_zone(file_zone),
    )


@callback(
    Output(PANEL, "children"),
    Input(ids.DATASET, "data"),
    Input(APPLIED, "data"),
    Input(ids.TIME_ZONE, "data"),
    Input(ids.BROWSER_ZONE, "data"),
)
@requires("viewer")
def show_dataset(
    dataset_id: str | None,
    _applied: float | None,
    shown_zone: str | None = None,
    browser_zone: str | None = None,
):
    """The chosen data set: its columns, quality report (times in the zone times are shown
    in), series previews and first rows."""
    store = dataset_store()
    if not dataset_id or not store.exists(dataset_id):
        newest = store.list()
        dataset_id = newest[0].id if newest else None
    if dataset_id is None:
        return dbc.Card(
            dbc.CardBody(
                [
                    html.H4("Start with some data"),
                    html.P(
                        "Drop a CSV of time series on the left: one column of timestamps and one "
                        "or more columns of numbers (or a column naming the series). Vigil reads "
                        "it, reports what it had to fix, and shows each series.",
                        className="text-muted",
                    ),
                ]
            ),
            id="data-empty",
        )
    info = store.info(dataset_id)
    tidy = store.tidy(dataset_id)
    first_rows = store.raw_preview(dataset_id)
    series_names = list(info.report.series)
    previews: list[Component] = [
        dcc.Graph(
            figure=preview_figure(tidy[tidy["series"] == name], name),
            config={"displayModeBar": False},
            className="vigil-preview",
        )
        for name in series_names[:MAX_PREVIEWS]
    ]
    if len(series_names) > MAX_PREVIEWS:
        previews.append(
            html.P(f"… and {len(series_names) - MAX_PREVIEWS} more series.", className="text-muted")
        )
    header = html.Div(
        [
            html.H4(info.name, className="mb-0 me-3", id="data-name"),
            dbc.Button(
                "Analyze this data →", href="/analyze", color="primary", id="data-analyze-link"
            ),
        ],
        className="d-flex align-items-center mb-3",
    )
    return html.Div(
        [
            dcc.Store(id=SHOWN, data=dataset_id),
            header,
            _columns_card(info.columns, info.schema, first_rows, browser_zone=browser_zone),
            quality_card(info.report, info.name, _known_or_utc(shown_zone)),
            dbc.Card(
                [dbc.CardHeader(html.Strong("Series")), dbc.CardBody(previews)], className="mb-3"
            ),
            dbc.Card(
                [
                    dbc.CardHeader(html.Strong("First rows of the file")),
                    dbc.CardBody(preview_grid(first_rows, "data-grid")),
                ],
            ),
        ]
    )


def _known_or_utc(zone: str | None) -> str:
    """A zone kept in the browser, or UTC when it is not one this server knows."""
    try:
        return known_zone(zone)
    except ValueError:
        return UTC


def _dataset_line(info) -> str:
    created = info.created[:16].replace("T", " ")
    lines = info.report.lines if info.report.lines is not None else info.report.rows
    return f"{lines:,} lines · {len(info.report.series)} series · {created}"


def _columns_card(
    columns: tuple[str, ...],
    schema: Schema,
    first_rows: pd.DataFrame,
    *,
    apply_id: str | dict = APPLY,
    note: str = "Found by themselves; change them if they are wrong.",
    browser_zone: str | None = None,
) -> dbc.Card:
    options = list(columns)
    time_cells = first_rows.get(schema.time_column)
    formats = (
        date_format_options(time_cells, schema.time_format)
        if time_cells is not None and pd.api.types.is_string_dtype(time_cells)
        else []
    )
    return dbc.Card(
        [
            dbc.CardHeader(html.Strong("Columns")),
            dbc.CardBody(
                [
                    dbc.Row(
                        [
                            dbc.Col(
                                [
                                    dbc.Label("Time"),
                                    choice_dropdown(TIME_COLUMN, options, schema.time_column),
                                ],
                                md=3,
                            ),
                            dbc.Col(
                                [
                                    dbc.Label("Values"),
                                    choice_dropdown(
                                        VALUE_COLUMNS,
                                        options,
                                        list(schema.value_columns),
                                        multi=True,
                                    ),
                                ],
                                md=5,
                            ),
                            dbc.Col(
                                [
                                    dbc.Label("Series name (long files)"),
                                    choice_dropdown(
                                        SERIES_COLUMN,
                                        options,
                                        schema.series_column,
                                        clearable=True,
                                        placeholder="none: one series per value column",
                                    ),
                                ],
                                md=4,
                            ),
                        ]
                    ),
                    dbc.Row(
                        dbc.Col(
                            [
                                dbc.Label("Date format"),
                                dcc.Dropdown(
                                    id=DATE_FORMAT,
                                    options=formats,
                                    value=schema.time_format
                                    or (formats[0]["value"] if formats else None),
                                    clearable=False,
                                    disabled=not formats,
                                    placeholder="not needed: the times are not text",
                                ),
                            ],
                            md=8,
                        ),
                        className="mt-2",
                    ),
                    dbc.Row(
                        dbc.Col(
                            [
                                dbc.Label("Times without a zone are in", html_for=FILE_ZONE),
                                dcc.Dropdown(
                                    id=FILE_ZONE,
                                    options=zone_options(browser_zone, schema.time_zone),
                                    value=schema.time_zone,
                                    clearable=False,
                                    searchable=True,
                                ),
                                dbc.FormText(
                                    "Times written with an offset or Z keep their own. "
                                    "Vigil stores every time in UTC."
                                ),
                            ],
                            md=8,
                        ),
                        className="mt-2",
                    ),
                    html.Div(
                        [
                            dbc.Button(
                                "Apply", id=apply_id, color="secondary", size="sm", className="mt-3"
                            ),
                            html.Span(note, className="text-muted small ms-3 mt-3"),
                        ],
                        className="d-flex align-items-center",
                    ),
                    html.Div(id=APPLY_MESSAGE, className="mt-2"),
                ]
            ),
        ],
        className="mb-3",
    )
