"""Selectors: what a person types in a filter box selects the series they mean, and what
cannot be read is named."""

from __future__ import annotations

import pytest

from vigil.selectors import Selector, SelectorError

LABELS = {"env": "prod", "service": "checkout", "host": "web-3"}


@pytest.mark.parametrize(
    ("typed", "name", "labels", "selected"),
    [
        ("", "anything", {}, True),
        ("latency", "api.Latency.p99", {}, True),  # a part of the name, the case aside
        ("api-*", "api-0001", {}, True),
        ("api-*", "web-api-0001", {}, False),  # a pattern matches the whole name
        ("API-*", "api-0001", {}, False),  # ... as written
        ("db-0?", "db-07", {}, True),
        ("env=prod", "cpu", LABELS, True),
        ("env=dev", "cpu", LABELS, False),
        ("env!=dev", "cpu", LABELS, True),
        ("service=~check.*", "cpu", LABELS, True),
        ("service=~check", "cpu", LABELS, False),  # anchored at both ends
        ("host!~web-[0-9]+", "cpu", LABELS, False),
        ("team=", "cpu", LABELS, True),  # a label it lacks reads as empty
        ("team!=", "cpu", LABELS, False),
        ("cpu env=prod", "cpu.total", LABELS, True),  # every word must hold
        ("cpu env=dev", "cpu.total", LABELS, False),
        ('"region=eu west"', "cpu", {"region": "eu west"}, True),  # quoted: spaces kept
    ],
)
def test_a_filter_selects_what_it_says(typed, name, labels, selected):
    assert Selector.parse(typed).selects(name, labels) is selected


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("env=~[", "env=~[: not a regular expression"),
        ("9env=prod", "'9env' is not a label name"),
        ('"unclosed', "A quote is not closed"),
        ("x" * 1001, "A filter is at most 1,000 characters long."),
    ],
)
def test_a_filter_that_cannot_be_read_says_what_to_fix(typed, message):
    with pytest.raises(SelectorError, match=message.replace("[", r"\[")):
        Selector.parse(typed)


def test_a_selector_reads_back_as_it_was_typed():
    typed = "api-* env=prod 'region=eu west' service=~web|api"
    assert Selector.parse(str(Selector.parse(typed))) == Selector.parse(typed)
