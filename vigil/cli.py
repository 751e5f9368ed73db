"""The `vigil` command: serve the app, or detect anomalies in a file."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click
import pandas as pd

from detection import DETECTORS, make_detector
from detection.errors import VigilError
from detection.io import read_table
from detection.quality import plural
from detection.schema import Schema, infer_schema
from detection.tidy import prepare, series_frame
from vigil.export import to_csv_bytes, to_parquet_bytes
from vigil.settings import load_settings


class VigilCommand(click.Group):
    """Turns Vigil's own errors into a one-line message and exit status 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except VigilError as error:
            click.echo(f"vigil: error: {error}", err=True)
            sys.exit(2)


@click.group(cls=VigilCommand)
@click.version_option(package_name="vigil")
def main() -> None:
    """Vigil: anomaly detection for time series."""


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
def run(host: str | None, port: int | None, data_dir: Path | None, debug: bool | None) -> None:
    """Serve the Vigil app."""
    for name, value in (("HOST", host), ("PORT", port), ("DATA_DIR", data_dir), ("DEBUG", debug)):
        if value is not None:
            os.environ[f"VIGIL_{name}"] = str(value)
    config = load_settings()
    from app import app  # imported here: building the app reads the settings just set

    click.echo(
        f"Vigil is serving on http://{config.host}:{config.port} (data in {config.data_dir})"
    )
    app.run(host=config.host, port=config.port, debug=config.debug)


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
    default="stl",
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
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the scored rows (.csv or .parquet).",
)
def detect(
    input_path: Path,
    detector: str,
    params: tuple[str, ...],
    time_column: str | None,
    value_columns: tuple[str, ...],
    series_column: str | None,
    output: Path,
) -> None:
    """Score every row of INPUT and write the ScoredFrame columns to OUTPUT."""
    config = load_settings()
    model = make_detector(detector, _parse_params(params))
    raw = read_table(
        input_path, input_path.name, max_bytes=config.max_upload_bytes, max_rows=config.max_rows
    )
    guessed = None if (time_column and value_columns) else infer_schema(raw)
    schema = Schema(
        time_column or guessed.time_column,
        tuple(value_columns) or guessed.value_columns,
        series_column
        if series_column is not None
        else (guessed.series_column if guessed else None),
    )
    tidy, report = prepare(raw, schema)
    for finding in report.findings:
        if finding.level == "warning":
            click.echo(f"note: {finding.message}", err=True)
    started = time.perf_counter()
    parts = []
    for name in report.series:
        scored = model.fit_score(series_frame(tidy, name))
        if len(report.series) > 1:
            scored.insert(0, "series", name)
        parts.append(scored)
        flagged = int(scored["is_anomaly"].sum())
        worst = scored["severity"].max()
        click.echo(
            f"{name}: {plural(len(scored), 'point')}, {plural(flagged, 'anomaly')} "
            f"(highest severity {worst:.2f})"
        )
    result = pd.concat(parts, ignore_index=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    data = to_parquet_bytes(result) if output.suffix == ".parquet" else to_csv_bytes(result)
    output.write_bytes(data)
    seconds = time.perf_counter() - started
    click.echo(
        f"Wrote {len(result):,} rows to {output} ({DETECTORS[detector].label}, {seconds:.2f} s)."
    )


if __name__ == "__main__":
    main()
