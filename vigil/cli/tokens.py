"""`vigil tokens`: API tokens, made, listed and revoked."""

from __future__ import annotations

import click

from vigil.cli.common import services_for
from vigil.settings import load_settings
from vigil.stores.tokens import DEFAULT_SCOPES, SCOPE_NOTES, TokenStore


def _token_store() -> TokenStore:
    return services_for(load_settings()).token_store


@click.group()
def tokens() -> None:
    """Ingest API tokens, made and revoked here or on the Admin page."""


@tokens.command("add")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    default=",".join(DEFAULT_SCOPES),
    show_default=True,
    help="What the token may do, comma-separated: "
    + "; ".join(f"{scope}: {note}" for scope, note in SCOPE_NOTES.items())
    + ".",
)
def tokens_add(name: str, scopes: str) -> None:
    """Make a token for NAME (what will use it); it is printed this once."""
    record, token = _token_store().create(name, "vigil tokens", scopes=scopes)
    click.echo(
        f"Made token {record.id} for {record.name} ({', '.join(record.scopes)}); "
        "it is not shown again:"
    )
    click.echo(token)


@tokens.command("list")
def tokens_list() -> None:
    """The tokens made here (their first characters only)."""
    for token in _token_store().tokens():
        state = "active" if token.active else "revoked"
        click.echo(f"{token.id}\t{token.hint}…\t{state}\t{','.join(token.scopes)}\t{token.name}")


@tokens.command("revoke")
@click.argument("token_id", type=int)
def tokens_revoke(token_id: int) -> None:
    """Refuse token TOKEN_ID from now on."""
    revoked = _token_store().revoke(token_id)
    click.echo(f"Revoked token {revoked.id} for {revoked.name}")
