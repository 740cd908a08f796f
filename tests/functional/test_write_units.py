"""What an import costs per contact, in DynamoDB capacity units: a later change cannot silently double it.

Every DynamoDB call of the deployed functions (import_check and the import state machine's steps) is
metered as DynamoDB bills it on demand (listguard_console.localcloud.capacity): a new sendable contact is
written once and indexed nowhere, a flagged one is written with its two sparse index entries.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from functional_cloud import Cloud, run_the_state_machine
from test_import_check import contacts_csv, import_key, only_result

from listguard.aws import aws_clients
from listguard.domain import FlagStatus
from listguard_console.localcloud.capacity import Meter, metered

CONTACTS = 200


@pytest.fixture
def meter(cloud: Cloud) -> Iterator[Meter]:
    with metered(aws_clients().dynamodb, cloud.dynamodb) as meter:
        yield meter


def import_through_the_state_machine(cloud: Cloud, name: str, body: bytes) -> str:
    assert only_result(cloud.invoke(cloud.upload(import_key(name), body)))["status"] == "verifying"
    return run_the_state_machine(cloud, name)


def write_units_of_an_import(
    cloud: Cloud, meter: Meter, account: str, contacts: int, bad_share: float
) -> float:
    """An import into an account of its own (so that imports neither share contacts nor standing)."""
    disposable = round(contacts * bad_share)
    body = contacts_csv(contacts - disposable, disposable=disposable)
    meter.reset()
    assert (
        only_result(cloud.invoke(cloud.upload(import_key("leads", account), body)))["status"] == "verifying"
    )
    run_the_state_machine(cloud, "leads", account=account)
    return meter.write_units


@pytest.mark.parametrize(
    ("bad_share", "expected"),
    [(0.0, 1), (0.15, 3), (0.06, 3)],
    ids=["validated", "declined", "reviewed"],
)
def test_write_units_per_new_contact(
    cloud: Cloud, meter: Meter, small_check_policy: int, bad_share: float, expected: int
) -> None:
    # Given two imports of new contacts that need a check, one twice the size of the other
    small = write_units_of_an_import(cloud, meter, "small", CONTACTS, bad_share)
    calls, small_by_call = dict(meter.calls), dict(meter.writes_by_call)
    large = write_units_of_an_import(cloud, meter, "large", 2 * CONTACTS, bad_share)

    # Then each new contact costs one write unit when it is sendable (no index entry), three when it is
    # flagged (its two sparse index entries) (within 0.1: the import's own record grows with its size) ...
    assert (large - small) / CONTACTS == pytest.approx(expected, abs=0.1), (small_by_call, meter)
    # ... and the import's own records, lane and notifications cost a few dozen units, whatever its size
    assert small - expected * CONTACTS <= 60, meter
    # And its contacts were written with BatchWriteItem, 25 a call, not one call each
    assert calls["batch_write_item"] == CONTACTS // 25


def test_write_units_per_contact_of_a_reimport(cloud: Cloud, meter: Meter) -> None:
    # Given 200 sendable contacts, imported again by a list that changes one of their columns
    cloud.seed(f"person{i}@example.com" for i in range(CONTACTS))
    meter.reset()

    # When the new list is imported (no check: they are not new)
    result = only_result(
        cloud.invoke(cloud.upload(import_key("again"), contacts_csv(CONTACTS, name="Again")))
    )

    # Then each existing contact cost one write unit (a merge, guarded by its revision)
    assert result["status"] == "imported"
    assert meter.write_units / CONTACTS <= 1.1, meter
    assert meter.calls["update_item"] >= CONTACTS
    assert {c.flag_status for c in cloud.contacts().values()} == {FlagStatus.NONE}


@pytest.mark.parametrize("account_size", [300, 3_000])
def test_reads_of_an_import_do_not_grow_with_the_account(
    cloud: Cloud, meter: Meter, account_size: int
) -> None:
    # Given accounts of two sizes
    cloud.seed(f"member{i}@example.org" for i in range(account_size))
    meter.reset()

    # When the same 100-contact file is imported into each
    only_result(cloud.invoke(cloud.upload(import_key("leads"), contacts_csv(100))))

    # Then the import read the same number of items: its own contacts and records, not the account
    assert meter.items_read == READS_OF_A_100_CONTACT_IMPORT, meter


#: The check's blocklist lookup (each address and its suppression: 200 items), one window read per 50
#: contacts at the writes (each contact and its suppression again: 200), the re-read of the new contacts'
#: suppressions (100), and the import's own records (the profile, ownership checks: 4).
READS_OF_A_100_CONTACT_IMPORT = 504
