"""The delete on moto: the export is checked first, exactly the exported contacts go, each leaves a
tombstone (the hashed address, the reason, the date: nothing else), and a retried chunk changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from functional_cloud import ACCOUNT
from remediation_cloud import EXPORTS, RemediationCloud, people

from listguard.domain import FlagStatus
from listguard.domain.keys import TOMBSTONE_SK_PREFIX, account_pk, address_hash
from listguard.domain.remediation import RemediationStatus
from listguard.flows.remediation import lifecycle
from listguard.flows.remediation.confirm import confirm_delete
from listguard.stores import DeleteOutcome, ExportedContact, TombstoneStore
from listguard.stores.dynamo import Table


def confirmed(world: RemediationCloud, count: int) -> str:
    """A remediation of the account's declined contacts, exported and confirmed."""
    rid = lifecycle.start(world.services, ACCOUNT, request_id="r-1").remediation_id
    world.run_to_confirmation(rid)
    confirm_delete(world.services, rid, count)
    return rid


def tombstone_items(world: RemediationCloud) -> list[dict[str, object]]:
    return [item for item in world.cloud.items() if str(item["sk"]).startswith(TOMBSTONE_SK_PREFIX)]


def test_exactly_the_exported_contacts_are_deleted_each_with_a_tombstone(
    remediation: RemediationCloud,
) -> None:
    # Given 16 declined contacts (3 chunks), a sendable one and one of another account, confirmed
    remediation.declined(people(16, city="Lyon"))
    remediation.declined(people(1, first=50), flag=FlagStatus.NONE, import_id="own")
    remediation.declined(people(1, first=60), account="other")
    rid = confirmed(remediation, 16)

    # When the export is checked and the delete runs chunk by chunk
    remediation.step("verify_export", rid)
    calls = remediation.loop("delete", rid)

    # Then exactly the 16 are gone, the others stay, and the record counts them
    assert calls == 3
    assert set(remediation.cloud.contacts()) == {"person50@example.com"}
    assert set(remediation.cloud.contacts("other")) == {"person60@example.com"}
    record = remediation.record(rid)
    assert record.status is RemediationStatus.CLEANING
    assert (record.deleted.deleted, record.deleted.left_changed, record.deleted.already_gone) == (16, 0, 0)
    # And each left a tombstone with its hashed address, the reason and the date, and nothing else
    tombstones = tombstone_items(remediation)
    assert len(tombstones) == 16
    assert {str(t["address_hash"]) for t in tombstones} == {
        address_hash(f"person{i}@example.com") for i in range(16)
    }
    for tombstone in tombstones:
        assert set(tombstone) == {"pk", "sk", "type", "address_hash", "reason", "deleted_on"}
        assert tombstone["pk"] == account_pk(ACCOUNT)
        assert "@" not in str(tombstone) and "Lyon" not in str(tombstone)
        assert str(tombstone["reason"]).startswith(f"declined contact deleted by remediation {rid}")
    assert [
        t.address_hash
        for t in TombstoneStore(remediation.cloud.table).for_address(ACCOUNT, " Person3@Example.COM")
    ] == [address_hash("person3@example.com")]


def test_contacts_that_changed_since_the_export_are_left_and_reported(remediation: RemediationCloud) -> None:
    # Given a confirmed remediation of 5 declined contacts
    remediation.declined(people(5))
    rid = confirmed(remediation, 5)
    # When, after the export, one is imported again (new revision), one unsubscribes, and another
    # remediation deletes one
    remediation.declined([("person1@example.com", {"name": "New name"})], import_id="again")
    remediation.cloud.contact_store.blocklist(
        ACCOUNT, "person2@example.com", now="2026-07-02", reason="unsub"
    )
    _tombstone_only(remediation.cloud.table, "person3@example.com", "rem-other")  # another remediation's
    remediation.cloud.table.delete({"pk": account_pk(ACCOUNT), "sk": "CONTACT#person3@example.com"})
    remediation.step("verify_export", rid)
    remediation.loop("delete", rid)

    # Then the changed ones are left as they are (the blocklisted one stays blocklisted), and counted
    contacts = remediation.cloud.contacts()
    assert set(contacts) == {"person1@example.com", "person2@example.com"}
    assert contacts["person1@example.com"].attributes["name"] == "New name"
    assert str(contacts["person2@example.com"].subscription_status) == "blocklisted"
    deleted = remediation.record(rid).deleted
    assert (deleted.deleted, deleted.left_changed, deleted.already_gone) == (2, 2, 1)
    # And only the deleted ones have a tombstone of this remediation
    assert {str(t["address_hash"]) for t in tombstone_items(remediation) if str(t["sk"]).endswith(rid)} == {
        address_hash("person0@example.com"),
        address_hash("person4@example.com"),
    }


def test_a_delete_chunk_run_again_changes_nothing_and_counts_each_contact_once(
    remediation: RemediationCloud,
) -> None:
    # Given a confirmed remediation whose first delete chunk ran, but whose answer was lost
    remediation.declined(people(10))
    rid = confirmed(remediation, 10)
    remediation.step("verify_export", rid)
    before = remediation.record(rid)
    remediation.step("delete", rid)
    after_first = remediation.cloud.items()
    remediation.store.transition(  # the record as if the first run's update had not landed
        rid,
        source={RemediationStatus.DELETING},
        target=RemediationStatus.DELETING,
        fields={"deleted": before.deleted.model_dump()},
        now="2026-07-03",
    )

    # When the chunk runs again, then the rest
    remediation.loop("delete", rid)

    # Then every contact was deleted once, with one tombstone each, and counted once
    deleted = remediation.record(rid).deleted
    assert (deleted.deleted, deleted.left_changed, deleted.already_gone) == (10, 0, 0)
    assert len(tombstone_items(remediation)) == 10
    first_chunk = [item for item in after_first if str(item["sk"]).startswith(TOMBSTONE_SK_PREFIX)]
    assert len(first_chunk) == 7 and all(item in tombstone_items(remediation) for item in first_chunk)


def test_a_tombstone_without_its_delete_is_completed_or_taken_back(remediation: RemediationCloud) -> None:
    # Given three contacts, and a delete that stopped after writing their tombstones; then one changed,
    # and another remediation deleted one
    remediation.declined(people(3))
    store = TombstoneStore(remediation.cloud.table)
    table = remediation.cloud.table
    for i in range(3):
        _tombstone_only(table, f"person{i}@example.com")
    remediation.declined([("person1@example.com", {"name": "changed"})], import_id="again")
    _tombstone_only(table, "person2@example.com", "rem-other")
    table.delete({"pk": account_pk(ACCOUNT), "sk": "CONTACT#person2@example.com"})

    # When the delete runs again
    outcomes = store.delete_contacts(
        ACCOUNT,
        [ExportedContact(f"person{i}@example.com", 1) for i in range(3)],
        remediation_id="rem-x",
        reason="r",
        deleted_on="d",
    )

    # Then the unchanged one is deleted (its tombstone stays), the changed one is left (its tombstone
    # goes), and the one the other remediation deleted keeps only that one's tombstone
    assert outcomes == [DeleteOutcome.DELETED, DeleteOutcome.LEFT_CHANGED, DeleteOutcome.ALREADY_GONE]
    assert set(remediation.cloud.contacts()) == {"person1@example.com"}
    assert _remediations_of(table, "person0@example.com") == ["rem-x"]
    assert _remediations_of(table, "person1@example.com") == []
    assert _remediations_of(table, "person2@example.com") == ["rem-other"]


def test_a_delete_whose_answer_was_lost_keeps_its_tombstone(remediation: RemediationCloud) -> None:
    # Given a contact, and a DynamoDB whose answer to the first delete is lost (the client tries again)
    remediation.declined(people(1))
    losing = Table(_LosingFirstDelete(remediation.cloud.dynamodb), remediation.cloud.table.name)

    outcomes = TombstoneStore(losing).delete_contacts(
        ACCOUNT,
        [ExportedContact("person0@example.com", 1)],
        remediation_id="rem-x",
        reason="r",
        deleted_on="d",
    )

    # Then the contact counts as deleted, once, and its tombstone stays
    assert outcomes == [DeleteOutcome.DELETED]
    assert remediation.cloud.contacts() == {}
    assert _remediations_of(remediation.cloud.table, "person0@example.com") == ["rem-x"]


class _LosingFirstDelete:
    """A DynamoDB client whose first DeleteItem takes effect and whose answer is lost: the retry's
    answer (the contact is gone) is what the caller sees, as botocore's retry would make it."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lost = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def delete_item(self, **kwargs: Any) -> Any:
        if not self._lost:
            self._lost = True
            self._client.delete_item(**kwargs)
        return self._client.delete_item(**kwargs)


def _remediations_of(table: Table, email: str) -> list[str]:
    """The remediations whose tombstone an address has (the last part of each tombstone's key)."""
    return sorted(
        str(item["sk"]).rsplit("#", 1)[-1]
        for item in table.query(
            "pk = :pk AND begins_with(sk, :p)",
            {":pk": account_pk(ACCOUNT), ":p": f"{TOMBSTONE_SK_PREFIX}{address_hash(email)}#"},
        )
    )


def _tombstone_only(table: Table, email: str, remediation_id: str = "rem-x") -> None:
    table.put(
        {
            "pk": account_pk(ACCOUNT),
            "sk": f"{TOMBSTONE_SK_PREFIX}{address_hash(email)}#{remediation_id}",
            "type": "tombstone",
            "address_hash": address_hash(email),
            "reason": "r",
            "deleted_on": "d",
        }
    )


def test_nothing_is_deleted_when_the_export_is_gone(remediation: RemediationCloud) -> None:
    # Given a confirmed remediation whose export's version was deleted
    remediation.declined(people(4))
    rid = confirmed(remediation, 4)
    export = remediation.record(rid).export
    assert export is not None
    remediation.s3.delete_object(Bucket=EXPORTS, Key=export.key, VersionId=export.version_id)

    # When the export is checked, Then the step fails with the reason, and every contact is still there
    with pytest.raises(Exception, match="is gone: nothing more is deleted without it"):
        remediation.step("verify_export", rid)
    assert len(remediation.cloud.contacts()) == 4
    # And the delete itself refuses to run without a checked export
    with pytest.raises(Exception, match="the export was not checked; nothing deleted"):
        remediation.step("delete", rid)
    assert len(remediation.cloud.contacts()) == 4


def test_nothing_is_deleted_when_the_export_does_not_hold_the_contacts_to_delete(
    remediation: RemediationCloud,
) -> None:
    # Given a confirmed remediation whose record points at another version of the export's object
    remediation.declined(people(4))
    rid = confirmed(remediation, 4)
    export = remediation.record(rid).export
    assert export is not None
    text = remediation.read(export.key, export.version_id)
    other = remediation.s3.put_object(
        Bucket=EXPORTS,
        Key=export.key,
        Body=text.replace("person2@example.com", "person9@example.com").encode(),
    )
    remediation.store.transition(
        rid,
        source={RemediationStatus.DELETING},
        target=RemediationStatus.DELETING,
        fields={"export": {**export.model_dump(), "version_id": other["VersionId"]}},
        now="2026-07-03",
    )

    with pytest.raises(Exception, match="does not hold exactly the 4 contacts to delete"):
        remediation.step("verify_export", rid)
    assert len(remediation.cloud.contacts()) == 4


def test_nothing_is_deleted_before_a_confirmation(remediation: RemediationCloud) -> None:
    remediation.declined(people(3))
    rid = lifecycle.start(remediation.services, ACCOUNT, request_id="r-1").remediation_id
    remediation.run_to_confirmation(rid)

    for step in ("verify_export", "delete"):
        with pytest.raises(Exception, match="nothing is deleted without a confirmation"):
            remediation.step(step, rid)
    assert len(remediation.cloud.contacts()) == 3


def test_a_blocklisted_contact_is_never_deleted_even_if_asked(remediation: RemediationCloud) -> None:
    remediation.declined(people(1))
    contact = remediation.cloud.contact_store.blocklist(
        ACCOUNT, "person0@example.com", now="x", reason="unsub"
    )

    outcomes = TombstoneStore(remediation.cloud.table).delete_contacts(
        ACCOUNT,
        [ExportedContact(contact.email_key, contact.rev)],
        remediation_id="rem-x",
        reason="r",
        deleted_on="d",
    )

    assert outcomes == [DeleteOutcome.LEFT_CHANGED]
    assert set(remediation.cloud.contacts()) == {"person0@example.com"}
    assert tombstone_items(remediation) == []  # and no tombstone was left behind
