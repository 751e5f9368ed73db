"""The Analyze page: pick a series and a detector, see its anomaly episodes (and the points of
each), download them."""

from __future__ import annotations

import logging
import time
from functools import lru_cache

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import (
    ALL,
    Input,
    Output,
    Patch,
    State,
    callback,
    clientside_callback,
    dcc,
    html,
    no_update,
)
from dash.exceptions import MissingCallbackContextException

from vigil.components import ids
from vigil.components.charts import (
    MARK_TRACES,
    empty_figure,
    scored_figure,
    series_figure,
    shade_spans,
)
from vigil.components.episodes import (
    count_words,
    episode_grid,
    episode_rows,
    learning_period,
    learning_words,
    shaded_spans,
    span_text,
)
from vigil.components.forms import (
    INVALID,
    PARAM_TYPE,
    box_id,
    chosen_params,
    feedback_id,
    more_id,
    param_form,
    param_problems,
)
from vigil.components.grids import anomaly_grid, anomaly_rows
from vigil.components.layout import error_alert
from vigil.components.report import html_report
from vigil.components.zones import shown_zone, stored_time, wall_time, zone_words
from vigil.detection import DETECTORS, make_detector
from vigil.detection.episodes import episode_table, with_episodes
from vigil.detection.errors import VigilError
from vigil.detection.explain import number
from vigil.detection.feedback import ANOMALY, NORMAL, apply_feedback, flag_changes, mark_words
from vigil.detection.quality import plural
from vigil.detection.scored import flagged_points
from vigil.services import current, dataset_store, feedback_store, model_store, result_store
from vigil.stores.models import train_on_dataset
from vigil.times import UTC, utc_time, zone_label
from vigil.usecases.analysis import Analysis, plan_analysis
from vigil.usecases.analysis import run_analysis as run_analysis_once
from vigil.usecases.export import download_name, export_bytes
from vigil.web.auth import control_for, may, requires

log = logging.getLogger(__name__)
dash.register_page(__name__, path="/analyze", name="Analyze", title="Vigil · Analyze", order=1)

QUERY = "analyze-query"
DATASET = "analyze-dataset"
SERIES = "analyze-series"
DETECTOR = "analyze-detector"
ONLINE = "analyze-online"
MODEL = "analyze-model"
SAVE_MODEL = "analyze-save-model"
DOWNLOAD_MODEL = "analyze-download-model"
MODEL_STATUS = "analyze-model-status"
MODELS_CHANGED = "analyze-models-changed"
SELECTED = "analyze-selected"
SELECTED_TEXT = "analyze-selected-text"
MARK_NORMAL = "analyze-mark-normal"
MARK_ANOMALY = "analyze-mark-anomaly"
MARK_CLEAR = "analyze-mark-clear"
MARK_STATUS = "analyze-mark-status"
MARK_UNDO = "analyze-mark-undo"
MARKS_CHANGED = "analyze-marks-changed"
CENTRED = "analyze-centred"
PARAMS = "analyze-params"
MIN_SEVERITY = "analyze-min-severity"
RUN = "analyze-run"
VIEWER_NOTE = "Running detection needs the analyst role: you can open results linked from alerts."
CANCEL = "analyze-cancel"
CANCELLED = "analyze-cancelled"
PREVIEW = "analyze-preview"
RUN_NOTE = "analyze-run-note"
PROGRESS = "analyze-progress"
STATUS = "analyze-status"
RESULT = "analyze-result"
GRAPH = "analyze-graph"
GRID = "analyze-grid"
EPISODES = "analyze-episodes"
EPISODES_NOTE = "analyze-episodes-note"
POINTS_TITLE = "analyze-points-title"
SHOW_ALL = "analyze-show-all-points"
SUMMARY = "analyze-summary"
DOWNLOAD = "analyze-download"
DOWNLOAD_CSV = "analyze-download-csv"
DOWNLOAD_PARQUET = "analyze-download-parquet"
DOWNLOAD_REPORT = "analyze-download-report"
DOWNLOAD_EPISODES = "analyze-download-episodes"
DEFAULT_DETECTOR = "auto"
UNEXPECTED = "Something went wrong while running the detector; the details are in the server log."
CENTRE_POINTS = 150
NOT_ANALYSED = "Not analysed: the detector did not finish"
#: The Cancel button is there only while a run is.
CANCEL_SHOWN, CANCEL_HIDDEN = "ms-2", "ms-2 d-none"
#: The parameters open in the form; the others are folded under "More settings".
SHOWN_PARAMS = ("threshold", "method", "combine")


def layout(
    dataset: str | None = None,
    series: str | None = None,
    detector: str | None = None,
    online: str | None = None,
    at: str | None = None,
    result: str | None = None,
    **_query: str,
) -> html.Div:
    chosen = detector if detector in DETECTORS else DEFAULT_DETECTOR
    controls = dbc.Card(
        [
            dbc.CardBody(
                [
                    dbc.Label("Data set", html_for=DATASET),
                    dcc.Dropdown(id=DATASET, clearable=False, placeholder="No data set yet"),
                    dbc.Label("Series", html_for=SERIES, className="mt-3"),
                    dcc.Dropdown(id=SERIES, clearable=False),
                    dbc.Label("Detector", className="mt-3"),
                    dbc.RadioItems(
                        id=DETECTOR,
                        options=[
                            {"label": cls.label, "value": name} for name, cls in DETECTORS.items()
                        ],
                        value=chosen,
                    ),
                    html.Div(id="analyze-detector-summary", className="form-text mb-2"),
                    html.Div(_param_form(chosen), id=PARAMS),
                    dbc.Label("Show anomalies from severity", html_for=MIN_SEVERITY),
                    dcc.Slider(
                        id=MIN_SEVERITY,
                        min=0,
                        max=1,
                        step=0.05,
                        value=0,
                        marks={0: "0", 0.5: "0.5", 0.8: "0.8", 1: "1"},
                        tooltip={"placement": "bottom"},
                    ),
                    html.Details(
                        [
                            html.Summary("Online scoring and saved models"),
                            dbc.Switch(
                                id=ONLINE,
                                label="Online: score each point from earlier points only",
                                value=online in ("1", "true", "yes"),
                            ),
                            html.Div(
                                "As a live stream is scored: the first points are learnt "
                                "from, not judged.",
                                className="form-text mb-2",
                            ),
                            dbc.Label("Saved model", html_for=MODEL, className="mt-1"),
                            dcc.Dropdown(
                                id=MODEL,
                                placeholder="None: fit the detector on this series",
                                clearable=True,
                            ),
                            html.Div(
                                "A model scores with what it learned from its training "
                                "data, without fitting again.",
                                className="form-text",
                            ),
                            html.Div(
                                [
                                    dbc.Button(
                                        "Save as model",
                                        id=SAVE_MODEL,
                                        color="secondary",
                                        outline=True,
                                        size="sm",
                                        className="me-2",
                                        **control_for("analyst"),
                                    ),
                                    dbc.Button(
                                        "Download model",
                                        id=DOWNLOAD_MODEL,
                                        color="secondary",
                                        outline=True,
                                        size="sm",
                                        **control_for("analyst"),
                                    ),
                                    dcc.Download(id=f"{DOWNLOAD_MODEL}-file"),
                                ],
                                className="mt-2",
                            ),
                            html.Div(id=MODEL_STATUS, className="small mt-1 mb-2"),
                        ],
                        open=online in ("1", "true", "yes"),
                        className="vigil-more-settings mt-3",
                    ),
                ]
            ),
            dbc.CardFooter(
                [
                    html.Div(
                        [
                            dbc.Button(
                                "Run detection",
                                id=RUN,
                                color="primary",
                                className="flex-grow-1",
                                **control_for("analyst"),
                            ),
                            dbc.Button(
                                "Cancel",
                                id=CANCEL,
                                color="secondary",
                                outline=True,
                                className=CANCEL_HIDDEN,
                            ),
                        ],
                        className="d-flex",
                    ),
                    html.Div(id=RUN_NOTE, className="small text-danger mt-1"),
                    html.Div(
                        None if may("analyst") else VIEWER_NOTE,
                        id="analyze-viewer-note",
                        className="small text-muted mt-1",
                    ),
                    html.Div(id=PROGRESS, className="small text-muted mt-1"),
                ]
            ),
        ],
        className="mb-3 vigil-controls",
    )
    results = html.Div(
        [
            html.Div(id=STATUS),
            html.Div(id=SUMMARY, className="mb-2"),
            dcc.Graph(
                id=GRAPH,
                figure=empty_figure("Choose a data set to see its anomalies"),
                config={"displaylogo": False},
            ),
            html.H5("Anomaly episodes", className="mt-3"),
            html.Div(id=EPISODES_NOTE, className="small text-muted mb-2"),
            episode_grid(EPISODES),
            html.Div(
                [
                    html.H6(id=POINTS_TITLE, children="Flagged points", className="mb-0 me-3"),
                    dbc.Button(
                        "Show all flagged points",
                        id=SHOW_ALL,
                        color="link",
                        size="sm",
                        className="d-none",
                    ),
                ],
                className="mt-4 mb-2 d-flex align-items-center",
            ),
            anomaly_grid(GRID),
            html.Div(
                [
                    html.Span(
                        "Click a row or a point on the chart to mark it.",
                        id=SELECTED_TEXT,
                        className="me-3 text-muted",
                    ),
                    dbc.Button(
                        "Not an anomaly",
                        id=MARK_NORMAL,
                        color="secondary",
                        outline=True,
                        size="sm",
                        className="me-2",
                    ),
                    dbc.Button(
                        "Anomaly",
                        id=MARK_ANOMALY,
                        color="danger",
                        outline=True,
                        size="sm",
                        className="me-2",
                    ),
                    dbc.Button(
                        "Clear mark", id=MARK_CLEAR, color="link", size="sm", className="me-2"
                    ),
                    html.Span(id=MARK_STATUS, className="small"),
                ],
                className="mt-2 d-flex align-items-center flex-wrap",
            ),
            html.Div(
                [
                    html.Span("Download: ", className="me-2 text-muted"),
                    dbc.Button(
                        "CSV",
                        id=DOWNLOAD_CSV,
                        color="secondary",
                        outline=True,
                        size="sm",
                        className="me-2",
                    ),
                    dbc.Button(
                        "Parquet",
                        id=DOWNLOAD_PARQUET,
                        color="secondary",
                        outline=True,
                        size="sm",
                        className="me-2",
                    ),
                    dbc.Button(
                        "HTML report",
                        id=DOWNLOAD_REPORT,
                        color="secondary",
                        outline=True,
                        size="sm",
                        className="me-2",
                    ),
                    dbc.Button(
                        "Episodes CSV",
                        id=DOWNLOAD_EPISODES,
                        color="secondary",
                        outline=True,
                        size="sm",
                    ),
                    dcc.Download(id=DOWNLOAD),
                    dcc.Download(id=f"{DOWNLOAD_EPISODES}-file"),
                ],
                className="mt-3",
            ),
        ]
    )
    return html.Div(
        [
            dcc.Store(
                id=QUERY, data={"dataset": dataset, "series": series, "at": at, "result": result}
            ),
            dcc.Store(id=CENTRED),
            dcc.Store(id=RESULT),
            dcc.Store(id=PREVIEW),
            dcc.Store(id=CANCELLED),
            dcc.Store(id=MODELS_CHANGED),
            dcc.Store(id=SELECTED),
            dcc.Store(id=MARKS_CHANGED),
            dbc.Row([dbc.Col(controls, lg=3), dbc.Col(results, lg=9)]),
        ]
    )


@callback(
    Output(DATASET, "options"),
    Output(DATASET, "value"),
    Input(ids.DATASET, "data"),
    State(QUERY, "data"),
)
@requires("viewer")
def dataset_options(current: str | None, query: dict):
    """Every stored data set; the one from the link or in use on the Data page chosen."""
    return dataset_store().choices((query or {}).get("dataset"), current)


@callback(
    Output(SERIES, "options"),
    Output(SERIES, "value"),
    Input(DATASET, "value"),
    State(QUERY, "data"),
)
@requires("viewer")
def series_options(dataset_id: str | None, query: dict):
    if not dataset_id:
        return [], None
    try:
        names = list(dataset_store().info(dataset_id).report.series)
    except VigilError:
        return [], None
    wanted = (query or {}).get("series")
    return names, wanted if wanted in names else names[0]


@callback(
    Output(PARAMS, "children"),
    Output("analyze-detector-summary", "children"),
    Output(RUN_NOTE, "children"),
    Input(DETECTOR, "value"),
)
@requires("viewer")
def detector_form(detector: str):
    """The chosen detector's form, with its defaults (so nothing to fix before Run)."""
    return _param_form(detector), DETECTORS[detector].summary, None


def _param_form(detector: str) -> list:
    return param_form(detector, DETECTORS[detector].PARAMS, shown=SHOWN_PARAMS)


@callback(
    Output(box_id(ALL, ALL), "className"),
    Output(feedback_id(ALL, ALL), "children"),
    Output(more_id(ALL), "open"),
    Output(RUN_NOTE, "children", allow_duplicate=True),
    Input({"type": PARAM_TYPE, "detector": ALL, "name": ALL}, "value"),
    State({"type": PARAM_TYPE, "detector": ALL, "name": ALL}, "id"),
    State(more_id(ALL), "open"),
    prevent_initial_call=True,  # a fresh form holds the defaults: nothing to say
)
@requires("viewer")
def check_params(values: list, param_ids: list[dict], opened: list[bool | None]):
    """Say under each field what is wrong with its value (and unfold "More settings" when
    a field there is wrong); Run refuses until they are fixed."""
    detector = param_ids[0]["detector"] if param_ids else DEFAULT_DETECTOR
    problems = param_problems(DETECTORS[detector].PARAMS, values, param_ids, detector)
    boxes = [
        f"mb-3 vigil-param {INVALID}" if p["name"] in problems else "mb-3 vigil-param"
        for p in param_ids
    ]
    feedback = [problems.get(p["name"]) for p in param_ids]
    folded = {spec.name for spec in DETECTORS[detector].PARAMS} - set(SHOWN_PARAMS)
    unfold = bool(folded & set(problems))
    more = [True if unfold else bool(state) for state in opened]
    note = None
    if problems:
        fields = "setting" if len(problems) == 1 else f"{len(problems)} settings"
        note = f"Fix the {fields} marked in red to run the detector."
    return boxes, feedback, more, note


def _plan(
    dataset_id: str, series: str, detector: str, online, values, param_ids, model_id
) -> Analysis:
    """What Run would do with these choices; raises VigilError for a choice that cannot run."""
    params = chosen_params(detector, values, param_ids)
    return plan_analysis(
        current(), dataset_id, series, detector, params, online=bool(online), model_id=model_id
    )


def _runs(query: dict | None, dataset_id, series, detector, online, values, param_ids, model_id):
    """Whether these choices start a detection run (not a linked result that opens as it is,
    nor settings that check_params refuses)."""
    if not dataset_id or not series:
        return False
    result = (query or {}).get("result")
    if (
        result
        and dash.ctx.triggered_id == SERIES
        and _linked_result(result, dataset_id, series, detector, bool(online))
    ):
        return False
    return bool(model_id) or not param_problems(
        DETECTORS[detector].PARAMS, values, param_ids, detector
    )


#: What starts a run, and what it runs with: the raw-values preview and the run itself
#: listen to the same choices, so they agree on whether a run happens.
RUN_INPUTS = (
    Input(RUN, "n_clicks"),
    Input(SERIES, "value"),
    Input(DETECTOR, "value"),
    Input(ONLINE, "value"),
    State(DATASET, "value"),
    State({"type": PARAM_TYPE, "detector": ALL, "name": ALL}, "value"),
    State({"type": PARAM_TYPE, "detector": ALL, "name": ALL}, "id"),
    State(MODEL, "value"),
    State(QUERY, "data"),
)


@callback(
    Output(GRAPH, "figure", allow_duplicate=True),
    Output(STATUS, "children", allow_duplicate=True),
    Output(PREVIEW, "data", allow_duplicate=True),
    Output(PROGRESS, "children", allow_duplicate=True),
    Output(GRID, "rowData", allow_duplicate=True),
    Output(SUMMARY, "children", allow_duplicate=True),
    Output(EPISODES, "rowData", allow_duplicate=True),
    Output(EPISODES_NOTE, "children", allow_duplicate=True),
    *RUN_INPUTS,
    State(ids.TIME_ZONE, "data"),
    prevent_initial_call=True,
)
@requires("viewer")
def show_series_while_running(
    _clicks,
    series,
    detector,
    online,
    dataset_id,
    values,
    param_ids,
    model_id=None,
    query=None,
    zone=None,
):
    """The chosen series' values at once, while run_analysis (started by the same choices)
    computes a result that is not stored yet; a stored result is left to open as it is."""
    unchanged = (no_update,) * 8
    if not _runs(query, dataset_id, series, detector, online, values, param_ids, model_id):
        return unchanged
    try:
        plan = _plan(dataset_id, series, detector, online, values, param_ids, model_id)
    except VigilError:  # run_analysis says what is wrong
        return unchanged
    results = result_store()
    if results.has(plan.run.key):
        return unchanged
    label = DETECTORS[plan.run.detector].label
    figure = series_figure(
        plan.frame,
        title=f"{series} · raw values",
        note=f"Detecting anomalies with {label}…",
        zone=shown_zone(zone),
    )
    note = dbc.Alert(
        f"Showing the raw values of {series} while {label} looks for anomalies; "
        "they replace this chart when it finishes.",
        color="info",
        className="py-2 small",
        id="analyze-running-note",
    )
    if results.has(plan.run.key):  # finished meanwhile: its chart is on its way
        return unchanged
    words = f"Running {label} on {len(plan.frame):,} points…"
    return figure, note, plan.run.key, words, [], None, [], "Detecting anomalies…"


@callback(
    Output(RESULT, "data"),
    Output(STATUS, "children"),
    *RUN_INPUTS,
    background=True,
    running=[
        (Output(RUN, "disabled"), True, False),
        (Output(CANCEL, "className"), CANCEL_SHOWN, CANCEL_HIDDEN),
    ],
    cancel=[Input(CANCEL, "n_clicks")],
    progress=[Output(PROGRESS, "children")],
    prevent_initial_call=True,
)
@requires("analyst")
def run_analysis(
    set_progress,
    _clicks,
    series,
    detector,
    online,
    dataset_id,
    values,
    param_ids,
    model_id=None,
    query=None,
):
    """Fit and score the chosen detector; the result is kept on the server under a key. A
    link to a stored result of the series (`result=`, as in alert emails) opens showing it
    as it is, without running again. While it runs, the progress line counts down the time
    left, from the timings of earlier runs; a cancelled run stores nothing."""
    if not dataset_id or not series:
        return None, None
    if (query or {}).get("result") and dash.ctx.triggered_id == SERIES:
        linked = _linked_result(query["result"], dataset_id, series, detector, bool(online))
        if linked is not None:
            return linked, None
    if not _runs(query, dataset_id, series, detector, online, values, param_ids, model_id):
        return no_update, no_update  # check_params says what is wrong, under the field
    try:
        set_progress(f"Loading {series}…")
        plan = _plan(dataset_id, series, detector, online, values, param_ids, model_id)
        key = run_analysis_once(current(), plan, progress=set_progress)
        set_progress("")
        return key, None
    except VigilError as error:
        set_progress("")
        return None, error_alert(str(error), "analyze-error")
    except Exception:  # a bug, not the user's doing: keep the page usable, log the details
        log.exception("detection failed for %s / %s with %s", dataset_id, series, detector)
        set_progress("")
        return None, error_alert(UNEXPECTED, "analyze-error")


@callback(
    Output(RESULT, "data", allow_duplicate=True),
    Input(SERIES, "value"),
    State(DATASET, "value"),
    State(DETECTOR, "value"),
    State(ONLINE, "value"),
    State(QUERY, "data"),
    prevent_initial_call=True,
)
@requires("viewer")
def open_linked_result(series, dataset_id, detector, online, query=None):
    """For whoever may not run detection (a viewer following an alert email's link): the
    stored result the link names, shown as it is. Analysts get it from `run_analysis`."""
    key = (query or {}).get("result")
    if may("analyst") or not key or not dataset_id or not series:
        return no_update
    linked = _linked_result(key, dataset_id, series, detector, bool(online))
    return no_update if linked is None else linked


# Cancel is only there while a run is; the run's end (or cancellation) is seen by
# after_run, once Dash has delivered the run's last progress.
clientside_callback(
    "function(clicks) { return clicks ? true : window.dash_clientside.no_update; }",
    Output(CANCELLED, "data"),
    Input(CANCEL, "n_clicks"),
    prevent_initial_call=True,
)


@callback(
    Output(PROGRESS, "children", allow_duplicate=True),
    Output(STATUS, "children", allow_duplicate=True),
    Output(CANCELLED, "data", allow_duplicate=True),
    Output(RESULT, "data", allow_duplicate=True),
    Input(RUN, "disabled"),
    State(CANCELLED, "data"),
    State(PREVIEW, "data"),
    State(RESULT, "data"),
    prevent_initial_call=True,
)
@requires("viewer")
def after_run(running: bool | None, cancelled: bool | None, previewed, key: str | None):
    """Once a cancelled run has stopped: say so, and show the last result again (or keep
    the raw values, saying they are not analysed)."""
    if running or not cancelled:
        return no_update, no_update, no_update, no_update
    results = result_store()
    if previewed and results.has(previewed):  # it finished before Cancel reached it
        return no_update, no_update, None, no_update
    words = html.Span("Cancelled: nothing was stored.", id="analyze-cancelled-note")
    if key and results.has(key):
        run = results.settings(key)
        shown = f"{run['series']} · {DETECTORS[run['detector']].label}"
        note = dbc.Alert(
            f"The run was cancelled; the chart shows the previous result ({shown}).",
            color="secondary",
            className="py-2 small",
        )
        return words, note, None, key  # the result drawn again, tables and all
    note = dbc.Alert(
        "The run was cancelled: the chart shows the raw values, without anomalies.",
        color="secondary",
        className="py-2 small",
    )
    return words, note, None, no_update


def _linked_result(
    key: str, dataset_id: str, series: str, detector: str, online: bool
) -> str | None:
    """`key` when it names a stored result of this data set's series by this detector (the
    page opened with the link's choices), else None."""
    results = result_store()
    if not key or not results.has(key):
        return None
    try:
        run = results.settings(key)
    except VigilError:
        return None
    chosen = (dataset_id, series, detector, online)
    stored = (run.get("dataset_id"), run.get("series"), run.get("detector"), run.get("online"))
    return key if stored == chosen else None


def _load(key: str) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """A result as people see it: with the marks on its series applied, and its episodes
    labelled again when marks changed its flags. Callers must not change what it returns."""
    return _cached_load(key, _marks_version(key))


@lru_cache(maxsize=2)
def _cached_load(key: str, _marks: str) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """Kept: the chart, the two tables and the summary of one result all read it."""
    scored, run = result_store().load(key)
    marks = feedback_store().marks(run["dataset_id"], run["series"])
    seen = apply_feedback(scored, marks)
    if len(marks) or "episode" not in seen.columns:  # flags changed, or a result from before
        seen = with_episodes(seen.copy() if seen is scored else seen)
    return seen, run, marks


def _marks_version(key: str) -> str:
    run = result_store().settings(key)
    return feedback_store().version(run["dataset_id"], run["series"])


def _episodes(scored: pd.DataFrame, min_severity: float | None) -> pd.DataFrame:
    """The episode table of a result, for the episodes whose peak is at least `min_severity`
    (a point marked as an anomaly while the detector was learning has no severity: kept)."""
    table = episode_table(scored)
    return table[table["peak_severity"].fillna(1.0) >= (min_severity or 0.0)]


def _figure(key: str, min_severity: float, zone: str = UTC):
    return _cached_figure(key, min_severity, zone, _marks_version(key))


@lru_cache(maxsize=8)
def _cached_figure(key: str, min_severity: float, zone: str, _marks: str):
    """The resampling figure of a result, its times in `zone`, its episodes and learning
    period shaded; kept so zooms (sent back in `zone`) can ask it for detail."""
    scored, run, marks = _load(key)
    figure = scored_figure(
        scored,
        title=f"{run['series']} · {DETECTORS[run['detector']].label}"
        + (" · saved model" if "model" in run["params"] else ""),
        min_severity=min_severity,
        marks=marks,
        zone=zone,
    )
    if scored.empty:
        return figure
    first, last = scored["timestamp"].iloc[0], scored["timestamp"].iloc[-1]
    learning = learning_period(scored, run.get("warmup_rows", 0))
    return shade_spans(
        figure,
        shaded_spans(_episodes(scored, min_severity), first=first, last=last),
        learning=None if learning is None else (first, learning.until or last),
        zone=zone,
    )


@callback(
    Output(GRAPH, "figure"),
    Output(GRID, "rowData"),
    Output(SUMMARY, "children"),
    Input(RESULT, "data"),
    Input(MIN_SEVERITY, "value"),
    Input(MARKS_CHANGED, "data"),
    Input(ids.TIME_ZONE, "data"),
    State(PREVIEW, "data"),
)
@requires("viewer")
def show_result(
    key: str | None,
    min_severity: float,
    _marked: dict | None = None,
    zone: str | None = None,
    previewed: str | None = None,
):
    """Chart, flagged points grid and a summary of a result: its episodes and points, and
    its learning period; times in the zone picked in the navbar. While a run shows its
    series' raw values, only its result (not the severity slider, a mark or a new zone)
    replaces them."""
    zone = shown_zone(zone)
    if previewed and not _triggered_by(RESULT):
        return no_update, no_update, no_update
    if previewed and not key:  # the run was cancelled or failed: the raw values stay
        figure = Patch()
        figure["layout"]["annotations"][0]["text"] = NOT_ANALYSED
        return figure, [], None
    if not key:
        if not dataset_store().list():
            return (
                empty_figure("No data yet: add a file (or the demo data) on the Data page"),
                [],
                None,
            )
        return empty_figure("Choose a data set and a series, then run a detector"), [], None
    try:
        scored, run, marks = _load(key)
    except VigilError as error:
        return empty_figure(str(error)), [], None
    flagged = flagged_points(scored, min_severity or 0.0)
    figure = _figure(key, float(min_severity or 0.0), zone)
    episodes = _episodes(scored, min_severity)
    badge, points = count_words(len(episodes), len(flagged))
    period = learning_period(scored, run.get("warmup_rows", 0))
    learning = learning_words(period, zone)
    colour = "danger" if len(episodes) else "success"
    if not len(episodes) and period is not None and period.everything:
        badge, colour = "Still learning", "secondary"  # not "no anomalies": nothing was judged
    summary = html.Div(
        [
            dbc.Badge(badge, color=colour, className="me-2", id="analyze-count"),
            html.Span(
                (f"({points}) " if points else "")
                + f"in {len(scored):,} points of {run['series']}, in {run['seconds']:.2f} s"
                + ("; scored online" if run.get("online") else "")
                + (f"; {plural(len(marks), 'mark')} applied" if len(marks) else ""),
                className="text-muted",
                id="analyze-summary-text",
            ),
            html.Div(learning, className="small text-muted mt-1", id="analyze-learning")
            if learning
            else None,
        ]
    )
    if _only_marks_changed():
        figure = _marks_patch(figure)  # the chart keeps its zoom
    return figure, anomaly_rows(flagged, zone), summary


def _only_marks_changed() -> bool:
    """Whether the callback running was started by a change of marks alone."""
    try:
        triggered = dash.ctx.triggered_prop_ids
    except MissingCallbackContextException:
        return False
    return bool(triggered) and all(source == MARKS_CHANGED for source in triggered.values())


def _triggered_by(component: str) -> bool:
    """Whether `component` is among what started the callback running (True when called
    outside Dash, as tests do)."""
    try:
        triggered = dash.ctx.triggered_prop_ids
    except MissingCallbackContextException:
        return True
    return not triggered or component in triggered.values()


@callback(Output(PREVIEW, "data"), Input(RESULT, "data"), prevent_initial_call=True)
@requires("viewer")
def forget_preview(_key: str | None) -> None:
    """A result (or its error) has arrived: the chart no longer shows raw values."""
    return None


def _marks_patch(figure) -> Patch:
    """A patch that brings a chart on screen up to date with `figure` after marks changed:
    the flagged points, the marked points and the shaded episodes, not the zoom."""
    patch = Patch()
    for number_, trace in enumerate(figure.data):
        if trace.name in MARK_TRACES:
            patch["data"][number_] = trace.to_plotly_json()
    patch["layout"]["shapes"] = [shape.to_plotly_json() for shape in figure.layout.shapes]
    return patch


@callback(
    Output(EPISODES, "rowData"),
    Output(EPISODES_NOTE, "children"),
    Output(POINTS_TITLE, "children"),
    Output(SHOW_ALL, "className"),
    Input(RESULT, "data"),
    Input(MIN_SEVERITY, "value"),
    Input(MARKS_CHANGED, "data"),
    Input(ids.TIME_ZONE, "data"),
    State(PREVIEW, "data"),
)
@requires("viewer")
def show_episodes(
    key: str | None,
    min_severity: float,
    _marked: dict | None = None,
    zone: str | None = None,
    previewed: str | None = None,
):
    """The episodes table, most severe first, with a line that says what it holds and the
    zone its times are in (or plainly that there is nothing in it, and why); the points grid
    shows every point again. Left as it is while a run shows its series' raw values."""
    zone = shown_zone(zone)
    if previewed and not _triggered_by(RESULT):
        return no_update, no_update, no_update, no_update
    if not key:
        return [], None, _all_points_title(zone), "d-none"
    try:
        scored, run, _ = _load(key)
    except VigilError:  # show_result says what went wrong
        return [], None, _all_points_title(zone), "d-none"
    episodes = _episodes(scored, min_severity)
    rows = episode_rows(episodes, zone)
    note = _episodes_note(scored, run, len(episodes), zone)
    return rows, note, _all_points_title(zone, scored), "d-none"


def _episodes_note(scored: pd.DataFrame, run: dict, shown: int, zone: str = UTC) -> str:
    if shown:
        times = zone_words(zone, *_ends(scored))
        return (
            f"Most severe first; times in {times}. Click an episode to see its points below "
            "and zoom the chart to it."
        )
    learning = learning_period(scored, run.get("warmup_rows", 0))
    if learning is not None and learning.everything:
        return learning_words(learning, zone)
    hidden = int(scored["episode"].nunique())
    if hidden:
        return (
            f"No episode reaches the severity chosen under 'Show anomalies from severity'; "
            f"lower it to see the {hidden:,} milder one{'' if hidden == 1 else 's'}."
        )
    after = " after its learning period" if learning is not None else ""
    return f"No anomalies: no point of {run['series']} reached the detector's threshold{after}."


def _all_points_title(zone: str = UTC, scored: pd.DataFrame | None = None) -> str:
    ends = () if scored is None else _ends(scored)
    return f"Flagged points, most severe first (times in {zone_words(zone, *ends)})"


def _ends(scored: pd.DataFrame) -> tuple:
    """The first and last time of a result (none when it is empty)."""
    return () if scored.empty else tuple(scored["timestamp"].iloc[[0, -1]])


@callback(
    Output(GRID, "rowData", allow_duplicate=True),
    Output(POINTS_TITLE, "children", allow_duplicate=True),
    Output(SHOW_ALL, "className", allow_duplicate=True),
    Output(GRAPH, "figure", allow_duplicate=True),
    Input(EPISODES, "cellClicked"),
    State(RESULT, "data"),
    State(MIN_SEVERITY, "value"),
    State(ids.TIME_ZONE, "data"),
    State(PREVIEW, "data"),
    prevent_initial_call=True,
)
@requires("viewer")
def choose_episode(
    clicked: dict | None,
    key: str | None,
    min_severity: float,
    zone: str | None = None,
    previewed: str | None = None,
):
    """Show the points of the episode clicked in the episodes table, and zoom the chart to
    it (with some points either side)."""
    zone = shown_zone(zone)
    row_id = (clicked or {}).get("rowId")
    if row_id is None or not key or not str(row_id).isdigit() or previewed:
        return no_update, no_update, no_update, no_update
    try:
        scored, _run, _ = _load(key)
    except VigilError as error:
        return no_update, error_text(error), no_update, no_update
    points = scored[scored["episode"] == int(row_id)]
    if points.empty:
        return no_update, no_update, no_update, no_update
    start, end = points["timestamp"].iloc[0], points["timestamp"].iloc[-1]
    span = f"{span_text(start, end, zone=zone)} {zone_label(zone, start)}"
    title = f"The {plural(len(points), 'flagged point')} of the episode {span}"
    rows = anomaly_rows(points.sort_values("severity", ascending=False, kind="stable"), zone)
    return rows, title, "", _zoomed(key, min_severity, start, end, zone)


@callback(
    Output(GRID, "rowData", allow_duplicate=True),
    Output(POINTS_TITLE, "children", allow_duplicate=True),
    Output(SHOW_ALL, "className", allow_duplicate=True),
    Input(SHOW_ALL, "n_clicks"),
    State(RESULT, "data"),
    State(MIN_SEVERITY, "value"),
    State(ids.TIME_ZONE, "data"),
    prevent_initial_call=True,
)
@requires("viewer")
def show_all_points(_clicks, key: str | None, min_severity: float, zone: str | None = None):
    """Every flagged point again, after the points of one episode were shown."""
    zone = shown_zone(zone)
    if not key:
        return no_update, no_update, no_update
    try:
        scored, _run, _ = _load(key)
    except VigilError as error:
        return no_update, error_text(error), no_update
    rows = anomaly_rows(flagged_points(scored, min_severity or 0.0), zone)
    return rows, _all_points_title(zone, scored), "d-none"


def error_text(error: VigilError) -> html.Span:
    """A domain error's message, in red, where a title would be."""
    return html.Span(str(error), className="text-danger")


@callback(
    Output(GRAPH, "figure", allow_duplicate=True),
    Input(GRAPH, "relayoutData"),
    State(RESULT, "data"),
    State(MIN_SEVERITY, "value"),
    State(ids.TIME_ZONE, "data"),
    State(PREVIEW, "data"),
    prevent_initial_call=True,
)
@requires("viewer")
def resample_on_zoom(
    relayout: dict | None,
    key: str | None,
    min_severity: float,
    zone: str | None = None,
    previewed: str | None = None,
):
    """Send the detail of the zoomed range (plotly-resampler). The range comes as the
    chart's wall-clock times in the chosen zone, which the figure drawn in that zone reads;
    a chart of raw values while a run goes has all its detail already."""
    if not key or not relayout or previewed:
        return no_update
    figure = _figure(key, float(min_severity or 0.0), shown_zone(zone))
    return figure.construct_update_data_patch(relayout)


@callback(
    Output(GRAPH, "figure", allow_duplicate=True),
    Input(GRID, "cellClicked"),
    State(GRID, "virtualRowData"),
    State(RESULT, "data"),
    State(MIN_SEVERITY, "value"),
    State(ids.TIME_ZONE, "data"),
    State(PREVIEW, "data"),
    prevent_initial_call=True,
)
@requires("viewer")
def centre_on_row(
    clicked: dict | None,
    shown: list[dict] | None,
    key: str | None,
    min_severity: float,
    zone: str | None = None,
    previewed: str | None = None,
):
    """Zoom the chart around the anomaly clicked in the grid (rows as sorted on screen)."""
    index = (clicked or {}).get("rowIndex")
    if index is None or not shown or index >= len(shown) or not key or previewed:
        return no_update
    at = pd.Timestamp(shown[index]["timestamp"])  # the stored time, not the one shown
    return _centred(key, min_severity, at, shown_zone(zone))


def _centred(key: str, min_severity: float | None, at: pd.Timestamp, zone: str = UTC) -> Patch:
    """A patch that zooms the chart (with resampled detail) around the stored time `at`."""
    return _zoomed(key, min_severity, at, at, zone)


def _zoomed(
    key: str,
    min_severity: float | None,
    start: pd.Timestamp,
    end: pd.Timestamp,
    zone: str = UTC,
) -> Patch:
    """A patch that zooms the chart drawn in `zone` (with resampled detail) to the stored
    times from `start` to `end`, with CENTRE_POINTS points either side."""
    scored, _run, _ = _load(key)
    times = scored["timestamp"]
    low = times.iloc[max(0, int(times.searchsorted(start)) - CENTRE_POINTS)]
    high = times.iloc[min(len(scored) - 1, int(times.searchsorted(end)) + CENTRE_POINTS)]
    ends = [str(wall_time(t, zone)) for t in (low, high)]  # as the chart's axis reads
    # The two rows share one x axis (xaxis matches xaxis2): move both.
    relayout = {f"xaxis{n}.range[{i}]": t for n in ("", "2") for i, t in enumerate(ends)}
    figure = _figure(key, float(min_severity or 0.0), zone)
    update = figure.construct_update_data_patch(relayout)
    patch = update if isinstance(update, Patch) else Patch()
    for axis in ("xaxis", "xaxis2"):
        patch["layout"][axis]["range"] = ends
        patch["layout"][axis]["autorange"] = False
    return patch


@callback(
    Output(GRAPH, "figure", allow_duplicate=True),
    Output(CENTRED, "data"),
    Input(SUMMARY, "children"),
    State(QUERY, "data"),
    State(RESULT, "data"),
    State(MIN_SEVERITY, "value"),
    State(CENTRED, "data"),
    State(ids.TIME_ZONE, "data"),
    prevent_initial_call=True,
)
@requires("viewer")
def centre_on_link(summary, query: dict | None, key: str | None, min_severity, centred, zone=None):
    """A link with `at=` (as in alert emails: ISO 8601, UTC unless it says otherwise) opens
    the chart around that time, once (once the result's summary is shown: not while a run
    shows raw values)."""
    at = (query or {}).get("at")
    if not at or not key or centred == key or not summary:
        return no_update, no_update
    try:
        moment = utc_time(at)
    except ValueError:
        return no_update, key
    return _centred(key, min_severity, moment, shown_zone(zone)), key


@callback(
    Output(DOWNLOAD, "data"),
    Input(DOWNLOAD_CSV, "n_clicks"),
    Input(DOWNLOAD_PARQUET, "n_clicks"),
    Input(DOWNLOAD_REPORT, "n_clicks"),
    State(RESULT, "data"),
    State(MIN_SEVERITY, "value"),
    State(ids.TIME_ZONE, "data"),
    prevent_initial_call=True,
)
@requires("viewer")
def download(_csv, _parquet, _report, key: str | None, min_severity: float, zone=None):
    """The scored frame as CSV or Parquet, or a self-contained HTML report; times in the
    zone picked in the navbar, each saying its offset (see `vigil.usecases.export`)."""
    if not key:
        return no_update
    zone = shown_zone(zone)
    try:
        scored, run, _ = _load(key)
    except VigilError as error:
        return _not_downloadable(error)
    trigger = dash.ctx.triggered_id
    if trigger in (DOWNLOAD_CSV, DOWNLOAD_PARQUET):
        kind = "csv" if trigger == DOWNLOAD_CSV else "parquet"
        return dcc.send_bytes(export_bytes(scored, kind, zone=zone), download_name(run, f".{kind}"))
    flagged = flagged_points(scored, min_severity or 0.0)
    figure = _figure(key, float(min_severity or 0.0), zone)
    episodes = episode_rows(_episodes(scored, min_severity), zone)
    first, last = _ends(scored) or (None, None)
    report = html_report(
        figure,
        flagged,
        run,
        rows=len(scored),
        min_severity=min_severity or 0.0,
        episodes=episodes,
        learning=learning_words(learning_period(scored, run.get("warmup_rows", 0)), zone),
        span="" if scored.empty else span_text(first, last, zone=zone),
        zone=zone,
        first=first,
        last=last,
    )
    return dcc.send_string(report, download_name(run, ".html"))


@callback(
    Output(f"{DOWNLOAD_EPISODES}-file", "data"),
    Input(DOWNLOAD_EPISODES, "n_clicks"),
    State(RESULT, "data"),
    State(ids.TIME_ZONE, "data"),
    prevent_initial_call=True,
)
@requires("viewer")
def download_episodes(_clicks, key: str | None, zone: str | None = None):
    """Every episode of the result as CSV, one row each (the table `vigil detect
    --episodes` writes), its times in the zone picked in the navbar with their offset."""
    if not key:
        return no_update
    try:
        scored, run, _ = _load(key)
    except VigilError as error:
        return _not_downloadable(error)
    table = export_bytes(episode_table(scored), "csv", zone=shown_zone(zone))
    return dcc.send_bytes(table, download_name(run, "-episodes.csv"))


def _not_downloadable(error: VigilError):
    """Nothing to download (the result is gone, or its id is not one): say why where the
    page's messages go, and send no file."""
    dash.set_props(STATUS, {"children": error_alert(str(error), "analyze-download-error")})
    return no_update


@callback(Output(MODEL, "options"), Input(MODELS_CHANGED, "data"))
@requires("viewer")
def model_options(_changed: float | None):
    """The saved models, newest first."""
    return _model_options()


def _model_options() -> list[dict]:
    return [
        {"label": f"{info.label} ({info.created[:10]})", "value": model_id}
        for model_id, info in model_store().list()
    ]


@callback(
    Output(MODEL, "options", allow_duplicate=True),
    Output(MODEL, "value"),
    Output(MODEL_STATUS, "children"),
    Input(SAVE_MODEL, "n_clicks"),
    State(DATASET, "value"),
    State(SERIES, "value"),
    State(DETECTOR, "value"),
    State({"type": PARAM_TYPE, "detector": ALL, "name": ALL}, "value"),
    State({"type": PARAM_TYPE, "detector": ALL, "name": ALL}, "id"),
    background=True,
    running=[(Output(SAVE_MODEL, "disabled"), True, False)],
    prevent_initial_call=True,
)
@requires("analyst")
def save_as_model(_clicks, dataset_id, series, detector, values, param_ids):
    """Fit the chosen detector on the series and keep it as a model."""
    if not dataset_id or not series:
        return no_update, no_update, html.Span("Choose a series first.", className="text-danger")
    params = chosen_params(detector, values, param_ids)
    try:
        model_id, info = train_on_dataset(
            model_store(), dataset_store(), dataset_id, series, make_detector(detector, params)
        )
    except VigilError as error:
        return no_update, no_update, html.Span(str(error), className="text-danger")
    except Exception:
        log.exception("saving a model failed for %s / %s with %s", dataset_id, series, detector)
        return no_update, no_update, html.Span(UNEXPECTED, className="text-danger")
    words = f"Saved '{info.label}', trained on {info.training_rows:,} points."
    saved = html.Span(words, className="text-success", id="analyze-saved")
    return _model_options(), model_id, saved


@callback(
    Output(f"{DOWNLOAD_MODEL}-file", "data"),
    Output(MODEL_STATUS, "children", allow_duplicate=True),
    Input(DOWNLOAD_MODEL, "n_clicks"),
    State(MODEL, "value"),
    prevent_initial_call=True,
)
@requires("analyst")
def download_model(_clicks, model_id: str | None):
    """The chosen model's .vigil file (analysts only: it is a signed pickle this installation
    will load)."""
    if not model_id:
        hint = "Choose a saved model (or save one) to download it."
        return no_update, html.Span(hint, className="text-muted")
    try:
        data = model_store().file(model_id)  # still whole and ours
    except VigilError as error:
        return no_update, html.Span(str(error), className="text-danger")
    return dcc.send_bytes(data, filename=f"vigil-model-{model_id}.vigil"), no_update


@callback(
    Output(SELECTED, "data"),
    Output(SELECTED_TEXT, "children"),
    Input(GRID, "cellClicked"),
    Input(GRAPH, "clickData"),
    State(GRID, "virtualRowData"),
    State(RESULT, "data"),
    State(ids.TIME_ZONE, "data"),
    State(PREVIEW, "data"),
    prevent_initial_call=True,
)
@requires("viewer")
def select_point(clicked, chart_click, shown, key, zone=None, previewed=None):
    """The point to mark: a clicked grid row, or a clicked point on the chart (its x is the
    time as the chart shows it, in the chosen zone; not while it shows raw values: they are
    of no result yet)."""
    zone = shown_zone(zone)
    if not key or previewed:
        return no_update, no_update
    if dash.ctx.triggered_id == GRID:
        index = (clicked or {}).get("rowIndex")
        if index is None or not shown or index >= len(shown):
            return no_update, no_update
        at = pd.Timestamp(shown[index]["timestamp"])
    else:
        points = (chart_click or {}).get("points") or []
        if not points or "x" not in points[0]:
            return no_update, no_update
        at = stored_time(points[0]["x"], zone)
    scored, _run = result_store().load(key)
    position = min(int(scored["timestamp"].searchsorted(at)), len(scored) - 1)
    row = scored.iloc[position]
    chosen = {"timestamp": str(row["timestamp"]), "value": float(row["value"])}
    stamp = row["timestamp"]
    words = (
        f"Selected {wall_time(stamp, zone):%Y-%m-%d %H:%M:%S} {zone_label(zone, stamp)}: "
        f"{number(row['value'])}"
    )
    return chosen, html.Span(words, id="analyze-selected-point")


@callback(
    Output(MARKS_CHANGED, "data"),
    Output(MARK_STATUS, "children"),
    Input(MARK_NORMAL, "n_clicks"),
    Input(MARK_ANOMALY, "n_clicks"),
    Input(MARK_CLEAR, "n_clicks"),
    State(SELECTED, "data"),
    State(RESULT, "data"),
    prevent_initial_call=True,
)
@requires("analyst")
def mark_point(_normal, _anomaly, _clear, selected: dict | None, key: str | None):
    """Store what the user says of the selected point; every run of its series respects it."""
    if not selected or not key:
        return no_update, html.Span("Select a point first.", className="text-muted")
    try:
        run = result_store().settings(key)
        store = feedback_store()
        trigger = dash.ctx.triggered_id
        where = (run["dataset_id"], run["series"], selected["timestamp"])
        previous = store.mark_of(*where)
        before, _run, _marks = _load(key)
        verdict = {MARK_NORMAL: NORMAL, MARK_ANOMALY: ANOMALY}.get(trigger)
        if verdict is None:
            store.unmark(*where)
        else:
            store.mark(*where, verdict, selected.get("value"))
        after, _run, _marks = _load(key)
    except VigilError as error:
        return no_update, html.Span(str(error), className="text-danger")
    words = mark_words(verdict, flag_changes(before, after, selected["timestamp"]))
    undo = dict(zip(("dataset_id", "series", "timestamp"), where, strict=True))
    status = html.Span(
        [
            html.Span(words, className="text-success", id="analyze-marked"),
            dbc.Button(
                "Undo", id=MARK_UNDO, color="link", size="sm", className="p-0 ms-2 align-baseline"
            ),
        ]
    )
    return {"at": time.time(), "undo": {**undo, "previous": previous}}, status


@callback(
    Output(MARKS_CHANGED, "data", allow_duplicate=True),
    Output(MARK_STATUS, "children", allow_duplicate=True),
    Input(MARK_UNDO, "n_clicks"),
    State(MARKS_CHANGED, "data"),
    prevent_initial_call=True,
)
@requires("analyst")
def undo_mark(clicks: int | None, changed: dict | None):
    """Put the marks back exactly as they were before the last mark made on this page."""
    undo = changed.get("undo") if isinstance(changed, dict) else None
    if not clicks or not undo:
        return no_update, no_update
    try:
        feedback_store().restore(
            undo["dataset_id"], undo["series"], undo["timestamp"], undo["previous"]
        )
    except VigilError as error:
        return no_update, html.Span(str(error), className="text-danger")
    words = "Undone: the marks are as they were."
    return {"at": time.time()}, html.Span(words, className="text-muted", id="analyze-undone")
