"""`listguard local ...`: the local AWS built from infra/template.yaml on moto."""

from __future__ import annotations

import json
import threading
import time
from typing import Annotated

import typer

from ..errors import CommandError, one_line_errors
from ..localcloud import STACK_NAME, LocalCloud, LocalCloudError, connect

app = typer.Typer(help="The local AWS, deployed from infra/template.yaml on moto.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


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
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (1-65535).")] = 4566,
    as_json: JsonOption = False,
) -> None:
    """Run the local AWS as a server, deploy the stack, and wait until Ctrl-C.

    The port opens, and the ready line is printed, once the stack is deployed and wired.
    """
    with one_line_errors("the local AWS was stopped while it started; nothing is left running"):
        try:
            with LocalCloud.serve(port=port) as cloud:
                _describe(cloud, as_json, serving=True)
                try:
                    threading.Event().wait()
                except KeyboardInterrupt:  # the normal way to stop it
                    if not as_json:
                        typer.echo("\nStopping the local AWS.")
        except LocalCloudError as error:
            raise CommandError(str(error)) from None


@app.command()
def outputs(
    endpoint_url: Annotated[str, typer.Option(help="Endpoint of `listguard local serve`.")] = (
        "http://127.0.0.1:4566"
    ),
    as_json: JsonOption = False,
    wait: Annotated[
        float,
        typer.Option(min=0, metavar="SECONDS", help="Wait up to this long for the local AWS to answer."),
    ] = 0,
) -> None:
    """Print the stack outputs of a running local AWS (``--wait 60`` right after starting one)."""
    with one_line_errors("nothing was changed"):
        deadline = time.monotonic() + wait
        while True:
            try:
                cloud = connect(endpoint_url)
                break
            except LocalCloudError as error:
                if time.monotonic() >= deadline:
                    raise CommandError(str(error)) from None
                time.sleep(0.5)
        _describe(cloud, as_json, serving=False)
