"""`listguard verify` (being written in this session)."""

import typer


def verify() -> None:
    """Not built yet."""
    typer.echo("error: not built yet", err=True)
    raise typer.Exit(2)
