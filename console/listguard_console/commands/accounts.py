"""`listguard accounts ...`: an account's standing, its audit trail, where its notifications go."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from ..errors import CommandError
from .common import EndpointOption, JsonOption, StackOption, check_account, emit, stack_command

app = typer.Typer(help="Accounts: standing, audit trail, notification address.", no_args_is_help=True)

AccountArgument = Annotated[str, typer.Argument(metavar="ACCOUNT", help="The account id.")]


@app.command()
def show(
    account: AccountArgument,
    as_json: JsonOption = False,
    endpoint_url: EndpointOption = None,
    stack: StackOption = None,
) -> None:
    """The account's standing, its recent declined imports and its audit trail."""
    from listguard.domain.standing import StandingPolicy

    with stack_command(endpoint_url, stack) as target:
        profile = target.accounts.get(check_account(account))
        trail = list(target.accounts.audit_trail(account, limit=20))
    policy = StandingPolicy()
    recent = policy.recent_declines(
        profile.declines, now=datetime.now(UTC), reset_at=profile.standing_reset_at
    )
    document: dict[str, Any] = {
        **profile.model_dump(mode="json", exclude={"rev"}),
        "recent_declines": recent,
        "window_days": policy.decline_window_days,
        "audit": [entry.model_dump(mode="json") for entry in trail],
    }

    def text(console: Any) -> None:
        console.print(f"[bold]{account}[/]: standing [bold]{profile.standing}[/]")
        console.print(f"  notifications to  {profile.email or '(no address: emails are not sent)'}")
        console.print(f"  contacts          {profile.contact_count:,}")
        console.print(f"  declined imports  {recent} within {policy.decline_window_days} days")
        for entry in trail:
            console.print(
                f"  {entry.at}  {entry.standing_before} -> {entry.standing_after}"
                f"  by {entry.who}: {entry.why}"
            )

    emit(as_json, document, text)


@app.command()
def reset(
    account: AccountArgument,
    note: Annotated[str, typer.Option("--note", help="Why: kept in the audit trail.")],
    operator: Annotated[str | None, typer.Option(help="Who resets (default: your user name).")] = None,
    as_json: JsonOption = False,
    endpoint_url: EndpointOption = None,
    stack: StackOption = None,
) -> None:
    """Put the account back in good standing (earlier declined imports no longer count)."""
    from listguard.domain.standing import StandingPolicy

    with stack_command(endpoint_url, stack) as target:
        if not note.strip():
            raise CommandError("--note must say why")
        change = target.accounts.reset_standing(
            check_account(account),
            note=note.strip(),
            operator=operator or getpass.getuser(),
            now=datetime.now(UTC),
            policy=StandingPolicy(),
        )
    emit(
        as_json,
        {"account": account, "standing": str(change.after), "before": str(change.before)},
        lambda c: c.print(f"{account}: {change.before} -> {change.after}"),
    )


@app.command(name="set-email")
def set_email(
    account: AccountArgument,
    email: Annotated[str, typer.Argument(metavar="EMAIL", help="The customer's own address.")],
    as_json: JsonOption = False,
    endpoint_url: EndpointOption = None,
    stack: StackOption = None,
) -> None:
    """Where the account's notifications are emailed (the customer's own address, and no other)."""
    from email_validator import EmailNotValidError, validate_email

    from listguard.stores import utc_now_iso

    with stack_command(endpoint_url, stack) as target:
        try:
            address = validate_email(email, check_deliverability=False).normalized
        except EmailNotValidError as error:
            raise CommandError(f"{email!r} is not an address: {error}") from None
        profile = target.accounts.set_email(check_account(account), address, now=utc_now_iso())
    emit(
        as_json,
        {"account": account, "email": profile.email},
        lambda c: c.print(f"{account}: emails go to {address}"),
    )
