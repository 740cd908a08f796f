"""`listguard local ...`: the local AWS built from infra/template.yaml (being written in this session)."""

import typer

app = typer.Typer(help="The local AWS, deployed from infra/template.yaml on moto.", no_args_is_help=True)
