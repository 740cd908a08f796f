"""`listguard remediate ...`: clean up an account's declined contacts (export, typed-count delete, clean,
reimport), follow a remediation, confirm its delete, retry it after a failure."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..errors import CommandError
from .common import AccountOption, EndpointOption, JsonOption, StackOption, emit, stack_command

if TYPE_CHECKING:
    from rich.console import Console

    from listguard.domain.remediation import Remediation
    from listguard.flows.remediation import Services

    from ..stack import Stack

app = typer.Typer(
    help="Remediate declined contacts: export, delete after a typed count, clean, reimport.",
    no_args_is_help=True,
)

IdArgument = Annotated[
    str,
    typer.Argument(
        metavar="ID", help="The remediation's execution id (rem-...), or its export id (exp-...)."
    ),
]
SEPARATORS = {",": ",", ";": ";", "|": "|", "\t": "\t", "\\t": "\t", "tab": "\t"}


@contextlib.contextmanager
def remediation_command(endpoint_url: str | None, stack_name: str | None) -> Iterator[Services]:
    """The remediation's services on the stack, with the flow's errors turned into one `error:` line."""
    from listguard.flows.remediation import RemediationError

    with stack_command(endpoint_url, stack_name) as target:
        try:
            yield remediation_services(target)
        except RemediationError as error:
            raise CommandError(str(error)) from None


def remediation_services(target: Stack) -> Services:
    from listguard.flows.remediation import Services
    from listguard.notify import Notifier

    cloud, table = target.cloud, target.table
    return Services(
        s3=cloud.client("s3"),
        sfn=cloud.client("stepfunctions"),
        table=table,
        notifier=Notifier.on(
            table,
            sesv2=cloud.client("sesv2"),
            sns=cloud.client("sns"),
            topic_arn=target.output("FlagTopicArn"),
            sender=target.output("NotificationSender"),
        ),
        exports_bucket=target.output("ExportsBucketName"),
        imports_bucket=target.output("ImportsBucketName"),
        state_machine_arn=target.output("RemediationStateMachineArn"),
    )


@app.command()
def start(
    account: AccountOption,
    separator: Annotated[
        str, typer.Option("--separator", help="The export's separator: , ; | or tab.", show_default=True)
    ] = ",",
    campaign: Annotated[
        str | None,
        typer.Option(
            "--campaign", help="The interrupted campaign to mark for requeue once the list is clean."
        ),
    ] = None,
    consent_attested: Annotated[
        bool,
        typer.Option(
            "--consent-attested",
            help="You attest the contacts of the clean list gave their consent: it is reimported.",
        ),
    ] = False,
    request_id: Annotated[
        str | None,
        typer.Option(
            "--request-id",
            help="What makes two starts the same remediation (default: today's date, UTC).",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
    endpoint_url: EndpointOption = None,
    stack: StackOption = None,
) -> None:
    """Start remediating the account's declined contacts; prints the execution id.

    Starting the same request again (the same account and --request-id) finds the same remediation.
    """
    from listguard.flows.remediation import lifecycle

    request = request_id or datetime.now(UTC).date().isoformat()
    with remediation_command(endpoint_url, stack) as services:
        if separator not in SEPARATORS:
            raise CommandError(f"separator {separator!r} is not supported: use , ; | or tab")
        record = lifecycle.start(
            services,
            account,
            request_id=request,
            separator=SEPARATORS[separator],
            campaign_id=campaign,
            consent_attested=consent_attested,
        )
    document = {
        "execution_id": record.execution_name,
        "remediation_id": record.remediation_id,
        "account": record.account,
        "request_id": record.request_id,
        "status": str(record.status),
    }

    def text(console: Console) -> None:
        console.print(
            f"remediation [bold]{record.remediation_id}[/] of {record.account} ({record.status})\n"
            f"follow it with: listguard remediate show {record.remediation_id}"
        )

    emit(as_json, document, text)


@app.command()
def show(
    remediation_id: IdArgument,
    as_json: JsonOption = False,
    endpoint_url: EndpointOption = None,
    stack: StackOption = None,
) -> None:
    """Where a remediation is: status, step, what it waits for, the count, the export, the results."""
    from listguard.flows.remediation import lifecycle

    with remediation_command(endpoint_url, stack) as services:
        record = find(services, remediation_id)
        document = lifecycle.describe(record, lifecycle.execution_status(services, record))
    emit(as_json, document, lambda console: _print(console, record, document))


@app.command(name="confirm-delete")
def confirm_delete(
    remediation_id: IdArgument,
    count: Annotated[
        int, typer.Option("--count", help="The number of contacts in the export.", show_default=False)
    ],
    as_json: JsonOption = False,
    endpoint_url: EndpointOption = None,
    stack: StackOption = None,
) -> None:
    """Confirm the delete by typing the number of exported contacts; the wrong number changes nothing."""
    from listguard.flows.remediation import confirm, lifecycle

    with remediation_command(endpoint_url, stack) as services:
        record = confirm.confirm_delete(services, find(services, remediation_id).remediation_id, count)
        document = lifecycle.describe(record)
    emit(
        as_json,
        document,
        lambda c: c.print(f"remediation {record.remediation_id}: deleting the {count:,} exported contacts"),
    )


@app.command()
def retry(
    remediation_id: IdArgument,
    as_json: JsonOption = False,
    endpoint_url: EndpointOption = None,
    stack: StackOption = None,
) -> None:
    """Retry a failed remediation: it resumes where it stopped (nothing it did is done twice)."""
    from listguard.flows.remediation import lifecycle

    with remediation_command(endpoint_url, stack) as services:
        record = lifecycle.retry(services, find(services, remediation_id).remediation_id)
        document = lifecycle.describe(record)
    emit(
        as_json,
        document,
        lambda c: c.print(
            f"remediation {record.remediation_id}: attempt {record.attempt} ({record.execution_name}), "
            f"{record.status}"
        ),
    )


def find(services: Services, remediation_id: str) -> Remediation:
    """The remediation of an id (rem-...) or of its export's id (exp-...)."""
    from listguard.domain.keys import check_remediation_id

    record = services.remediations.get(check_remediation_id(remediation_id))
    if record is None:
        raise CommandError(f"no remediation {remediation_id}: `listguard remediate start` prints the id")
    return record


def _print(console: Console, record: Remediation, document: dict[str, Any]) -> None:
    console.print(
        f"[bold]remediation {record.remediation_id}[/] of {record.account}: [bold]{record.status}[/] "
        f"(step {document['step']}, attempt {record.attempt})"
    )
    export = document["export"]
    rows: list[tuple[str, Any]] = [
        ("segment", f"{record.count:,} declined, subscribed contacts" if record.count is not None else None),
        (
            "export",
            f"{export['export_id']}: {export['rows']:,} rows, {export['bytes']:,} bytes, "
            f"{export['separator']}-separated"
            if export
            else None,
        ),
        ("confirm by", record.confirmation_deadline if record.awaiting else None),
        ("deleted", _deleted(document["deleted"])),
        (
            "clean list",
            f"{record.clean.kept:,} kept; removed {dict(record.clean.removed) or 'nothing'}"
            if record.clean
            else None,
        ),
        ("reimport", record.reimport_import_id or document["reimport"]["skipped"]),
        ("campaign", f"{record.campaign_id}: {record.requeue or 'to mark'}" if record.campaign_id else None),
        ("execution", document.get("execution_status")),
        ("error", record.error),
    ]
    for label, value in rows:
        if value is not None:
            console.print(f"  {label:<11} {value}")
    if record.awaiting:
        command = f"listguard remediate confirm-delete {record.remediation_id} --count {record.count}"
        console.print(f"  to delete them: {command}")


def _deleted(deleted: dict[str, int] | None) -> str | None:
    if not deleted:
        return None
    return (
        f"{deleted['deleted']:,} deleted, {deleted['left_changed']:,} left (changed since the export), "
        f"{deleted['already_gone']:,} already gone"
    )
