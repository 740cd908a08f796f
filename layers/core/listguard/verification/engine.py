"""The verification check over one import file: stream the rows, give each a verdict, report."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from itertools import compress, repeat
from operator import contains, eq, gt, is_, ne
from typing import BinaryIO

from .domains import ROLE_LOCAL_PARTS, is_disposable, is_role_account, typo_correction
from .errors import UnusableFileError
from .model import Batch, ImportReport, Verdict, VerifyOptions
from .policy import Policy
from .reader import SEPARATOR_NAMES, CsvStream, Records
from .syntax import FAST_ADDRESS, check_syntax, fast_check, fast_domain

# Header names, compared lower-cased with everything but letters and digits removed, in order of
# preference: "E-mail Address" -> "emailaddress".
EMAIL_COLUMN_ALIASES = (
    "email emailaddress mail email1 primaryemail emailid contactemail workemail businessemail "
    "personalemail emails courriel adressemail adresseemail adressecourriel correo correoelectronico "
    "emailadresse epost"
).split()
CONSENT_COLUMN_ALIASES = (
    "optin consent emailoptin optinstatus gdprconsent marketingconsent emailconsent doubleoptin "
    "acceptsmarketing acceptsemailmarketing subscribed newsletter optindate consentdate"
).split()
#: Values of a consent column that do not record an opt-in (an empty cell does not either).
NO_CONSENT_VALUES = frozenset("0 false no n f off none null unsubscribed optout opt-out".split())


_fast_address = FAST_ADDRESS.fullmatch

def normalize_address(address: str) -> str:
    """The identity of an address: trimmed, NFC-normalised and case-folded (duplicates, blocklist)."""
    address = address.strip()
    if address.isascii():
        return address.lower()  # NFC is the identity on ASCII, and casefold is lower()
    return unicodedata.normalize("NFC", address).casefold()


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
        stream: BinaryIO,
        *,
        options: VerifyOptions | None = None,
        policy: Policy | None = None,
        size: int | None = None,
    ) -> None:
        self.options = options or VerifyOptions()
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
            raise UnusableFileError("the file is empty; upload a CSV with a header row and one contact per row")
        first = [name.strip() for name in records.record(0)]
        email_index = _find_column(first, EMAIL_COLUMN_ALIASES)
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
            shown = ", ".join(repr(name) for name in first[:8]) or "nothing"
            separator = SEPARATOR_NAMES[self.separator]
            raise UnusableFileError(
                f"no email column found (the header row has {shown}, read as {separator}-separated); "
                "name the column of addresses 'email' and try again"
            )
        self.email_index = email_index
        self.email_column = self.header[email_index]
        self.consent_index = _find_column(self.header, CONSENT_COLUMN_ALIASES)
        return data

    @staticmethod
    def _headerless_email_index(first: Sequence[str]) -> int | None:
        for index, value in enumerate(first):
            if fast_check(value.strip()) is not None:
                return index
        return None

    # -- the rows -----------------------------------------------------------------------------

    def batches(self) -> Iterator[Batch]:
        """The verdict of every data row, one batch per block of the file (thousands of rows)."""
        if self._finished:
            raise RuntimeError("a Verification reads its file once")
        classify = _Classifier(self)
        yield classify(self._first_records)
        for block in self._blocks:
            yield classify(self._csv.records(block))
        self._rows = classify.rows
        self._counts = classify.counts
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
            separator=self.separator,
            email_column=self.email_column,
            file_bytes=self.bytes_read,
        )


class _Classifier:
    """The per-row rules, in the vocabulary's precedence, applied a block of rows at a time.

    A screen of C-level passes (``map``, ``compress``) over whole columns proves most rows valid;
    only the rows it cannot clear (a few percent) go through the per-row rules in Python. Both see
    the same facts, so the verdicts are those of the per-row rules alone.
    """

    def __init__(self, verification: Verification) -> None:
        options = verification.options
        self.email_index = verification.email_index
        self.columns = len(verification.header)
        self.require_consent = options.require_consent
        self.consent_index = verification.consent_index
        self.consent_reason = (
            "the account requires an opt-in column and the file has none"
            if self.consent_index is None
            else f"no opt-in recorded in '{verification.header[self.consent_index]}'"
        )
        self.blocklist = frozenset(normalize_address(address) for address in options.blocklist)
        self.first_row_of: dict[object, int] = {}
        #: Per domain as written: what the screen knows of it (see ``_domain_state``).
        self.domain_state: dict[str | None, int] = {}
        self.counts: Counter[Verdict] = Counter()
        self.rows = 0

    def __call__(self, records: Records) -> Batch:
        n = len(records)
        rows = range(self.rows + 1, self.rows + 1 + n)
        self.rows += n
        indices = range(n)
        email_index, columns = self.email_index, self.columns
        verdicts = [Verdict.VALID] * n
        reasons = [""] * n
        suggestions = [""] * n
        lengths = records.field_counts()
        emails = records.column(email_index, lengths)
        matches = list(map(_fast_address, emails))
        keys: list[object] = list(map(str.lower, emails))  # the identity of an ASCII address
        domain_state = self.domain_state
        domains = [match[2] if match else None for match in matches]
        states = list(map(domain_state.get, domains))
        for i in compress(indices, map(is_, states, repeat(None))):
            domain = domains[i]
            states[i] = _UNDECIDED if domain is None else domain_state.setdefault(domain, _domain_state(domain))

        # Rows the screen cannot decide: their syntax (and shape) one by one, first.
        parts: dict[int, tuple[str, str]] = {}  # row index -> (local part, ASCII domain)
        needs_rules = set(compress(indices, states))
        needs_syntax = set(compress(indices, map(eq, states, repeat(_UNDECIDED))))
        needs_syntax.update(compress(indices, map(gt, lengths, repeat(columns))))
        needs_rules |= needs_syntax
        for i in sorted(needs_syntax):
            match = None if states[i] is _UNDECIDED else matches[i]
            problem, facts = self._syntax_or_shape(records.record(i), emails[i], match)
            if problem is not None:
                verdicts[i], reasons[i] = problem
                keys[i] = _NOT_AN_ADDRESS
            elif facts is not None:
                parts[i] = facts
                keys[i] = normalize_address(emails[i])

        # Duplicates: the first row of each address among rows of valid syntax, in file order.
        first_rows = list(map(self.first_row_of.setdefault, keys, rows))
        self.first_row_of.pop(_NOT_AN_ADDRESS, None)
        needs_rules.update(compress(indices, map(ne, first_rows, rows)))
        if self.blocklist:
            needs_rules.update(compress(indices, map(self.blocklist.__contains__, keys)))
        # Role accounts: the local part, lower-cased, is a role name; a +tag sends the row to the rules.
        local_parts = [match[1] if match else "" for match in matches]
        needs_rules.update(compress(indices, map(ROLE_LOCAL_PARTS.__contains__, map(str.lower, local_parts))))
        needs_rules.update(compress(indices, map(contains, local_parts, repeat("+"))))
        if self.require_consent:
            needs_rules.update(compress(indices, map(self._lacks_consent, records.fields)))

        for i in needs_rules:
            if verdicts[i] is not Verdict.VALID:
                continue  # decided above: malformed, invalid or blank
            match = matches[i]
            local, ascii_domain = parts[i] if i in parts else (match[1], match[2].lower())
            verdicts[i], reasons[i], suggestions[i] = self._rules(
                records.record(i), local, ascii_domain, keys[i], first_rows[i], rows[i]
            )
        self._count(verdicts, needs_rules, n)
        return Batch(rows, emails, verdicts, reasons, suggestions, records)

    def _count(self, verdicts: list[Verdict], needs_rules: set[int], n: int) -> None:
        counts = self.counts
        not_valid = 0
        for i in needs_rules:
            verdict = verdicts[i]
            if verdict is not Verdict.VALID:
                counts[verdict] += 1
                not_valid += 1
        counts[Verdict.VALID] += n - not_valid

    def _syntax_or_shape(
        self, fields: list[str], email: str, match: re.Match[str] | None
    ) -> tuple[tuple[Verdict, str] | None, tuple[str, str] | None]:
        """``((verdict, reason), None)`` when the row is no contact, else ``(None, (local, ASCII domain))``."""
        if len(fields) <= self.email_index or (len(fields) > self.columns and any(fields[self.columns :])):
            return (Verdict.MALFORMED_ROW, self._shape_problem(fields)), None
        if match is not None:
            return None, (match[1], match[2].lower())
        if not email:
            return (Verdict.INVALID_SYNTAX, "the email cell is empty"), None
        if "\ufffd" in email:
            return (Verdict.MALFORMED_ROW, "the row holds bytes that are not valid in the file's encoding"), None
        checked = check_syntax(email)
        if not checked.valid:
            return (Verdict.INVALID_SYNTAX, checked.message), None
        return None, (checked.local_part, checked.ascii_domain)

    def _rules(
        self, fields: list[str], local: str, ascii_domain: str, key: object, first_row: int, row: int
    ) -> tuple[Verdict, str, str]:
        """``(verdict, reason, suggestion)`` of an address of valid syntax, in precedence order."""
        if first_row != row:
            return Verdict.DUPLICATE, f"same address as row {first_row}", ""
        if key in self.blocklist:
            return Verdict.BLOCKLISTED, "on the account's blocklist", ""
        correction = typo_correction(ascii_domain)
        suggestion = f"{local}@{correction}" if correction else ""
        if is_disposable(ascii_domain):
            return Verdict.DISPOSABLE, f"{ascii_domain} is a disposable-mailbox domain", suggestion
        if is_role_account(local):
            return Verdict.ROLE_ACCOUNT, f"{local}@ is a team mailbox, not a person", ""
        if correction:
            return Verdict.TYPO_DOMAIN, f"{ascii_domain} looks like a typo of {correction}", suggestion
        if self.require_consent and self._lacks_consent(fields):
            return Verdict.MISSING_CONSENT, self.consent_reason, ""
        return Verdict.VALID, "", ""

    def _lacks_consent(self, fields: list[str]) -> bool:
        index = self.consent_index
        if index is None:
            return True
        value = fields[index].strip().lower() if index < len(fields) else ""
        return not value or value in NO_CONSENT_VALUES

    def _shape_problem(self, fields: list[str]) -> str:
        if len(fields) <= self.email_index:
            return (
                f"the row has {len(fields)} field(s) and no email cell (the email column is "
                f"column {self.email_index + 1}); check for a missing separator"
            )
        return (
            f"the row has {len(fields)} fields but the header has {self.columns}; "
            "check for an unquoted separator inside a value"
        )


# What the screen knows of a domain: rows on a CLEAN domain need no domain rule; rows on a RULES
# domain do (disposable, typo); on an UNDECIDED one even the syntax is left to email-validator.
_CLEAN, _RULES, _UNDECIDED = 0, 1, 2


def _domain_state(domain: str) -> int:
    ascii_domain = fast_domain(domain)
    if ascii_domain is None:
        return _UNDECIDED
    if is_disposable(ascii_domain) or typo_correction(ascii_domain) is not None:
        return _RULES
    return _CLEAN


#: A stand-in key for rows that are not addresses, so they never count as a first occurrence.
_NOT_AN_ADDRESS = object()
