"""One address, one contact: ``normalize_address`` is the identity that duplicates, the blocklist and
the contact key compare, in the form email-validator normalises an address to (IDNA domain, NFC).
"""

from __future__ import annotations

import io
import unicodedata

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import assume, given
from hypothesis import strategies as st

from listguard.verification import RowResult, Verdict, Verification, VerifyOptions, normalize_address

PUNYCODE = "bob@xn--exmple-cua.com"
UNICODE = "bob@exämple.com"


def verify(text: str, **options: frozenset[str]) -> list[RowResult]:
    verification = Verification(io.BytesIO(text.encode()), options=VerifyOptions(**options))
    return [row for batch in verification.batches() for row in batch]


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (PUNYCODE, UNICODE),
        (PUNYCODE.upper(), UNICODE),
        ("bob@EXÄMPLE.com", UNICODE),
        ("  Bob@exämple.COM ", PUNYCODE),
        ("bob@ｅｘａｍｐｌｅ.com", "bob@example.com"),  # full-width letters, mapped by IDNA
        (unicodedata.normalize("NFD", "zoë@exämple.com"), "ZOË@xn--exmple-cua.com"),
    ],
)
def test_one_address_written_two_ways_has_one_identity(one: str, other: str) -> None:
    assert normalize_address(one) == normalize_address(other)


def test_identity_is_email_validators_normal_form_case_folded() -> None:
    # Given an address with a Unicode domain written in Punycode, upper case
    # When normalised / Then it is email-validator's normalised address, its local part case-folded
    normalized = validate_email("Bob@XN--EXMPLE-CUA.COM", check_deliverability=False).normalized
    assert normalize_address("Bob@XN--EXMPLE-CUA.COM") == normalized.casefold() == UNICODE


def test_distinct_domains_stay_distinct() -> None:
    # IDNA 2008 keeps the sharp s: faß.de and fass.de are two domains
    assert normalize_address("x@faß.de") != normalize_address("x@fass.de")
    assert normalize_address(UNICODE) != normalize_address("bob@example.com")


@given(st.emails())
def test_identity_of_valid_addresses_agrees_with_email_validator(address: str) -> None:
    # Given any address email-validator accepts
    try:
        info = validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        assume(False)
    # Then its identity is email-validator's normal form (local part case-folded), whichever form is given
    expected = f"{info.local_part.casefold()}@{info.domain}"
    assert normalize_address(address) == expected
    assert normalize_address(info.normalized) == expected
    assert normalize_address(f"{info.local_part}@{info.ascii_domain}") == expected


def test_blocklisted_punycode_blocks_the_unicode_form() -> None:
    # Given bob@xn--exmple-cua.com on the account's blocklist
    # When a file holds bob@exämple.com / Then the row is blocklisted, not a new sendable contact
    (row,) = verify(f"email\n{UNICODE}\n", blocklist=frozenset({PUNYCODE}))
    assert row.verdict is Verdict.BLOCKLISTED


def test_blocklisted_unicode_blocks_the_punycode_form() -> None:
    (row,) = verify(f"email\n{PUNYCODE}\n", blocklist=frozenset({UNICODE}))
    assert row.verdict is Verdict.BLOCKLISTED


def test_the_two_forms_in_one_file_are_one_contact() -> None:
    # Given one address written in Punycode and in Unicode in one file
    rows = verify(f"email\n{PUNYCODE}\nann@example.com\n{UNICODE}\n")
    # Then the later one is a duplicate of the first
    assert [r.verdict for r in rows] == [Verdict.VALID, Verdict.VALID, Verdict.DUPLICATE]
    assert rows[2].reason == "same address as row 1"
