"""The Admin page's pieces: the email server form, the API tokens table and the one-time
view of a new token."""

from __future__ import annotations

from datetime import UTC, datetime

import dash_bootstrap_components as dbc
from dash import dcc, html

from vigil.components.zones import zone_options
from vigil.stores.tokens import ApiToken
from vigil.stores.users import User

REVOKE_TYPE = "admin-revoke"


def _when(moment: float | None) -> str:
    if moment is None:
        return "never"
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M UTC")


def token_table(tokens: list[ApiToken]) -> html.Div | html.P:
    """Every token made here: name, first characters, who made it, when, last use, and a
    button to revoke the active ones."""
    if not tokens:
        return html.P("No token made here yet.", className="text-muted mb-0")
    rows = [
        html.Tr(
            [
                html.Td(token.name),
                html.Td(html.Code(f"{token.hint}…")),
                html.Td(", ".join(token.scopes)),
                html.Td(token.made_by),
                html.Td(_when(token.created)),
                html.Td(_when(token.last_used)),
                html.Td(
                    dbc.Button(
                        "Revoke",
                        id={"type": REVOKE_TYPE, "index": token.id},
                        color="danger",
                        outline=True,
                        size="sm",
                        n_clicks=0,
                    )
                    if token.active
                    else html.Span(f"revoked {_when(token.revoked)}", className="text-muted")
                ),
            ]
        )
        for token in tokens
    ]
    head = html.Thead(
        html.Tr([html.Th(t) for t in ("Name", "Token", "May", "Made by", "Made", "Last used", "")])
    )
    return dbc.Table([head, html.Tbody(rows)], size="sm", hover=True, className="mb-0")


def new_token(name: str, token: str, scopes: tuple[str, ...]) -> dbc.Alert:
    """A token just made, shown this once, with what it may do."""
    return dbc.Alert(
        [
            html.Div(
                f"The token for {name} ({', '.join(scopes)}): copy it now, it is not shown again."
            ),
            html.Code(token, id="admin-new-token", className="d-block fs-6 my-2 user-select-all"),
            html.Div(
                ["Clients send it as ", html.Code("Authorization: Bearer <token>"), "."],
                className="small",
            ),
        ],
        color="success",
    )


def user_table(users: list[User], notes: dict[str, str]) -> html.Div | html.P:
    if not users:
        return html.P(
            ["No users yet: ", html.Code("vigil users add NAME --role admin"), "."],
            className="text-muted mb-0",
        )
    rows = [
        html.Tr([html.Td(user.name), html.Td(user.role), html.Td(notes[user.role])])
        for user in users
    ]
    head = html.Thead(html.Tr([html.Th("User"), html.Th("Role"), html.Th("May")]))
    return dbc.Table([head, html.Tbody(rows)], size="sm", className="mb-0")


def mail_form(ids: dict[str, str], *, disabled: bool) -> html.Div:
    """The email server's fields (`ids` by setting name), empty until the page fills them."""

    def field(label: str, control, width: int) -> dbc.Col:
        return dbc.Col(
            [dbc.Label(label, html_for=control.id, className="small"), control], md=width
        )

    return html.Div(
        [
            dbc.Row(
                [
                    field(
                        "Server", dbc.Input(id=ids["smtp_host"], placeholder="smtp.example.org"), 5
                    ),
                    field(
                        "Port", dbc.Input(id=ids["smtp_port"], type="number", min=1, max=65535), 2
                    ),
                    field(
                        "Security",
                        dbc.Select(
                            id=ids["smtp_security"],
                            options=[
                                {"label": "none", "value": "none"},
                                {"label": "STARTTLS", "value": "starttls"},
                                {"label": "SSL/TLS", "value": "ssl"},
                            ],
                        ),
                        2,
                    ),
                    field("Login", dbc.Input(id=ids["smtp_username"], placeholder="none"), 3),
                ],
                className="g-2 mb-2",
            ),
            dbc.Row(
                [
                    field(
                        "Send alerts from",
                        dbc.Input(id=ids["alert_from"], placeholder="vigil@example.org"),
                        5,
                    ),
                    field(
                        "Time zone for emails",
                        dcc.Dropdown(
                            id=ids["alert_time_zone"],
                            options=zone_options(),
                            clearable=False,
                            searchable=True,
                        ),
                        5,
                    ),
                    dbc.Col(
                        dbc.Button("Save", id=ids["save"], color="primary", disabled=disabled),
                        md=2,
                        className="d-flex align-items-end",
                    ),
                ],
                className="g-2",
            ),
        ]
    )
