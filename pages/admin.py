"""The Admin page: the email server, the ingest API's tokens (made and revoked here), and who
may sign in."""

from __future__ import annotations

import time
from collections.abc import Sequence

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from vigil.components.admin import REVOKE_TYPE, mail_form, new_token, token_table, user_table
from vigil.detection.errors import VigilError
from vigil.services import current, settings, token_store
from vigil.stores.mail_settings import FIELDS, password_server
from vigil.stores.tokens import DEFAULT_SCOPES, SCOPE_NOTES
from vigil.stores.tokens import SCOPES as TOKEN_SCOPES
from vigil.stores.users import ROLE_NOTES
from vigil.usecases.alerting import smtp_status
from vigil.web.auth import control_for, may, requires, signed_in, users

dash.register_page(
    __name__, path="/admin", name="Admin", title="Vigil · Admin", order=6, role="admin"
)

CHANGED = "admin-changed"
NAME = "admin-token-name"
SCOPES = "admin-token-scopes"
MAKE = "admin-token-make"
MADE = "admin-token-made"
TOKENS = "admin-tokens"
CONFIGURED = "admin-configured"
USERS = "admin-users"
MAIL = {name: f"admin-{name.replace('_', '-')}" for name in (*FIELDS, "save")}
MAIL_STATUS = "admin-mail-status"


def layout(**_query: str) -> html.Div:
    if not may("admin"):
        return dbc.Alert("The Admin page needs the admin role; ask an admin.", color="secondary")
    return html.Div(
        [
            dcc.Store(id=CHANGED),
            dbc.Card(
                [
                    dbc.CardHeader(html.Strong("Email server")),
                    dbc.CardBody(
                        [
                            html.P(
                                "Where alert emails go, for every server and worker from their "
                                "next delivery round. Every admin sees and may change what is "
                                "here. The password is not: it stays in VIGIL_SMTP_PASSWORD on "
                                "the servers, is shown to no one, and is only sent to the "
                                "server and port set beside it there (VIGIL_SMTP_HOST, "
                                "VIGIL_SMTP_PORT). Another server gets no password, and the "
                                "login is dropped when the server or port changes.",
                                className="text-muted",
                            ),
                            mail_form(MAIL, disabled=not may("admin")),
                            html.Div(id=MAIL_STATUS, className="small mt-3"),
                        ]
                    ),
                ],
                className="mb-3",
            ),
            dbc.Card(
                [
                    dbc.CardHeader(html.Strong("Ingest API tokens")),
                    dbc.CardBody(
                        [
                            html.P(
                                "Clients of the ingest API need a token. Make one per "
                                "client, so each can be revoked alone, and give it only what "
                                "it needs: "
                                + "; ".join(
                                    f"{scope} to {note}" for scope, note in SCOPE_NOTES.items()
                                )
                                + ".",
                                className="text-muted",
                            ),
                            html.Div(
                                [
                                    html.Span("A new token may:", className="me-3 small"),
                                    dbc.Checklist(
                                        id=SCOPES,
                                        options=[
                                            {"label": scope, "value": scope}
                                            for scope in TOKEN_SCOPES
                                        ],
                                        value=list(DEFAULT_SCOPES),
                                        inline=True,
                                    ),
                                ],
                                className="d-flex align-items-center mb-2",
                            ),
                            dbc.InputGroup(
                                [
                                    dbc.Input(
                                        id=NAME,
                                        placeholder="what will use it, e.g. collector on web-1",
                                        maxLength=80,
                                    ),
                                    dbc.Button(
                                        "Make a token",
                                        id=MAKE,
                                        color="primary",
                                        **control_for("admin"),
                                    ),
                                ],
                                className="mb-3",
                            ),
                            html.Div(id=MADE),
                            html.Div(id=TOKENS),
                            html.Div(id=CONFIGURED, className="small text-muted mt-3"),
                        ]
                    ),
                ],
                className="mb-3",
            ),
            dbc.Card(
                [
                    dbc.CardHeader(html.Strong("Who may sign in")),
                    dbc.CardBody(
                        [
                            html.Div(id=USERS),
                            html.P(
                                [
                                    "Add, change or remove users on the server with ",
                                    html.Code("vigil users add NAME --role ROLE"),
                                    " and ",
                                    html.Code("vigil users remove NAME"),
                                    ".",
                                ],
                                className="small text-muted mt-3 mb-0",
                            ),
                        ]
                    ),
                ]
            ),
        ]
    )


@callback(
    Output(TOKENS, "children"),
    Output(CONFIGURED, "children"),
    Output(USERS, "children"),
    Input(CHANGED, "data"),
)
@requires("admin")
def show(_changed):
    """The tokens made here, how many come from the settings, and the users."""
    config = settings()
    demo = config.demo_token
    configured = len(config.tokens() - ({demo.get_secret_value()} if demo else set()))
    notes = []
    if configured:
        notes.append(
            f"Also {configured} token{'s' if configured != 1 else ''} from VIGIL_API_TOKENS "
            "or VIGIL_API_TOKENS_FILE, with every scope, changed where they are set."
        )
    if demo is not None:
        notes.append("The demo stream has a token of its own, made anew each time Vigil starts.")
    note = " ".join(notes)
    return token_table(token_store().tokens()), note, user_table(users().users(), ROLE_NOTES)


@callback(
    Output(MADE, "children"),
    Output(CHANGED, "data", allow_duplicate=True),
    Output(NAME, "value"),
    Input(MAKE, "n_clicks"),
    State(NAME, "value"),
    State(SCOPES, "value"),
    prevent_initial_call=True,
)
@requires("admin")
def make_token(_clicks, name: str | None, scopes: Sequence[str] | None = DEFAULT_SCOPES):
    """Make a token with the scopes ticked, and show it once."""
    user = signed_in()
    try:
        record, token = token_store().create(
            name or "", user.user.name if user else "local", scopes=scopes or []
        )
    except VigilError as error:
        return dbc.Alert(str(error), color="warning"), no_update, no_update
    return new_token(record.name, token, record.scopes), time.time(), ""


@callback(
    Output(MADE, "children", allow_duplicate=True),
    Output(CHANGED, "data", allow_duplicate=True),
    Input({"type": REVOKE_TYPE, "index": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
@requires("admin")
def revoke_token(_clicks):
    """Revoke the token whose button was pressed: its clients get 401 from now on."""
    if not ctx.triggered_id or not ctx.triggered[0]["value"]:
        return no_update, no_update  # the table was drawn again, nothing was pressed
    revoked = token_store().revoke(int(ctx.triggered_id["index"]))
    return (
        dbc.Alert(f"Revoked the token for {revoked.name}.", color="secondary", duration=8000),
        time.time(),
    )


@callback(
    *[Output(MAIL[name], "value") for name in FIELDS],
    Output(MAIL_STATUS, "children"),
    Input(CHANGED, "data"),
)
@requires("admin")
def show_mail(_changed):
    """The email server in use, and where it comes from."""
    mail = current().mail()
    values = [getattr(mail, name) or "" for name in FIELDS]
    return (*values, _mail_note())


@callback(
    Output(MAIL_STATUS, "children", allow_duplicate=True),
    Input(MAIL["save"], "n_clicks"),
    *[State(MAIL[name], "value") for name in FIELDS],
    prevent_initial_call=True,
)
@requires("admin")
def save_mail(_clicks, *values):
    """Keep the email server an admin set; say what is wrong with it if something is."""
    user = signed_in()
    services = current()
    before = {name: getattr(services.mail(), name) for name in FIELDS}
    try:
        services.mail_settings.save(
            dict(zip(FIELDS, values, strict=True)),
            by=user.user.name if user else "local",
            before=before,
        )
    except VigilError as error:
        return dbc.Alert(str(error), color="warning", className="mb-0")
    return html.Div(
        [dbc.Alert("Saved.", color="success", duration=4000, className="mb-2"), _mail_note()]
    )


def _mail_note() -> html.Div:
    services = current()
    server = password_server(services.settings)
    if server is None:
        password = "not set"
    else:
        used = services.mail().smtp_password is not None
        password = f"set, for {server[0]}:{server[1]} only" + (
            "" if used else ": not sent to the server above"
        )
    return html.Div(
        [html.Div(smtp_status(services)), html.Div(f"VIGIL_SMTP_PASSWORD is {password}.")],
        className="text-muted",
    )
