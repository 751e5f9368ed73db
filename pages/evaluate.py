"""The Evaluate page: every detector judged side by side on labelled data."""

from __future__ import annotations

import logging

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html

from vigil.components import ids
from vigil.components.charts import empty_figure
from vigil.components.evaluation import (
    evaluation_summary,
    judgement_grid,
    judgement_note,
    judgement_rows,
    precision_recall_figure,
)
from vigil.components.layout import error_alert
from vigil.detection import DETECTORS
from vigil.detection.errors import VigilError
from vigil.detection.quality import plural
from vigil.detection.schema import is_label_name
from vigil.services import dataset_store, feedback_store
from vigil.usecases.evaluate import (
    MAX_WINDOWS_BYTES,
    evaluate_series,
    read_windows,
    windows_from_json,
    windows_to_json,
)
from vigil.web.auth import control_for, requires

log = logging.getLogger(__name__)
dash.register_page(__name__, path="/evaluate", name="Evaluate", title="Vigil · Evaluate", order=2)

DATASET = "evaluate-dataset"
SERIES = "evaluate-series"
SOURCE = "evaluate-label-source"
LABEL_COLUMN = "evaluate-label-column"
COLUMN_FIELD = "evaluate-column-field"
WINDOWS_FIELD = "evaluate-windows-field"
WINDOWS_UPLOAD = "evaluate-windows-upload"
WINDOWS = "evaluate-windows"
WINDOWS_STATUS = "evaluate-windows-status"
DETECTORS_CHOSEN = "evaluate-detectors"
ONLINE = "evaluate-online"
BUDGET = "evaluate-budget"
RUN = "evaluate-run"
PROGRESS = "evaluate-progress"
STATUS = "evaluate-status"
SUMMARY = "evaluate-summary"
GRID = "evaluate-grid"
CURVE = "evaluate-curve"
NOTE = "evaluate-note"
UNEXPECTED = "Something went wrong during the evaluation; the details are in the server log."
HINT = (
    "Upload a file with a 0/1 label column (label, is_anomaly, …) on the Data page, or give "
    "anomaly windows in a second file; then choose the detectors to compare."
)


def layout(dataset: str | None = None, **_query: str) -> html.Div:
    controls = dbc.Card(
        dbc.CardBody(
            [
                dbc.Label("Data set", html_for=DATASET),
                dcc.Dropdown(id=DATASET, clearable=False, placeholder="No data set yet"),
                dbc.Label("Series", html_for=SERIES, className="mt-3"),
                dcc.Dropdown(id=SERIES, clearable=False),
                dbc.Label("Labels", className="mt-3"),
                dbc.RadioItems(
                    id=SOURCE,
                    options=[
                        {"label": "a 0/1 column of this file", "value": "column"},
                        {"label": "a file of anomaly windows", "value": "windows"},
                        {"label": "marks made on the Analyze page", "value": "marks"},
                    ],
                    value="column",
                ),
                html.Div(
                    dcc.Dropdown(id=LABEL_COLUMN, placeholder="Label column"),
                    id=COLUMN_FIELD,
                    className="mt-2",
                ),
                html.Div(
                    [
                        dcc.Upload(
                            html.Div(["Drop a windows CSV here, or ", html.A("choose one")]),
                            id=WINDOWS_UPLOAD,
                            max_size=MAX_WINDOWS_BYTES,
                            className="vigil-small-drop",
                        ),
                        html.Div(
                            "One window a row: a start and an end time.",
                            className="form-text",
                        ),
                        html.Div(id=WINDOWS_STATUS, className="small mt-1"),
                    ],
                    id=WINDOWS_FIELD,
                    className="mt-2",
                    hidden=True,
                ),
                dbc.Label("Detectors", className="mt-3"),
                dbc.Checklist(
                    id=DETECTORS_CHOSEN,
                    options=[
                        {"label": cls.label, "value": name} for name, cls in DETECTORS.items()
                    ],
                    value=list(DETECTORS),
                ),
                dbc.Switch(
                    id=ONLINE,
                    label="Online: score each point from earlier points only",
                    value=False,
                    className="mt-3",
                ),
                dbc.Label("Alert budget (alerts a day)", html_for=BUDGET, className="mt-2"),
                dbc.Input(id=BUDGET, type="number", min=0, step=0.5, value=5),
                html.Div(
                    "Shows the threshold that keeps to it and how many windows it still finds.",
                    className="form-text",
                ),
                dbc.Button(
                    "Evaluate",
                    id=RUN,
                    color="primary",
                    className="w-100 mt-3",
                    **control_for("analyst"),
                ),
                html.Div(id=PROGRESS, className="small text-muted mt-2"),
            ]
        ),
        className="mb-3",
    )
    results = html.Div(
        [
            html.Div(id=STATUS),
            html.Div(
                HINT,
                id=SUMMARY,
                className="text-muted mb-2",
            ),
            judgement_grid(GRID),
            judgement_note(NOTE),
            dcc.Graph(
                id=CURVE,
                figure=empty_figure("Precision and recall appear here after an evaluation"),
                config={"displaylogo": False},
                className="mt-3",
            ),
        ]
    )
    return html.Div(
        [
            dcc.Store(id=WINDOWS),
            dcc.Store(id="evaluate-query", data={"dataset": dataset}),
            dbc.Row([dbc.Col(controls, lg=3), dbc.Col(results, lg=9)]),
        ]
    )


@callback(
    Output(DATASET, "options"),
    Output(DATASET, "value"),
    Input(ids.DATASET, "data"),
    State("evaluate-query", "data"),
)
@requires("viewer")
def dataset_options(current: str | None, query: dict):
    """Every stored data set; the one in the link, else the one in use, else the newest."""
    return dataset_store().choices((query or {}).get("dataset"), current)


@callback(
    Output(SERIES, "options"),
    Output(SERIES, "value"),
    Output(LABEL_COLUMN, "options"),
    Output(LABEL_COLUMN, "value"),
    Input(DATASET, "value"),
)
@requires("viewer")
def columns_of(dataset_id: str | None):
    """Its series, and the columns that could hold labels (a label-named one chosen)."""
    if not dataset_id:
        return [], None, [], None
    try:
        info = dataset_store().info(dataset_id)
    except VigilError:
        return [], None, [], None
    series = list(info.report.series)
    others = [c for c in info.columns if c != info.schema.time_column]
    label = next((c for c in others if is_label_name(c)), None)
    return series, series[0] if series else None, others, label


@callback(
    Output(COLUMN_FIELD, "hidden"),
    Output(WINDOWS_FIELD, "hidden"),
    Input(SOURCE, "value"),
)
@requires("viewer")
def label_source(source: str):
    return source != "column", source != "windows"


@callback(
    Output(WINDOWS, "data"),
    Output(WINDOWS_STATUS, "children"),
    Input(WINDOWS_UPLOAD, "contents"),
    State(WINDOWS_UPLOAD, "filename"),
    State(DATASET, "value"),
    prevent_initial_call=True,
)
@requires("analyst")
def take_windows(contents: str | None, filename: str | None, dataset_id: str | None = None):
    """Read a windows file, its times without a zone in the zone of the chosen data set's
    times; keep its windows, or say what is wrong with it."""
    if not contents:
        return None, None
    try:
        zone = _dataset_zone(dataset_id)
        windows = read_windows(contents, filename or "windows.csv", zone)
    except VigilError as error:
        return None, html.Span(str(error), className="text-danger", id="evaluate-windows-error")
    return windows_to_json(windows), html.Span(
        f"{plural(len(windows), 'window')} from {filename} (times without a zone read in {zone})",
        className="text-success",
    )


def _dataset_zone(dataset_id: str | None) -> str:
    """The zone a data set's file writes its times in (UTC without a data set)."""
    store = dataset_store()
    if not dataset_id or not store.exists(dataset_id):
        return "UTC"
    return store.info(dataset_id).schema.time_zone or "UTC"


@callback(
    Output(GRID, "rowData"),
    Output(CURVE, "figure"),
    Output(SUMMARY, "children"),
    Output(STATUS, "children"),
    Input(RUN, "n_clicks"),
    State(DATASET, "value"),
    State(SERIES, "value"),
    State(SOURCE, "value"),
    State(LABEL_COLUMN, "value"),
    State(WINDOWS, "data"),
    State(DETECTORS_CHOSEN, "value"),
    State(ONLINE, "value"),
    State(BUDGET, "value"),
    background=True,
    running=[(Output(RUN, "disabled"), True, False)],
    progress=[Output(PROGRESS, "children")],
    prevent_initial_call=True,
)
@requires("analyst")
def run_evaluation(
    set_progress, _clicks, dataset_id, series, source, label_column, windows, chosen, online, budget
):
    """Judge the chosen detectors on the series' labels."""
    nothing = ([], empty_figure("No evaluation yet"), HINT)
    if not dataset_store().list():
        message = "No data set yet: add a file with a 0/1 label column on the Data page."
        return *nothing, error_alert(message, "evaluate-error")
    if not dataset_id or not series:
        return *nothing, error_alert("Choose a data set and a series first.", "evaluate-error")
    try:
        judgements, events = evaluate_series(
            dataset_store(),
            dataset_id,
            series,
            detectors=[name for name in DETECTORS if name in (chosen or [])],
            label_column=label_column if source == "column" else None,
            windows=windows_from_json(windows) if source == "windows" else None,
            marks=feedback_store().marks(dataset_id, series) if source == "marks" else None,
            online=bool(online),
            per_day=None if budget in (None, "") else float(budget),
            progress=set_progress,
        )
    except VigilError as error:
        set_progress("")
        return *nothing, error_alert(str(error), "evaluate-error")
    except Exception:  # a bug, not the user's doing: keep the page usable, log the details
        log.exception("evaluation failed for %s / %s", dataset_id, series)
        set_progress("")
        return *nothing, error_alert(UNEXPECTED, "evaluate-error")
    set_progress("")
    summary = evaluation_summary(judgements, events, online=bool(online))
    return judgement_rows(judgements), precision_recall_figure(judgements), summary, None
