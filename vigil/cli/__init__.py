"""The `vigil` command: serve the app, detect anomalies in a file, manage users and tokens.

One module per command group (`vigil.cli.serve`, `vigil.cli.detect`, ...), imported only when
its command runs: `vigil --version` and `vigil --help` load neither the app nor pandas.
"""

from __future__ import annotations

import importlib
import sys

import click

from vigil.detection.errors import VigilError

#: Each command: the module and name it is defined under, and its line in `vigil --help`.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "run": ("vigil.cli.serve", "run", "Serve the Vigil app."),
    "worker": ("vigil.cli.serve", "worker", "Run a Celery worker for the app."),
    "detect": ("vigil.cli.detect", "detect", "Score every row of a file; write the scores."),
    "train": ("vigil.cli.detect", "train", "Fit a detector on a series and save it."),
    "evaluate": ("vigil.cli.evaluate", "evaluate", "Judge detectors on a file's labels."),
    "replay": ("vigil.cli.replay", "replay", "Replay a file into a running Vigil's API."),
    "alerts": ("vigil.cli.alerts", "alerts", "Email alerts: deliver what waits."),
    "rules": ("vigil.cli.rules", "rules", "Alert rules as code: export, apply."),
    "db": ("vigil.cli.db", "db", "The database Vigil keeps its state in."),
    "users": ("vigil.cli.users", "users", "Who may sign in, with which role."),
    "tokens": ("vigil.cli.tokens", "tokens", "API tokens: make, list, revoke."),
}


#: Where the group keeps the command line after its own options.
REST = "vigil.rest"


class VigilCommand(click.Group):
    """Loads each command when it runs, and turns Vigil's own errors (and settings that are
    not valid) into one line each and exit status 2."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute, _ = COMMANDS[name]
        return getattr(importlib.import_module(module), attribute)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The list of commands from COMMANDS, without loading them."""
        rows = [(name, summary) for name, (_, _, summary) in sorted(COMMANDS.items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context):
        from pydantic import ValidationError

        # the command and its arguments, for `main` to find --data-dir in (Click empties
        # ctx.args before it calls the group's own callback)
        ctx.meta[REST] = [*getattr(ctx, "_protected_args", ()), *ctx.args]
        try:
            return super().invoke(ctx)
        except VigilError as error:
            click.echo(f"vigil: error: {error}", err=True)
            sys.exit(2)
        except ValidationError as error:  # a setting from the environment: one line each
            from vigil.settings import settings_problems

            for line in settings_problems(error):
                click.echo(f"vigil: error: {line}", err=True)
            sys.exit(2)


@click.group(cls=VigilCommand)
@click.version_option(package_name="vigil")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Vigil: anomaly detection for time series.

    Data (data sets, models, the database, keys) is kept in the per-user data directory
    each command names first, on stderr, unless VIGIL_DATA_DIR (or --data-dir) says otherwise.
    """
    click.echo(_where(_option(ctx.meta.get(REST, []), "--data-dir")), err=True)


def _option(args: list[str], name: str) -> str | None:
    """The value a command's option is given among the arguments, None when not given."""
    for index, arg in enumerate(args):
        if arg == name and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(f"{name}="):
            return arg.split("=", 1)[1]
    return None


def _where(data_dir: str | None) -> str:
    """One line on the data directory and database a command uses (no password shown)."""
    from pydantic import ValidationError

    from vigil.settings import load_settings
    from vigil.storage.database import hide_password

    try:
        config = load_settings(data_dir=data_dir)
    except ValidationError:
        return "vigil: the settings are not valid (the command says why)"
    return f"vigil: data in {config.data_dir}, database {hide_password(config.database_url)}"
