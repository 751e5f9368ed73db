"""The `vigil` command: serve the app, or detect anomalies in a file."""

from __future__ import annotations

import dataclasses
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import pandas as pd
import redis
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from vigil.alerting import alert_on_run, dispatch_due, outbox, smtp_status
from vigil.alerts.delivery import DeliveryWorker, deliver_due
from vigil.datasets import DatasetStore, content_id
from vigil.detection import DETECTORS, make_detector
from vigil.detection.episodes import episode_table
from vigil.detection.errors import DataError, VigilError
from vigil.detection.evaluation import per_series_day
from vigil.detection.io import RawTable, read_table
from vigil.detection.judge import Judgement, judge
from vigil.detection.labels import (
    align_labels,
    labels_from_column,
    labels_from_windows,
    windows_from_table,
)
from vigil.detection.models import apply_model, read_model, save_model
from vigil.detection.models import train as fit_model
from vigil.detection.quality import plural
from vigil.detection.schema import Schema, conventions, infer_schema
from vigil.detection.tidy import prepare, series_frame
from vigil.detection.timeformat import choose as choose_time_format
from vigil.export import to_csv_bytes, to_parquet_bytes
from vigil.live.client import ApiError
from vigil.live.demo import DemoStream
from vigil.live.points import check_series_name
from vigil.live.replay import parse_speed
from vigil.live.replay import replay as replay_points
from vigil.live_api import DEMO_TOKEN, attach_worker
from vigil.live_series import ScoringProcess
from vigil.mail_settings import smtp_config
from vigil.models import model_id_of, model_key
from vigil.private import private_data, private_umask
from vigil.results import ResultStore, RunSettings
from vigil.settings import load_settings, settings_problems
from vigil.storage.database import Database, hide_password, open_database
from vigil.storage.files import FileStore
from vigil.storage.migrations import check_tables, unknown_revision
from vigil.storage.migrations import current as current_revision
from vigil.storage.migrations import head as head_revision
from vigil.storage.migrations import known as known_revision
from vigil.times import UTC, known_zone
from vigil.tokens import DEFAULT_SCOPES, SCOPE_NOTES, TokenStore
from vigil.users import ROLE_NOTES, ROLES, UserStore


class VigilCommand(click.Group):
    """Turns Vigil's own errors into a one-line message and exit status 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except VigilError as error:
            click.echo(f"vigil: error: {error}", err=True)
            sys.exit(2)
        except ValidationError as error:  # a setting from the environment: one line each
            for line in settings_problems(error):
                click.echo(f"vigil: error: {line}", err=True)
            sys.exit(2)


@click.group(cls=VigilCommand)
@click.version_option(package_name="vigil")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Vigil: anomaly detection for time series.

    Data (data sets, models, the database, keys) is kept in the per-user data directory
    each command names first, on stderr, unless VIGIL_DATA_DIR (or --data-dir) says otherwise.
    """
    click.echo(_where(_option(ctx.args, "--data-dir")), err=True)


def _option(args: list[str], name: str) -> str | None:
    """The value a command's option is given among the arguments, None when not given."""
    for index, arg in enumerate(args):
        if arg == name and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(f"{name}="):
            return arg.split("=", 1)[1]
    return None


def _where(data_dir: str | None) -> str:
    """One line on the data directory and database a command uses (no password shown)."""
    try:
        config = load_settings(data_dir=data_dir)
    except ValidationError:
        return "vigil: the settings are not valid (the command says why)"
    return f"vigil: data in {config.data_dir}, database {hide_password(config.database_url)}"


@main.command()
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

    Live scoring runs in a process of its own and email delivery in a thread of this one, once
    however many web workers serve requests: no point is scored twice, no email sent twice.
    With VIGIL_REDIS_URL both run on Celery workers instead ('vigil worker').
    """
    for name, value in (("HOST", host), ("PORT", port), ("DATA_DIR", data_dir), ("DEBUG", debug)):
        if value is not None:
            os.environ[f"VIGIL_{name}"] = str(value)
    config = load_settings()
    _private(config)
    database = _database(config)
    files = _files(config)
    click.echo(
        f"Vigil is serving on http://{config.host}:{config.port} (files in {files.url}, "
        f"state in {database.display})"
        + (f" with {workers} gunicorn worker{'s' if workers != 1 else ''}" if workers else "")
    )
    if config.auth_required:
        users = UserStore(config.users_path).users()
        click.echo(
            f"Sign-in is on: {len(users)} user(s) in {config.users_path}"
            if users
            else "Sign-in is on and there is no user yet: add one with "
            "'vigil users add NAME --role admin'"
        )
    on_celery = bool(config.redis_url)
    scoring = ScoringProcess().start() if config.live_scoring and not on_celery else None
    if on_celery:
        click.echo(
            "Live scoring, alert delivery and long callbacks run on Celery workers through "
            f"{hide_password(config.redis_url)}: start one or more with 'vigil worker'"
        )
        from vigil.tasks import start_chains

        try:
            start_chains()
        except redis.RedisError as error:
            raise click.ClickException(
                f"Cannot reach Redis at {hide_password(config.redis_url)}: {error}"
            ) from None
    demo_token = secrets.token_urlsafe(24) if config.demo else None
    if demo_token is not None:
        os.environ[DEMO_TOKEN] = demo_token  # the app accepts it, in this process or gunicorn's
        DemoStream(f"http://127.0.0.1:{config.port}", demo_token).start()
        click.echo("Streaming demo series to the Live page")
    if not on_celery:
        # the email server may be set later, on the Admin page: each round asks
        DeliveryWorker(
            outbox(config),
            lambda: smtp_config(config),
            before_round=lambda: dispatch_due(config),
        ).start()
        click.echo(smtp_status(config))
    if workers:
        _serve_with_gunicorn(config, workers)
        return
    from vigil.app import app  # imported here: building the app reads the settings just set

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


@main.command()
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
    if data_dir is not None:
        os.environ["VIGIL_DATA_DIR"] = str(data_dir)
    config = load_settings()
    if not config.redis_url:
        raise click.ClickException(
            "A worker takes its work from Redis: set VIGIL_REDIS_URL (redis://host:6379/0)."
        )
    _private(config)
    database = _database(config)
    files = _files(config)
    processes = concurrency or max(2, os.cpu_count() or 1)
    click.echo(
        f"Vigil worker: {processes} processes, work from {hide_password(config.redis_url)}, "
        f"state in {database.display}, files in {files.url}"
    )
    import vigil.app  # noqa: F401  (registers the pages' long callbacks as Celery tasks)
    from vigil.tasks import celery_app

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


def _serve_with_gunicorn(config, workers: int) -> None:
    """Run gunicorn on `vigil.app:server` (the app built once, then forked) until it ends or this
    process is told to stop. Its workers only serve requests; the scoring process finds
    their points by polling the store."""
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "vigil.app:server",
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
    server = subprocess.Popen(command)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.wait()
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(30)


def _read(path: Path) -> RawTable:
    config = load_settings()
    return read_table(path, path.name, max_bytes=config.max_upload_bytes, max_rows=config.max_rows)


def _schema(
    raw: RawTable,
    time_column: str | None,
    value_columns: tuple[str, ...],
    series_column: str | None,
    date_format: str | None = None,
    time_zone: str = UTC,
) -> Schema:
    """The columns (and date format, and the zone of times written without one) asked for on
    the command line, the rest found by themselves."""
    guessed = infer_schema(raw)
    chosen_time = time_column or guessed.time_column
    if chosen_time not in raw.frame.columns:
        raise DataError(f"The file has no column named '{chosen_time}'.")
    time_format, reason = guessed.time_format, guessed.time_format_reason
    if date_format:
        found = choose_time_format(raw.frame[chosen_time], date_format, conventions(raw))
        time_format, reason = found.pattern, ""
    elif chosen_time != guessed.time_column:
        time_format, reason = None, ""  # found from that column's cells when read
    return Schema(
        chosen_time,
        tuple(value_columns) or guessed.value_columns,
        series_column if series_column is not None else guessed.series_column,
        time_format,
        reason,
        time_zone,
    )


date_format_option = click.option(
    "--date-format",
    default=None,
    metavar="FORMAT",
    help="How the time column writes dates: day-first, month-first, or a pattern such as "
    "'%d.%m.%Y %H:%M' (found from the cells if omitted).",
)


def _checked_zone(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str:
    try:
        return known_zone(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


timezone_option = click.option(
    "--timezone",
    "time_zone",
    default=UTC,
    show_default=True,
    metavar="ZONE",
    callback=_checked_zone,
    help="The IANA time zone of times written without one, such as Europe/Berlin; times with "
    "an offset or Z keep their own. Written times are always UTC, ending in Z.",
)


def _parse_params(pairs: tuple[str, ...]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--param")
        params[key.strip()] = value.strip()
    return params


@main.command()
@click.argument(
    "input_path", metavar="INPUT", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--detector",
    "-d",
    type=click.Choice(list(DETECTORS)),
    default="auto",
    show_default=True,
    help="Which detector to run.",
)
@click.option(
    "--param",
    "-p",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="A detector parameter; repeat for several.",
)
@click.option(
    "--time-column",
    default=None,
    help="Column holding the timestamps (found by itself if omitted).",
)
@click.option(
    "--value-column",
    "value_columns",
    multiple=True,
    help="Column of values to score; repeat for several (default: every numeric column).",
)
@click.option("--series-column", default=None, help="Column naming the series, for long files.")
@date_format_option
@timezone_option
@click.option(
    "--online",
    is_flag=True,
    help="Score each point from the points before it only, as a live stream is scored.",
)
@click.option(
    "--model",
    "model_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Apply a model saved by `vigil train` instead of fitting a detector.",
)
@click.option(
    "--alert",
    is_flag=True,
    help="Send the anomaly episodes through the alert rules and email what is due.",
)
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the scored rows (.csv or .parquet).",
)
@click.option(
    "--episodes",
    "episodes_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write one row per episode (a run of flagged points): span, peak, reason "
    "(.csv or .parquet).",
)
def detect(
    input_path: Path,
    detector: str,
    params: tuple[str, ...],
    time_column: str | None,
    value_columns: tuple[str, ...],
    series_column: str | None,
    date_format: str | None,
    time_zone: str,
    online: bool,
    model_path: Path | None,
    alert: bool,
    output: Path,
    episodes_path: Path | None,
) -> None:
    """Score every row of INPUT and write the ScoredFrame columns to OUTPUT."""
    if model_path is not None and (params or online):
        raise click.UsageError("A saved model keeps its own parameters and runs in batch mode.")
    raw = _read(input_path)
    if model_path is not None:
        model, info = read_model(model_path, model_key(load_settings()))
        detector = info.detector
    else:
        model, info = make_detector(detector, _parse_params(params)), None
    schema = _schema(raw, time_column, value_columns, series_column, date_format, time_zone)
    tidy, report = prepare(raw, schema)
    names = report.series
    if info is not None and not value_columns:
        if info.series not in names:
            raise DataError(
                f"This model was trained on the series '{info.series}'; the file has no series "
                f"of that name (it has {', '.join(map(repr, names[:5]))}). Name one with "
                "--value-column to apply the model to it anyway."
            )
        names = [info.series]
    for finding in report.findings:
        if finding.level == "warning":
            click.echo(f"note: {finding.message}", err=True)
    started = time.perf_counter()
    parts, episode_parts = [], []
    alerted: list[tuple[str, pd.DataFrame]] = []
    for name in names:
        frame = series_frame(tidy, name)
        if info is not None:
            scored = apply_model(model, info, frame)
        else:
            scored = model.detect(frame, online=online)
        learning = _learning_rows(scored)
        episodes = episode_table(scored)
        if len(names) > 1:
            scored.insert(0, "series", name)
            episodes.insert(0, "series", name)
        parts.append(scored)
        episode_parts.append(episodes)
        flagged = int(scored["is_anomaly"].sum())
        worst = scored["severity"].max()
        learnt = f"; the first {plural(learning, 'point')} learnt from, not judged"
        click.echo(
            f"{name}: {plural(len(scored), 'point')}, {plural(len(episodes), 'episode')} "
            f"of {plural(flagged, 'flagged point')} (highest severity {worst:.2f})"
            + (learnt if learning else "")
        )
        if alert:
            alerted.append((name, scored.drop(columns="series", errors="ignore")))
    result = pd.concat(parts, ignore_index=True)
    _write_table(result, output)
    if episodes_path is not None:
        _write_table(pd.concat(episode_parts, ignore_index=True), episodes_path)
    seconds = time.perf_counter() - started
    used = DETECTORS[detector].label + (f", model {model_path.name}" if model_path else "")
    click.echo(f"Wrote {len(result):,} rows to {output} ({used}, {seconds:.2f} s).")
    if alert:
        model_id = model_id_of(model_path.read_bytes()) if model_path else None
        watched_by = f"model:{model_id}" if model_id else detector
        params = {"model": model_id} if model_id else model.get_params()
        _send_alerts(input_path, alerted, watched_by, (detector, params, online, seconds))


def _learning_rows(scored: pd.DataFrame) -> int:
    """The leading points the detector learnt from without judging them (no severity), or
    online scoring's warm-up, whichever is longer."""
    judged = scored["severity"].notna().to_numpy()
    leading = int(judged.argmax()) if judged.any() else len(scored)
    return max(leading, int(scored.attrs.get("warmup_rows", 0)))


def _write_table(frame: pd.DataFrame, path: Path) -> None:
    """Write a frame as Parquet (a .parquet path) or CSV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(to_parquet_bytes(frame) if path.suffix == ".parquet" else to_csv_bytes(frame))


def _send_alerts(
    input_path: Path,
    alerted: list[tuple[str, pd.DataFrame]],
    detector: str,
    run: tuple[str, dict, bool, float],
) -> None:
    """Record a run's anomaly episodes under the alert rules, queue what is due, deliver it.
    The file is kept as a data set and each series' scores as a stored result (`run`: the
    detector, its parameters, online or not, and the seconds it took), so the emails' links
    open the result as computed."""
    config = load_settings()
    store = DatasetStore(
        _files(config),
        _database(config),
        max_bytes=config.max_upload_bytes,
        max_rows=config.max_rows,
    )
    info = store.add(input_path.read_bytes(), input_path.name)[0]
    dataset = info.id
    results = ResultStore(_files(config))
    name_of_run, params, online, seconds = run
    for name, scored in alerted:
        settings = RunSettings(
            dataset, info.name, name, name_of_run, params, info.schema.to_dict(), online=online
        )
        results.save(settings, scored, seconds)
        watching, recorded, emails = alert_on_run(
            config, scored, name, dataset, detector, result=settings
        )
        new = plural(recorded, "new anomaly episode")
        click.echo(
            f"{name}: {plural(watching, 'rule')} watching, {new}, {plural(emails, 'email')} queued."
        )
    _deliver(config)


def _deliver(config) -> None:
    box = outbox(config)
    smtp = smtp_config(config)
    if smtp is None:
        pending = box.counts()["pending"]
        click.echo(f"No SMTP server is set (VIGIL_SMTP_HOST): {pending} emails wait in the outbox.")
        return
    report = deliver_due(box, smtp)
    counts = box.counts()
    click.echo(
        f"Sent {plural(report.sent, 'email')}; {counts['pending']} still pending"
        f" ({report.retrying} just now failed and will be retried), {counts['failed']} failed."
    )


@main.command()
@click.argument(
    "input_path", metavar="INPUT", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--detector",
    "-d",
    type=click.Choice(list(DETECTORS)),
    default="auto",
    show_default=True,
    help="Which detector to train.",
)
@click.option(
    "--param", "-p", "params", multiple=True, metavar="KEY=VALUE", help="A detector parameter."
)
@click.option("--time-column", default=None, help="Column holding the timestamps.")
@date_format_option
@timezone_option
@click.option(
    "--value-column", default=None, help="The series to learn (needed when there are several)."
)
@click.option(
    "--model",
    "model_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to save the model (.vigil).",
)
def train(
    input_path: Path,
    detector: str,
    params: tuple[str, ...],
    time_column: str | None,
    date_format: str | None,
    time_zone: str,
    value_column: str | None,
    model_path: Path,
) -> None:
    """Fit a detector on a series of INPUT and save it, to detect on new data later."""
    model = make_detector(detector, _parse_params(params))
    data = input_path.read_bytes()
    raw = _read(input_path)
    chosen = (value_column,) if value_column else ()
    schema = _schema(raw, time_column, chosen, None, date_format, time_zone)
    tidy, report = prepare(raw, schema)
    if len(report.series) > 1:
        raise DataError(
            f"The file has {len(report.series)} series ({', '.join(report.series[:5])}); choose "
            "the one to learn with --value-column."
        )
    (name,) = report.series
    frame = series_frame(tidy, name)
    info = fit_model(model, frame, series=name, dataset=content_id(data))
    save_model(model, info, model_path, model_key(load_settings()))
    click.echo(
        f"Trained {DETECTORS[detector].label} on {plural(len(frame), 'point')} of {name} "
        f"({info.training_start} to {info.training_end}); saved to {model_path}."
    )


@main.command()
@click.argument(
    "input_path", metavar="INPUT", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--label-column", default=None, help="Column of 0/1 labels (1 = anomaly).")
@click.option(
    "--windows",
    "windows_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A CSV of anomaly windows instead: a start and an end timestamp per row.",
)
@click.option(
    "--detector",
    "-d",
    "detectors",
    multiple=True,
    type=click.Choice(list(DETECTORS)),
    help="A detector to judge; repeat for several (default: all).",
)
@click.option("--time-column", default=None, help="Column holding the timestamps.")
@date_format_option
@timezone_option
@click.option(
    "--value-column", "value_columns", multiple=True, help="Column to score; repeat for several."
)
@click.option("--online", is_flag=True, help="Judge the detectors' online (causal) mode.")
@click.option(
    "--budget",
    type=click.FloatRange(min=0),
    default=None,
    help="An alert budget in alerts a day (a run of consecutive flags is one alert): also "
    "show the threshold that keeps to it and the event recall there.",
)
def evaluate(
    input_path: Path,
    label_column: str | None,
    windows_path: Path | None,
    detectors: tuple[str, ...],
    time_column: str | None,
    date_format: str | None,
    time_zone: str,
    value_columns: tuple[str, ...],
    online: bool,
    budget: float | None,
) -> None:
    """Judge detectors on INPUT's labels: point-wise and event-wise precision, recall, F1,
    labelled windows found and false episodes a day (runs of flags touching no labelled
    anomaly; with several series, also per series-day)."""
    if (label_column is None) == (windows_path is None):
        raise click.UsageError("Give either --label-column or --windows.")
    raw = _read(input_path)
    schema = _schema(raw, time_column, value_columns, None, date_format, time_zone)
    if schema.series_column:
        raise DataError(
            f"Evaluation reads one column per series; this file names its series in "
            f"'{schema.series_column}'."
        )
    watched = tuple(c for c in schema.value_columns if c != label_column)
    if not watched:
        raise DataError("Besides the labels there is no column of values to score.")
    if label_column is not None:
        labels = labels_from_column(
            raw,
            schema.time_column,
            label_column,
            time_format=schema.time_format,
            time_zone=schema.time_zone,
        )
    else:
        windows = windows_from_table(_read(windows_path), schema.time_zone)
    tidy, _ = prepare(raw, dataclasses.replace(schema, value_columns=watched))
    header = (
        f"{'detector':<10} {'series':<24} {'point P':>8} {'R':>6} {'F1':>6}  "
        f"{'event P':>8} {'R':>6} {'F1':>6}  {'found':>7} {'false/day':>9}"
    )
    if budget is not None:
        header += f"  {'budget thr':>10} {'recall':>6}"
    click.echo(header)
    judged: dict[str, list[Judgement]] = {}
    for name in watched:
        frame = series_frame(tidy, name)
        if label_column is None:
            labels = labels_from_windows(frame["timestamp"], windows)
        truth = align_labels(labels, frame["timestamp"])
        chosen = detectors or tuple(DETECTORS)
        for j in judge(frame, truth, chosen, online=online, per_day=budget):
            line = (
                f"{j.detector:<10} {name[:24]:<24} {j.point.precision:>8.2f} "
                f"{j.point.recall:>6.2f} {j.point.f1:>6.2f}  {j.event.precision:>8.2f} "
                f"{j.event.recall:>6.2f} {j.event.f1:>6.2f}  {_found([j]):>7} "
                f"{_rate(j.false_per_day):>9}"
            )
            if j.budget is not None:
                recall = "" if j.at_budget is None else f"{j.at_budget.recall:.2f}"
                line += f"  {j.budget_threshold_text:>10} {recall:>6}"
            click.echo(line)
            judged.setdefault(j.detector, []).append(j)
    if len(watched) > 1:
        days = per_series_day(j.episodes for j in next(iter(judged.values()))).days
        click.echo(f"\nOver {len(watched)} series ({days:,.1f} series-days):")
        for detector, judgements in judged.items():
            counts = per_series_day(j.episodes for j in judgements)
            click.echo(
                f"{detector:<10} windows found {_found(judgements)}, false episodes "
                f"{counts.false} = {_rate(counts.false_per_day)} per series-day"
            )


def _found(judgements: list[Judgement]) -> str:
    """Labelled windows found, of all, over one or several series."""
    found = sum(j.event.true_positives for j in judgements)
    return f"{found}/{found + sum(j.event.false_negatives for j in judgements)}"


def _rate(per_day: float) -> str:
    """A rate a day, or n/a for a series that spans no time."""
    return "n/a" if pd.isna(per_day) else f"{per_day:.2f}"


@main.group()
def alerts() -> None:
    """Email alerts: deliver what is waiting in the outbox."""


@alerts.command()
def flush() -> None:
    """Queue the alerts that are due and deliver what is waiting; print what was sent and
    what waits."""
    config = load_settings()
    if smtp_config(config) is None:
        raise DataError(
            "No SMTP server is set: set VIGIL_SMTP_HOST (and its friends) or set one on the "
            "Admin page first."
        )
    try:
        dispatch_due(config)
    except Exception as error:  # what is in the outbox still goes
        click.echo(
            f"Queueing the alerts that are due failed ({type(error).__name__}: {error}); "
            "delivering what waits in the outbox anyway.",
            err=True,
        )
    _deliver(config)


@main.command()
@click.argument(
    "input_path", metavar="FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--series", "series", required=True, help="Live series to send the points to.")
@click.option(
    "--value-column",
    default=None,
    help="Column of values to send (default: the only numeric column, or the one named --series).",
)
@click.option("--time-column", default=None, help="Column of timestamps (found if omitted).")
@date_format_option
@timezone_option
@click.option(
    "--speed",
    default="max",
    show_default=True,
    help="How fast to replay: 60x sends an hour of data a minute; max sends at once.",
)
@click.option("--url", default="http://127.0.0.1:8050", show_default=True, help="Vigil's address.")
@click.option(
    "--token",
    envvar="VIGIL_API_TOKEN",
    required=True,
    help="An ingest API token (or VIGIL_API_TOKEN).",
)
@click.option(
    "--batch", default=1000, show_default=True, help="Most points a request carries (≤ 10,000)."
)
def replay(
    input_path: Path,
    series: str,
    value_column: str | None,
    time_column: str | None,
    date_format: str | None,
    time_zone: str,
    speed: str,
    url: str,
    token: str,
    batch: int,
) -> None:
    """Replay a CSV (or Parquet) series into a running Vigil's ingest API."""
    try:
        factor = parse_speed(speed)
        series = check_series_name(series)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    raw = _read(input_path)
    chosen = (value_column,) if value_column else ()
    schema = _schema(raw, time_column, chosen, None, date_format, time_zone)
    tidy, report = prepare(raw, schema)
    names = report.series
    if value_column is None and len(names) > 1:
        if series not in names:
            raise DataError(
                f"The file has {len(names)} series ({', '.join(map(repr, names[:5]))}): "
                "name the one to send with --value-column."
            )
        names = [series]
    frame = series_frame(tidy, names[0])
    pace = "as fast as the API takes them" if factor is None else f"at {factor:g}x"
    click.echo(f"Replaying {plural(len(frame), 'point')} of {names[0]} into {series}, {pace}")
    try:
        done = replay_points(frame, series=series, url=url, token=token, speed=factor, batch=batch)
    except ApiError as error:
        raise DataError(str(error)) from None
    click.echo(
        f"Sent {plural(done.sent, 'point')} in {plural(done.requests, 'request')}: "
        f"{done.accepted:,} accepted, {done.duplicates:,} already there, "
        f"{done.rejected:,} refused"
    )


@main.group()
def users() -> None:
    """Who may sign in, with which role (viewer, analyst or admin)."""


@users.command("add")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(ROLES),
    default="viewer",
    show_default=True,
    help="; ".join(f"{role}: {note}" for role, note in ROLE_NOTES.items()),
)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (for scripts)."
)
def users_add(name: str, role: str, password_stdin: bool) -> None:
    """Add a user, or give a known one a new password and role."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    store = UserStore(load_settings().users_path)
    known = store.get(name) is not None
    user = store.add(name, password, role)
    click.echo(f"{'Updated' if known else 'Added'} {user.name} ({user.role}) in {store.path}")


@users.command("remove")
@click.argument("name")
def users_remove(name: str) -> None:
    """Remove a user; they are signed out at their next request."""
    store = UserStore(load_settings().users_path)
    store.remove(name)
    click.echo(f"Removed {name}")


@users.command("list")
def users_list() -> None:
    """The users and their roles."""
    store = UserStore(load_settings().users_path)
    listed = store.users()
    if not listed:
        click.echo(
            f"No users yet ({store.path}): add one with 'vigil users add NAME --role admin'."
        )
    for user in listed:
        click.echo(f"{user.name}\t{user.role}")


def _private(config) -> None:
    """Serve with files only their owner can read; say what had to be made private."""
    private_umask()
    fixed = private_data(config.data_dir, config.files_url)
    if fixed:
        click.echo(
            f"Made {len(fixed)} file(s) in {config.data_dir} readable by their owner only "
            "(others could read them)",
            err=True,
        )


def _database(config) -> Database:
    """The database in the settings, upgraded; a clear message when it cannot be reached."""
    try:
        return open_database(config.database_url)
    except (SQLAlchemyError, ValueError) as error:
        raise _cannot_open(config.database_url, error) from None


def _cannot_open(url: str, error: Exception) -> click.ClickException:
    """One line on why the database at `url` cannot be used, its password hidden."""
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    return click.ClickException(f"Cannot open the database {hide_password(url)}: {reason}")


def _files(config) -> FileStore:
    """The file store in the settings; a clear message when it cannot be used."""
    try:
        return FileStore(config.files_url)
    except ValueError as error:
        raise click.ClickException(str(error)) from None


def _token_store() -> TokenStore:
    return TokenStore(_database(load_settings()))


@main.group()
def db() -> None:
    """The database Vigil keeps its state in (VIGIL_DATABASE_URL)."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Make or upgrade the schema (Vigil also does it when it starts)."""
    database = _database(load_settings())
    click.echo(f"{database.display} is at revision {current_revision(database)} (the newest).")


@db.command("current")
def db_current() -> None:
    """Say which schema revision the database is at."""
    config = load_settings()
    try:
        database = Database(config.database_url)
        revision = current_revision(database)
    except (SQLAlchemyError, ValueError) as error:
        raise _cannot_open(config.database_url, error) from None
    newest = head_revision()
    if revision is not None and not known_revision(revision):
        raise DataError(unknown_revision(database, revision))
    state = (
        "no schema yet ('vigil db upgrade' makes it)"
        if revision is None
        else f"revision {revision}"
        + (" (the newest)" if revision == newest else f", older than {newest}")
    )
    click.echo(f"{database.display}: {state}")
    if revision == newest:
        check_tables(database)


@main.group()
def tokens() -> None:
    """Ingest API tokens, made and revoked here or on the Admin page."""


@tokens.command("add")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    default=",".join(DEFAULT_SCOPES),
    show_default=True,
    help="What the token may do, comma-separated: "
    + "; ".join(f"{scope}: {note}" for scope, note in SCOPE_NOTES.items())
    + ".",
)
def tokens_add(name: str, scopes: str) -> None:
    """Make a token for NAME (what will use it); it is printed this once."""
    record, token = _token_store().create(name, "vigil tokens", scopes=scopes)
    click.echo(
        f"Made token {record.id} for {record.name} ({', '.join(record.scopes)}); "
        "it is not shown again:"
    )
    click.echo(token)


@tokens.command("list")
def tokens_list() -> None:
    """The tokens made here (their first characters only)."""
    for token in _token_store().tokens():
        state = "active" if token.active else "revoked"
        click.echo(f"{token.id}\t{token.hint}…\t{state}\t{','.join(token.scopes)}\t{token.name}")


@tokens.command("revoke")
@click.argument("token_id", type=int)
def tokens_revoke(token_id: int) -> None:
    """Refuse token TOKEN_ID from now on."""
    revoked = _token_store().revoke(token_id)
    click.echo(f"Revoked token {revoked.id} for {revoked.name}")


if __name__ == "__main__":
    main()
