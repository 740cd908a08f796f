"""`listguard feedback simulate`: what SES would say about a campaign email, on the local cloud.

No mail server answers on the local cloud, so nothing bounces by itself. This command publishes the
event SES publishes through the campaigns' configuration set (its real format: ``eventType``, the
``mail`` object with the email's tags and headers) to the stack's feedback topic, whose subscriber is
the deployed ``feedback`` function, exactly as on AWS.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from ..errors import CommandError
from .campaigns import campaign_actions, campaign_command
from .common import AccountOption, EndpointOption, JsonOption, StackOption, check_account, emit

app = typer.Typer(
    help="SES feedback on campaign emails (simulated, for the local cloud).", no_args_is_help=True
)


@app.command()
def simulate(
    campaign: Annotated[str, typer.Option("--campaign", help="The campaign id.", show_default=False)],
    account: AccountOption,
    bounce: Annotated[str | None, typer.Option(metavar="ADDRESS", help="A hard (permanent) bounce.")] = None,
    complaint: Annotated[
        str | None, typer.Option(metavar="ADDRESS", help="A complaint (marked as spam).")
    ] = None,
    soft_bounce: Annotated[
        str | None, typer.Option("--soft-bounce", metavar="ADDRESS", help="A soft (transient) bounce.")
    ] = None,
    open_: Annotated[str | None, typer.Option("--open", metavar="ADDRESS", help="An open.")] = None,
    click: Annotated[str | None, typer.Option(metavar="ADDRESS", help="A click.")] = None,
    as_json: JsonOption = False,
    endpoint_url: EndpointOption = None,
    stack: StackOption = None,
) -> None:
    """Publish SES's event for one email of a campaign to the feedback topic (give exactly one of
    --bounce, --complaint, --soft-bounce, --open, --click)."""
    from listguard.domain import keys
    from listguard.flows.campaigns.feedback import simulated_notification
    from listguard.stores import utc_now_iso

    given = {
        kind: address
        for kind, address in (
            ("bounce", bounce),
            ("complaint", complaint),
            ("soft-bounce", soft_bounce),
            ("open", open_),
            ("click", click),
        )
        if address
    }
    with campaign_command(endpoint_url, stack) as target:
        check_account(account)
        if len(given) != 1:
            raise CommandError(
                "give exactly one of --bounce, --complaint, --soft-bounce, --open, --click ADDRESS"
            )
        [(kind, address)] = given.items()
        found = campaign_actions(target).get(account, campaign)
        entry = campaign_actions(target).s.ledger.get(account, campaign, keys.contact_key(address))
        if entry is None:
            raise CommandError(
                f"campaign {campaign} was not sent to {address}: "
                f"`listguard campaigns recipients {campaign} --account {account}` lists who got it"
            )
        notification = simulated_notification(
            kind,  # type: ignore[arg-type]  # one of the five kinds above
            address,
            account=account,
            campaign_id=campaign,
            sender=found.sender,
            message_id=entry.message_id,
            at=utc_now_iso(),
            configuration_set=target.outputs.get("CampaignConfigurationSetName", "listguard-campaigns"),
        )
        published = target.cloud.client("sns").publish(
            TopicArn=target.output("FeedbackTopicArn"), Message=json.dumps(notification)
        )
    document: dict[str, Any] = {
        "published": published["MessageId"],
        "event": notification["eventType"],
        "kind": kind,
        "address": address,
        "campaign_id": campaign,
        "account": account,
    }
    emit(
        as_json,
        document,
        lambda c: c.print(
            f"published SES {notification['eventType']} ({kind}) for {address} to the feedback topic"
        ),
    )
