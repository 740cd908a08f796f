"""Imports larger than one invocation on the local cloud: the import state machine writes their chunks in a
Map (the same ASL as on AWS), retries a failed chunk alone, and counts every contact exactly once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from listguard.domain import FlagStatus, ImportStatus
from listguard.domain.keys import import_object_key
from listguard.flows.imports.lifecycle import Lifecycle
from listguard_console.localcloud import LocalCloud
from listguard_console.stack import Stack

pytestmark = pytest.mark.e2e

ACCOUNT = "bigco"
# Chunks of 50 contacts (200,000 when deployed), and no check below 10,000 new contacts.
ENVIRONMENT = {
    "IMPORT_CHUNK_SIZE": "50",
    "LISTGUARD_CHECK_MIN_NEW_CONTACTS": "10000",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_METRICS_DISABLED": "true",
}


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud.start(environment=ENVIRONMENT) as local:
        yield local


def contacts_csv(count: int, first: int = 0) -> bytes:
    return (
        "email,name\n" + "".join(f"p{i}@example.com,P {i}\n" for i in range(first, first + count))
    ).encode()


def upload(cloud: LocalCloud, name: str, body: bytes) -> None:
    key = import_object_key(ACCOUNT, f"{name}.csv")
    cloud.client("s3").put_object(Bucket=cloud.outputs["ImportsBucketName"], Key=key, Body=body)


def rests(stack: Stack, import_id: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        record = stack.imports.get(ACCOUNT, import_id)
        if record is not None and record.status not in {ImportStatus.RECEIVED, ImportStatus.VERIFYING}:
            return record
        assert time.monotonic() < deadline, f"{import_id} is still {record.status if record else None}"
        time.sleep(0.1)


def test_a_file_of_several_chunks_is_written_by_a_map_each_contact_exactly_once(
    cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an import of 230 contacts (5 chunks of at most 50), and the second chunk failing once
    attempts: dict[int, int] = {}
    apply_chunk = Lifecycle.apply_chunk

    def flaky(self: Lifecycle, ref: Any, chunk: int, *, lease_seconds: int) -> dict[str, int]:
        attempts[chunk] = attempts.get(chunk, 0) + 1
        if chunk == 1 and attempts[chunk] == 1:
            from botocore.exceptions import ClientError

            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "BatchWriteItem"
            )
        return apply_chunk(self, ref, chunk, lease_seconds=lease_seconds)

    monkeypatch.setattr(Lifecycle, "apply_chunk", flaky)
    stack = Stack(cloud)

    # When it is uploaded (no check needed: it is too big for one invocation, so the state machine writes it)
    upload(cloud, "huge", contacts_csv(230))
    record = rests(stack, "huge")

    # Then every chunk was written, the failed one retried alone, and every contact counted once
    assert record.status is ImportStatus.IMPORTED
    assert (record.chunks, record.contacts_written, record.contacts_created) == (5, 230, 230)
    assert attempts == {0: 1, 1: 2, 2: 1, 3: 1, 4: 1}
    assert stack.accounts.get(ACCOUNT).contact_count == 230
    assert stack.contacts.count(ACCOUNT) == 230
    assert {c.flag_status for c in stack.contacts.list(ACCOUNT)} == {FlagStatus.NONE}

    # When the same file's event is delivered again, Then nothing runs again
    upload(cloud, "huge", contacts_csv(230))
    assert stack.imports.get(ACCOUNT, "huge") == record
    sfn = cloud.client("stepfunctions")
    assert len(sfn.list_executions(stateMachineArn=cloud.outputs["ImportStateMachineArn"])["executions"]) == 1

    # When a second file brings 100 of them again and 40 new ones, Then only the new ones are counted
    upload(cloud, "more", contacts_csv(140, first=190))
    more = rests(stack, "more")
    assert (more.contacts_written, more.contacts_created) == (140, 100)
    assert stack.accounts.get(ACCOUNT).contact_count == stack.contacts.count(ACCOUNT) == 330


def test_an_import_waits_while_another_import_of_the_account_writes(cloud: LocalCloud) -> None:
    # Given another import of the account holding its lane (writing its contacts)
    stack = Stack(cloud)
    from datetime import UTC, datetime

    assert stack.accounts.acquire_lane(ACCOUNT, "other-import", lease_seconds=1, now=datetime.now(UTC))

    # When a small import arrives, Then it waits for the lane (the state machine retries) ...
    upload(cloud, "small", contacts_csv(20))
    record = stack.imports.get(ACCOUNT, "small")
    assert record is not None and record.status is ImportStatus.VERIFYING
    assert stack.contacts.count(ACCOUNT) == 0

    # ... and writes its contacts once the other import's lane is given back (here: its lease ran out)
    done = rests(stack, "small", timeout=60)
    assert (done.status, done.contacts_written) == (ImportStatus.IMPORTED, 20)
