"""`listguard verify FILE`: run the verification check on a contact file, on this machine.

The same engine as the import_check Lambda (``listguard.verification``), without AWS. Exit codes:
0 whenever the file was processed (whatever the outcome), 2 for an unusable file or bad input
(one ``error:`` line on stderr), 130 on Ctrl-C, 1 for a bug (one line too; ``LISTGUARD_DEBUG=1``
shows the traceback).

``--rows-out`` takes a file, replaced whole at the end (a temporary file beside it is renamed into
place: nothing half-written is ever left under its name; through a symbolic link, the file the link
points to is the one replaced, and the link stays). A pipe or a character device (a FIFO,
``/dev/stdout``, ``>(gzip > rows.csv.gz)``) is written into as the check goes. A directory, a block
device or a socket is refused.

The engine, pydantic and rich are imported inside the command, not at module level, so that
``listguard --help`` and the other commands do not pay for them.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import os
import re
import secrets
import stat
import sys
from collections.abc import Generator, Iterable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

from ..errors import CommandError, load_policy, one_line_errors

if TYPE_CHECKING:
    from listguard.verification import Batch, ImportReport, Policy, Verification

# Rows files are large (tens of MB for a million rows): write them in big chunks.
WRITE_BUFFER_BYTES = 4 * 1024 * 1024
# Below this size a check takes about a second: a progress bar would only flicker.
PROGRESS_MIN_BYTES = 5 * 1024 * 1024
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a command killed by it
#: The largest blocklist file read (about 1.5 million addresses): /dev/zero is not a blocklist.
MAX_BLOCKLIST_BYTES = 50_000_000

OUTCOME_STYLES = {"validated": "bold green", "manual_review": "bold yellow", "declined": "bold red"}
BLOCKLIST_EMAIL_HEADERS = frozenset({"email", "email address", "emailaddress", "address"})


def verify(
    file: Annotated[
        Path,
        typer.Argument(metavar="FILE", help="The contact file to check (CSV or TXT).", show_default=False),
    ],
    existing_contacts: Annotated[
        int,
        typer.Option(
            "--existing-contacts",
            min=0,
            metavar="N",
            help="Contacts already on the account's list: decides whether a check is required.",
        ),
    ] = 0,
    blocklist: Annotated[
        Path | None,
        typer.Option(
            "--blocklist",
            metavar="FILE",
            help="The account's blocklist: one address per line, or a CSV export (its email column is "
            "used); blank lines and # comments are ignored.",
        ),
    ] = None,
    require_consent: Annotated[
        bool,
        typer.Option(
            "--require-consent", help="Rows without a recorded opt-in get the missing_consent verdict."
        ),
    ] = False,
    own_domains: Annotated[
        list[str] | None,
        typer.Option(
            "--own-domain",
            metavar="DOMAIN",
            help="A domain of the account's own (repeat for more): it and its subdomains are never "
            "flagged disposable or typo.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the import report as one JSON object, nothing else.")
    ] = False,
    rows_out: Annotated[
        Path | None,
        typer.Option(
            "--rows-out",
            metavar="OUT.csv",
            help="Write every row's verdict to this CSV: row,email,verdict,reason,suggestion (a cell "
            "that would start a spreadsheet formula gets a ' in front). A file is replaced whole at the "
            "end; a pipe or character device (/dev/stdout) is written into as the check goes.",
        ),
    ] = None,
) -> None:
    """Check a contact file the way an import is checked: a verdict per row, the outcome and why."""
    with one_line_errors("the check did not finish and left no rows file; run it again to check the file"):
        try:
            report, policy = _run(file, existing_contacts, blocklist, require_consent, rows_out, own_domains)
            if as_json:
                sys.stdout.write(report.model_dump_json(indent=2) + "\n")
                sys.stdout.flush()  # here, where a write error is handled, not at interpreter exit
            else:
                _print_report(file, report, policy, rows_out)
        except BrokenPipeError:
            # The reader went away (`listguard verify FILE | head`): stop quietly, as Unix tools do.
            _discard_stdout()
            raise typer.Exit(EXIT_BROKEN_PIPE) from None
        except OSError as error:  # stdout cannot take the report (`> /dev/full`, a full disk)
            _discard_stdout()
            raise CommandError(
                f"cannot write the report to standard output: {error.strerror or error}"
            ) from None


def _discard_stdout() -> None:
    """Point stdout at /dev/null: what is still buffered must not fail again at interpreter exit."""
    try:
        descriptor = sys.stdout.fileno()
    except (OSError, ValueError):  # not a real file (a test runner's capture): nothing to flush later
        return
    os.dup2(os.open(os.devnull, os.O_WRONLY), descriptor)


def _run(
    file: Path,
    existing_contacts: int,
    blocklist: Path | None,
    require_consent: bool,
    rows_out: Path | None,
    own_domains: list[str] | None = None,
) -> tuple[ImportReport, Policy]:
    """Everything that can fail: the inputs, the engine and the rows file."""
    from listguard.verification import UnusableFileError, Verification, VerifyOptions, default_workers
    from listguard.verification.domains import normalize_domains

    try:
        owned = normalize_domains(own_domains or ())
    except ValueError as error:
        raise CommandError(f"--own-domain {error}") from None

    size = _readable_file_size(file, "contact file")
    blocked = _read_blocklist(blocklist) if blocklist is not None else frozenset()
    if rows_out is not None and _same_file(file, rows_out):
        raise CommandError(f"--rows-out {rows_out} is the contact file itself: give another path")
    rows_target = _rows_target(rows_out) if rows_out is not None else None
    policy = load_policy()
    options = VerifyOptions(
        existing_contacts=existing_contacts,
        blocklist=blocked,
        require_consent=require_consent,
        own_domains=owned,
    )
    try:
        with _open_contact_file(file) as stream:
            verification = Verification(
                stream, options=options, policy=policy, size=size, workers=default_workers()
            )
            # Closed here, whatever happens: the engine's worker processes are stopped by this thread
            # (left to the garbage collector, the generator could be finalised on another one).
            with closing(_with_progress(verification, size)) as batches:
                if rows_out is None:
                    for _ in batches:
                        pass
                else:
                    _write_rows_file(rows_out, rows_target, batches)
            return verification.report(), policy
    except UnusableFileError as error:
        raise CommandError(f"{file}: {error}") from None


def _readable_file_size(path: Path, what: str) -> int:
    try:
        if path.is_dir():
            raise CommandError(f"{path} is a directory: give the path of the {what}")
        return path.stat().st_size
    except FileNotFoundError:
        raise CommandError(f"{what} not found: {path}; check the path and try again") from None
    except OSError as error:
        raise CommandError(f"cannot read the {what} {path}: {error.strerror}") from None


@contextmanager
def _open_contact_file(path: Path) -> Iterator[_ContactFile]:
    try:
        stream = open(path, "rb")  # noqa: SIM115 (closed below; the engine reads it in blocks)
    except OSError as error:
        raise CommandError(f"cannot read the contact file {path}: {error.strerror}") from None
    with stream:
        yield _ContactFile(stream, path)


class _ContactFile:
    """The contact file as the engine reads it: a read error (``/proc/self/mem``, a failing disk) is
    the user's to see, as one line."""

    def __init__(self, stream: IO[bytes], path: Path) -> None:
        self._stream, self._path = stream, path

    def read(self, size: int = -1, /) -> bytes:
        try:
            return self._stream.read(size)
        except OSError as error:
            raise CommandError(
                f"cannot read the contact file {self._path}: {error.strerror or error}"
            ) from None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _read_blocklist(path: Path) -> frozenset[str]:
    """Addresses from a plain list (one a line) or a CSV export (its email column, else its first).

    Blank lines and ``#`` comments are skipped. A first line without an ``@`` is a header row.
    """
    _readable_file_size(path, "blocklist")
    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_BLOCKLIST_BYTES + 1)  # a device has no size to check beforehand
    except OSError as error:
        raise CommandError(f"cannot read the blocklist {path}: {error.strerror}") from None
    if len(data) > MAX_BLOCKLIST_BYTES:
        raise CommandError(
            f"the blocklist {path} is over the {MAX_BLOCKLIST_BYTES / 1e6:g} MB limit of a blocklist; "
            "give a file of one address per line"
        )
    text = _decoded_by_line(data.removeprefix(codecs.BOM_UTF8))
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    records = list(csv.reader(lines))
    column = 0
    if records and "@" not in lines[0]:
        header = [name.strip().lower().replace("-", "").replace("_", " ") for name in records.pop(0)]
        column = next((i for i, name in enumerate(header) if name in BLOCKLIST_EMAIL_HEADERS), 0)
    addresses = (record[column].strip() for record in records if len(record) > column)
    return frozenset(address for address in addresses if address)


def _decoded_by_line(data: bytes) -> str:
    """UTF-8, but a line that is not valid UTF-8 is read as Windows-1252 (as the engine reads files)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        lines = data.splitlines(keepends=True)
    return "".join(_decoded_line(line) for line in lines)


def _decoded_line(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("cp1252", errors="replace")


def _with_progress(verification: Verification, size: int) -> Generator[Batch]:
    """The engine's batches; with a progress bar on stderr for a large file when a person watches."""
    if size < PROGRESS_MIN_BYTES or not sys.stderr.isatty():
        yield from verification.batches()
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    # The first batch before the bar: the engine forks its workers by then, and the bar's refresh
    # thread must not be running in a process that forks.
    batches = verification.batches()
    first = next(batches, None)
    if first is None:
        return
    columns = (TextColumn("checking"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("check", total=size)
        for batch in itertools.chain([first], batches):
            yield batch
            progress.update(task, completed=verification.bytes_read)


def _rows_target(path: Path) -> Path | int | None:
    """How the rows file is written: a ``Path`` is replaced whole (the file itself, through any
    symbolic link); an ``int`` is a descriptor of this process that ``path`` names (/dev/stdout),
    written into where it stands; None is a pipe or a character device, opened and written into.
    Refuses what takes no rows file."""
    descriptor = _named_descriptor(path)
    if descriptor is not None:  # /dev/stdout, >(gzip > rows.csv.gz): whatever it is open on
        return descriptor if descriptor >= 0 else None
    try:
        mode = path.stat().st_mode  # follows symbolic links
    except FileNotFoundError:
        return Path(os.path.realpath(path))  # a new file (where a dangling link points, if one does)
    except OSError as error:
        raise CommandError(f"cannot write the rows file {path}: {error.strerror}") from None
    if stat.S_ISREG(mode):
        return Path(os.path.realpath(path))
    if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode):
        return None
    what = "a directory" if stat.S_ISDIR(mode) else "a block device" if stat.S_ISBLK(mode) else "no file"
    raise CommandError(
        f"--rows-out {path} is {what}: give the path of a CSV file to write (or a pipe, or /dev/stdout)"
    )


# A file descriptor of a process, by name: /dev/fd/N, /proc/self/fd/N, /proc/<pid>/fd/N.
_DESCRIPTOR_PATH = re.compile(r"/(?:dev/fd|proc/(self|\d+)/fd)/(\d+)")


def _named_descriptor(path: Path) -> int | None:
    """The descriptor of this process that ``path`` names, through any symbolic links (/dev/stdout
    is /proc/self/fd/1); -1 for one of another process; None when it names none."""
    current = os.path.abspath(path)
    for _ in range(40):  # the kernel's own limit of links to follow
        if match := _DESCRIPTOR_PATH.fullmatch(current):
            process, descriptor = match.groups()
            return int(descriptor) if process in (None, "self", str(os.getpid())) else -1
        if not os.path.islink(current):
            return None
        current = os.path.normpath(os.path.join(os.path.dirname(current), os.readlink(current)))
    return None


def _write_rows_file(path: Path, target: Path | int | None, batches: Iterable[Batch]) -> None:
    """Write the per-row verdicts to ``path`` (see ``_rows_target`` for ``target``).

    A file is written to a temporary file beside it, renamed into place at the end: nothing
    half-written is ever left under its name; the temporary file goes away when the input turns out
    unusable, on Ctrl-C or on any other error. A pipe, a device or a descriptor is written into as
    the check goes.
    """
    from listguard.verification import REPORT_HEADER

    # errors="replace": an address with undecodable bytes must not stop a million-row report.
    text_options: dict[str, Any] = {
        "encoding": "utf-8",
        "errors": "replace",
        "newline": "",
        "buffering": WRITE_BUFFER_BYTES,
    }
    if not isinstance(target, Path):
        try:
            # A descriptor of ours is written where it stands (after what stdout holds already): a
            # copy of it, so that closing the rows file leaves stdout open.
            opened = os.fdopen(os.dup(target), "w", **text_options) if target is not None else None
            with opened or open(path, "w", **text_options) as out:
                _write_rows(out, REPORT_HEADER, batches)
        except OSError as error:
            raise CommandError(f"cannot write the rows file {path}: {error.strerror}") from None
        return
    # A hidden name beside the target (same file system, so the rename is atomic); "x" mode creates
    # it with the user's umask, like any file the user writes.
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
    try:
        out = open(temporary, "x", **text_options)  # noqa: SIM115 (closed by the with block below)
    except OSError as error:
        raise CommandError(f"cannot write the rows file {path}: {error.strerror}") from None
    try:
        with out:
            _write_rows(out, REPORT_HEADER, batches)
        os.replace(temporary, target)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise CommandError(f"cannot write the rows file {path}: {error.strerror}") from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _write_rows(out: IO[str], header: str, batches: Iterable[Batch]) -> None:
    out.write(header)
    for batch in batches:
        out.write(batch.report_csv())


def _print_report(file: Path, report: ImportReport, policy: Policy, rows_out: Path | None) -> None:
    from rich.console import Console
    from rich.markup import escape  # file names and column names are the user's: never markup
    from rich.table import Table

    from listguard.verification import BOUNCE_VERDICTS, Verdict
    from listguard.verification.reader import SEPARATOR_NAMES

    console = Console(highlight=False)
    bounce_names = {verdict.value for verdict in BOUNCE_VERDICTS}
    console.print(f"[bold]listguard verify[/] {escape(str(file))}")
    separator = SEPARATOR_NAMES.get(report.separator, repr(report.separator))
    console.print(
        f"  {report.rows:,} rows · encoding {report.encoding} · separator {separator} · "
        f"email column [bold]{escape(report.email_column)}[/] · {report.file_bytes / 1e6:,.1f} MB"
    )
    if report.windows_1252_lines and report.encoding != "windows-1252":
        lines = report.windows_1252_lines
        console.print(f"  {lines:,} line{'s' if lines != 1 else ''} not valid UTF-8, read as Windows-1252")

    table = Table(title="Verdicts", title_justify="left", show_footer=True)
    table.add_column("verdict", footer="total")
    table.add_column("rows", justify="right", footer=f"{report.rows:,}")
    table.add_column("rate", justify="right")
    table.add_column("counts as bounce", justify="center")
    order = [verdict.value for verdict in Verdict]
    for name in sorted(report.verdicts, key=lambda n: order.index(n) if n in order else len(order)):
        count = report.verdicts[name]
        rate = report.rates.get(name, count / report.rows if report.rows else 0.0)
        style = "dim" if count == 0 else ""
        table.add_row(name, f"{count:,}", f"{rate:.2%}", "yes" if name in bounce_names else "", style=style)
    console.print(table)

    console.print(f"  predicted bounce rate: [bold]{report.predicted_bounce_rate:.2%}[/]")
    console.print(_why_check(report, policy))
    style = OUTCOME_STYLES.get(report.outcome.value, "bold")
    # Without a required check the import goes through as it is; the outcome says what a check would say.
    label = "outcome" if report.verification_required else "outcome if it were checked"
    console.print(f"  {label}: [{style}]{report.outcome.value}[/]")
    for reason in report.reasons:
        reason_style = OUTCOME_STYLES.get(reason.outcome.value, "bold")
        console.print(
            f"    • {reason.rule}: {reason.value:.2%} (threshold {reason.threshold:.2%}) → "
            f"[{reason_style}]{reason.outcome.value}[/]: {escape(reason.message)}"
        )
    if rows_out is not None:
        console.print(f"  rows written to {escape(str(rows_out))}")


def _why_check(report: ImportReport, policy: Policy) -> str:
    """Whether the import needs a verification check, and the rule with its numbers."""
    new, existing = report.new_contacts, report.existing_contacts
    if existing:
        facts = f"{new:,} new contacts, {new / existing:.0%} of the {existing:,} already on the list"
    else:
        facts = f"{new:,} new contacts into an empty list"
    rule = (
        f"rule: at least {policy.check_min_new_contacts:,} new contacts and at least "
        f"{policy.check_min_share_of_list:.0%} of the current list"
    )
    verdict = "[bold]required[/]" if report.verification_required else "not required"
    return f"  verification check {verdict}: {facts} ({rule})"
