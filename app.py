"""The Vigil web app, for servers started from a checkout: `gunicorn app:server`.

The app itself is `vigil.app` (installed with the package); this module only names it, so
a checkout serves the same app an installed Vigil does.
"""

from vigil.app import app, create_app, server

__all__ = ["app", "create_app", "server"]
