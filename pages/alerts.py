"""The Alerts page: where email goes, the rules (with their recipients and webhooks), the
outbox and the anomaly episodes alerted on."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update

from vigil.alerts.compose import LIVE
from vigil.alerts.rulebook import FROM_FILE
from vigil.alerts.rules import DIRECTIONS, Rule
from vigil.alerts.webhooks import MAX_WEBHOOKS, Webhook, webhook
from vigil.components import ids
from vigil.components.alerts import (
    DIRECTION_LABELS,
    FILE_NOTE,
    HISTORY_COLUMNS,
    OUTBOX_COLUMNS,
    RULE_COLUMNS,
    grid,
    history_rows,
    outbox_rows,
    rule_rows,
)
from vigil.components.zones import minute_text, shown_zone
from vigil.detection import DETECTORS
from vigil.selectors import SelectorError, parse_matcher
from vigil.services import current, dataset_store, model_store, outbox, rule_store
from vigil.usecases.alerting import (
    alert_engine,
    candidate_series,
    rule_activity,
    send_test_email,
    smtp_status,
    watched_series,
)
from vigil.web.auth import control_for, may, requires

dash.register_page(__name__, path="/alerts", name="Alerts", title="Vigil · Alerts", order=3)

REFRESH = "alerts-refresh"
TICK = "alerts-tick"
SMTP = "alerts-smtp"
COUNTS = "alerts-counts"
TEST_TO = "alerts-test-to"
TEST_SEND = "alerts-test-send"
TEST_STATUS = "alerts-test-status"
RULES = "alerts-rules"
FORM = {
    "name": "alerts-rule-name",
    "series_pattern": "alerts-rule-series",
    "labels": "alerts-rule-labels",
    "detector": "alerts-rule-detector",
    "dataset": "alerts-rule-dataset",
    "direction": "alerts-rule-direction",
    "min_severity": "alerts-rule-severity",
    "recipients": "alerts-rule-recipients",
    "webhooks": "alerts-rule-webhooks",
    "group_minutes": "alerts-rule-group",
    "resolve_minutes": "alerts-rule-resolve",
    "daily_budget": "alerts-rule-budget",
}
SAVE = "alerts-rule-save"
NEW = "alerts-rule-new"
PAUSE = "alerts-rule-pause"
SILENCE = "alerts-rule-silence"
DELETE = "alerts-rule-delete"
RULE_STATUS = "alerts-rule-status"
EDITING = "alerts-rule-editing"
OUTBOX = "alerts-outbox"
OUTBOX_FILTER = "alerts-outbox-filter"
HISTORY = "alerts-history"
SILENCE_SERIES = "alerts-silence-series"
SILENCE_HOURS = "alerts-silence-hours"
SERIES_HOURS = "alerts-series-silence-hours"
DURATIONS = [
    {"label": "for an hour", "value": "1"},
    {"label": "for 4 hours", "value": "4"},
    {"label": "for a day", "value": "24"},
    {"label": "for a week", "value": "168"},
]
SILENCE_STATUS = "alerts-silence-status"
DEFAULTS = Rule("", "", ())
OWN_DETECTOR = "The series' own detector"
#: The form's values for a rule's detector None (each series' own) and data set None (any).
OWN, ANY = "own", "any"


def _detectors() -> dict[str, str]:
    """Detectors and saved models by what a rule names them with."""
    return {name: choice.label for name, choice in DETECTORS.items()} | {
        f"model:{model_id}": f"Saved model: {info.label}" for model_id, info in model_store().list()
    }


def _datasets() -> dict[str, str]:
    """The data sets a rule may keep to, live series first."""
    return {LIVE: "Live series"} | {info.id: info.name for info in dataset_store().list()}


def _field(label: str, key: str, component, width: int = 3) -> dbc.Col:
    return dbc.Col(
        [dbc.Label(label, html_for=FORM[key], className="small mb-1"), component], md=width
    )


def layout(**_query: str) -> html.Div:
    smtp = dbc.Card(
        dbc.CardBody(
            [
                html.H5("Email", className="card-title"),
                html.Div(id=SMTP, className="mb-2"),
                html.Div(id=COUNTS, className="mb-3"),
                dbc.InputGroup(
                    [
                        dbc.Input(id=TEST_TO, type="email", placeholder="you@example.org"),
                        dbc.Button(
                            "Send test email",
                            id=TEST_SEND,
                            color="secondary",
                            **control_for("admin"),
                        ),
                    ],
                    size="sm",
                ),
                html.Div(id=TEST_STATUS, className="small mt-2"),
            ]
        ),
        className="mb-3",
    )
    form = dbc.Row(
        [
            _field("Name", "name", dbc.Input(id=FORM["name"], size="sm")),
            _field(
                "Series (name or pattern)",
                "series_pattern",
                dbc.Input(id=FORM["series_pattern"], size="sm", placeholder="latency_*"),
            ),
            _field(
                "Labels (matchers, all must hold)",
                "labels",
                dbc.Input(id=FORM["labels"], size="sm", placeholder="env=prod service=~web|api"),
            ),
            _field(
                "Detector",
                "detector",
                dbc.Select(
                    id=FORM["detector"],
                    options=[{"label": OWN_DETECTOR, "value": OWN}]
                    + [{"label": label, "value": key} for key, label in _detectors().items()],
                    value=OWN,
                    size="sm",
                ),
            ),
            _field(
                "Data set",
                "dataset",
                dbc.Select(
                    id=FORM["dataset"],
                    options=[{"label": "Any data set", "value": ANY}]
                    + [{"label": label, "value": key} for key, label in _datasets().items()],
                    value=ANY,
                    size="sm",
                ),
            ),
            _field(
                "Direction",
                "direction",
                dbc.Select(
                    id=FORM["direction"],
                    options=[
                        {"label": f"Values {DIRECTION_LABELS[d]}", "value": d} for d in DIRECTIONS
                    ],
                    value=DEFAULTS.direction,
                    size="sm",
                ),
            ),
            _field(
                "From severity",
                "min_severity",
                dbc.Input(
                    id=FORM["min_severity"],
                    type="number",
                    min=0,
                    max=1,
                    step=0.05,
                    value=DEFAULTS.min_severity,
                    size="sm",
                ),
            ),
            _field(
                "Recipients (comma separated)",
                "recipients",
                dbc.Input(id=FORM["recipients"], size="sm", placeholder="ops@example.org"),
            ),
            _field(
                "Webhooks (one a line; slack before a Slack one)",
                "webhooks",
                dbc.Textarea(
                    id=FORM["webhooks"],
                    rows=2,
                    size="sm",
                    placeholder="https://hooks.example.org/vigil\n"
                    "slack https://hooks.slack.com/services/…",
                ),
                width=6,
            ),
            _field(
                "Group interval (minutes)",
                "group_minutes",
                dbc.Input(
                    id=FORM["group_minutes"],
                    type="number",
                    min=0,
                    value=DEFAULTS.group_minutes,
                    size="sm",
                ),
            ),
            _field(
                "Resolved after (minutes quiet)",
                "resolve_minutes",
                dbc.Input(
                    id=FORM["resolve_minutes"],
                    type="number",
                    min=1,
                    value=DEFAULTS.resolve_minutes,
                    size="sm",
                ),
            ),
            _field(
                "Emails a day at most",
                "daily_budget",
                dbc.Input(
                    id=FORM["daily_budget"],
                    type="number",
                    min=0,
                    value=DEFAULTS.daily_budget,
                    size="sm",
                ),
            ),
        ],
        className="g-2",
    )
    admin = control_for("admin")
    buttons = html.Div(
        [
            dbc.Button("Save rule", id=SAVE, color="primary", size="sm", className="me-2", **admin),
            dbc.Button("New rule", id=NEW, color="link", size="sm", className="me-3"),
            dbc.Button(
                "Pause / resume",
                id=PAUSE,
                color="secondary",
                outline=True,
                size="sm",
                className="me-2",
                **admin,
            ),
            dbc.Button("Silence", id=SILENCE, color="secondary", outline=True, size="sm", **admin),
            dbc.Select(
                id=SILENCE_HOURS,
                options=DURATIONS,
                value="1",
                size="sm",
                className="d-inline-block w-auto me-2",
            ),
            dbc.Button("Delete", id=DELETE, color="danger", outline=True, size="sm", **admin),
            html.Span(id=RULE_STATUS, className="small ms-3"),
        ],
        className="mt-2",
    )
    rules = dbc.Card(
        dbc.CardBody(
            [
                html.H5("Rules", className="card-title"),
                html.Div(
                    "Select a rule to edit, pause, silence or delete it.",
                    className="small text-muted mb-2",
                ),
                grid(
                    RULES,
                    RULE_COLUMNS,
                    empty="No alert rules yet: add one with the form below.",
                    selectable=True,
                ),
                html.Hr(),
                form,
                buttons,
            ]
        ),
        className="mb-3",
    )
    outbox = dbc.Card(
        dbc.CardBody(
            [
                html.H5("Outbox", className="card-title"),
                dbc.RadioItems(
                    id=OUTBOX_FILTER,
                    options=[
                        {"label": s, "value": s} for s in ("all", "pending", "sent", "failed")
                    ],
                    value="all",
                    inline=True,
                    className="mb-2 small",
                ),
                grid(OUTBOX, OUTBOX_COLUMNS, empty="No alert email yet."),
            ]
        ),
        className="mb-3",
    )
    history = dbc.Card(
        dbc.CardBody(
            [
                html.H5("Anomaly episodes", className="card-title"),
                html.Div(
                    "Each episode a rule alerted on, latest first, with the email that "
                    "announced it. Select one to silence its series.",
                    className="small text-muted mb-2",
                ),
                grid(
                    HISTORY,
                    HISTORY_COLUMNS,
                    empty="No anomaly episode has been alerted on yet.",
                    selectable=True,
                ),
                html.Div(
                    [
                        dbc.Button(
                            "Silence the selected series",
                            id=SILENCE_SERIES,
                            color="secondary",
                            outline=True,
                            size="sm",
                            **control_for("admin"),
                        ),
                        dbc.Select(
                            id=SERIES_HOURS,
                            options=DURATIONS,
                            value="1",
                            size="sm",
                            className="d-inline-block w-auto",
                        ),
                        html.Span(id=SILENCE_STATUS, className="small ms-3"),
                    ],
                    className="mt-2",
                ),
            ]
        ),
        className="mb-3",
    )
    return html.Div(
        [
            dcc.Store(id=REFRESH),
            dcc.Store(id=EDITING),
            dcc.Interval(id=TICK, interval=10_000),
            smtp,
            rules,
            outbox,
            history,
        ]
    )


@callback(
    Output(SMTP, "children"),
    Output(COUNTS, "children"),
    Output(RULES, "rowData"),
    Output(OUTBOX, "rowData"),
    Output(HISTORY, "rowData"),
    Input(REFRESH, "data"),
    Input(TICK, "n_intervals"),
    Input(OUTBOX_FILTER, "value"),
    Input(ids.TIME_ZONE, "data"),
)
@requires("viewer")
def show(_refresh, _tick, status: str, zone: str | None = None):
    """Everything the page lists, read fresh; times in the zone picked in the navbar."""
    zone = shown_zone(zone)
    services = current()
    box = services.outbox
    counts = box.counts("email")
    badges: list = [
        dbc.Badge(f"{counts[name]} {name}", color=colour, className="me-1", id=f"alerts-{name}")
        for name, colour in (("pending", "warning"), ("sent", "success"), ("failed", "danger"))
    ]
    calls = box.counts("webhook")
    if any(calls.values()):
        words = ", ".join(f"{calls[name]} {name}" for name in ("pending", "sent", "failed"))
        badges.append(
            html.Div(f"Webhook calls: {words}.", className="small mt-1", id="alerts-webhooks")
        )
    rules = services.rule_store.rules()
    emails = box.emails(None if status == "all" else status)
    history = alert_engine(services).history()
    datasets = dataset_store().list()
    activity = rule_activity(services, rules, datasets)
    names = {info.id: info.name for info in datasets}
    return (
        smtp_status(services),
        badges,
        # the newest first: a rule just saved is on the first page
        rule_rows(
            sorted(rules, key=lambda rule: rule.id or 0, reverse=True),
            activity,
            detectors=_detectors(),
            datasets=names,
            zone=zone,
        ),
        outbox_rows(emails, zone),
        history_rows(history, rules, zone),
    )


@callback(
    Output(TEST_STATUS, "children"),
    Output(REFRESH, "data", allow_duplicate=True),
    Input(TEST_SEND, "n_clicks"),
    State(TEST_TO, "value"),
    prevent_initial_call=True,
)
@requires("admin")
def send_test(_clicks, to: str | None):
    """Queue a test email and try to deliver it now."""
    recipients = [part.strip() for part in (to or "").split(",") if part.strip()]
    try:
        _, report = send_test_email(current(), recipients)
    except ValueError as error:
        return html.Span(str(error), className="text-danger"), no_update
    if report is None:
        words, tone = "Queued; no SMTP server is set, so it waits in the outbox.", "text-warning"
    elif report.sent:
        words, tone = "Sent: the server accepted the test email.", "text-success"
    else:
        failed = outbox().emails()[0].last_error
        words, tone = f"Not sent yet ({failed}); it stays in the outbox.", "text-danger"
    return html.Span(words, className=tone, id="alerts-test-result"), time.time()


@callback(
    [Output(FORM[key], "value") for key in FORM],
    Output(EDITING, "data"),
    Input(RULES, "selectedRows"),
    Input(NEW, "n_clicks"),
    prevent_initial_call=True,
)
@requires("viewer")
def edit_rule(selected: list[dict] | None, _new):
    """Load the selected rule into the form (or empty it for a new one)."""
    rule = DEFAULTS
    if dash.ctx.triggered_id == RULES and selected:
        rule = rule_store().get(int(selected[0]["id"]))
    values = [getattr(rule, key) for key in FORM]
    values[list(FORM).index("recipients")] = ", ".join(rule.recipients)
    values[list(FORM).index("webhooks")] = webhook_lines(rule, whole=may("admin"))
    values[list(FORM).index("labels")] = " ".join(rule.labels)
    values[list(FORM).index("detector")] = rule.detector or OWN
    values[list(FORM).index("dataset")] = rule.dataset or ANY
    return *values, rule.id


@callback(
    Output(RULE_STATUS, "children"),
    Output(REFRESH, "data", allow_duplicate=True),
    Output(EDITING, "data", allow_duplicate=True),
    Input(SAVE, "n_clicks"),
    Input(PAUSE, "n_clicks"),
    Input(SILENCE, "n_clicks"),
    Input(DELETE, "n_clicks"),
    [State(FORM[key], "value") for key in FORM],
    State(SILENCE_HOURS, "value"),
    State(EDITING, "data"),
    State(ids.TIME_ZONE, "data"),
    prevent_initial_call=True,
)
@requires("admin")
def change_rule(_save, _pause, _silence, _delete, *values_id_and_zone):
    """Save, pause or resume, silence or delete the rule being edited."""
    *values, hours, rule_id, zone = values_id_and_zone
    store = rule_store()
    trigger = dash.ctx.triggered_id
    try:
        from_file = rule_id is not None and store.get(rule_id).source == FROM_FILE
        if trigger in (SAVE, DELETE) and from_file:
            raise ValueError(FILE_NOTE)
        if trigger == SAVE:
            rule = _rule_from_form(dict(zip(FORM, values, strict=True)), rule_id, store)
            saved = store.save(rule)
            return _saved(saved), time.time(), saved.id
        if rule_id is None:
            raise ValueError("Select a rule first.")
        rule = store.get(rule_id)
        if trigger == DELETE:
            store.delete(rule_id)
            return _ok(f"Deleted '{rule.name}'."), time.time(), None
        if trigger == PAUSE:
            store.save(replace(rule, paused=not rule.paused))
            return (
                _ok(f"{'Resumed' if rule.paused else 'Paused'} '{rule.name}'."),
                time.time(),
                rule_id,
            )
        until = datetime.now(UTC) + timedelta(hours=float(hours or 1))
        store.save(replace(rule, silenced_until=until.isoformat(timespec="minutes")))
        words = f"Silenced '{rule.name}' until {minute_text(until, shown_zone(zone))}."
        return _ok(words), time.time(), rule_id
    except (ValueError, KeyError) as error:
        message = str(error) if isinstance(error, ValueError) else "That rule is gone."
        return (
            html.Span(message, className="text-danger", id="alerts-rule-error"),
            no_update,
            no_update,
        )


def _ok(words: str) -> html.Span:
    return html.Span(words, className="text-success", id="alerts-rule-ok")


def _saved(rule: Rule) -> html.Span:
    """Saved, and a warning when the rule matches no series yet (they may come later)."""
    if watched_series(rule, candidate_series(current(), dataset_store().list())):
        return _ok(f"Saved '{rule.name}'.")
    return html.Span(
        [
            _ok(f"Saved '{rule.name}'. "),
            html.Span(
                f"No series matches it yet: it will alert on series named like "
                f"'{rule.series_pattern}' once they come{_scope(rule)}.",
                className="text-warning",
                id="alerts-rule-warning",
            ),
        ]
    )


def _scope(rule: Rule) -> str:
    """What else a series needs to be watched by a rule, as the warning says it."""
    parts = []
    if rule.dataset is not None:
        parts.append("in " + _datasets().get(rule.dataset, rule.dataset))
    if rule.detector is not None:
        parts.append("scored by " + _detectors().get(rule.detector, rule.detector))
    return f" ({', '.join(parts)})" if parts else ""


def _rule_from_form(form: dict, rule_id: int | None, store) -> Rule:
    """A rule from the form's values, or a ValueError that says what to fix."""
    name = (form["name"] or "").strip()
    pattern = (form["series_pattern"] or "").strip()
    recipients = tuple(p.strip() for p in (form["recipients"] or "").split(",") if p.strip())
    if not name or not pattern:
        raise ValueError("A rule needs a name and a series (or a pattern such as latency_*).")
    if any("@" not in address for address in recipients):
        raise ValueError("Give the recipients as email addresses, separated by commas.")
    earlier = store.get(rule_id) if rule_id is not None else None
    hooks = read_webhook_lines(form["webhooks"] or "")
    if not recipients and not hooks:
        raise ValueError("Give the recipients (email addresses), webhooks, or both.")
    try:
        labels = tuple(parse_matcher(word).written for word in (form["labels"] or "").split())
    except SelectorError as error:
        raise ValueError(f"Labels: {error}") from None
    numbers = {}
    for key, low in (
        ("min_severity", 0),
        ("group_minutes", 0),
        ("resolve_minutes", 1),
        ("daily_budget", 0),
    ):
        value = form[key]
        if value is None or float(value) < low:
            raise ValueError(f"{key.replace('_', ' ').capitalize()} must be at least {low}.")
        numbers[key] = float(value)
    if numbers["min_severity"] > 1:
        raise ValueError("From severity must be between 0 and 1.")
    return replace(
        earlier or Rule(name, pattern, recipients),
        name=name,
        series_pattern=pattern,
        labels=labels,
        detector=None if form["detector"] in (None, "", OWN) else form["detector"],
        dataset=None if form["dataset"] in (None, "", ANY) else form["dataset"],
        direction=form["direction"] if form["direction"] in DIRECTIONS else "either",
        recipients=recipients,
        webhooks=hooks,
        min_severity=numbers["min_severity"],
        group_minutes=numbers["group_minutes"],
        resolve_minutes=numbers["resolve_minutes"],
        daily_budget=int(numbers["daily_budget"]),
    )


def webhook_lines(rule: Rule, *, whole: bool) -> str:
    """A rule's webhooks as the form writes them, one a line (`slack URL` for a Slack one);
    with their paths hidden unless `whole` (an admin, who may change them)."""
    return "\n".join(
        ("" if hook.format == "json" else f"{hook.format} ") + (hook.url if whole else hook.shown)
        for hook in rule.webhooks
    )


def read_webhook_lines(written: str) -> tuple[Webhook, ...]:
    """The webhooks the form holds, one a line (`slack URL` for a Slack one), or a
    ValueError naming the line to fix."""
    hooks: list[Webhook] = []
    lines = [line.strip() for line in written.splitlines() if line.strip()]
    if len(lines) > MAX_WEBHOOKS:
        raise ValueError(f"At most {MAX_WEBHOOKS} webhooks a rule.")
    for number, line in enumerate(lines, 1):
        format, _, url = line.rpartition(" ")
        try:
            hook = webhook(url, format.strip() or "json")
        except ValueError as error:
            raise ValueError(f"Webhooks, line {number}: {error}.") from None
        if all(hook.url != known.url for known in hooks):
            hooks.append(hook)
    return tuple(hooks)


@callback(
    Output(SILENCE_STATUS, "children"),
    Output(REFRESH, "data", allow_duplicate=True),
    Input(SILENCE_SERIES, "n_clicks"),
    State(HISTORY, "selectedRows"),
    State(SERIES_HOURS, "value"),
    State(ids.TIME_ZONE, "data"),
    prevent_initial_call=True,
)
@requires("admin")
def silence_series(
    _clicks, selected: list[dict] | None, hours: str | None = "1", zone: str | None = None
):
    """Mute one series of one rule for a while; the rule keeps alerting on its other series."""
    if not selected:
        return html.Span("Select an episode first.", className="text-muted"), no_update
    row = selected[0]
    until = datetime.now(UTC) + timedelta(hours=float(hours or 1))
    rule_store().silence(row["rule_id"], row["series"], until)
    ends = minute_text(until, shown_zone(zone))
    words = f"Silenced {row['series']} for '{row['rule']}' until {ends}."
    return html.Span(words, className="text-success", id="alerts-silenced"), time.time()
