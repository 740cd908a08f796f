"""`listguard campaigns ...`: create a campaign, send it, follow its sample and its decision, end its
observation window early, and run the requeue job for it."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..errors import CommandError
from .common import AccountOption, EndpointOption, JsonOption, StackOption, check_account, emit, stack_command

if TYPE_CHECKING:
    from rich.console import Console

    from listguard.domain.models import Campaign
    from listguard.flows.campaigns.actions import Campaigns

    from ..stack import Stack

app = typer.Typer(
    help="Campaigns: create, send (a sample first when many contacts were never mailed), follow, requeue.",
    no_args_is_help=True,
)

CampaignIdArgument = Annotated[
    str,
    typer.Argument(metavar="ID", help="The campaign id (`campaigns list` shows them).", show_default=False),
]
#: How long `campaigns requeue` lets the job run before it answers (the schedule's next run goes on).
REQUEUE_BUDGET_SECONDS = 50


def campaign_actions(stack: Stack) -> Campaigns:
    """The campaign actions on the stack the console is pointed at (the console never sends an email,
    so it needs no deliverability setting: the defaults are taken as they are, without reading the
    environment, which a local function running on another thread may be changing)."""
    from listguard.domain.deliverability import DeliverabilityPolicy
    from listguard.flows.campaigns.actions import Campaigns
    from listguard.flows.campaigns.services import campaign_services

    services = campaign_services(
        table=stack.table,
        s3=stack.cloud.client("s3"),
        sfn=stack.cloud.client("stepfunctions"),
        sesv2_single_attempt=stack.cloud.client("sesv2"),
        bucket=stack.output("ImportsBucketName"),
        configuration_set=stack.outputs.get("CampaignConfigurationSetName"),
        notifier=None,
        policy=DeliverabilityPolicy.model_construct(),
    )
    return Campaigns(
        services,
        state_machine_arn=stack.output("CampaignStateMachineArn"),
        sender_domain=stack.output("NotificationSender").rsplit("@", 1)[-1],
    )


@contextlib.contextmanager
def campaign_command(endpoint_url: str | None, stack_name: str | None) -> Iterator[Stack]:
    """The stack, with the campaign flow's refusals turned into one ``error:`` line."""
    from listguard.flows.campaigns.actions import CampaignError
    from listguard.flows.campaigns.targets import SegmentError

    with stack_command(endpoint_url, stack_name) as target:
        try:
            yield target
        except (CampaignError, SegmentError) as error:
            raise CommandError(str(error)) from None


@app.command()
def create(
    account: AccountOption,
    subject: Annotated[str, typer.Option(help="The subject line.", show_default=False)],
    text: Annotated[str, typer.Option(help="The plain-text body.", show_default=False)],
    html: Annotated[str | None, typer.Option(help="The HTML body (optional).")] = None,
    segment: Annotated[
        list[str] | None,
        typer.Option(
            help="Only contacts whose imported column has this value: COLUMN=VALUE (repeat for more; all "
            "must match). Default: the account's whole list.",
            show_default=False,
        ),
    ] = None,
    sender: Annotated[
        str | None,
        typer.Option(
            help="The From address (a verified SES identity). Default: <account>@ the platform's domain."
        ),
    ] = None,
    request_id: Annotated[
        str | None,
        typer.Option(
            "--request-id",
            help="What makes two creates the same campaign: the same account and request id find the "
            "campaign created before (safe to run again). Default: a new campaign each time.",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
    endpoint_url: EndpointOption = None,
    stack: StackOption = None,
) -> None:
    """Create a draft campaign; prints its id."""
    from listguard.flows.campaigns.targets import parse_segment

    with campaign_command(endpoint_url, stack) as target:
        check_account(account)
        campaign = campaign_actions(target).create(
            account,
            subject=subject,
            text=text,
            html=html,
            sender=sender,
            segment=parse_segment(segment or []),
            request_id=request_id,
        )
    emit(
        as_json,
        {
            "campaign_id": campaign.campaign_id,
            "account": account,
            "status": str(campaign.status),
            "sender": campaign.sender,
            "segment": campaign.segment,
        },
        lambda c: c.print(
            f"created campaign [bold]{campaign.campaign_id}[/] of {account} (draft, from {campaign.sender})\n"
            f"send it with: listguard campaigns send {campaign.campaign_id} --account {account}"
        ),
    )


@app.command()
def send(
    campaign_id: CampaignIdArgument,
    account: AccountOption,
    as_json: JsonOption = False,
    endpoint_url: EndpointOption = None,
    stack: StackOption = None,
) -> None:
    """Send the campaign (or resume a failed one): a sample first when many contacts were never mailed."""
    with campaign_command(endpoint_url, stack) as target:
        actions = campaign_actions(target)
        actions.start(check_account(account), campaign_id)
        document = actions.view(account, campaign_id).document()
    emit(
        as_json,
        document,
        lambda c: c.print(
            f"campaign {campaign_id}: {document['status']}; follow it with: "
            f"listguard campaigns show {campaign_id} --account {account}"
        ),
    )


@app.command()
def show(
    campaign_id: CampaignIdArgument,
    account: AccountOption,
    as_json: JsonOption = False,
    endpoint_url: EndpointOption = None,
    stack: StackOption = None,
) -> None:
    """Where a campaign is: sent, remaining, its sample's rates and the decision, its check, its requeue."""
    with campaign_command(endpoint_url, stack) as target:
        document = campaign_actions(target).view(check_account(account), campaign_id).document()
    emit(as_json, document, lambda console: print_campaign(console, document))


@app.command(name="list")
def list_campaigns(
    account: AccountOption,
    as_json: JsonOption = False,
    endpoint_url: EndpointOption = None,
    stack: StackOption = None,
) -> None:
    """The account's campaigns, newest first."""
    with campaign_command(endpoint_url, stack) as target:
        campaigns = campaign_actions(target).list(check_account(account))
    documents = [_summary(c) for c in campaigns]
    emit(as_json, documents, lambda console: _print_list(console, documents))


@app.command()
def recipients(
    campaign_id: CampaignIdArgument,
    account: AccountOption,
    as_json: JsonOption = False,
    endpoint_url: EndpointOption = None,
    stack: StackOption = None,
) -> None:
    """The addresses the campaign was sent to so far (SES accepted the email)."""
    with campaign_command(endpoint_url, stack) as target:
        addresses = list(campaign_actions(target).recipients(check_account(account), campaign_id))

    def text(console: Console) -> None:
        for address in addresses:
            console.print(address, markup=False)
        console.print(f"{len(addresses):,} recipients")

    emit(as_json, addresses, text)


@app.command()
def evaluate(
    campaign_id: CampaignIdArgument,
    account: AccountOption,
    as_json: JsonOption = False,
    endpoint_url: EndpointOption = None,
    stack: StackOption = None,
) -> None:
    """End the observation window now: the thresholds decide on the feedback so far."""
    with campaign_command(endpoint_url, stack) as target:
        actions = campaign_actions(target)
        actions.evaluate(check_account(account), campaign_id)
        document = actions.view(account, campaign_id).document()
    decision = (document["sample"] or {}).get("decision")
    emit(
        as_json,
        document,
        lambda c: c.print(
            f"campaign {campaign_id}: "
            + (
                f"decided: {decision} ({document['status']})"
                if decision
                else "window ended; the decision follows"
            )
        ),
    )


@app.command()
def requeue(
    campaign_id: CampaignIdArgument,
    account: AccountOption,
    as_json: JsonOption = False,
    endpoint_url: EndpointOption = None,
    stack: StackOption = None,
) -> None:
    """Run the requeue job for this campaign now (the function its schedule invokes): a paused campaign
    that a remediation marked goes to the contacts who are sendable and have not received it."""
    with campaign_command(endpoint_url, stack) as target:
        campaign_actions(target).get(check_account(account), campaign_id)
        report = invoke_requeue(target, account, campaign_id)

    def text(console: Console) -> None:
        if report.get("skipped_reason"):
            console.print(f"campaign {campaign_id}: {report['status']}; {report['skipped_reason']}")
            return
        still = report.get("still_flagged")
        console.print(
            f"campaign {campaign_id}: {report['sent']:,} contacts got it now; "
            + (f"{still:,} still flagged (the job goes on with them); " if still else "")
            + f"status {report['status']}"
            + ("" if report.get("done") else " (the next run goes on)")
        )

    emit(as_json, report, text)


def invoke_requeue(target: Stack, account: str, campaign_id: str) -> dict[str, Any]:
    """Invokes the requeue function (synchronously) for one campaign; returns its report."""
    event = {
        "campaign": {"account": account, "campaign_id": campaign_id},
        "budget_seconds": REQUEUE_BUDGET_SECONDS,
    }
    response = target.cloud.client("lambda").invoke(
        FunctionName=target.output("RequeueFunctionName"), Payload=json.dumps(event).encode()
    )
    payload = json.loads(response["Payload"].read() or b"{}")
    if response.get("FunctionError"):
        raise CommandError(
            f"the requeue job failed ({payload.get('errorType', 'error')}: "
            f"{payload.get('errorMessage', '')}); nothing was sent twice: run the command again"
        )
    reports: list[dict[str, Any]] = payload.get("campaigns", [])
    if not reports:
        raise CommandError("the requeue job returned no report: run the command again")
    return reports[0]


def _summary(campaign: Campaign) -> dict[str, Any]:
    return {
        "campaign_id": campaign.campaign_id,
        "status": str(campaign.status),
        "subject": campaign.subject,
        "created_at": campaign.created_at,
        "target": campaign.target_count,
        "sample_size": campaign.sample_size,
        "decision": campaign.decision,
    }


def _print_list(console: Console, documents: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for column in ("campaign", "status", "subject", "target", "sample", "decision", "created"):
        table.add_column(column)
    for d in documents:
        table.add_row(
            d["campaign_id"],
            d["status"],
            d["subject"],
            str(d["target"] if d["target"] is not None else ""),
            str(d["sample_size"] or ""),
            d["decision"] or "",
            d["created_at"] or "",
        )
    console.print(table if documents else "no campaigns")


def print_campaign(console: Console, d: dict[str, Any]) -> None:
    """A campaign as `campaigns show` prints it (the demo prints it the same way)."""
    console.print(
        f"[bold]campaign {d['campaign_id']}[/] of {d['account']}: [bold]{d['status']}[/]", highlight=False
    )
    rows: list[tuple[str, Any]] = [
        ("subject", d["subject"]),
        ("from", d["sender"]),
        ("segment", ", ".join(f"{k}={v}" for k, v in d["segment"].items()) or "the whole list"),
        ("target", d["target"]),
        ("never mailed", d["new_contacts"]),
        ("sent", d["sent"]),
        ("unknown", d["unknown"] or None),
        ("remaining", d["remaining"]),
    ]
    sample = d["sample"]
    if sample:
        rows += [
            (
                "sample",
                f"{sample['sent']:,} of {sample['size']:,} sent; window ends {sample['window_ends_at']}",
            ),
            ("hard bounces", f"{sample['hard_bounces']:,} ({_percent(sample['bounce_rate'])})"),
            ("complaints", f"{sample['complaints']:,} ({_percent(sample['complaint_rate'])})"),
            ("decision", sample["decision"]),
        ]
    if d["check"]:
        rows.append(
            (
                "check",
                f"import {d['check']['import_id']}: {d['check']['held'] or 0:,} contacts held"
                + (f", {d['check']['status']}" if d["check"]["status"] else ""),
            )
        )
    if d["requeue"]:
        r = d["requeue"]
        rows.append(
            (
                "requeue",
                f"marked by {r['requested_by']}"
                + (f", requeued {r['requeued_at']}" if r["requeued_at"] else ""),
            )
        )
    rows.append(("error", d["error"]))
    for label, value in rows:
        if value is not None:
            console.print(f"  {label:<13} {value}", markup=False, highlight=False)
    for reason in (sample or {}).get("reasons") or []:
        console.print(f"  rule          {reason}", markup=False, highlight=False)


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.2%}"
