"""The remediation's first steps on moto: start, the segment (paged), the export, the confirmation."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json

import pytest
from functional_cloud import ACCOUNT, BUCKET, CUSTOMER
from remediation_cloud import CHUNK, RemediationCloud, people

from listguard.domain import EventType, FlagStatus
from listguard.domain.keys import remediation_id_for
from listguard.domain.remediation import RemediationStatus, SegmentChunk
from listguard.flows.remediation import RemediationError, lifecycle
from listguard.flows.remediation.confirm import confirm_delete
from listguard.stores import NotificationStore


def start(world: RemediationCloud, **options: object) -> str:
    return lifecycle.start(world.services, ACCOUNT, request_id="r-1", **options).remediation_id  # type: ignore[arg-type]


def test_starting_the_same_request_twice_is_one_remediation_and_one_execution(
    remediation: RemediationCloud,
) -> None:
    # Given declined contacts
    remediation.declined(people(3))

    # When the customer starts the same request twice
    first = lifecycle.start(remediation.services, ACCOUNT, request_id="r-1")
    second = lifecycle.start(remediation.services, ACCOUNT, request_id="r-1")

    # Then both are the remediation named after the account and the request, with one execution
    assert first.remediation_id == second.remediation_id == remediation_id_for(ACCOUNT, "r-1")
    assert first.execution_name == first.remediation_id
    executions = remediation.cloud.sfn.list_executions(stateMachineArn=remediation.services.state_machine_arn)
    [execution] = executions["executions"]
    assert execution["name"] == first.remediation_id
    described = remediation.cloud.sfn.describe_execution(executionArn=execution["executionArn"])
    assert json.loads(described["input"]) == {
        "remediation": {"account": ACCOUNT, "attempt": 1, "remediation_id": first.remediation_id}
    }
    # And the same request with other options is refused, not started again
    with pytest.raises(RemediationError, match="other options"):
        lifecycle.start(remediation.services, ACCOUNT, request_id="r-1", separator=";")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"separator": ":"}, "separator ':' is not supported"),
        ({"campaign_id": "spring"}, "no campaign spring in account acme"),
        ({"campaign_id": "a#b"}, "campaign id 'a#b' is not allowed"),
    ],
)
def test_a_start_the_flow_cannot_take_is_refused_with_the_reason(
    remediation: RemediationCloud, options: dict[str, str], message: str
) -> None:
    remediation.declined(people(2))
    with pytest.raises(Exception, match=message):
        start(remediation, **options)


def test_an_account_without_declined_contacts_has_nothing_to_remediate(remediation: RemediationCloud) -> None:
    # Given only sendable contacts and a declined one that is blocklisted
    remediation.declined(people(2), flag=FlagStatus.NONE)
    remediation.declined(people(1, first=10))
    remediation.cloud.contact_store.blocklist(
        ACCOUNT, "person10@example.com", now="2026-07-01", reason="unsub"
    )

    with pytest.raises(RemediationError, match="nothing to remediate"):
        start(remediation)


def test_the_segment_is_read_in_pages_and_chunks_and_holds_exactly_the_declined_subscribed_contacts(
    remediation: RemediationCloud,
) -> None:
    # Given 20 declined contacts (2 of them blocklisted), and contacts pending, sendable or of another account
    remediation.declined(people(20))
    for blocked in ("person3@example.com", "person11@example.com"):
        remediation.cloud.contact_store.blocklist(ACCOUNT, blocked, now="2026-07-01", reason="complaint")
    remediation.declined(people(4, first=100), flag=FlagStatus.PENDING, import_id="fair")
    remediation.declined(people(4, first=200), flag=FlagStatus.NONE, import_id="own")
    remediation.declined(people(5, first=300), account="other")
    rid = start(remediation)

    # When the segment step runs until it says there is no more
    remediation.step("begin", rid)
    calls = remediation.loop("segment", rid)

    # Then it took one chunk per call (7 contacts a chunk, 3 a page), and found the 18 contacts
    record = remediation.record(rid)
    assert record.status is RemediationStatus.EXPORTING
    assert record.count == 18
    assert [chunk.contacts for chunk in record.segment_chunks] == [CHUNK, CHUNK, 4]
    assert calls == 3
    keys = set()
    for chunk in record.segment_chunks:
        body = remediation.s3.get_object(Bucket=BUCKET, Key=chunk.key)["Body"].read()
        keys |= {json.loads(line)["email_key"] for line in gzip.decompress(body).decode().splitlines()}
    assert keys == {f"person{i}@example.com" for i in range(20)} - {
        "person3@example.com",
        "person11@example.com",
    }

    # And a replayed segment step changes nothing
    assert remediation.step("segment", rid) == {"more": False, "count": 18}
    assert remediation.record(rid).segment_chunks == record.segment_chunks


def test_the_export_holds_every_attribute_in_the_chosen_separator_and_is_formula_safe(
    remediation: RemediationCloud,
) -> None:
    # Given declined contacts with imported columns, one of them a formula, one holding the separator
    remediation.declined(
        [
            ("ann@example.com", {"name": "Ann; Lee", "city": "Paris"}),
            ("bob@example.com", {"name": '=HYPERLINK("http://evil/")', "last_open": "2026-10-01"}),
        ]
    )
    separator = ";"
    rid = start(remediation, separator=separator)
    remediation.step("begin", rid)
    remediation.loop("segment", rid)

    # When the export step runs
    assert remediation.step("export", rid) == {"rows": 2}

    # Then the export is recorded with its version, size and digest
    export = remediation.record(rid).export
    assert export is not None and export.rows == 2 and export.separator == separator
    raw = remediation.read_bytes(export.key, export.version_id)
    assert (len(raw), hashlib.sha256(raw).hexdigest()) == (export.bytes, export.sha256)
    assert raw.startswith("\ufeff".encode())
    # And it holds every attribute: the imported columns, then listguard's fields
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=separator))
    header = rows[0]
    assert header[:4] == ["email", "name", "city", "last_open"]
    assert {"listguard.flag_status", "listguard.subscription_status", "listguard.rev"} <= set(header)
    by_email = {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert by_email["ann@example.com"]["name"] == "Ann; Lee"
    assert by_email["bob@example.com"]["name"] == "'" + '=HYPERLINK("http://evil/")'
    assert by_email["bob@example.com"]["listguard.flag_status"] == "declined"

    # And a replay keeps the export it recorded (no second version is recorded)
    remediation.step("export", rid)
    assert remediation.record(rid).export == export


def test_the_export_is_announced_with_an_expiring_link_once(remediation: RemediationCloud) -> None:
    remediation.cloud.account_store.set_email(ACCOUNT, CUSTOMER, now="2026-07-01")
    remediation.declined(people(3))
    rid = start(remediation)

    record = remediation.run_to_confirmation(rid, token="token-1")
    remediation.step("await_confirmation", rid, token="token-2")  # a replayed wait (a new token)

    assert (
        record.status is RemediationStatus.AWAITING_CONFIRMATION and record.awaiting == "delete_confirmation"
    )
    assert remediation.store.raw(rid, "task_token")["task_token"] == "token-2"
    notes = [n for n in NotificationStore(remediation.cloud.table).list(ACCOUNT)]
    [note] = [n for n in notes if n.event_type is EventType.EXPORT_READY]
    assert note.data["count"] == 3 and note.data["export_id"].startswith("exp-")
    assert "X-Amz-Expires=43200" in note.data["link"] and "versionId=" in note.data["link"]
    assert "--count 3" in note.text
    assert len(remediation.cloud.emails()) == 1


def test_a_wrong_count_changes_nothing_and_the_right_one_confirms(remediation: RemediationCloud) -> None:
    # Given a remediation waiting for the count of its 5 exported contacts
    remediation.declined(people(5))
    rid = start(remediation)
    waiting = remediation.run_to_confirmation(rid)

    # When the customer types 4, Then it is refused with the right number, and nothing changes
    with pytest.raises(
        RemediationError, match="4 is not the number of contacts to delete: the export holds 5"
    ):
        confirm_delete(remediation.services, rid, 4)
    assert remediation.record(rid) == waiting

    # When the customer types 5, Then the remediation deletes (and typing it again is the same answer)
    assert confirm_delete(remediation.services, rid, 5).status is RemediationStatus.DELETING
    assert confirm_delete(remediation.services, rid, 5).confirmed_count == 5
    with pytest.raises(RemediationError, match="confirmed already, for 5"):
        confirm_delete(remediation.services, rid, 6)


def test_no_answer_before_the_deadline_deletes_nothing(remediation: RemediationCloud) -> None:
    remediation.declined(people(3))
    rid = start(remediation)
    remediation.run_to_confirmation(rid)

    # When the wait times out
    assert remediation.step("confirmation_timed_out", rid) == {"decision": "stop"}

    # Then nothing is deleted, the customer is told, and a late answer is refused with the reason
    record = remediation.record(rid)
    assert record.status is RemediationStatus.TIMED_OUT
    assert len(remediation.cloud.contacts()) == 3
    notes = NotificationStore(remediation.cloud.table).list(ACCOUNT)
    assert EventType.REMEDIATION_TIMED_OUT in {n.event_type for n in notes}
    with pytest.raises(RemediationError, match=r"timed out .* nothing was deleted"):
        confirm_delete(remediation.services, rid, 3)


def test_an_answer_that_lands_as_the_wait_times_out_wins(remediation: RemediationCloud) -> None:
    remediation.declined(people(3))
    rid = start(remediation)
    remediation.run_to_confirmation(rid)
    confirm_delete(remediation.services, rid, 3)

    assert remediation.step("confirmation_timed_out", rid) == {"decision": "delete"}
    assert remediation.record(rid).status is RemediationStatus.DELETING


def test_two_invocations_reading_the_same_chunk_record_it_once(remediation: RemediationCloud) -> None:
    # Given a remediation whose first segment chunk was read and recorded by one invocation
    remediation.declined(people(10))
    rid = start(remediation)
    remediation.step("begin", rid)
    remediation.step("segment", rid)
    first = remediation.record(rid)

    # When a second invocation, that read the same pages from the same place, records its own chunk
    recorded = remediation.store.record_segment_chunk(
        rid,
        attempt=1,
        index=0,
        chunk=SegmentChunk(key="work/remediations/acme/other.jsonl.gz", contacts=CHUNK),
        previous_cursor=None,
        cursor="{}",
        count=CHUNK,
        now="2026-11-30",
    )

    # Then it is refused: the record keeps the first one's chunk, and the segment goes on from there
    assert recorded is False
    assert remediation.record(rid).segment_chunks == first.segment_chunks
    remediation.loop("segment", rid)
    assert remediation.record(rid).count == 10
