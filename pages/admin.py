"""The Admin page: the ingest API's tokens (made and revoked here) and who may sign in."""

from __future__ import annotations

import time

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from components.admin import REVOKE_TYPE, new_token, token_table, user_table
from detection.errors import VigilError
from vigil.auth import control_for, may, requires, signed_in, users
from vigil.services import settings, token_store
from vigil.users import ROLE_NOTES

dash.register_page(
    __name__, path="/admin", name="Admin", title="Vigil · Admin", order=5, role="admin"
)

CHANGED = "admin-changed"
NAME = "admin-token-name"
MAKE = "admin-token-make"
MADE = "admin-token-made"
TOKENS = "admin-tokens"
CONFIGURED = "admin-configured"
USERS = "admin-users"


def layout(**_query: str) -> html.Div:
    if not may("admin"):
        return dbc.Alert("The Admin page needs the admin role; ask an admin.", color="secondary")
    return html.Div(
        [
            dcc.Store(id=CHANGED),
            dbc.Card(
                [
                    dbc.CardHeader(html.Strong("Ingest API tokens")),
                    dbc.CardBody(
                        [
                            html.P(
                                "Clients that post live points need a token. Make one per "
                                "client, so each can be revoked alone.",
                                className="text-muted",
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
    configured = len(settings().tokens())
    note = (
        f"Also {configured} token{'s' if configured != 1 else ''} from VIGIL_API_TOKENS or "
        "VIGIL_API_TOKENS_FILE, changed where they are set."
        if configured
        else ""
    )
    return token_table(token_store().tokens()), note, user_table(users().users(), ROLE_NOTES)


@callback(
    Output(MADE, "children"),
    Output(CHANGED, "data", allow_duplicate=True),
    Output(NAME, "value"),
    Input(MAKE, "n_clicks"),
    State(NAME, "value"),
    prevent_initial_call=True,
)
@requires("admin")
def make_token(_clicks, name: str | None):
    """Make a token and show it once."""
    user = signed_in()
    try:
        _, token = token_store().create(name or "", user.user.name if user else "local")
    except VigilError as error:
        return dbc.Alert(str(error), color="warning"), no_update, no_update
    return new_token(name.strip(), token), time.time(), ""


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
