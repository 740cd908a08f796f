"""The vocabulary of a verification check: verdicts, outcomes, options and the import report."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from itertools import chain, repeat
from operator import add
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..csvio import LINE_END, join_rows, safe_column
from .domains import lists_in_force, normalize_domains
from .reader import Records


class Verdict(StrEnum):
    """The verdict of one address. Exactly one per row, in this precedence (first wins)."""

    MALFORMED_ROW = "malformed_row"
    INVALID_SYNTAX = "invalid_syntax"
    DUPLICATE = "duplicate"
    BLOCKLISTED = "blocklisted"
    DISPOSABLE = "disposable"
    ROLE_ACCOUNT = "role_account"
    TYPO_DOMAIN = "typo_domain"
    INVALID_DOMAIN = "invalid_domain"  # only when DNS checks are switched on
    MISSING_CONSENT = "missing_consent"
    VALID = "valid"

    @property
    def importable(self) -> bool:
        """Rows that cannot be used are reported but never become contacts."""
        return self not in _NOT_IMPORTABLE


_NOT_IMPORTABLE = frozenset({Verdict.MALFORMED_ROW, Verdict.INVALID_SYNTAX, Verdict.DUPLICATE})

#: The header of the per-row report CSV, and its line end (csv.writer's and RFC 4180's).
REPORT_COLUMNS = ("row", "email", "verdict", "reason", "suggestion")
REPORT_LINE_END = LINE_END
REPORT_HEADER = ",".join(REPORT_COLUMNS) + REPORT_LINE_END

#: The predicted bounce rate is the share of data rows with one of these verdicts.
BOUNCE_VERDICTS = frozenset(
    {
        Verdict.INVALID_SYNTAX,
        Verdict.DISPOSABLE,
        Verdict.TYPO_DOMAIN,
        Verdict.BLOCKLISTED,
        Verdict.INVALID_DOMAIN,
    }
)


class Outcome(StrEnum):
    """The outcome of an import's verification check."""

    VALIDATED = "validated"
    DECLINED = "declined"
    MANUAL_REVIEW = "manual_review"


class RowResult(NamedTuple):
    """One data row's verdict. ``row`` is the 1-based number of the data row (header excluded)."""

    row: int
    email: str
    verdict: Verdict
    reason: str
    suggestion: str
    fields: list[str]


@dataclass(slots=True)
class Batch:
    """The verdicts of consecutive data rows, column by column (cheap to build, cheap to write out).

    Iterating gives ``RowResult``s; ``report_rows()`` gives the rows of the per-row report CSV.
    """

    rows: range
    emails: list[str]
    verdicts: list[Verdict]
    reasons: list[str]
    suggestions: list[str]
    records: Records

    @property
    def fields(self) -> list[list[str]]:
        """Every row's cells, aligned with the header (split on first use)."""
        return self.records.fields

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[RowResult]:
        columns = zip(
            self.rows, self.emails, self.verdicts, self.reasons, self.suggestions, self.fields, strict=True
        )
        return (RowResult(*values) for values in columns)

    def report_rows(self) -> Iterator[tuple[int, str, Verdict, str, str]]:
        """``(row, email, verdict, reason, suggestion)``: the per-row report's columns."""
        return zip(self.rows, self.emails, self.verdicts, self.reasons, self.suggestions, strict=True)

    def report_csv(self) -> str:
        """These rows of the per-row report as CSV text, written by ``listguard.csvio``.

        Formula-safe (a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
        gets a single quote in front), otherwise exactly what ``csv.writer`` writes. This is the hot
        path (once per data row): the columns are settled a column at a time by C-level passes (see
        ``csvio.safe_column``). Row numbers (digits) and verdicts (lower-case names) are safe as they are.
        """
        if not self.rows:
            return ""
        return join_rows(
            (
                _row_numbers(self.rows),
                safe_column(self.emails),
                self.verdicts,
                safe_column(self.reasons, repeats=True),
                safe_column(self.suggestions, repeats=True),
            )
        )


_THREE_DIGITS = [f"{i:03d}" for i in range(1000)]


def _row_numbers(rows: range) -> Iterator[str]:
    """``map(str, rows)``, three times faster: a run of rows shares its thousands, written once.

    Converting an int to text costs ~130 ns; joining a run's thousands to a ready-made three-digit
    tail costs ~40 (still C-level, no Python code per row).
    """
    start, stop = rows.start, rows.stop
    head = min(stop, max(start, 1000))
    runs: list[Iterator[str]] = [map(str, range(start, head))]  # rows below 1000 have no thousands
    for thousands in range(head // 1000, (stop + 999) // 1000):
        low, high = max(head, thousands * 1000) % 1000, min(stop, thousands * 1000 + 1000) - thousands * 1000
        runs.append(map(add, repeat(str(thousands), high - low), _THREE_DIGITS[low:high]))
    return chain.from_iterable(runs)


class VerifyOptions(BaseModel):
    """What the check needs to know about the account that imports the file."""

    model_config = ConfigDict(frozen=True)

    existing_contacts: int = Field(default=0, ge=0)
    #: Addresses on the account's blocklist, as given; they are normalised on use.
    blocklist: frozenset[str] = frozenset()
    require_consent: bool = False
    #: The account's own domains: they and their subdomains are never flagged disposable or typo.
    #: Normalised to lower-case ASCII; a value that is no domain name fails validation.
    own_domains: frozenset[str] = frozenset()

    @field_validator("own_domains")
    @classmethod
    def _normalised_domains(cls, domains: frozenset[str]) -> frozenset[str]:
        return normalize_domains(domains)


class Reason(BaseModel):
    """Why the outcome is what it is: the rule, the measured value and the threshold it met."""

    rule: str
    value: float
    threshold: float
    outcome: Outcome
    message: str


class ListSource(BaseModel):
    """A published list behind a verdict, as pinned: name, version, license and its entries."""

    name: str
    version: str
    license: str
    entries: int | None = None  # None: it decides (wordfreq for typos) but none of it ships


class VerdictList(BaseModel):
    """What a verdict knows: the entries in force (after the allowlist and exclusions), from which lists."""

    verdict: str
    entries: int
    sources: list[ListSource]


def _lists_in_force() -> list[VerdictList]:
    return [
        VerdictList.model_validate({"verdict": verdict, **facts})
        for verdict, facts in lists_in_force().items()
    ]


class ImportReport(BaseModel):
    """The summary of one verification check (``listguard verify --json`` and ``reports/*.json``)."""

    rows: int
    verdicts: dict[str, int]
    rates: dict[str, float]
    predicted_bounce_rate: float
    new_contacts: int
    existing_contacts: int
    verification_required: bool
    outcome: Outcome
    reasons: list[Reason]
    encoding: str
    #: Lines that are not valid UTF-8, read as Windows-1252 (in a UTF-8 file: the offending lines).
    windows_1252_lines: int = 0
    separator: str
    email_column: str
    file_bytes: int
    #: The lists behind the disposable, role and typo verdicts: which, which versions, how many entries.
    lists: list[VerdictList] = Field(default_factory=_lists_in_force)
