"""`vigil users`: who may sign in, with which role."""

from __future__ import annotations

import sys

import click

from vigil.services import Services
from vigil.settings import load_settings
from vigil.stores.users import ROLE_NOTES, ROLES


@click.group()
def users() -> None:
    """Who may sign in, with which role (viewer, analyst or admin)."""


@users.command("add")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(ROLES),
    default="viewer",
    show_default=True,
    help="; ".join(f"{role}: {note}" for role, note in ROLE_NOTES.items()),
)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (for scripts)."
)
def users_add(name: str, role: str, password_stdin: bool) -> None:
    """Add a user, or give a known one a new password and role."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    store = Services(load_settings()).user_store
    known = store.get(name) is not None
    user = store.add(name, password, role)
    click.echo(f"{'Updated' if known else 'Added'} {user.name} ({user.role}) in {store.path}")


@users.command("remove")
@click.argument("name")
def users_remove(name: str) -> None:
    """Remove a user; they are signed out at their next request."""
    store = Services(load_settings()).user_store
    store.remove(name)
    click.echo(f"Removed {name}")


@users.command("list")
def users_list() -> None:
    """The users and their roles."""
    store = Services(load_settings()).user_store
    listed = store.users()
    if not listed:
        click.echo(
            f"No users yet ({store.path}): add one with 'vigil users add NAME --role admin'."
        )
    for user in listed:
        click.echo(f"{user.name}\t{user.role}")
