"""The verification check over one import file: stream the rows, give each a verdict, report."""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import signal
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor

from .classify import BlocklistLookup, FileOrder, RowScreen, Screened
from .errors import UnusableFileError
from .model import Batch, ImportReport, Verdict, VerifyOptions
from .policy import Policy
from .reader import HOW_TO_EXPORT, MAX_ROW_CHARS, SEPARATOR_NAMES, SEPARATORS, ByteStream, CsvStream, Records
from .syntax import check_syntax

#: Below this size a file is checked in this process: starting workers would cost more than it saves.
PARALLEL_MIN_BYTES = 8 * 1024 * 1024

# Header names, compared lower-cased with everything but letters and digits removed, in order of
# preference: "E-mail Address" -> "emailaddress".
EMAIL_COLUMN_ALIASES = [
    "email",
    "emailaddress",
    "mail",
    "email1",
    "primaryemail",
    "emailid",
    "contactemail",
    "workemail",
    "businessemail",
    "personalemail",
    "emails",
    "courriel",
    "adressemail",
    "adresseemail",
    "adressecourriel",
    "correo",
    "correoelectronico",
    "emailadresse",
    "epost",
]
CONSENT_COLUMN_ALIASES = [
    "optin",
    "consent",
    "emailoptin",
    "optinstatus",
    "gdprconsent",
    "marketingconsent",
    "emailconsent",
    "doubleoptin",
    "acceptsmarketing",
    "acceptsemailmarketing",
    "subscribed",
    "newsletter",
    "optindate",
    "consentdate",
]


def _column_key(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.strip().lstrip("\ufeff").casefold())


def _find_column(header: Sequence[str], aliases: Sequence[str]) -> int | None:
    keys = [_column_key(name) for name in header]
    for alias in aliases:
        if alias in keys:
            return keys.index(alias)
    return None


class Verification:
    """One pass over one file. Sniffs on construction; ``batches()`` streams; then ``report()``.

    Construction raises ``UnusableFileError`` when the file cannot be used at all.
    """

    def __init__(
        self,
        stream: ByteStream,
        *,
        options: VerifyOptions | None = None,
        policy: Policy | None = None,
        size: int | None = None,
        workers: int = 1,
        blocklist_lookup: BlocklistLookup | None = None,
    ) -> None:
        """``workers`` > 1 screens blocks in that many processes (the console does; a Lambda does not).

        ``blocklist_lookup``: the account's blocklist asked for the file's addresses, in this process,
        as the check goes: called with a block's normalised addresses whose verdict blocklisted can
        still change (each address of the file once, at most ``BLOCKLIST_LOOKUP_MAX`` a call), it
        returns those that are blocklisted. The verdicts are those the same addresses in
        ``options.blocklist`` give (both may be given: an address on either is blocklisted). What it
        raises ends the check: it comes out of ``batches()``.
        """
        self.options = options or VerifyOptions()
        self._blocklist_lookup = blocklist_lookup
        self._size = size
        self._workers = workers if (size or 0) >= PARALLEL_MIN_BYTES else 1
        self.policy = policy or Policy()
        self._csv = CsvStream(stream, max_bytes=self.policy.max_file_bytes, size=size)
        self._blocks = self._csv.text_blocks()
        self._first_records = self._read_header()
        self._counts: Counter[Verdict] = Counter()
        self._rows = 0
        self._finished = False

    # -- the file's facts ---------------------------------------------------------------------

    @property
    def encoding(self) -> str:
        return self._csv.encoding

    @property
    def separator(self) -> str:
        return self._csv.separator

    @property
    def bytes_read(self) -> int:
        return self._csv.bytes_read

    def _read_header(self) -> Records:
        """Find the header and the email column; return the first block's data records."""
        for block in self._blocks:
            records = self._csv.records(block)
            if len(records):
                break
        else:
            raise UnusableFileError(
                "the file is empty; upload a CSV with a header row and one contact per row"
            )
        if records.overlong[:1] == [0]:
            raise UnusableFileError(
                f"row 1 is longer than {MAX_ROW_CHARS:,} characters, the limit of a row, so it is "
                f"no header (is a quoted field left open?); {HOW_TO_EXPORT}"
            )
        first = [name.strip() for name in records.record(0)]
        email_index = _find_column(first, EMAIL_COLUMN_ALIASES)
        if email_index is None:
            # The separator was scored on the rows; the header may say otherwise ("Email;Name, First"
            # over rows that all hold commas): a separator that shows an email column wins.
            for separator in SEPARATORS:
                candidate = Records(block, separator)
                header = [name.strip() for name in candidate.record(0)]
                if (
                    separator != self.separator
                    and (index := _find_column(header, EMAIL_COLUMN_ALIASES)) is not None
                ):
                    self._csv.separator, records, first, email_index = separator, candidate, header, index
                    break
        if email_index is not None:
            self.header = first
            data = records.without_first()
        elif (guess := self._headerless_email_index(first)) is not None:
            # No header row, but the first row holds an address: every row is a contact.
            email_index = guess
            self.header = [f"column_{i + 1}" for i in range(len(first))]
            self.header[email_index] = "email"
            data = records
        else:
            # What row 1 holds is the customer's data (it may be a contact): it is never shown.
            separator = SEPARATOR_NAMES[self.separator]
            raise UnusableFileError(
                f"no email column found: row 1 has {len(first)} field(s) read as {separator}-separated, "
                "none named like an email column and none holding an address; "
                "name the column of addresses 'email' and try again"
            )
        self.email_index = email_index
        self.email_column = self.header[email_index]
        self.consent_index = _find_column(self.header, CONSENT_COLUMN_ALIASES)
        return data

    @staticmethod
    def _headerless_email_index(first: Sequence[str]) -> int | None:
        """The first field of row 1 that holds an address (any address email-validator accepts)."""
        for index, value in enumerate(first):
            if "@" in value and check_syntax(value.strip()).valid:
                return index
        return None

    # -- the rows -----------------------------------------------------------------------------

    def batches(self) -> Iterator[Batch]:
        """The verdict of every data row, one batch per block of the file (thousands of rows)."""
        if self._finished:
            raise RuntimeError("a Verification reads its file once")
        screen = RowScreen(
            email_index=self.email_index,
            columns=len(self.header),
            consent_index=self.consent_index,
            consent_column=None if self.consent_index is None else self.header[self.consent_index],
            require_consent=self.options.require_consent,
            blocklist=self.options.blocklist,
            own_domains=self.options.own_domains,
        )
        in_order = FileOrder(file_bytes=self._size, blocklist_lookup=self._blocklist_lookup)
        with contextlib.ExitStack() as stack:
            screened: Iterable[tuple[Screened, Records]]
            if self._workers > 1:
                # Started before the first batch goes out: the workers are forked before the caller
                # starts anything of its own (a progress bar's thread must not be forked).
                screened = stack.enter_context(
                    _WorkerScreen(screen, self._blocks, self.separator, self._workers)
                )
            else:
                screened = (
                    (screen.screen(records), records) for records in map(self._csv.records, self._blocks)
                )
            yield in_order.resolve(screen.screen(self._first_records), self._first_records)
            for result, records in screened:
                yield in_order.resolve(result, records)
        self._rows = in_order.rows
        self._counts = in_order.counts
        self._finished = True

    def report(self) -> ImportReport:
        """The summary of the whole check; call it after ``batches()`` is consumed."""
        if not self._finished:
            for _ in self.batches():
                pass
        counts, rows = self._counts, self._rows
        new_contacts = sum(n for verdict, n in counts.items() if verdict.importable)
        outcome, reasons, bounce_rate = self.policy.decide(counts, rows)
        return ImportReport(
            rows=rows,
            verdicts={verdict.value: counts.get(verdict, 0) for verdict in Verdict},
            rates={verdict.value: (counts.get(verdict, 0) / rows if rows else 0.0) for verdict in Verdict},
            predicted_bounce_rate=bounce_rate,
            new_contacts=new_contacts,
            existing_contacts=self.options.existing_contacts,
            verification_required=self.policy.verification_required(
                new_contacts, self.options.existing_contacts
            ),
            outcome=outcome,
            reasons=reasons,
            encoding=self.encoding,
            windows_1252_lines=self._csv.windows_1252_lines,
            separator=self.separator,
            email_column=self.email_column,
            file_bytes=self.bytes_read,
        )


# -- the screen in worker processes ---------------------------------------------------------------

_worker_screen: RowScreen | None = None


def _start_worker(screen: RowScreen) -> None:
    global _worker_screen
    _worker_screen = screen
    # Ctrl-C in a terminal reaches every process of the group: the main process stops the check and
    # its workers; a worker interrupted on its own would only print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _screen_block(block: str, separator: str) -> Screened:
    assert _worker_screen is not None
    return _worker_screen.screen(Records(block, separator))


class _WorkerScreen:
    """Screens blocks in worker processes, in file order, a few blocks in flight (bounded memory).

    Only the screen runs there: the block's text goes out, and its emails, keys and exceptions come
    back. The rows' fields are parsed in this process only if somebody asks for them.
    """

    def __init__(self, screen: RowScreen, blocks: Iterator[str], separator: str, workers: int) -> None:
        self._screen, self._blocks, self._separator, self._workers = screen, blocks, separator, workers
        self._in_flight: deque[tuple[str, Future[Screened]]] = deque()

    def __enter__(self) -> _WorkerScreen:
        import multiprocessing

        # Not multiprocessing.Pool: its worker-handler thread wakes whenever a result waits in the pipe
        # and spins until the result thread takes it, ~10% of this process's CPU and the GIL with it.
        # The executor's one manager thread sleeps until there is work; a worker that dies raises here.
        # With "fork" the executor starts all its workers at the first submit: that is now.
        context = multiprocessing.get_context("fork")
        # Ctrl-C is held back while the workers are forked: raised inside a fork handler it would be
        # swallowed ("Exception ignored") and the check would run on. It arrives right after.
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            self._pool = ProcessPoolExecutor(
                self._workers, mp_context=context, initializer=_start_worker, initargs=(self._screen,)
            )
            self._submit(2 * self._workers + 1)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
        return self

    def __exit__(self, *_: object) -> None:
        self._pool.shutdown(cancel_futures=True)  # on an early stop, the blocks not started are dropped

    def _submit(self, count: int) -> None:
        for block in itertools.islice(self._blocks, count):
            self._in_flight.append((block, self._pool.submit(_screen_block, block, self._separator)))

    def __iter__(self) -> Iterator[tuple[Screened, Records]]:
        while self._in_flight:
            text, pending = self._in_flight.popleft()
            self._submit(1)
            yield pending.result(), Records(text, self._separator)


def default_workers() -> int:
    """Worker processes for the console: one per core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
