"""Alerting in one Vigil: the engine over its stores, alerting on a scored run, due alerts into
the outbox, the test email, and what each rule watches. Every function takes the `Services`
whose stores it uses."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import text

from vigil.alerts import chart
from vigil.alerts.compose import LIVE, compose_test
from vigil.alerts.delivery import RoundReport, deliver_due
from vigil.alerts.engine import AlertEngine, Context
from vigil.alerts.episodes import AlertEpisode, episode_reports
from vigil.alerts.rules import Rule
from vigil.detection.errors import VigilError
from vigil.links import mark_url, silence_url
from vigil.live.views import LiveViews
from vigil.services import Services
from vigil.stores.datasets import DatasetInfo
from vigil.stores.models import model_key
from vigil.stores.results import RunSettings

log = logging.getLogger(__name__)
#: Points of a live series read for the span of its episodes (thinned for the chart).
LIVE_MOST = 200_000


def alert_engine(
    services: Services,
    scored: pd.DataFrame | None = None,
    *,
    run: tuple[str, str] | None = None,
    context: Context | None = None,
) -> AlertEngine:
    """The engine. Its emails show each series around its episodes: what `context` gives,
    else the stored series (`stored_context`); with `scored`, the rows of that run of the
    `run` (series, data set) for it, band and flags included."""
    config = services.settings
    context = context or stored_context(services)
    if scored is not None:
        context = _run_context(scored, run, context)
    key = model_key(config)
    mail = services.mail()
    return AlertEngine(
        services.database(),
        services.outbox,
        sender=mail.alert_from,
        zone=mail.alert_time_zone,
        public_url=config.public_url,
        context=context,
        mark_link=lambda dataset, series, point: mark_url(
            config.public_url, key, dataset, series, point
        ),
        silence_link=lambda rule_id, series, now: silence_url(
            config.public_url, key, rule_id, series, now
        ),
    )


def _result_fields(result: RunSettings) -> dict[str, str]:
    """The Analyze page's link fields that show `result` as stored, not run again."""
    fields = {"detector": result.detector, "result": result.key}
    if result.online:
        fields["online"] = "1"
    return fields


def _run_context(scored: pd.DataFrame, run: tuple[str, str] | None, other: Context) -> Context:
    """`scored` around the episodes of its own series; `other` for the rest (a rule's other
    series may have episodes waiting, and the same dispatch sends them)."""

    def context(rule: Rule, series: str, dataset: str, episodes: Sequence[AlertEpisode]):
        if run is None or run == (series, dataset):
            return chart.window(scored, episodes)
        return other(rule, series, dataset, episodes)

    return context


def stored_context(services: Services) -> Context:
    """The series around its episodes as Vigil keeps it: a live series' scored points (band
    and flags included), a data set's values. None when it is gone (the email goes without)."""

    def context(_rule: Rule, series: str, dataset: str, episodes: Sequence[AlertEpisode]):
        try:
            if dataset == LIVE:
                return live_window(services.live_store, series, episodes)
            return chart.window(services.dataset_store.series(dataset, series), episodes)
        except (VigilError, KeyError, FileNotFoundError):
            log.warning("no chart for %s in %s: its data is gone", series, dataset)
            return None

    return context


def live_window(
    views: LiveViews, series: str, episodes: Sequence[AlertEpisode]
) -> pd.DataFrame | None:
    """A live series' scored points from `chart.MARGIN` before its first episode to as many
    after its last, thinned as `chart.window` does."""
    first = min(pd.Timestamp(episode.start) for episode in episodes)
    last = max(pd.Timestamp(episode.end) for episode in episodes)
    parts = [
        views.scores(series, until=first, limit=chart.MARGIN + 1, latest=True),
        views.scores(series, since=first, until=last, limit=LIVE_MOST),
        views.scores(series, since=last, limit=chart.MARGIN),
    ]
    found = [part for part in parts if not part.empty]
    if not found:  # its points are gone (deleted, or past their retention)
        return None
    return chart.window(pd.concat(found, ignore_index=True), episodes)


def dataset_name(services: Services, dataset: str) -> str | None:
    """The name a data set was uploaded with (its file name), None when it is not stored.
    Read from the data sets' table alone: no file store needs opening to name one in an email."""
    with services.database().read() as connection:
        return connection.execute(
            text("SELECT name FROM datasets WHERE id = :id"), {"id": dataset}
        ).scalar()


def alert_on_run(
    services: Services,
    scored: pd.DataFrame,
    series: str,
    dataset: str,
    detector: str,
    *,
    now: float | None = None,
    name: str | None = None,
    result: RunSettings | None = None,
) -> tuple[int, int, int]:
    """Send a scored series' anomaly episodes through every rule that watches it (a rule of
    its data set that names no detector, or names this one): how many rules watched, how many
    episodes were new to them (an episode already recorded, from an earlier run of the same
    series, is not new), and how many emails went to the outbox. `name` is the data set's name
    for emails (looked up when not given); `result` the run as kept in the result store, for
    the emails' links to open it (all emails about the alert, also later ones)."""
    moment = time.time() if now is None else now
    store = services.rule_store
    rules = [rule for rule in store.rules() if rule.watches(series, dataset, detector, {})]
    if not rules:
        return 0, 0, 0
    engine = alert_engine(services, scored, run=(series, dataset))
    reports = episode_reports(scored)
    name = name or dataset_name(services, dataset)
    opens = None if result is None else _result_fields(result)
    recorded = sum(
        engine.record(rule, series, dataset, reports, now=moment, dataset_name=name, open_run=opens)
        for rule in rules
    )
    return len(rules), recorded, engine.dispatch(rules, now=moment, silences=store.silences())


def dispatch_due(
    services: Services, engine: AlertEngine | None = None, *, now: float | None = None
) -> int:
    """Turn every alert that is due by `now` (default the clock) into email in the outbox,
    respecting silences."""
    store = services.rule_store
    engine = engine or alert_engine(services)
    moment = time.time() if now is None else now
    return engine.dispatch(store.rules(), now=moment, silences=store.silences())


def smtp_status(services: Services) -> str:
    """One line about where email goes, with no secret in it."""
    mail = services.mail()
    if mail.smtp is None:
        return (
            "No SMTP server is set: alert emails wait in the outbox (an admin sets one on the "
            "Admin page, or set VIGIL_SMTP_HOST)."
        )
    login = f" as {mail.smtp_username}" if mail.smtp_username else ""
    return f"Sending through {mail.smtp.address}{login}, from {mail.alert_from}."


def send_test_email(services: Services, recipients: list[str]) -> tuple[int, RoundReport | None]:
    """Queue a test email and, with an SMTP server set, deliver what is due now."""
    if not recipients:
        raise ValueError("Give at least one address to send the test email to.")
    mail = services.mail()
    box = services.outbox
    email_id = box.add(
        compose_test(recipients=recipients, sender=mail.alert_from, public_url=mail.public_url)
    )
    if mail.smtp is None:
        return email_id, None
    return email_id, deliver_due(box, mail.smtp)


@dataclass(frozen=True)
class RuleActivity:
    """What a rule watches and has done: the series it matches now, when it last flagged one
    (seconds since the epoch, None if never) and the points of its episodes that reached its
    severity."""

    series: tuple[str, ...] = ()
    last_fired: float | None = None
    points: int = 0


#: A series a rule may watch: its name, its data set (`live` for live series) and what scores
#: it (None for a data set's column: any detector may run on it), and its labels (none for a
#: data set's column).
Candidate = tuple[str, str, str | None, dict[str, str]]


def candidate_series(services: Services, datasets: Sequence[DatasetInfo]) -> list[Candidate]:
    """The live series and the value columns of stored data sets."""
    live: list[Candidate] = [
        (series.name, LIVE, series.scored_by, series.labels)
        for series in services.live_store.series()
    ]
    stored: list[Candidate] = [
        (column, info.id, None, {})
        for info in datasets
        if info.schema.series_column is None
        for column in info.schema.value_columns
    ]
    return live + stored


def watched_series(rule: Rule, candidates: Sequence[Candidate]) -> list[str]:
    """The names of the series a rule would alert on now, sorted. A rule may match none yet:
    its series may come later."""
    return sorted(
        {
            name
            for name, dataset, by, labels in candidates
            if rule.watches(name, dataset, by, labels)
        }
    )


def rule_activity(
    services: Services, rules: Sequence[Rule], datasets: Sequence[DatasetInfo]
) -> dict[int, RuleActivity]:
    """Each rule's activity, by rule id."""
    candidates = candidate_series(services, datasets)
    with services.database().read() as connection:
        points: dict[int, int] = dict(
            connection.execute(
                text(
                    "SELECT rule_id, SUM(points) FROM alert_episodes WHERE qualified = 1 "
                    "GROUP BY rule_id"
                )
            ).all()
        )
        fired: dict[int, float] = dict(
            connection.execute(
                text("SELECT rule_id, MAX(last_flag) FROM alerts GROUP BY rule_id")
            ).all()
        )
    return {
        rule.id: RuleActivity(
            series=tuple(watched_series(rule, candidates)),
            last_fired=fired.get(rule.id),
            points=int(points.get(rule.id) or 0),
        )
        for rule in rules
        if rule.id is not None
    }
