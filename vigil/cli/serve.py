"""`vigil run` and `vigil worker`: serve the app, or work for it on Celery."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import click
import redis

from vigil.alerts.delivery import DeliveryWorker
from vigil.cli.common import file_store, make_private, opened_database
from vigil.client.demo import DemoStream
from vigil.services import Services
from vigil.settings import load_settings
from vigil.storage.database import hide_password
from vigil.usecases.alerting import dispatch_due, smtp_status
from vigil.web.live_api import attach_worker
from vigil.workers.live_scoring import ScoringProcesses


@click.command()
@click.option("--host", default=None, help="Address to listen on (VIGIL_HOST, default 127.0.0.1).")
@click.option(
    "--port", type=int, default=None, help="Port to listen on (VIGIL_PORT, default 8050)."
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where data sets are kept (VIGIL_DATA_DIR).",
)
@click.option("--debug/--no-debug", default=None, help="Dash debug mode, with hot reload.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Serve with gunicorn and this many worker processes (default: one process).",
)
def run(
    host: str | None,
    port: int | None,
    data_dir: Path | None,
    debug: bool | None,
    workers: int | None,
) -> None:
    """Serve the Vigil app.

    Live scoring runs in processes of its own (VIGIL_SCORING_PROCESSES, the series split
    between them) and email delivery in a thread of this one, once however many web workers
    serve requests: no point is scored twice, no email sent twice.
    With VIGIL_REDIS_URL both run on Celery workers instead ('vigil worker').
    """
    given: dict[str, object] = {"host": host, "port": port, "data_dir": data_dir, "debug": debug}
    config = load_settings(**given)
    if config.demo:  # the demo stream's own token, made anew each start
        given["demo_token"] = secrets.token_urlsafe(24)
        config = load_settings(**given)
    make_private(config)
    database = opened_database(config)
    files = file_store(config)
    services = Services(config)
    click.echo(
        f"Vigil is serving on http://{config.host}:{config.port} (files in {files.url}, "
        f"state in {database.display})"
        + (f" with {workers} gunicorn worker{'s' if workers != 1 else ''}" if workers else "")
    )
    if config.auth_required:
        users = services.user_store.users()
        click.echo(
            f"Sign-in is on: {len(users)} user(s) in {config.users_path}"
            if users
            else "Sign-in is on and there is no user yet: add one with "
            "'vigil users add NAME --role admin'"
        )
    on_celery = bool(config.redis_url)
    scoring = (
        ScoringProcesses(config, config.scoring_processes).start()
        if config.live_scoring and not on_celery
        else None
    )
    if config.redis_url:  # on Celery
        click.echo(
            "Live scoring, alert delivery and long callbacks run on Celery workers through "
            f"{hide_password(config.redis_url)}: start one or more with 'vigil worker'"
        )
        from vigil.workers.tasks import configure, start_chains

        configure(config)
        try:
            start_chains()
        except redis.RedisError as error:
            raise click.ClickException(
                f"Cannot reach Redis at {hide_password(config.redis_url)}: {error}"
            ) from None
    if config.demo_token is not None:
        token = config.demo_token.get_secret_value()
        DemoStream(f"http://127.0.0.1:{config.port}", token).start()
        click.echo("Streaming demo series to the Live page")
    if not on_celery:
        # the email server may be set later, on the Admin page: each round asks
        DeliveryWorker(
            services.outbox,
            lambda: services.mail().smtp,
            webhook_key=lambda: services.webhook_key,
            before_round=lambda: dispatch_due(services),
        ).start()
        click.echo(smtp_status(services))
    if workers:
        _serve_with_gunicorn(config, given, workers)
        return
    from vigil.app import create_app

    app = create_app(config)
    if scoring is not None:
        attach_worker(app.server, scoring)  # ingest wakes it at once
    if config.debug:  # Werkzeug's reloader and debugger: for working on Vigil, never exposed
        app.run(host=config.host, port=config.port, debug=True)
        return
    _serve_with_waitress(app.server, config)


def _serve_with_waitress(server, config) -> None:
    """Serve in this process with waitress until Ctrl-C: requests are read without holding a
    thread, so slow or idle connections (closed after `idle_timeout_seconds`) cannot starve
    the threads that answer complete ones."""
    import waitress

    waitress.serve(
        server,
        host=config.host,
        port=config.port,
        threads=8,
        connection_limit=1000,
        channel_timeout=config.idle_timeout_seconds,
        cleanup_interval=min(30, config.idle_timeout_seconds),
        ident="Vigil",
        _quiet=True,
    )


@click.command()
@click.option(
    "--concurrency",
    type=click.IntRange(min=2),
    default=None,
    help="Worker processes (default: one a CPU, at least 2). Live scoring keeps one busy.",
)
@click.option("--data-dir", type=click.Path(path_type=Path), default=None)
def worker(concurrency: int | None, data_dir: Path | None) -> None:
    """Run a Celery worker: live scoring, alert delivery and the pages' long callbacks.

    Needs VIGIL_REDIS_URL, and the same VIGIL_DATABASE_URL and keys as the web servers. Start
    as many as the work needs, on any machine: scoring and delivery run once however many
    there are.
    """
    config = load_settings(data_dir=data_dir)
    if not config.redis_url:
        raise click.ClickException(
            "A worker takes its work from Redis: set VIGIL_REDIS_URL (redis://host:6379/0)."
        )
    make_private(config)
    database = opened_database(config)
    files = file_store(config)
    processes = concurrency or max(2, os.cpu_count() or 1)
    click.echo(
        f"Vigil worker: {processes} processes, work from {hide_password(config.redis_url)}, "
        f"state in {database.display}, files in {files.url}"
    )
    from vigil.app import create_app

    create_app(config)  # registers the pages' long callbacks as Celery tasks
    from vigil.workers.tasks import celery_app

    celery_app.worker_main(
        [
            "worker",
            "--loglevel=WARNING",
            f"--concurrency={processes}",
            "--without-gossip",
            # a name of its own, so workers on one host answer a ping (and monitoring) apart
            f"--hostname=vigil-{os.getpid()}@%h",
        ]
    )


def _serve_with_gunicorn(config, given: dict[str, object], workers: int) -> None:
    """Run gunicorn on `vigil.app:create_app()` (the app built once, then forked) until it ends
    or this process is told to stop. The settings given on the command line (`given`) reach
    it in its environment, over the rest of this one. Its workers only serve requests; the
    scoring process finds their points by polling the store."""
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "vigil.app:create_app()",
        "--preload",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        "4",
        "--timeout",
        "120",
        "--bind",
        f"{config.host}:{config.port}",
        "--no-control-socket",
    ]
    if config.debug:
        command += ["--access-logfile", "-"]
    server = subprocess.Popen(command, env={**os.environ, **_environment(given)})
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.wait()
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(30)


def _environment(given: dict[str, object]) -> dict[str, str]:
    """Settings given on the command line as the environment variables that say them."""
    return {
        f"VIGIL_{name.upper()}": str(value) for name, value in given.items() if value is not None
    }
