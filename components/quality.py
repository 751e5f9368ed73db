"""The data-quality report as a card."""

from __future__ import annotations

import dash_bootstrap_components as dbc
import pandas as pd
from dash import html

from vigil.components.zones import minute_text
from vigil.detection import timeformat
from vigil.detection.quality import QualityReport
from vigil.times import UTC

_ICONS = {"warning": "⚠", "info": "•"}


def _fact(label: str, value: str) -> html.Div:
    return html.Div(
        [
            html.Div(label, className="vigil-fact-label"),
            html.Div(value, className="vigil-fact-value"),
        ],
        className="vigil-fact",
    )


def quality_card(report: QualityReport, name: str, zone: str = UTC) -> dbc.Card:
    """Rows, span, step and every finding, each with how it was handled; the first and last
    times in `zone` (the one times are shown in), named."""
    span = report.end - report.start
    facts = html.Div(
        [
            _fact("Lines", f"{report.lines if report.lines is not None else report.rows:,}"),
            _fact("Series", f"{len(report.series):,}"),
            _fact("From", minute_text(report.start, zone)),
            _fact("To", minute_text(report.end, zone)),
            _fact("Span", _span_words(span)),
            _fact("Step", report.frequency),
        ],
        className="vigil-facts",
    )
    if report.findings:
        items = [
            html.Li(
                [
                    html.Span(_ICONS.get(f.level, "•"), className=f"vigil-finding-icon {f.level}"),
                    f.message,
                ],
                className=f"vigil-finding {f.level}",
                **{"data-kind": f.kind},  # type: ignore[arg-type]  # a data-* attribute
            )
            for f in report.findings
        ]
        findings: html.Ul | html.P = html.Ul(items, className="vigil-findings", id="data-findings")
    else:
        findings = html.P(
            "No problems found: sorted, no duplicates, no gaps, no missing values.",
            className="text-success mb-0",
            id="data-findings",
        )
    return dbc.Card(
        [
            dbc.CardHeader(html.Strong(f"Data quality · {name}")),
            dbc.CardBody(
                [
                    facts,
                    html.H6("What was found and how it was handled", className="mt-3"),
                    findings,
                ]
            ),
        ],
        className="mb-3",
    )


def date_format_options(cells: pd.Series, current: str | None) -> list[dict]:
    """The date formats a time column could be read with, each shown with what its first
    cell becomes (`DD.MM.YYYY hh:mm: 01.02.2024 00:00 is 1 Feb 2024`)."""
    patterns = list(dict.fromkeys([p for p in (current,) if p]))
    patterns += [p for p in timeformat.candidate_patterns(cells) if p not in patterns]
    options = []
    for pattern in patterns:
        label = timeformat.readable(pattern)
        shown = timeformat.example(cells, pattern)
        if shown is not None:
            label += f": {shown[0]} is {timeformat.spoken(shown[1])}"
        options.append({"label": label, "value": pattern})
    return options


def _span_words(span) -> str:
    days = span.total_seconds() / 86_400
    if days >= 2:
        return f"{days:,.1f} days"
    hours = span.total_seconds() / 3600
    if hours >= 2:
        return f"{hours:,.1f} hours"
    return f"{span.total_seconds() / 60:,.1f} minutes"
