"""What a webhook says about one episode: `opened` when an alert announces it, `resolved`
when it is over. Vigil's JSON follows the Standard Webhooks payload shape (`type`,
`timestamp`, `data`); the Slack body is one line of mrkdwn with a link.

Every notification about one episode carries the episode's `id`, the same in `opened` and
`resolved` and whichever process sends them (a digest of rule, series and start), so a
receiver can pair them; its `webhook-id` adds the event and the endpoint, and is what the
outbox keeps unique.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from vigil.alerts.compose import LIVE, analyze_url, subject_name
from vigil.alerts.episodes import AlertEpisode
from vigil.alerts.webhooks import Webhook
from vigil.alerts.wording import how_far, moment

EVENTS = ("opened", "resolved")


@dataclass(frozen=True)
class EpisodeEvent:
    """One episode of an alert, opened or resolved."""

    event: str
    rule_id: int
    rule: str
    series: str
    dataset: str
    dataset_name: str | None
    episode: AlertEpisode
    public_url: str
    #: The Analyze page's fields of the stored run that flagged it (as emails open it).
    run: dict[str, str] | None = None

    def __post_init__(self) -> None:
        if self.event not in EVENTS:
            raise ValueError(f"an episode event is one of {', '.join(EVENTS)}")

    @property
    def episode_id(self) -> str:
        """The same for every notification about this episode of this rule."""
        key = f"{self.rule_id}\0{self.series}\0{_iso(self.episode.start)}"
        return "ep_" + hashlib.sha256(key.encode()).hexdigest()[:24]

    def message_id(self, hook: Webhook) -> str:
        """The `webhook-id` of this event at `hook`: unique, the same on every attempt."""
        endpoint = hashlib.sha256(hook.url.encode()).hexdigest()[:10]
        return f"{self.episode_id}.{self.event}.{endpoint}"

    @property
    def url(self) -> str:
        """The page showing the episode: the Live page for a live series, else the Analyze
        page (with the stored run, when there is one)."""
        return analyze_url(
            self.public_url, self.dataset, self.series, self.episode.peak.timestamp, run=self.run
        )

    def summary(self, zone: str = "UTC") -> str:
        """'Checkout latency: cpu 2.6x normal since 12 Mar 09:30 UTC', 'Checkout latency:
        cpu (ops.csv) back to normal, was 35% below normal from 12 Mar 2024 09:30 UTC for
        45 min'."""
        peak = self.episode.peak
        far = how_far(peak.value, peak.expected)
        name = subject_name(self.series, self.dataset, self.dataset_name)
        year = self.dataset != LIVE
        start = moment(self.episode.start, zone, year=year)
        if self.event == "resolved":
            span = self.episode.duration_text
            return f"{self.rule}: {name} back to normal, was {far} from {start} for {span}"
        if self.episode.open:
            return f"{self.rule}: {name} {far} since {start}"
        return f"{self.rule}: {name} was {far} at {start} for {self.episode.duration_text}"


def _iso(at: pd.Timestamp | str) -> str:
    """A stored time (naive UTC) as ISO 8601 with its zone: '2026-03-12T09:30:00Z'."""
    return pd.Timestamp(at).strftime("%Y-%m-%dT%H:%M:%SZ")


def _number(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def json_body(event: EpisodeEvent, now: datetime, zone: str = "UTC") -> bytes:
    """Vigil's JSON for one event."""
    episode, peak = event.episode, event.episode.peak
    data = {
        "id": event.episode_id,
        "event": event.event,
        "rule": {"id": event.rule_id, "name": event.rule},
        "series": event.series,
        "dataset": event.dataset,
        "dataset_name": event.dataset_name,
        "start": _iso(episode.start),
        "end": _iso(episode.end),
        "points": episode.points,
        "ongoing": event.event == "opened" and episode.open,
        "peak": {
            "at": _iso(peak.timestamp),
            "value": _number(peak.value),
            "expected": _number(peak.expected),
            "severity": _number(peak.severity),
            "reason": peak.explanation,
        },
        "summary": event.summary(zone),
        "url": event.url,
    }
    body = {
        "type": f"episode.{event.event}",
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "data": data,
    }
    return json.dumps(body, ensure_ascii=False, allow_nan=False).encode()


def _slack_text(text: str) -> str:
    """Text as Slack's mrkdwn shows it literally (its three control characters escaped)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_body(event: EpisodeEvent, zone: str = "UTC") -> bytes:
    """A Slack incoming-webhook message: state, summary, reason and a link."""
    state = {"opened": ":red_circle: *FIRING*", "resolved": ":white_check_mark: *RESOLVED*"}
    if event.event == "opened" and not event.episode.open:
        state["opened"] = ":large_orange_circle: *ALERT*"
    line = f"{state[event.event]} {_slack_text(event.summary(zone))}"
    reason = event.episode.peak.explanation
    if reason and event.event == "opened":
        line += f"\n{_slack_text(reason)}"
    line += f"\n<{event.url}|Open in Vigil>"
    return json.dumps({"text": line}, ensure_ascii=False).encode()


def body(event: EpisodeEvent, hook: Webhook, now: datetime, zone: str = "UTC") -> bytes:
    """What `hook` is sent about `event`, in its format."""
    if hook.format == "slack":
        return slack_body(event, zone)
    return json_body(event, now, zone)


def test_body(hook: Webhook, public_url: str, now: datetime) -> bytes:
    """A test notification: it says where it came from and that real ones will come."""
    words = "Vigil can reach this webhook: alerts of the rules that name it will come here."
    if hook.format == "slack":
        text = f":white_check_mark: {words}\n<{public_url}|Open Vigil>"
        return json.dumps({"text": text}, ensure_ascii=False).encode()
    data = {"summary": words, "url": public_url}
    body = {"type": "test", "timestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "data": data}
    return json.dumps(body, ensure_ascii=False).encode()
