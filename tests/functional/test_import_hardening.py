"""The import path against hostile keys, other writers at the same time, and failures that outlast retries."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import ClientError
from functional_cloud import ACCOUNT, Cloud, flags
from harness import run_handler
from test_import_check import contacts_csv, import_key, only_result

from listguard.aws import aws_clients
from listguard.domain import FlagStatus, ImportStatus

NOW = "2026-11-30T12:00:00.000+00:00"


def throttled(operation: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "Rate exceeded"}}, operation
    )


def destination_record(event: dict[str, Any], attempts: int = 3) -> dict[str, Any]:
    """What Lambda sends to an on-failure destination once every attempt of an async event failed."""
    return {
        "version": "1.0",
        "timestamp": "2026-11-30T12:00:00.000Z",
        "requestContext": {
            "requestId": "request-1",
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:import_check:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": attempts,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {
            "errorMessage": "An error occurred (ProvisionedThroughputExceededException): Rate exceeded",
            "errorType": "ClientError",
        },
    }


def sqs_event(*bodies: dict[str, Any]) -> dict[str, Any]:
    """The SQS event the import_failed function receives from the destination queue."""
    return {
        "Records": [
            {
                "messageId": f"message-{i}",
                "receiptHandle": f"handle-{i}",
                "body": json.dumps(body),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:import-failures",
                "awsRegion": "us-east-1",
            }
            for i, body in enumerate(bodies)
        ]
    }


# -- keys -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("account", ["..", "a#b", "north wind"])
def test_an_import_under_an_unsafe_account_id_is_rejected_and_nothing_is_written(
    cloud: Cloud, account: str
) -> None:
    # Given a file uploaded under an account id outside the documented character set
    event = cloud.upload(f"imports/{account}/x.csv", contacts_csv(3))

    # When its event arrives
    result = only_result(cloud.invoke(event))

    # Then it is rejected with a one-line reason naming the rule, and nothing at all is written
    assert result["status"] == "rejected"
    assert "letters, digits" in result["error"] and "\n" not in result["error"]
    assert cloud.items() == []
    assert [key for key in cloud.objects() if not key.startswith("imports/")] == []


def test_list_csv_and_list_txt_are_two_imports(cloud: Cloud) -> None:
    # Given two files whose names differ only by their extension
    first = only_result(cloud.invoke(cloud.upload(import_key("list"), contacts_csv(3))))
    second = only_result(cloud.invoke(cloud.upload("imports/acme/list.TXT", contacts_csv(4, first=10))))

    # Then each is its own import, with its own record and reports
    assert (first["import_id"], second["import_id"]) == ("list", "list.TXT")
    assert (cloud.import_record("list").rows, cloud.import_record("list.TXT").rows) == (3, 4)
    assert {"reports/acme/list.json", "reports/acme/list.TXT.json"} <= set(cloud.objects())


# -- other writers at the same time ------------------------------------------------------------------


def test_a_contact_blocklisted_while_a_clean_import_runs_stays_blocklisted(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 40 subscribed contacts, and a clean import of them all
    cloud.seed(f"person{i}@example.com" for i in range(40))
    event = cloud.upload(import_key("clean"), contacts_csv(40))
    client = aws_clients().dynamodb
    original, state = client.update_item, {"done": False}

    def update_item(**kwargs: Any) -> Any:
        # person25 unsubscribes after the import read its window, before the import wrote person25
        if not state["done"]:
            state["done"] = True
            cloud.contact_store.blocklist(ACCOUNT, "person25@example.com", now=NOW, reason="unsubscribed")
        return original(**kwargs)

    monkeypatch.setattr(client, "update_item", update_item)

    # When the import runs
    assert only_result(cloud.invoke(event))["status"] == "imported"

    # Then the unsubscribe wins; the others are subscribed and sendable
    contacts = cloud.contacts()
    assert contacts.pop("person25@example.com").subscription_status == "blocklisted"
    assert {c.subscription_status for c in contacts.values()} == {"subscribed"}
    assert flags(contacts) == {"none"}


# -- failures that outlast Lambda's retries ----------------------------------------------------------


def test_the_lease_of_a_check_is_how_long_the_invocation_can_still_run(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an upload, and an invocation with 300 s left
    event = cloud.upload(import_key("timed"), contacts_csv(2))
    client = aws_clients().dynamodb
    leases: list[int] = []
    original = client.update_item

    def update_item(**kwargs: Any) -> Any:
        if ":lease" in kwargs.get("ExpressionAttributeValues", {}):
            leases.append(int(kwargs["ExpressionAttributeValues"][":lease"]["N"]))
        return original(**kwargs)

    monkeypatch.setattr(client, "update_item", update_item)

    # When the check claims the import
    started = time.time()
    run_handler("import_check", event, environment=cloud.environment, timeout_seconds=300)

    # Then the claim holds the import for those 300 s, no more
    (lease,) = leases
    assert started + 299 <= lease <= time.time() + 302


def test_an_import_whose_every_attempt_fails_is_marked_failed_and_a_new_upload_retries_at_once(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an import (no check needed), and DynamoDB throttling every contact write for good
    body = contacts_csv(150)
    event = cloud.upload(import_key("unlucky"), body)
    client = aws_clients().dynamodb

    def batch_write_item(**kwargs: Any) -> Any:
        raise throttled("BatchWriteItem")

    monkeypatch.setattr(client, "batch_write_item", batch_write_item)

    # When Lambda's three attempts fail (same request id each time)
    for _ in range(3):
        with pytest.raises(ClientError):
            cloud.invoke(event, request_id="request-1")
    assert cloud.import_record("unlucky").status is ImportStatus.RECEIVED

    # ... and Lambda hands the event to the on-failure destination, which import_failed reads
    response = cloud.invoke(sqs_event(destination_record(event)), function="import_failed")

    # Then the import is failed, with a reason that says what to do and quotes no data
    assert response == {"batchItemFailures": []}
    record = cloud.import_record("unlucky")
    assert record.status is ImportStatus.FAILED
    assert record.error == (
        "the check could not finish: 3 attempts failed (ClientError); upload the same file again to retry"
    )
    # ... no report was published, and no contact was written sendable
    assert [key for key in cloud.objects() if key.startswith("reports/")] == []
    assert cloud.contacts() == {}

    # When the failure record is delivered again, Then nothing changes
    cloud.invoke(sqs_event(destination_record(event)), function="import_failed")
    assert cloud.import_record("unlucky").status is ImportStatus.FAILED

    # When DynamoDB recovers and the customer uploads the same file again (same content, same ETag)
    monkeypatch.undo()
    result = only_result(cloud.invoke(cloud.upload(import_key("unlucky"), body)))

    # Then the check runs at once and completes
    assert result["status"] == "imported"
    assert cloud.import_record("unlucky").status is ImportStatus.IMPORTED
    assert len(cloud.contacts()) == 150


def test_a_check_that_died_holding_the_accounts_import_lane_gives_it_back_once_marked_failed(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an import (no check needed) whose every attempt fails after taking the account's import lane,
    # and whose release of the lane never reaches DynamoDB
    body = contacts_csv(150)
    event = cloud.upload(import_key("unlucky"), body)
    client = aws_clients().dynamodb
    update_item = client.update_item

    def batch_write_item(**kwargs: Any) -> Any:
        raise throttled("BatchWriteItem")

    def lane_never_released(**kwargs: Any) -> Any:
        if kwargs.get("UpdateExpression", "").startswith("REMOVE lane_holder"):
            raise throttled("UpdateItem")
        return update_item(**kwargs)

    monkeypatch.setattr(client, "batch_write_item", batch_write_item)
    monkeypatch.setattr(client, "update_item", lane_never_released)
    for _ in range(3):
        with pytest.raises(ClientError):
            cloud.invoke(event, request_id="request-1")
    monkeypatch.undo()
    assert "lane_holder" in cloud.raw_item("ACCOUNT#acme", "PROFILE")

    # When import_failed reads the failure record
    cloud.invoke(sqs_event(destination_record(event)), function="import_failed")

    # Then the lane is free, and the same file uploaded again is written at once (not left waiting for a
    # lease that a dead attempt holds)
    assert "lane_holder" not in cloud.raw_item("ACCOUNT#acme", "PROFILE")
    result = only_result(cloud.invoke(cloud.upload(import_key("unlucky"), body)))
    assert result["status"] == "imported"
    assert len(cloud.contacts()) == 150


def test_a_failure_record_for_a_check_that_finished_after_all_changes_nothing(cloud: Cloud) -> None:
    # Given an import that was checked
    event = cloud.upload(import_key("fine"), contacts_csv(5))
    only_result(cloud.invoke(event))

    # When a failure record for it arrives late
    cloud.invoke(sqs_event(destination_record(event)), function="import_failed")

    # Then the import keeps its status
    assert cloud.import_record("fine").status is ImportStatus.IMPORTED


def test_a_failure_midway_leaves_no_report_and_the_lambda_retry_finishes(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an import of 200 contacts, some already declined, and a failure after 75 new ones were written
    cloud.seed([f"person{i}@example.com" for i in range(0, 200, 10)], flag=FlagStatus.DECLINED)
    event = cloud.upload(import_key("bumpy"), contacts_csv(200))
    client = aws_clients().dynamodb
    original, calls = client.batch_write_item, {"n": 0}

    def batch_write_item(**kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 4:
            raise throttled("BatchWriteItem")
        return original(**kwargs)

    monkeypatch.setattr(client, "batch_write_item", batch_write_item)

    # When the function fails midway
    with pytest.raises(ClientError):
        cloud.invoke(event, request_id="request-1")

    # Then no report is visible, the import is still received, and the contacts written so far carry
    # their final flag: the declined ones are still declined
    assert [key for key in cloud.objects() if key.startswith("reports/")] == []
    assert cloud.import_record("bumpy").status is ImportStatus.RECEIVED
    written = cloud.contacts()
    assert 20 + 75 <= len(written) < 200
    assert {written[f"person{i}@example.com"].flag_status for i in range(0, 200, 10)} == {"declined"}

    # When a duplicate delivery arrives meanwhile, it leaves the import to its owner
    assert only_result(cloud.invoke(event, request_id="request-2"))["skipped_reason"] == "duplicate delivery"

    # When Lambda retries the invocation (same request id)
    result = only_result(cloud.invoke(event, request_id="request-1"))

    # Then the import completes exactly as if nothing had happened
    assert result["status"] == "imported"
    assert summary_existing(cloud) == 20  # measured before the first attempt
    contacts = cloud.contacts()
    assert len(contacts) == 200
    assert sum(1 for c in contacts.values() if c.flag_status is FlagStatus.DECLINED) == 20


def summary_existing(cloud: Cloud) -> int:
    return int(json.loads(cloud.read("reports/acme/bumpy.json"))["existing_contacts"])


def test_a_check_retried_after_counting_its_contacts_still_says_how_many_it_created(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a small import (no check needed), and S3 refusing its first report once the contacts are
    # written and counted
    event = cloud.upload(import_key("spring"), contacts_csv(20))
    s3 = aws_clients().s3
    put_object = s3.put_object
    refused: list[str] = []

    def refuse_once(**kwargs: Any) -> Any:
        if not refused and kwargs["Key"].startswith("reports/"):
            refused.append(kwargs["Key"])
            raise throttled("PutObject")
        return put_object(**kwargs)

    monkeypatch.setattr(s3, "put_object", refuse_once)

    # When the first attempt fails there, and Lambda retries it (same request id)
    with pytest.raises(S3UploadFailedError):
        cloud.invoke(event, request_id="request-1")
    assert only_result(cloud.invoke(event, request_id="request-1"))["status"] == "imported"

    # Then the retry's claim (which clears a check's results) did not lose the count of created
    # contacts, and the account's counter added them once
    assert refused
    assert cloud.import_record("spring").contacts_created == 20
    assert cloud.account_store.get(ACCOUNT).contact_count == 20


def test_counting_an_imports_contacts_waits_out_another_transaction_on_the_account(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a new file of an import, whose counting transaction another transaction on the account's
    # profile holds up twice (DynamoDB cancels it with the reason TransactionConflict)
    only_result(cloud.invoke(cloud.upload(import_key("spring"), contacts_csv(20))))
    cloud.table.update(
        {"pk": "ACCOUNT#acme", "sk": "IMPORT#spring"}, update="REMOVE counted_etag, contacts_created"
    )
    store = cloud.import_store
    client = store._table.client
    transact_write_items = client.transact_write_items
    held_up: list[int] = []

    def held_up_twice(**kwargs: Any) -> Any:
        if len(held_up) < 2:
            held_up.append(1)
            raise ClientError(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                    "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}],
                },
                "TransactWriteItems",
            )
        return transact_write_items(**kwargs)

    monkeypatch.setattr(client, "transact_write_items", held_up_twice)

    # When it counts them
    counted = store.commit_created(ACCOUNT, "spring", etag=cloud.import_record("spring").etag, created=20)

    # Then the conflicts were waited out, not taken for "counted already"
    assert counted and len(held_up) == 2
    assert cloud.account_store.get(ACCOUNT).contact_count == 40
    assert cloud.import_record("spring").contacts_created == 20
