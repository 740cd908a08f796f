"""What every command that acts on a deployed stack shares: options, the stack, output, errors."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..errors import CommandError, one_line_errors
from ..stack import ENDPOINT_VARIABLE, STACK_VARIABLE

if TYPE_CHECKING:
    from rich.console import Console

    from ..stack import Stack

AccountOption = Annotated[str, typer.Option("--account", help="The account id.", show_default=False)]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of text.")]
EndpointOption = Annotated[
    str | None,
    typer.Option(
        "--endpoint-url",
        envvar=ENDPOINT_VARIABLE,
        help="A local cloud served by `listguard local serve` (default: a real AWS account's stack).",
        show_default=False,
    ),
]
StackOption = Annotated[
    str | None,
    typer.Option("--stack", envvar=STACK_VARIABLE, help="The stack's name on AWS.", show_default="listguard"),
]


@contextlib.contextmanager
def stack_command(endpoint_url: str | None, stack_name: str | None) -> Iterator[Stack]:
    """The stack to act on, with every failure turned into one ``error:`` line."""
    from listguard.domain.keys import InvalidKeyError
    from listguard.flows.imports.lifecycle import LifecycleError

    from ..stack import resolve

    with one_line_errors("nothing was left half-done: run the command again"):
        try:
            yield resolve(endpoint_url, stack_name)
        except (InvalidKeyError, LifecycleError) as error:
            raise CommandError(str(error)) from None


def emit(as_json: bool, document: Any, text: Callable[[Console], None]) -> None:
    """One JSON document on stdout, or the text that ``text`` prints."""
    if as_json:
        typer.echo(json.dumps(document, default=str, ensure_ascii=False))
        return
    from rich.console import Console

    text(Console(highlight=False))


def check_account(account: str) -> str:
    from listguard.domain.keys import InvalidKeyError, check_account_id

    try:
        return check_account_id(account)
    except InvalidKeyError as error:
        raise CommandError(str(error)) from None
