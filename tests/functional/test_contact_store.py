"""ContactStore on moto: every write is a merge, whatever other writers do at the same time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
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


def test_a_blocklist_that_lands_while_an_import_creates_the_contact_wins(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an import of 60 new contacts that has read them (absent), and person7 unsubscribing
    # (from an earlier mailing list) just before the import's puts
    store = ContactStore(cloud.table, threads=1)
    on_first_call(
        cloud,
        monkeypatch,
        "batch_write_item",
        lambda: store.blocklist(ACCOUNT, "person7@example.com", now=NOW, reason="unsubscribed"),
    )

    # When the import writes them
    tally = store.merge_import(stamp("clean", FlagStatus.NONE), writes(people(60)))

    # Then person7 is blocklisted all the same (the import read its suppression again after its puts)
    contacts = {c.email_key: c for c in cloud.contact_store.list(ACCOUNT)}
    assert len(contacts) == 60 and tally.created == 60
    assert contacts.pop("person7@example.com").subscription_status is SubscriptionStatus.BLOCKLISTED
    assert {c.subscription_status for c in contacts.values()} == {SubscriptionStatus.SUBSCRIBED}


def test_the_account_lane_lets_one_import_write_at_a_time(cloud: Cloud) -> None:
    accounts, now = cloud.account_store, datetime.now(UTC)
    # Given import A holding the lane
    assert accounts.acquire_lane(ACCOUNT, "import-a", lease_seconds=900, now=now)
    # Then import B is kept out, A keeps it (its chunks share it), and once A gives it back B gets it
    assert not accounts.acquire_lane(ACCOUNT, "import-b", lease_seconds=900, now=now)
    assert accounts.acquire_lane(ACCOUNT, "import-a", lease_seconds=900, now=now)
    accounts.release_lane(ACCOUNT, "import-a")
    assert accounts.acquire_lane(ACCOUNT, "import-b", lease_seconds=900, now=now)
    # And a holder that died loses the lane when its lease runs out
    assert accounts.acquire_lane(ACCOUNT, "import-c", lease_seconds=900, now=now + timedelta(seconds=901))
    # And releasing a lane one no longer holds changes nothing
    accounts.release_lane(ACCOUNT, "import-b")
    assert not accounts.acquire_lane(ACCOUNT, "import-b", lease_seconds=900, now=now + timedelta(seconds=902))


def test_two_imports_at_once_end_with_the_higher_flag_and_one_contact_each(cloud: Cloud) -> None:
    # Given two imports of the same 300 new contacts, one clean, one declined, started together, each
    # writing once it holds the account's lane
    results = {}

    def run(name: str, flag: FlagStatus) -> None:
        while not cloud.account_store.acquire_lane(ACCOUNT, name, lease_seconds=60, now=datetime.now(UTC)):
            time.sleep(0.01)
        try:
            store = ContactStore(cloud.table, threads=2)
            results[name] = store.merge_import(stamp(name, flag), writes(people(300)))
        finally:
            cloud.account_store.release_lane(ACCOUNT, name)

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

    # Then the contacts are the same (only their revision moved on), none created twice; the contacts
    # the first run created still count as this import's creations (its count is the same)
    assert (tally.created, tally.merged) == (30, 0)
    assert len(before) == 30
    assert {c.email_key: c.model_dump(exclude={"rev"}) for c in store.list(ACCOUNT)} == before


def test_blocklisting_an_address_that_is_no_contact_suppresses_it(cloud: Cloud) -> None:
    # Given an address that is not a contact, blocklisted (a complaint from an earlier list)
    assert cloud.contact_store.blocklist(ACCOUNT, " Eve@Example.com ", now=NOW, reason="complaint") is None
    assert cloud.contact_store.blocklisted_among(ACCOUNT, ["eve@example.com", "ann@example.com"]) == {
        "eve@example.com"
    }
    # When it is imported later, Then it is created blocklisted, never subscribed
    cloud.contact_store.merge_import(stamp("later", FlagStatus.NONE), writes(["eve@example.com"]))
    again = cloud.contact_store.get(ACCOUNT, "EVE@example.com")
    assert again is not None and again.subscription_status is SubscriptionStatus.BLOCKLISTED
