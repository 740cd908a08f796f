"""`listguard imports ...`: upload a contact file, follow it, continue or cancel, answer the questions."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..errors import CommandError
from .common import AccountOption, EndpointOption, JsonOption, StackOption, check_account, emit, stack_command

if TYPE_CHECKING:
    from rich.console import Console

    from listguard.domain import ImportRecord

app = typer.Typer(help="Contact imports: upload, follow, continue or cancel, answer.", no_args_is_help=True)

ImportIdArgument = Annotated[
    str, typer.Argument(metavar="ID", help="The import id (the file name without .csv).")
]


@app.command()
def upload(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="The contact file (CSV or TXT).", show_default=False)
    ],
    account: AccountOption,
    name: Annotated[
        str | None, typer.Option("--name", help="Upload under this file name (default: FILE's name).")
    ] = None,
    as_json: JsonOption = False,
    endpoint_url: EndpointOption = None,
    stack: StackOption = None,
) -> None:
    """Upload FILE to the imports bucket: the check starts on its own. Prints the import id."""
    from listguard.domain.keys import import_id_for, import_object_key
    from listguard.verification import Policy

    with stack_command(endpoint_url, stack) as target:
        check_account(account)
        if not file.is_file():
            raise CommandError(f"{file}: not a file")
        size, limit = file.stat().st_size, Policy().max_file_bytes
        if size > limit:
            raise CommandError(
                f"{file}: {size:,} bytes is more than the {limit:,} an import may have: split it"
            )
        key = import_object_key(account, name or file.name)
        target.cloud.client("s3").upload_file(str(file), target.output("ImportsBucketName"), key)
        import_id = import_id_for(name or file.name)
        record = target.imports.get(account, import_id)
    status = str(record.status) if record else "received"
    emit(
        as_json,
        {"import_id": import_id, "account": account, "key": key, "status": status},
        lambda console: console.print(
            f"uploaded {file.name} as import [bold]{import_id}[/] of {account} (status: {status})\n"
            f"follow it with: listguard imports show {_quoted(import_id)} --account {account}"
        ),
    )


@app.command()
def show(
    import_id: ImportIdArgument,
    account: AccountOption,
    as_json: JsonOption = False,
    endpoint_url: EndpointOption = None,
    stack: StackOption = None,
) -> None:
    """Where an import is: its status, the check's outcome and reasons, the counts."""
    with stack_command(endpoint_url, stack) as target:
        record = _record(target.imports.get(check_account(account), import_id), account, import_id)
    emit(as_json, import_document(record), lambda console: _print_import(console, record))


@app.command(name="list")
def list_imports(
    account: AccountOption,
    as_json: JsonOption = False,
    endpoint_url: EndpointOption = None,
    stack: StackOption = None,
) -> None:
    """The account's imports."""
    with stack_command(endpoint_url, stack) as target:
        records = list(target.imports.list(check_account(account)))
    emit(as_json, [import_document(r) for r in records], lambda console: _print_imports(console, records))


@app.command()
def confirm(
    import_id: ImportIdArgument,
    account: AccountOption,
    as_json: JsonOption = False,
    endpoint_url: EndpointOption = None,
    stack: StackOption = None,
) -> None:
    """Continue with the verification check: its outcome is applied to the import's contacts."""
    _answer("confirm", import_id, account, as_json, endpoint_url, stack, "continuing with the check")


@app.command()
def cancel(
    import_id: ImportIdArgument,
    account: AccountOption,
    as_json: JsonOption = False,
    endpoint_url: EndpointOption = None,
    stack: StackOption = None,
) -> None:
    """Cancel the import: nothing is imported (a smaller list needs no check)."""
    _answer("cancel", import_id, account, as_json, endpoint_url, stack, "cancelled, nothing imported")


def _answer(
    action: str,
    import_id: str,
    account: str,
    as_json: bool,
    endpoint_url: str | None,
    stack: str | None,
    said: str,
) -> None:
    with stack_command(endpoint_url, stack) as target:
        lifecycle = target.lifecycle
        answer = lifecycle.confirm if action == "confirm" else lifecycle.cancel
        record = answer(check_account(account), import_id)
    emit(as_json, import_document(record), lambda c: c.print(f"import {import_id}: {said}"))


@app.command()
def answer(
    import_id: ImportIdArgument,
    account: AccountOption,
    source: Annotated[str | None, typer.Option(help="Where the list comes from.")] = None,
    consent: Annotated[str | None, typer.Option(help="How the contacts gave their consent.")] = None,
    last_mailed: Annotated[
        str | None, typer.Option("--last-mailed", help="When the list was last mailed.")
    ] = None,
    as_json: JsonOption = False,
    endpoint_url: EndpointOption = None,
    stack: StackOption = None,
) -> None:
    """Answer the support team's questions about an import in review."""
    answers = {
        k: v for k, v in {"source": source, "consent": consent, "last_mailed": last_mailed}.items() if v
    }
    with stack_command(endpoint_url, stack) as target:
        if not answers:
            raise CommandError("give at least one answer: --source, --consent or --last-mailed")
        record = target.lifecycle.answer(check_account(account), import_id, answers)
    emit(as_json, import_document(record), lambda c: c.print(f"import {import_id}: answers recorded"))


def import_document(record: ImportRecord) -> dict[str, Any]:
    """An import as the console shows it: the record, with its counts grouped."""
    document = record.model_dump(mode="json", exclude_none=True)
    document["counts"] = {
        key: value
        for key, value in {
            "rows": record.rows,
            "new_contacts": record.new_contacts,
            "existing_contacts": record.existing_contacts,
            "contacts_written": record.contacts_written,
            "verdicts": record.verdicts,
        }.items()
        if value is not None
    }
    document.setdefault("outcome", None)
    document.setdefault("reasons", [])
    return document


def _record(record: ImportRecord | None, account: str, import_id: str) -> ImportRecord:
    if record is None:
        raise CommandError(f"no import {import_id} in account {account}: `listguard imports list` shows them")
    return record


def _quoted(text: str) -> str:
    return f'"{text}"' if " " in text else text


def _print_import(console: Console, record: ImportRecord) -> None:
    console.print(f"[bold]import {record.import_id}[/] of {record.account}: [bold]{record.status}[/]")
    rows = [
        ("outcome", record.outcome),
        ("rows", record.rows),
        ("new contacts", record.new_contacts),
        ("list before", record.existing_contacts),
        ("contacts written", record.contacts_written),
        ("answer by", record.confirmation_deadline if record.status == "awaiting_confirmation" else None),
        ("cancelled", record.cancelled_reason),
        ("review", record.review_reason),
        (
            "decision",
            f"{record.review_decision} by {record.reviewed_by}: {record.review_note}"
            if record.review_decision
            else None,
        ),
        ("error", record.error),
    ]
    for label, value in rows:
        if value is not None:
            console.print(f"  {label:<17} {value}")
    for reason in record.reasons:
        console.print(f"  reason            {reason}")
    for question, text in record.answers.items():
        console.print(f"  answer {question:<10} {text}")


def _print_imports(console: Console, records: list[ImportRecord]) -> None:
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for column in ("import", "status", "outcome", "rows", "written", "received"):
        table.add_column(column)
    for r in records:
        table.add_row(
            r.import_id,
            str(r.status),
            str(r.outcome or ""),
            str(r.rows or ""),
            str(r.contacts_written or ""),
            r.received_at or "",
        )
    console.print(table if records else "no imports")
