"""ContactStore on moto: every write is a merge, whatever other writers do at the same time."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from functional_cloud import ACCOUNT, Cloud

from listguard.domain import FlagStatus, SubscriptionStatus
from listguard.stores import ContactStore, ContactWrite, ImportStamp
from listguard.verification import Verdict

NOW = "2026-11-30T12:00:00.000+00:00"


def writes(emails: list[str], **attributes: str) -> list[ContactWrite]:
    return [ContactWrite(email, dict(attributes), Verdict.VALID, row) for row, email in enumerate(emails, 1)]


def stamp(import_id: str, flag: FlagStatus) -> ImportStamp:
    return ImportStamp(ACCOUNT, import_id, f"etag-{import_id}", flag, NOW)


def people(count: int) -> list[str]:
    return [f"person{i}@example.com" for i in range(count)]


def on_first_call(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch, operation: str, action: Callable[[], None]
) -> None:
    """Runs ``action`` once, just before the first ``operation`` call of the DynamoDB client: another
    flow acting between an import's read of a window and its writes."""
    original = getattr(cloud.dynamodb, operation)
    state = {"done": False}

    def call(**kwargs: Any) -> Any:
        if not state["done"]:
            state["done"] = True
            action()
        return original(**kwargs)

    monkeypatch.setattr(cloud.dynamodb, operation, call)


def test_a_blocklist_during_an_import_always_wins(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given 50 subscribed contacts, and an import of them all whose window of reads is already done
    cloud.seed(people(50))
    store = ContactStore(cloud.table, threads=1)
    on_first_call(
        cloud,
        monkeypatch,
        "update_item",
        lambda: store.blocklist(ACCOUNT, "person30@example.com", now=NOW, reason="unsubscribed"),
    )

    # When the import merges into them while person30 unsubscribes
    tally = store.merge_import(stamp("clean", FlagStatus.NONE), writes(people(50), source="fair"))

    # Then the unsubscribe stands, the import's merge decided again, and the import's values are there
    contact = cloud.contact_store.get(ACCOUNT, "person30@example.com")
    assert contact is not None
    assert contact.subscription_status is SubscriptionStatus.BLOCKLISTED
    assert contact.attributes == {"source": "fair"}
    assert contact.import_id == "clean"
    assert (tally.merged, tally.created, tally.conflicts) == (50, 0, 1)


def test_a_declined_import_that_finishes_during_a_clean_one_keeps_its_flag(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a clean import of 120 new contacts, and a declined import of the same contacts that runs
    # to its end after the clean import read them (as absent) but before it wrote them
    store = ContactStore(cloud.table, threads=1)
    on_first_call(
        cloud,
        monkeypatch,
        "put_item",
        lambda: cloud.contact_store.merge_import(stamp("bought", FlagStatus.DECLINED), writes(people(120))),
    )

    # When the clean import writes
    tally = store.merge_import(stamp("clean", FlagStatus.NONE), writes(people(120)))

    # Then every shared contact stays declined (the higher flag wins), created exactly once
    contacts = list(cloud.contact_store.list(ACCOUNT))
    assert len(contacts) == 120
    assert {c.flag_status for c in contacts} == {FlagStatus.DECLINED}
    assert {c.flagged_by for c in contacts} == {"bought"}
    assert {c.import_id for c in contacts} == {"clean"}  # the clean import's merge still landed
    assert tally.created == 0 and tally.merged == 120 and tally.conflicts >= 100


def test_two_imports_at_once_end_with_the_higher_flag_and_one_contact_each(cloud: Cloud) -> None:
    # Given two imports of the same 300 new contacts, one clean, one declined, started together
    results = {}

    def run(name: str, flag: FlagStatus) -> None:
        results[name] = ContactStore(cloud.table, threads=2).merge_import(
            stamp(name, flag), writes(people(300))
        )

    threads = [
        threading.Thread(target=run, args=("clean", FlagStatus.NONE)),
        threading.Thread(target=run, args=("bought", FlagStatus.DECLINED)),
    ]

    # When they run at the same time
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then every contact exists once, declined, and exactly one of the two created each
    contacts = list(cloud.contact_store.list(ACCOUNT))
    assert len(contacts) == 300
    assert {c.flag_status for c in contacts} == {FlagStatus.DECLINED}
    assert results["clean"].created + results["bought"].created == 300
    assert results["clean"].written == results["bought"].written == 300


def test_attributes_that_other_flows_write_survive_a_reimport(cloud: Cloud) -> None:
    # Given a contact imported with two columns, then engaged with and consenting (other flows' fields)
    cloud.contact_store.merge_import(
        stamp("first", FlagStatus.NONE), writes(["ann@example.com"], city="Lyon", plan="gold")
    )
    cloud.table.update(
        {"pk": "ACCOUNT#acme", "sk": "CONTACT#ann@example.com"},
        update="SET last_open_at = :open, consent_at = :consent ADD #rev :one",
        names={"#rev": "rev"},
        values={":open": "2026-11-01", ":consent": "2025-02-03", ":one": 1},
    )

    # When a new import brings the contact again with one column changed and one new
    cloud.contact_store.merge_import(
        stamp("second", FlagStatus.NONE), writes(["ann@example.com"], city="Paris", phone="+33 1")
    )

    # Then the other flows' fields are kept, and the columns are merged (new values win)
    item = cloud.raw_item("ACCOUNT#acme", "CONTACT#ann@example.com")
    assert (item["last_open_at"], item["consent_at"]) == ("2026-11-01", "2025-02-03")
    assert item["attributes"] == {"city": "Paris", "plan": "gold", "phone": "+33 1"}
    assert (item["import_id"], item["rev"]) == ("second", 3)


def test_a_merge_is_safe_to_repeat(cloud: Cloud) -> None:
    # Given an import merged once
    store = cloud.contact_store
    store.merge_import(stamp("once", FlagStatus.DECLINED), writes(people(30), tier="b"))
    before = {c.email_key: c.model_dump(exclude={"rev"}) for c in store.list(ACCOUNT)}

    # When the same merge runs again (a Lambda retry)
    tally = store.merge_import(stamp("once", FlagStatus.DECLINED), writes(people(30), tier="b"))

    # Then the contacts are the same (only their revision moved on), none created twice
    assert (tally.created, tally.merged) == (0, 30)
    assert {c.email_key: c.model_dump(exclude={"rev"}) for c in store.list(ACCOUNT)} == before


def test_blocklisting_an_unknown_address_creates_a_blocklisted_contact(cloud: Cloud) -> None:
    contact = cloud.contact_store.blocklist(ACCOUNT, " Eve@Example.com ", now=NOW, reason="complaint")
    assert (contact.email, contact.email_key) == ("Eve@Example.com", "eve@example.com")
    assert contact.subscription_status is SubscriptionStatus.BLOCKLISTED
    assert (contact.flag_status, contact.rev) == (FlagStatus.NONE, 1)
    # and an import of that address later does not re-subscribe it
    cloud.contact_store.merge_import(stamp("later", FlagStatus.NONE), writes(["eve@example.com"]))
    again = cloud.contact_store.get(ACCOUNT, "EVE@example.com")
    assert again is not None and again.subscription_status is SubscriptionStatus.BLOCKLISTED
