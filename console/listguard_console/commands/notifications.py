"""`listguard notifications ...`: an account's notification center."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import CommandError
from .common import AccountOption, EndpointOption, JsonOption, StackOption, check_account, emit, stack_command

app = typer.Typer(help="An account's notification center.", no_args_is_help=True)


@app.command(name="list")
def list_notifications(
    account: AccountOption,
    unread: Annotated[bool, typer.Option("--unread", help="Only those not read yet.")] = False,
    full: Annotated[bool, typer.Option("--full", help="Print each message whole.")] = False,
    as_json: JsonOption = False,
    endpoint_url: EndpointOption = None,
    stack: StackOption = None,
) -> None:
    """Newest first."""
    with stack_command(endpoint_url, stack) as target:
        notes = list(target.notifications.list(check_account(account), unread=unread))
    documents = [
        n.model_dump(
            mode="json", include={"notification_id", "event_type", "created_at", "read", "subject", "text"}
        )
        for n in notes
    ]

    def text(console: object) -> None:
        for n in notes:
            mark = " " if n.read else "*"
            console.print(f"{mark} {n.created_at}  {n.notification_id}  [bold]{n.subject}[/]")  # type: ignore[attr-defined]
            if full:
                console.print(n.text)  # type: ignore[attr-defined]
        if not notes:
            console.print("no notifications")  # type: ignore[attr-defined]

    emit(as_json, documents, text)


@app.command()
def read(
    notification_id: Annotated[str, typer.Argument(metavar="ID", help="The notification id (n-...).")],
    account: AccountOption,
    as_json: JsonOption = False,
    endpoint_url: EndpointOption = None,
    stack: StackOption = None,
) -> None:
    """Mark a notification read."""
    from listguard.stores import utc_now_iso

    with stack_command(endpoint_url, stack) as target:
        if not target.notifications.mark_read(check_account(account), notification_id, now=utc_now_iso()):
            raise CommandError(f"no notification {notification_id} in account {account}")
    emit(as_json, {"notification_id": notification_id, "read": True}, lambda c: c.print("marked read"))
