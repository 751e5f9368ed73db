"""Alert emails: a subject that says how many anomaly episodes and where, a plain-text and an
HTML part listing each episode (span, peak, reason) with every piece of user text escaped, and
the series around the episodes as an inline PNG with their spans shaded."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from urllib.parse import urlencode

import jinja2
import pandas as pd

from alerts import chart
from alerts.episodes import AlertEpisode, AlertPoint, when

log = logging.getLogger(__name__)
TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
    undefined=jinja2.StrictUndefined,
)
Render = Callable[[pd.DataFrame, Sequence[AlertEpisode], str], bytes]
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


def _chart(
    context: pd.DataFrame | None, episodes: Sequence[AlertEpisode], series: str, render: Render
) -> bytes | None:
    """The chart's PNG; None without rows, or when it cannot be drawn (the email goes without:
    a chart is worth less than the alert)."""
    if context is None or context.empty:
        return None
    try:
        return render(context, episodes, series)
    except Exception:  # the renderer (kaleido drives a browser) may fail in many ways
        log.exception("the chart of an alert about %s could not be drawn", series)
        return None


def _fill(message: EmailMessage, template: str, values: dict, image: bytes | None) -> None:
    """The plain-text part, the HTML part, and the chart inline in the HTML when there is one."""
    chart_cid = None if image is None else make_msgid(domain="vigil.local")[1:-1]
    message.set_content(TEMPLATES.get_template(f"{template}.txt").render(**values))
    html = TEMPLATES.get_template(f"{template}.html").render(**values, chart_cid=chart_cid)
    message.add_alternative(html, subtype="html")
    if image is not None:
        html_part = message.get_payload()[1]
        html_part.add_related(image, maintype="image", subtype="png", cid=f"<{chart_cid}>")


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
    context: pd.DataFrame | None = None,
    render: Render = chart.png,
) -> EmailMessage:
    """The one email that says an alert is over, naming the episodes that ended, with the
    series around them as an inline chart when `context` is given."""
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
    _fill(message, "resolved", values, _chart(context, ordered, series, render))
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
    render: Render = chart.png,
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
    _fill(message, "alert", values, _chart(context, ordered, series, render))
    return message


def compose_test(*, recipients: Sequence[str], sender: str, public_url: str) -> EmailMessage:
    """A short email that proves the way to the recipients works."""
    message = _message("[Vigil] Test email: alerts reach you", sender, recipients)
    message.set_content(
        "This is a test email from Vigil. Alert emails will come the same way.\n\n"
        f"Vigil: {public_url}\n"
    )
    return message
