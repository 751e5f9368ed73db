"""The Alerts page's grids: rules, the outbox and the alert history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import dash_ag_grid as dag
import pandas as pd

from alerts.outbox import OutboxEmail
from alerts.rules import Rule

RULE_COLUMNS = [
    {"field": "name", "headerName": "Rule", "minWidth": 160},
    {"field": "series_pattern", "headerName": "Series", "minWidth": 110},
    {"field": "min_severity", "headerName": "Severity", "minWidth": 100},
    {"field": "recipients", "headerName": "Recipients", "minWidth": 200},
    {"field": "group_minutes", "headerName": "Group min", "minWidth": 105},
    {"field": "daily_budget", "headerName": "A day", "minWidth": 90},
    {"field": "state", "headerName": "State", "minWidth": 110},
]
OUTBOX_COLUMNS = [
    {"field": "created", "headerName": "Queued", "maxWidth": 190},
    {"field": "subject", "headerName": "Subject", "minWidth": 280},
    {"field": "recipients", "headerName": "To"},
    {"field": "status", "headerName": "Status", "maxWidth": 110},
    {"field": "attempts", "headerName": "Tries", "maxWidth": 90},
    {"field": "last_error", "headerName": "Server's reply", "minWidth": 200},
]
HISTORY_COLUMNS = [
    {"field": "timestamp", "headerName": "Time", "maxWidth": 190},
    {"field": "rule", "headerName": "Rule"},
    {"field": "series", "headerName": "Series"},
    {"field": "value", "headerName": "Value", "maxWidth": 110},
    {"field": "severity", "headerName": "Severity", "maxWidth": 110},
    {"field": "emailed", "headerName": "Email", "maxWidth": 150},
    {"field": "explanation", "headerName": "Why", "minWidth": 260},
]


def grid(component_id: str, columns: list[dict], *, selectable: bool = False) -> dag.AgGrid:
    options: dict = {
        "domLayout": "autoHeight",
        "pagination": True,
        "paginationPageSize": 10,
        "paginationPageSizeSelector": [10, 50, 200],
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
        defaultColDef={"resizable": True, "sortable": True, "filter": True},
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


def rule_rows(rules: Sequence[Rule]) -> list[dict]:
    return [
        {
            "id": str(rule.id),
            "name": rule.name,
            "series_pattern": rule.series_pattern,
            "min_severity": rule.min_severity,
            "recipients": ", ".join(rule.recipients),
            "group_minutes": rule.group_minutes,
            "daily_budget": rule.daily_budget,
            "state": rule_state(rule),
        }
        for rule in rules
    ]


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


def history_rows(history: pd.DataFrame, rules: Sequence[Rule]) -> list[dict]:
    names = {rule.id: rule.name for rule in rules}
    rows = []
    for number, row in enumerate(history.itertuples(index=False)):
        emailed = "waiting" if pd.isna(row.email_id) else "muted" if row.email_id < 0 else "sent"
        rows.append(
            {
                "id": str(number),
                "rule_id": int(row.rule_id),
                "timestamp": str(row.timestamp)[:19],
                "rule": names.get(row.rule_id, f"rule {row.rule_id} (deleted)"),
                "series": row.series,
                "value": row.value,
                "severity": round(row.severity, 3),
                "emailed": emailed,
                "explanation": row.explanation,
            }
        )
    return rows
