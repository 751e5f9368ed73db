"""`vigil evaluate`: judge detectors on a file's labels or anomaly windows."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click
import pandas as pd

from vigil.cli.common import date_format_option, read_file, schema_for, timezone_option
from vigil.detection import DETECTORS
from vigil.detection.errors import DataError
from vigil.detection.evaluation import per_series_day
from vigil.detection.judge import Judgement
from vigil.detection.labels import labels_from_column, windows_from_table
from vigil.detection.tidy import prepare, series_frame
from vigil.usecases.evaluate import judge_series


@click.command()
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
    raw = read_file(input_path)
    schema = schema_for(raw, time_column, value_columns, None, date_format, time_zone)
    if schema.series_column:
        raise DataError(
            f"Evaluation reads one column per series; this file names its series in "
            f"'{schema.series_column}'."
        )
    watched = tuple(c for c in schema.value_columns if c != label_column)
    if not watched:
        raise DataError("Besides the labels there is no column of values to score.")
    column_labels, windows = None, None
    if label_column is not None:
        column_labels = labels_from_column(
            raw,
            schema.time_column,
            label_column,
            time_format=schema.time_format,
            time_zone=schema.time_zone,
        )
    elif windows_path is not None:  # one of the two is given
        windows = windows_from_table(read_file(windows_path), schema.time_zone)
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
        chosen = detectors or tuple(DETECTORS)
        judgements = judge_series(
            frame,
            chosen,
            column_labels=column_labels,
            windows=windows,
            online=online,
            per_day=budget,
        )
        for j in judgements:
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
