"""`listguard reviews ...`: the operators' queue of imports in review, and their decisions."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from ..errors import CommandError
from .common import AccountOption, EndpointOption, JsonOption, StackOption, check_account, emit, stack_command
from .imports import import_document

app = typer.Typer(help="Operators: imports waiting for a decision.", no_args_is_help=True)


@app.command(name="list")
def list_reviews(
    as_json: JsonOption = False, endpoint_url: EndpointOption = None, stack: StackOption = None
) -> None:
    """Imports in review, oldest first, across accounts."""
    with stack_command(endpoint_url, stack) as target:
        records = list(target.imports.review_queue())

    def text(console: object) -> None:
        from rich.table import Table

        table = Table(box=None, header_style="bold")
        for column in ("since", "account", "import", "why", "answers"):
            table.add_column(column)
        for r in records:
            why = r.review_reason or "; ".join(r.reasons)
            table.add_row(r.entered_review_at or "", r.account, r.import_id, why, str(len(r.answers)))
        console.print(table if records else "no import is waiting for a decision")  # type: ignore[attr-defined]

    emit(as_json, [import_document(r) for r in records], text)


@app.command()
def decide(
    import_id: Annotated[str, typer.Argument(metavar="ID", help="The import id.")],
    account: AccountOption,
    note: Annotated[str, typer.Option("--note", help="Why: kept on the import and told to the customer.")],
    validate: Annotated[bool, typer.Option("--validate", help="The contacts may be mailed.")] = False,
    decline: Annotated[bool, typer.Option("--decline", help="The contacts are flagged declined.")] = False,
    operator: Annotated[str | None, typer.Option(help="Who decides (default: your user name).")] = None,
    as_json: JsonOption = False,
    endpoint_url: EndpointOption = None,
    stack: StackOption = None,
) -> None:
    """Validate or decline an import in review, with a note."""
    with stack_command(endpoint_url, stack) as target:
        if validate == decline:
            raise CommandError("say either --validate or --decline")
        if not note.strip():
            raise CommandError("--note must say why")
        record = target.lifecycle.decide_review(
            check_account(account),
            import_id,
            validate=validate,
            note=note.strip(),
            operator=operator or getpass.getuser(),
        )
    emit(
        as_json,
        import_document(record),
        lambda c: c.print(f"import {import_id}: {record.review_decision} (the contacts follow in a moment)"),
    )
