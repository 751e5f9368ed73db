"""Alert emails for a busy reader: a subject with the state, the series, the direction and how
far from normal ('FIRING - cpu 2.6x normal since 12 Mar 04:04 UTC', with a middle dot and a
multiplication sign); an HTML part that reads
on a phone (a status line, the chart inline, buttons to open the series in Vigil and to silence
the rule, then the few worst episodes) and a plain-text part with the same and every episode;
every piece of user text escaped. Emails about one incident share a thread: the first one's
Message-ID, on Vigil's public host, is what the later ones reply to."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import jinja2
import pandas as pd

from vigil.alerts import chart
from vigil.alerts.episodes import AlertEpisode, AlertPoint, when
from vigil.alerts.wording import (
    alert_subject,
    how_far,
    moment,
    peak_words,
    resolved_line,
    resolved_subject,
    status_line,
    worst,
)
from vigil.detection.zones import UTC

log = logging.getLogger(__name__)
TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
    undefined=jinja2.StrictUndefined,
)
#: Draws the chart: the rows around the episodes, the episodes, the series' name, the zone.
Render = Callable[[pd.DataFrame, Sequence[AlertEpisode], str, str], bytes]
#: Episodes an email's HTML shows; the plain text lists them all, Vigil has the rest.
SHOWN = 3
#: The data set name alerts on live series carry: their links open the Live page.
LIVE = "live"


def where(series: str, dataset: str, dataset_name: str | None = None) -> str:
    """The series and where it is from: 'cpu (data set ops.csv)', 'cpu (live)'."""
    if dataset == LIVE:
        return f"{series} (live)"
    return f"{series} (data set {dataset_name or dataset})"


def subject_name(series: str, dataset: str, dataset_name: str | None = None) -> str:
    """The series as a subject names it: 'cpu' (live), 'cpu (ops.csv)'."""
    return series if dataset == LIVE else f"{series} ({dataset_name or dataset})"


def analyze_url(
    public_url: str,
    dataset: str,
    series: str,
    at: pd.Timestamp | None = None,
    *,
    run: Mapping[str, str] | None = None,
) -> str:
    """The page showing a series, centred on `at` when given: the Analyze page for a data
    set's series (with `run`'s fields, e.g. the stored result to show), the Live page for a
    live series."""
    fields = {"series": series} if dataset == LIVE else {"dataset": dataset, "series": series}
    fields |= dict(run or {})
    if at is not None:
        fields["at"] = f"{pd.Timestamp(at):%Y-%m-%dT%H:%M:%S}"
    page = "live" if dataset == LIVE else "analyze"
    return f"{public_url.rstrip('/')}/{page}?{urlencode(fields)}"


@dataclass(frozen=True)
class Thread:
    """Where an email goes in its incident's thread: the first email of an incident takes
    `root` as its Message-ID; the later ones (more episodes, "resolved") reply to it."""

    root: str
    first: bool


def public_host(public_url: str) -> str:
    """The host of Vigil's public address, for Message-IDs: 'vigil.example.org'."""
    return urlsplit(public_url).hostname or "vigil.local"


def thread_root(public_url: str, rule_id: int, series: str, opened: float) -> str:
    """The Message-ID of the first email about an incident: one per rule, series and the
    moment the alert opened, the same whichever process composes it."""
    digest = hashlib.sha256(series.encode()).hexdigest()[:12]
    return f"<alert.{rule_id}.{digest}.{round(opened * 1000)}@{public_host(public_url)}>"


def alerts_url(public_url: str) -> str:
    """The Alerts page: where rules are silenced, paused and changed."""
    return f"{public_url.rstrip('/')}/alerts"


def _message(
    subject: str,
    sender: str,
    recipients: Sequence[str],
    public_url: str,
    thread: Thread | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = " ".join(subject.split())  # a name's line breaks cannot end a header
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    if thread is not None and thread.first:
        message["Message-ID"] = thread.root
    else:
        message["Message-ID"] = make_msgid(domain=public_host(public_url))
    if thread is not None and not thread.first:
        message["In-Reply-To"] = thread.root
        message["References"] = thread.root
    return message


def _chart(
    context: pd.DataFrame | None,
    episodes: Sequence[AlertEpisode],
    series: str,
    render: Render,
    zone: str = UTC,
) -> bytes | None:
    """The chart's PNG; None without rows, or when it cannot be drawn (the email goes without:
    a chart is worth less than the alert)."""
    if context is None or context.empty:
        return None
    try:
        return render(context, episodes, series, zone)
    except Exception:  # the renderer (kaleido drives a browser) may fail in many ways
        log.exception("the chart of an alert about %s could not be drawn", series)
        return None


def _fill(
    message: EmailMessage, template: str, values: Mapping[str, object], image: bytes | None
) -> None:
    """The plain-text part, the HTML part, and the chart inline in the HTML when there is one."""
    chart_cid = None if image is None else make_msgid(domain="vigil.local")[1:-1]
    message.set_content(TEMPLATES.get_template(f"{template}.txt").render(**values))
    html = TEMPLATES.get_template(f"{template}.html").render(**values, chart_cid=chart_cid)
    message.add_alternative(html, subtype="html")
    if image is not None:
        html_part = list(message.iter_parts())[1]
        html_part.add_related(image, maintype="image", subtype="png", cid=f"<{chart_cid}>")


def _rows(
    episodes: Sequence[AlertEpisode],
    mark_link: Callable[[AlertPoint], str] | None,
    *,
    zone: str = UTC,
) -> list[dict]:
    """Each episode numbered by start (as the chart numbers it), in words, times in `zone`."""
    return [
        {
            "number": number,
            "episode": episode,
            "far": how_far(episode.peak.value, episode.peak.expected),
            "peak": peak_words(episode.peak),
            "when": episode.when_in(zone),
            "span": episode.span_in(zone),
            "peak_at": moment(episode.peak.timestamp, zone),
            "mark": None if mark_link is None else mark_link(episode.peak),
            "severity": episode.peak.severity,
        }
        for number, episode in enumerate(episodes, start=1)
    ]


def _shown(rows: list[dict], most: int = SHOWN) -> list[dict]:
    """The `most` most severe rows, in their order."""
    keep = sorted(rows, key=lambda row: row["severity"], reverse=True)[:most]
    return sorted(keep, key=lambda row: row["number"])


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
    thread: Thread | None = None,
    open_url: str | None = None,
    zone: str = UTC,
) -> EmailMessage:
    """The one email that says an alert is over: since when (the data's time, the last
    episode's end), how long it lasted and its peak, naming the episodes that ended, with the
    series around them as an inline chart when `context` is given; its button opens
    `open_url` (else the series' page). Every time is in `zone`, named."""
    if not episodes:
        raise ValueError("a resolved email names at least one episode")
    ordered = sorted(episodes, key=lambda episode: episode.start)
    year = dataset != LIVE
    place = where(series, dataset, dataset_name)
    rows = _rows(ordered, None, zone=zone)
    peak = worst(ordered).peak.timestamp
    subject = resolved_subject(
        subject_name(series, dataset, dataset_name), ordered, zone=zone, year=year
    )
    values = {
        "subject": subject,
        "status": resolved_line(place, ordered, zone=zone, year=year),
        "rows": rows,
        "shown": _shown(rows),
        "total": len(rows),
        "more": 0,
        "series": series,
        "rule": rule,
        "open_url": open_url or analyze_url(public_url, dataset, series, peak),
        "alerts_url": alerts_url(public_url),
        "silence_url": None,  # it is over: the button changes the rule
    }
    message = _message(subject, sender, recipients, public_url, thread)
    _fill(message, "resolved", values, _chart(context, ordered, series, render, zone))
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
    thread: Thread | None = None,
    open_url: str | None = None,
    silence_url: str | None = None,
    zone: str = UTC,
) -> EmailMessage:
    """One email about `episodes` of `series`, for a busy reader: a subject with the state,
    the series, how far from normal and since when; a status line, the chart (when `context`
    is given), a button to open it in Vigil (`open_url`, else the series' page) and one to
    silence it (`silence_url`, else the Alerts page); then the few most severe episodes, the
    plain-text part listing them all. When it lists only the most severe, it says how many
    `more` began between `first` and `last`. The "not an anomaly" link of an episode marks
    its peak. Every time is in `zone`, named ('since 12 Mar 10:30 CET')."""
    if not episodes:
        raise ValueError("an alert needs at least one episode")
    ordered = sorted(episodes, key=lambda episode: episode.start)
    year = dataset != LIVE
    place = where(series, dataset, dataset_name)
    total = len(ordered) + more
    rows = _rows(ordered, mark_link, zone=zone)
    peak = worst(ordered).peak.timestamp
    name = subject_name(series, dataset, dataset_name)
    subject = alert_subject(name, ordered, total, zone=zone, year=year)
    values = {
        "subject": subject,
        "status": status_line(place, ordered, total, zone=zone, year=year, first=first),
        "rows": rows,
        "shown": _shown(rows),
        "total": total,
        "going_on": any(episode.open for episode in ordered),
        "series": series,
        "rule": rule,
        "more": more,
        "first": when(first if first is not None else ordered[0].start, zone, named=True),
        "last": when(last if last is not None else ordered[-1].start, zone, named=True),
        "open_url": open_url or analyze_url(public_url, dataset, series, peak),
        "alerts_url": alerts_url(public_url),
        "silence_url": silence_url,
    }
    message = _message(subject, sender, recipients, public_url, thread)
    _fill(message, "alert", values, _chart(context, ordered, series, render, zone))
    return message


def compose_test(*, recipients: Sequence[str], sender: str, public_url: str) -> EmailMessage:
    """A short email that proves the way to the recipients works."""
    message = _message("Vigil test email: alerts reach you", sender, recipients, public_url)
    message.set_content(
        "This is a test email from Vigil. Alert emails will come the same way.\n\n"
        f"Vigil: {public_url}\n"
    )
    return message
