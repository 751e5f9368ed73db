"""`vigil rules`: alert rules as code, exported to a YAML file and applied from one."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from vigil.cli.common import services_for
from vigil.detection.errors import DataError
from vigil.settings import load_settings


@click.group()
def rules() -> None:
    """Alert rules as code: export them to a YAML file, apply one."""


@rules.command()
def export() -> None:
    """Print every rule and the silences still to end as a rules file (YAML)."""
    from datetime import UTC, datetime

    from vigil.alerts.rulebook import dump_rulebook
    from vigil.alerts.rules import Silence

    store = services_for(load_settings()).rule_store
    stored = store.rules()
    names = {rule.id: rule.name for rule in stored}
    now = datetime.now(UTC)
    silences = [
        Silence(names[rule_id], series, until)
        for (rule_id, series), until in sorted(store.silences().items())
        if rule_id in names and until > now
    ]
    click.echo(dump_rulebook(stored, silences), nl=False)


@rules.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
def apply(path: Path, dry_run: bool) -> None:
    """Make the rules match a rules file: every problem in it is named by its line and
    nothing is applied until there is none; then its rules are added or changed (matched by
    name), rules from an earlier file that it no longer holds are removed, and its silences
    set, all in one transaction. Applying the same file again changes nothing."""
    from vigil.alerts.rulebook import RulebookError, plan, read_rulebook

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"Cannot read {path}: {error}") from None
    try:
        book = read_rulebook(text, source=path.name)
    except RulebookError as error:
        count = len(error.problems)
        click.echo(
            f"vigil: error: {path.name} has {count} problem{'s' * (count != 1)}; "
            "nothing was applied:",
            err=True,
        )
        for problem in error.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(2)
    store = services_for(load_settings()).rule_store
    changes = plan(book, store.rules(), store.silences())
    if not changes:
        click.echo(f"Nothing to change: the rules match {path.name}.")
        return
    for change in changes:
        click.echo(str(change))
    if dry_run:
        click.echo(f"Dry run: {len(changes)} change{'s' * (len(changes) != 1)}, none made.")
        return
    store.apply(changes)
    click.echo(f"Applied {len(changes)} change{'s' * (len(changes) != 1)}.")


@rules.command("webhook-secret")
def webhook_secret() -> None:
    """Print the secret webhook receivers verify Vigil's signatures with (Standard
    Webhooks: whsec_ and base64). It is VIGIL_WEBHOOK_SECRET, else a key Vigil made in its
    data directory."""
    from vigil.keys import secret_of_key

    click.echo(secret_of_key(services_for(load_settings()).webhook_key))


@rules.command("test-webhook")
@click.argument("url")
@click.option(
    "--format",
    "format_",
    type=click.Choice(["json", "slack"]),
    default="json",
    show_default=True,
    help="The body: Vigil's JSON, or a Slack-compatible message.",
)
def test_webhook(url: str, format_: str) -> None:
    """Post a signed test notification to URL now, and say what it answered."""
    import secrets
    from datetime import UTC, datetime

    from vigil.alerts.outbox import DeliveryError
    from vigil.alerts.webhook_bodies import test_body
    from vigil.alerts.webhooks import post, webhook

    try:
        hook = webhook(url, format_)
    except ValueError as error:
        raise DataError(f"{error}.") from None
    services = services_for(load_settings())
    now = datetime.now(UTC)
    body = test_body(hook, services.settings.public_url, now)
    try:
        post(hook.url, f"test_{secrets.token_hex(8)}", body, services.webhook_key, now=now)
    except DeliveryError as error:
        again = "it may work later" if error.temporary else "it will not work as it is"
        raise DataError(f"{hook.shown} did not take the test ({error.reply}): {again}.") from None
    click.echo(f"{hook.shown} took the test notification.")
