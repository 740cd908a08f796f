"""Address syntax: the engine's fast path against email-validator, the reference.

Given any string, when ``is_valid`` judges it, then it agrees with
``email_validator.validate_email(address, check_deliverability=False)``; and the fast path only ever
accepts addresses that email-validator accepts too.
"""

from __future__ import annotations

import io
import string
import unicodedata

import pytest
from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import ATEXT
from hypothesis import example, given
from hypothesis import strategies as st

from listguard.verification import Verification, VerifyOptions
from listguard.verification.domains import is_disposable, is_role_account, typo_correction
from listguard.verification.syntax import check_syntax, fast_check, is_valid


def reference_accepts(address: str) -> bool:
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


# -- strategies --------------------------------------------------------------------------------

#: The characters of an unquoted local part (RFC 5322 atext), as email-validator defines them.
ATEXT_CHARS = "".join(c for c in string.printable if c.isalnum() or c in "_!#$%&'*+-/=?^`{|}~" if c.isascii())
assert set(ATEXT_CHARS) >= set("az09_!#$%&'*+-/=?^`{|}~")
assert "\\" in ATEXT  # the constant is a regex class body; ATEXT_CHARS is its literal expansion

SPECIAL_USE_TLDS = ("local", "localhost", "test", "invalid", "onion", "arpa")
ODD_CHARACTERS = ' \t\n\r"<>()[]\\,;:@.\u00a0\u200b'
UNICODE_LETTERS = "éüßñøåçİıσςЖжあ中한ÿﬁ\u0301\u00e9\u3002\uff0e\uff20"

dot_atom = st.lists(st.text(ATEXT_CHARS, min_size=1, max_size=20), min_size=1, max_size=4).map(".".join)
#: Local parts with dots anywhere: leading, trailing, doubled, alone.
dotted_local = st.text(ATEXT_CHARS + "..", min_size=0, max_size=70)
unicode_local = st.text(ATEXT_CHARS + UNICODE_LETTERS, min_size=1, max_size=30)
any_local = st.one_of(dot_atom, dotted_local, unicode_local)

label_chars = string.ascii_letters + string.digits + "-"
#: Labels of 0 to 70 characters, hyphens at the edges, "--" in positions 3-4, Punycode prefixes.
plain_label = st.text(label_chars, min_size=0, max_size=70)
edgy_label = st.one_of(
    plain_label,
    st.text(string.ascii_lowercase, min_size=1, max_size=8).map(lambda s: "-" + s),
    st.text(string.ascii_lowercase, min_size=1, max_size=8).map(lambda s: s + "-"),
    st.text(string.ascii_lowercase, min_size=2, max_size=2).map(lambda s: s + "--x"),
    st.text(string.ascii_lowercase, min_size=1, max_size=1).map(lambda s: s + "--bc"),
    st.sampled_from(["xn--bcher-kva", "xn--nxasmq6b", "xn--", "xn--a", "xn--zz-zz", "XN--BCHER-KVA"]),
    st.integers(0, 999).map(str),
    st.sampled_from(["a" * 63, "b" * 64, "c" * 62 + "-", "0" * 63]),
    st.text(string.ascii_lowercase + UNICODE_LETTERS, min_size=1, max_size=10),
)
tld = st.one_of(
    st.sampled_from(["com", "org", "io", "museum", "co", "c", "xn--p1ai", "COM", "c0m", "123", "1a"]),
    st.sampled_from(SPECIAL_USE_TLDS),
    st.integers(0, 9999).map(str),
    st.text(string.ascii_lowercase, min_size=1, max_size=70),
)
domain = st.one_of(
    st.builds(lambda labels, top: ".".join([*labels, top]), st.lists(edgy_label, max_size=4), tld),
    st.lists(edgy_label, min_size=1, max_size=5).map(".".join),
    st.sampled_from(SPECIAL_USE_TLDS).map(lambda t: "example." + t),
    st.builds(
        lambda d, t: f"{d}.{t}", st.sampled_from(["a.b", "x-y", "1-2"]), st.sampled_from(SPECIAL_USE_TLDS)
    ),
)


@st.composite
def assembled(draw: st.DrawFn) -> str:
    """A local part, 0 to 2 @-signs and a domain, with odd characters sprinkled in."""
    local = draw(any_local)
    at_signs = draw(st.sampled_from(["@", "@", "@", "", "@@"]))
    text = local + at_signs + draw(domain)
    if draw(st.booleans()):
        for _ in range(draw(st.integers(1, 3))):
            position = draw(st.integers(0, len(text)))
            char = draw(st.sampled_from(ODD_CHARACTERS + UNICODE_LETTERS))
            text = text[:position] + char + text[position:]
    if draw(st.integers(0, 9)) == 0:
        text = draw(st.sampled_from(['"{}"', "<{}>", "Ann <{}>", " {} ", "{}\n", "'{}'"])).format(text)
    return text


@st.composite
def near_max_length(draw: st.DrawFn) -> str:
    """Addresses of about 254 characters: long local parts and long (multi-label) domains."""
    total = draw(st.integers(240, 262))
    local_length = draw(st.integers(1, min(total - 6, 130)))
    domain_length = total - local_length - 1
    labels = []
    remaining = domain_length - 4  # ".com"
    while remaining > 0:
        size = min(remaining, draw(st.integers(1, 64)))
        labels.append(draw(st.sampled_from("abcdefgh")) * size)
        remaining -= size + 1
    name = ".".join(labels) if labels else "x"
    local = draw(st.sampled_from(["a", "x.y", "_"])) * local_length
    return f"{local[:local_length]}@{name}.com"


addresses = st.one_of(
    st.emails(),
    assembled(),
    near_max_length(),
    st.builds(lambda a, b: f"{a}@{b}", dot_atom, domain),
    st.text(min_size=0, max_size=40),
)


# -- the differential property ---------------------------------------------------------------


@given(addresses)
@example("ann@example.com")
@example("ann@example.local")
@example("ann@ab--cd.com")
@example("ann@xn--bcher-kva.com")
@example("a" * 64 + "@" + "b" * 63 + ".com")
@example("a" * 65 + "@example.com")
@example("a" * 245 + "@example.com")
@example("a" * 242 + "@example.com")
@example("ann@" + ".".join(["a" * 63] * 3) + "." + "b" * 57 + ".com")
@example("ann@exam_ple.com")
@example("ann@123.456")
@example("ann@example.c0m")
def test_is_valid_agrees_with_email_validator(address: str) -> None:
    # Given any string
    # When the engine judges its syntax
    verdict = is_valid(address)
    # Then it is exactly email-validator's verdict
    assert verdict == reference_accepts(address), address


@given(
    st.one_of(
        st.emails(), assembled(), near_max_length(), st.builds(lambda a, b: f"{a}@{b}", dot_atom, domain)
    )
)
def test_fast_path_only_accepts_what_email_validator_accepts(address: str) -> None:
    # Given any string
    # When the fast path decides it
    fast = fast_check(address)
    # Then it either leaves it undecided or email-validator accepts it, with the same parts
    if fast is not None:
        info = validate_email(address, check_deliverability=False)
        assert fast == (info.local_part, info.ascii_domain.lower())


# -- explicit examples -----------------------------------------------------------------------

VALID = [
    "ann@example.com",
    "Ann.Lee@Example.COM",
    "a+tag@sub.example.co.uk",
    "o'brien@example.ie",
    "x_y-z@example-domain.org",
    "{weird}|~!#$%&*=?^`@example.com",
    "1234@example.com",
    "ann@123.example.com",
    "ann@a-b.io",
    "ann@xn--bcher-kva.com",
    "ann@bücher.com",
    "josé@example.com",
    "ann@" + "a" * 63 + ".com",
    "a" * 64 + "@example.com",
    "a" * 100 + "@example.com",  # email-validator checks no local-part length unless strict
]
INVALID = [
    "",
    "ann",
    "ann@",
    "@example.com",
    "ann@@example.com",
    "ann@example@com.com",
    "ann@example",
    "ann@localhost",
    "ann@example.local",
    "ann@example.test",
    "ann@example.invalid",
    "ann@example.onion",
    "ann@1.in-addr.arpa",
    "ann@example.123",
    ".ann@example.com",
    "ann.@example.com",
    "an..n@example.com",
    "ann@.example.com",
    "ann@example..com",
    "ann@example.com.",
    "ann@-example.com",
    "ann@example-.com",
    "ann@ab--cd.com",
    "ann@" + "a" * 64 + ".com",
    "ann @example.com",
    " ann@example.com",
    "ann@example.com ",
    "ann@exam ple.com",
    "<ann@example.com>",
    "Ann <ann@example.com>",
    '"ann"@example.com',
    "ann@exa_mple.com",
    "ann@[192.168.0.1]",
    "a" * 245 + "@example.com",  # 257 characters
]


@pytest.mark.parametrize("address", VALID)
def test_valid_examples(address: str) -> None:
    # Given an address email-validator accepts / When checked / Then it is valid, with its parts
    assert reference_accepts(address)
    result = check_syntax(address)
    assert result.valid, result.message
    assert result.ascii_domain == result.ascii_domain.lower()
    assert result.ascii_domain.isascii()


@pytest.mark.parametrize("address", INVALID)
def test_invalid_examples(address: str) -> None:
    # Given an address email-validator rejects / When checked / Then it is invalid, with a one-line reason
    assert not reference_accepts(address)
    result = check_syntax(address)
    assert not result.valid
    assert result.message
    assert "\n" not in result.message
    assert fast_check(address) is None


def test_ascii_domain_is_lower_case_idna() -> None:
    # Given an internationalised, mixed-case domain / When checked / Then its ASCII form is lower Punycode
    assert check_syntax("Ann@Bücher.COM").ascii_domain == "xn--bcher-kva.com"
    assert fast_check("Ann@Example.COM") == ("Ann", "example.com")


# -- the engine's columnar screen against a row-by-row reference ---------------------------------

RULE_LOCALS = ["ann", "Ann.Lee", "info", "INFO", "admin+x", "noreply", "josé", "jose\u0301", "o'brien"]
RULE_DOMAINS = [
    "acme.io",
    "ACME.io",
    "mailinator.com",
    "eu.mailinator.com",
    "yahho.com",
    "gmail.con",
    "gmail.com",
]
rule_addresses = st.builds(
    lambda local, domain, pad: f"{pad}{local}@{domain}{pad}",
    st.sampled_from(RULE_LOCALS),
    st.sampled_from(RULE_DOMAINS),
    st.sampled_from(["", " ", "  "]),
)


def _fits_in_a_plain_csv_cell(address: str) -> bool:
    """No separator, quote, line break, control character or U+FFFD; not blank."""
    return (
        bool(address.strip(" \t"))
        and not any(c in address for c in ',"\r\n\ufffd')
        and not any(ord(c) < 32 and c != "\t" for c in address)
    )


def reference_verdicts(cells: list[str], blocklist: frozenset[str]) -> list[str]:
    """The per-row rules, one row at a time, straight from email-validator and the domain tables."""

    def key(address: str) -> str:
        return unicodedata.normalize("NFC", address.strip()).casefold()

    blocked = {key(address) for address in blocklist}
    seen: set[str] = set()
    verdicts = []
    for cell in cells:
        address = cell.strip()
        if not reference_accepts(address):
            verdicts.append("invalid_syntax")
            continue
        if key(address) in seen:
            verdicts.append("duplicate")
            continue
        seen.add(key(address))
        info = validate_email(address, check_deliverability=False)
        domain = info.ascii_domain.lower()
        if key(address) in blocked:
            verdicts.append("blocklisted")
        elif is_disposable(domain):
            verdicts.append("disposable")
        elif is_role_account(info.local_part):
            verdicts.append("role_account")
        elif typo_correction(domain):
            verdicts.append("typo_domain")
        else:
            verdicts.append("valid")
    return verdicts


@given(
    st.lists(st.one_of(addresses, rule_addresses).filter(_fits_in_a_plain_csv_cell), min_size=1, max_size=25),
    st.sets(rule_addresses, max_size=2),
)
def test_engine_verdicts_equal_row_by_row_rules(cells: list[str], blocklist: set[str]) -> None:
    # Given a one-column file of generated addresses (some repeated, some blocklisted)
    cells = cells + cells[: len(cells) // 3]
    text = "email,n\n" + "".join(f"{cell},x\n" for cell in cells)
    options = VerifyOptions(blocklist=frozenset(blocklist))
    # When the engine verifies it
    rows = [
        row for batch in Verification(io.BytesIO(text.encode()), options=options).batches() for row in batch
    ]
    # Then every row's verdict is what the rules give one row at a time
    assert [row.verdict.value for row in rows] == reference_verdicts(cells, frozenset(blocklist))
