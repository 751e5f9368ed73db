"""Alert rules as code: a rules file reads into rules and silences or names every problem by
its line; applying it adds, changes and removes in one transaction, and twice changes nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from vigil.alerts.rulebook import (
    FROM_FILE,
    RulebookError,
    dump_rulebook,
    plan,
    read_rulebook,
)
from vigil.alerts.rules import Change, Rule, RuleStore, Silence
from vigil.alerts.webhooks import Webhook

GOOD = """\
rules:
  - name: Checkout latency
    series: "checkout-*"
    labels: ["env=prod", "service=~web|api"]
    recipients: [ops@example.com, oncall@example.com]
    min_severity: 0.95
    direction: above
  - name: Everything in prod
    labels: [env=prod]
    recipients: [ops@example.com]
    webhooks:
      - https://hooks.example.org/vigil
      - {url: "https://hooks.slack.com/services/T0/B0/SECRET", format: slack}
    dataset: live
    paused: true
silences:
  - rule: Checkout latency
    series: checkout-eu-1
    until: "2099-01-01T00:00:00Z"
"""

BAD = """\
rules:
  - name: Checkout latency
    series: "checkout-*"
    labels: ["env=prod", "service=~(web", "nomatcher"]
    recipents: [ops@example.com]
    min_severity: 1.5
  - name: Second
    recipients: [not-an-address]
    direction: sideways
    detector: magic
    daily_budget: 2.5
    paused: maybe
  - name: Second
    recipients: [a@example.com]
silences:
  - rule: Nobody
    series: x
    until: "2099-01-01T00:00:00Z"
  - rule: Second
    series: y
    until: "2099-01-01T00:00:00"
"""


def test_a_rules_file_reads_into_rules_and_silences():
    book = read_rulebook(GOOD)

    checkout, prod = book.rules
    assert checkout == Rule(
        name="Checkout latency",
        series_pattern="checkout-*",
        recipients=("ops@example.com", "oncall@example.com"),
        labels=("env=prod", "service=~web|api"),
        min_severity=0.95,
        direction="above",
        created=checkout.created,
    )
    assert (prod.series_pattern, prod.dataset, prod.paused) == ("*", "live", True)
    assert prod.webhooks == (
        Webhook("https://hooks.example.org/vigil"),
        Webhook("https://hooks.slack.com/services/T0/B0/SECRET", "slack"),
    )
    assert book.silences[0].until == datetime(2099, 1, 1, tzinfo=UTC)


def test_every_problem_is_named_by_its_line_and_nothing_is_read():
    with pytest.raises(RulebookError) as raised:
        read_rulebook(BAD, "team.yaml")

    assert raised.value.problems == [
        "team.yaml:2: rule 'Checkout latency': give its recipients (email addresses), its "
        "webhooks, or both.",
        "team.yaml:4: rule 'Checkout latency': labels: service=~(web: not a regular expression "
        "(missing ), unterminated subpattern at position 0).",
        "team.yaml:4: rule 'Checkout latency': labels: 'nomatcher' is not a label matcher: "
        "write label=value, label!=value, label=~regex or label!~regex.",
        "team.yaml:5: a rule: unknown field 'recipents' (did you mean 'recipients'?); the fields "
        "are name, series, labels, recipients, webhooks, min_severity, direction, detector, "
        "dataset, group_minutes, resolve_minutes, daily_budget, paused.",
        "team.yaml:6: rule 'Checkout latency': min_severity must be from 0 to 1, not 1.5.",
        "team.yaml:8: rule 'Second': recipients: 'not-an-address' is not an email address.",
        "team.yaml:9: rule 'Second': direction 'sideways' is not one of either, above, below.",
        "team.yaml:10: rule 'Second': detector 'magic' is not one of auto, ensemble, zscore, "
        "iforest, stl (or model:ID).",
        "team.yaml:11: rule 'Second': daily_budget must be a whole number.",
        "team.yaml:12: rule 'Second': paused must be true or false.",
        "team.yaml:16: silence: there is no rule called 'Nobody' in the file.",
        "team.yaml:21: silence: until '2099-01-01T00:00:00' has no zone: add Z for UTC, or an "
        "offset.",
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "rules:\n  - name: a\n    recipients: [a@b.c]\n  bad",
            "x.yaml:4: not YAML that can be read",
        ),
        ("rules: {name: a}", "x.yaml:1: rules must be a list."),
        ("rule:\n  - name: a", "x.yaml:1: the file: unknown field 'rule' (did you mean 'rules'?)"),
        (
            "rules:\n  - name: a\n    name: b\n    recipients: [a@b.c]",
            "x.yaml:3: a rule: 'name' is given twice.",
        ),
        (
            "rules:\n  - name: a\n    recipients: [a@b.c]\n  - name: a\n    recipients: [a@b.c]",
            "x.yaml:4: rule 'a': the name is used already (line 2); each rule needs its own.",
        ),
    ],
)
def test_a_file_that_is_not_a_rulebook_says_where(text, problem):
    with pytest.raises(RulebookError) as raised:
        read_rulebook(text, "x.yaml")
    assert raised.value.problems[0].startswith(problem)


def test_applying_adds_changes_and_removes_and_twice_changes_nothing(database):
    store = RuleStore(database)
    by_hand = store.save(Rule("Made on the page", "cpu*", ("me@example.com",)))
    first = read_rulebook(GOOD)

    store.apply(plan(first, store.rules(), store.silences()))

    stored = {rule.name: rule for rule in store.rules()}
    assert set(stored) == {"Made on the page", "Checkout latency", "Everything in prod"}
    assert stored["Checkout latency"].source == FROM_FILE
    assert stored["Made on the page"].source is None
    assert store.silences() == {
        (stored["Checkout latency"].id, "checkout-eu-1"): datetime(2099, 1, 1, tzinfo=UTC)
    }
    assert plan(first, store.rules(), store.silences()) == []  # applied: nothing left to do

    second = read_rulebook(
        GOOD.replace("min_severity: 0.95", "min_severity: 0.97")
        .replace("  - name: Everything in prod", "  - name: Made on the page")
        .replace("series: checkout-eu-1", "series: checkout-us-1")
    )
    changes = plan(second, store.rules(), store.silences())

    assert [str(change) for change in changes] == [
        "~ change rule 'Checkout latency': min_severity 0.95 -> 0.97",
        "~ change rule 'Made on the page': series cpu* -> *; recipients [me@example.com] -> "
        "[ops@example.com]; paused False -> True; dataset none -> live; labels [] -> [env=prod]; "
        "webhooks [] -> [https://hooks.example.org/…, https://hooks.slack.com/… (slack)]; "
        "comes from the file now",
        "- remove rule 'Everything in prod'",
        "~ silence 'checkout-us-1' for rule 'Checkout latency' until 2099-01-01T00:00:00+00:00",
    ]
    store.apply(changes)

    stored = {rule.name: rule for rule in store.rules()}
    assert set(stored) == {"Made on the page", "Checkout latency"}
    assert stored["Made on the page"].id == by_hand.id  # the same rule, now the file's
    assert stored["Checkout latency"].min_severity == 0.97
    assert plan(second, store.rules(), store.silences()) == []


def test_a_plan_that_fails_halfway_changes_nothing(database):
    store = RuleStore(database)
    good = replace(read_rulebook(GOOD).rules[0], source=FROM_FILE)
    broken = replace(good, name="broken", min_severity=2.0)  # the database refuses it

    with pytest.raises(Exception, match=r"rules_min_severity|CHECK constraint"):
        store.apply([Change("add", good), Change("add", broken)])

    assert store.rules() == []


def test_an_export_reads_back_as_the_same_rules(database):
    store = RuleStore(database)
    store.apply(plan(read_rulebook(GOOD), [], {}))
    store.save(Rule("By hand", "db-?", ("me@example.com",), group_minutes=5))
    names = {rule.id: rule.name for rule in store.rules()}
    # the store's silences, as `vigil rules export` writes them
    silences = [Silence(names[r], s, until) for (r, s), until in store.silences().items()]

    exported = dump_rulebook(store.rules(), silences)
    again = plan(read_rulebook(exported), store.rules(), store.silences())

    assert [str(change) for change in again] == ["~ change rule 'By hand': comes from the file now"]


WEBHOOKS = """\
rules:
  - name: Chat only
    webhooks:
      - https://hooks.example.org/a
      - ftp://files.example.org/drop
      - {url: "https://ops:hunter2@hooks.example.org/b"}
      - {url: "https://hooks.example.org/c", format: teams}
      - {url: "https://hooks.example.org/d", fromat: slack}
      - https://hooks.example.org/a
      - [not, a, url]
"""


def test_webhook_problems_are_named_by_line_without_their_paths():
    with pytest.raises(RulebookError) as raised:
        read_rulebook(WEBHOOKS, "hooks.yaml")

    assert raised.value.problems == [
        "hooks.yaml:5: rule 'Chat only': webhooks: 'ftp://files.example.org/…' is not an http "
        "or https address (its scheme is ftp).",
        "hooks.yaml:6: rule 'Chat only': webhooks: a webhook address holds no user or "
        "password: put a token in its path instead.",
        "hooks.yaml:7: rule 'Chat only': webhooks: a webhook's format is one of json, slack, "
        "not 'teams'.",
        "hooks.yaml:8: rule 'Chat only': webhooks: unknown field 'fromat' (did you mean "
        "'format'?); the fields are url, format.",
        "hooks.yaml:9: rule 'Chat only': webhooks: https://hooks.example.org/… is given twice.",
        "hooks.yaml:10: rule 'Chat only': webhooks must be text.",
    ]
    assert "hunter2" not in str(raised.value)


def test_a_plan_shows_webhooks_without_their_paths(database):
    store = RuleStore(database)
    store.apply(plan(read_rulebook(GOOD), [], {}))
    moved = GOOD.replace("services/T0/B0/SECRET", "services/T0/B0/OTHER")

    (change,) = plan(read_rulebook(moved), store.rules(), store.silences())

    assert str(change) == (
        "~ change rule 'Everything in prod': webhooks: the address of "
        "https://hooks.slack.com/… (slack) changed"
    )
    store.apply([change])
    assert store.rules()[1].webhooks[1].url.endswith("/OTHER")
