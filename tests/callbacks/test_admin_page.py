"""The Admin page's callbacks, called as Dash calls them (sign-in is off in this process)."""

from __future__ import annotations

import json

from dash._callback_context import context_value
from dash._utils import AttributeDict

from vigil.services import token_store


def text_of(component) -> str:
    return str(component.to_plotly_json())


def test_a_token_is_made_shown_once_listed_and_revoked(dash_app):
    from pages.admin import make_token, revoke_token, show

    shown, changed, cleared = make_token(1, "  nightly <loader>  ")
    assert "Name a token" in text_of(shown)  # "<" is not a token name
    shown, changed, cleared = make_token(1, "nightly loader")
    token = next(t for t in str(shown.to_plotly_json()).split("'") if t.startswith("vgl_"))
    assert token_store().check(token) is not None
    assert cleared == ""
    assert changed > 0

    table, _, _ = show(changed)
    assert "nightly loader" in text_of(table)
    assert token not in text_of(table)  # only its first characters
    assert token[:8] in text_of(table)

    record = next(t for t in token_store().tokens() if t.name == "nightly loader")
    prop = json.dumps({"index": record.id, "type": "admin-revoke"}, separators=(",", ":"))
    prop += ".n_clicks"
    context_value.set(
        AttributeDict(triggered_inputs=[{"prop_id": prop, "value": 1}], args_grouping=[])
    )
    message, _ = revoke_token([1])
    assert "Revoked the token for nightly loader" in text_of(message)
    assert token_store().check(token) is None
    table, _, _ = show(changed)
    assert "revoked" in text_of(table)
