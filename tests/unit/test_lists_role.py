"""Role accounts: the community list role-based-email-addresses, kept as data, less a short exclusion list."""

from __future__ import annotations

import io
from importlib.resources import files

import pytest

from listguard.verification import RowResult, Verdict, Verification

DATA = files("listguard.verification") / "data"
PACKAGE = "role-based-email-addresses"


def verify(addresses: list[str]) -> list[RowResult]:
    text = "email\n" + "".join(f"{address}\n" for address in addresses)
    return [row for batch in Verification(io.BytesIO(text.encode())).batches() for row in batch]


def entries(name: str) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in DATA.joinpath(name).read_text("utf-8").splitlines())
    return [line for line in lines if line]


@pytest.mark.parametrize(
    "local",
    [
        "admissions",
        "bookings",
        "custserv",
        "devops",
        "listserv",
        "receptionist",
        "registrar",
        "zentrale",
        "comunicaciones",
        "contabilita",
        "Bookings+2024",  # any case, any +tag
    ],
)
def test_prefixes_of_the_community_list_are_role_accounts(local: str) -> None:
    # Given a team mailbox the hand-written set of 70 did not know / When verified / Then role_account
    (row,) = verify([f"{local}@northwind-traders.com"])
    assert row.verdict is Verdict.ROLE_ACCOUNT
    assert row.reason == f"{local}@ is a team mailbox, not a person"


@pytest.mark.parametrize("local", ["alexa", "sydney", "per", "gardner", "india", "md", "ca", "se", "la"])
def test_excluded_prefixes_are_people(local: str) -> None:
    # Given a prefix of the community list that is usually a person's name or initials (role_exclusions.txt)
    # When verified / Then the address is valid
    (row,) = verify([f"{local}@northwind-traders.com"])
    assert row.verdict is Verdict.VALID


def test_every_exclusion_is_a_prefix_of_the_list_and_gives_a_reason() -> None:
    # Given the exclusion list / Then it is short and names only prefixes the community list has
    prefixes, exclusions = set(entries(f"{PACKAGE}.txt")), entries("role_exclusions.txt")
    assert exclusions and len(exclusions) <= 0.05 * len(prefixes)
    assert set(exclusions) <= prefixes
    # And every entry has its reason: a comment on its line, or one heading its block of lines
    block_has_reason = False
    for line in DATA.joinpath("role_exclusions.txt").read_text("utf-8").splitlines():
        entry, _, comment = line.partition("#")
        if not line.strip():
            block_has_reason = False
        elif not entry.strip():
            block_has_reason = True
        else:
            assert comment.strip() or block_has_reason, f"no reason given for {entry.strip()}"


def test_the_list_is_kept_with_its_license_and_source() -> None:
    # Given the role list's data files / Then they say which package, which version, and carry its license
    head = DATA.joinpath(f"{PACKAGE}.txt").read_text("utf-8").splitlines()[:4]
    assert head[0].startswith(f"# {PACKAGE} 3.1.0 (npm), https://github.com/mixmaxhq/{PACKAGE}")
    assert "MIT License" in head[1]
    license_text = DATA.joinpath(f"{PACKAGE}.LICENSE").read_text("utf-8")
    assert license_text.startswith("The MIT License (MIT)")
    assert "Copyright (c) 2015 Mixmax, Inc" in license_text
    assert len(entries(f"{PACKAGE}.txt")) == 1018


@pytest.mark.parametrize(
    "local",
    ["ann", "john.smith", "jsmith", "information.desk", "sales.ann", "ann+info", "john.admin", "per.olsen"],
)
def test_people_are_not_role_accounts(local: str) -> None:
    # Given a person's address, even one that holds a role word / When verified / Then valid
    (row,) = verify([f"{local}@northwind-traders.com"])
    assert row.verdict is Verdict.VALID
