"""The Alerts page's grids: rules, the outbox and the alert history (one row per episode)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

import dash_ag_grid as dag
import pandas as pd

from vigil.alerts.compose import LIVE
from vigil.alerts.engine import UNSENDABLE
from vigil.alerts.episodes import AlertEpisode
from vigil.alerts.outbox import OutboxEmail
from vigil.alerts.rulebook import FROM_FILE, hook_words
from vigil.alerts.rules import Rule
from vigil.components.zones import minute_text, wall_time
from vigil.times import UTC as TIME_UTC
from vigil.times import zone_label
from vigil.usecases.alerting import RuleActivity

RULE_COLUMNS = [
    {"field": "name", "headerName": "Rule", "minWidth": 150},
    {"field": "source", "headerName": "Made in", "minWidth": 110, "tooltipField": "source_note"},
    {"field": "series_pattern", "headerName": "Series", "minWidth": 100},
    {"field": "labels", "headerName": "Labels", "minWidth": 110, "tooltipField": "labels"},
    {"field": "detector", "headerName": "Detector", "minWidth": 130},
    {"field": "dataset", "headerName": "Data set", "minWidth": 100},
    {"field": "direction", "headerName": "Direction", "minWidth": 100},
    {
        "field": "matching",
        "headerName": "Matching series",
        "minWidth": 160,
        "tooltipField": "matching",
    },
    {"field": "last_fired", "headerName": "Last fired", "minWidth": 140},
    {"field": "points", "headerName": "Points", "minWidth": 90},
    {"field": "min_severity", "headerName": "Severity", "minWidth": 95},
    {
        "field": "recipients",
        "headerName": "Notifies",
        "minWidth": 180,
        "tooltipField": "recipients",
    },
    {"field": "state", "headerName": "State", "minWidth": 100},
]
#: How the rules table and form name a rule's direction.
DIRECTION_LABELS = {"either": "either way", "above": "above only", "below": "below only"}
#: Matching series the rules table names before it counts the rest.
MOST_NAMED = 5
OUTBOX_COLUMNS: list[dict[str, object]] = [
    {"field": "id", "headerName": "No.", "maxWidth": 85},
    {"field": "kind", "headerName": "Via", "maxWidth": 100},
    {"field": "created", "headerName": "Queued", "maxWidth": 190},
    {"field": "subject", "headerName": "Subject", "minWidth": 280, "tooltipField": "subject"},
    {"field": "recipients", "headerName": "To"},
    {"field": "status", "headerName": "Status", "maxWidth": 110},
    {"field": "attempts", "headerName": "Tries", "maxWidth": 90},
    {"field": "last_error", "headerName": "Receiver's reply", "minWidth": 200},
]
HISTORY_COLUMNS = [
    {"field": "when", "headerName": "When", "minWidth": 215, "tooltipField": "span"},
    {"field": "extent", "headerName": "Length", "minWidth": 140, "tooltipField": "span"},
    {"field": "series", "headerName": "Series", "minWidth": 100},
    {"field": "dataset", "headerName": "Data set", "minWidth": 100},
    {"field": "peak", "headerName": "Peak", "minWidth": 230, "tooltipField": "peak"},
    {"field": "severity", "headerName": "Severity", "minWidth": 95, "maxWidth": 110},
    {"field": "explanation", "headerName": "Why", "minWidth": 200, "tooltipField": "explanation"},
    {"field": "emailed", "headerName": "Email", "minWidth": 145},
    {"field": "rule", "headerName": "Rule", "minWidth": 110},
]


def grid(
    component_id: str, columns: list[dict], *, empty: str, selectable: bool = False
) -> dag.AgGrid:
    """A table of the Alerts page, ten rows a page, saying `empty` when it has none; headers
    wrap rather than lose their ends."""
    options: dict = {
        "domLayout": "autoHeight",
        "pagination": True,
        "paginationPageSize": 10,
        "paginationPageSizeSelector": [10, 50, 200],
        "tooltipShowDelay": 300,
        "localeText": {"noRowsToShow": empty},
    }
    if selectable:
        options["rowSelection"] = {
            "mode": "singleRow",
            "checkboxes": False,
            "enableClickSelection": True,
        }
    return dag.AgGrid(
        id=component_id,
        rowData=[],
        columnDefs=columns,
        defaultColDef={
            "resizable": True,
            "sortable": True,
            "filter": True,
            "wrapHeaderText": True,
            "autoHeaderHeight": True,
        },
        columnSize="responsiveSizeToFit",
        dashGridOptions=options,
        getRowId="params.data.id",
        className="ag-theme-alpine",
    )


#: What a rule from a rules file means for the page.
FILE_NOTE = (
    "Made by `vigil rules apply` from a rules file: change the file and apply it again to "
    "change or delete it."
)


def rule_state(rule: Rule, now: datetime | None = None, zone: str = TIME_UTC) -> str:
    moment = now or datetime.now(UTC)
    if rule.paused:
        return "paused"
    if rule.silenced_until is not None and rule.muted(moment):  # (paused is said above)
        return f"silenced until {minute_text(rule.silenced_until, zone)}"
    return "active"


def episode_in_zone(episode: AlertEpisode, zone: str = TIME_UTC) -> AlertEpisode:
    """`episode` with its times as the clock in `zone` reads them (to word it for the page;
    emails keep UTC)."""
    peak = replace(episode.peak, timestamp=wall_time(episode.peak.timestamp, zone))
    start, end = wall_time(episode.start, zone), wall_time(episode.end, zone)
    return replace(episode, start=start, end=end, peak=peak)


def matching_text(series: Sequence[str]) -> str:
    """'cpu, mem', 'a, b, c, d, e and 3 more', or 'none yet'."""
    if not series:
        return "none yet"
    named = ", ".join(series[:MOST_NAMED])
    more = len(series) - MOST_NAMED
    return f"{named} and {more} more" if more > 0 else named


def rule_rows(
    rules: Sequence[Rule],
    activity: Mapping[int, RuleActivity] | None = None,
    *,
    detectors: Mapping[str, str] | None = None,
    datasets: Mapping[str, str] | None = None,
    zone: str = TIME_UTC,
) -> list[dict]:
    """One row per rule: what it watches (series, detector, data set, direction), what it
    matches now, when it last fired (in `zone`) and the points it recorded. `detectors` and
    `datasets` name detectors, models and data sets by their ids."""
    activity, detectors, datasets = activity or {}, detectors or {}, datasets or {}
    rows = []
    for rule in rules:
        done = RuleActivity() if rule.id is None else activity.get(rule.id, RuleActivity())
        if rule.dataset is None:
            dataset = "any"
        else:
            dataset = where_from(rule.dataset, datasets.get(rule.dataset))
        fired = done.last_fired
        rows.append(
            {
                "id": str(rule.id),
                "name": rule.name,
                "series_pattern": rule.series_pattern,
                "labels": " ".join(rule.labels) or "any",
                "detector": "the series' own"
                if rule.detector is None
                else detectors.get(rule.detector, rule.detector),
                "dataset": dataset,
                "direction": DIRECTION_LABELS.get(rule.direction, rule.direction),
                "matching": matching_text(done.series),
                "last_fired": "never"
                if fired is None
                else minute_text(datetime.fromtimestamp(fired, UTC), zone),
                "points": done.points,
                "min_severity": rule.min_severity,
                "recipients": ", ".join(
                    [*rule.recipients, *(hook_words(hook) for hook in rule.webhooks)]
                ),
                "state": rule_state(rule, zone=zone),
                "source": "rules file" if rule.source == FROM_FILE else "page or API",
                "source_note": FILE_NOTE if rule.source == FROM_FILE else "",
            }
        )
    return rows


def outbox_rows(emails: Sequence[OutboxEmail], zone: str = TIME_UTC) -> list[dict]:
    """One row per email in the outbox, when it was queued in `zone`."""
    return [
        {
            "id": str(email.id),
            "created": f"{wall_time(email.created, zone):%Y-%m-%d %H:%M:%S} "
            + zone_label(zone, email.created),
            "kind": email.kind,
            "subject": email.subject,
            "recipients": ", ".join(email.recipients),
            "status": email.status,
            "attempts": email.attempts,
            "last_error": email.last_error or "",
        }
        for email in emails
    ]


def emailed(email_id: float | None, status: object, kind: object = "email") -> str:
    """Which email (or webhook call, for a rule without recipients) announced an episode and
    where it is: 'email 12, sent', 'webhook call 14, pending', 'muted' (its rule was paused or
    silenced), 'waiting' (for the group interval or the daily budget), or why none could be
    sent."""
    if email_id is None or pd.isna(email_id):
        return "waiting"
    if int(email_id) == UNSENDABLE:
        return "not sent: its email could not be built (the server's log says why)"
    if int(email_id) < 0:
        return "muted"
    what = "webhook call" if kind == "webhook" else "email"
    if isinstance(status, str):
        return f"{what} {int(email_id)}, {status}"
    return f"{what} {int(email_id)}"


def history_rows(history: pd.DataFrame, rules: Sequence[Rule], zone: str = TIME_UTC) -> list[dict]:
    """One row per recorded episode: when (its span, or 'still going on', in `zone` and
    named), where, its peak and reason, the rule, and the email that announced it."""
    names = {rule.id: rule.name for rule in rules}
    rows = []
    for row in history.to_dict("records"):
        stored = AlertEpisode.from_row(row)
        episode = episode_in_zone(stored, zone)
        label = zone_label(zone, stored.start)
        rows.append(
            {
                "id": str(row["id"]),
                "rule_id": int(row["rule_id"]),
                "when": f"{episode.when_text} {label}",
                "extent": episode.extent_text,
                "span": f"{episode.when_text} {label} ({episode.extent_text})",
                "start": str(stored.start),
                "rule": names.get(row["rule_id"], f"rule {row['rule_id']} (deleted)"),
                "series": row["series"],
                "dataset": where_from(row["dataset"], row["dataset_name"]),
                "peak": peak_text(episode),
                "severity": round(episode.peak.severity, 3),
                "emailed": emailed(row["email_id"], row["email_status"], row.get("email_kind")),
                "explanation": episode.peak.explanation,
            }
        )
    return rows


def peak_text(episode: AlertEpisode) -> str:
    """'587.2 (expected 270.5) at 09:34', with the date when it is not the start's."""
    peak = episode.peak
    at = pd.Timestamp(peak.timestamp)
    moment = peak.when if at.date() != pd.Timestamp(episode.start).date() else peak.when[11:]
    return f"{peak.value_text} (expected {peak.expected_text}) at {moment}"


def where_from(dataset: str, name: object) -> str:
    """A data set's name as the history shows it: its file name, 'live', or its id."""
    if dataset == LIVE:
        return "live"
    return name if isinstance(name, str) and name else dataset
