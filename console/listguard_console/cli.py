"""The `listguard` command: one Typer app; each command group lives in its own module."""

from __future__ import annotations

import typer

from .commands import accounts, contacts, demo, imports, local, notifications, reviews, verify
from .commands import exports as exports_commands
from .commands import remediate as remediate_commands
from .commands.campaigns import app as campaigns_app
from .commands.feedback import app as feedback_app

app = typer.Typer(
    name="listguard",
    help="Operate listguard: verify contact imports, run the local AWS, tell the demo story.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command(name="verify")(verify.verify)
app.command(name="demo")(demo.demo)
app.add_typer(imports.app, name="imports")
app.add_typer(reviews.app, name="reviews")
app.add_typer(contacts.app, name="contacts")
app.add_typer(notifications.app, name="notifications")
app.add_typer(accounts.app, name="accounts")
app.add_typer(local.app, name="local")
app.add_typer(remediate_commands.app, name="remediate")
app.add_typer(exports_commands.app, name="exports")
app.add_typer(campaigns_app, name="campaigns")
app.add_typer(feedback_app, name="feedback")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
