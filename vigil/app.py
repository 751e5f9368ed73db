"""The Vigil Dash app: its shell (navbar, shared stores, page container) and its server.

The pages are the modules of `vigil.pages`, imported once the app exists (each registers
itself with Dash); the browser's files are those of `vigil.assets` (the `assets/` folder).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import pkgutil

import dash
import dash_bootstrap_components as dbc
import diskcache
from dash import ALL, CeleryManager, Dash, Input, Output, State, dcc, html

from vigil.components import ids
from vigil.components.layout import NAV_COLLAPSE, NAV_LINK, NAV_TOGGLER, ZONE_PICKER, navbar
from vigil.components.zones import picked_zone, zone_options
from vigil.private import private_data, private_umask
from vigil.services import EXTENSION, Services, settings_from_environment, use
from vigil.settings import Settings
from vigil.web import auth, endpoints, headers
from vigil.web.live_api import attach_worker
from vigil.workers import tasks
from vigil.workers.jobs import BoundedDiskcacheManager

log = logging.getLogger(__name__)


def shell() -> html.Div:
    pages = sorted(dash.page_registry.values(), key=lambda page: page["order"])
    user = auth.signed_in()
    account = None if user is None else (user.user.name, user.user.role, auth.csrf_token())
    return html.Div(
        [
            dcc.Store(id=ids.DATASET, storage_type="local"),
            dcc.Store(id=ids.TIME_ZONE, storage_type="local", data="UTC"),
            dcc.Store(id=ids.BROWSER_ZONE),
            navbar(
                [p for p in pages if p.get("nav", True) and auth.may(p.get("role", "viewer"))],
                account,
            ),
            dbc.Container(
                [
                    dbc.Alert(
                        id=ids.BUSY,
                        is_open=False,
                        dismissable=True,
                        color="warning",
                        className="mt-3 mb-0",
                    ),
                    dash.page_container,
                ],
                fluid=True,
                className="pb-5",
            ),
        ]
    )


def background_manager(config):
    """Where long callbacks run: Celery workers when Redis is set, else this machine's
    processes (at most `max_runs` at once, the abandoned ones stopped), their results in a
    disk cache. Celery bounds its runs by its workers' concurrency."""
    if config.redis_url:
        return CeleryManager(tasks.configure(config))
    cache_dir = config.data_dir / "cache"
    cache_dir.mkdir(parents=True, exist_ok=True)
    return BoundedDiskcacheManager(
        diskcache.Cache(str(cache_dir)),
        max_running=config.max_runs,
        abandoned_after=config.run_abandoned_seconds,
    )


def create_app(config: Settings | None = None) -> Dash:
    """Build the app from `config` (by default the environment's settings): its Services
    (kept on the Flask app, and made this process's for work outside requests), pages,
    sign-in, endpoints and headers; load the demo data set if asked to. Nothing happens on
    importing this module: gunicorn serves `vigil.app:create_app()`.

    One app a process: Dash hands the pages' callbacks to the first app built."""
    services = use(Services(config or settings_from_environment()))
    config = services.settings
    private_umask()  # the disk cache, the database and every stored file: owner only
    private_data(config.data_dir, config.files_url)
    services.database()  # opened, checked and upgraded now: a damaged SQLite file stops here
    app = Dash(
        __name__,
        use_pages=True,
        pages_folder="",  # the pages are imported below, as vigil.pages.*
        assets_folder=assets_folder(),
        title="Vigil",
        suppress_callback_exceptions=True,
        background_callback_manager=background_manager(config),
    )
    import_pages()
    app.layout = shell
    # the narrow screen's menu opens with its toggler and closes when a page is picked
    app.clientside_callback(
        f"""function(toggled, picked, open) {{
            const trigger = dash_clientside.callback_context.triggered_id;
            return trigger === "{NAV_TOGGLER}" ? !open : false;
        }}""",
        Output(NAV_COLLAPSE, "is_open"),
        Input(NAV_TOGGLER, "n_clicks"),
        Input({"type": NAV_LINK, "page": ALL}, "n_clicks"),
        State(NAV_COLLAPSE, "is_open"),
        prevent_initial_call=True,
    )
    # the browser's own zone, offered next to UTC wherever a time zone is picked
    app.clientside_callback(
        "function(_) { return Intl.DateTimeFormat().resolvedOptions().timeZone || null; }",
        Output(ids.BROWSER_ZONE, "data"),
        Input(ids.BROWSER_ZONE, "id"),
    )
    app.callback(Output(ZONE_PICKER, "options"), Input(ids.BROWSER_ZONE, "data"))(
        auth.requires("viewer")(zone_options)
    )
    app.callback(
        Output(ids.TIME_ZONE, "data"),
        Output(ZONE_PICKER, "value"),
        Input(ids.TIME_ZONE, "data"),
        Input(ZONE_PICKER, "value"),
    )(auth.requires("viewer")(keep_zone))
    app.server.extensions[EXTENSION] = services
    auth.register(app.server, app)  # first: who is asking is checked before anything else
    endpoints.register(app.server)
    headers.register(app.server, app)
    if config.redis_url:
        attach_worker(app.server, tasks.ScoringKick())  # ingest starts scoring on the workers
    if config.demo:
        services.dataset_store.add_demo()
    render_shell_once(app)
    return app


def assets_folder() -> str:
    """Where the browser's files are: `assets/` in a checkout, `vigil/assets/` installed."""
    spec = importlib.util.find_spec("vigil.assets")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("Vigil's assets are missing: reinstall Vigil")
    return str(next(iter(spec.submodule_search_locations)))


def import_pages() -> None:
    """Import every page module of `vigil.pages`: each registers itself with Dash, and its
    `layout` becomes the page's (what Dash does for a pages folder)."""
    import vigil.pages

    for page in pkgutil.iter_modules(vigil.pages.__path__):
        name = f"vigil.pages.{page.name}"
        module = importlib.import_module(name)
        registered = dash.page_registry.get(name)
        if registered is not None and not registered["supplied_layout"]:
            registered["layout"] = module.layout


def keep_zone(stored: str | None, picked: str | None):
    """The zone picked in the navbar is kept (in the browser's local storage, so it
    survives a reload); the picker shows the zone kept, UTC when what is kept is not a zone
    (then UTC is kept instead)."""
    picker_changed = dash.ctx.triggered_id == ZONE_PICKER
    zone, shown = picked_zone(stored, picked, picker_changed=picker_changed)
    keep = zone if zone != stored else dash.no_update
    return keep, shown if shown != picked else dash.no_update


def render_shell_once(app: Dash) -> None:
    """Render the page shell once, now. Dash learns which script files it may serve when it
    first renders the page; done here, every gunicorn worker forked from this process knows
    them, instead of only the worker that served someone's first page (the others answered
    500 for the scripts the browser asked them for)."""
    with app.server.test_request_context("/"):
        app.server.preprocess_request()  # Dash's own first-request set-up among the hooks
        app.index()
