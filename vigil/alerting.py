"""Alerts wired to Vigil's settings: the rule store, the engine, and alerting on a scored run."""

from __future__ import annotations

import time

import pandas as pd

from alerts.compose import AlertPoint
from alerts.engine import AlertEngine
from alerts.outbox import Outbox
from alerts.rules import RuleStore
from vigil.settings import Settings

#: Rows of the scored series shown around the flagged points in an alert's chart.
CHART_MARGIN = 150
CHART_MOST = 3000


def rule_store(config: Settings) -> RuleStore:
    return RuleStore(config.alerts_path)


def alert_engine(config: Settings, scored: pd.DataFrame | None = None) -> AlertEngine:
    """The engine; with `scored`, its emails show that series around the points."""
    return AlertEngine(
        config.alerts_path,
        Outbox(config.outbox_path),
        sender=config.alert_from,
        public_url=config.public_url,
        context=None
        if scored is None
        else lambda _rule, _series, points: chart_window(scored, points),
    )


def chart_window(scored: pd.DataFrame, points: list[AlertPoint]) -> pd.DataFrame:
    """The scored rows around the first and last of `points`."""
    times = scored["timestamp"]
    first = int(times.searchsorted(min(p.timestamp for p in points)))
    last = int(times.searchsorted(max(p.timestamp for p in points)))
    start = max(0, first - CHART_MARGIN)
    end = min(len(scored), max(last + CHART_MARGIN, start + 1), start + CHART_MOST)
    return scored.iloc[start:end]


def flagged_points(scored: pd.DataFrame) -> list[AlertPoint]:
    rows = scored[scored["is_anomaly"]]
    return [
        AlertPoint(row.timestamp, row.value, row.expected, row.severity, row.explanation)
        for row in rows.itertuples(index=False)
    ]


def alert_on_run(
    config: Settings, scored: pd.DataFrame, series: str, dataset: str, *, now: float | None = None
) -> tuple[int, int, int]:
    """Send a scored series' flagged points through every rule that watches it: how many
    rules watched, how many points were new to them, and how many emails went to the outbox."""
    moment = time.time() if now is None else now
    rules = [rule for rule in rule_store(config).rules() if rule.matches(series)]
    engine = alert_engine(config, scored)
    points = flagged_points(scored)
    recorded = sum(engine.record(rule, series, dataset, points, now=moment) for rule in rules)
    return len(rules), recorded, engine.dispatch(rules, now=moment)
