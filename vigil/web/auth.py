"""Signing in: a login page, sessions in signed cookies, and the role every request needs.

Signed in or not, every request must be addressed to a host name this server answers to (so a
page elsewhere that points its own name at it, DNS rebinding, is refused), and a
state-changing one must not come from another site's page (its Origin, Referer or
Sec-Fetch-Site says so; programs send none of them and are let through).

With sign-in on (`Settings.auth_required`), every page and callback needs a signed-in user,
except what carries its own proof: the ingest API (bearer tokens), the links of alert emails
(signed tokens) and static files. A callback needs the role its function was given with
`requires` (a viewer's, when none). Forms carry a token bound to the session, and cookies
are SameSite. Failed sign-ins are rate-limited per address and per user name.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlencode, urlsplit

import jinja2
from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    has_request_context,
    redirect,
    request,
    session,
)
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from vigil.keys import kept_key
from vigil.services import settings, user_store
from vigil.stores.users import ROLES, User, UserStore, normal_name

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable)

ROLE_ATTRIBUTE = "vigil_role"
CSRF_KEY = "vigil_csrf"
#: Paths that carry their own proof, or hold nothing private: each itself, and what is under
#: it (`/login` and `/login/...`, never `/login-anything`).
OPEN_PATHS = (
    "/login",
    "/assets",
    "/_dash-component-suites",
    "/_favicon.ico",
    "/feedback/mark",
    "/api/v1/series",
)
#: Failed sign-ins allowed per address, and per user name whatever the address.
PER_ADDRESS = "5 per minute"
PER_NAME = "20 per hour"

auth = Blueprint("vigil_auth", __name__)
login_manager = LoginManager()
#: Its storage is set from the settings when the app is built: Redis, or this process's memory.
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def requires(role: str) -> Callable[[F], F]:
    """Mark a callback as needing `role` (put it under `@callback`). Every callback says
    its role, "viewer" for one that changes nothing (a test walks them all): a new callback
    cannot slip past the gate by forgetting."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")

    def mark(function: F) -> F:
        setattr(function, ROLE_ATTRIBUTE, role)
        return function

    return mark


class SignedIn(UserMixin):
    """The signed-in user as Flask-Login sees them. The session keeps their name and session
    generation (`name#generation`): when the generation moves on, the session ends."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.id = f"{user.name}#{user.generation}"

    def may(self, role: str) -> bool:
        return self.user.may(role)


def users() -> UserStore:
    return user_store()


@login_manager.user_loader
def _load(session_id: str) -> SignedIn | None:
    """The user of a session, unless they were removed, signed out or given a new password
    since it began (or it has no generation: a session from before they were kept)."""
    name, _, generation = session_id.rpartition("#")
    user = users().get(name) if name else None
    if user is None or str(user.generation) != generation:
        return None
    return SignedIn(user)


def signed_in() -> SignedIn | None:
    """The signed-in user, or None (also when sign-in is off)."""
    if not settings().auth_required or not has_request_context():
        return None
    if not current_user.is_authenticated:
        return None
    return current_user._get_current_object()


def may(role: str) -> bool:
    """Whether the current request may do what needs `role` (always, with sign-in off, and
    outside a request, as when Dash checks the layouts)."""
    if not settings().auth_required or not has_request_context():
        return True
    return bool(current_user.is_authenticated and current_user.may(role))


def control_for(role: str) -> dict:
    """Properties of a button that does what needs `role`: disabled, saying why, for a user
    whose role falls short."""
    if may(role):
        return {}
    return {"disabled": True, "title": f"This needs the {role} role; ask an admin."}


def csrf_token() -> str:
    """The session's token for forms that change state."""
    if CSRF_KEY not in session:
        session[CSRF_KEY] = secrets.token_urlsafe(32)
    return session[CSRF_KEY]


def _csrf_ok() -> bool:
    sent = request.form.get("csrf_token", "")
    kept = session.get(CSRF_KEY, "")
    return bool(kept) and hmac.compare_digest(sent, kept)


LOGIN_PAGE = jinja2.Environment(autoescape=True).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vigil · Sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/assets/00-bootstrap.min.css"></head>
<body class="bg-light">
<main class="container" style="max-width: 24rem; margin-top: 12vh;">
<h1 class="h4 mb-3">Vigil</h1>
<form method="post" class="card card-body shadow-sm">
<input type="hidden" name="csrf_token" value="{{ token }}">
<input type="hidden" name="next" value="{{ next }}">
{% if error %}<div class="alert alert-danger py-2" role="alert">{{ error }}</div>{% endif %}
<label class="form-label" for="name">User name</label>
<input class="form-control mb-3" id="name" name="name" value="{{ name }}"
 autocomplete="username" required autofocus>
<label class="form-label" for="password">Password</label>
<input class="form-control mb-3" id="password" name="password" type="password"
 autocomplete="current-password" required>
<button class="btn btn-primary" type="submit">Sign in</button>
</form>
<p class="text-muted small mt-3">Ask an admin for an account: <code>vigil users add NAME
--role viewer</code>.</p>
</main></body></html>"""
)


def _login_page(error: str = "", name: str = "", status: int = 200) -> tuple[str, int]:
    page = LOGIN_PAGE.render(
        token=csrf_token(), next=safe_next(request.values.get("next")), error=error, name=name
    )
    return page, status


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site only."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    parts = urlsplit(target)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _failed(response: Response) -> bool:
    return response.status_code == 401


def _name_key() -> str:
    """Failed sign-ins are counted per name however it is typed (`normal_name`)."""
    return "name:" + normal_name(request.form.get("name", ""))[:64]


@auth.route("/login", methods=["GET", "POST"])
@limiter.limit(PER_ADDRESS, methods=["POST"], deduct_when=_failed)
@limiter.limit(PER_NAME, methods=["POST"], key_func=_name_key, deduct_when=_failed)
def login():
    """The sign-in form; a right name and password start a session."""
    if request.method == "GET":
        return _login_page()
    if not _csrf_ok():
        return _login_page("The form expired: please sign in again.", status=400)
    name = request.form.get("name", "").strip()
    user = users().verify(name, request.form.get("password", ""))
    if user is None:
        log.warning("failed sign-in for %r from %s", name[:64], request.remote_addr)
        return _login_page("Wrong user name or password.", name=name, status=401)
    session.clear()  # a new session for the new user
    login_user(SignedIn(user))
    csrf_token()
    log.info("%s signed in (%s)", user.name, user.role)
    return redirect(safe_next(request.form.get("next")))


@auth.post("/logout")
def logout():
    if not _csrf_ok():
        return Response("The form expired.", status=400)
    if current_user.is_authenticated:  # this and every other session of theirs ends
        users().end_sessions(current_user.user.name)
    logout_user()
    session.clear()
    return redirect("/login")


def _too_many(_error) -> tuple[str, int]:
    return _login_page("Too many failed sign-ins: wait a minute, then try again.", status=429)


def _callback_role() -> str:
    """The role the Dash callback a request runs needs."""
    body = request.get_json(silent=True) or {}
    output = body.get("output", "")
    dash_app = current_app.extensions.get("vigil_dash")
    entry = None if dash_app is None else dash_app.callback_map.get(output)
    function = None if entry is None else entry.get("callback")
    return getattr(function, ROLE_ATTRIBUTE, ROLES[0])


#: The input properties that change only when a person asks for something (a click, a
#: submitted field, a file): a refused callback they trigger is answered 403; one that another
#: change triggers (a page filling its fields) is answered "nothing to do".
ACTIONS = frozenset({"n_clicks", "n_submit", "contents", "cellClicked", "clickData"})


def _asked() -> bool:
    """Whether a callback request comes from something the user asked for: an action input
    (see ACTIONS) that changed and has a value."""
    body = request.get_json(silent=True) or {}
    changed = set(body.get("changedPropIds") or [])
    inputs = [item for entry in body.get("inputs") or [] for item in _flat(entry)]
    return any(
        item.get("property") in ACTIONS
        and f"{_key(item.get('id'))}.{item.get('property')}" in changed
        and item.get("value") is not None
        for item in inputs
    )


def _flat(entry) -> list[dict]:
    """An input's entries: one, or a list for a pattern-matching input."""
    if isinstance(entry, list):
        return [item for item in entry if isinstance(item, dict)]
    return [entry]


def _key(component_id) -> str:
    """A component id as Dash writes it in changedPropIds (pattern ids as sorted JSON)."""
    if isinstance(component_id, dict):
        return json.dumps(component_id, sort_keys=True, separators=(",", ":"))
    return str(component_id)


def _request_role() -> str:
    if request.path == "/_dash-update-component":
        return _callback_role()
    if request.path.startswith("/api/v1/datasets"):
        return "analyst"
    return ROLES[0]


def _our_host() -> bool:
    """Whether the request is addressed to a name this server answers to (see
    `Settings.served_hosts`): a page that points its own name at this server (DNS rebinding)
    reaches it under that name, and is refused."""
    allowed = settings().served_hosts
    if allowed is None:
        return True
    name = urlsplit(f"//{request.host}").hostname or ""
    return name.lower() in allowed


def _cross_site() -> bool:
    """A state-changing request from a page of another site: the browser says so in
    `Sec-Fetch-Site`, or its Origin (or Referer) is not this site. Requests without either
    header come from programs, not from a page a browser was led to (a page cannot send
    the API's bearer token elsewhere without a CORS approval Vigil never gives)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return False
    if request.headers.get("Sec-Fetch-Site") in ("cross-site", "same-site"):
        return True
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not source:
        return False
    there = urlsplit(source)
    ours = {urlsplit(request.host_url), urlsplit(settings().public_url)}  # behind a proxy too
    return (there.scheme, there.netloc) not in {(url.scheme, url.netloc) for url in ours}


def _refused(path: str, message: str, status: int) -> Response:
    """`message` as JSON for the API and callbacks, as text for pages."""
    if path.startswith(("/_dash", "/api/")):
        return Response(json.dumps({"error": message}), status=status, mimetype="application/json")
    return Response(message, status=status, mimetype="text/plain")


def _gate():
    """Every request, signed in or not: addressed to this server's own name, and when it
    changes state, sent from its own pages. Then, with sign-in on, a session with the role
    the request needs."""
    path = request.path
    if not _our_host():
        log.warning("refused %s %s addressed to host %r", request.method, path, request.host)
        return _refused(
            path,
            f"This Vigil does not answer to the host name {request.host!r}: open it at its "
            "own address, or add the name to VIGIL_ALLOWED_HOSTS.",
            403,
        )
    if _cross_site():
        log.warning("refused a cross-site %s %s", request.method, path)
        return _refused(path, "Cross-site requests are refused: use Vigil's own pages.", 403)
    if not settings().auth_required or _is_open(path):
        return None
    if not current_user.is_authenticated:
        if path.startswith(("/_dash", "/api/")):
            return _refused(path, "Sign in first.", 401)
        query = f"?{request.query_string.decode()}" if request.query_string else ""
        return redirect(f"/login?{urlencode({'next': path + query})}")
    role = _request_role()
    if not current_user.may(role):
        if path == "/_dash-update-component" and not _asked():
            return Response(status=204)  # a page filling itself in, not asked for: no change
        what = (request.get_json(silent=True) or {}).get("output", "") if request.is_json else ""
        log.warning(
            "%s (%s) was refused %s %s", current_user.user.name, current_user.user.role, path, what
        )
        return Response(
            json.dumps({"error": f"This needs the {role} role."}),
            status=403,
            mimetype="application/json",
        )
    return None


def _is_open(path: str) -> bool:
    """Whether `path` is one of `OPEN_PATHS` or under one."""
    return any(path == open_path or path.startswith(f"{open_path}/") for open_path in OPEN_PATHS)


def register(server: Flask, dash_app) -> None:
    """Sessions, the sign-in pages and the gate in front of every request."""
    config = settings()
    secret = config.secret_key
    server.secret_key = (
        secret.get_secret_value().encode()
        if secret is not None
        else kept_key(config.data_dir, "session.key")
    )
    server.config.update(
        SESSION_COOKIE_NAME="vigil_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.public_url.startswith("https://"),
        RATELIMIT_STORAGE_URI=config.redis_url or "memory://",
        RATELIMIT_KEY_PREFIX="vigil",
    )
    server.extensions["vigil_dash"] = dash_app
    login_manager.init_app(server)
    limiter.init_app(server)
    server.register_blueprint(auth)
    server.register_error_handler(429, _too_many)
    server.before_request(_gate)
