"""`listguard demo`: the whole import story, told on the local AWS built from infra/template.yaml.

An account imports its own list (a check is required: the customer continues, the list is validated),
then a bought list (declined: its contacts are flagged and the customer is told how to clean up), which
it then remediates (export, a delete confirmed by typing the count, the clean list reimported and
validated), then a borderline list (an operator reviews it, with the customer's answers); then a new
customer's first campaign (demo_campaigns.py). Every email the customer receives is printed as they
would read it. Everything runs through the deployed functions and state machines, driven by the same
calls as the console's commands.
"""

from __future__ import annotations

import email
import json
import sys
import time
from datetime import UTC, datetime
from email.message import Message
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..errors import CommandError, load_policy, one_line_errors
from ..sample_data import BORDERLINE, BOUGHT, CLEAN, contact_list
from .demo_campaigns import CampaignChapters, campaign_settings

if TYPE_CHECKING:
    from collections.abc import Callable

    from listguard.domain import ImportRecord
    from listguard.domain.remediation import Remediation
    from listguard.flows.remediation import Services
    from listguard.verification import Policy

    from ..stack import Stack

ACCOUNT = "acme-shoes"
CUSTOMER = "owner@acme-shoes.example"
OPERATOR = "ops-alex"
# What the customer is told when an import comes to rest at a status.
TOLD = {
    "awaiting_confirmation": {"check_required"},
    "validated": {"import_validated", "review_validated"},
    "declined": {"import_declined", "review_declined"},
    "in_review": {"import_in_review"},
    "cancelled": {"import_cancelled"},
}
# The functions' own logs and metrics would drown the story: they print warnings only.
QUIET = {"POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"}


def demo(
    contacts: Annotated[
        int, typer.Option(help="Rows in the bought list the customer uploads.", min=1)
    ] = 3_000,
    existing: Annotated[
        int, typer.Option(help="Rows of the account's own list, imported first.", min=1)
    ] = 2_000,
    seed: Annotated[int, typer.Option(help="Seed of the generated lists.")] = 7,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of the story.")
    ] = False,
) -> None:
    """Run the import story on the local AWS: validated, declined, reviewed by an operator; then a
    campaign sampled, paused by its bounces, and requeued to the clean contacts."""
    from rich.console import Console

    from ..localcloud import LocalCloud, LocalCloudError
    from ..stack import Stack, current

    # Wide enough for the tables when the output is piped (rich assumes 80 columns then).
    console = Console(stderr=as_json, quiet=as_json, width=None if sys.stdout.isatty() else 110)
    story = _Story(console)
    started = time.perf_counter()
    with one_line_errors("the demo stopped; nothing outside this process was touched"):
        policy = load_policy()
        story.title("listguard demo: the guard at the door of a shared sending platform")
        try:
            # The thresholds in force here (LISTGUARD_*) are the stack's, as `sam deploy` parameters would be.
            thresholds = {
                f"LISTGUARD_{name.upper()}": str(value) for name, value in policy.model_dump().items()
            }
            with console.status("Deploying infra/template.yaml on the local AWS (moto)..."):
                cloud_context = LocalCloud.start(environment=QUIET | thresholds | campaign_settings())
                cloud = cloud_context.__enter__()
        except LocalCloudError as error:
            raise CommandError(f"the local AWS could not be deployed: {error}") from None
        try:
            with current(cloud):
                story.deployed(cloud.outputs, time.perf_counter() - started)
                document = _Demo(Stack(cloud), cloud, story, policy).tell(
                    own=existing, bought=contacts, seed=seed
                )
        finally:
            cloud_context.__exit__(None, None, None)
        document["seconds"] = round(time.perf_counter() - started, 1)
        story.closing(document["seconds"])
    if as_json:
        typer.echo(json.dumps(document, default=str))


class _Demo:
    def __init__(self, stack: Stack, cloud: Any, story: _Story, policy: Policy) -> None:
        self.stack, self.cloud, self.story, self.policy = stack, cloud, story, policy
        self.emails_seen = 0
        self.document: dict[str, Any] = {"account": ACCOUNT, "outputs": cloud.outputs, "imports": []}

    def tell(self, *, own: int, bought: int, seed: int) -> dict[str, Any]:
        from listguard.stores import utc_now_iso

        queue_url = self._subscribe_integration()
        self.stack.accounts.set_email(ACCOUNT, CUSTOMER, now=utc_now_iso())
        self.story.note(
            f"{ACCOUNT} signs up; its notifications go to {CUSTOMER} (its own address, and no other)."
        )

        self.story.chapter(f"1. {ACCOUNT} imports its own list: {own:,} opted-in customers")
        self._import("customers-2025", contact_list(own, mix=CLEAN, seed=seed), answer="continue")

        self.story.chapter(f"2. {ACCOUNT} uploads a bought list: {bought:,} 'spring leads'")
        today = datetime.now(UTC).date()
        self._import(
            "spring-leads",
            contact_list(bought, mix=BOUGHT, seed=seed + 1, start=own, engagement=today),
            answer="continue",
        )
        self.document["flagged_sample"] = self._flagged("declined")
        self.story.flagged(self.document["flagged_sample"])

        self.story.chapter(f"3. {ACCOUNT} cleans up the declined list: export, delete, clean, reimport")
        self._remediate()

        borderline = max((own + bought) // 3, 200)
        self.story.chapter(f"4. {ACCOUNT} uploads a partner's list: {borderline:,} 'trade fair' contacts")
        self._import(
            "trade-fair",
            contact_list(borderline, mix=BORDERLINE, seed=seed + 2, start=own + bought),
            answer="continue",
        )
        self._review("trade-fair")

        self.story.chapter("5. What integrations and the account's operators see")
        events = self._events(queue_url)
        self.story.events(events)
        profile = self.stack.accounts.get(ACCOUNT)
        self.story.standing(profile.standing, len(profile.declines), self._notes())
        self.document |= {
            "flag_events": events,
            "standing": str(profile.standing),
            "emails": self.emails_seen,
        }
        self.document["campaign"] = CampaignChapters(self, seed=seed).tell()
        return self.document

    # -- one import -----------------------------------------------------------------------------------

    def _import(self, name: str, body: bytes, *, answer: str) -> ImportRecord:
        from listguard.domain.keys import import_object_key

        key = import_object_key(ACCOUNT, f"{name}.csv")
        started = time.perf_counter()
        self.cloud.client("s3").put_object(Bucket=self.stack.output("ImportsBucketName"), Key=key, Body=body)
        return self._follow(name, len(body), started)

    def _follow(self, name: str, size: int, started: float | None) -> ImportRecord:
        """An uploaded import, from its check to where it rests (the customer continues when asked).
        ``started``: when the customer uploaded it (None: the remediation did)."""
        record = self._rests(name)
        seconds = None if started is None else time.perf_counter() - started
        self.story.checked(record, size, seconds, self._summary(record))
        if record.status == "awaiting_confirmation":
            self._print_new_emails(full=self.emails_seen == 0)
            self.story.command(f"listguard imports confirm {name} --account {ACCOUNT}")
            self.stack.lifecycle.confirm(ACCOUNT, name)
            record = self._rests(name, besides="awaiting_confirmation")
            self.story.outcome(record)
            self._print_new_emails(full=True)
        self.document["imports"].append(record.model_dump(mode="json", exclude_none=True))
        return record

    def _review(self, name: str) -> None:
        self.story.command(
            f'listguard imports answer {name} --account {ACCOUNT} --source "visitors of our booth at '
            f'ShoeFair 2026" --consent "signed up on our tablet, double opt-in"'
        )
        self.stack.lifecycle.answer(
            ACCOUNT,
            name,
            {
                "source": "visitors of our booth at ShoeFair 2026",
                "consent": "signed up on our tablet, double opt-in",
            },
        )
        queue = list(self.stack.imports.review_queue())
        self.story.queue(queue)
        note = "consent collected on site with double opt-in; the bad rows are typos from the tablet"
        self.story.command(f'listguard reviews decide {name} --account {ACCOUNT} --validate --note "{note}"')
        self.stack.lifecycle.decide_review(ACCOUNT, name, validate=True, note=note, operator=OPERATOR)
        record = self._rests(name, besides="in_review")
        self.story.outcome(record)
        self._print_new_emails(full=True)
        self.document["imports"][-1] = record.model_dump(mode="json", exclude_none=True)

    # -- the remediation of the declined list ---------------------------------------------------------

    def _remediate(self) -> None:
        from listguard.domain.keys import import_object_key
        from listguard.flows.remediation import RemediationError, confirm, lifecycle

        from .remediate import remediation_services

        services = remediation_services(self.stack)
        self.story.command(
            f"listguard remediate start --account {ACCOUNT} --separator ';' --consent-attested"
        )
        started = time.perf_counter()
        record = lifecycle.start(services, ACCOUNT, request_id="demo", separator=";", consent_attested=True)
        rid = record.remediation_id
        record = self._remediation(services, rid, lambda r: r.awaiting is not None)
        assert record.export is not None and record.count is not None
        self.story.exported(record, time.perf_counter() - started)
        self._print_new_emails(full=True)
        self.story.command(f"listguard exports download {record.export.export_id} --to spring-leads.csv")
        head = (
            self.cloud.client("s3")
            .get_object(
                Bucket=self.stack.output("ExportsBucketName"),
                Key=record.export.key,
                VersionId=record.export.version_id,
                Range="bytes=0-4095",
            )["Body"]
            .read()
        )
        self.story.export_head(head.decode("utf-8-sig", "replace").splitlines()[:3])

        wrong = record.count - 1
        self.story.command(f"listguard remediate confirm-delete {rid} --count {wrong}")
        try:
            confirm.confirm_delete(services, rid, wrong)
        except RemediationError as error:
            self.story.refused(str(error))
        self.story.command(f"listguard remediate confirm-delete {rid} --count {record.count}")
        started = time.perf_counter()
        confirm.confirm_delete(services, rid, record.count)
        record = self._remediation(services, rid, lambda r: r.status.final)
        self.story.remediated(record, time.perf_counter() - started)
        self.document["remediation"] = lifecycle.describe(record)
        self._print_new_emails(full=True)
        if record.reimport_import_id:
            key = import_object_key(ACCOUNT, f"{record.reimport_import_id}.csv")
            size = self.cloud.client("s3").head_object(Bucket=self.stack.output("ImportsBucketName"), Key=key)
            self._follow(record.reimport_import_id, int(size["ContentLength"]), None)

    def _remediation(
        self, services: Services, rid: str, done: Callable[[Remediation], bool], timeout: float = 60.0
    ) -> Remediation:
        """The remediation once the state machine got it where ``done`` says (and has told the customer)."""
        deadline = time.monotonic() + timeout
        while True:
            record = services.remediations.get(rid)
            if record is not None and done(record) and self._told_remediation(record):
                return record
            if time.monotonic() > deadline:
                raise CommandError(f"remediation {rid} did not get there in {timeout:.0f} s on the local AWS")
            time.sleep(0.05)

    def _told_remediation(self, record: Remediation) -> bool:
        expected = {
            "awaiting_confirmation": "export_ready",
            "done": "remediation_finished",
            "timed_out": "remediation_timed_out",
            "failed": "remediation_failed",
        }.get(str(record.status))
        return expected is None or any(
            note.event_type == expected and record.remediation_id in note.event_key
            for note in self.stack.notifications.list(record.account, limit=3)
        )

    def _rests(
        self, import_id: str, *, besides: str = "", timeout: float = 60.0, account: str = ACCOUNT
    ) -> ImportRecord:
        """The import once the functions and the state machine have brought it to rest, and the customer
        has been told (the state machine tells just after it moves the import)."""
        deadline = time.monotonic() + timeout
        while True:
            record = self.stack.imports.get(account, import_id)
            resting = record is not None and record.status.rests and record.status != besides
            if resting and record is not None and self._told(record):
                return record
            if time.monotonic() > deadline:
                raise CommandError(f"import {import_id} did not finish in {timeout:.0f} s on the local AWS")
            time.sleep(0.05)

    def _told(self, record: ImportRecord) -> bool:
        expected = TOLD.get(str(record.status))
        if expected is None:
            return True
        return any(
            note.event_type in expected and note.event_key.split(":")[2] == record.import_id
            for note in self.stack.notifications.list(record.account, limit=3)
        )

    def _summary(self, record: ImportRecord) -> dict[str, Any]:
        body = self.cloud.client("s3").get_object(
            Bucket=self.stack.output("ImportsBucketName"), Key=record.summary_key
        )
        document: dict[str, Any] = json.loads(body["Body"].read())
        return document

    # -- what the customer and integrations receive --------------------------------------------------

    def _print_new_emails(self, *, full: bool) -> None:
        from ..localcloud.motocompat import sent_emails

        raw = sent_emails()
        for text in raw[self.emails_seen :]:
            message = email.message_from_string(text)
            self.story.email(message, _text_part(message), full=full)
        self.emails_seen = len(raw)

    def _flagged(self, flag: str) -> list[dict[str, Any]]:
        from listguard.domain import FlagStatus

        contacts = self.stack.contacts.list(ACCOUNT, flag=FlagStatus(flag), limit=5)
        columns = {"email", "flag_status", "subscription_status", "verdict", "row"}
        return [contact.model_dump(mode="json", include=columns) for contact in contacts]

    def _notes(self) -> list[dict[str, Any]]:
        return [
            n.model_dump(mode="json", include={"created_at", "event_type", "subject", "read"})
            for n in self.stack.notifications.list(ACCOUNT)
        ]

    def _subscribe_integration(self) -> str:
        """An SQS queue subscribed to the flag topic, as a customer's integration would be."""
        sqs, sns = self.cloud.client("sqs"), self.cloud.client("sns")
        queue_url: str = sqs.create_queue(QueueName="demo-integration")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(
            TopicArn=self.stack.output("FlagTopicArn"),
            Protocol="sqs",
            Endpoint=arn,
            Attributes={"RawMessageDelivery": "true"},
        )
        return queue_url

    def _events(self, queue_url: str) -> list[dict[str, Any]]:
        sqs, events = self.cloud.client("sqs"), []
        while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"):
            for message in messages:
                events.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return events


def _text_part(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            return payload.decode() if isinstance(payload, bytes) else str(payload)
    return ""


class _Story:
    """What the demo says on screen."""

    def __init__(self, console: Any) -> None:
        self.console = console

    def title(self, text: str) -> None:
        from rich.rule import Rule

        self.console.print(Rule(f"[bold]{text}"))

    def deployed(self, outputs: dict[str, str], seconds: float) -> None:
        self.console.print(
            f"Stack 'listguard' deployed from infra/template.yaml in {seconds:.1f} s: "
            f"bucket {outputs['ImportsBucketName']}, table {outputs['TableName']}, the import state machine."
        )

    def note(self, text: str) -> None:
        self.console.print(f"[dim]{text}[/]")

    def chapter(self, heading: str) -> None:
        self.console.print()
        self.console.print(f"[bold cyan]{heading}[/]")

    def command(self, text: str) -> None:
        self.console.print(f"   [bold]$ {text}[/]")

    def checked(
        self, record: ImportRecord, size: int, seconds: float | None, summary: dict[str, Any]
    ) -> None:
        from rich.table import Table

        who, took = (
            ("uploaded", f" ({seconds:.1f} s)") if seconds is not None else ("the remediation uploaded", "")
        )
        self.console.print(
            f"   {who} imports/{record.account}/{record.import_id}.csv ({size / 1e3:,.0f} kB) -> "
            f"S3 event -> import_check{took}"
        )
        table = Table(show_header=True, header_style="bold", box=None, padding=(0, 2))
        table.add_column("verdict")
        table.add_column("rows", justify="right")
        table.add_column("share", justify="right")
        rows = summary["rows"] or 1
        for verdict, count in summary["verdicts"].items():
            if count:
                table.add_row(verdict, f"{count:,}", f"{count / rows:.1%}")
        self.console.print(table)
        required = "required" if summary["verification_required"] else "not required"
        self.console.print(
            f"   check {required}: {summary['new_contacts']:,} new contacts for a list of "
            f"{summary['existing_contacts']:,}; import status [bold]{record.status}[/]"
        )

    def outcome(self, record: ImportRecord) -> None:
        colour = {"validated": "green", "declined": "red", "in_review": "yellow"}.get(
            str(record.status), "white"
        )
        self.console.print(
            f"   outcome [bold {colour}]{record.outcome}[/] -> import [bold {colour}]{record.status}[/]"
        )
        for reason in record.reasons:
            self.console.print(f"   rule: {reason}")

    def email(self, message: Message, text: str, *, full: bool) -> None:
        from rich.panel import Panel

        heading = f"email to {message['To']}: [bold]{message['Subject']}[/]"
        if not full:
            self.console.print(f"   [dim]{heading}[/]")
            return
        body = text.split("\n-- \n")[0].strip()
        self.console.print(Panel(body, title=heading, title_align="left", border_style="dim", padding=(0, 1)))

    def exported(self, record: Remediation, seconds: float) -> None:
        export = record.export
        assert export is not None
        self.console.print(
            "   the remediation state machine reads the segment (declined AND subscribed, from the sparse "
            f"flag index) in {len(record.segment_chunks)} chunk(s) and writes the export ({seconds:.1f} s):"
        )
        self.console.print(
            f"   {export.export_id}: {export.rows:,} contacts, {export.columns} columns, "
            f"{export.bytes / 1e3:,.0f} kB, ';'-separated, version {export.version_id[:8]}..., "
            f"SHA-256 {export.sha256[:12]}...; waiting for the count"
        )

    def export_head(self, lines: list[str]) -> None:
        for line in lines:
            self.console.print(f"   [dim]{line[:104]}{'...' if len(line) > 104 else ''}[/]", markup=True)

    def refused(self, message: str) -> None:
        self.console.print(f"   [red]error:[/] {message}")

    def remediated(self, record: Remediation, seconds: float) -> None:
        from rich.table import Table

        deleted, clean = record.deleted, record.clean
        assert clean is not None
        self.console.print(
            "   export checked (version, SHA-256, one row per contact), then deleted in "
            f"{len(record.segment_chunks)} chunk(s) ({seconds:.1f} s): [bold]{deleted.deleted:,}[/] "
            "contacts, each with a tombstone (hashed address, reason, date); "
            f"{deleted.left_changed:,} changed since the export and left"
        )
        table = Table(show_header=True, header_style="bold", box=None, padding=(0, 2))
        table.add_column("removed from the clean list")
        table.add_column("contacts", justify="right")
        for reason, count in clean.removed.items():
            table.add_row(reason, f"{count:,}")
        table.add_row("[bold]kept[/]", f"[bold]{clean.kept:,}[/]")
        self.console.print(table)
        self.console.print(
            f"   consent attested: the clean list goes back through the import flow as "
            f"[bold]{record.reimport_import_id}[/]"
        )

    def flagged(self, contacts: list[dict[str, Any]]) -> None:
        from rich.table import Table

        self.console.print("   a few of its contacts in DynamoDB (the sparse flag index):")
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

    def queue(self, records: list[ImportRecord]) -> None:
        self.command("listguard reviews list")
        for record in records:
            self.console.print(
                f"   {record.entered_review_at}  {record.account}  {record.import_id}  "
                f"{len(record.answers)} answers  {'; '.join(record.reasons)}"
            )

    def events(self, events: list[dict[str, Any]]) -> None:
        self.console.print("   the flag topic (an integration's SQS queue is subscribed), in order:")
        for event in events:
            subject = (
                f"import {event['import_id']}"
                if "import_id" in event
                else f"remediation {event.get('remediation_id', '')}"
            )
            self.console.print(f"   - {event['event_type']}: {subject}")

    def standing(self, standing: str, declines: int, notes: list[dict[str, Any]]) -> None:
        self.console.print(
            f"   account standing: [bold]{standing}[/] ({declines} declined import; 2 within 90 days put an "
            f"account under review, 3 suspend it)"
        )
        self.console.print(f"   notification center: {len(notes)} notifications, newest first:")
        for note in notes:
            self.console.print(f"     {note['created_at']}  {note['subject']}")

    def closing(self, seconds: float) -> None:
        from rich.rule import Rule

        self.console.print()
        self.console.print(
            Rule(f"done in {seconds:.1f} s: everything ran on the local AWS, nothing left this machine")
        )
