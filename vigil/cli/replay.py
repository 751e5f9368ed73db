"""`vigil replay`: send a file's series into a running Vigil's ingest API."""

from __future__ import annotations

from pathlib import Path

import click

from vigil.cli.common import date_format_option, read_file, schema_for, timezone_option
from vigil.client.api import ApiError
from vigil.client.replay import parse_speed
from vigil.client.replay import replay as replay_points
from vigil.detection.errors import DataError
from vigil.detection.quality import plural
from vigil.detection.tidy import prepare, series_frame
from vigil.live.points import check_series_name


@click.command()
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
    raw = read_file(input_path)
    chosen = (value_column,) if value_column else ()
    schema = schema_for(raw, time_column, chosen, None, date_format, time_zone)
    tidy, report = prepare(raw, schema)
    names = report.series
    if value_column is None and len(names) > 1:
        if series not in names:
            raise DataError(
                f"The file has {len(names)} series ({', '.join(map(repr, names[:5]))}): "
                "name the one to send with --value-column."
            )
        names = (series,)
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
