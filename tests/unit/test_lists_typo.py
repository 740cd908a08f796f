"""Typo domains: the slip classes caught now, and the real domains each class must leave alone.

The table is data (typo_domains.tsv, written by make refresh-lists from providers.txt, the allowlist,
real_domains.txt and tld_slips.txt by the rule in docs/verdict-lists.md): these tests read it through
the engine and ``typo_correction``, as the check does.
"""

from __future__ import annotations

import io
import json
from importlib.resources import files

import pytest

from listguard.verification import RowResult, Verdict, Verification, VerifyOptions
from listguard.verification.domains import ALLOWLIST, MAILBOX_PROVIDERS, typo_correction

DATA = files("listguard.verification") / "data"


def verify(addresses: list[str], **options: object) -> list[RowResult]:
    text = "email\n" + "".join(f"{address}\n" for address in addresses)
    verification = Verification(io.BytesIO(text.encode()), options=VerifyOptions.model_validate(options))
    return [row for batch in verification.batches() for row in batch]


def assert_typo_of(domain: str, provider: str) -> None:
    (row,) = verify([f"ann@{domain}"])
    assert (row.verdict, row.suggestion) == (Verdict.TYPO_DOMAIN, f"ann@{provider}"), domain
    assert provider in row.reason


def assert_left_alone(domain: str) -> None:
    """No typo, no suggestion (a disposable list may still carry the domain: tmail.com, msm.com)."""
    (row,) = verify([f"ann@{domain}"])
    assert row.verdict in {Verdict.VALID, Verdict.DISPOSABLE}, domain
    assert row.suggestion == ""
    assert typo_correction(domain) is None


# -- a change to the first letter ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("domain", "provider"),
    [
        ("bmail.com", "gmail.com"),  # g -> b, its keyboard neighbour
        ("hahoo.com", "yahoo.com"),
        ("uotmail.com", "hotmail.com"),
        ("iutlook.com", "outlook.com"),
        ("ucloud.com", "icloud.com"),
        ("xomcast.net", "comcast.net"),
    ],
)
def test_a_change_to_the_first_letter_is_a_typo(domain: str, provider: str) -> None:
    # Given a provider's name with its first letter replaced by a keyboard neighbour
    # When verified / Then a typo of that provider, with the corrected address
    assert_typo_of(domain, provider)


@pytest.mark.parametrize(
    "domain",
    [
        "ymail.com",  # gmail's g -> y: Yahoo's own mailbox domain (allowlisted)
        "fmail.com",  # gmail's g -> f: a mail service of its own (real_domains.txt)
        "vmail.com",
        "hmail.com",  # g -> h of gmail and y -> h of ymail: no suggestion would be sure
        "tmail.com",  # the same, t
        "cloud.com",  # icloud without its first letter: a word
        "range.com",  # orange without it: a word
    ],
)
def test_first_letter_changes_that_are_real_domains_are_left_alone(domain: str) -> None:
    # Given a domain one first-letter slip from a provider that is real or could be either of two
    # When verified / Then it is no typo: no suggestion
    assert_left_alone(domain)


# -- the first letter doubled ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("domain", "provider"),
    [
        ("ggmail.com", "gmail.com"),
        ("hhotmail.com", "hotmail.com"),
        ("yyahoo.com", "yahoo.com"),
        ("ooutlook.com", "outlook.com"),
        ("iicloud.com", "icloud.com"),
    ],
)
def test_the_first_letter_doubled_is_a_typo(domain: str, provider: str) -> None:
    assert_typo_of(domain, provider)


# -- .co for .com ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("domain", "provider"),
    [
        ("gmail.co", "gmail.com"),
        ("hotmail.co", "hotmail.com"),
        ("yahoo.co", "yahoo.com"),
        ("outlook.co", "outlook.com"),
        ("icloud.co", "icloud.com"),
        ("aol.co", "aol.com"),
    ],
)
def test_dot_co_for_dot_com_is_a_typo(domain: str, provider: str) -> None:
    assert_typo_of(domain, provider)


@pytest.mark.parametrize("domain", ["yahoo.co.uk", "hotmail.co.uk", "acme.co", "gmail.co.uk.example.org"])
def test_dot_co_domains_that_are_real_are_left_alone(domain: str) -> None:
    # Given a real .co.uk provider domain, a company's .co domain, or a longer name ending otherwise
    # When verified / Then no typo: no suggestion
    assert_left_alone(domain)


# -- slips of short provider names -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("domain", "provider"),
    [
        ("aoll.com", "aol.com"),
        ("aaol.com", "aol.com"),
        ("aool.com", "aol.com"),
        ("msnn.com", "msn.com"),
        ("mmsn.com", "msn.com"),
        ("ggmx.de", "gmx.de"),
        ("gmxx.net", "gmx.net"),
        ("wweb.de", "web.de"),
        ("ffree.fr", "free.fr"),
        ("frre.fr", "free.fr"),
        ("maill.ru", "mail.ru"),
        ("mial.ru", "mail.ru"),
        ("aatt.net", "att.net"),
        ("attt.net", "att.net"),
        ("lvie.com", "live.com"),
        ("livee.com", "live.com"),
        ("me.co", "me.com"),  # me: its TLD slips only (every slip of the name "me" is a crowded name)
        ("me.con", "me.com"),
    ],
)
def test_slips_of_short_provider_names_are_typos(domain: str, provider: str) -> None:
    # Given a slip of a short provider name that is no word and no crowded name / When verified
    # Then a typo of that provider
    assert_typo_of(domain, provider)


@pytest.mark.parametrize(
    "domain",
    [
        # Words and names people write (wordfreq, Zipf >= 2 in one of the languages)
        "sol.com",
        "all.com",
        "love.com",
        "life.com",
        "olive.com",
        "weg.de",
        "webb.de",
        "fred.fr",
        "tree.fr",
        "nail.ru",
        "mall.ru",
        "watt.net",
        # Names of three characters or fewer: nearly every one is someone's domain
        "ao.com",
        "aok.com",
        "hsn.com",
        "msm.com",
        "man.com",
        "gmc.com",
        "bmx.com",
        "mee.com",
        "mr.com",
        "mai.ru",
        "at.net",
    ],
)
def test_slips_of_short_names_that_are_real_domains_are_left_alone(domain: str) -> None:
    # Given a domain one slip from aol, msn, gmx, web, free, mail.ru, att, me or live that is a word,
    # a name, or a name so short that nearly all such names are taken
    # When verified / Then it is no typo: no suggestion
    assert_left_alone(domain)


# -- the rule's data -------------------------------------------------------------------------------


def typo_table() -> dict[str, str]:
    lines = DATA.joinpath("typo_domains.tsv").read_text("utf-8").splitlines()
    return dict(line.split("\t") for line in lines if not line.startswith("#"))


def test_every_suggestion_is_a_provider_and_no_typo_is_an_allowed_domain() -> None:
    # Given the generated typo table / Then each entry suggests a listed provider, one slip away,
    # and none of its domains is on the allowlist
    table = typo_table()
    assert set(table.values()) <= set(MAILBOX_PROVIDERS)
    assert not set(table) & ALLOWLIST
    assert all(typo != provider for typo, provider in table.items())


def test_no_typo_has_a_crowded_name() -> None:
    # Given the rule's figures in lists.json: names of 1 to 3 letters are crowded (nearly all are words)
    rule = json.loads(DATA.joinpath("lists.json").read_text("utf-8"))["typo_domain"]["rule"]
    assert rule["crowded_lengths"] == [1, 2, 3]
    assert rule["share_of_names_that_are_words"]["3"] >= rule["crowded_share"]
    assert rule["share_of_names_that_are_words"]["4"] < rule["crowded_share"]
    # Then a reported typo changes a provider's name only into a longer name than that; or it keeps
    # the name and slips on the TLD (aol.co)
    for typo, provider in typo_table().items():
        name, provider_name = typo.partition(".")[0], provider.partition(".")[0]
        assert len(name) > 3 or name == provider_name, typo
