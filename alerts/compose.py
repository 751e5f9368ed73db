"""Alert emails: a subject that says how many anomaly episodes and where, a plain-text and an
HTML part listing each episode (span, peak, reason) with every piece of user text escaped, and
the series around the episodes as an inline PNG with their spans shaded."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from urllib.parse import urlencode

import jinja2
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from alerts.episodes import AlertEpisode, AlertPoint, when

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
    undefined=jinja2.StrictUndefined,
)
CHART_SIZE = (700, 300)
#: The data set name alerts on live series carry: their links open the Live page.
LIVE = "live"


def where(series: str, dataset: str, dataset_name: str | None = None) -> str:
    """The series and where it is from: 'cpu (data set ops.csv)', 'cpu (live)'."""
    if dataset == LIVE:
        return f"{series} (live)"
    return f"{series} (data set {dataset_name or dataset})"


def _peak(episode: AlertEpisode) -> str:
    return f"{episode.peak_text} ({episode.peak.when})"


def headline(place: str, episodes: Sequence[AlertEpisode], more: int = 0) -> str:
    """How many episodes, where, and the worst of them: for the subject and the first line."""
    worst = max(episodes, key=lambda episode: episode.peak.severity)
    count = len(episodes) + more
    if count == 1:
        return f"Anomaly episode in {place}: {_peak(worst)}"
    return f"{count} anomaly episodes in {place}, the worst {_peak(worst)}"


def resolved_headline(place: str, episodes: Sequence[AlertEpisode]) -> str:
    """Which episodes are over, and when the last one ended."""
    last = when(max(episode.end for episode in episodes))
    if len(episodes) == 1:
        return f"Resolved: the anomaly episode in {place} ended at {last}"
    return f"Resolved: {len(episodes)} anomaly episodes in {place} ended, the last at {last}"


def chart_png(context: pd.DataFrame, episodes: Sequence[AlertEpisode], series: str) -> bytes:
    """The series around the episodes: the expected band, the flagged points, each episode's
    span shaded and numbered as the email's table numbers it, and its peak ringed."""
    figure = go.Figure()
    times = pd.to_datetime(context["timestamp"])
    if "upper" in context and context["upper"].notna().any():
        figure.add_scatter(
            x=pd.concat([times, times[::-1]]),
            y=pd.concat([context["upper"], context["lower"][::-1]]),
            fill="toself",
            fillcolor="rgba(108,117,125,0.18)",
            line={"width": 0},
            name="expected band",
            hoverinfo="skip",
        )
    figure.add_scatter(
        x=times,
        y=context["value"],
        mode="lines",
        name=series,
        line={"color": "#1f4e79", "width": 1.5},
    )
    if "is_anomaly" in context:
        flagged = context[context["is_anomaly"].fillna(False).astype(bool)]
        figure.add_scatter(
            x=flagged["timestamp"],
            y=flagged["value"],
            mode="markers",
            name="flagged",
            marker={"color": "#c0392b", "size": 5},
        )
    # a span is at least a step wide, and wide enough to see (1/100 of the chart)
    step = times.diff().median() if len(times) > 1 else pd.Timedelta(0)
    seen = (times.max() - times.min()) / 100 if len(times) > 1 else pd.Timedelta(0)
    half = max(step if pd.notna(step) else pd.Timedelta(0), seen) / 2
    ordered = sorted(episodes, key=lambda episode: episode.start)
    for number, episode in enumerate(ordered, start=1):
        figure.add_vrect(
            x0=pd.Timestamp(episode.start) - half,
            x1=pd.Timestamp(episode.end) + half,
            fillcolor="rgba(192,57,43,0.22)",
            line_width=0,
            layer="below",
            annotation_text=f"#{number}",
            annotation_position="top left",
            annotation_font={"size": 11, "color": "#922b21"},
        )
    figure.add_scatter(
        x=[episode.peak.timestamp for episode in ordered],
        y=[episode.peak.value for episode in ordered],
        mode="markers",
        name="peak",
        marker={"color": "#c0392b", "size": 10, "line": {"color": "white", "width": 1.5}},
    )
    width, height = CHART_SIZE
    figure.update_layout(
        template="plotly_white",
        width=width,
        height=height,
        margin={"l": 50, "r": 10, "t": 20, "b": 40},
        showlegend=False,
    )
    return pio.to_image(figure, format="png", width=width, height=height)


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
    message["Subject"] = " ".join(subject.split())  # a name's line breaks cannot end a header
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Message-ID"] = make_msgid(domain="vigil.local")
    return message


def _rows(
    episodes: Sequence[AlertEpisode], mark_link: Callable[[AlertPoint], str] | None
) -> list[dict]:
    return [
        {
            "number": number,
            "episode": episode,
            "mark": None if mark_link is None else mark_link(episode.peak),
        }
        for number, episode in enumerate(episodes, start=1)
    ]


def compose_resolved(
    *,
    rule: str,
    series: str,
    dataset: str,
    episodes: Sequence[AlertEpisode],
    recipients: Sequence[str],
    sender: str,
    public_url: str,
    dataset_name: str | None = None,
) -> EmailMessage:
    """The one email that says an alert is over, naming the episodes that ended."""
    if not episodes:
        raise ValueError("a resolved email names at least one episode")
    ordered = sorted(episodes, key=lambda episode: episode.start)
    place = where(series, dataset, dataset_name)
    values = {
        "headline": resolved_headline(place, ordered),
        "place": place,
        "rows": _rows(ordered, None),
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
    episodes: Sequence[AlertEpisode],
    recipients: Sequence[str],
    sender: str,
    public_url: str,
    dataset_name: str | None = None,
    context: pd.DataFrame | None = None,
    render: Callable[[pd.DataFrame, Sequence[AlertEpisode], str], bytes] = chart_png,
    more: int = 0,
    first: pd.Timestamp | None = None,
    last: pd.Timestamp | None = None,
    mark_link: Callable[[AlertPoint], str] | None = None,
) -> EmailMessage:
    """One email about `episodes` of `series`: how many, where, and for each its span, peak
    and reason, with the series around them as an inline chart when `context` is given. When
    it lists only the most severe, it says how many `more` began between `first` and `last`.
    The "not an anomaly" link of an episode marks its peak."""
    if not episodes:
        raise ValueError("an alert needs at least one episode")
    ordered = sorted(episodes, key=lambda episode: episode.start)
    place = where(series, dataset, dataset_name)
    worst = max(ordered, key=lambda episode: episode.peak.severity)
    values = {
        "headline": headline(place, ordered, more),
        "place": place,
        "rows": _rows(ordered, mark_link),
        "going_on": any(episode.open for episode in ordered),
        "series": series,
        "rule": rule,
        "more": more,
        "first": when(first if first is not None else ordered[0].start),
        "last": when(last if last is not None else ordered[-1].start),
        "analyze_url": analyze_url(public_url, dataset, series, worst.peak.timestamp),
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
