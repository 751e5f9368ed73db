"""Alerting on an Analyze run (a batch ScoredFrame): one email per run listing its episodes, by
the data set's name; the same run again sends nothing."""

from __future__ import annotations

import pandas as pd

from tests.settings import make_settings
from vigil.alerts.episodes import episode_reports
from vigil.alerts.rules import Rule
from vigil.alerts.wording import how_far
from vigil.detection import run_detection
from vigil.detection.episodes import episode_table
from vigil.detection.synthetic import seasonal_series
from vigil.services import Services
from vigil.storage.files import FileStore
from vigil.storage.opening import open_database
from vigil.stores.datasets import DatasetStore
from vigil.stores.results import RunSettings
from vigil.usecases.alerting import alert_engine, alert_on_run, dispatch_due


def stored_as_dataset(config, frame: pd.DataFrame, name: str = "ops.csv") -> str:
    """`frame` uploaded as the data set `name` of the installation `config` says; its id."""
    datasets = DatasetStore(
        FileStore(config.files_url),
        open_database(config.database_url),
        max_bytes=5_000_000,
        max_rows=200_000,
    )
    return datasets.add(frame.to_csv(index=False).encode(), name)[0].id


def test_a_run_alerts_once_on_its_episodes_naming_the_data_set(tmp_path):
    config = make_settings(tmp_path, public_url="https://vigil.example.org")
    frame = seasonal_series(n=2000, spike_at=1200)
    frame.loc[[400, 1600], "value"] += 20
    dataset = stored_as_dataset(config, frame)
    scored = run_detection(frame, "zscore")
    rule = Services(config).rule_store.save(
        Rule(
            "cpu", "cpu", ("ops@example.org",), detector="zscore", min_severity=0.5, group_minutes=0
        )
    )
    table = episode_table(scored)
    severe = table[table["peak_severity"] >= rule.min_severity]
    assert len(severe) >= 2  # the spikes, at least

    assert alert_on_run(Services(config), scored, "cpu", dataset, "zscore") == (1, len(severe), 1)
    assert alert_on_run(Services(config), scored, "cpu", dataset, "zscore") == (
        1,
        0,
        0,
    )  # same run again

    (email,) = Services(config).outbox.emails()
    assert email.subject.startswith(
        f"ALERT · cpu (ops.csv): {len(severe)} anomaly episodes, the worst "
    )
    history = alert_engine(Services(config)).history(rule.id).sort_values("start_at")
    assert history["start_at"].tolist() == [str(start) for start in severe["start"]]
    assert history["points"].tolist() == severe["points"].tolist()
    body = email.message().get_body(("plain",)).get_content()
    for report in episode_reports(scored):
        if report.peak.severity >= rule.min_severity:
            assert f"\n    Peak {how_far(report.peak.value, report.peak.expected)} (" in body


def test_an_email_sent_later_opens_the_stored_result_of_the_run_that_flagged_it(tmp_path):
    config = make_settings(tmp_path, public_url="https://vigil.example.org")
    frame = seasonal_series(n=2000, spike_at=1200)
    dataset = stored_as_dataset(config, frame)
    Services(config).rule_store.save(
        Rule("cpu", "cpu", ("ops@example.org",), detector="zscore", daily_budget=1)
    )
    first = RunSettings(dataset, "ops.csv", "cpu", "zscore", {"threshold": 4.0}, {})
    now = 1_800_000_000.0
    alert_on_run(
        Services(config),
        run_detection(frame, "zscore"),
        "cpu",
        dataset,
        "zscore",
        now=now,
        result=first,
    )
    frame.loc[1700, "value"] += 40  # the next run finds one more
    second = RunSettings(dataset, "ops.csv", "cpu", "zscore", {"threshold": 3.5}, {})
    scored = run_detection(frame, "zscore")
    sent = alert_on_run(
        Services(config), scored, "cpu", dataset, "zscore", now=now + 60, result=second
    )
    assert sent[1:] == (1, 0)  # a new episode, over the day's budget of one email: it waits

    assert dispatch_due(Services(config), now=now + 86_400) == 1  # the next day, as the worker does

    later = Services(config).outbox.emails()[0]  # newest first
    body = later.message().get_body(("plain",)).get_content()
    opens = next(line for line in body.splitlines() if line.startswith("Open in Vigil: "))
    assert f"result={second.key}" in opens
    assert "detector=zscore" in opens
