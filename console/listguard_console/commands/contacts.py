"""`listguard contacts ...`: an account's contacts, by flag and subscription; blocklisting."""

from __future__ import annotations

from typing import Annotated

import typer

from .common import AccountOption, EndpointOption, JsonOption, StackOption, check_account, emit, stack_command

app = typer.Typer(help="An account's contacts.", no_args_is_help=True)


@app.command(name="list")
def list_contacts(
    account: AccountOption,
    flag: Annotated[str | None, typer.Option(help="pending, declined or none.")] = None,
    subscription: Annotated[str | None, typer.Option(help="subscribed or blocklisted.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many (default: all).")] = None,
    as_json: JsonOption = False,
    endpoint_url: EndpointOption = None,
    stack: StackOption = None,
) -> None:
    """The account's contacts (all matching ones unless limited), read page by page."""
    from listguard.domain import FlagStatus, SubscriptionStatus

    from ..errors import CommandError

    with stack_command(endpoint_url, stack) as target:
        try:
            flag_status = FlagStatus(flag) if flag else None
            subscription_status = SubscriptionStatus(subscription) if subscription else None
        except ValueError as error:
            raise CommandError(
                f"{error}: use --flag pending|declined|none, --subscription subscribed|blocklisted"
            ) from None
        contacts = list(
            target.contacts.list(
                check_account(account), flag=flag_status, subscription=subscription_status, limit=limit
            )
        )
    documents = [
        {
            "email": c.email,
            "flag": str(c.flag_status),
            "subscription": str(c.subscription_status),
            "import_id": c.import_id,
            "verdict": c.verdict,
            "flagged_by": c.flagged_by,
            "attributes": c.attributes,
        }
        for c in contacts
    ]

    def text(console: object) -> None:
        from rich.table import Table

        table = Table(box=None, header_style="bold")
        for column in ("email", "flag", "subscription", "import", "verdict"):
            table.add_column(column)
        for d in documents:
            table.add_row(d["email"], d["flag"], d["subscription"], d["import_id"] or "", d["verdict"] or "")
        console.print(table if documents else "no contacts match")  # type: ignore[attr-defined]
        console.print(f"{len(documents):,} contacts")  # type: ignore[attr-defined]

    emit(as_json, documents, text)


@app.command()
def blocklist(
    address: Annotated[str, typer.Argument(metavar="ADDRESS", help="The address to blocklist.")],
    account: AccountOption,
    reason: Annotated[str, typer.Option(help="Why (unsubscribe, complaint, manual...).")] = "manual",
    as_json: JsonOption = False,
    endpoint_url: EndpointOption = None,
    stack: StackOption = None,
) -> None:
    """Blocklist an address: never mailed again, never re-subscribed by an import."""
    from listguard.stores import utc_now_iso

    with stack_command(endpoint_url, stack) as target:
        contact = target.contacts.blocklist(check_account(account), address, now=utc_now_iso(), reason=reason)
    # An address that is no contact yet is suppressed: an import creates it blocklisted.
    document = {
        "email": contact.email if contact else address.strip(),
        "flag": str(contact.flag_status) if contact else None,
        "subscription": "blocklisted",
        "contact": contact is not None,
    }
    emit(
        as_json,
        document,
        lambda c: c.print(
            f"{document['email']} is blocklisted"
            + ("" if contact else " (not a contact yet: an import will create it blocklisted)")
        ),
    )
