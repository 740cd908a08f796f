"""Remediation ids and tombstone keys: one remediation per account and request, no delimiter, no address."""

from __future__ import annotations

import pytest

from listguard.domain.keys import (
    InvalidKeyError,
    address_hash,
    check_remediation_id,
    export_id_for,
    remediation_execution_name,
    remediation_id_for,
    tombstone_sk,
)


def test_a_remediation_is_named_after_its_account_and_request() -> None:
    rid = remediation_id_for("acme", "2026-11-30")

    assert rid == remediation_id_for("acme", "2026-11-30")
    assert rid != remediation_id_for("acme", "2026-12-01")
    assert rid != remediation_id_for("acme-2", "2026-11-30")
    assert rid.startswith("rem-") and len(rid) == 28
    # Its first execution has its name; a retry's execution gets a suffix (names stay under 80)
    assert remediation_execution_name(rid, 1) == rid
    assert remediation_execution_name(rid, 12) == f"{rid}-a12"


@pytest.mark.parametrize("request_id", ["", "a b", "a#b", "a/b", "x" * 65, "-start"])
def test_a_request_id_that_is_not_a_plain_token_is_refused(request_id: str) -> None:
    with pytest.raises(InvalidKeyError, match="request id"):
        remediation_id_for("acme", request_id)


def test_an_export_id_names_its_remediation() -> None:
    rid = remediation_id_for("acme", "r")

    assert check_remediation_id(export_id_for(rid)) == rid
    assert check_remediation_id(rid) == rid
    for refused in ("rem-xyz", "REM-" + rid[4:], rid + "0", "../" + rid):
        with pytest.raises(InvalidKeyError, match="is not a remediation id"):
            check_remediation_id(refused)


def test_a_tombstone_key_holds_the_address_hash_only() -> None:
    # One identity, one hash: the same address written differently is one contact
    assert address_hash(" Bob@XN--EXMPLE-CUA.com ") == address_hash("bob@exämple.com")
    key = tombstone_sk(address_hash("bob@example.com"), "rem-0")
    assert "bob" not in key and "example" not in key
    assert key == f"TOMBSTONE#{address_hash('bob@example.com')}#rem-0"
