"""`listguard local ...`: the local AWS built from infra/template.yaml on moto."""

from __future__ import annotations

import json
import threading
from typing import Annotated

import typer

from ..localcloud import STACK_NAME, LocalCloud, LocalCloudError, connect

app = typer.Typer(help="The local AWS, deployed from infra/template.yaml on moto.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _describe(cloud: LocalCloud, as_json: bool, *, serving: bool) -> None:
    example = (
        f"aws --endpoint-url {cloud.endpoint_url} cloudformation describe-stacks --stack-name {STACK_NAME}"
    )
    if as_json:
        typer.echo(
            json.dumps(
                {"endpoint_url": cloud.endpoint_url, "stack_name": cloud.stack_name, "outputs": cloud.outputs}
            )
        )
        return
    typer.echo(f"Local AWS at {cloud.endpoint_url}  (stack {cloud.stack_name}, region {cloud.region})")
    width = max(map(len, cloud.outputs), default=0)
    for key, value in sorted(cloud.outputs.items()):
        typer.echo(f"  {key:<{width}}  {value}")
    if serving:
        typer.echo(f"\nTry:  {example}")
        typer.echo("Press Ctrl-C to stop.")


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 4566,
    as_json: JsonOption = False,
) -> None:
    """Run the local AWS as a server, deploy the stack, and wait until Ctrl-C."""
    try:
        with LocalCloud.serve(port=port) as cloud:
            _describe(cloud, as_json, serving=True)
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                if not as_json:
                    typer.echo("\nStopping the local AWS.")
    except LocalCloudError as exc:
        raise _fail(str(exc)) from None
    except KeyboardInterrupt:  # Ctrl-C while still deploying
        raise typer.Exit(130) from None


@app.command()
def outputs(
    endpoint_url: Annotated[str, typer.Option(help="Endpoint of `listguard local serve`.")] = (
        "http://127.0.0.1:4566"
    ),
    as_json: JsonOption = False,
) -> None:
    """Print the stack outputs of a running local AWS."""
    try:
        cloud = connect(endpoint_url)
    except LocalCloudError as exc:
        raise _fail(str(exc)) from None
    _describe(cloud, as_json, serving=False)
