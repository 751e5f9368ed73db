"""The Vigil web app, for servers started from a checkout: `gunicorn "app:create_app()"`, or
`python app.py` for Dash's development server.

The app itself is built by `vigil.app.create_app` (installed with the package) from the
environment's settings; importing this module builds nothing.
"""

from vigil.app import create_app

__all__ = ["create_app"]

if __name__ == "__main__":
    app = create_app()
    config = app.server.extensions["vigil"].settings
    app.run(host=config.host, port=config.port, debug=config.debug)
