"""Every page callback says which role it needs: a new one cannot slip past the role gate."""

from __future__ import annotations

from vigil.stores.users import ROLES
from vigil.web.auth import ROLE_ATTRIBUTE


def vigil_callbacks(dash_app) -> dict[str, str | None]:
    """Each of Vigil's server-side callbacks (not Dash's own page routing and cancelling), by
    module and name, and the role it declares."""
    functions = [
        entry["callback"] for entry in dash_app.callback_map.values() if "callback" in entry
    ]
    return {
        f"{function.__module__}.{function.__name__}": getattr(function, ROLE_ATTRIBUTE, None)
        for function in functions
        if function.__module__.startswith("vigil.")
    }


def test_every_callback_declares_the_role_it_needs(dash_app):
    callbacks = vigil_callbacks(dash_app)

    assert len(callbacks) > 50
    assert [name for name, role in callbacks.items() if role not in ROLES] == []


def test_every_callback_that_changes_something_needs_more_than_a_viewer(dash_app):
    callbacks = vigil_callbacks(dash_app)
    # each callback that stores, changes, deletes or sends something, and the role it needs
    changes = {
        "analyze.run_analysis": "analyst",
        "analyze.save_as_model": "analyst",
        "analyze.download_model": "analyst",
        "analyze.mark_point": "analyst",
        "analyze.undo_mark": "analyst",
        "data.use_new_dataset": "analyst",
        "data.store_draft": "analyst",
        "data.apply_columns": "analyst",
        "evaluate.take_windows": "analyst",
        "evaluate.run_evaluation": "analyst",
        "live.apply_settings": "analyst",
        "live.delete_points": "admin",
        "alerts.change_rule": "admin",
        "alerts.send_test": "admin",
        "alerts.silence_series": "admin",
        "admin.make_token": "admin",
        "admin.revoke_token": "admin",
        "admin.save_mail": "admin",
    }

    assert {name: callbacks.get(f"vigil.pages.{name}") for name in changes} == changes
