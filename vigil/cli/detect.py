"""`vigil detect` and `vigil train`: score a file's series, or fit a model to apply later."""

from __future__ import annotations

import time
from pathlib import Path

import click
import pandas as pd

from vigil.cli.common import (
    date_format_option,
    deliver,
    parse_params,
    read_file,
    schema_for,
    services_for,
    timezone_option,
)
from vigil.detection import DETECTORS, make_detector
from vigil.detection.episodes import episode_table
from vigil.detection.errors import DataError
from vigil.detection.models import read_model, save_model
from vigil.detection.models import train as fit_model
from vigil.detection.quality import plural
from vigil.detection.tidy import prepare, series_frame
from vigil.settings import load_settings
from vigil.stores.datasets import content_id
from vigil.stores.models import model_id_of, model_key
from vigil.stores.results import RunSettings
from vigil.usecases.alerting import alert_on_run
from vigil.usecases.analysis import score_series
from vigil.usecases.export import export_bytes, format_of


@click.command()
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
    raw = read_file(input_path)
    if model_path is not None:
        model, info = read_model(model_path, model_key(load_settings()))
        detector = info.detector
    else:
        model, info = make_detector(detector, parse_params(params)), None
    schema = schema_for(raw, time_column, value_columns, series_column, date_format, time_zone)
    tidy, report = prepare(raw, schema)
    names = report.series
    if info is not None and not value_columns:
        if info.series not in names:
            raise DataError(
                f"This model was trained on the series '{info.series}'; the file has no series "
                f"of that name (it has {', '.join(map(repr, names[:5]))}). Name one with "
                "--value-column to apply the model to it anyway."
            )
        names = (info.series,)
    for finding in report.findings:
        if finding.level == "warning":
            click.echo(f"note: {finding.message}", err=True)
    started = time.perf_counter()
    parts, episode_parts = [], []
    alerted: list[tuple[str, pd.DataFrame]] = []
    for name in names:
        frame = series_frame(tidy, name)
        scored = score_series(model, info, frame, online=online)
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
        run_params: dict[str, object] = {"model": model_id} if model_id else model.get_params()
        _send_alerts(input_path, alerted, watched_by, (detector, run_params, online, seconds))


def _learning_rows(scored: pd.DataFrame) -> int:
    """The leading points the detector learnt from without judging them (no severity), or
    online scoring's warm-up, whichever is longer."""
    judged = scored["severity"].notna().to_numpy()
    leading = int(judged.argmax()) if judged.any() else len(scored)
    return max(leading, int(scored.attrs.get("warmup_rows", 0)))


def _write_table(frame: pd.DataFrame, path: Path) -> None:
    """Write a frame as Parquet (a .parquet path) or CSV, its times in UTC."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(export_bytes(frame, format_of(path)))


def _send_alerts(
    input_path: Path,
    alerted: list[tuple[str, pd.DataFrame]],
    detector: str,
    run: tuple[str, dict[str, object], bool, float],
) -> None:
    """Record a run's anomaly episodes under the alert rules, queue what is due, deliver it.
    The file is kept as a data set and each series' scores as a stored result (`run`: the
    detector, its parameters, online or not, and the seconds it took), so the emails' links
    open the result as computed."""
    services = services_for(load_settings())
    info = services.dataset_store.add(input_path.read_bytes(), input_path.name)[0]
    dataset = info.id
    results = services.result_store
    name_of_run, params, online, seconds = run
    for name, scored in alerted:
        settings = RunSettings(
            dataset, info.name, name, name_of_run, params, info.schema.to_dict(), online=online
        )
        results.save(settings, scored, seconds)
        watching, recorded, emails = alert_on_run(
            services, scored, name, dataset, detector, result=settings
        )
        new = plural(recorded, "new anomaly episode")
        click.echo(
            f"{name}: {plural(watching, 'rule')} watching, {new}, {plural(emails, 'email')} queued."
        )
    deliver(services)


@click.command()
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
    model = make_detector(detector, parse_params(params))
    data = input_path.read_bytes()
    raw = read_file(input_path)
    chosen = (value_column,) if value_column else ()
    schema = schema_for(raw, time_column, chosen, None, date_format, time_zone)
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
