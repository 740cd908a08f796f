"""Disposable domains: the union of the pinned lists, an allowlist that always wins, and a summary
that names the lists, their versions and how many domains are in force."""

from __future__ import annotations

import importlib.metadata
import io

import pytest
from disposable_email_domains import blocklist as disposable_email_domains
from MailChecker import MailChecker

from listguard.verification import RowResult, Verdict, Verification, VerifyOptions
from listguard.verification.domains import (
    ALLOWLIST,
    MAILBOX_PROVIDERS,
    ROLE_LOCAL_PARTS,
    is_disposable,
    typo_correction,
)

MAILCHECKER: set[str] = MailChecker.blacklist


def verify(addresses: list[str], **options: object) -> list[RowResult]:
    text = "email\n" + "".join(f"{address}\n" for address in addresses)
    verification = Verification(io.BytesIO(text.encode()), options=VerifyOptions.model_validate(options))
    return [row for batch in verification.batches() for row in batch]


@pytest.mark.parametrize(
    "domain",
    [
        "mailinator.com",  # on both lists
        "10minutemail.co.za",  # on mailchecker's only
        "a.b.mailinator.com",  # a subdomain of a listed domain
    ],
)
def test_a_domain_on_either_list_is_disposable(domain: str) -> None:
    (row,) = verify([f"ann@{domain}"])
    assert row.verdict is Verdict.DISPOSABLE
    assert "disposable" in row.reason


def test_mailchecker_domains_missing_from_the_other_list_are_disposable_now() -> None:
    # Given domains only mailchecker lists (the other list alone caught 8% of mailchecker's domains)
    only_mailchecker = sorted(MAILCHECKER - disposable_email_domains)[::500]
    assert len(only_mailchecker) > 100
    # When verified / Then each is disposable, but for the allowlisted and the typos of a provider
    rows = verify([f"ann@{domain}" for domain in only_mailchecker])
    for row, domain in zip(rows, only_mailchecker, strict=True):
        expected = Verdict.TYPO_DOMAIN if typo_correction(domain) else Verdict.DISPOSABLE
        assert row.verdict is expected or domain in ALLOWLIST, domain


# -- the allowlist always wins -----------------------------------------------------------------


def test_allowlisted_domains_on_a_list_are_never_flagged() -> None:
    # Given the allowlisted domains that a disposable list carries anyway (mail.com's consultant.com,
    # DuckDuckGo's duck.com, Firefox Relay's mozmail.com...)
    listed = sorted(d for d in ALLOWLIST if d in MAILCHECKER or d in disposable_email_domains)
    assert {"consultant.com", "duck.com", "mozmail.com"} <= set(listed)
    # When verified, the domains and subdomains of them / Then every one is valid
    addresses = [f"ann@{domain}" for domain in listed] + [f"bob@mx.{domain}" for domain in listed]
    assert {row.verdict for row in verify(addresses)} == {Verdict.VALID}


def test_every_allowlisted_domain_is_neither_disposable_nor_a_typo() -> None:
    # Given every allowlisted domain, the providers among them / Then none is disposable or a typo
    assert set(MAILBOX_PROVIDERS) <= ALLOWLIST
    for domain in ALLOWLIST:
        assert not is_disposable(domain), domain
        assert not is_disposable(f"eu.{domain}"), domain
        assert typo_correction(domain) is None, domain


def test_the_accounts_own_domains_always_win() -> None:
    # Given an account that marks a disposable-listed domain, a typo domain and a company domain as
    # its own (written any way a person writes a domain)
    own = [" @Mailinator.COM. ", "gmial.com", "northwind.example"]
    addresses = [
        "ann@mailinator.com",
        "bob@eu.mailinator.com",
        "cid@gmial.com",
        "info@northwind.example",
        "dan@yopmail.com",
    ]
    # When verified
    rows = verify(addresses, own_domains=own)
    # Then its own domains and their subdomains are never disposable nor a typo; a role account on
    # them is still one (the local part says so), and other domains are checked as always
    assert [(row.verdict, row.suggestion) for row in rows] == [
        (Verdict.VALID, ""),
        (Verdict.VALID, ""),
        (Verdict.VALID, ""),
        (Verdict.ROLE_ACCOUNT, ""),
        (Verdict.DISPOSABLE, ""),
    ]


def test_own_domains_are_normalised_and_checked() -> None:
    options = VerifyOptions(own_domains=frozenset({"ACME.com", "@bücher.de", "acme.co.uk."}))
    assert options.own_domains == {"acme.com", "xn--bcher-kva.de", "acme.co.uk"}
    (row,) = verify(["ann@Bücher.de"], own_domains=["bücher.de"])
    assert row.verdict is Verdict.VALID
    for not_a_domain in ("acme", "not a domain", "ann@acme.com", "-acme.com", ""):
        with pytest.raises(ValueError, match=r"is not a domain name; give one such as acme\.com"):
            VerifyOptions(own_domains=frozenset({not_a_domain}))


# -- the summary names the lists -------------------------------------------------------------------


def test_the_report_names_the_lists_their_versions_and_sizes() -> None:
    # Given a checked file
    verification = Verification(io.BytesIO(b"email\nann@acme.io\n"))
    report = verification.report()
    lists = {entry.verdict: entry for entry in report.lists}
    # Then the disposable verdict names both packages at the installed (pinned) versions, with the
    # number of domains each has, and the number in force: their union less the allowlisted domains
    # and the typos of a provider
    disposable = lists["disposable"]
    assert [(s.name, s.version, s.entries) for s in disposable.sources] == [
        (
            "disposable-email-domains",
            importlib.metadata.version("disposable-email-domains"),
            len(disposable_email_domains),
        ),
        ("mailchecker", importlib.metadata.version("mailchecker"), len(MAILCHECKER)),
    ]
    union = MAILCHECKER | disposable_email_domains
    in_force = [domain for domain in union if is_disposable(domain)]
    assert disposable.entries == len(in_force) > 60_000
    # And the role and typo verdicts name theirs
    role = lists["role_account"]
    assert [(s.name, s.version, s.license) for s in role.sources] == [
        ("role-based-email-addresses", "3.1.0", "MIT")
    ]
    assert role.entries == len(ROLE_LOCAL_PARTS)
    assert lists["typo_domain"].sources[0].name == "wordfreq"
    # And the JSON summary carries them
    assert '"mailchecker"' in report.model_dump_json()
