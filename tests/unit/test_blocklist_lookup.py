"""A blocklist looked up for the file's addresses gives exactly what the same set of addresses gives."""

from __future__ import annotations

import io
import os
import unicodedata
from collections.abc import Iterable, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from listguard.verification import (
    BLOCKLIST_LOOKUP_MAX,
    BlocklistLookup,
    Verdict,
    Verification,
    VerifyOptions,
    classify,
    engine,
    normalize_address,
)


class Lookup:
    """The account's blocklist behind a lookup; it keeps every call's addresses."""

    def __init__(self, blocklist: Iterable[str]) -> None:
        self.blocklisted = {normalize_address(address) for address in blocklist}
        self.calls: list[list[str]] = []
        self.pids: set[int] = set()

    def __call__(self, addresses: Sequence[str]) -> list[str]:
        self.calls.append(list(addresses))
        self.pids.add(os.getpid())
        return [address for address in addresses if address in self.blocklisted]

    @property
    def asked(self) -> list[str]:
        return [address for call in self.calls for address in call]


Checked = tuple[list[tuple[object, ...]], str, dict[str, object]]


def check(
    data: bytes, *, lookup: BlocklistLookup | None = None, workers: int = 1, **options: object
) -> Checked:
    """Every row, the row report and the summary of a check."""
    verification = Verification(
        io.BytesIO(data),
        options=VerifyOptions.model_validate(options),
        size=len(data),
        workers=workers,
        blocklist_lookup=lookup,
    )
    rows: list[tuple[object, ...]] = []
    report_csv: list[str] = []
    for batch in verification.batches():
        rows.extend(tuple(row) for row in batch)
        report_csv.append(batch.report_csv())
    return rows, "".join(report_csv), verification.report().model_dump()


# Addresses of every kind the verdicts tell apart, each written a few ways (case, spaces, Unicode
# forms, IDNA): duplicates, and blocklist entries spelled otherwise than the file's rows.
_ADDRESSES = [
    "ann@acme.io",
    "bob@exämple.com",
    "zoë@exämple.de",
    "info@acme.io",  # role account
    "ann@mailinator.com",  # disposable
    "ann@gmial.com",  # typo, with a suggestion
    "ann+news@acme.io",
    "x@y.co",
]
_INVALID = ["", "n/a", "ann@@acme.io", "ann@acme", "bob@exämple..com"]


def _spellings(address: str) -> list[str]:
    local, _, domain = address.partition("@")
    return [
        address,
        address.upper(),
        f"  {address} ",
        unicodedata.normalize("NFD", address),
        f"{local}@{domain.encode('idna').decode()}" if not domain.isascii() else address.title(),
    ]


_SPELLED = st.sampled_from(_ADDRESSES).flatmap(lambda address: st.sampled_from(_spellings(address)))
_CONTACT = st.tuples(_SPELLED, st.sampled_from(["yes", "no", ""])).map(lambda row: f'"{row[0]}",{row[1]}')
# Each address on the blocklist or not (about half of them), spelled one of its ways.
_BLOCKLIST = st.tuples(
    *(st.one_of(st.none(), st.sampled_from(_spellings(address))) for address in _ADDRESSES)
).map(lambda picks: [address for address in picks if address is not None])
_ROW = st.one_of(
    _CONTACT,
    _CONTACT,  # most rows are contacts
    st.sampled_from(_INVALID).map(lambda email: f'"{email}",yes'),
    _SPELLED.map(lambda email: f'"{email}",yes,an extra field'),  # malformed
)


@given(
    rows=st.lists(_ROW, min_size=10, max_size=40),
    blocklist=_BLOCKLIST,
    require_consent=st.booleans(),
)
def test_a_lookup_gives_the_verdicts_reasons_counts_and_report_of_the_same_set(
    rows: list[str], blocklist: list[str], require_consent: bool
) -> None:
    # Given a file of valid, invalid, malformed and duplicate rows, and an account's blocklist
    data = ("email,opt_in\n" + "".join(f"{row}\n" for row in rows)).encode()
    # When it is checked with the blocklist as a set, and with the same addresses behind a lookup
    with_set = check(data, blocklist=frozenset(blocklist), require_consent=require_consent)
    lookup = Lookup(blocklist)
    with_lookup = check(data, lookup=lookup, require_consent=require_consent)
    # Then every row's verdict, reason and suggestion, the row report and the summary are the same
    assert with_lookup == with_set
    # And the lookup was asked exactly about the addresses whose verdict blocklisted can still take:
    # each once, normalised, from the rows that can be imported (the first row of each address)
    importable = [
        normalize_address(str(email)) for _, email, verdict, *_ in with_set[0] if Verdict(verdict).importable
    ]
    assert lookup.asked == importable
    assert len(set(lookup.asked)) == len(lookup.asked)
    assert all(0 < len(call) <= BLOCKLIST_LOOKUP_MAX for call in lookup.calls)


@given(
    rows=st.lists(_ROW, min_size=10, max_size=40),
    in_set=_BLOCKLIST,
    looked_up=_BLOCKLIST,
)
def test_a_set_and_a_lookup_together_blocklist_an_address_on_either(
    rows: list[str], in_set: list[str], looked_up: list[str]
) -> None:
    # Given a file, some addresses in the set and others behind a lookup
    data = ("email,opt_in\n" + "".join(f"{row}\n" for row in rows)).encode()
    # When it is checked with both / Then it is the check with all of them in the set
    both = check(data, blocklist=frozenset(in_set), lookup=Lookup(looked_up))
    assert both == check(data, blocklist=frozenset(in_set + looked_up))


def test_the_rows_blocklisted_by_the_lookup_say_why_and_lose_their_suggestion() -> None:
    # Given a typo address (it carries a suggestion) and a valid one, both behind the lookup
    data = b"email\nann@gmial.com\nBob@Acme.io\nbob@acme.io\ncarl@acme.io\n"
    rows, _, report = check(data, lookup=Lookup(["ann@gmial.com", "bob@acme.io"]))
    # Then both are blocklisted with the set's reason and no suggestion; the duplicate stays one
    assert [row[2:5] for row in rows] == [
        (Verdict.BLOCKLISTED, "on the account's blocklist", ""),
        (Verdict.BLOCKLISTED, "on the account's blocklist", ""),
        (Verdict.DUPLICATE, "same address as row 2", ""),
        (Verdict.VALID, "", ""),
    ]
    assert report["verdicts"] == {
        **{verdict.value: 0 for verdict in Verdict},
        "blocklisted": 2,
        "duplicate": 1,
        "valid": 1,
    }


def test_what_the_lookup_was_not_asked_about_is_ignored() -> None:
    # Given a lookup that answers with an address it was not asked about
    data = b"email\nann@acme.io\n"
    rows, _, _ = check(data, lookup=lambda addresses: ["bob@acme.io"])
    # Then no row changes
    assert rows[0][2] is Verdict.VALID


def _contact_file(rows: int) -> bytes:
    lines = ["email,name"]
    for n in range(rows):
        if n % 7 == 3:
            lines.append(f"User{n // 2}@Acme.io,an earlier row again")
        elif n % 11 == 5:
            lines.append(f"bad{n}@@acme.io,invalid")
        else:
            lines.append(f"user{n}@acme.io,Person {n}")
    return ("\n".join(lines) + "\n").encode()


def test_a_large_block_is_asked_about_in_calls_of_at_most_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a file of several blocks, every third address blocklisted, and a limit of 1,000 a call
    data = _contact_file(100_000)
    blocklist = [f"user{n}@acme.io" for n in range(0, 100_000, 3)]
    with_set = check(data, blocklist=frozenset(blocklist))
    monkeypatch.setattr(classify, "BLOCKLIST_LOOKUP_MAX", 1_000)
    # When it is checked with the lookup
    lookup = Lookup(blocklist)
    # Then it is the same check, asked in calls of at most 1,000 addresses, each address once
    assert check(data, lookup=lookup) == with_set
    assert max(map(len, lookup.calls)) == 1_000
    assert len(set(lookup.asked)) == len(lookup.asked) == with_set[2]["new_contacts"]


# Under pytest-xdist this process runs threads of its own when the engine forks its workers.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_with_workers_the_lookup_is_called_in_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a file screened by two worker processes
    monkeypatch.setattr(engine, "PARALLEL_MIN_BYTES", 0)
    data = _contact_file(100_000)
    blocklist = [f"user{n}@acme.io" for n in range(0, 100_000, 5)]
    lookup = Lookup(blocklist)
    # When it is checked with the lookup / Then the lookup runs here, and the check is the same
    assert check(data, lookup=lookup, workers=2) == check(data, blocklist=frozenset(blocklist))
    assert lookup.pids == {os.getpid()}
