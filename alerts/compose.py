"""Alert emails: a subject that says what and where, a plain-text and an HTML part with every
piece of user text escaped, and the series around the anomaly as an inline PNG."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from urllib.parse import urlencode

import jinja2
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from detection.explain import number

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
    undefined=jinja2.StrictUndefined,
)
CHART_SIZE = (700, 300)


@dataclass(frozen=True)
class AlertPoint:
    """One flagged point, as an alert email lists it."""

    timestamp: pd.Timestamp
    value: float
    expected: float
    severity: float
    explanation: str

    @property
    def when(self) -> str:
        return f"{pd.Timestamp(self.timestamp):%Y-%m-%d %H:%M:%S}"

    @property
    def value_text(self) -> str:
        return number(self.value)

    @property
    def expected_text(self) -> str:
        return number(self.expected)


def headline(series: str, points: Sequence[AlertPoint], more: int = 0) -> str:
    """What happened and where, for the subject and the first line."""
    worst = max(points, key=lambda point: point.severity)
    if len(points) + more == 1:
        return (
            f"Anomaly in {series}: {worst.value_text} where {worst.expected_text} was expected "
            f"({worst.when})"
        )
    return (
        f"{len(points) + more} anomalies in {series}, the worst {worst.value_text} where "
        f"{worst.expected_text} was expected ({worst.when})"
    )


def chart_png(context: pd.DataFrame, points: Sequence[AlertPoint], series: str) -> bytes:
    """The series around the anomalies, with the expected band and the flagged points."""
    figure = go.Figure()
    if context["upper"].notna().any():
        figure.add_scatter(
            x=pd.concat([context["timestamp"], context["timestamp"][::-1]]),
            y=pd.concat([context["upper"], context["lower"][::-1]]),
            fill="toself",
            fillcolor="rgba(108,117,125,0.18)",
            line={"width": 0},
            name="expected band",
            hoverinfo="skip",
        )
    figure.add_scatter(
        x=context["timestamp"],
        y=context["value"],
        mode="lines",
        name=series,
        line={"color": "#1f4e79", "width": 1.5},
    )
    figure.add_scatter(
        x=[point.timestamp for point in points],
        y=[point.value for point in points],
        mode="markers",
        name="anomaly",
        marker={"color": "#c0392b", "size": 9, "line": {"color": "white", "width": 1}},
    )
    width, height = CHART_SIZE
    figure.update_layout(
        template="plotly_white",
        width=width,
        height=height,
        margin={"l": 50, "r": 10, "t": 10, "b": 40},
        showlegend=False,
    )
    return pio.to_image(figure, format="png", width=width, height=height)


#: The data set name alerts on live series carry: their links open the Live page.
LIVE = "live"


def analyze_url(public_url: str, dataset: str, series: str, at: pd.Timestamp | None = None) -> str:
    """The page showing a series, centred on `at` when given: the Analyze page for a data
    set's series, the Live page for a live series."""
    fields = {"series": series} if dataset == LIVE else {"dataset": dataset, "series": series}
    if at is not None:
        fields["at"] = f"{pd.Timestamp(at):%Y-%m-%dT%H:%M:%S}"
    page = "live" if dataset == LIVE else "analyze"
    return f"{public_url.rstrip('/')}/{page}?{urlencode(fields)}"


def _message(subject: str, sender: str, recipients: Sequence[str]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Message-ID"] = make_msgid(domain="vigil.local")
    return message


def compose_resolved(
    *,
    rule: str,
    series: str,
    dataset: str,
    quiet_since: pd.Timestamp,
    recipients: Sequence[str],
    sender: str,
    public_url: str,
) -> EmailMessage:
    """The one email that says an alert is over."""
    values = {
        "headline": f"Resolved: {series} has had no anomaly since {quiet_since:%Y-%m-%d %H:%M}",
        "series": series,
        "rule": rule,
        "analyze_url": analyze_url(public_url, dataset, series),
    }
    message = _message(f"[Vigil] {values['headline']}", sender, recipients)
    message.set_content(TEMPLATES.get_template("resolved.txt").render(**values))
    message.add_alternative(
        TEMPLATES.get_template("resolved.html").render(**values), subtype="html"
    )
    return message


def compose_alert(
    *,
    rule: str,
    series: str,
    dataset: str,
    points: Sequence[AlertPoint],
    recipients: Sequence[str],
    sender: str,
    public_url: str,
    context: pd.DataFrame | None = None,
    render: Callable[[pd.DataFrame, Sequence[AlertPoint], str], bytes] = chart_png,
    more: int = 0,
    first: pd.Timestamp | None = None,
    last: pd.Timestamp | None = None,
    mark_link: Callable[[AlertPoint], str] | None = None,
) -> EmailMessage:
    """One email about `points` of `series`; a grouped alert lists them, and says how many
    `more` were flagged between `first` and `last` when it lists only the most severe."""
    if not points:
        raise ValueError("an alert needs at least one point")
    ordered = sorted(points, key=lambda point: point.timestamp)
    values = {
        "headline": headline(series, ordered, more),
        "rows": [
            {"point": point, "mark": None if mark_link is None else mark_link(point)}
            for point in ordered
        ],
        "series": series,
        "rule": rule,
        "more": more,
        "first": f"{pd.Timestamp(first or ordered[0].timestamp):%Y-%m-%d %H:%M:%S}",
        "last": f"{pd.Timestamp(last or ordered[-1].timestamp):%Y-%m-%d %H:%M:%S}",
        "analyze_url": analyze_url(
            public_url, dataset, series, max(ordered, key=lambda p: p.severity).timestamp
        ),
    }
    message = _message(f"[Vigil] {values['headline']}", sender, recipients)
    message.set_content(TEMPLATES.get_template("alert.txt").render(**values, chart_cid=None))
    chart_cid = make_msgid(domain="vigil.local")[1:-1] if context is not None else None
    html = TEMPLATES.get_template("alert.html").render(**values, chart_cid=chart_cid)
    message.add_alternative(html, subtype="html")
    if chart_cid is not None:
        html_part = message.get_payload()[1]
        html_part.add_related(
            render(context, ordered, series), maintype="image", subtype="png", cid=f"<{chart_cid}>"
        )
    return message


def compose_test(*, recipients: Sequence[str], sender: str, public_url: str) -> EmailMessage:
    """A short email that proves the way to the recipients works."""
    message = _message("[Vigil] Test email: alerts reach you", sender, recipients)
    message.set_content(
        "This is a test email from Vigil. Alert emails will come the same way.\n\n"
        f"Vigil: {public_url}\n"
    )
    return message
