"""The Alerts page's grids: rules, the outbox and the alert history (one row per episode)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import dash_ag_grid as dag
import pandas as pd

from alerts.compose import LIVE
from alerts.episodes import AlertEpisode
from alerts.outbox import OutboxEmail
from alerts.rules import Rule
from vigil.alerting import RuleActivity

RULE_COLUMNS = [
    {"field": "name", "headerName": "Rule", "minWidth": 150},
    {"field": "series_pattern", "headerName": "Series", "minWidth": 100},
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
    {"field": "recipients", "headerName": "Recipients", "minWidth": 180},
    {"field": "state", "headerName": "State", "minWidth": 100},
]
#: How the rules table and form name a rule's direction.
DIRECTION_LABELS = {"either": "either way", "above": "above only", "below": "below only"}
#: Matching series the rules table names before it counts the rest.
MOST_NAMED = 5
OUTBOX_COLUMNS = [
    {"field": "id", "headerName": "Email", "maxWidth": 95},
    {"field": "created", "headerName": "Queued", "maxWidth": 190},
    {"field": "subject", "headerName": "Subject", "minWidth": 280},
    {"field": "recipients", "headerName": "To"},
    {"field": "status", "headerName": "Status", "maxWidth": 110},
    {"field": "attempts", "headerName": "Tries", "maxWidth": 90},
    {"field": "last_error", "headerName": "Server's reply", "minWidth": 200},
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


def rule_state(rule: Rule, now: datetime | None = None) -> str:
    moment = now or datetime.now(UTC)
    if rule.paused:
        return "paused"
    if rule.muted(moment):
        return f"silenced until {rule.silenced_until[:16].replace('T', ' ')}"
    return "active"


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
) -> list[dict]:
    """One row per rule: what it watches (series, detector, data set, direction), what it
    matches now, when it last fired and the points it recorded. `detectors` and `datasets`
    name detectors, models and data sets by their ids."""
    activity, detectors, datasets = activity or {}, detectors or {}, datasets or {}
    rows = []
    for rule in rules:
        done = activity.get(rule.id, RuleActivity())
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
                "detector": "the series' own"
                if rule.detector is None
                else detectors.get(rule.detector, rule.detector),
                "dataset": dataset,
                "direction": DIRECTION_LABELS.get(rule.direction, rule.direction),
                "matching": matching_text(done.series),
                "last_fired": "never"
                if fired is None
                else f"{datetime.fromtimestamp(fired, UTC):%Y-%m-%d %H:%M} UTC",
                "points": done.points,
                "min_severity": rule.min_severity,
                "recipients": ", ".join(rule.recipients),
                "state": rule_state(rule),
            }
        )
    return rows


def outbox_rows(emails: Sequence[OutboxEmail]) -> list[dict]:
    return [
        {
            "id": str(email.id),
            "created": email.created.replace("T", " ")[:19],
            "subject": email.subject,
            "recipients": ", ".join(email.recipients),
            "status": email.status,
            "attempts": email.attempts,
            "last_error": email.last_error or "",
        }
        for email in emails
    ]


def emailed(email_id: object, status: object) -> str:
    """Which email announced an episode and where it is: 'email 12, sent', 'muted' (its rule
    was paused or silenced), 'waiting' (for the group interval or the daily budget)."""
    if email_id is None or pd.isna(email_id):
        return "waiting"
    if int(email_id) < 0:
        return "muted"
    return f"email {int(email_id)}, {status}" if isinstance(status, str) else f"email {email_id}"


def history_rows(history: pd.DataFrame, rules: Sequence[Rule]) -> list[dict]:
    """One row per recorded episode: when (its span, or 'still going on'), where, its peak and
    reason, the rule, and the email that announced it."""
    names = {rule.id: rule.name for rule in rules}
    rows = []
    for row in history.to_dict("records"):
        episode = AlertEpisode.from_row(row)
        rows.append(
            {
                "id": str(row["id"]),
                "rule_id": int(row["rule_id"]),
                "when": episode.when_text,
                "extent": episode.extent_text,
                "span": episode.span_text,
                "start": str(episode.start),
                "rule": names.get(row["rule_id"], f"rule {row['rule_id']} (deleted)"),
                "series": row["series"],
                "dataset": where_from(row["dataset"], row["dataset_name"]),
                "peak": peak_text(episode),
                "severity": round(episode.peak.severity, 3),
                "emailed": emailed(row["email_id"], row["email_status"]),
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
