"""The `listguard` command: one Typer app; each command group lives in its own module."""

from __future__ import annotations

import typer

from .commands import demo, local, verify

app = typer.Typer(
    name="listguard",
    help="Operate listguard: verify contact imports, run the local AWS, tell the demo story.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command(name="verify")(verify.verify)
app.command(name="demo")(demo.demo)
app.add_typer(local.app, name="local")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
