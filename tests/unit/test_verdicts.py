"""The verdict of every row, through ``Verification`` on small in-memory CSV files.

Precedence (first wins): malformed_row, invalid_syntax, duplicate, blocklisted, disposable,
role_account, typo_domain, missing_consent, valid.
"""

from __future__ import annotations

import io
import unicodedata

import pytest

from listguard.verification import RowResult, Verdict, Verification, VerifyOptions
from listguard.verification.domains import is_disposable, typo_correction

V = Verdict


def verify(text: str, **options) -> list[RowResult]:
    """Every row's result for a CSV given as text (UTF-8)."""
    verification = Verification(io.BytesIO(text.encode()), options=VerifyOptions(**options))
    return [row for batch in verification.batches() for row in batch]


def one(address: str, **options) -> RowResult:
    """The result of a one-contact file."""
    (row,) = verify(f"email\n{address}\n", **options)
    return row


def verdicts(text: str, **options) -> list[Verdict]:
    return [row.verdict for row in verify(text, **options)]


# -- each verdict ----------------------------------------------------------------------------


def test_valid_address() -> None:
    # Given an ordinary address / When verified / Then it is valid with no reason or suggestion
    row = one("ann.lee@acme.io")
    assert (row.row, row.email, row.verdict, row.reason, row.suggestion) == (
        1,
        "ann.lee@acme.io",
        V.VALID,
        "",
        "",
    )


@pytest.mark.parametrize(
    "address",
    [
        "not-an-email",
        "ann@@acme.io",
        "ann@acme",
        "ann@acme..io",
        ".ann@acme.io",
        "ann@localhost",
        "ann@acme.123",
    ],
)
def test_invalid_syntax(address: str) -> None:
    # Given an address email-validator rejects / When verified / Then invalid_syntax with a reason
    row = one(address)
    assert row.verdict is V.INVALID_SYNTAX
    assert row.reason


def test_empty_email_cell_is_invalid_syntax() -> None:
    # Given a row whose email cell is empty / When verified / Then invalid_syntax, saying the cell is empty
    (row,) = verify("email,name\n,Ann\n")
    assert row.verdict is V.INVALID_SYNTAX
    assert "empty" in row.reason


def test_malformed_row() -> None:
    # Given a row with an extra non-empty field / When verified / Then malformed_row
    assert verdicts("email,name\nann@acme.io,Ann,extra\n") == [V.MALFORMED_ROW]


def test_row_numbers_are_one_based_data_rows() -> None:
    # Given a header and three data rows / When verified / Then rows are numbered 1, 2, 3
    rows = verify("email\na@acme.io\nb@acme.io\nc@acme.io\n")
    assert [r.row for r in rows] == [1, 2, 3]


def test_cells_are_trimmed() -> None:
    # Given an address with spaces around it / When verified / Then it is valid and shown trimmed
    row = one("  ann@acme.io  ")
    assert (row.email, row.verdict) == ("ann@acme.io", V.VALID)


# -- duplicates ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "later"),
    [
        ("ann@acme.io", "ann@acme.io"),
        (" Ann@X.com", "ann@x.com"),
        ("ann@x.com", "ANN@X.COM "),
        ("jos\u00e9@acme.io", "jose\u0301@acme.io"),  # NFC vs NFD
        ("jose\u0301@acme.io", "JOS\u00c9@acme.io"),
        ("\u00c9lodie@acme.io", "\u00e9lodie@ACME.IO"),
        ("ann@bücher.de", "Ann@BÜCHER.de"),
    ],
)
def test_duplicates_after_trim_nfc_and_casefold(first: str, later: str) -> None:
    # Given two spellings of one address, another address between them
    rows = verify(f"email\n{first}\nbob@acme.io\n{later}\n")
    # When verified / Then the later row is the duplicate, and the reason names the first row
    assert [r.verdict for r in rows] == [V.VALID, V.VALID, V.DUPLICATE]
    assert "row 1" in rows[2].reason


def test_every_later_copy_names_the_first_row() -> None:
    # Given one address four times / When verified / Then rows 2-4 are duplicates of row 1
    rows = verify("email\nann@acme.io\nann@acme.io\nANN@acme.io\nbob@acme.io\nann@acme.io\n")
    assert [r.verdict for r in rows] == [V.VALID, V.DUPLICATE, V.DUPLICATE, V.VALID, V.DUPLICATE]
    assert all("row 1" in rows[i].reason for i in (1, 2, 4))


def test_nfd_first_then_nfc() -> None:
    # Given an NFD address first and its NFC form later
    nfd = unicodedata.normalize("NFD", "zoë@acme.io")
    nfc = unicodedata.normalize("NFC", "zoë@acme.io")
    assert nfd != nfc
    # When verified / Then the NFC one is the duplicate
    rows = verify(f"email\n{nfd}\n{nfc}\n")
    assert [r.verdict for r in rows] == [V.VALID, V.DUPLICATE]


# -- precedence ------------------------------------------------------------------------------


def test_duplicate_of_blocklisted_address_is_duplicate() -> None:
    # Given a blocklisted address twice / When verified / Then blocklisted, then duplicate
    rows = verify("email\nann@acme.io\nANN@acme.io\n", blocklist=frozenset({"ann@acme.io"}))
    assert [r.verdict for r in rows] == [V.BLOCKLISTED, V.DUPLICATE]


def test_invalid_duplicate_is_invalid_syntax() -> None:
    # Given an invalid address twice / When verified / Then both are invalid_syntax (no duplicate)
    assert verdicts("email\nann@@acme.io\nann@@acme.io\n") == [V.INVALID_SYNTAX, V.INVALID_SYNTAX]


def test_malformed_row_wins_over_invalid_syntax() -> None:
    # Given an invalid address in a row with an extra value / When verified / Then malformed_row
    assert verdicts("email,name\nnot-an-email,Ann,extra\n") == [V.MALFORMED_ROW]


def test_malformed_first_copy_does_not_make_the_later_one_a_duplicate() -> None:
    # Given an address first in a malformed row, then in a good row
    # When verified / Then the good row is valid: a malformed row is no contact
    assert verdicts("email,name\nann@acme.io,Ann,extra\nann@acme.io,Ann\n") == [V.MALFORMED_ROW, V.VALID]


@pytest.mark.parametrize(
    ("address", "options", "expected"),
    [
        ("admin@mailinator.com", {}, V.DISPOSABLE),  # disposable beats role
        ("info@yahho.com", {}, V.ROLE_ACCOUNT),  # role beats typo
        ("ann@mailinator.com", {"blocklist": frozenset({"ann@mailinator.com"})}, V.BLOCKLISTED),
        ("info@acme.io", {"blocklist": frozenset({"info@acme.io"})}, V.BLOCKLISTED),
        ("info@acme.io", {"require_consent": True}, V.ROLE_ACCOUNT),  # role beats missing consent
        ("ann@yahho.com", {"require_consent": True}, V.TYPO_DOMAIN),  # typo beats missing consent
        ("ann@mailinator.com", {"require_consent": True}, V.DISPOSABLE),
    ],
)
def test_precedence(address: str, options: dict, expected: Verdict) -> None:
    # Given an address that more than one rule would flag / When verified / Then the first rule wins
    assert one(address, **options).verdict is expected


# -- blocklist -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("listed", "in_file"),
    [
        ("ann@acme.io", "ann@acme.io"),
        (" ANN@Acme.IO ", "ann@acme.io"),
        ("ann@acme.io", "  Ann@ACME.io"),
        ("jose\u0301@acme.io", "JOS\u00c9@acme.io"),
    ],
)
def test_blocklist_matched_after_normalisation(listed: str, in_file: str) -> None:
    # Given an account blocklist entry and the same address spelled differently in the file
    # When verified / Then the row is blocklisted, and the reason says so
    row = one(in_file, blocklist=frozenset({listed}))
    assert row.verdict is V.BLOCKLISTED
    assert "blocklist" in row.reason


def test_blocklist_does_not_match_other_addresses() -> None:
    assert one("bob@acme.io", blocklist=frozenset({"ann@acme.io"})).verdict is V.VALID


# -- disposable ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address", ["ann@mailinator.com", "ann@MAILINATOR.COM", "ann@eu.mailinator.com", "ann@a.b.mailinator.com"]
)
def test_disposable_domain_and_its_subdomains(address: str) -> None:
    # Given an address on a disposable-mailbox domain or a subdomain of one
    # When verified / Then disposable, and the reason names the domain
    row = one(address)
    assert row.verdict is V.DISPOSABLE
    assert "mailinator.com" in row.reason


def test_domain_merely_ending_like_a_disposable_one_is_not_disposable() -> None:
    # Given a domain that only ends with the same letters ("acmemailinator.com"), or extends it
    for domain in ("acmemailinator.com", "mailinator.com.au"):
        # When verified / Then it is not disposable
        assert not is_disposable(domain)
        assert one(f"ann@{domain}").verdict is V.VALID


# -- role accounts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "local",
    [
        "admin",
        "info",
        "postmaster",
        "abuse",
        "noreply",
        "no-reply",
        "info+news",
        "INFO",
        "Admin+x",
        "webmaster",
        "sales",
    ],
)
def test_role_accounts(local: str) -> None:
    # Given a team mailbox (with or without a +tag, any case) / When verified / Then role_account
    row = one(f"{local}@acme.io")
    assert row.verdict is V.ROLE_ACCOUNT
    assert row.reason


@pytest.mark.parametrize(
    "local", ["ann", "information.desk", "administrator.ann", "infos", "ann+info", "john.admin"]
)
def test_people_are_not_role_accounts(local: str) -> None:
    # Given a person's address that merely contains a role word / When verified / Then valid
    assert one(f"{local}@acme.io").verdict is V.VALID


# -- typo domains ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "verdict", "suggestion"),
    [
        ("ann@yahho.com", V.TYPO_DOMAIN, "ann@yahoo.com"),
        ("ann@gmail.con", V.TYPO_DOMAIN, "ann@gmail.com"),
        ("ann@gmial.com", V.TYPO_DOMAIN, "ann@gmail.com"),
        ("ann@hotmial.com", V.TYPO_DOMAIN, "ann@hotmail.com"),  # a typosquat on a disposable list: a typo
        ("Ann.Lee@GMAIL.CON", V.TYPO_DOMAIN, "Ann.Lee@gmail.com"),
        ("ann@outlok.com", V.TYPO_DOMAIN, "ann@outlook.com"),
    ],
)
def test_typo_domains_carry_a_suggestion(address: str, verdict: Verdict, suggestion: str) -> None:
    # Given an address on a misspelt provider domain / When verified
    row = one(address)
    # Then the verdict and the corrected address as suggestion
    assert (row.verdict, row.suggestion) == (verdict, suggestion)
    if verdict is V.TYPO_DOMAIN:
        assert suggestion.split("@")[1] in row.reason


REAL_DOMAINS = [
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "yahoo.co.uk",
    "hotmail.com",
    "hotmail.fr",
    "live.ca",
    "live.com",
    "outlook.com",
    "mail.com",
    "email.com",
    "ymail.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "aol.com",
    "me.com",
    "mac.com",
    "icloud.com",
    "outlook.de",
    "proton.me",
    "protonmail.com",
    "t-online.de",
    "acme.io",
    "example.org",
    "acme.com",
    "company.co.uk",
]


@pytest.mark.parametrize("domain", REAL_DOMAINS)
def test_real_domains_are_not_typos(domain: str) -> None:
    # Given an address on a real domain / When verified / Then it is valid: no typo, no suggestion
    assert typo_correction(domain) is None
    row = one(f"ann@{domain}")
    assert (row.verdict, row.suggestion) == (V.VALID, "")


@pytest.mark.parametrize("domain", ["hotmail.dk", "hotmail.fi", "hotmail.gr", "outlook.dk", "live.fi"])
def test_microsoft_national_consumer_domains_are_not_typos(domain: str) -> None:
    # Given Microsoft's national consumer mailbox domains (real, one letter from hotmail.de / hotmail.fr)
    # When verified / Then they are not reported as typos
    row = one(f"ann@{domain}")
    assert (row.verdict, row.suggestion) == (V.VALID, "")


@pytest.mark.parametrize(
    "domain",
    [
        "cloud.com",  # icloud.com without its first letter
        "wahoo.com",  # yahoo.com with a far-away first letter
        "never.com",  # naver.com with a letter that is no keyboard neighbour
        "saver.com",
        "fmail.com",
        "kmail.com",
        "qmail.com",
        "zmail.com",
        "xmail.com",
        "vmail.com",
        "tmail.com",
    ],
)
def test_real_words_near_a_provider_are_not_typos(domain: str) -> None:
    # Given real domains one letter from a big provider, but not by a slip of the finger
    # When verified / Then they are not reported as typos
    assert typo_correction(domain) is None


@pytest.mark.parametrize(
    ("domain", "provider"),
    [
        ("yahho.com", "yahoo.com"),  # a letter of the name typed twice
        ("gnail.com", "gmail.com"),  # a keyboard neighbour
        ("gmaill.com", "gmail.com"),  # a doubled letter
        ("gamil.com", "gmail.com"),  # two letters swapped
        ("outlok.com", "outlook.com"),  # a letter dropped
        ("gmail.con", "gmail.com"),  # a known TLD slip
    ],
)
def test_slips_of_the_finger_are_typos(domain: str, provider: str) -> None:
    assert typo_correction(domain) == provider


# -- consent ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", V.MISSING_CONSENT),
        ("no", V.MISSING_CONSENT),
        ("No", V.MISSING_CONSENT),
        ("0", V.MISSING_CONSENT),
        ("false", V.MISSING_CONSENT),
        ("  ", V.MISSING_CONSENT),
        ("yes", V.VALID),
        ("YES", V.VALID),
        ("1", V.VALID),
        ("true", V.VALID),
        ("2024-03-01", V.VALID),
        ("01/03/2024 10:15", V.VALID),
    ],
)
def test_consent_values(value: str, expected: Verdict) -> None:
    # Given an account that requires consent and a row whose opt-in cell holds ``value``
    rows = verify(f"email,Opt-in\nann@acme.io,{value}\n", require_consent=True)
    # When verified / Then missing_consent exactly when no opt-in is recorded
    assert [r.verdict for r in rows] == [expected]
    if expected is V.MISSING_CONSENT:
        assert "Opt-in" in rows[0].reason


def test_consent_cell_missing_from_a_short_row() -> None:
    # Given a row that ends before its opt-in cell, the email cell present
    rows = verify("email,name,consent\nann@acme.io,Ann\nbob@acme.io,Bob,yes\n", require_consent=True)
    # When verified / Then that row records no opt-in (it may be malformed, never valid)
    assert rows[0].verdict in {V.MISSING_CONSENT, V.MALFORMED_ROW}
    assert rows[1].verdict is V.VALID


def test_no_opt_in_column_makes_every_otherwise_valid_row_missing_consent() -> None:
    # Given an account that requires consent and a file with no opt-in column
    text = (
        "email,name\nann@acme.io,Ann\nbob@acme.io,Bob\ninfo@acme.io,Team\nbad@@acme.io,X\nann@acme.io,Ann\n"
    )
    # When verified
    rows = verify(text, require_consent=True)
    # Then every otherwise-valid row is missing_consent; the other verdicts are unchanged
    assert [r.verdict for r in rows] == [
        V.MISSING_CONSENT,
        V.MISSING_CONSENT,
        V.ROLE_ACCOUNT,
        V.INVALID_SYNTAX,
        V.DUPLICATE,
    ]
    assert "opt-in" in rows[0].reason


def test_consent_not_required_by_default() -> None:
    # Given an account that does not require consent / When verified / Then a "no" opt-in is fine
    assert verdicts("email,consent\nann@acme.io,no\nbob@acme.io,\n") == [V.VALID, V.VALID]


# -- many blocks -----------------------------------------------------------------------------


@pytest.mark.parametrize("quoted", [False, True], ids=["plain", "quoted"])
def test_numbering_and_duplicates_across_blocks(quoted: bool) -> None:
    # Given a file of more than 2 MiB, with copies of early addresses far later in the file
    q = '"' if quoted else ""
    lines = [f"user{i}@acme.io,{q}Person number {i}{q}" for i in range(90_000)]
    lines[50_000] = "USER7@ACME.IO,late copy"
    lines[89_999] = "user60000@acme.io,late copy"
    lines[89_998] = "bad@@acme.io,invalid"
    text = "email,name\n" + "\n".join(lines) + "\n"
    assert len(text) > 2 * 1024 * 1024
    # When verified
    verification = Verification(io.BytesIO(text.encode()))
    batches = list(verification.batches())
    rows = [row for batch in batches for row in batch]
    # Then it came in several batches, numbered 1..N without a gap, and copies name their first rows
    assert len(batches) >= 3
    assert [r.row for r in rows] == list(range(1, 90_001))
    assert rows[50_000].verdict is V.DUPLICATE and "row 8" in rows[50_000].reason
    assert rows[89_999].verdict is V.DUPLICATE and "row 60001" in rows[89_999].reason
    assert rows[89_998].verdict is V.INVALID_SYNTAX
    others = [r.verdict for i, r in enumerate(rows) if i not in (50_000, 89_999, 89_998)]
    assert set(others) == {V.VALID}
    report = verification.report()
    assert report.rows == 90_000
    assert report.verdicts["duplicate"] == 2
    assert report.verdicts["valid"] == 89_997
