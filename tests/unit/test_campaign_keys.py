"""The campaign flow's keys: the ledger, the sample, the paused queue and the check import (no AWS)."""

from __future__ import annotations

import pytest

from listguard.domain import keys


def test_a_ledger_entry_and_a_sample_contact_live_in_the_campaigns_own_partition() -> None:
    assert keys.ledger_pk("acme", "c-1") == "LEDGER#acme#c-1"
    assert keys.send_sk("bob@example.com") == "SEND#bob@example.com"
    assert keys.sample_sk("bob@example.com") == "SAMPLE#bob@example.com"
    for sk in (keys.send_sk("a#b@example.com"), keys.sample_sk("a#b@example.com")):
        assert keys.contact_key_of_ledger_sk(sk) == "a#b@example.com"


def test_the_check_of_a_paused_campaign_is_an_ordinary_import_of_the_account() -> None:
    object_key = keys.campaign_check_object_key("acme", "c-0123456789ab", 1)
    assert object_key == "imports/acme/c-0123456789ab-check-1.csv"
    ref = keys.parse_import_key(object_key)
    assert (ref.account, ref.import_id) == ("acme", keys.campaign_check_import_id("c-0123456789ab", 1))


@pytest.mark.parametrize("campaign_id", ["", "c#1", "c/1", "-c", "x" * 65, "c 1"])
def test_a_campaign_id_that_could_break_a_key_is_refused(campaign_id: str) -> None:
    with pytest.raises(keys.InvalidKeyError, match="campaigns list"):
        keys.check_campaign_id(campaign_id)


def test_a_request_makes_one_campaign_id_per_account() -> None:
    first = keys.campaign_id_for("acme", "spring-2026")
    assert first == keys.campaign_id_for("acme", "spring-2026")
    assert keys.check_campaign_id(first) == first
    assert first != keys.campaign_id_for("acme", "summer-2026")
    assert first != keys.campaign_id_for("globex", "spring-2026")


@pytest.mark.parametrize("request_id", ["", "a b", "a/b", "x" * 65])
def test_a_request_id_that_could_break_a_key_is_refused(request_id: str) -> None:
    with pytest.raises(keys.InvalidKeyError, match="request id"):
        keys.campaign_id_for("acme", request_id)
