"""`listguard demo`: the main story, told on the local AWS built from infra/template.yaml.

An account with a clean, opted-in list imports it (the check validates it); then the same account
uploads a bought list. The S3 upload triggers the import_check function, the check declines the
import, and its contacts land in DynamoDB flagged `declined`.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..errors import CommandError, load_policy, one_line_errors
from ..sample_data import BOUGHT, CLEAN, contact_list

if TYPE_CHECKING:
    from listguard.verification import Policy

ACCOUNT = "acme-shoes"


def demo(
    contacts: Annotated[
        int, typer.Option(help="Rows in the bought list the customer uploads.", min=1)
    ] = 3_000,
    existing: Annotated[
        int, typer.Option(help="Contacts on the account's clean list before that.", min=0)
    ] = 2_000,
    seed: Annotated[int, typer.Option(help="Seed of the generated lists.")] = 7,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of the story.")
    ] = False,
) -> None:
    """Run the main story on the local AWS: a clean import is validated, a bought list is declined."""
    from rich.console import Console

    from ..localcloud import LOCAL_ENVIRONMENT, LocalCloud, LocalCloudError

    # The functions' own logs and metrics go to stdout in-process; the story says what matters.
    LOCAL_ENVIRONMENT.update({"POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"})
    # Wide enough for the tables when the output is piped (rich assumes 80 columns then).
    console = Console(stderr=as_json, quiet=as_json, width=None if sys.stdout.isatty() else 110)
    story = _Story(console)
    started = time.perf_counter()
    with one_line_errors("the demo stopped; nothing outside this process was touched"):
        policy = load_policy()
        story.title("listguard demo: the guard at the door of a shared sending platform")
        try:
            with contextlib.ExitStack() as stack:
                with console.status("Deploying infra/template.yaml on the local AWS (moto)..."):
                    cloud = stack.enter_context(LocalCloud.start())
                story.deployed(cloud.outputs, time.perf_counter() - started)
                document = _tell(story, cloud, policy, contacts=contacts, existing=existing, seed=seed)
                story.closing(time.perf_counter() - started)
        except LocalCloudError as error:
            raise CommandError(f"the local AWS could not be deployed: {error}") from None
    if as_json:
        typer.echo(json.dumps(document, default=str))


def _tell(
    story: _Story, cloud: Any, policy: Policy, *, contacts: int, existing: int, seed: int
) -> dict[str, Any]:
    """The two imports, the flagged contacts and the flag event; returns what happened."""
    bucket = cloud.outputs["ImportsBucketName"]
    integration_queue = _subscribe_integration(cloud)
    runs: list[dict[str, Any]] = []
    if existing:
        story.step(
            f"1. {ACCOUNT} imports its own list: {existing:,} opted-in customers",
            _check_rule(policy, new=existing, existing=0),
        )
        runs.append(_upload(cloud, bucket, "customers-2025", contact_list(existing, mix=CLEAN, seed=seed)))
        story.import_result(runs[-1])
    story.step(
        f"2. {ACCOUNT} uploads a bought list: {contacts:,} 'spring leads'",
        _check_rule(policy, new=contacts, existing=existing),
    )
    bought = contact_list(contacts, mix=BOUGHT, seed=seed + 1, start=existing)
    runs.append(_upload(cloud, bucket, "spring-leads", bought))
    story.import_result(runs[-1])
    flagged = _flagged_contacts(cloud, runs[-1]["summary"].get("outcome"))
    story.flagged(flagged)
    events = _flag_events(cloud, integration_queue)
    story.flag_events(events)
    return {
        "account": ACCOUNT,
        "outputs": cloud.outputs,
        "imports": runs,
        "flagged_sample": flagged,
        "flag_events": events,
    }


def _check_rule(policy: Policy, *, new: int, existing: int) -> str:
    """What the published rule says of an import of this size (the check itself decides on its rows)."""
    rule = (
        f"a check is required from {policy.check_min_new_contacts:,} new contacts that are at least "
        f"{policy.check_min_share_of_list:.0%} of the current list ({existing:,})"
    )
    verdict = "expect a check" if policy.verification_required(new, existing) else "no check expected"
    return f"{rule}: {verdict}."


def _upload(cloud: Any, bucket: str, import_id: str, body: bytes) -> dict[str, Any]:
    """Upload one import; the S3 event runs import_check before put_object returns (moto)."""
    from listguard.domain.keys import import_object_key, parse_import_key

    key = import_object_key(ACCOUNT, f"{import_id}.csv")
    ref = parse_import_key(key)
    s3 = cloud.client("s3")
    started = time.perf_counter()
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    seconds = time.perf_counter() - started
    summary = json.loads(s3.get_object(Bucket=bucket, Key=ref.summary_key)["Body"].read())
    return {
        "key": key,
        "bytes": len(body),
        "seconds": round(seconds, 2),
        "summary_key": ref.summary_key,
        "rows_report_key": ref.rows_report_key,
        "summary": summary,
    }


def _subscribe_integration(cloud: Any) -> str:
    """An SQS queue subscribed to the flag topic, as a customer's integration would be."""
    sqs, sns = cloud.client("sqs"), cloud.client("sns")
    queue_url = sqs.create_queue(QueueName="demo-integration")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=cloud.outputs["FlagTopicArn"],
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    return str(queue_url)


def _flag_events(cloud: Any, queue_url: str) -> list[dict[str, Any]]:
    messages = (
        cloud.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    )
    return [json.loads(message["Body"]) for message in messages]


def _flagged_contacts(cloud: Any, outcome: str | None, limit: int = 6) -> list[dict[str, Any]]:
    """A few contacts of the account read back from DynamoDB (the sparse flag index), flagged by the
    last import."""
    from listguard.domain import FlagStatus

    from ..stack import Stack

    flag = FlagStatus.DECLINED if outcome == "declined" else FlagStatus.PENDING
    contacts = Stack(cloud).contacts.list(ACCOUNT, flag=flag, limit=limit)
    columns = ("email", "flag_status", "subscription_status", "verdict", "row")
    return [contact.model_dump(mode="json", include=set(columns)) for contact in contacts]


class _Story:
    """What the demo says on screen."""

    def __init__(self, console: Any) -> None:
        self.console = console

    def title(self, text: str) -> None:
        from rich.rule import Rule

        self.console.print(Rule(f"[bold]{text}"))

    def deployed(self, outputs: dict[str, str], seconds: float) -> None:
        from rich.table import Table

        table = Table(
            title=f"Stack 'listguard' deployed from infra/template.yaml in {seconds:.1f} s",
            show_header=True,
            header_style="bold",
        )
        table.add_column("output")
        table.add_column("value")
        for key, value in sorted(outputs.items()):
            table.add_row(key, value)
        self.console.print(table)

    def step(self, heading: str, detail: str) -> None:
        self.console.print()
        self.console.print(f"[bold cyan]{heading}[/]")
        self.console.print(f"   {detail}")

    def import_result(self, run: dict[str, Any]) -> None:
        from rich.table import Table

        summary = run["summary"]
        self.console.print(
            f"   uploaded s3://.../{run['key']} ({run['bytes'] / 1e3:,.0f} kB) -> S3 event -> import_check "
            f"({run['seconds']:.1f} s)"
        )
        if summary.get("status") == "rejected":
            self.console.print(f"   [red]rejected[/]: {summary.get('error')}")
            return
        table = Table(show_header=True, header_style="bold", box=None, padding=(0, 2))
        table.add_column("verdict")
        table.add_column("rows", justify="right")
        table.add_column("share", justify="right")
        rows = summary["rows"] or 1
        for verdict, count in summary["verdicts"].items():
            if count:
                table.add_row(verdict, f"{count:,}", f"{count / rows:.1%}")
        self.console.print(table)
        colour = {"validated": "green", "declined": "red", "manual_review": "yellow"}.get(
            summary["outcome"], "white"
        )
        required = "required" if summary["verification_required"] else "not required"
        self.console.print(
            f"   check {required}; outcome [bold {colour}]{summary['outcome']}[/] "
            f"(import status: {summary.get('status', '?')})"
        )
        for reason in summary["reasons"]:
            self.console.print(f"   rule [bold]{reason['rule']}[/]: {reason['message']}")
        self.console.print(f"   reports: {run['summary_key']} and {run['rows_report_key']}")

    def flagged(self, contacts: list[dict[str, Any]]) -> None:
        from rich.table import Table

        self.console.print()
        self.console.print("[bold cyan]3. The contacts in DynamoDB[/] (gsi1: contacts by flag status)")
        if not contacts:
            self.console.print("   no flagged contacts")
            return
        table = Table(show_header=True, header_style="bold", box=None, padding=(0, 2))
        for column in ("email", "flag_status", "subscription_status", "verdict", "row"):
            table.add_column(column)
        for contact in contacts:
            table.add_row(
                *(
                    str(contact.get(c, ""))
                    for c in ("email", "flag_status", "subscription_status", "verdict", "row")
                )
            )
        self.console.print(table)
        self.console.print(
            "   Declined contacts cannot be mailed until they are deleted and reimported clean."
        )

    def flag_events(self, events: list[dict[str, Any]]) -> None:
        self.console.print()
        self.console.print(
            "[bold cyan]4. The flag event on SNS[/] (an integration's SQS queue is subscribed)"
        )
        if not events:
            self.console.print("   no flag event")
        for event in events:
            self.console.print(
                f"   {event['event_type']}: account {event['account_id']}, import {event['import_id']}, "
                f"outcome {event['outcome']}, {event['contacts']:,} contacts {event['flag_status']}"
            )

    def closing(self, seconds: float) -> None:
        from rich.rule import Rule

        self.console.print()
        self.console.print(
            Rule(f"done in {seconds:.1f} s: everything ran on the local AWS, nothing left this machine")
        )
