"""Alert rules as code: a YAML file of rules and silences, read with every problem named by
its line, and the plan that makes the stored rules match it.

    rules:
      - name: Checkout latency
        series: "checkout-*"            # a name or shell-style pattern (default: every series)
        labels: ["env=prod", "service=~web|api"]   # label matchers, all of which hold
        recipients: [ops@example.com]
        webhooks:                        # notified of each episode, opened and resolved
          - https://hooks.example.com/vigil              # Vigil's JSON, signed
          - {url: "https://hooks.slack.com/services/T0/B0/x", format: slack}
        min_severity: 0.9                # and direction, detector, dataset, group_minutes,
                                         # resolve_minutes, daily_budget, paused
    silences:
      - rule: Checkout latency
        series: checkout-eu-1
        until: "2026-12-02T00:00:00Z"

`read_rulebook` either returns a `Rulebook` or raises `RulebookError` listing every problem
(an unknown field, a bad pattern or matcher, neither recipients nor webhooks, a webhook
address that is not http or https, a number out of bounds, a name used twice), each with its
line: nothing is applied from a file that has one. `plan` compares a rulebook with the stored
rules: rules are matched by name; a rule in the file is added, changed (a rule made on the
Alerts page or over the API becomes the file's) or left; a rule that came from a file and is
no longer in it is removed. Applying the same file twice changes nothing the second time.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any

import yaml

from vigil.alerts.rules import DIRECTIONS, Change, Rule, Silence
from vigil.alerts.webhooks import FORMATS, MAX_WEBHOOKS, Webhook, webhook
from vigil.selectors import SelectorError, parse_matcher

#: Where a rule came from: a rules file (`vigil rules apply`) or anywhere else (the Alerts
#: page, the API), None.
FROM_FILE = "file"
#: Limits on what a file may hold.
MAX_RULES = 1_000
MAX_NAME = 200
MAX_RECIPIENTS = 50
MAX_TEXT_BYTES = 1_000_000
#: The fields of a rule in a file, with what each holds.
RULE_FIELDS = {
    "name": "the rule's name, unique",
    "series": "a series name or shell-style pattern such as checkout-* (default: *)",
    "labels": 'label matchers such as ["env=prod", "service=~web|api"], all of which hold',
    "recipients": "email addresses",
    "webhooks": "addresses notified of each episode: a URL, or url and format (json or slack)",
    "min_severity": "alert from this severity on, 0 to 1 (default 0.9)",
    "direction": f"one of {', '.join(DIRECTIONS)} (default either)",
    "detector": "alert only on runs by this detector or model:ID (default: the series' own)",
    "dataset": "alert only on this data set's series, live for the live series (default: any)",
    "group_minutes": "gather a series' episodes this long into one email (default 15)",
    "resolve_minutes": "an episode is over after this long without a flag (default 60)",
    "daily_budget": "at most this many emails a day (default 20)",
    "paused": "true to keep the rule without alerting (default false)",
}
WEBHOOK_FIELDS = {
    "url": "the http or https address posted to",
    "format": f"one of {', '.join(FORMATS)} (default json)",
}
SILENCE_FIELDS = {
    "rule": "the name of the rule it mutes",
    "series": "the series it mutes",
    "until": "when it ends: an ISO 8601 time with its zone",
}


class RulebookError(ValueError):
    """A rules file that cannot be applied; `problems` names each, with its line."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class Rulebook:
    rules: tuple[Rule, ...] = ()
    silences: tuple[Silence, ...] = ()


@dataclass
class _Reader:
    """Collects the problems of one file, each with its line."""

    source: str
    problems: list[str] = field(default_factory=list)
    #: Whether problems name their line (not for values that came as JSON).
    lines: bool = True

    def problem(self, node: yaml.Node | None, text: str) -> None:
        line = "" if node is None or not self.lines else f":{node.start_mark.line + 1}"
        self.problems.append(f"{self.source}{line}: {text}")


def read_rulebook(text: str, source: str = "rules.yaml") -> Rulebook:
    """The rules and silences of a rules file's text; RulebookError with every problem."""
    reader = _Reader(source)
    if len(text.encode()) > MAX_TEXT_BYTES:
        raise RulebookError([f"{source}: a rules file is at most {MAX_TEXT_BYTES:,} bytes."])
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = "" if mark is None else f":{mark.line + 1}"
        problem = f"{source}{line}: not YAML that can be read ({_reason(error)})."
        raise RulebookError([problem]) from None
    if root is None:
        return Rulebook()
    top = _mapping(reader, root, {"rules": "the rules", "silences": "the silences"}, "the file")
    rules: list[Rule] = []
    names: dict[str, yaml.Node] = {}
    rule_nodes = _sequence(reader, top.get("rules"), "rules")
    if len(rule_nodes) > MAX_RULES:
        reader.problem(top["rules"], f"at most {MAX_RULES:,} rules, not {len(rule_nodes):,}.")
    for node in rule_nodes[:MAX_RULES]:
        rule = _rule(reader, node)
        if rule is None:
            continue
        if rule.name in names:
            reader.problem(
                node,
                f"rule {rule.name!r}: the name is used already (line "
                f"{names[rule.name].start_mark.line + 1}); each rule needs its own.",
            )
            continue
        names[rule.name] = node
        rules.append(rule)
    silences = []
    for node in _sequence(reader, top.get("silences"), "silences"):
        silence = _silence(reader, node)
        if silence is None:
            continue
        if silence.rule not in names:
            reader.problem(node, f"silence: there is no rule called {silence.rule!r} in the file.")
            continue
        silences.append(silence)
    if reader.problems:
        raise RulebookError(sorted(reader.problems, key=_line_of))
    return Rulebook(tuple(rules), tuple(silences))


def read_rule(values: Mapping[str, Any], source: str = "the rule") -> Rule:
    """One rule from plain values (as the API takes them); RulebookError with each problem."""
    text = yaml.safe_dump(dict(values), allow_unicode=True, sort_keys=False)
    reader = _Reader(source, lines=False)
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    rule = None if node is None else _rule(reader, node)
    if reader.problems or rule is None:
        raise RulebookError(reader.problems)
    return rule


def rule_values(rule: Rule) -> dict[str, Any]:
    """A rule as a file (and the API) writes it: only what differs from the defaults, but its
    name, series and recipients."""
    default = Rule(name=rule.name, series_pattern="*", recipients=())
    values: dict[str, Any] = {"name": rule.name, "series": rule.series_pattern}
    if rule.labels:
        values["labels"] = list(rule.labels)
    values["recipients"] = list(rule.recipients)
    if rule.webhooks:
        values["webhooks"] = [
            hook.url if hook.format == "json" else {"url": hook.url, "format": hook.format}
            for hook in rule.webhooks
        ]
    for name in (
        "min_severity",
        "direction",
        "detector",
        "dataset",
        "group_minutes",
        "resolve_minutes",
        "daily_budget",
        "paused",
    ):
        value = getattr(rule, name)
        if value != getattr(default, name):
            values[name] = value
    return values


def dump_rulebook(rules: Sequence[Rule], silences: Sequence[Silence]) -> str:
    """The rules and silences as a rules file that `read_rulebook` reads back the same."""
    book: dict[str, Any] = {"rules": [rule_values(rule) for rule in rules]}
    if silences:
        book["silences"] = [
            {
                "rule": s.rule,
                "series": s.series,
                "until": s.until.astimezone(UTC).isoformat(timespec="seconds"),
            }
            for s in silences
        ]
    header = "# Vigil alert rules: check with `vigil rules apply FILE --dry-run`, then apply.\n"
    return header + yaml.safe_dump(book, allow_unicode=True, sort_keys=False, width=100)


def plan(
    book: Rulebook,
    stored: Sequence[Rule],
    silences: Mapping[tuple[int, str], datetime],
    now: datetime | None = None,
) -> list[Change]:
    """What makes the stored rules and silences match the file: adds, changes and removals
    of rules by name, then silences that are new or end at another time. Silences that have
    ended are left out."""
    moment = now or datetime.now(UTC)
    by_name = {rule.name: rule for rule in stored}
    changes: list[Change] = []
    kept = {rule.name for rule in book.rules}
    for rule in book.rules:
        found = by_name.get(rule.name)
        wanted = replace(rule, source=FROM_FILE)
        if found is None:
            changes.append(Change("add", wanted))
            continue
        wanted = replace(
            wanted, id=found.id, created=found.created, silenced_until=found.silenced_until
        )
        differences = _differences(found, wanted)
        if differences:
            changes.append(Change("change", wanted, tuple(differences)))
    for rule in stored:
        if rule.source == FROM_FILE and rule.name not in kept:
            changes.append(Change("remove", rule))
    for silence in book.silences:
        if silence.until <= moment:
            continue
        known = by_name.get(silence.rule)
        current = (
            None if known is None or known.id is None else silences.get((known.id, silence.series))
        )
        if current is None or current != silence.until:
            target = known or next(r for r in book.rules if r.name == silence.rule)
            changes.append(Change("silence", target, silence=silence))
    return changes


def _differences(found: Rule, wanted: Rule) -> list[str]:
    words = []
    for item in fields(Rule):
        if item.name in ("id", "created", "silenced_until"):
            continue
        before, after = getattr(found, item.name), getattr(wanted, item.name)
        if before != after:
            name = "series" if item.name == "series_pattern" else item.name
            if item.name == "source":
                words.append("comes from the file now")
            elif _shown(before) == _shown(after):  # webhooks whose hidden paths changed
                moved = [hook_words(a) for a, b in zip(before, after, strict=False) if a != b]
                words.append(f"webhooks: the address of {', '.join(moved)} changed")
            else:
                words.append(f"{name} {_shown(before)} -> {_shown(after)}")
    return words


def _shown(value: object) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(map(_shown, value)) + "]"
    if isinstance(value, Webhook):  # its path may be a password: not on a terminal
        return hook_words(value)
    return "none" if value is None else str(value)


def hook_words(hook: Webhook) -> str:
    """A webhook as people are shown it: 'https://hooks.example.org/… (slack)'."""
    return hook.shown if hook.format == "json" else f"{hook.shown} ({hook.format})"


def _rule(reader: _Reader, node: yaml.Node) -> Rule | None:
    values = _mapping(reader, node, RULE_FIELDS, "a rule")
    if not values:
        return None
    before = len(reader.problems)
    name = _text(reader, values.get("name"), "name", required=True, most=MAX_NAME)
    label = f"rule {name!r}" if name else "a rule"
    pattern = _text(reader, values.get("series"), f"{label}: series", most=MAX_NAME) or "*"
    matchers = []
    for item in _sequence(reader, values.get("labels"), f"{label}: labels"):
        word = _text(reader, item, f"{label}: labels", required=True, most=1_000)
        if not word:
            continue
        try:
            matchers.append(parse_matcher(word).written)
        except SelectorError as error:
            reader.problem(item, f"{label}: labels: {error}")
    hooks = _webhooks(reader, values.get("webhooks"), label)
    recipients = []
    recipient_nodes = _sequence(reader, values.get("recipients"), f"{label}: recipients")
    if not recipient_nodes and "recipients" not in values and "webhooks" not in values:
        reader.problem(
            node, f"{label}: give its recipients (email addresses), its webhooks, or both."
        )
    if len(recipient_nodes) > MAX_RECIPIENTS:
        reader.problem(values["recipients"], f"{label}: at most {MAX_RECIPIENTS} recipients.")
    for item in recipient_nodes[:MAX_RECIPIENTS]:
        address = _text(reader, item, f"{label}: recipients", required=True, most=320)
        if address and ("@" not in address or any(c.isspace() for c in address)):
            reader.problem(item, f"{label}: recipients: {address!r} is not an email address.")
        elif address:
            recipients.append(address)
    hook_nodes = values.get("webhooks")
    some_hooks = isinstance(hook_nodes, yaml.SequenceNode) and bool(hook_nodes.value)
    if "recipients" in values and not recipient_nodes and not some_hooks:
        reader.problem(values["recipients"], f"{label}: give at least one recipient or webhook.")
    severity = _number(reader, values.get("min_severity"), f"{label}: min_severity", 0, 1)
    group = _number(reader, values.get("group_minutes"), f"{label}: group_minutes", 0, 10_080)
    resolve = _number(reader, values.get("resolve_minutes"), f"{label}: resolve_minutes", 1, 10_080)
    budget = _number(
        reader, values.get("daily_budget"), f"{label}: daily_budget", 0, 10_000, whole=True
    )
    direction = _text(reader, values.get("direction"), f"{label}: direction")
    if direction is not None and direction not in DIRECTIONS:
        reader.problem(
            values["direction"],
            f"{label}: direction {direction!r} is not one of {', '.join(DIRECTIONS)}.",
        )
    detector = _text(reader, values.get("detector"), f"{label}: detector", most=200)
    if detector is not None and not detector.startswith("model:"):
        from vigil.detection.registry import DETECTORS

        if detector not in DETECTORS:
            reader.problem(
                values["detector"],
                f"{label}: detector {detector!r} is not one of {', '.join(DETECTORS)} "
                "(or model:ID).",
            )
    dataset = _text(reader, values.get("dataset"), f"{label}: dataset", most=200)
    paused = _flag(reader, values.get("paused"), f"{label}: paused")
    if len(reader.problems) > before or not name:
        return None
    return Rule(
        name=name,
        series_pattern=pattern,
        recipients=tuple(recipients),
        webhooks=tuple(hooks),
        labels=tuple(matchers),
        detector=detector,
        min_severity=0.9 if severity is None else severity,
        group_minutes=15.0 if group is None else group,
        resolve_minutes=60.0 if resolve is None else resolve,
        daily_budget=20 if budget is None else int(budget),
        paused=bool(paused),
        dataset=dataset,
        direction=direction or "either",
    )


def _webhooks(reader: _Reader, node: yaml.Node | None, label: str) -> list[Webhook]:
    """A rule's webhooks: each a URL (Vigil's JSON) or a mapping of url and format."""
    what = f"{label}: webhooks"
    nodes = _sequence(reader, node, what)
    if len(nodes) > MAX_WEBHOOKS:
        reader.problem(node, f"{what}: at most {MAX_WEBHOOKS}.")
    hooks: list[Webhook] = []
    for item in nodes[:MAX_WEBHOOKS]:
        if isinstance(item, yaml.MappingNode):
            values = _mapping(reader, item, WEBHOOK_FIELDS, what)
            where = values.get("url", item)
            url = _text(reader, values.get("url"), f"{what}: url", required=True, most=5_000)
            format_node = values.get("format")
            format = _text(reader, format_node, f"{what}: format") or "json"
        else:
            where = format_node = item
            url = _text(reader, item, what, required=True, most=5_000)
            format = "json"
        if not url:
            continue
        try:
            hook = webhook(url, format)
        except ValueError as error:
            reader.problem(where if format in FORMATS else format_node, f"{what}: {error}.")
            continue
        if any(known.url == hook.url for known in hooks):
            reader.problem(where, f"{what}: {hook.shown} is given twice.")
            continue
        hooks.append(hook)
    return hooks


def _silence(reader: _Reader, node: yaml.Node) -> Silence | None:
    values = _mapping(reader, node, SILENCE_FIELDS, "a silence")
    if not values:
        return None
    before = len(reader.problems)
    rule = _text(reader, values.get("rule"), "silence: rule", required=True, most=MAX_NAME)
    series = _text(reader, values.get("series"), "silence: series", required=True, most=1_000)
    until_text = _text(reader, values.get("until"), "silence: until", required=True)
    until = None
    if until_text:
        try:
            until = datetime.fromisoformat(until_text.replace("Z", "+00:00"))
        except ValueError:
            reader.problem(
                values["until"], f"silence: until {until_text!r} is not an ISO 8601 time."
            )
        else:
            if until.tzinfo is None:
                reader.problem(
                    values["until"],
                    f"silence: until {until_text!r} has no zone: add Z for UTC, or an offset.",
                )
    if len(reader.problems) > before or not rule or not series or until is None:
        return None
    return Silence(rule, series, until.astimezone(UTC))


def _mapping(
    reader: _Reader, node: yaml.Node | None, known: Mapping[str, str], what: str
) -> dict[str, yaml.Node]:
    """A mapping node's values by key; unknown or repeated keys are problems."""
    if node is None:
        return {}
    if not isinstance(node, yaml.MappingNode):
        reader.problem(node, f"{what} must be a mapping of fields ({', '.join(known)}).")
        return {}
    values: dict[str, yaml.Node] = {}
    for key, value in node.value:
        name = key.value if isinstance(key, yaml.ScalarNode) else str(key.value)
        if name not in known:
            close = difflib.get_close_matches(name, list(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            reader.problem(
                key, f"{what}: unknown field {name!r}{hint}; the fields are {', '.join(known)}."
            )
        elif name in values:
            reader.problem(key, f"{what}: {name!r} is given twice.")
        else:
            values[name] = value
    return values


def _sequence(reader: _Reader, node: yaml.Node | None, what: str) -> list[yaml.Node]:
    if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
        return []
    if not isinstance(node, yaml.SequenceNode):
        reader.problem(node, f"{what} must be a list.")
        return []
    return list(node.value)


def _construct(node: yaml.ScalarNode) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def _text(
    reader: _Reader,
    node: yaml.Node | None,
    what: str,
    *,
    required: bool = False,
    most: int = 10_000,
) -> str | None:
    if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
        if required:
            reader.problem(node, f"{what}: give it.")
        return None
    if not isinstance(node, yaml.ScalarNode):
        reader.problem(node, f"{what} must be text.")
        return None
    value = str(_construct(node)).strip()
    if required and not value:
        reader.problem(node, f"{what}: give it.")
        return None
    if len(value) > most:
        reader.problem(node, f"{what} is at most {most:,} characters long.")
        return None
    if not value.isprintable():
        reader.problem(node, f"{what} has a control character.")
        return None
    return value


def _number(
    reader: _Reader,
    node: yaml.Node | None,
    what: str,
    low: float,
    high: float,
    *,
    whole: bool = False,
) -> float | None:
    if node is None:
        return None
    value = _construct(node) if isinstance(node, yaml.ScalarNode) else node
    if isinstance(value, bool) or not isinstance(value, int | float):
        reader.problem(node, f"{what} must be a number from {low:g} to {high:g}.")
        return None
    if whole and value != int(value):
        reader.problem(node, f"{what} must be a whole number.")
        return None
    if not low <= value <= high:
        reader.problem(node, f"{what} must be from {low:g} to {high:g}, not {value:g}.")
        return None
    return float(value)


def _flag(reader: _Reader, node: yaml.Node | None, what: str) -> bool | None:
    if node is None:
        return None
    value = _construct(node) if isinstance(node, yaml.ScalarNode) else node
    if not isinstance(value, bool):
        reader.problem(node, f"{what} must be true or false.")
        return None
    return value


def _line_of(problem: str) -> int:
    """The line a problem names (0 when none): problems are listed in the file's order."""
    where = problem.split(": ", 1)[0].rsplit(":", 1)
    return int(where[1]) if len(where) == 2 and where[1].isdigit() else 0


def _reason(error: yaml.YAMLError) -> str:
    problem = getattr(error, "problem", None)
    return str(problem or error).strip()
